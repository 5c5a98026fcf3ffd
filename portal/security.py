"""Security headers on every response, and cookie settings."""

from __future__ import annotations

import secrets

from flask import Flask, Response, abort, current_app, g, request, session

#: No inline script or style, nothing from another host, no framing.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=(), "
        "browsing-topics=()"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _set_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    # No browser or proxy keeps a page that may hold personal data: anything shown to a
    # signed-in person, and every page but the public ones (the sign-in code page names the
    # address the code went to). Static files may be kept, and so may a response a view marks
    # public because it holds nothing personal (the JSON Schema). (Flask-Login keeps the user
    # it loaded for this request on g.)
    user = g.get("_login_user")
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    public = "public" in response.headers.get("Cache-Control", "")
    open_page = request.endpoint == "static" or (request.blueprint == "public" and not signed_in)
    # Nor a response that sets a cookie (the language, or a session: one that shows a flashed
    # message is rewritten, and may hold a back-office token): a shared cache would hand it to
    # the next visitor. Flask adds the session's cookie after this runs: a changed session
    # counts too.
    sets_cookie = "Set-Cookie" in response.headers or session.modified
    if (not public and not open_page) or sets_cookie:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


#: Methods that change nothing; any other must come from one of our own pages.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: ``Sec-Fetch-Site`` values a browser sends for a request another site's page started.
_FOREIGN = frozenset({"cross-site", "same-site"})


def _refuse_foreign_posts() -> None:
    """Refuse a form or fetch that another site's page sent, by the browser's own word.

    Browsers send ``Sec-Fetch-Site`` whatever the Referrer-Policy (which keeps ``Referer`` and
    ``Origin`` from us); a request without it (an older browser, a script) still needs the CSRF
    token. A sibling subdomain (``same-site``) is another site too.
    """
    if request.method not in _SAFE_METHODS and request.headers.get("Sec-Fetch-Site") in _FOREIGN:
        abort(403)


def renew_csrf_token() -> None:
    """Give this browser a new CSRF secret (at a sign-in): a token handed out before, to this
    browser or to whoever set its cookie, no longer fits; the next form's token is made from
    the new one. (Flask-WTF keeps the secret in the session and this request's token on g.)"""
    name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session[name] = secrets.token_hex(20)
    g.pop(name, None)


#: The session cookie's name. Over HTTPS it carries the ``__Host-`` prefix: browsers then
#: accept it only from this host, Secure, for the whole site, so no other host (a sibling
#: subdomain, a network attacker over plain HTTP) can plant a session of its choosing.
#: Browsers refuse that prefix without ``Secure``, so the demo on http keeps the plain name.
SESSION_COOKIE = "portal_session"
SECURE_SESSION_COOKIE = "__Host-" + SESSION_COOKIE


def init_app(app: Flask, secure_cookies: bool) -> None:
    """Apply headers to every response and harden the session cookie."""
    app.config.update(
        SESSION_COOKIE_NAME=SECURE_SESSION_COOKIE if secure_cookies else SESSION_COOKIE,
        SESSION_COOKIE_DOMAIN=None,
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=secure_cookies,
        REMEMBER_COOKIE_SAMESITE="Lax",
    )
    app.before_request(_refuse_foreign_posts)
    app.after_request(_set_headers)
