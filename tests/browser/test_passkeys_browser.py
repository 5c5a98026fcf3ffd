"""Passkeys in a real browser (Debian's chromium through Playwright) with the Chrome DevTools
Protocol's virtual authenticator: a signed-in staff member adds a passkey on the account page,
signs out, and signs in again with the passkey instead of a code. The pages keep the
Content-Security-Policy (the script is first-party, no inline script), and axe-core (WCAG 2.1 A
and AA) finds no violations on them.

WebAuthn needs a secure context and a domain name as RP ID, so the browser opens the live
server as ``http://localhost:<port>`` (``base_url`` says the same), not as 127.0.0.1.
"""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent
from portal.models.staff import StaffPasskey

from .harness import (
    BROWSER_AND_AXE,
    Axe,
    add_officer,
    staff_code_step,
    staff_password_step,
    totp_code,
)

pytestmark = BROWSER_AND_AXE


@pytest.fixture
def base_url(port: int) -> str:
    return f"http://localhost:{port}"


def test_add_a_passkey_and_sign_in_with_it(app: Flask, server: str, chromium: Any) -> None:
    with app.app_context():
        member, secret = add_officer()
        db.session.commit()
        staff_id = member.id
    totp = pyotp.TOTP(secret)
    # axe-core through the DevTools protocol: the pages are checked with their real CSP in force
    # (no bypass_csp), as the passkey script runs.
    axe = Axe(keep_csp=True)
    problems: list[str] = []

    context = chromium.new_context()  # the server's CSP is in force
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )["authenticatorId"]

    # Signing in with a code; no passkey yet, so none is offered.
    staff_password_step(page, server)
    assert page.get_by_role("button", name="Toegangssleutel gebruiken").count() == 0
    staff_code_step(page, totp_code(totp, 0))

    # The account page: the script shows the passkey form (hidden without JavaScript).
    page.get_by_role("navigation", name="Menu beheer").get_by_role(
        "link", name="Mijn account"
    ).click()
    page.wait_for_url(re.compile(r".*/beheer/account$"))
    heading = page.get_by_role("heading", name="Toegangssleutel toevoegen")
    heading.wait_for()
    assert "U heeft geen toegangssleutel toegevoegd." in page.content()
    axe.check(page, "account without passkeys")

    # A wrong code: the message is shown and the field marked, no passkey is made.
    page.get_by_label("Naam van de toegangssleutel").fill("Werklaptop")
    page.get_by_label("Code uit uw authenticator-app").fill("000000")
    page.get_by_role("button", name="Toegangssleutel toevoegen").click()
    alert = page.locator("[data-passkey-error]")
    alert.wait_for()
    assert "Deze code werkt niet" in alert.inner_text()
    assert (
        page.get_by_label("Code uit uw authenticator-app").get_attribute("aria-invalid") == "true"
    )
    axe.check(page, "account with passkey error")

    # The right (next) code: the virtual authenticator makes the passkey.
    page.get_by_label("Code uit uw authenticator-app").fill(totp_code(totp, 1))
    page.get_by_role("button", name="Toegangssleutel toevoegen").click()
    page.wait_for_url(re.compile(r".*/beheer/account#passkeys$"))
    page.get_by_text("Toegangssleutel ‘Werklaptop’ is toegevoegd.").wait_for()
    assert page.get_by_role("rowheader", name="Werklaptop").is_visible()
    assert page.get_by_role("button", name="Verwijderen Werklaptop").is_visible()
    axe.check(page, "account with a passkey")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(stored["credentials"]) == 1

    page.get_by_role("navigation", name="Menu beheer").get_by_role(
        "button", name="Uitloggen"
    ).click()
    page.wait_for_url(re.compile(r".*/beheer/inloggen$"))

    # Signing in again: the password, then the passkey instead of a code.
    staff_password_step(page, server)
    button = page.get_by_role("button", name="Toegangssleutel gebruiken")
    button.wait_for()
    assert page.get_by_label("Code uit uw authenticator-app").is_visible()  # still there
    axe.check(page, "second factor with passkey")
    button.click()
    page.wait_for_url(re.compile(r".*/beheer/$"))
    assert page.get_by_role("heading", name="Overzicht").is_visible()

    with app.app_context():
        passkey = db.session.scalars(select(StaffPasskey)).one()
        assert passkey.staff_id == staff_id
        assert passkey.name == "Werklaptop"
        assert passkey.last_used_at is not None
        assert passkey.sign_count >= 1  # the virtual authenticator counts
        assert passkey.transports == ["internal"]
        login = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "staff.login")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert login is not None and login.details["method"] == "passkey"

    # The account page lists when it was last used; removing it is a plain form.
    page.goto(server + "/beheer/account")
    page.get_by_role("button", name="Verwijderen Werklaptop").click()
    page.wait_for_url(re.compile(r".*/beheer/account#passkeys$"))
    page.get_by_text("Toegangssleutel ‘Werklaptop’ is verwijderd.").wait_for()
    with app.app_context():
        assert db.session.scalars(select(StaffPasskey)).all() == []
    context.close()

    assert not [p for p in problems if "Content Security Policy" in p], problems
    axe.assert_clean()


def test_without_javascript_the_passkey_parts_stay_hidden(
    app: Flask, server: str, chromium: Any
) -> None:
    with app.app_context():
        _member, secret = add_officer()
        db.session.commit()
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    staff_password_step(page, server)
    staff_code_step(page, totp_code(pyotp.TOTP(secret), 0))
    page.goto(server + "/beheer/account")
    assert page.get_by_role("heading", name="Toegangssleutels (passkeys)").is_visible()
    assert page.get_by_role("button", name="Toegangssleutel toevoegen").count() == 0
    assert page.locator('[data-passkey="register"]').get_attribute("hidden") == ""
    # (Chromium with scripts switched off by DevTools still parses <noscript> as if they ran,
    # so its text is checked in tests/staff/test_passkeys.py rather than seen here.)
    assert page.locator("noscript").count() == 1
    context.close()
