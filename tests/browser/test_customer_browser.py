"""The customer's overview in a real browser: keyboard only, no JavaScript of ours, and no
accessibility violations found by axe-core (WCAG 2.1 A and AA) on the main pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from portal.policy import current_policy
from simulators import SimulatorGroup

from ..auth.conftest import Mailbox
from .conftest import chromium, server
from .harness import (
    AXE,
    BROWSER_AND_AXE,
    CHROMIUM,
    CUSTOMER_EMAIL,
    Axe,
    FileOutbox,
    sign_in_customer,
)
from .harness import axe_violations as _axe_violations

#: test_export_browser.py imports these from here.
__all__ = [
    "AXE",
    "CHROMIUM",
    "EMAIL",
    "_axe_violations",
    "_sign_in",
    "chromium",
    "server",
    "settings_overrides",
]

EMAIL = CUSTOMER_EMAIL
#: Opens every group and record of a page (axe-core checks only what is shown).
OPEN_ALL = "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"
OUTBOX = FileOutbox("outbox-customer")

pytestmark = BROWSER_AND_AXE


@pytest.fixture
def settings_overrides(simulated_settings: dict[str, object]) -> dict[str, object]:
    return {**simulated_settings, **OUTBOX.settings}


def _sign_in(app: Flask, page: Any, base: str) -> None:
    before = len(OUTBOX.files(app))
    sign_in_customer(page, base, lambda: Mailbox.code_in(OUTBOX.wait_for(app, before + 1)))


def _focused(page: Any) -> str:
    text: str = page.evaluate(
        "() => document.activeElement.tagName + ' ' + document.activeElement.textContent.trim()"
    )
    return text


def test_overview_by_keyboard_with_a_source_down(
    app: Flask, server: str, chromium: Any, simulators: SimulatorGroup
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    _sign_in(app, page, server)
    simulators["zammad"].set_fault("down")
    page.get_by_role("link", name="Bekijk wat wij over u bewaren").click()
    page.wait_for_url(re.compile(r".*/mijn-gegevens/$"))
    assert page.get_by_role("heading", name="Mijn gegevens", level=1).is_visible()
    problems = page.locator(".problems")
    assert "Storingsmeldingen (Zammad)" in problems.inner_text()
    assert "Het systeem was niet bereikbaar." in problems.inner_text()

    seen = []
    for _ in range(60):
        page.keyboard.press("Tab")
        seen.append(_focused(page))
        if seen[-1].startswith("SUMMARY"):
            break
    assert any(s == "BUTTON Opnieuw proberen" for s in seen), seen
    assert seen[-1].startswith("SUMMARY Toon de gegevens: Naam"), seen
    record = page.locator("#cat-identity details.record > summary").first
    assert not record.is_visible()
    page.keyboard.press("Enter")  # opens the category
    assert record.is_visible()
    field = page.locator("#cat-identity details.record dl.fields").first
    assert not field.is_visible()
    page.keyboard.press("Tab")
    assert _focused(page).startswith("SUMMARY Klantgegevens 101")
    page.keyboard.press("Enter")  # opens the record
    assert field.is_visible()
    assert "Sanne" in field.inner_text()

    simulators["zammad"].clear_fault()
    page.get_by_role("button", name="Opnieuw proberen").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_text("Alle systemen hebben geantwoord").is_visible()
    assert page.locator(".problems").count() == 0
    context.close()


def test_no_accessibility_violations(app: Flask, server: str, chromium: Any) -> None:
    context = chromium.new_context(bypass_csp=True)  # to inject axe-core; our CSP forbids it
    page = context.new_page()
    axe = Axe()
    for path in ("/", "/privacy", "/inloggen"):
        page.goto(server + path)
        axe.check(page, path)
    _sign_in(app, page, server)
    page.goto(server + "/mijn-gegevens/")
    for summary in page.locator("#cat-orders details.records > summary, #cat-orders summary").all():
        summary.click()
    axe.check(page, "/mijn-gegevens/")
    page.goto(server + "/mijn-gegevens/orders")
    page.locator("details.record > summary").first.click()
    axe.check(page, "/mijn-gegevens/orders")
    page.goto(server + "/account")
    axe.check(page, "/account")
    axe.assert_clean()
    context.close()


def test_every_customer_page_in_both_languages_with_a_source_down_and_no_javascript(
    app: Flask, server: str, chromium: Any, simulators: SimulatorGroup
) -> None:
    """axe-core on each page a customer reaches, in Dutch and in English, with the "not
    everything could be gathered" notice at the top and on later pages of a long category; and
    without JavaScript the categories and records still open (``<details>``)."""
    context = chromium.new_context(bypass_csp=True, java_script_enabled=False)
    page = context.new_page()
    axe = Axe()
    axe_context = chromium.new_context(bypass_csp=True)  # axe itself needs JavaScript
    checker = axe_context.new_page()
    _sign_in(app, page, server)
    cookies = context.cookies()
    axe_context.add_cookies(cookies)
    simulators["zammad"].set_fault("down")
    try:
        page.goto(server + "/mijn-gegevens/")
        assert "Storingsmeldingen (Zammad)" in page.locator(".problems").inner_text()
        record = page.locator("#cat-identity details.record dl.fields").first
        page.locator("#cat-identity > details > summary, #cat-identity summary").first.click()
        page.locator("#cat-identity details.record > summary").first.click()
        assert record.is_visible() and "Sanne" in record.inner_text()  # no JavaScript needed
        with app.app_context():
            categories = [f"/mijn-gegevens/{c.key}" for c in current_policy().categories]
        pages = [
            "/mijn-gegevens/", *categories, "/mijn-gegevens/orders?pagina=2",
            "/mijn-gegevens/orders/gegeven?bron=webshop&soort=order&id=2098",
            "/export/", "/verzoeken/", "/account",
        ]  # fmt: skip
        for language in ("nl", "en"):
            checker.goto(f"{server}/taal/{language}?next=/mijn-gegevens/")
            for path in pages:
                checker.goto(server + path)
                checker.evaluate(OPEN_ALL)
                assert checker.locator("html").get_attribute("lang") == language
                if path == "/mijn-gegevens/":  # the notice, in the page's language
                    name = {"nl": "Storingsmeldingen", "en": "Incident desk"}[language]
                    assert f"{name} (Zammad)" in checker.locator(".problems").inner_text()
                axe.check(checker, f"{language} {path}")
    finally:
        simulators["zammad"].clear_fault()
    axe.assert_clean()
    axe_context.close()
    context.close()


def test_records_with_nothing_filled_in_pass_axe_in_both_languages(
    app: Flask, server: str, chromium: Any
) -> None:
    """A record whose every value the system left empty has its own group on the overview and
    its own page: both open by keyboard and pass axe-core, in Dutch and in English."""
    import orjson
    import sqlalchemy as sa

    from portal import crypto
    from portal.export.prepare import Preparer
    from portal.extensions import db
    from portal.models import GatheredSnapshot
    from portal.policy import current_policy
    from portal.settings import firm_zone

    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    axe = Axe()
    _sign_in(app, page, server)
    page.goto(server + "/mijn-gegevens/")  # gathers: her snapshot now exists
    with app.app_context():
        row = db.session.scalars(sa.select(GatheredSnapshot)).one()
        stored = orjson.loads(crypto.decrypt(row.payload_encrypted))
        empty = {
            "source": "webshop",
            "system": "woocommerce",
            "record_type": "order",
            "record_id": "7777",
            "link": None,
            "fields": {},
            "categories": {},
            "dates": {"created": "2024-05-01T10:00:00+00:00"},
            "matched": {"kind": "email", "value": EMAIL},
            "parent": None,
        }
        stored["records"].append(Preparer(current_policy(), firm_zone())(empty))
        row.payload_encrypted = crypto.encrypt(orjson.dumps(stored))
        db.session.commit()
    for language, heading in (
        ("nl", "Gegevens waarin niets is ingevuld"),
        ("en", "Records with nothing filled in"),
    ):
        page.goto(f"{server}/taal/{language}?next=/mijn-gegevens/")
        group = page.locator("#cat-_empty")
        assert heading in group.inner_text()
        summary = group.locator("summary").first
        summary.focus()
        page.keyboard.press("Enter")
        assert "7777" in group.inner_text()
        axe.check(page, f"{language} /mijn-gegevens/")
        page.goto(server + "/mijn-gegevens/_empty")
        assert "7777" in page.locator("main").inner_text()
        assert page.locator("main a.correct").count() == 0  # nothing there to correct
        axe.check(page, f"{language} /mijn-gegevens/_empty")
        page.goto(server + "/mijn-gegevens/identity")
        assert page.locator("main a.correct").count() > 0  # as a category with values has
    axe.assert_clean()
    context.close()


def test_account_page_at_320_pixels_needs_no_scrolling_and_passes_axe(
    app: Flask, server: str, chromium: Any
) -> None:
    """On a phone (320 CSS pixels, WCAG 1.4.10) the table of the customer's addresses and
    numbers shows each whole, without a region that scrolls sideways (which a keyboard could
    not reach), in both languages."""
    import sqlalchemy as sa

    from portal.auth.services import add_identifier
    from portal.extensions import db
    from portal.models import Customer

    context = chromium.new_context(bypass_csp=True, viewport={"width": 320, "height": 800})
    page = context.new_page()
    axe = Axe()
    _sign_in(app, page, server)
    with app.app_context():
        sanne = db.session.scalars(sa.select(Customer)).one()
        add_identifier(sanne, "phone", "06 12345678", "invoice_number", "2024-0042", "nl")
        db.session.commit()
    for language in ("nl", "en"):
        page.goto(f"{server}/taal/{language}?next=/account")
        table = page.locator("main table")
        assert EMAIL in table.inner_text() and "+31 6 12345678" in table.inner_text()
        widths = page.evaluate(
            "() => [...document.querySelectorAll('main table, main .table-scroll')]"
            ".map(e => e.scrollWidth - e.clientWidth)"
        )
        assert widths and all(w <= 0 for w in widths), widths
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
        axe.check(page, f"{language} /account")
    axe.assert_clean()
    context.close()


def test_my_requests_at_320_pixels_stack_with_labels_and_stay_a_table(
    app: Flask, server: str, chromium: Any
) -> None:
    """On a phone (320 CSS pixels, WCAG 1.4.10) the list of requests needs no sideways
    scrolling: each request is a block, every value under its column's label, a reference
    never broken at its hyphen ("AVG-" / "G4QV…"), the caption in view. For a screen reader
    it stays a table with its column headers (and the visible labels are not read again);
    on a wide screen it is an ordinary table with a header row. Both languages pass axe."""
    context = chromium.new_context(bypass_csp=True, viewport={"width": 320, "height": 800})
    page = context.new_page()
    axe = Axe()
    _sign_in(app, page, server)
    page.goto(server + "/verzoeken/nieuw/vraag")
    page.get_by_label("Onderwerp").fill("Adres")
    page.get_by_label("Uw vraag").fill("Wie krijgt mijn adres?")
    page.get_by_role("button", name="Verder").click()
    page.get_by_role("button", name="Verzoek versturen").click()
    page.wait_for_url(re.compile(r".*/ontvangen$"))
    for language, labels in (
        ("nl", ["Kenmerk: ", "Status: ", "Ontvangen op: ", "Antwoord uiterlijk op: "]),
        ("en", ["Reference: ", "Status: ", "Received on: ", "Answer due by: "]),
    ):
        page.goto(f"{server}/taal/{language}?next=/verzoeken/")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
        widths = page.evaluate(
            "() => [...document.querySelectorAll('main table, main .table-scroll')]"
            ".map(e => e.scrollWidth - e.clientWidth)"
        )
        assert widths and all(w <= 0 for w in widths), widths
        shown = page.evaluate(
            "() => [...document.querySelectorAll('main tbody td')]"
            ".map(td => getComputedStyle(td, '::before').content)"
        )
        assert [re.sub(r'^"([^"]*)".*$', r"\1", label) for label in shown] == labels, shown
        lines = page.evaluate(
            """() => [...document.querySelectorAll('main caption, main td')]
                .filter(e => e.tagName === 'CAPTION' || /AVG-/.test(e.textContent))
                .map(e => { const r = document.createRange(); r.selectNodeContents(e);
                            const rects = [...r.getClientRects()];
                            return [e.tagName, Math.round(Math.max(...rects.map(x => x.right))),
                                    new Set(rects.map(x => Math.round(x.top))).size]; })"""
        )
        caption = [line for line in lines if line[0] == "CAPTION"]
        references = [line for line in lines if line[0] == "TD"]
        assert caption and references, lines
        assert caption[0][1] <= 320, lines  # the caption's text ends inside the screen
        assert all(right <= 320 and rows == 1 for _, right, rows in references), lines
        axe.check(page, f"{language} /verzoeken/ at 320 px")
    # What a screen reader gets from chromium: a table, its column headers, and cells whose
    # names are their values, not the visible labels again.
    tree = context.new_cdp_session(page).send("Accessibility.getFullAXTree")["nodes"]
    roles = [node.get("role", {}).get("value") for node in tree]
    assert "table" in roles and roles.count("columnheader") == 5, roles
    assert "rowheader" in roles and roles.count("cell") >= 4, roles
    names = [
        str(node.get("name", {}).get("value", ""))
        for node in tree
        if node.get("role", {}).get("value") == "cell"
    ]
    assert any(name.startswith("AVG-") for name in names), names
    assert not any(name.startswith("Reference") for name in names), names
    # On a wide screen: the header row shows, and no label is repeated in the cells.
    page.set_viewport_size({"width": 1024, "height": 800})
    assert page.locator("main thead th").first.is_visible()
    assert page.evaluate(
        "() => [...document.querySelectorAll('main tbody td')]"
        ".every(td => getComputedStyle(td, '::before').content === 'none')"
    )
    axe.assert_clean()
    context.close()
