"""The back office's work pages (blueprint ``backoffice``, under ``/beheer`` like the staff
sign-in pages of :mod:`portal.staff`, whose session loading and headers it shares)."""

from __future__ import annotations

from flask import Blueprint

from ..staff.views import _load_staff, _no_store

bp = Blueprint("backoffice", __name__, url_prefix="/beheer")
bp.before_request(_load_staff)
bp.after_request(_no_store)
