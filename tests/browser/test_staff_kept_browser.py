"""A staff note typed while signed out in another tab is not lost, in a real browser (Debian's
chromium through Playwright): the signed-out page shows what was typed, "Back to my form"
brings the request page back with the note filled in once signed in again with both steps, and
it is added. axe-core (WCAG 2.1 A and AA) finds no violations on either page. In English: the
new words' Dutch comes with the catalogue."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
from flask import Flask
from playwright.sync_api import Page, expect

from portal.backoffice import queue
from portal.extensions import db
from portal.models import DataRequest, RequestChannel, RequestKind
from portal.settings import firm_today

from .harness import (
    BROWSER_AND_AXE,
    Axe,
    add_officer,
    staff_code_step,
    staff_password_step,
    totp_code,
)

pytestmark = BROWSER_AND_AXE

NOTE = "Mevrouw belde terug: zij bedoelt haar oude adres.\nZij stuurt een kopie van de brief."


def _letter(app: Flask) -> tuple[str, str]:
    """An officer, and a request they entered for someone who wrote a letter."""
    with app.test_request_context():
        member, secret = add_officer()
        db.session.flush()
        result = queue.enter_request(
            kind=RequestKind.ACCESS, channel=RequestChannel.POST,
            received_on=firm_today() - timedelta(days=2), name="Jan Brief", email=None,
            address="Dorpsstraat 1", phone=None,
            identity_verification="customer_and_invoice_number", identity_note=None,
            text="Welke gegevens heeft u van mij?", subject=None, sources=[], locale="nl",
            staff_id=member.id,
        )  # fmt: skip
        db.session.commit()
        return secret, result.request.reference


def _notes(app: Flask, reference: str) -> int:
    with app.app_context():
        found = db.session.query(DataRequest).filter_by(reference=reference).one()
        return sum(1 for e in found.events if e.action == "note")


def _sign_in(page: Page, server: str, code: str) -> None:
    """Both steps (their labels in Dutch), then the back office in English."""
    page.goto(server + "/taal/nl?next=/beheer/inloggen")
    staff_password_step(page, server)
    staff_code_step(page, code)
    page.goto(server + "/taal/en?next=/beheer/")


def test_a_note_typed_while_signed_out_in_another_tab_is_not_lost(
    app: Flask, server: str, chromium: Any
) -> None:
    secret, reference = _letter(app)
    totp = pyotp.TOTP(secret)
    axe = Axe()
    context = chromium.new_context(bypass_csp=True)  # to inject axe-core; our CSP forbids it
    form_tab, other_tab = context.new_page(), context.new_page()

    _sign_in(form_tab, server, totp_code(totp))
    form_tab.goto(f"{server}/beheer/verzoeken/{reference}")
    form_tab.get_by_role("textbox", name="Internal note").fill(NOTE)
    notes = _notes(app, reference)

    other_tab.goto(server + "/beheer/")
    other_tab.get_by_role("navigation", name="Back office menu").get_by_role(
        "button", name="Sign out"
    ).click()
    other_tab.wait_for_url(re.compile(r".*/beheer/inloggen$"))

    form_tab.get_by_role("button", name="Add note").click()
    expect(form_tab.get_by_role("heading", level=1)).to_have_text(
        "Sign in again to submit your form"
    )
    typed = form_tab.get_by_role("main").locator("dl").inner_text()
    assert "Internal note" in typed and "Zij stuurt een kopie van de brief." in typed
    axe.check(form_tab, "staff signed out while typing")
    assert _notes(app, reference) == notes

    _sign_in(other_tab, server, totp_code(totp, steps=1))  # a code works once
    form_tab.get_by_role("button", name="Back to my form").click()
    expect(form_tab.get_by_role("heading", level=1)).to_have_text(f"Request {reference}: Access")
    expect(form_tab.locator(".notice-warning")).to_contain_text(
        "Nothing was done, because the page had expired"
    )
    note = form_tab.get_by_role("textbox", name="Internal note")
    assert note.input_value().replace("\r\n", "\n") == NOTE
    axe.check(form_tab, "the request page back, its note filled in")
    assert _notes(app, reference) == notes  # nothing was added on the way

    form_tab.get_by_role("button", name="Add note").click()
    form_tab.wait_for_url(re.compile(r".*#history$"))
    assert "Zij stuurt een kopie van de brief." in form_tab.locator("#history").inner_text()
    assert _notes(app, reference) == notes + 1

    context.close()
    axe.assert_clean()
