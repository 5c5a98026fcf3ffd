"""Lock-out after 5 failures (passwords and codes alike) and rate limits per IP and account."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask import Flask

from portal.models import utcnow

from .conftest import Browser, Staff, make_staff, member


def test_five_wrong_passwords_lock_the_account_for_15_minutes(app: Flask, officer: Staff) -> None:
    start = utcnow()
    with time_machine.travel(start, tick=False):
        b = Browser(app)
        for _ in range(5):
            assert b.password(officer, "wrong password!").status_code == 400
        row = member(app, officer.id)
        assert row.locked_until == start + timedelta(minutes=15)
        # Locked: even the right password gets the same generic answer.
        locked = b.password(officer)
        assert locked.status_code == 400
        assert "Inloggen is niet gelukt" in locked.get_data(as_text=True)
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert Browser(app).password(officer).status_code == 400
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert Browser(app).password(officer).status_code == 303


def test_wrong_codes_count_too_and_a_full_sign_in_resets_the_count(
    app: Flask, officer: Staff
) -> None:
    b = Browser(app)
    assert b.password(officer, "wrong password!").status_code == 400
    assert b.password(officer).status_code == 303
    for _ in range(3):
        assert b.post("/beheer/tweestaps", code="000000").status_code == 400
    assert member(app, officer.id).failed_attempts == 4
    assert b.post("/beheer/tweestaps", code=officer.code()).status_code == 303
    assert member(app, officer.id).failed_attempts == 0

    other = Browser(app, "10.1.0.9")
    assert other.password(officer).status_code == 303
    for _ in range(5):
        other.post("/beheer/tweestaps", recovery_code="aaaaa-bbbbb")
    assert member(app, officer.id).is_locked(utcnow())
    # The right code no longer helps while locked.
    assert other.post("/beheer/tweestaps", code=officer.code(steps=1)).status_code == 400


def test_officer_unlocks(app: Flask, officer: Staff, agent: Staff) -> None:
    for _ in range(5):
        Browser(app).password(agent, "wrong password!")
    assert member(app, agent.id).is_locked(utcnow())
    b = Browser(app, "10.1.0.5")
    assert b.sign_in(officer).status_code == 303
    listing = b.get("/beheer/medewerkers").get_data(as_text=True)
    assert "Geblokkeerd na te veel mislukte pogingen" in listing
    r = b.post(f"/beheer/medewerkers/{agent.id}/ontgrendelen", page="/beheer/medewerkers")
    assert r.status_code == 303
    assert not member(app, agent.id).is_locked(utcnow())
    assert Browser(app, "10.1.0.6").password(agent).status_code == 303


def test_every_attempt_counts_in_a_roomy_limit_of_its_own(app: Flask, officer: Staff) -> None:
    """The per-address and per-IP limits count a refusal once it is answered, so attempts sent
    at the same moment would all pass their check; every attempt from one address also counts
    in a roomy limit (20 a minute) that a burst meets. (Roomy limits otherwise, here.)"""
    b = Browser(app, "10.6.0.1")
    statuses = [b.post("/beheer/inloggen", email=f"x{i}@firm.example",
                       password="y" * 12).status_code for i in range(22)]  # fmt: skip
    assert statuses[:20] == [400] * 20 and statuses[20:] == [429, 429]


class TestRateLimits:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {
            "login_rate_per_ip": "4 per minute",
            "login_rate_per_address": "3 per minute",
            "code_rate_per_ip": "3 per minute",
            "code_rate_per_address": "100 per minute",
        }

    def test_sign_in_limited_per_account_across_ip_addresses(
        self, app: Flask, officer: Staff
    ) -> None:
        statuses = [
            Browser(app, f"10.2.0.{i}").password(officer, "wrong").status_code for i in range(4)
        ]
        assert statuses == [400, 400, 400, 429]
        limited = Browser(app, "10.2.0.9").password(officer)
        assert limited.status_code == 429
        assert "Te veel pogingen" in limited.get_data(as_text=True)
        # Another account from the same address is not affected.
        other = make_staff(app, "other@firm.example", "agent")
        assert Browser(app, "10.2.0.9").password(other).status_code == 303

    def test_sign_in_limited_per_ip(self, app: Flask) -> None:
        b = Browser(app, "10.3.0.1")
        statuses = [
            b.post("/beheer/inloggen", email=f"p{i}@firm.example", password="x" * 12).status_code
            for i in range(5)
        ]
        assert statuses == [400, 400, 400, 400, 429]
        fresh = Browser(app, "10.3.0.2")
        assert (
            fresh.post("/beheer/inloggen", email="q@firm.example", password="y" * 12).status_code
            == 400
        )

    def test_codes_limited_per_ip(self, app: Flask, officer: Staff) -> None:
        b = Browser(app, "10.4.0.1")
        assert b.password(officer).status_code == 303
        statuses = [b.post("/beheer/tweestaps", code="000000").status_code for _ in range(4)]
        assert statuses == [400, 400, 400, 429]

    def test_sign_ins_that_work_do_not_count_towards_the_limits(
        self, app: Flask, officer: Staff
    ) -> None:
        """A colleague who signs in several times, or an office behind one address, is not
        blocked by attempts that worked: only refused ones count."""
        for _ in range(5):  # over both limits (3 per address, 4 per IP), all of them right
            b = Browser(app, "10.5.0.1")
            assert b.password(officer).status_code == 303
        statuses = [Browser(app, "10.5.0.1").password(officer, "wrong").status_code
                    for _ in range(3)]  # fmt: skip
        assert statuses == [400, 400, 400]
        assert Browser(app, "10.5.0.1").password(officer).status_code == 429  # now it counts
