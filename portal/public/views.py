"""Views of the public pages."""

from __future__ import annotations

from babel.lists import format_list
from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale

from ..auth.targets import is_local_path
from ..i18n import LANGUAGE_COOKIE, LOCALES
from ..policy import current_policy

bp = Blueprint("public", __name__)

ONE_YEAR = 365 * 24 * 3600


@bp.get("/")
def home() -> str:
    """What the portal does, and the way in: the systems it reads are the firm's own, named in
    its policy, not a list every firm is assumed to have."""
    locale = get_locale()
    names = [source.name.get(str(locale or "nl")) for source in current_policy().sources]
    systems = format_list(names, locale=locale) if names else ""
    return render_template("public/home.html", systems=systems, system_count=len(names))


@bp.get("/privacy")
def privacy() -> str:
    """The firm's privacy statement, rendered from its policy file."""
    return render_template(
        "public/privacy.html",
        p=current_policy(),
        portal_settings=current_app.extensions["portal.settings"],
    )


def _safe_next(target: str | None) -> str:
    """Only a local path is followed back, never another host (open-redirect guard)."""
    return target if is_local_path(target) else url_for("public.home")


@bp.get("/taal/<lang>")
def set_language(lang: str) -> Response:
    """Remember the chosen language in a cookie and go back. A plain link: works without JS."""
    if lang not in LOCALES:
        lang = current_app.config["BABEL_DEFAULT_LOCALE"]
    response = redirect(_safe_next(request.args.get("next")), code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        lang,
        max_age=ONE_YEAR,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response
