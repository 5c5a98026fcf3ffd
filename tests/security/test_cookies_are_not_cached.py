"""A response that sets a cookie is never kept by a browser or proxy: a shared cache that kept
one would hand that cookie (a session, with a back-office token in it) to the next visitor.
Public pages that set none stay cacheable."""

from __future__ import annotations

from flask import Flask

from portal.auth import services
from portal.extensions import db

from ..staff.conftest import Browser, Staff


def _cookies(response: object) -> list[str]:
    return response.headers.getlist("Set-Cookie")  # type: ignore[attr-defined, no-any-return]


def test_the_public_page_after_signing_out_is_not_cached(app: Flask, officer: Staff) -> None:
    # A staff member who also signed in as a customer in this browser, then signs out as the
    # customer: the home page shows "You are signed out" and sets the session cookie, which
    # still holds the back-office session.
    b = Browser(app)
    assert b.sign_in(officer).status_code == 303
    from flask import session

    with app.test_request_context():
        services.sign_in_with_verified_email("klant@example.nl", "test")
        db.session.commit()
        customer = dict(session)
    with b.client.session_transaction() as stored:
        stored.update(customer)
    r = b.post("/uitloggen", page="/account")
    assert r.status_code == 303 and r.headers["Location"] == "/"
    home = b.get("/")
    assert home.status_code == 200
    assert any(c.startswith("portal_session=") for c in _cookies(home))
    assert "no-store" in home.headers.get("Cache-Control", "")
    assert b.get("/beheer/").status_code == 200  # the back office stayed open


def test_the_language_switch_sets_its_cookie_uncached(app: Flask) -> None:
    r = app.test_client().get("/taal/en?next=/privacy")
    assert r.status_code == 303
    assert any(c.startswith("portal_lang=") for c in _cookies(r))
    assert "no-store" in r.headers.get("Cache-Control", "")


def test_public_pages_that_set_no_cookie_stay_cacheable(app: Flask) -> None:
    client = app.test_client()
    for path in ("/", "/privacy", "/static/portal.css"):
        r = client.get(path)
        assert r.status_code == 200
        assert _cookies(r) == []
        assert "no-store" not in r.headers.get("Cache-Control", ""), path
        r.close()
