"""The request queue in a real browser (Debian's chromium through Playwright): an officer signs
in with password and TOTP, opens the queue and a customer's correction request, approves it,
sees the change confirmed and closes the request; axe-core (WCAG 2.1 A and AA) finds no
violations on the queue, the request page and the new-request form."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from flask import Flask

from portal.auth.services import sign_in_with_verified_email
from portal.dsr import services as dsr
from portal.extensions import db
from portal.gathering import gather_for
from portal.models import RequestChannel, RequestKind

from .harness import (
    BROWSER_AND_AXE,
    CUSTOMER_EMAIL,
    Axe,
    add_officer,
    staff_code_step,
    staff_password_step,
)

pytestmark = BROWSER_AND_AXE


@pytest.fixture
def settings_overrides(simulated_settings: dict[str, object]) -> dict[str, object]:
    return simulated_settings


@pytest.fixture(autouse=True)
def _fresh_simulators(simulators: Any) -> Any:
    yield
    for vendor in ("woocommerce", "moneybird", "zammad", "freshdesk", "mollie"):
        simulators[vendor].reset()


def _setup(app: Flask) -> tuple[str, str]:
    with app.test_request_context():
        _member, secret = add_officer()
        customer = sign_in_with_verified_email(CUSTOMER_EMAIL, "test")
        snapshot = gather_for(customer)
        record = next(r for r in snapshot.records
                      if r["source"] == "webshop" and r["record_type"] == "customer")  # fmt: skip
        item = {"source": "webshop", "record_type": "customer", "record_id": record["record_id"],
                "record": "Klant", "field": "last_name", "label": "Achternaam", "kind": "text",
                "current": record["fields"].get("last_name"), "new": "Bakker"}  # fmt: skip
        submitted = dsr.submit(
            customer, RequestKind.CORRECTION, details={"items": [item]},
            scope={"sources": ["webshop"], "categories": ["identity"]},  # as the portal sends it
        )  # fmt: skip
        reference = submitted.request.reference
        db.session.commit()
        return secret, reference


def test_an_officer_approves_a_correction_and_closes_it(
    app: Flask, server: str, chromium: Any
) -> None:
    secret, reference = _setup(app)
    axe = Axe()
    context = chromium.new_context(bypass_csp=True)  # to inject axe-core; our CSP forbids it
    page = context.new_page()

    staff_password_step(page, server)
    staff_code_step(page, pyotp.TOTP(secret).now())

    page.get_by_role("link", name="Verzoeken").first.click()
    page.wait_for_url(re.compile(r".*/beheer/verzoeken$"))
    axe.check(page, "queue")

    page.get_by_role("link", name=reference).click()
    page.wait_for_url(re.compile(rf".*/beheer/verzoeken/{reference}$"))
    axe.check(page, "request")

    page.get_by_role("button", name="Goedkeuren en terugschrijven").click()
    page.wait_for_url(re.compile(r".*#actions$"))
    assert page.locator("#actions .action-state").first.inner_text().startswith("Bevestigd")
    axe.check(page, "request with actions")

    page.get_by_label("Bericht aan de klant (niet verplicht)").fill("Uw achternaam is aangepast.")
    page.get_by_role("button", name="Verzoek afsluiten").click()
    page.wait_for_load_state()
    assert page.locator("#status").inner_text().startswith("Afgehandeld")

    page.goto(server + "/beheer/verzoeken/nieuw")
    axe.check(page, "new request")
    page.get_by_role("button", name="Verzoek invoeren").click()
    page.locator(".error-summary").wait_for()
    axe.check(page, "new request with errors")

    context.close()
    axe.assert_clean()


def test_an_answer_that_came_by_post_is_recorded_on_the_waiting_request(
    app: Flask, server: str, chromium: Any
) -> None:
    """A letter writer without e-mail answered staff's question by post: the waiting block
    offers to record it (accessible), and recording it moves the request on."""
    with app.test_request_context():
        member, secret = add_officer()
        entered = dsr.submit(
            None, RequestKind.ACCESS, locale="en", details={"explanation": "Letter"},
            channel=RequestChannel.POST, requester={"name": "Jan Brief", "address": "Street 1"},
            actor_type="staff", actor_id=member.id,
        )  # fmt: skip
        dsr.ask_information(entered.request, "Your customer number?", staff_id=member.id)
        reference = entered.request.reference
        db.session.commit()
    axe = Axe()
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    staff_password_step(page, server)
    staff_code_step(page, pyotp.TOTP(secret).now())
    context.add_cookies([{"name": "portal_lang", "value": "en", "url": server}])

    page.goto(f"{server}/beheer/verzoeken/{reference}")
    waiting = page.locator("#waiting-deadline")
    assert "does not stop while you wait" in waiting.inner_text()
    axe.check(page, "waiting request")
    page.get_by_role("button", name="Record their answer").click()
    page.locator(".error-summary").wait_for()
    axe.check(page, "waiting request, empty answer")
    page.get_by_label("Their answer, as it reached us").fill("Letter: customer number 4711")
    page.get_by_role("button", name="Record their answer").click()
    page.wait_for_url(re.compile(r".*#history$"))
    assert page.locator("#status").inner_text().startswith("In progress")
    assert "customer number 4711" in page.locator("#history").inner_text()
    assert page.get_by_role("button", name="Record their answer").count() == 0

    context.close()
    axe.assert_clean()


def test_an_officer_finds_a_letter_by_reference_and_corrects_its_date_received(
    app: Flask, server: str, chromium: Any
) -> None:
    """The queue's search field (a labelled GET form) finds a request by its reference typed in
    lower case with a space, or says none has it; on the request, the officer corrects the date
    received with a reason (an error first: the date stays typed) and the history shows it.
    Accessible in every state."""
    from datetime import timedelta

    from portal.settings import firm_today

    with app.test_request_context():
        member, secret = add_officer()
        entered = dsr.submit(
            None, RequestKind.ACCESS, locale="en", details={"explanation": "Letter"},
            channel=RequestChannel.POST, requester={"name": "Jan Brief", "address": "Street 1"},
            actor_type="staff", actor_id=member.id,
        )  # fmt: skip
        reference = entered.request.reference
        right = firm_today() - timedelta(days=20)
        db.session.commit()
    axe = Axe()
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    staff_password_step(page, server)
    staff_code_step(page, pyotp.TOTP(secret).now())
    context.add_cookies([{"name": "portal_lang", "value": "en", "url": server}])

    page.goto(f"{server}/beheer/verzoeken")
    search = page.get_by_role("search").get_by_label("Reference")
    search.fill("avg-zzzz zzzz")
    search.press("Enter")
    page.locator(".error-summary").wait_for()
    assert (
        "No request has the reference avg-zzzz zzzz"
        in page.locator("#reference-error").inner_text()
    )
    assert page.get_by_role("search").get_by_label("Reference").input_value() == "avg-zzzz zzzz"
    axe.check(page, "queue, no request found")

    body = reference.removeprefix("AVG-")
    search = page.get_by_role("search").get_by_label("Reference")
    search.fill(f"avg-{body[:4]} {body[4:]}".lower())
    page.get_by_role("button", name="Find").click()
    page.wait_for_url(re.compile(rf".*/beheer/verzoeken/{reference}$"))
    axe.check(page, "letter, found by reference")

    date_field = page.get_by_label("Date it was really received")
    date_field.fill(right.isoformat())
    page.get_by_role("button", name="Correct the date received").click()
    page.locator(".error-summary").wait_for()  # no reason given
    assert page.get_by_label("Date it was really received").input_value() == right.isoformat()
    axe.check(page, "letter, correction without a reason")
    page.get_by_label("Why was the date wrong?").fill("The postmark shows an earlier day")
    page.get_by_role("button", name="Correct the date received").click()
    page.wait_for_url(re.compile(rf".*/beheer/verzoeken/{reference}$"))
    assert "The date received is now" in page.locator(".flashes").inner_text()
    history = page.locator("#history").inner_text()
    assert "Date received corrected" in history and "postmark shows an earlier day" in history
    axe.check(page, "letter, date received corrected")

    context.close()
    axe.assert_clean()
