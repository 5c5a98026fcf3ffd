"""Forms of the customer's data pages."""

from __future__ import annotations

from flask_wtf import FlaskForm


class GatherForm(FlaskForm):
    """Gather again: only a button, so only the CSRF token is checked."""
