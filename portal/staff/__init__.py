"""The back office (``/beheer``): staff sign-in with a password and a second factor, and the
staff pages. Staff sessions are separate from customer sessions (see :mod:`.auth`)."""

from __future__ import annotations

from .views import bp

__all__ = ["bp"]
