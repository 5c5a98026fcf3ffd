"""The queue worker's entry point: ``huey_consumer portal.worker.huey``.

Builds the application once, which points :data:`portal.tasks.huey` at the configured storage.
"""

from __future__ import annotations

from . import create_app
from .tasks import huey

app = create_app()

__all__ = ["app", "huey"]
