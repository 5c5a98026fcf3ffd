"""Fixtures for the back-office tests: staff members, and a browser-like client that signs in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from portal import crypto
from portal.extensions import db
from portal.models import StaffMember, utcnow
from portal.staff import auth

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (no pushed test context)."""


@pytest.fixture(autouse=True)
def _light_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with light parameters, so the many sign-ins here stay fast. The password
    tests (test_sign_in.py) override this and use the real parameters."""
    monkeypatch.setattr(
        auth, "hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Roomy rate limits: the lock-out, not the limiter, is what most tests meet."""
    return {
        "login_rate_per_ip": "1000 per minute",
        "login_rate_per_address": "1000 per minute",
        "code_rate_per_ip": "1000 per minute",
        "code_rate_per_address": "1000 per minute",
    }


@dataclass
class Staff:
    """A staff member made for a test: id, address, password and TOTP secret."""

    id: int
    email: str
    password: str
    secret: str | None

    def code(self, at: datetime | None = None, steps: int = 0) -> str:
        """The TOTP code at ``at`` (default now), ``steps`` time steps later."""
        assert self.secret is not None
        totp = pyotp.TOTP(self.secret)
        return totp.generate_otp(totp.timecode(at or utcnow()) + steps)


def make_staff(
    app: Flask,
    email: str = "officer@firm.example",
    role: str = "officer",
    enrolled: bool = True,
    password: str = PASSWORD,
    name: str = "Olga Officier",
) -> Staff:
    """Create a staff member directly (enrolled with a fresh TOTP secret unless told not)."""
    with app.app_context():
        member = auth.create_staff(email, name, role, password)
        secret = None
        if enrolled:
            secret = auth.new_totp_secret()
            member.totp_secret_encrypted = crypto.encrypt(secret)
            member.totp_enrolled_at = utcnow()
        db.session.commit()
        return Staff(member.id, member.email, password, secret)


def fresh_code(app: Flask, staff: Staff) -> str:
    """A code from the authenticator app that a re-authentication accepts now: the current
    one, with the member's last used time step forgotten (each step's code works only once;
    this stands in for waiting for the next code)."""
    with app.app_context():
        row = db.session.get(StaffMember, staff.id)
        assert row is not None
        row.last_totp_step = None
        db.session.commit()
    return staff.code()


def member(app: Flask, staff_id: int) -> StaffMember:
    """A fresh copy of the row (detached)."""
    with app.app_context():
        row = db.session.get(StaffMember, staff_id)
        assert row is not None
        db.session.expunge(row)
        return row


class Browser:
    """A test client that submits forms as a browser does: GET the page, take its token."""

    def __init__(self, app: Flask, ip: str = "10.1.0.1") -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = ip

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def token(self, path: str = "/beheer/inloggen") -> str:
        html = self.client.get(path).get_data(as_text=True)
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, path: str, page: str | None = None, **data: str) -> Any:
        """POST ``data`` to ``path`` with the CSRF token of ``page`` (default ``path``)."""
        token = self.token(page or path)
        return self.client.post(path, data={"csrf_token": token, **data})

    def password(self, staff: Staff, password: str | None = None) -> Any:
        return self.post("/beheer/inloggen", email=staff.email, password=password or staff.password)

    def sign_in(self, staff: Staff, steps: int = 0) -> Any:
        """Both factors; returns the response of the second step."""
        first = self.password(staff)
        assert first.status_code == 303, first.get_data(as_text=True)
        assert first.headers["Location"].endswith("/beheer/tweestaps")
        return self.post("/beheer/tweestaps", code=staff.code(steps=steps))


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


@pytest.fixture
def agent(app: Flask) -> Staff:
    return make_staff(app, "agent@firm.example", "agent", name="Arie Agent")
