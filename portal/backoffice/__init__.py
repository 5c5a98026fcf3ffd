"""The back office's work: the request queue, changes at the sources and the sources' health.

``actions`` writes corrections back and erases at the sources from the task queue, confirms
each change with a fresh read, and falls back to precise instructions for staff where no API
allows it; ``health`` records how each source answers and flags one that keeps failing. The
pages (blueprint ``backoffice`` under ``/beheer``) are in the ``*_views`` modules.
"""

from . import (  # noqa: F401 - they add routes to bp
    audit_views,
    health_views,
    identifier_views,
    queue_views,
)
from .blueprint import bp

__all__ = ["bp"]
