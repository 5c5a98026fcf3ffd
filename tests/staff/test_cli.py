"""``flask --app portal staff ...`` and the demo staff account."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from flask import Flask

from portal.models import utcnow
from portal.staff import auth
from portal.staff.demo import DEMO_STAFF_EMAIL, DEMO_STAFF_PASSWORD, DEMO_TOTP_SECRET

from .conftest import PASSWORD, Browser, Staff, make_staff, member


def _run(app: Flask, *args: str, stdin: str | None = None) -> object:
    return app.test_cli_runner().invoke(args=["staff", *args], input=stdin)


def _staff(app: Flask, email: str) -> int:
    with app.app_context():
        found = auth.find_by_email(email)
        assert found is not None
        return found.id


def test_create_the_first_officer_with_the_password_asked_twice(app: Flask) -> None:
    result = _run(
        app, "create", "--email", "Eerste@Firm.Example", "--name", "Eerste Officier",
        "--role", "officer", stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert PASSWORD not in result.output  # type: ignore[attr-defined]
    row = member(app, _staff(app, "eerste@firm.example"))
    assert row.is_officer and row.active and not row.totp_enrolled
    assert not row.must_change_password
    # The new officer signs in and is sent to enrol.
    staff = Staff(row.id, row.email, PASSWORD, None)
    r = Browser(app).password(staff)
    assert r.headers["Location"].endswith("/beheer/tweestaps/instellen")


def test_create_with_password_on_stdin(app: Flask) -> None:
    result = _run(
        app, "create", "--email", "a@firm.example", "--name", "A", "--role", "agent",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert member(app, _staff(app, "a@firm.example")).role == "agent"


@pytest.mark.parametrize("password", ["short-pass", "my-name-is-jansen-99"])
def test_weak_passwords_are_refused(app: Flask, password: str) -> None:
    result = _run(
        app, "create", "--email", "jansen@firm.example", "--name", "J", "--password-stdin",
        stdin=password + "\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "password refused" in result.output  # type: ignore[attr-defined]
    with app.app_context():
        assert auth.find_by_email("jansen@firm.example") is None


def test_duplicate_and_unknown_role_refused(app: Flask, officer: Staff) -> None:
    dup = _run(app, "create", "--email", officer.email, "--name", "X", "--password-stdin",
               stdin=PASSWORD + "\n")  # fmt: skip
    assert dup.exit_code == 1
    role = _run(app, "create", "--email", "z@firm.example", "--name", "Z", "--role", "boss",
                "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert role.exit_code == 2


@pytest.mark.parametrize(
    ("email", "name", "said"),
    [
        ("jansen-at-firm.example", "J", "valid e-mail address"),
        ("jansen@", "J", "valid e-mail address"),
        ("jansen@firm.example", "  ", "give a name"),
        ("officer@firm.example", "X", "exists"),
    ],
)
def test_a_wrong_address_or_name_is_said_before_the_password_is_asked(
    app: Flask, officer: Staff, email: str, name: str, said: str
) -> None:
    """Nobody types a password twice only to hear the address was wrong."""
    result: Any = _run(app, "create", "--email", email, "--name", name, stdin="")
    assert result.exit_code == 1
    assert said in result.output and "Password" not in result.output
    with app.app_context():
        assert auth.find_by_email(email) is None or email == officer.email


def test_list_disable_enable_unlock_reset(app: Flask, officer: Staff, agent: Staff) -> None:
    listed = _run(app, "list")
    assert officer.email in listed.output and agent.email in listed.output  # type: ignore[attr-defined]
    assert _run(app, "disable", agent.email).exit_code == 0  # type: ignore[attr-defined]
    assert not member(app, agent.id).active
    assert "disabled" in _run(app, "list").output  # type: ignore[attr-defined]
    assert _run(app, "enable", agent.email).exit_code == 0  # type: ignore[attr-defined]
    assert member(app, agent.id).active

    for _ in range(5):
        Browser(app).password(agent, "wrong password!")
    assert member(app, agent.id).is_locked(utcnow())
    assert "locked" in _run(app, "list").output  # type: ignore[attr-defined]
    assert _run(app, "unlock", agent.email).exit_code == 0  # type: ignore[attr-defined]
    assert not member(app, agent.id).is_locked(utcnow())

    assert _run(app, "reset-2fa", agent.email).exit_code == 0  # type: ignore[attr-defined]
    assert not member(app, agent.id).totp_enrolled
    assert _run(app, "disable", "nobody@firm.example").exit_code == 1  # type: ignore[attr-defined]


def test_the_last_active_officer_cannot_be_disabled(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    """Nobody could manage staff any more: make someone else an officer first."""
    result = _run(app, "disable", officer.email)
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "last active privacy officer" in result.output  # type: ignore[attr-defined]
    assert member(app, officer.id).active
    assert _run(app, "role", agent.email, "officer").exit_code == 0  # type: ignore[attr-defined]
    assert _run(app, "disable", officer.email).exit_code == 0  # type: ignore[attr-defined]
    assert not member(app, officer.id).active


def test_demo_code_refused_outside_the_demo(app: Flask) -> None:
    result = _run(app, "demo-code")
    assert result.exit_code == 1
    assert "demo" in result.output  # type: ignore[attr-defined]


class TestDemo:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"environment": "demo"}

    def test_demo_load_creates_the_documented_officer_and_demo_code_signs_in(
        self, app: Flask
    ) -> None:
        runner = app.test_cli_runner()
        loaded = runner.invoke(args=["demo", "load"])
        assert loaded.exit_code == 0, loaded.output
        assert DEMO_STAFF_EMAIL in loaded.output
        assert "present" in runner.invoke(args=["demo", "load"]).output  # idempotent
        demo = Staff(_staff(app, DEMO_STAFF_EMAIL), DEMO_STAFF_EMAIL, DEMO_STAFF_PASSWORD, None)
        assert member(app, demo.id).is_officer

        printed = _run(app, "demo-code")
        assert printed.exit_code == 0  # type: ignore[attr-defined]
        code = printed.stdout.strip()  # type: ignore[attr-defined]
        assert pyotp.TOTP(DEMO_TOTP_SECRET).verify(code, valid_window=1)
        b = Browser(app)
        assert b.password(demo).headers["Location"].endswith("/beheer/tweestaps")
        assert b.post("/beheer/tweestaps", code=code).status_code == 303
        assert b.get("/beheer/medewerkers").status_code == 200

    def test_the_demo_account_cannot_sign_in_outside_the_demo(
        self, app: Flask, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Its password and TOTP secret are public: an installation that went live after a
        ``demo load`` must not let them in."""
        assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0
        demo = Staff(_staff(app, DEMO_STAFF_EMAIL), DEMO_STAFF_EMAIL, DEMO_STAFF_PASSWORD, None)
        live = app.extensions["portal.settings"].model_copy(update={"environment": "test"})
        monkeypatch.setitem(app.extensions, "portal.settings", live)

        refused = Browser(app).password(demo)

        # The sign-in page again, with the same error as a wrong password (nothing told).
        wrong = Browser(app).password(demo, password="not-the-password")
        assert refused.status_code == wrong.status_code == 400
        assert "Location" not in refused.headers
        assert _error_summary(refused) == _error_summary(wrong)
        monkeypatch.undo()
        assert Browser(app).password(demo).headers["Location"].endswith("/beheer/tweestaps")

    def test_demo_code_only_for_the_demo_account(self, app: Flask) -> None:
        app.test_cli_runner().invoke(args=["demo", "load"])
        other = make_staff(app, "real@firm.example")
        refused = _run(app, "demo-code", other.email)
        assert refused.exit_code == 1
        assert "demo staff account only" in refused.output  # type: ignore[attr-defined]
        # After its second factor is reset and enrolled anew, no code is printed either.
        _run(app, "reset-2fa", DEMO_STAFF_EMAIL)
        assert _run(app, "demo-code").exit_code == 1  # type: ignore[attr-defined]


def _error_summary(response: Any) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', response.get_data(as_text=True), re.S)
    assert found is not None
    return found.group(0)
