"""Fixtures of the request pages: the vendor simulators, a real SMTP mailbox, a signed-in
customer, and a helper that sends forms the way a browser does."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.auth.services import sign_in_with_verified_email
from portal.extensions import db

from ..auth.conftest import Mailbox, mailbox  # noqa: F401 - the real SMTP server (fixture)

SANNE = "sanne.devries@example.nl"
OTHER = "daan.jansen@example.nl"

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KEY_RE = re.compile(r'name="key"[^>]*value="([^"]+)"')
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
REFERENCE_RE = re.compile(r"AVG-[A-Z2-9]{8}")


@pytest.fixture
def settings_overrides(
    simulated_connectors: dict[str, object],
    mailbox: Mailbox,  # noqa: F811 - the imported fixture
) -> dict[str, object]:
    return {
        "connectors": simulated_connectors,
        "gather_budget_seconds": 10.0,
        "mail_transport": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": mailbox.port,
        "smtp_security": "none",
        "smtp_timeout": 5,
    }


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Replaces pytest-flask's: every request gets its own context, as in production."""


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client that keeps no request context between requests."""
    return app.test_client()


def sign_in(app: Flask, client: FlaskClient, email: str = SANNE) -> int:
    """Sign ``client`` in as the owner of ``email`` (a fresh server-side session)."""
    with app.test_request_context():
        customer = sign_in_with_verified_email(email, method="test")
        token = customer.__dict__["_session_token"]
        customer_id = customer.id
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = token
    return customer_id


@pytest.fixture
def sanne(app: Flask, client: FlaskClient) -> FlaskClient:
    """The test client, signed in as the demo customer."""
    sign_in(app, client)
    return client


def english(client: FlaskClient) -> None:
    """Switch ``client`` to English (the language cookie)."""
    client.set_cookie("portal_lang", "en")


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def token_in(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token"
    return match.group(1)


def key_in(html: str) -> str:
    match = KEY_RE.search(html)
    assert match, "no idempotency key"
    return match.group(1)


def hidden_fields(html: str) -> list[tuple[str, str]]:
    """Every hidden input of a page as (name, value), HTML entities undone."""
    import html as html_lib

    return [(n, html_lib.unescape(v)) for n, v in HIDDEN_RE.findall(html)]


def post(client: FlaskClient, path: str, data: list[tuple[str, str]] | dict[str, Any]) -> Any:
    """POST form data (a list of pairs keeps repeated names, like checkboxes)."""
    from werkzeug.datastructures import MultiDict

    return client.post(path, data=MultiDict(data))
