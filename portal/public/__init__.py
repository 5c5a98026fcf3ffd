"""Public pages: the home page, the privacy statement and the language choice."""

from .views import bp

__all__ = ["bp"]
