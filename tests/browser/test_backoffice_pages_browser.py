"""The sources' health page and the audit log in a real browser (Debian's chromium through
Playwright), used with the keyboard, with no accessibility violations found by axe-core
(WCAG 2.1 A and AA): with a flagged source, filter errors and a chain check result."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from flask import Flask

from portal import audit
from portal.backoffice import health
from portal.extensions import db

from .harness import BROWSER_AND_AXE, Axe, add_officer, staff_password_step

pytestmark = BROWSER_AND_AXE


def test_health_and_audit_pages_are_accessible(app: Flask, server: str, chromium: Any) -> None:
    with app.app_context():
        _member, secret = add_officer()
        health.record("webshop", "gather", ok=True, outcome="ok", elapsed=0.2)
        health.record("invoicing", "check", ok=False, outcome="failed", error_kind="down")
        for _ in range(health.FLAG_AFTER):
            health.record("payments", "check", ok=False, outcome="failed", error_kind="auth")
        for n in range(60):
            audit.record("data.gathered", actor_type="customer", actor_id=n, details={"n": n})
        db.session.commit()
    axe = Axe()
    context = chromium.new_context(bypass_csp=True)  # to inject axe-core; our CSP forbids it
    page = context.new_page()

    staff_password_step(page, server)
    page.get_by_label("Code uit uw authenticator-app").fill(pyotp.TOTP(secret).now())
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/beheer/$"))

    menu = page.get_by_role("navigation", name="Menu beheer")
    menu.get_by_role("link", name="Bronnen").click()
    page.wait_for_url(re.compile(r".*/beheer/bronnen$"))
    assert page.get_by_role("heading", name="1 bron blijft fouten geven").is_visible()
    assert page.get_by_role("heading", name="Betalingen (Mollie)").is_visible()
    axe.check(page, "sources")

    menu = page.get_by_role("navigation", name="Menu beheer")
    menu.get_by_role("link", name="Auditlog").click()
    page.wait_for_url(re.compile(r".*/beheer/audit$"))
    assert page.get_by_role("link", name="Oudere regels").is_visible()
    axe.check(page, "audit log")

    # Filter with the keyboard only; a wrong date range shows the error pattern.
    page.get_by_label("Vanaf (datum)").fill("2026-03-01")
    page.get_by_label("Tot en met (datum)").fill("2026-02-01")
    page.get_by_label("Tot en met (datum)").press("Enter")
    page.locator(".error-summary").wait_for()
    axe.check(page, "audit log with error")

    page.goto(server + "/beheer/audit?action=data.&page=2")
    axe.check(page, "audit log page 2")
    page.get_by_role("button", name="Auditlog controleren").focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="De auditlog is intact").wait_for()
    axe.check(page, "chain check")
    newest = page.locator("code.anchor").inner_text()

    # Against an anchor: a typing error first (the form again, with the error and the text).
    page.goto(server + "/beheer/audit")
    page.get_by_label("Anker (niet verplicht)").fill("12:abc")
    page.get_by_role("button", name="Auditlog controleren").click()
    page.get_by_role("heading", name="Controleer de keten").wait_for()
    axe.check(page, "chain check with an anchor error")
    field = page.get_by_label("Anker (niet verplicht)")
    assert field.input_value() == "12:abc"
    field.fill(newest)
    field.press("Enter")
    page.get_by_text("Het anker klopt").wait_for()
    axe.check(page, "chain check against an anchor")

    context.close()
    axe.assert_clean()


def test_numbers_to_check_are_accessible(app: Flask, server: str, chromium: Any) -> None:
    """The list of numbers to check, and a rejection whose reason is too long (the error
    pattern), used with the keyboard."""
    from portal.auth import services

    with app.test_request_context():
        _member, secret = add_officer()
        customer = services.sign_in_with_verified_email("sanne.devries@example.nl", "test")
        ident = services.add_identifier(customer, "phone", "06-12345678", "invoice_number", "F-1")
        db.session.commit()
        ident_id = ident.id
    axe = Axe()
    context = chromium.new_context(bypass_csp=True)  # to inject axe-core; our CSP forbids it
    page = context.new_page()
    staff_password_step(page, server)
    page.get_by_label("Code uit uw authenticator-app").fill(pyotp.TOTP(secret).now())
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/beheer/$"))
    axe.check(page, "dashboard with numbers to check")

    page.locator("#dash-identifiers a").click()
    page.wait_for_url(re.compile(r".*/beheer/nummers$"))
    page.locator(f"#identifier-{ident_id}").wait_for()
    axe.check(page, "numbers to check")

    reason = page.locator(f"#reject-reason-{ident_id}")
    reason.fill("x" * 4001)
    reason.press("Tab")
    page.keyboard.press("Enter")  # the reject button, reached with the keyboard
    page.locator(".error-summary").wait_for()
    axe.check(page, "numbers to check with an error")
    context.close()
    axe.assert_clean()
