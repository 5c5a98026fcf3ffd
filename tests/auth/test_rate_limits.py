"""Asking for codes and entering them is rate-limited per IP address and per e-mail address."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (see tests/auth/conftest.py)."""


@pytest.fixture
def settings_overrides(smtp_overrides: dict[str, object]) -> dict[str, object]:
    return {
        **smtp_overrides,
        "login_rate_per_ip": "4 per minute",
        "login_rate_per_address": "2 per minute",
        "code_rate_per_ip": "3 per minute",
        "code_rate_per_address": "100 per minute",
    }


def browser(app: Flask, ip: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_per_address_limit_holds_across_ip_addresses(app: Flask, forms: Any, mailbox: Any) -> None:
    statuses = [
        forms.post(browser(app, f"10.0.0.{i}"), "/inloggen", email="a@example.nl").status_code
        for i in range(3)
    ]
    assert statuses == [303, 303, 429]
    # Same address in another spelling is the same address.
    limited = forms.post(browser(app, "10.0.0.9"), "/inloggen", email=" A@Example.NL")
    assert limited.status_code == 429
    assert "Te veel pogingen" in limited.get_data(as_text=True)
    # Another address is not affected.
    assert (
        forms.post(browser(app, "10.0.0.9"), "/inloggen", email="b@example.nl").status_code == 303
    )
    assert len(mailbox.wait_for(3)) == 3


def test_per_ip_limit_on_asking_for_codes(app: Flask, forms: Any, mailbox: Any) -> None:
    client = browser(app, "10.0.1.1")
    statuses = [
        forms.post(client, "/inloggen", email=f"p{i}@example.nl").status_code for i in range(5)
    ]
    assert statuses == [303, 303, 303, 303, 429]
    assert (
        forms.post(browser(app, "10.0.1.2"), "/inloggen", email="q@example.nl").status_code == 303
    )


def test_per_ip_limit_on_entering_codes(app: Flask, forms: Any, mailbox: Any) -> None:
    client = browser(app, "10.0.2.1")
    forms.post(client, "/inloggen", email="c@example.nl")
    statuses = [forms.post(client, "/inloggen/code", code="000000").status_code for _ in range(4)]
    assert statuses[-1] == 429
    assert 429 not in statuses[:3]


def test_per_ip_limit_counts_an_ipv6_network_as_one(app: Flask, forms: Any, mailbox: Any) -> None:
    """An IPv6 connection is usually given a /64: each address in it is not a new budget."""
    statuses = [
        forms.post(
            browser(app, f"2001:db8:7:1::{i:x}"), "/inloggen", email=f"v{i}@example.nl"
        ).status_code
        for i in range(1, 6)
    ]
    assert statuses == [303, 303, 303, 303, 429]
    # another network, and an IPv4 address, have their own
    other = forms.post(browser(app, "2001:db8:7:2::1"), "/inloggen", email="w@example.nl")
    assert other.status_code == 303
    # IPv4 clients of a dual-stack socket (::ffff:a.b.c.d) are each their own IPv4 address,
    # not one /64 together
    mapped = [
        forms.post(
            browser(app, f"::ffff:10.0.3.{i}"), "/inloggen", email=f"x{i}@example.nl"
        ).status_code
        for i in range(1, 7)
    ]
    assert mapped == [303] * 6


def _sign_in(client: FlaskClient, forms: Any, mailbox: Any, email: str) -> None:
    before = len(mailbox.messages)
    assert forms.post(client, "/inloggen", email=email).status_code == 303
    code = mailbox.code_in(mailbox.wait_for(before + 1)[-1])
    assert forms.post(client, "/inloggen/code", code=code).status_code == 303


def test_a_signed_in_customer_cannot_use_up_another_address_allowance(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    """Signed in, asking for a code for someone else's address goes to one's account before
    any limit counts it: else it would use up that address's allowance without a mail to
    its owner, who would then be refused."""
    attacker = browser(app, "10.0.3.1")
    _sign_in(attacker, forms, mailbox, "attacker@example.nl")
    for _ in range(3):
        asked = forms.post(attacker, "/account", action="/inloggen", email="victim@example.nl")
        assert asked.status_code == 302 and asked.headers["Location"].endswith("/account")
    sent = len(mailbox.messages)
    owner = forms.post(browser(app, "10.0.3.2"), "/inloggen", email="victim@example.nl")
    assert owner.status_code == 303  # not limited
    assert len(mailbox.wait_for(sent + 1)) == sent + 1


def test_no_response_tells_how_much_of_an_address_allowance_others_used(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    """How many codes were asked for an address (by anyone) is nobody's business: no
    X-RateLimit headers; a refusal says how long to wait, the limit's whole window."""
    forms.post(browser(app, "10.0.4.1"), "/inloggen", email="victim@example.nl")
    answers = [
        forms.post(browser(app, "10.0.4.2"), "/inloggen", email="victim@example.nl"),
        forms.post(browser(app, "10.0.4.3"), "/inloggen", email="fresh@example.nl"),
    ]
    for answer in answers:
        assert answer.status_code == 303
        assert not [h for h in answer.headers.keys() if h.lower().startswith("x-ratelimit")]
    refused = forms.post(browser(app, "10.0.4.4"), "/inloggen", email="victim@example.nl")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"  # "2 per minute": the whole minute
    assert not [h for h in refused.headers.keys() if h.lower().startswith("x-ratelimit")]
