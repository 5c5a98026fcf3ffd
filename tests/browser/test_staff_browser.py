"""The staff journey in a real browser (Debian's chromium through Playwright): password,
enrolling an authenticator app, recovery codes, adding a colleague (refused without a fresh
code), signing out and in again with a code; and no accessibility violations found by
axe-core (WCAG 2.1 A and AA) on the staff pages."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from flask import Flask

from portal.extensions import db
from portal.staff import auth

from .harness import (
    BROWSER_AND_AXE,
    STAFF_EMAIL,
    STAFF_NAME,
    STAFF_PASSWORD,
    Axe,
    staff_code_step,
    staff_password_step,
    totp_code,
)

pytestmark = BROWSER_AND_AXE


def test_staff_journey_with_enrolment_and_accessibility(
    app: Flask, server: str, chromium: Any
) -> None:
    with app.app_context():
        auth.create_staff(STAFF_EMAIL, STAFF_NAME, "officer", STAFF_PASSWORD)
        auth.create_staff("collega@firm.example", "Cor Collega", "agent", STAFF_PASSWORD)
        db.session.commit()
    axe = Axe()
    context = chromium.new_context(bypass_csp=True)  # to inject axe-core; our CSP forbids it
    page = context.new_page()

    page.goto(server + "/beheer/inloggen")
    axe.check(page, "sign-in")
    # A wrong password: the error summary and the message at the field.
    page.get_by_label("E-mailadres").fill(STAFF_EMAIL)
    page.get_by_label("Wachtwoord").fill("niet het wachtwoord")
    page.get_by_role("button", name="Verder").click()
    page.locator(".error-summary").wait_for()
    axe.check(page, "sign-in with error")

    staff_password_step(page, server, then=r".*/beheer/tweestaps/instellen$")
    qr_name = "QR-code om te scannen met uw authenticator-app"
    assert page.get_by_role("img", name=qr_name).is_visible()
    axe.check(page, "enrolment")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    code_field = page.get_by_label("Code uit uw authenticator-app")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert code_field.get_attribute("inputmode") == "numeric"
    code_field.fill(totp.now())
    page.keyboard.press("Enter")  # keyboard only
    page.get_by_role("heading", name="Uw herstelcodes").wait_for()
    codes = page.locator("ol.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="Ik heb mijn herstelcodes bewaard").click()
    page.wait_for_url(re.compile(r".*/beheer/$"))
    assert page.get_by_role("heading", name="Overzicht").is_visible()
    axe.check(page, "dashboard")

    menu = page.get_by_role("navigation", name="Menu beheer")
    menu.get_by_role("link", name="Medewerkers").click()
    page.wait_for_url(re.compile(r".*/beheer/medewerkers$"))
    assert page.get_by_role("cell", name="collega@firm.example").is_visible()
    axe.check(page, "staff management")
    page.get_by_role("link", name="Medewerker toevoegen").click()
    page.wait_for_url(re.compile(r".*/beheer/medewerkers/nieuw$"))
    axe.check(page, "add staff")
    # A new colleague needs a fresh code from the officer's own app: without one nothing is
    # done, the error is at the field, and what was typed stays.
    code_field = page.get_by_label("Code uit uw authenticator-app")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert code_field.get_attribute("inputmode") == "numeric"
    page.get_by_label("Naam", exact=True).fill("Nina Nieuw")
    page.get_by_label("E-mailadres", exact=True).fill("nina@firm.example")
    page.get_by_label("Medewerker: behandelt verzoeken").check()
    page.get_by_role("button", name="Toevoegen", exact=True).click()
    page.locator(".error-summary").wait_for()
    assert page.locator("#code-error").is_visible()
    assert page.get_by_label("Naam", exact=True).input_value() == "Nina Nieuw"
    assert page.get_by_label("Medewerker: behandelt verzoeken").is_checked()
    axe.check(page, "add staff without a code")

    page.get_by_role("navigation", name="Menu beheer").get_by_role(
        "button", name="Uitloggen"
    ).click()
    page.wait_for_url(re.compile(r".*/beheer/inloggen$"))
    assert page.get_by_text("U bent uitgelogd.").is_visible()

    # Signing in again: the password, then a code (the next step's: the current one was used).
    staff_password_step(page, server)
    axe.check(page, "second factor")
    staff_code_step(page, totp_code(totp, 1))
    assert page.get_by_role("heading", name="Overzicht").is_visible()
    context.close()

    axe.assert_clean()
