"""Forms of the export: a button and nothing else (the CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm


class DownloadForm(FlaskForm):
    """Download the export (JSON or CSV); POST, so that no prefetch or crawler triggers it."""
