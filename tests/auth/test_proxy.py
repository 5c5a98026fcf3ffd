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


def test_forms_work_over_https_without_a_referer(app: Flask, forms: Any, mailbox: Any) -> None:
    # Our Referrer-Policy (no-referrer) keeps browsers from sending Referer, and Chromium sends
    # "Origin: null": the sign-in form must still be accepted once the proxy says https.
    client = via_proxy(app, "203.0.113.9")
    client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    client.environ_base["HTTP_ORIGIN"] = "null"
    client.environ_base["HTTP_SEC_FETCH_SITE"] = "same-origin"
    response = forms.post(client, "/inloggen", email="https@example.nl")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/inloggen/code")


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_form_another_site_sent_is_refused(
    app: Flask, forms: Any, mailbox: Any, site: str
) -> None:
    client = via_proxy(app, "203.0.113.10")
    client.environ_base["HTTP_SEC_FETCH_SITE"] = site
    assert client.get("/inloggen").status_code == 200  # a link from elsewhere still opens
    response = forms.post(client, "/inloggen", email="foreign@example.nl")
    assert response.status_code == 403


def test_an_expired_form_says_so_and_that_nothing_was_saved(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/inloggen", data={"email": "late@example.nl"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Dit formulier is verlopen" in page
    assert "Er is niets opgeslagen" in page
