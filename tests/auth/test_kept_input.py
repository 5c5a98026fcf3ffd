"""Sign-in and account forms sent after their page expired lose nothing typed and do nothing
(portal.kept_input): the page comes back filled in, with a fresh token and a message."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.extensions import db
from portal.models import CustomerIdentifier

from .conftest import CSRF_RE

EMAIL = "sanne.devries@example.nl"
OURS = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (see tests/auth/conftest.py)."""


@pytest.fixture
def settings_overrides(smtp_overrides: dict[str, object]) -> dict[str, object]:
    return smtp_overrides


@pytest.fixture
def signed_in(browser_client: FlaskClient, forms: Any, mailbox: Any) -> FlaskClient:
    browser_client.set_cookie("portal_lang", "en")
    forms.post(browser_client, "/inloggen", email=EMAIL)
    code = mailbox.code_in(mailbox.last())
    assert forms.post(browser_client, "/inloggen/code", code=code).status_code == 303
    return browser_client


def _renew_session_secret(client: FlaskClient) -> None:
    """What signing in or out in another tab does: every token on open pages stops fitting."""
    with client.session_transaction() as session:
        session["csrf_token"] = "a-new-secret-from-another-tab"


def _token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match
    return match.group(1)


def test_adding_a_number_with_an_expired_page_keeps_the_number_and_proof(
    app: Flask, signed_in: FlaskClient
) -> None:
    form = signed_in.get("/account/toevoegen").get_data(as_text=True)
    _renew_session_secret(signed_in)
    data = {
        "csrf_token": _token(form), "kind": "phone", "value": "06 12345678",
        "proof": "F2024-0042",
    }  # fmt: skip
    response = signed_in.post("/account/toevoegen", data=data, headers=OURS)
    assert response.status_code == 400
    again = response.get_data(as_text=True)
    assert "Your form was not sent, because its page had expired" in again
    assert '<input checked id="kind-1" name="kind" required type="radio" value="phone">' in again
    assert 'value="06 12345678"' in again and 'value="F2024-0042"' in again
    assert _token(again) != data["csrf_token"]
    with app.app_context():
        kinds = db.session.scalars(select(CustomerIdentifier.kind)).all()
        assert kinds == ["email"]  # nothing added
    # the fresh token works
    data["csrf_token"] = _token(again)
    assert signed_in.post("/account/toevoegen", data=data, headers=OURS).status_code == 303


def test_the_sign_in_address_and_code_are_kept(
    browser_client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    client = browser_client
    client.set_cookie("portal_lang", "en")
    login = client.get("/inloggen").get_data(as_text=True)
    _renew_session_secret(client)
    response = client.post(
        "/inloggen", data={"csrf_token": _token(login), "email": EMAIL}, headers=OURS
    )
    assert response.status_code == 400
    again = response.get_data(as_text=True)
    assert "Your form was not sent" in again and f'value="{EMAIL}"' in again
    assert mailbox.messages == []  # no code sent

    assert forms.post(client, "/inloggen", email=EMAIL).status_code == 303
    code_page = client.get("/inloggen/code").get_data(as_text=True)
    code = mailbox.code_in(mailbox.last())
    with client.session_transaction() as session:  # keep the attempt, renew the secret
        session["csrf_token"] = "another-secret"
    response = client.post(
        "/inloggen/code", data={"csrf_token": _token(code_page), "code": code}, headers=OURS
    )
    assert response.status_code == 400
    again = response.get_data(as_text=True)
    assert "Enter your code" in again and f'value="{code}"' in again
    signed = client.post(
        "/inloggen/code", data={"csrf_token": _token(again), "code": code}, headers=OURS
    )
    assert signed.status_code == 303  # the same code still signs in: it was not used


def test_signing_out_with_an_expired_page_asks_again_and_signs_nobody_out(
    signed_in: FlaskClient,
) -> None:
    account = signed_in.get("/account").get_data(as_text=True)
    _renew_session_secret(signed_in)
    response = signed_in.post("/uitloggen", data={"csrf_token": _token(account)}, headers=OURS)
    assert response.status_code == 303 and response.headers["Location"].endswith("/account")
    page = signed_in.get("/account")
    assert page.status_code == 200  # still signed in
    assert "Nothing was done, because the page had expired" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("action", "back"),
    [("/export/json", "/export/"), ("/mijn-gegevens/opnieuw", "/mijn-gegevens/")],
)
def test_a_button_of_an_expired_page_leads_back_to_press_it_again(
    signed_in: FlaskClient, action: str, back: str
) -> None:
    account = signed_in.get("/account").get_data(as_text=True)
    _renew_session_secret(signed_in)
    response = signed_in.post(action, data={"csrf_token": _token(account)}, headers=OURS)
    assert response.status_code == 303 and response.headers["Location"].endswith(back)
