"""Fixtures of the export tests: the vendor simulators, a signed-in customer, downloading."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.auth.services import sign_in_with_verified_email
from portal.extensions import db

SANNE = "sanne.devries@example.nl"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def settings_overrides(simulated_connectors: dict[str, object]) -> dict[str, object]:
    return {"connectors": simulated_connectors, "gather_budget_seconds": 10.0}


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


def csrf_token(client: FlaskClient) -> str:
    """The CSRF token from the export page."""
    page = client.get("/export/").get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, "no download form on the export page"
    return match.group(1)


def download(client: FlaskClient, fmt: str) -> TestResponse:
    """Press the download button for ``fmt`` (``json`` or ``csv``)."""
    response = client.post(f"/export/{fmt}", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 200, response.status_code
    return response
