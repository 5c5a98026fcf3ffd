"""Nothing a browser's cookie session held before signing in works after it: the CSRF token a
page gave out before the password, or before the second factor, no longer fits the session of
the signed-in staff member (as for customers, whose whole cookie session is renewed); and over
HTTPS the session cookie carries the ``__Host-`` prefix, so no other host (a sibling subdomain)
can set one for the portal."""

from __future__ import annotations

import re

from flask import Flask

from ..staff.conftest import Browser, Staff

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _logout_with(b: Browser, token: str) -> int:
    """Sign out of the back office with ``token``; the status (303 signed out, 400 refused)."""
    status: int = b.client.post("/beheer/uitloggen", data={"csrf_token": token}).status_code
    return status


def _signed_in(b: Browser) -> bool:
    return b.get("/beheer/").status_code == 200


def test_a_csrf_token_from_before_the_password_does_not_work_after_signing_in(
    app: Flask, officer: Staff
) -> None:
    b = Browser(app)
    planted = b.token("/beheer/inloggen")  # e.g. a token an attacker set up in this browser
    b.sign_in(officer)
    assert _signed_in(b)
    assert _logout_with(b, planted) == 400
    assert _signed_in(b)
    # the page's own, new token works
    assert _logout_with(b, b.token("/beheer/account")) == 303
    assert not _signed_in(b)


def test_a_csrf_token_from_before_the_second_factor_does_not_work_after_it(
    app: Flask, officer: Staff
) -> None:
    b = Browser(app)
    assert b.password(officer).status_code == 303
    before = b.token("/beheer/tweestaps")
    r = b.client.post("/beheer/tweestaps", data={"csrf_token": before, "code": officer.code()})
    assert r.status_code == 303
    assert _signed_in(b)
    assert _logout_with(b, before) == 400
    assert _signed_in(b)


def test_the_session_cookie_has_the_host_prefix_over_https(
    make_app: object, base_settings: dict[str, object], instance_dir: object
) -> None:
    app = make_app({**base_settings, "secure_cookies": True}, instance_dir)  # type: ignore[operator]
    client = app.test_client()
    r = client.get("/inloggen", base_url="https://localhost")
    assert r.status_code == 200
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if "session=" in c)
    assert cookie.startswith("__Host-portal_session=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    # and the browser's cookie is the session: the sign-in code page remembers the form's token
    token = CSRF_RE.search(r.get_data(as_text=True))
    assert token
    again = client.post(
        "/inloggen", data={"csrf_token": token.group(1), "email": "x"},
        base_url="https://localhost",
    )  # fmt: skip
    # the token fitted (the cookie came back under its prefixed name): the form itself answers,
    # with the address field in error, not the "form expired" page
    assert again.status_code == 400
    assert 'name="email"' in again.get_data(as_text=True)


def test_without_https_the_cookie_keeps_its_plain_name(app: Flask) -> None:
    r = app.test_client().get("/inloggen")
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if "session=" in c)
    assert cookie.startswith("portal_session=")  # browsers refuse __Host- without Secure
