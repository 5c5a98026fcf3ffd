"""The per-address budgets count what a form is about, never what a request adds to it.

Only the sign-in form (``email``) and the form that adds an e-mail address (``value``) are
read for an address; a code, a new code, a link and the code that confirms an address count
under the address of the browser's pending attempt. A field added to those forms (``kind`` and
``value``, as the add form has them) must not choose another budget: a made-up address per
request would be a new budget each time, for guessing codes and for flooding a mailbox.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

VICTIM = "slachtoffer@example.nl"


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (see tests/auth/conftest.py)."""


@pytest.fixture
def settings_overrides(smtp_overrides: dict[str, object]) -> dict[str, object]:
    """Roomy limits per IP address; tight ones per address."""
    return {
        **smtp_overrides,
        "login_rate_per_address": "3 per minute",
        "code_rate_per_address": "3 per minute",
    }


def browser(app: Flask, ip: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def signed_in_browser(app: Flask, forms: Any, mailbox: Any, ip: str, email: str) -> FlaskClient:
    """A browser signed in with ``email``, from ``ip``."""
    client = browser(app, ip)
    before = len(mailbox.messages)
    assert forms.post(client, "/inloggen", email=email).status_code == 303
    code = mailbox.code_in(mailbox.wait_for(before + 1)[-1])
    assert forms.post(client, "/inloggen/code", code=code).status_code == 303
    return client


def steer(i: int) -> dict[str, str]:
    """Fields of the add form, naming a new made-up address each time."""
    return {"kind": "email", "value": f"verzonnen{i}@example.org"}


def test_added_fields_do_not_buy_more_code_guesses(app: Flask, forms: Any, mailbox: Any) -> None:
    client = browser(app, "10.8.0.1")
    assert forms.post(client, "/inloggen", email=VICTIM).status_code == 303
    wrong = [forms.post(client, "/inloggen/code", code="000000").status_code for _ in range(4)]
    assert wrong == [400, 400, 400, 429]
    steered = [
        forms.post(client, "/inloggen/code", code="000000", **steer(i)).status_code
        for i in range(3)
    ]
    assert steered == [429, 429, 429]


def test_added_fields_do_not_buy_more_codes_by_mail(app: Flask, forms: Any, mailbox: Any) -> None:
    client = browser(app, "10.8.0.2")
    for _ in range(3):
        assert forms.post(client, "/inloggen", email=VICTIM).status_code == 303
    assert len(mailbox.wait_for(3)) == 3
    assert forms.post(client, "/inloggen", email=VICTIM).status_code == 429
    new_code = "/inloggen/nieuwe-code"
    assert forms.post(client, "/inloggen/code", new_code).status_code == 429
    steered = [
        forms.post(client, "/inloggen/code", new_code, **steer(i)).status_code for i in range(3)
    ]
    assert steered == [429, 429, 429]
    assert len(mailbox.messages) == 3  # no code more went to the victim


def test_added_fields_do_not_buy_more_guesses_at_a_confirmation_code(
    app: Flask, forms: Any, mailbox: Any
) -> None:
    signed_in = signed_in_browser(app, forms, mailbox, "10.8.0.3", "klant@example.nl")
    before = len(mailbox.messages)
    added = forms.post(signed_in, "/account/toevoegen", kind="email", value=VICTIM)
    assert added.status_code == 303
    mailbox.wait_for(before + 1)
    page = "/account/adres-bevestigen"
    wrong = [forms.post(signed_in, page, code="000000").status_code for _ in range(4)]
    assert wrong[-1] == 429 and 429 not in wrong[:3]
    steered = [forms.post(signed_in, page, code="000000", **steer(i)).status_code for i in range(2)]
    assert steered == [429, 429]


def test_adding_numbers_counts_per_customer(app: Flask, forms: Any, mailbox: Any) -> None:
    """A phone or customer number sends nothing: one customer adding many does not use up
    the budget of everyone else adding one."""
    signed_in = signed_in_browser(app, forms, mailbox, "10.8.0.4", "klant@example.nl")
    page = "/account/toevoegen"
    answers = [
        forms.post(signed_in, page, kind="phone", value=f"06-1234567{i}", proof="F1").status_code
        for i in range(4)
    ]
    assert answers[-1] == 429 and 429 not in answers[:3]
    other = signed_in_browser(app, forms, mailbox, "10.8.0.9", "iemand.anders@example.nl")
    theirs = forms.post(other, page, kind="phone", value="06-87654321", proof="F2")
    assert theirs.status_code == 303
