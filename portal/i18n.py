"""Languages: Dutch first, English second.

Each area of the portal keeps its own catalogue (``portal/<area>/translations``) so that areas
can be changed independently; Flask-Babel merges them. Message ids are English; the Dutch
catalogue translates them; the default language is Dutch.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, request
from flask_babel import get_locale, refresh, to_user_timezone
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from .extensions import babel

LOCALES = ("nl", "en")
LANGUAGE_COOKIE = "portal_lang"
PACKAGE_DIR = Path(__file__).resolve().parent


def translation_directories() -> list[str]:
    """Every ``translations`` folder in the portal package."""
    return sorted(str(p) for p in PACKAGE_DIR.rglob("translations") if p.is_dir())


def compile_catalogues() -> list[Path]:
    """Compile every ``.po`` file whose ``.mo`` is missing or older. Returns what was compiled."""
    compiled = []
    for directory in translation_directories():
        for po_path in Path(directory).glob("*/LC_MESSAGES/*.po"):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with po_path.open("rb") as fh:
                catalog = read_po(fh)
            with mo_path.open("wb") as fh:
                write_mo(fh, catalog)
            compiled.append(mo_path)
    return compiled


def select_locale() -> str:
    """The visitor's chosen language (cookie), else the firm's default (Dutch)."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LOCALES:
        return chosen
    default: str = current_app.config["BABEL_DEFAULT_LOCALE"]
    return default


def init_app(app: Flask, default_locale: str, timezone: str = "Europe/Amsterdam") -> None:
    """Bind Flask-Babel with every area's catalogue."""
    app.config["BABEL_DEFAULT_LOCALE"] = default_locale
    app.config["BABEL_DEFAULT_TIMEZONE"] = timezone
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(translation_directories())
    babel.init_app(app, locale_selector=select_locale)
    # The locale is cached on the app context, which outlives a request when one is pushed
    # around several (tests, CLI); choose it afresh for every request.
    app.before_request(refresh)
    app.context_processor(_locale_context)
    app.add_template_global(language_return_path, "language_return_path")
    # The day of a moment as the firm counts it (its time zone), not the UTC date: a request
    # sent at 00:30 in Amsterdam was received that day, not the day before.
    app.jinja_env.filters["local_day"] = lambda moment: to_user_timezone(moment).date()


def _locale_context() -> dict[str, object]:
    locale = str(get_locale() or "nl")
    return {
        "locale": locale,
        "other_locales": [code for code in LOCALES if code != locale],
        "language_names": {"nl": "Nederlands", "en": "English"},
    }


def language_return_path() -> str:
    """Where the language switch returns to: this page, or, for a page shown in answer to a
    form (a POST, whose address may take no GET), the nearest page above it that a browser
    can open (``/beheer/verzoeken/AVG-X/verlengen`` → ``/beheer/verzoeken/AVG-X``)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    adapter = current_app.url_map.bind("")
    path = request.path.rstrip("/")
    while path:
        try:
            adapter.match(path, method="GET")
            return path
        except RequestRedirect as redirect:  # the same page with a trailing slash
            return str(redirect.new_url).removeprefix("http://")
        except HTTPException:
            path = path.rpartition("/")[0]
    return "/"
