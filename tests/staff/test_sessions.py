"""Staff sessions: idle and absolute limits, sign-out, renewal, and apart from customers'."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from flask import Flask
from sqlalchemy import select

from portal.extensions import db
from portal.models import StaffSession, utcnow

from .conftest import Browser, Staff


def _sessions(app: Flask, staff_id: int) -> list[StaffSession]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(StaffSession)
                .where(StaffSession.staff_id == staff_id)
                .order_by(StaffSession.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def test_second_factor_renews_the_session(app: Flask, officer: Staff) -> None:
    b = Browser(app)
    b.password(officer)
    pending = _sessions(app, officer.id)
    assert len(pending) == 1 and pending[0].second_factor_at is None
    assert pending[0].expires_at - pending[0].created_at == timedelta(minutes=15)
    b.post("/beheer/tweestaps", code=officer.code())
    first, full = _sessions(app, officer.id)
    assert first.end_reason == "renewed"
    assert full.second_factor_at is not None and full.second_factor_method == "totp"
    assert full.expires_at - full.created_at == timedelta(hours=12)
    assert full.token_hash != first.token_hash


def test_idle_for_30_minutes_signs_out(app: Flask, officer: Staff) -> None:
    start = utcnow()
    with time_machine.travel(start, tick=False):
        b = Browser(app)
        b.sign_in(officer)
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert b.get("/beheer/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=58), tick=False):
        assert b.get("/beheer/").status_code == 200  # the visit at 29 minutes counted
    with time_machine.travel(start + timedelta(minutes=88, seconds=1), tick=False):
        r = b.get("/beheer/")
        assert r.status_code == 303 and r.headers["Location"].endswith("/beheer/inloggen")
        assert "30 minuten niets" in b.get("/beheer/inloggen").get_data(as_text=True)
    assert _sessions(app, officer.id)[-1].end_reason == "idle"


def test_absolute_limit_of_12_hours(app: Flask, officer: Staff) -> None:
    start = utcnow()
    with time_machine.travel(start, tick=False):
        b = Browser(app)
        b.sign_in(officer)
    for minutes in range(25, 12 * 60, 25):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert b.get("/beheer/").status_code == 200
    with time_machine.travel(start + timedelta(hours=12), tick=False):
        assert b.get("/beheer/").status_code == 303
    assert _sessions(app, officer.id)[-1].end_reason == "expired"


def test_sign_out_ends_the_row_so_a_copied_cookie_stops_working(app: Flask, officer: Staff) -> None:
    b = Browser(app)
    b.sign_in(officer)
    cookie = b.client.get_cookie("portal_session")
    assert cookie is not None
    thief = Browser(app, "10.9.9.9")
    thief.client.set_cookie("portal_session", cookie.value)
    assert thief.get("/beheer/").status_code == 200
    r = b.post("/beheer/uitloggen", page="/beheer/")
    assert r.status_code == 303 and r.headers["Location"].endswith("/beheer/inloggen")
    assert _sessions(app, officer.id)[-1].end_reason == "logout"
    assert b.get("/beheer/").status_code == 303
    assert thief.get("/beheer/").status_code == 303


def test_staff_pages_are_not_cached(app: Flask, officer: Staff) -> None:
    b = Browser(app)
    assert b.get("/beheer/inloggen").headers["Cache-Control"] == "no-store"
    b.sign_in(officer)
    assert b.get("/beheer/").headers["Cache-Control"] == "no-store"


def test_customer_and_staff_sessions_are_separate(app: Flask, officer: Staff) -> None:
    from flask import session

    from portal.auth import services

    b = Browser(app)
    with app.test_request_context():
        services.sign_in_with_verified_email("klant@example.nl", "test")
        db.session.commit()
        data = dict(session)
    with b.client.session_transaction() as stored:
        stored.update(data)
    assert b.get("/account").status_code == 200
    assert b.get("/beheer/").status_code == 303  # a customer is not staff
    # Staff sign in in the same browser: the customer session stays as it was.
    b.sign_in(officer)
    assert b.get("/beheer/").status_code == 200
    assert b.get("/account").status_code == 200
    # Signing out of the back office leaves the customer signed in.
    b.post("/beheer/uitloggen", page="/beheer/")
    assert b.get("/beheer/").status_code == 303
    assert b.get("/account").status_code == 200


def test_a_customer_sign_in_and_out_in_the_same_browser_leaves_the_back_office_open(
    app: Flask, officer: Staff
) -> None:
    """Signing in as a customer drops everything else the cookie held (fixation), except a
    staff session: that is only a token the back office checks on every request."""
    from flask import session

    from portal.auth import services

    b = Browser(app)
    b.sign_in(officer)
    with b.client.session_transaction() as stored:
        before = dict(stored)
    with app.test_request_context():
        session.update(before)
        session["planted"] = "by someone else"
        services.sign_in_with_verified_email("klant@example.nl", "test")
        db.session.commit()
        data = dict(session)
    assert "planted" not in data
    with b.client.session_transaction() as stored:
        stored.clear()
        stored.update(data)
    assert b.get("/account").status_code == 200
    assert b.get("/beheer/").status_code == 200
    # Signing out as the customer leaves the back office open, and ends the customer session.
    b.post("/uitloggen", page="/account")
    assert b.get("/account").status_code in (302, 303)
    assert b.get("/beheer/").status_code == 200
    # Signing out of the back office then ends that too.
    b.post("/beheer/uitloggen", page="/beheer/")
    assert b.get("/beheer/").status_code == 303
