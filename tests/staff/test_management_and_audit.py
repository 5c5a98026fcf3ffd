"""Officers manage staff; every sign-in step and change is audited, with ids only."""

from __future__ import annotations

import json
import re
from typing import Any

import pyotp
from flask import Flask
from sqlalchemy import select

from portal.audit import verify_chain
from portal.extensions import db
from portal.models import AuditEvent, StaffMember, StaffSession

from .conftest import PASSWORD, Browser, Staff, fresh_code, member

OTP_RE = re.compile(r'<code class="secret" id="one-time-password">([a-z0-9-]+)</code>')
SECRET_RE = re.compile(r'<code class="secret" id="totp-secret">([A-Z2-7 ]+)</code>')


def _events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def _first_sign_in(n: Browser, email: str, one_time: str) -> None:
    """Sign in with a one-time password and set up the authenticator app; with a one-time
    password, every page then leads to choosing one's own."""
    first = n.post("/beheer/inloggen", email=email, password=one_time)
    assert first.status_code == 303
    assert first.headers["Location"].endswith("/beheer/tweestaps/instellen")
    page = n.get("/beheer/tweestaps/instellen").get_data(as_text=True)
    secret = SECRET_RE.search(page).group(1).replace(" ", "")  # type: ignore[union-attr]
    assert n.post("/beheer/tweestaps/instellen", code=pyotp.TOTP(secret).now()).status_code == 200
    r = n.get("/beheer/")
    assert r.status_code == 303 and r.headers["Location"].endswith("/beheer/account")


def _change_password(b: Browser, current: str, new: str = "a brand new passphrase") -> Any:
    return b.post(
        "/beheer/account", current_password=current, new_password=new, confirm_password=new
    )


def test_officer_adds_a_colleague_who_enrols_and_chooses_a_password(
    app: Flask, officer: Staff
) -> None:
    o = Browser(app)
    o.sign_in(officer)
    shown = o.post(
        "/beheer/medewerkers/nieuw",
        display_name="Nina Nieuw",
        email="Nina@Firm.Example",
        role="agent",
        code=fresh_code(app, officer),
    )
    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    match = OTP_RE.search(page)
    assert match
    # the page names the colleague, not the officer who added them
    assert "Nina Nieuw is toegevoegd." in page
    assert "<dd>nina@firm.example</dd>" in page and "telefonisch aan Nina Nieuw" in page
    one_time = match.group(1)
    assert one_time not in o.get("/beheer/medewerkers").get_data(as_text=True)  # shown once
    again = o.post(
        "/beheer/medewerkers/nieuw",
        display_name="Nina",
        email="nina@firm.example",
        role="agent",
        code=fresh_code(app, officer),
    )
    assert again.status_code == 400
    assert "Er is al een medewerker" in again.get_data(as_text=True)

    n = Browser(app, "10.7.0.1")
    _first_sign_in(n, "nina@firm.example", one_time)
    weak = n.post(
        "/beheer/account",
        current_password=one_time,
        new_password="nina-is-great",
        confirm_password="nina-is-great",
    )
    assert weak.status_code == 400
    assert "het deel voor de @" in weak.get_data(as_text=True)  # says which rule, and why
    done = n.post(
        "/beheer/account",
        current_password=one_time,
        new_password=PASSWORD,
        confirm_password=PASSWORD,
    )
    assert done.status_code == 303
    assert n.get("/beheer/").status_code == 200
    with app.app_context():
        nina = db.session.scalars(
            select(StaffMember).where(StaffMember.email == "nina@firm.example")
        ).one()
        assert nina.role == "agent" and not nina.must_change_password


def test_disable_signs_out_everywhere_and_enable_lets_back_in(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    a = Browser(app, "10.7.1.1")
    a.sign_in(agent)
    o = Browser(app)
    o.sign_in(officer)
    o.post(f"/beheer/medewerkers/{agent.id}/uitschakelen", page="/beheer/medewerkers")
    assert a.get("/beheer/").status_code == 303
    assert Browser(app, "10.7.1.2").password(agent).status_code == 400
    o.post(f"/beheer/medewerkers/{agent.id}/inschakelen", page="/beheer/medewerkers")
    assert Browser(app, "10.7.1.3").password(agent).status_code == 303


def test_steps_that_lock_a_colleague_out_ask_first(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    """Disabling, resetting the authenticator app and a new one-time password each sign the
    colleague out everywhere: the list leads to a page that asks (no JavaScript needed), and
    only its button does it."""
    o = Browser(app)
    o.sign_in(officer)
    listing = o.get("/beheer/medewerkers").get_data(as_text=True)
    for step, question in (
        ("uitschakelen", "Arie Agent uitschakelen?"),
        ("tweestaps-herstellen", "De authenticator-app van Arie Agent opnieuw laten instellen?"),
        ("wachtwoord", "Arie Agent een nieuw eenmalig wachtwoord geven?"),
    ):
        path = f"/beheer/medewerkers/{agent.id}/{step}"
        assert f'href="{path}"' in listing
        asked = o.get(path)
        assert asked.status_code == 200
        page = asked.get_data(as_text=True)
        assert f"<h1>{question}</h1>" in page, page
        assert f'<form method="post" action="{path}"' in page
        # a new one-time password needs a fresh code from the officer's app; disabling not
        assert ('autocomplete="one-time-code"' in page) == (step != "uitschakelen")
        row = member(app, agent.id)
        assert row.active and row.totp_enrolled and not row.must_change_password  # not yet
    confirm = f"/beheer/medewerkers/{agent.id}/uitschakelen"
    assert o.post(confirm, page=confirm).status_code == 303
    assert not member(app, agent.id).active
    assert o.get(f"/beheer/medewerkers/{officer.id}/uitschakelen").status_code == 403  # oneself


def test_reset_second_factor_gives_a_one_time_password_and_means_enrolling_again(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    """A lost phone may come with a known password: after the reset the old password no longer
    signs in, the one-time password shown once to the officer does, and whoever uses it sets up
    the app again and must choose a password."""
    a = Browser(app, "10.7.2.9")
    a.sign_in(agent)
    o = Browser(app)
    o.client.set_cookie("portal_lang", "en")  # the texts new with this step, in English
    o.sign_in(officer)
    asked = o.get(f"/beheer/medewerkers/{agent.id}/tweestaps-herstellen").get_data(as_text=True)
    assert "gets a new one-time password: their current password stops working" in asked
    shown = o.post(
        f"/beheer/medewerkers/{agent.id}/tweestaps-herstellen",
        page="/beheer/medewerkers",
        code=fresh_code(app, officer),
    )
    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    match = OTP_RE.search(page)
    assert match, page
    one_time = match.group(1)
    assert "<dd>agent@firm.example</dd>" in page and "by phone, not in the same e-mail" in page
    assert "The authenticator app of Arie Agent has been reset" in page
    assert "They set up an authenticator app again at that sign-in." in page
    assert one_time not in o.get("/beheer/medewerkers").get_data(as_text=True)  # shown once
    row = member(app, agent.id)
    assert row.totp_secret_encrypted is None and row.totp_enrolled_at is None
    assert row.must_change_password
    assert a.get("/beheer/").status_code == 303  # signed out everywhere
    actions = [e.action for e in _events(app)]
    assert "staff.second_factor_reset" in actions and "staff.password_reset" in actions

    assert Browser(app, "10.7.2.1").password(agent).status_code == 400  # the old password
    n = Browser(app, "10.7.2.2")
    _first_sign_in(n, agent.email, one_time)
    done = _change_password(n, one_time)
    assert done.status_code == 303
    assert n.get("/beheer/").status_code == 200
    assert not member(app, agent.id).must_change_password


def test_password_change_needs_the_current_password_and_ends_other_sessions(
    app: Flask, officer: Staff
) -> None:
    one, two = Browser(app), Browser(app, "10.7.3.1")
    one.sign_in(officer)
    two.sign_in(officer, steps=1)
    wrong = _change_password(one, "not my password")
    assert wrong.status_code == 400
    assert "Uw huidige wachtwoord klopt niet" in wrong.get_data(as_text=True)
    # A copy of this browser's cookie, as someone who stole it would hold.
    cookie = app.config["SESSION_COOKIE_NAME"]
    stolen = Browser(app, "10.7.3.2")
    stolen.client.set_cookie(cookie, one.client.get_cookie(cookie).value)  # type: ignore[union-attr]
    assert stolen.get("/beheer/").status_code == 200
    with app.app_context():
        before = db.session.scalars(
            select(StaffSession).where(
                StaffSession.staff_id == officer.id, StaffSession.ended_at.is_(None)
            )
        ).all()
        old_ids = {row.id for row in before}
        method = {row.second_factor_method for row in before}
    ok = _change_password(one, PASSWORD)
    assert ok.status_code == 303
    # This browser stays signed in, with a new session; the old cookie no longer works.
    assert one.get("/beheer/").status_code == 200
    assert two.get("/beheer/").status_code == 303
    assert stolen.get("/beheer/").status_code == 303
    with app.app_context():
        rows = db.session.scalars(
            select(StaffSession).where(StaffSession.staff_id == officer.id)
        ).all()
        live = [row for row in rows if row.ended_at is None]
        assert len(live) == 1 and live[0].id not in old_ids
        assert {live[0].second_factor_method} <= method and live[0].second_factor_at
        assert {row.end_reason for row in rows if row.id in old_ids} == {"password"}


def test_audit_entries_hold_ids_and_no_personal_data(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    b = Browser(app)
    b.password(officer, "wrong password!")
    b.post("/beheer/inloggen", email="ghost@firm.example", password="whatever1234")
    b.sign_in(officer)
    b.post(f"/beheer/medewerkers/{agent.id}/uitschakelen", page="/beheer/medewerkers")
    b.post("/beheer/uitloggen", page="/beheer/")
    for _ in range(5):
        Browser(app, "10.8.0.1").password(officer, "wrong password!")
    events = _events(app)
    actions = [e.action for e in events]
    for expected in (
        "staff.created",
        "staff.login_failed",
        "staff.password_verified",
        "staff.login",
        "staff.disabled",
        "staff.logout",
        "staff.locked",
    ):
        assert expected in actions, expected
    login = next(e for e in events if e.action == "staff.login")
    assert login.actor_type == "staff" and login.actor_id == str(officer.id)
    assert login.details == {"method": "totp"}
    disabled = next(e for e in events if e.action == "staff.disabled")
    assert disabled.actor_id == str(officer.id) and disabled.subject_id == str(agent.id)
    dumped = json.dumps(
        [[e.actor_id, e.subject_id, e.subject_type, e.details] for e in events]
    ).lower()
    for personal in (
        "officer@firm.example",
        "agent@firm.example",
        "ghost@firm.example",
        "olga",
        "arie",
        "wrong password",
        PASSWORD,
    ):
        assert personal not in dumped
    with app.app_context():
        assert list(verify_chain()) == []
