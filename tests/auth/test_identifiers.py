"""A customer adds identifiers; each counts only once verified."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connectors.identity import IdentifierKind
from portal import crypto
from portal.auth import services
from portal.extensions import db
from portal.models import Customer, CustomerIdentifier, OutboxMessage, utcnow
from portal.models.gathering import GatheredSnapshot

EMAIL = "sanne.devries@example.nl"


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (see tests/auth/conftest.py)."""


@pytest.fixture
def settings_overrides(smtp_overrides: dict[str, object]) -> dict[str, object]:
    return smtp_overrides


@pytest.fixture
def signed_in(browser_client: FlaskClient, forms: Any, mailbox: Any) -> FlaskClient:
    forms.post(browser_client, "/inloggen", email=EMAIL)
    code = mailbox.code_in(mailbox.last())
    assert forms.post(browser_client, "/inloggen/code", code=code).status_code == 303
    return browser_client


def _identity(app: Flask) -> Any:
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        return services.verified_identity(customer)


def test_another_address_counts_after_its_code(
    app: Flask, signed_in: FlaskClient, forms: Any, mailbox: Any
) -> None:
    page = "/account/toevoegen"
    response = forms.post(signed_in, page, kind="email", value=" Sanne@Werk.Example.NL ")
    assert response.status_code == 303
    message = mailbox.wait_for(2)[-1]
    assert message["To"] == "sanne@werk.example.nl"
    assert "Bevestig uw e-mailadres" == message["Subject"]
    account = signed_in.get("/account").get_data(as_text=True)
    assert "In behandeling" in account
    assert _identity(app).values(IdentifierKind.EMAIL) == [EMAIL]  # pending matches nothing

    wrong = forms.post(signed_in, "/account/adres-bevestigen", code="000000")
    assert wrong.status_code == 400 or mailbox.code_in(message) == "000000"
    code = mailbox.code_in(message)
    assert forms.post(signed_in, "/account/adres-bevestigen", code=code).status_code == 303
    assert _identity(app).values(IdentifierKind.EMAIL) == sorted([EMAIL, "sanne@werk.example.nl"])


def test_the_code_that_confirms_an_address_is_no_sign_in_code(
    signed_in: FlaskClient, forms: Any, mailbox: Any
) -> None:
    """Confirming another address is not signing in: the field says which code it wants."""
    signed_in.set_cookie("portal_lang", "en")
    forms.post(signed_in, "/account/toevoegen", kind="email", value="sanne@werk.example.nl")
    mailbox.wait_for(2)
    page = signed_in.get("/account/adres-bevestigen").get_data(as_text=True)
    assert '<label for="code">Code from the e-mail</label>' in page
    assert "Sign-in code" not in page


def test_the_account_page_leads_back_to_the_code_of_a_pending_address(
    app: Flask, signed_in: FlaskClient, forms: Any, mailbox: Any
) -> None:
    """Who left the page to read their mail finds the way back to entering the code beside
    the pending address, until it is confirmed."""
    signed_in.set_cookie("portal_lang", "en")
    forms.post(signed_in, "/account/toevoegen", kind="email", value=" Sanne@Werk.Example.NL ")
    code = mailbox.code_in(mailbox.wait_for(2)[-1])
    account = signed_in.get("/account").get_data(as_text=True)
    assert '<a href="/account/adres-bevestigen">Enter the code</a>' in account
    assert forms.post(signed_in, "/account/adres-bevestigen", code=code).status_code == 303
    assert "Enter the code" not in signed_in.get("/account").get_data(as_text=True)


def test_a_code_that_no_longer_works_is_explained_once(
    signed_in: FlaskClient, forms: Any, mailbox: Any
) -> None:
    """When the code to confirm an address can no longer be used, the reason is in the error
    summary at the top (an alert), not said a second time in the text below it."""
    signed_in.set_cookie("portal_lang", "en")
    forms.post(signed_in, "/account/toevoegen", kind="email", value="sanne@werk.example.nl")
    right = mailbox.code_in(mailbox.wait_for(2)[-1])
    wrong = "111111" if right != "111111" else "222222"
    reason = "A wrong code was entered too often"
    for _ in range(8):
        page = forms.post(signed_in, "/account/adres-bevestigen", code=wrong)
        text = page.get_data(as_text=True)
        if reason in text:
            break
    assert page.status_code == 400
    assert text.count(reason) == 1
    assert reason in text.split('class="error-summary"', 1)[1].split("</div>", 1)[0]


@pytest.mark.parametrize(
    "value",
    [
        "=?utf-8?q?mallory=40evil.example?=,sanne.devries@example.nl",
        "a,sanne.devries@example.nl",
        "mallory@evil.example, sanne.devries@example.nl",
    ],
)
def test_an_address_that_names_more_than_one_mailbox_is_refused(
    app: Flask, signed_in: FlaskClient, forms: Any, mailbox: Any, value: str
) -> None:
    """A code must go to the one mailbox being added: a list or an encoded word in the "To"
    header would also send it to a mailbox of the attacker's choosing."""
    outbox = sa.select(sa.func.count()).select_from(OutboxMessage)
    with app.app_context():
        queued = db.session.scalar(outbox)
    response = forms.post(signed_in, "/account/toevoegen", kind="email", value=value)
    assert response.status_code == 400
    assert 'href="#value"' in response.get_data(as_text=True)
    with app.app_context():
        emails = db.session.scalars(
            select(CustomerIdentifier).where(CustomerIdentifier.kind == "email")
        ).all()
        assert len(emails) == 1  # only the address signed in with
        assert db.session.scalar(outbox) == queued  # no code sent anywhere
    assert all("evil" not in str(m["To"]) for m in mailbox.messages)


def test_phone_number_with_proof_stays_pending_for_staff(
    app: Flask, signed_in: FlaskClient, forms: Any
) -> None:
    response = forms.post(
        signed_in, "/account/toevoegen", kind="phone", value="06-12345678", proof="F2024-0042"
    )
    assert response.status_code == 303
    account = signed_in.get("/account").get_data(as_text=True)
    # shown as everywhere else: phonenumbers' international format, not the stored E.164
    assert "+31 6 12345678" in account and "+31612345678" not in account
    assert "In behandeling" in account
    assert _identity(app).values(IdentifierKind.PHONE) == []
    with app.app_context():
        ident = db.session.scalars(
            select(CustomerIdentifier).where(CustomerIdentifier.kind == "phone")
        ).one()
        assert ident.status == "pending" and ident.proof_kind == "invoice_number"
        assert b"F2024" not in (ident.proof_encrypted or b"")


def test_number_without_proof_or_invalid_is_refused(signed_in: FlaskClient, forms: Any) -> None:
    no_proof = forms.post(signed_in, "/account/toevoegen", kind="customer_number", value="K-1")
    assert no_proof.status_code == 400
    assert 'href="#proof"' in no_proof.get_data(as_text=True)
    invalid = forms.post(signed_in, "/account/toevoegen", kind="phone", value="12", proof="F1")
    assert invalid.status_code == 400
    assert 'href="#value"' in invalid.get_data(as_text=True)


def test_a_proof_checker_can_verify(app: Flask, signed_in: FlaskClient, forms: Any) -> None:
    class InvoiceChecker:
        def check(self, kind: str, value: str, proof: str, customer: Any) -> Any:
            return services.ProofStatus.VERIFIED if proof == "F2024-0042" else "no"

    app.extensions["portal.proof_checkers"] = {"invoice_number": InvoiceChecker()}
    forms.post(
        signed_in, "/account/toevoegen", kind="customer_number", value=" K-1001 ",
        proof="F2024-0042",
    )  # fmt: skip
    assert _identity(app).values(IdentifierKind.CUSTOMER_NUMBER) == ["K-1001"]


def _hold_a_gathering(app: Flask) -> None:
    """A gathering held for the customer, made before the new identifier counted."""
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        now = utcnow()
        db.session.add(
            GatheredSnapshot(
                customer_id=customer.id, created_at=now, expires_at=now + timedelta(minutes=10),
                summary=[], payload_encrypted=crypto.encrypt("{}"),
            )
        )  # fmt: skip
        db.session.commit()


def _held_gatherings(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(GatheredSnapshot.id))) or 0


def test_a_confirmed_address_drops_the_held_gathering(
    app: Flask, signed_in: FlaskClient, forms: Any, mailbox: Any
) -> None:
    """The overview and downloads were gathered without the new address: the next view
    searches by it too, and no export lists it among the identifiers of data that was not
    searched by it."""
    _hold_a_gathering(app)
    forms.post(signed_in, "/account/toevoegen", kind="email", value="sanne@werk.example.nl")
    code = mailbox.code_in(mailbox.wait_for(2)[-1])
    assert _held_gatherings(app) == 1  # a pending address changes nothing yet
    assert forms.post(signed_in, "/account/adres-bevestigen", code=code).status_code == 303
    assert _held_gatherings(app) == 0


def test_a_number_a_proof_checker_verifies_drops_the_held_gathering(
    app: Flask, signed_in: FlaskClient, forms: Any
) -> None:
    class InvoiceChecker:
        def check(self, kind: str, value: str, proof: str, customer: Any) -> Any:
            return services.ProofStatus.VERIFIED

    app.extensions["portal.proof_checkers"] = {"invoice_number": InvoiceChecker()}
    _hold_a_gathering(app)
    added = forms.post(
        signed_in, "/account/toevoegen", kind="phone", value="06-12345678", proof="F2024-0042"
    )
    assert added.status_code == 303
    assert _identity(app).values(IdentifierKind.PHONE) == ["+31612345678"]
    assert _held_gatherings(app) == 0


def test_account_needs_sign_in(browser_client: FlaskClient) -> None:
    response = browser_client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/inloggen")
