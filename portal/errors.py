"""Error pages that leak nothing: no traceback, no path, no data; in the visitor's language."""

from __future__ import annotations

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .kept_input import form_expired

_OWN_PAGES = (400, 403, 404, 405, 413, 429, 500)


def _render(error: HTTPException) -> ResponseReturnValue:
    code = error.code or 500
    if code not in _OWN_PAGES:
        code = 500 if code >= 500 else 400
    # An unhandled exception reaches here as a 500 whose original error Flask has already
    # logged (redacted); the visitor sees only the generic page.
    page = render_template("errors/error.html", code=code)
    if code == 429:
        # The limit's whole window, not when it ends: that would tell when someone else (who
        # asked for a code for the same address) started it. Flask-Limiter's own headers are
        # off for the same reason (portal.create_app).
        limit = getattr(error, "limit", None)
        window = limit.limit.get_expiry() if limit is not None else 60
        return page, code, {"Retry-After": str(window)}
    return page, code


def _form_expired(error: CSRFError) -> ResponseReturnValue:
    # The form's token is missing or no longer fits the session (it ended, or the page was
    # open too long). A customer's form comes back filled in (portal.kept_input); any other
    # says so, and that nothing was saved, rather than "not understood".
    kept = form_expired()
    if kept is not None:
        return kept
    return render_template("errors/error.html", code=400, form_expired=True), 400


def init_app(app: Flask) -> None:
    """Register the error pages."""
    app.register_error_handler(CSRFError, _form_expired)
    app.register_error_handler(HTTPException, _render)
