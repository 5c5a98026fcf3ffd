"""Fixtures of the customer's data pages: the vendor simulators, and a signed-in customer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.auth.services import sign_in_with_verified_email
from portal.extensions import db
from simulators import SimulatorGroup, start_all

SANNE = "sanne.devries@example.nl"
SOURCES = {
    "webshop": "woocommerce",
    "invoicing": "moneybird",
    "helpdesk": "zammad",
    "customer-service": "freshdesk",
    "payments": "mollie",
}


@pytest.fixture(scope="module")
def simulators() -> Iterator[SimulatorGroup]:
    group = start_all()
    yield group
    group.stop()


def connector_settings(simulators: SimulatorGroup) -> dict[str, dict[str, object]]:
    """The ``connectors`` setting that points every source at its simulator."""
    connectors = {}
    for key, vendor in SOURCES.items():
        handle = simulators[vendor]
        section = {"base_url": handle.base_url, **handle.credentials}
        section.pop("username", None)
        section.pop("password", None)
        connectors[key] = section
    return connectors


@pytest.fixture
def settings_overrides(simulators: SimulatorGroup) -> dict[str, object]:
    return {"connectors": connector_settings(simulators), "gather_budget_seconds": 10.0}


@pytest.fixture(autouse=True)
def _healthy(simulators: SimulatorGroup) -> Iterator[None]:
    yield
    for vendor in SOURCES.values():
        simulators[vendor].clear_fault()


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
