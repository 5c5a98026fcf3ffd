"""A disabled staff member's sign-in secrets, then name and e-mail address, are not kept for
ever: ``portal_retention.disabled_staff`` and ``audit_log`` after disabling."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from portal import retention
from portal.extensions import db
from portal.models import StaffMember, utcnow
from portal.models.staff import StaffRecoveryCode
from portal.staff import auth

from .conftest import Browser, Staff, fresh_code, member

OTP_RE = re.compile(r'<code class="secret" id="one-time-password">([a-z0-9-]+)</code>')
SECRET_RE = re.compile(r'<code class="secret" id="totp-secret">([A-Z2-7 ]+)</code>')


def _officer(app: Flask, officer: Staff) -> Browser:
    o = Browser(app)
    o.client.set_cookie("portal_lang", "en")
    assert o.password(officer).status_code == 303
    assert o.post("/beheer/tweestaps", code=fresh_code(app, officer)).status_code == 303
    return o


def _disable(app: Flask, officer: Staff, agent: Staff) -> Browser:
    o = _officer(app, officer)
    path = f"/beheer/medewerkers/{agent.id}/uitschakelen"
    assert o.post(path, page=path).status_code == 303
    return o


def _purge_after(app: Flask, staff_id: int, days: int) -> dict[str, int]:
    with app.app_context():
        row = db.session.get(StaffMember, staff_id)
        assert row is not None and row.disabled_at is not None
        report = retention.purge(row.disabled_at + timedelta(days=days))
        db.session.commit()
        return dict(report.counts)


def test_disabling_records_when_and_enabling_clears_it(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    before = utcnow()
    o = _disable(app, officer, agent)
    disabled_at = member(app, agent.id).disabled_at
    assert disabled_at is not None and before <= disabled_at <= utcnow()
    o.post(f"/beheer/medewerkers/{agent.id}/inschakelen", page="/beheer/medewerkers")
    row = member(app, agent.id)
    assert row.active and row.disabled_at is None


def test_secrets_are_erased_after_the_period_and_a_new_one_time_password_lets_back_in(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    with app.app_context():
        row = db.session.get(StaffMember, agent.id)
        assert row is not None
        auth.new_recovery_codes(row)
        db.session.commit()
    _disable(app, officer, agent)

    assert _purge_after(app, agent.id, 89).get("staff_secrets", 0) == 0  # not yet
    assert member(app, agent.id).totp_enrolled

    assert _purge_after(app, agent.id, 91)["staff_secrets"] == 1
    row = member(app, agent.id)
    assert row.sign_in_erased and not row.totp_enrolled and row.totp_secret_encrypted is None
    assert row.email == agent.email and row.display_name == "Arie Agent"  # still named
    with app.app_context():
        codes = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(StaffRecoveryCode)
            .where(StaffRecoveryCode.staff_id == agent.id)
        )
    assert codes == 0
    assert _purge_after(app, agent.id, 92).get("staff_secrets", 0) == 0  # once

    o = _officer(app, officer)  # the purge ended the idle sessions of the fake months
    listing = o.get("/beheer/medewerkers").get_data(as_text=True)
    assert "Password and authenticator app erased while disabled" in listing
    assert "Has a one-time password" not in listing  # none: nothing signs them in
    enabled = o.post(f"/beheer/medewerkers/{agent.id}/inschakelen", page="/beheer/medewerkers")
    assert enabled.status_code == 303
    listing = o.get("/beheer/medewerkers").get_data(as_text=True)
    assert "give them a new one-time password to sign in with" in listing
    # the old password does not sign in, even though the member is active again
    assert Browser(app, "10.7.3.1").password(agent).status_code == 400

    path = f"/beheer/medewerkers/{agent.id}/wachtwoord"
    shown = o.post(path, page="/beheer/medewerkers", code=fresh_code(app, officer))
    match = OTP_RE.search(shown.get_data(as_text=True))
    assert match
    n = Browser(app, "10.7.3.2")
    first = n.post("/beheer/inloggen", email=agent.email, password=match.group(1))
    assert first.status_code == 303
    assert first.headers["Location"].endswith("/beheer/tweestaps/instellen")  # enrols again
    page = n.get("/beheer/tweestaps/instellen").get_data(as_text=True)
    assert SECRET_RE.search(page)


def test_name_and_address_go_when_the_audit_log_can_no_longer_name_them(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    _disable(app, officer, agent)
    assert _purge_after(app, agent.id, 4 * 365).get("staff_forgotten", 0) == 0
    assert member(app, agent.id).email == agent.email

    counts = _purge_after(app, agent.id, 5 * 366)
    assert counts["staff_forgotten"] == 1
    row = member(app, agent.id)
    assert row.forgotten_at is not None and row.sign_in_erased
    assert "agent" not in row.email and row.display_name == f"#{agent.id}"
    with app.app_context():
        assert auth.find_by_email(agent.email) is None
        assert db.session.get(StaffMember, officer.id).forgotten_at is None  # type: ignore[union-attr]

    o = _officer(app, officer)
    listing = o.get("/beheer/medewerkers").get_data(as_text=True)
    assert f"/beheer/medewerkers/{agent.id}/" not in listing
    assert o.get(f"/beheer/medewerkers/{agent.id}/rol").status_code == 404
    refused = o.post(f"/beheer/medewerkers/{agent.id}/inschakelen", page="/beheer/medewerkers")
    assert refused.status_code == 404
    assert not member(app, agent.id).active
    assert o.get("/beheer/audit").status_code == 200
    cli = app.test_cli_runner().invoke(args=["staff", "enable", row.email])
    assert cli.exit_code == 1 and "was forgotten and cannot be enabled" in cli.output
    assert not member(app, agent.id).active


def test_an_active_member_keeps_everything(app: Flask, officer: Staff, agent: Staff) -> None:
    with app.app_context():
        report = retention.purge(utcnow() + timedelta(days=20 * 365))
        db.session.commit()
    assert report.counts.get("staff_secrets", 0) == 0
    assert report.counts.get("staff_forgotten", 0) == 0
    row = member(app, agent.id)
    assert row.totp_enrolled and not row.sign_in_erased and row.email == agent.email


def test_cli_enable_of_an_erased_member_hands_out_a_one_time_password(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["staff", "disable", agent.email]).exit_code == 0
    _purge_after(app, agent.id, 91)
    listed = runner.invoke(args=["staff", "list"]).output
    assert "disabled" in listed and "sign-in-erased" in listed
    result = runner.invoke(args=["staff", "enable", agent.email])
    assert result.exit_code == 0, result.output
    password = result.output.rsplit(": ", 1)[1].strip()
    row = member(app, agent.id)
    assert row.active and row.must_change_password and not row.sign_in_erased
    assert Browser(app, "10.7.3.3").password(agent, password).status_code == 303
