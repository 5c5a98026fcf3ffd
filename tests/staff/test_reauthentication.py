"""A privacy officer's steps on staff accounts that hand out access (a new colleague, a role, a
new one-time password, a reset authenticator app) need a fresh code from the officer's own
authenticator app, as new recovery codes do: a hijacked or unattended session cannot make a
new officer or take over a colleague's account. A missing or wrong code does nothing, counts
towards the lock-out like any wrong code, and keeps what the officer chose."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, StaffMember, utcnow
from portal.staff import auth

from .conftest import Browser, Staff, fresh_code, make_staff, member

MISSING = "Vul de code van 6 cijfers uit uw authenticator-app in"
WRONG = "Deze code werkt niet. Wacht op de volgende code in uw app"
OTP_RE = re.compile(r'<code class="secret" id="one-time-password">([a-z0-9-]+)</code>')
NEW_ADDRESS = "nina@firm.example"


@dataclass(frozen=True)
class Step:
    """One of the four steps: where it is posted, what the officer chose, the audit entry it
    makes, and what the page shows back when it is refused."""

    name: str
    path: str  # with {agent} for the colleague's id
    data: dict[str, str]
    audited: str
    kept: tuple[str, ...]


def _checked(value: str) -> str:
    return rf'<input checked id="role-\d" name="role" required type="radio" value="{value}">'


STEPS = [
    Step(
        "staff_new",
        "/beheer/medewerkers/nieuw",
        {"display_name": "Nina Nieuw", "email": NEW_ADDRESS, "role": "officer"},
        "staff.created",
        ('value="Nina Nieuw"', f'value="{NEW_ADDRESS}"', _checked("officer")),
    ),
    Step(
        "staff_role",
        "/beheer/medewerkers/{agent}/rol",
        {"role": "officer"},
        "staff.role_changed",
        (_checked("officer"),),
    ),
    Step(
        "staff_reset_second_factor",
        "/beheer/medewerkers/{agent}/tweestaps-herstellen",
        {},
        "staff.second_factor_reset",
        ("De authenticator-app van Arie Agent opnieuw laten instellen?",),
    ),
    Step(
        "staff_new_password",
        "/beheer/medewerkers/{agent}/wachtwoord",
        {},
        "staff.password_reset",
        ("Arie Agent een nieuw eenmalig wachtwoord geven?",),
    ),
]


def _count(app: Flask, action: str) -> int:
    with app.app_context():
        return (
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )
            or 0
        )


def _colleagues(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(StaffMember)) or 0


def _state(app: Flask, agent: Staff) -> tuple[object, ...]:
    """Everything of the agent's account the four steps could change."""
    row = member(app, agent.id)
    return (
        row.role,
        row.password_hash,
        row.must_change_password,
        row.totp_secret_encrypted,
        row.totp_enrolled_at,
    )


def _failed_codes(app: Flask, staff_id: int, step: str) -> int:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "staff.login_failed",
                AuditEvent.actor_id == str(staff_id),
            )
        ).all()
        return sum(1 for row in rows if (row.details or {}).get("step") == step)


@pytest.fixture
def signed_in(app: Flask, officer: Staff) -> Browser:
    o = Browser(app)
    assert o.sign_in(officer).status_code == 303
    return o


@pytest.mark.parametrize("step", STEPS, ids=[s.name for s in STEPS])
def test_the_page_asks_for_a_code_accessibly(signed_in: Browser, agent: Staff, step: Step) -> None:
    page = signed_in.get(step.path.format(agent=agent.id)).get_data(as_text=True)
    label = re.search(r'<label for="code">([^<]+)</label>', page)
    assert label and label.group(1) == "Code uit uw authenticator-app", page
    field = re.search(r"<input [^>]*name=\"code\"[^>]*>", page)
    assert field, page
    for attribute in ('autocomplete="one-time-code"', 'inputmode="numeric"', 'type="text"'):
        assert attribute in field.group(0)
    assert 'aria-describedby="code-hint"' in field.group(0)
    assert 'value=""' in field.group(0) or "value=" not in field.group(0)


@pytest.mark.parametrize("step", STEPS, ids=[s.name for s in STEPS])
@pytest.mark.parametrize("code", ["", "wrong"])
def test_without_a_right_code_nothing_is_done(
    app: Flask, signed_in: Browser, officer: Staff, agent: Staff, step: Step, code: str
) -> None:
    path = step.path.format(agent=agent.id)
    before, colleagues = _state(app, agent), _colleagues(app)
    audited = _count(app, step.audited)
    # A code of ten minutes ago: the right format, from the right app, but not fresh.
    sent = officer.code(steps=-20) if code == "wrong" else ""
    refused = signed_in.post(path, **step.data, code=sent)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    message = WRONG if code == "wrong" else MISSING
    # In the summary at the top, linked to the field, and next to the field itself.
    assert re.search(rf'<li><a href="#code">{re.escape(message)}', page), page
    error = re.search(r'<p class="error-message" id="code-error">.*?</p>', page, re.S)
    assert error and message in error.group(0)
    field = re.search(r"<input [^>]*name=\"code\"[^>]*>", page)
    assert field and 'aria-invalid="true"' in field.group(0)
    assert 'aria-describedby="code-hint code-error"' in field.group(0)
    assert "<title>Fout:" in page
    for kept in step.kept:  # what the officer chose stays chosen
        assert re.search(kept, page), kept
    assert OTP_RE.search(page) is None  # no one-time password
    assert _state(app, agent) == before and _colleagues(app) == colleagues
    assert _count(app, step.audited) == audited
    # A wrong code counts like any wrong code (audited, towards the lock-out); a missing one
    # never reached the check.
    expected = 1 if code == "wrong" else 0
    assert _failed_codes(app, officer.id, step.name) == expected
    assert member(app, officer.id).failed_attempts == expected


@pytest.mark.parametrize("step", STEPS, ids=[s.name for s in STEPS])
def test_with_a_fresh_code_the_step_is_done(
    app: Flask, signed_in: Browser, officer: Staff, agent: Staff, step: Step
) -> None:
    path = step.path.format(agent=agent.id)
    before, audited = _state(app, agent), _count(app, step.audited)
    done = signed_in.post(path, **step.data, code=fresh_code(app, officer))
    assert done.status_code in (200, 303), done.get_data(as_text=True)
    assert _count(app, step.audited) == audited + 1
    if step.name == "staff_new":
        with app.app_context():
            new = db.session.scalars(
                select(StaffMember).where(StaffMember.email == NEW_ADDRESS)
            ).one()
            assert new.role == "officer" and new.must_change_password
    else:
        assert _state(app, agent) != before
    if done.status_code == 200:  # the steps that show a one-time password
        assert OTP_RE.search(done.get_data(as_text=True))
    assert _failed_codes(app, officer.id, step.name) == 0


def test_the_code_of_the_sign_in_does_not_count_again(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    """The code must be fresh: the one just used to sign in (the clock standing still) is
    refused, as a replayed code, and the role stays."""
    with time_machine.travel(utcnow(), tick=False):
        o = Browser(app)
        assert o.sign_in(officer).status_code == 303
        refused = o.post(f"/beheer/medewerkers/{agent.id}/rol", role="officer", code=officer.code())
        assert refused.status_code == 400
        assert WRONG in refused.get_data(as_text=True)
        assert member(app, agent.id).role == "agent"
        done = o.post(
            f"/beheer/medewerkers/{agent.id}/rol", role="officer", code=officer.code(steps=1)
        )
        assert done.status_code == 303
    assert member(app, agent.id).role == "officer"


def test_wrong_codes_lock_the_officer_out_of_these_steps(
    app: Flask, signed_in: Browser, officer: Staff, agent: Staff
) -> None:
    """After :data:`auth.MAX_FAILURES` wrong codes the account is locked: not even the right
    code makes a new one-time password then."""
    path = f"/beheer/medewerkers/{agent.id}/wachtwoord"
    before = _state(app, agent)
    for _ in range(auth.MAX_FAILURES):
        assert signed_in.post(path, code=officer.code(steps=-20)).status_code == 400
    assert member(app, officer.id).is_locked(utcnow())
    refused = signed_in.post(path, code=fresh_code(app, officer))
    assert refused.status_code == 400
    assert _state(app, agent) == before
    assert _count(app, "staff.password_reset") == 0


def test_the_last_officer_check_does_not_give_the_code_back(
    app: Flask, signed_in: Browser, officer: Staff
) -> None:
    """A step refused after the code worked (the last officer giving up the role) still uses
    the code up: the same code does not work a second time."""
    code = fresh_code(app, officer)
    path = f"/beheer/medewerkers/{officer.id}/rol"
    assert signed_in.post(path, role="agent", code=code).status_code == 409
    make_staff(app, "otto@firm.example", "officer", name="Otto Officier")
    again = signed_in.post(path, role="agent", code=code)
    assert again.status_code == 400
    assert WRONG in again.get_data(as_text=True)
    assert member(app, officer.id).role == "officer"
