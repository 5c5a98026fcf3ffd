"""Signing in to the back office: password (argon2), TOTP enrolment and codes, recovery codes."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import select

from portal.extensions import db
from portal.models import StaffMember, StaffRecoveryCode, StaffSession, utcnow
from portal.staff import auth

from .conftest import CSRF_RE, PASSWORD, Browser, Staff, make_staff, member


@pytest.fixture(autouse=True)
def _light_argon2() -> None:
    """The real argon2 parameters in this module."""


SECRET_RE = re.compile(r'<code class="secret" id="totp-secret">([A-Z2-7 ]+)</code>')
CODES_RE = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")


def test_password_is_argon2id_and_never_stored(app: Flask, officer: Staff) -> None:
    row = member(app, officer.id)
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash
    assert PasswordHasher().verify(row.password_hash, PASSWORD)


def test_weak_hash_is_rehashed_at_sign_in(app: Flask, officer: Staff) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with app.app_context():
        row = db.session.get(StaffMember, officer.id)
        assert row is not None
        row.password_hash = weak
        db.session.commit()
    assert Browser(app).password(officer).status_code == 303
    upgraded = member(app, officer.id).password_hash
    assert upgraded != weak
    assert not PasswordHasher().check_needs_rehash(upgraded)
    assert PasswordHasher().verify(upgraded, PASSWORD)


def test_wrong_password_and_unknown_address_get_the_same_answer(app: Flask, officer: Staff) -> None:
    b = Browser(app)
    wrong = b.post("/beheer/inloggen", email=officer.email, password="not the password")
    unknown = b.post("/beheer/inloggen", email="nobody@firm.example", password="whatever1234")
    assert wrong.status_code == unknown.status_code == 400

    def message(response: object) -> str:
        html = response.get_data(as_text=True)  # type: ignore[attr-defined]
        html = re.sub(r'name="csrf_token"[^>]*>', "", html)
        return re.sub(r'value="[^"]*@firm.example"', "", html)  # the typed address is kept

    assert message(wrong) == message(unknown)
    assert "Inloggen is niet gelukt" in message(wrong)
    with app.app_context():
        # Unknown addresses still cost an argon2 verification (timing), on a dummy hash.
        assert not auth.verify_password(None, "whatever1234")


def test_address_is_case_insensitive(app: Flask, officer: Staff) -> None:
    b = Browser(app)
    r = b.post("/beheer/inloggen", email="  OFFICER@Firm.Example ", password=PASSWORD)
    assert r.status_code == 303


def test_enrolment_with_qr_code_then_recovery_codes_shown_once(app: Flask) -> None:
    new = make_staff(app, "new@firm.example", "agent", enrolled=False)
    b = Browser(app)
    first = b.password(new)
    assert first.headers["Location"].endswith("/beheer/tweestaps/instellen")
    # Not enrolled: the code step sends to enrolment, staff pages to the code step.
    assert b.get("/beheer/tweestaps").headers["Location"].endswith("/beheer/tweestaps/instellen")
    page = b.get("/beheer/tweestaps/instellen")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<svg role="img" aria-label="QR-code' in html
    assert "<img" not in html and "<script" not in html  # rendered here, no JS
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html
    match = SECRET_RE.search(html)
    assert match
    secret = match.group(1).replace(" ", "")
    # The same pending secret on a reload, stored encrypted with this session.
    assert (
        SECRET_RE.search(b.get("/beheer/tweestaps/instellen").get_data(as_text=True))
        .group(1)
        .replace(" ", "")
        == secret
    )  # type: ignore[union-attr]
    with app.app_context():
        pending = db.session.scalars(
            select(StaffSession.enrol_secret_encrypted).where(
                StaffSession.staff_id == new.id, StaffSession.ended_at.is_(None)
            )
        ).one()
    assert pending is not None and secret.encode() not in pending
    assert member(app, new.id).totp_secret_encrypted is None  # not the member's until confirmed

    wrong = b.post("/beheer/tweestaps/instellen", code="000000" if secret else "")
    assert wrong.status_code == 400
    assert member(app, new.id).totp_enrolled_at is None

    done = b.post("/beheer/tweestaps/instellen", code=pyotp.TOTP(secret).now())
    assert done.status_code == 200
    codes = CODES_RE.findall(done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "U ziet deze codes alleen nu" in done.get_data(as_text=True)
    assert member(app, new.id).totp_enrolled_at is not None
    with app.app_context():
        stored = db.session.scalars(
            select(StaffRecoveryCode.code_hash).where(StaffRecoveryCode.staff_id == new.id)
        ).all()
    assert len(stored) == 10 and not set(codes) & set(stored)
    # Signed in now; the codes are not shown again anywhere.
    dashboard = b.get("/beheer/")
    assert dashboard.status_code == 200
    assert codes[0] not in b.get("/beheer/account").get_data(as_text=True)
    assert b.get("/beheer/tweestaps/instellen").headers["Location"].endswith("/beheer/")


def test_each_browser_enrolling_gets_its_own_secret(app: Flask) -> None:
    """Someone who once saw the enrolment page (with the password) does not hold the secret the
    member confirms: each session shows its own, and a code of another session's secret is
    refused."""
    new = make_staff(app, "new@firm.example", "agent", enrolled=False)
    seen, member_browser = Browser(app), Browser(app, "10.1.0.2")
    secrets_shown, pages = [], []
    for b in (seen, member_browser):
        assert b.password(new).headers["Location"].endswith("/beheer/tweestaps/instellen")
        html = b.get("/beheer/tweestaps/instellen").get_data(as_text=True)
        secrets_shown.append(SECRET_RE.search(html).group(1).replace(" ", ""))  # type: ignore[union-attr]
        pages.append(html)
    other, own = secrets_shown
    assert other != own
    # A code of the secret the other browser was shown does not enrol this one.
    wrong = member_browser.post("/beheer/tweestaps/instellen", code=pyotp.TOTP(other).now())
    assert wrong.status_code == 400
    assert member(app, new.id).totp_enrolled_at is None
    done = member_browser.post("/beheer/tweestaps/instellen", code=pyotp.TOTP(own).now())
    assert done.status_code == 200
    assert member_browser.get("/beheer/").status_code == 200
    row = member(app, new.id)
    with app.app_context():
        assert row.totp_enrolled_at is not None and auth.totp_secret(row) == own
    # The other browser cannot enrol its secret any more, nor sign in with it.
    token = CSRF_RE.search(pages[0]).group(1)  # type: ignore[union-attr]
    late = seen.client.post(
        "/beheer/tweestaps/instellen",
        data={"csrf_token": token, "code": pyotp.TOTP(other).now()},
    )
    assert late.status_code == 302 and late.headers["Location"].endswith("/beheer/tweestaps")
    with app.app_context():
        assert auth.totp_secret(member(app, new.id)) == own
    refused = seen.post("/beheer/tweestaps", code=pyotp.TOTP(other).now())
    assert refused.status_code == 400
    assert seen.get("/beheer/").status_code == 303
    # And a new session of the member who enrolled signs in with the app it set up.
    assert member_browser.post("/beheer/uitloggen", page="/beheer/").status_code == 303
    again = Browser(app, "10.1.0.3")
    assert again.password(new).headers["Location"].endswith("/beheer/tweestaps")
    code = pyotp.TOTP(own)
    nxt = code.generate_otp(code.timecode(utcnow()) + 1)  # the step just used works once
    assert again.post("/beheer/tweestaps", code=nxt).status_code == 303


def test_totp_code_works_once(app: Flask, officer: Staff) -> None:
    # the clock stands still: a 30-second step ending mid-test would make "the same code" the
    # next step's, which rightly works
    with time_machine.travel(utcnow().replace(microsecond=0), tick=False):
        b = Browser(app)
        assert b.sign_in(officer).status_code == 303
        assert b.get("/beheer/").status_code == 200
        # The same code in another browser (an eavesdropper replaying it) is refused.
        other = Browser(app, "10.1.0.2")
        assert other.password(officer).status_code == 303
        replay = other.post("/beheer/tweestaps", code=officer.code())
        assert replay.status_code == 400
        assert "Deze code werkt niet" in replay.get_data(as_text=True)
        assert other.get("/beheer/").status_code == 303
        # So is an older code, even inside the window.
        assert other.post("/beheer/tweestaps", code=officer.code(steps=-1)).status_code == 400
        # The next step's code works.
        assert other.post("/beheer/tweestaps", code=officer.code(steps=1)).status_code == 303


def test_valid_window_is_one_step_either_side(app: Flask, officer: Staff) -> None:
    start = utcnow().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        b = Browser(app)
        assert b.password(officer).status_code == 303
        assert b.post("/beheer/tweestaps", code=officer.code(start, -2)).status_code == 400
        assert b.post("/beheer/tweestaps", code=officer.code(start, 2)).status_code == 400
        assert b.post("/beheer/tweestaps", code=officer.code(start, -1)).status_code == 303
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        b2 = Browser(app, "10.1.0.3")
        assert b2.password(officer).status_code == 303
        later = start + timedelta(minutes=5)
        assert b2.post("/beheer/tweestaps", code=officer.code(later, 1)).status_code == 303


def test_recovery_code_signs_in_once_and_says_how_many_are_left(app: Flask, officer: Staff) -> None:
    with app.app_context():
        row = db.session.get(StaffMember, officer.id)
        assert row is not None
        codes = auth.new_recovery_codes(row)
        db.session.commit()
    b = Browser(app)
    assert b.password(officer).status_code == 303
    used = b.post("/beheer/tweestaps", recovery_code=codes[3].upper())
    assert used.status_code == 303
    dashboard = b.get("/beheer/")
    assert "U heeft nog 9 herstelcodes" in dashboard.get_data(as_text=True)

    again = Browser(app, "10.1.0.4")
    assert again.password(officer).status_code == 303
    refused = again.post("/beheer/tweestaps", recovery_code=codes[3])
    assert refused.status_code == 400
    assert "Deze herstelcode werkt niet" in refused.get_data(as_text=True)
    assert again.post("/beheer/tweestaps", recovery_code=codes[4]).status_code == 303


def test_new_recovery_codes_need_a_fresh_code_and_replace_the_old(
    app: Flask, officer: Staff
) -> None:
    with app.app_context():
        row = db.session.get(StaffMember, officer.id)
        assert row is not None
        old = auth.new_recovery_codes(row)
        db.session.commit()
    b = Browser(app)
    assert b.sign_in(officer).status_code == 303
    assert b.post("/beheer/herstelcodes", code="123456").status_code == 400
    made = b.post("/beheer/herstelcodes", code=officer.code(steps=1))
    assert made.status_code == 200
    new = CODES_RE.findall(made.get_data(as_text=True))
    assert len(new) == 10
    with app.app_context():
        row = db.session.get(StaffMember, officer.id)
        assert row is not None
        assert not auth._use_recovery_code(row, old[0])
        assert auth._use_recovery_code(row, new[0])
