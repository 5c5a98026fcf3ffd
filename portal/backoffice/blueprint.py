"""The back office's work pages (blueprint ``backoffice``, under ``/beheer`` like the staff
sign-in pages of :mod:`portal.staff`, whose session loading, headers and error pages it
shares)."""

from __future__ import annotations

from flask import Blueprint

from ..staff.decorators import load_staff
from ..staff.views import _no_store, register_errors

bp = Blueprint("backoffice", __name__, url_prefix="/beheer")
bp.before_request(load_staff)
bp.after_request(_no_store)
register_errors(bp)
