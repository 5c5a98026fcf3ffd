"""Customer sign-in: passwordless e-mail codes and links, server-side sessions, identifiers.

``portal.auth.services.sign_in_with_verified_email`` is the entry point for every other way of
proving an address (OpenID Connect).
"""

from __future__ import annotations

from flask import Flask, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from connectors.identity import display as display_identifier

from ..extensions import login_manager
from ..kept_input import signed_out_page
from . import services
from .targets import local_path, remember_requested_page
from .views import bp

__all__ = ["bp", "init_app"]


@login_manager.user_loader
def _load_customer(token: str) -> services.Customer | None:
    """Flask-Login's user id is the session token; the server-side row decides."""
    customer, reason = services.load_session(token)
    if customer is None:
        session.pop("_user_id", None)
        if reason == "idle":
            flash(_("You were signed out because you were inactive for a while."), "info")
        elif reason == "expired":
            flash(_("You were signed out because your session reached its maximum time."), "info")
    return customer


@login_manager.unauthorized_handler
def _unauthorized() -> Response:
    # A form sent after the session ended (idle while typing): what was typed is shown back,
    # not dropped on the way to the sign-in page (portal.kept_input).
    kept = signed_out_page()
    if kept is not None:
        return kept
    flash(_("Sign in to see this page."), "info")
    remember_requested_page()
    return redirect(url_for("auth.login"))


def _load_session_first() -> None:
    # Each request decides afresh (an app context, and its ``g``, can outlive one request, as
    # in tests), and before the view changes anything: loading commits its own small write.
    g.pop("_login_user", None)
    g.pop("customer_session", None)
    if request.endpoint != "static":
        _ = current_user.is_authenticated


def init_app(app: Flask) -> None:
    """Bind Flask-Login and register the blueprint."""
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    app.before_request(_load_session_first)
    app.add_template_global(local_path, "local_path")
    # An identifier as people read it (a phone number "+31 6 12345678"), on every page and in
    # the offline copy: app-wide, as the back office shows customers' identifiers too.
    app.add_template_filter(lambda value, kind: display_identifier(kind, value), "identifier")
    app.register_blueprint(bp)
