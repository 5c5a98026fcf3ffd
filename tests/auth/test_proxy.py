"""Behind a reverse proxy (``proxy_hops = 1``) the per-IP sign-in limits count the visitor's
address from ``X-Forwarded-For``, and a visitor cannot choose it by sending the header."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient

PROXY = "127.0.0.1"


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (see tests/auth/conftest.py)."""


@pytest.fixture
def settings_overrides(smtp_overrides: dict[str, object]) -> dict[str, object]:
    return {
        **smtp_overrides,
        "proxy_hops": 1,
        "login_rate_per_ip": "2 per minute",
        "login_rate_per_address": "100 per minute",
        "code_rate_per_ip": "100 per minute",
        "code_rate_per_address": "100 per minute",
    }


def via_proxy(app: Flask, forwarded_for: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PROXY
    client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def _ask(client: FlaskClient, forms: Any, n: int) -> int:
    return int(forms.post(client, "/inloggen", email=f"v{n}@example.nl").status_code)


def test_visitors_behind_the_proxy_are_limited_each_on_their_own(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    first = via_proxy(app, "203.0.113.7")
    assert [_ask(first, forms, i) for i in range(3)] == [303, 303, 429]
    # Another visitor through the same proxy is not limited by the first one's attempts.
    assert _ask(via_proxy(app, "198.51.100.4"), forms, 9) == 303


def test_a_forged_forwarded_for_does_not_escape_the_limit(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    # The proxy appends the real address; with one hop only the last entry is trusted.
    statuses = [_ask(via_proxy(app, f"10.9.9.{i}, 192.0.2.55"), forms, i) for i in range(3)]
    assert statuses == [303, 303, 429]


def test_the_scheme_and_address_the_proxy_saw_are_used(app: Flask) -> None:
    seen: dict[str, str] = {}

    @app.get("/_seen")
    def _seen() -> str:
        seen["scheme"] = request.scheme
        seen["remote"] = request.remote_addr or ""
        return ""

    client = via_proxy(app, "203.0.113.8")
    client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    client.get("/_seen")
    assert seen == {"scheme": "https", "remote": "203.0.113.8"}
