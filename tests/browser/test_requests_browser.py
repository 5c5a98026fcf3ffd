"""Every kind of request end to end in a real browser, as a customer makes it (issue #7).

One app on a real HTTP server, the vendor simulators, a real SMTP server and one headless
chromium serve the whole module; the customer signs in once with an e-mailed code and every
test opens a fresh browser context with that session. Each walk checks what the customer sees
(errors, the check page, the confirmation with its reference, the list with the deadline), what
was stored, and the receipt e-mail; axe-core (WCAG 2.1 A and AA) checks every page on the way,
in Dutch and once in English. Also: withdrawing, answering a question of ours, keyboard only,
JavaScript off, and the same form sent more than once (new window, double click, at once).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from babel.dates import format_date
from flask import Flask
from playwright.sync_api import Page, expect

from portal import create_app
from portal.dsr import services
from portal.extensions import db
from portal.models import DataRequest
from portal.tasks import enqueue_mail
from simulators import SimulatorGroup

from ..auth.conftest import Mailbox, free_port
from ..clock import firm_today
from ..conftest import SIMULATED_SOURCES, _empty_tables
from .harness import (
    BROWSER_AND_AXE,
    CUSTOMER_EMAIL,
    Axe,
    launch_chromium,
    serving,
    sign_in_customer,
)

EMAIL = CUSTOMER_EMAIL

pytestmark = BROWSER_AND_AXE

RECEIVED_URL = re.compile(r".*/verzoeken/(AVG-[A-Z2-9]{8})/ontvangen$")
#: What the firm's policy offers, as the start page names it.
KINDS_NL = (
    "Uw gegevens laten verbeteren",
    "Uw gegevens laten verwijderen",
    "Het gebruik van uw gegevens laten beperken",
    "Bezwaar maken tegen het gebruik van uw gegevens",
    "Uw toestemming intrekken",
    "Een vraag over uw privacy",
)


class Recorder:
    """WSGI middleware that notes every request the server received: (method, path)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.lock:
            self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        return self.app(environ, start_response)

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return self.seen.count((method, path))


@dataclass
class Live:
    """The running portal: app, address, mailbox, browser and the signed-in session."""

    app: Flask
    base: str
    mailbox: Mailbox
    browser: Any
    storage: dict[str, Any]
    server: Recorder


@dataclass(frozen=True)
class Stored:
    """A request as stored, read outside the app's session."""

    kind: str
    status: str
    locale: str
    scope: dict[str, list[str]]
    details: dict[str, Any]
    deadline: date
    events: list[str]


def _connectors(simulators: SimulatorGroup) -> dict[str, dict[str, object]]:
    connectors: dict[str, dict[str, object]] = {}
    for key, vendor in SIMULATED_SOURCES.items():
        handle = simulators[vendor]
        section: dict[str, object] = {"base_url": handle.base_url, **handle.credentials}
        section.pop("username", None)  # Zammad's simulator also offers Basic auth
        section.pop("password", None)
        connectors[key] = section
    return connectors


@pytest.fixture(scope="module")
def live(
    _migrated: None,
    base_settings: dict[str, object],
    instance_dir: Path,
    simulators: SimulatorGroup,
) -> Iterator[Live]:
    """The portal on a real server with the simulators and SMTP; chromium, signed in once."""
    from playwright.sync_api import sync_playwright

    mailbox = Mailbox()
    mailbox.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        {
            **base_settings,
            "base_url": base,
            "connectors": _connectors(simulators),
            "gather_budget_seconds": 10.0,
            "mail_transport": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_security": "none",
            "smtp_timeout": 5,
        },
        instance_path=instance_dir,
    )
    app.config["DSR_SUBMIT_LIMIT"] = "1000 per hour"  # one customer sends every kind here
    recorder = Recorder(app)
    try:
        with serving(recorder, port), sync_playwright() as pw:
            browser = launch_chromium(pw)
            context = browser.new_context()
            page = context.new_page()
            sign_in_customer(page, base, lambda: Mailbox.code_in(mailbox.last()))
            storage = context.storage_state()
            context.close()
            yield Live(app, base, mailbox, browser, storage, recorder)
            browser.close()
    finally:
        mailbox.stop()
        _empty_tables(app)


def _context(live: Live, **options: Any) -> Any:
    # bypass_csp: axe-core is injected as a script, which our CSP rightly forbids
    return live.browser.new_context(storage_state=live.storage, bypass_csp=True, **options)


@pytest.fixture
def page(live: Live) -> Iterator[Page]:
    """A fresh browser context of the signed-in customer, in Dutch."""
    context = _context(live)
    yield context.new_page()
    context.close()


# --- helpers --------------------------------------------------------------------------------


def _stored(app: Flask, reference: str) -> Stored:
    with app.app_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        found = Stored(
            row.kind, row.status, row.locale, dict(row.scope), services.details_of(row),
            row.deadline, [e.action for e in row.events],
        )  # fmt: skip
        db.session.remove()
        return found


def _count(app: Flask, **where: str) -> int:
    with app.app_context():
        query = sa.select(sa.func.count()).select_from(DataRequest)
        for name, value in where.items():
            query = query.where(getattr(DataRequest, name) == value)
        count = int(db.session.scalar(query) or 0)
        db.session.remove()
        return count


def _staff(app: Flask, reference: str, step: str, *args: object) -> None:
    """Put a request in a state the way staff do, through the service layer."""
    with app.test_request_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        outbox = getattr(services, step)(row, *args, staff_id=1)
        db.session.commit()
        for outbox_id in outbox:
            enqueue_mail(outbox_id)
        db.session.remove()


def _mails_about(live: Live, reference: str, subject: str) -> list[EmailMessage]:
    """The messages whose subject starts with ``subject`` and names ``reference``; waits
    (up to 10 s) for the first one."""
    deadline = time.monotonic() + 10
    while True:
        with live.mailbox.lock:
            found = [
                m
                for m in live.mailbox.messages
                if reference in m["Subject"] and m["Subject"].startswith(subject)
            ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _receipt(live: Live, reference: str, english: bool = False) -> str:
    """Exactly one receipt for ``reference`` reached the customer; its text."""
    subject = "We received your request" if english else "Wij hebben uw verzoek"
    found = _mails_about(live, reference, subject)
    assert len(found) == 1, [m["Subject"] for m in live.mailbox.messages]
    message = found[0]
    assert message["To"] == EMAIL
    text = Mailbox.text_of(message)
    assert reference in text and reference in Mailbox.html_of(message)
    assert f"/verzoeken/{reference}" in text
    if english:
        assert message["Subject"] == f"We received your request {reference}"
        assert "Your reference number:" in text and "What you asked:" in text
    else:
        assert message["Subject"] == f"Wij hebben uw verzoek {reference} ontvangen"
        assert f"Uw kenmerk: {reference}" in text and "Wat u vroeg:" in text
    return text


def _continue(page: Page) -> None:
    page.get_by_role("button", name=re.compile(r"^(Verder|Continue)$")).click()


def _errors(page: Page, *messages: str) -> None:
    """The page shows an error summary linking to exactly these messages, and each message
    again next to its field; the title says there is an error."""
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text(
        re.compile(r"^(Er is een probleem|There is a problem)$")
    )
    expect(summary.get_by_role("link")).to_have_text(list(messages))
    assert page.title().startswith(("Fout: ", "Error: ")), page.title()
    for link in summary.get_by_role("link").all():
        target = str(link.get_attribute("href")).lstrip("#")
        field_id = re.sub(r"-\d+$", "", target)  # a group of choices links to its first
        inline = page.locator(f"#{field_id}-error")
        expect(inline).to_contain_text(link.inner_text())


def _check_page(page: Page, kind: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^(Controleer uw verzoek|Check your request)$")
    )
    expect(page.locator("p.lead")).to_have_text(kind)


def _summary(page: Page) -> dict[str, str]:
    """The check page's or request page's summary: label -> values (without the button)."""
    rows: dict[str, str] = {}
    for dt in page.locator("dl.summary-list > dt").all():
        dd = dt.locator("xpath=following-sibling::dd[1]")
        values = [t.strip() for t in dd.locator(".text").all_inner_texts()]
        rows[dt.inner_text().strip()] = " | ".join(values)
    return rows


def _send(page: Page) -> str:
    """Press "Send request"; the confirmation's reference."""
    page.get_by_role("button", name=re.compile(r"^(Verzoek versturen|Send request)$")).click()
    page.wait_for_url(RECEIVED_URL)
    return _confirmed(page)


def _confirmed(page: Page) -> str:
    match = RECEIVED_URL.match(page.url)
    assert match, page.url
    reference = match.group(1)
    notice = page.locator(".notice-success[role=status]")
    expect(notice.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^(Verzoek ontvangen|Request received)$")
    )
    expect(notice).to_contain_text(re.compile(rf"(Uw kenmerk:|Your reference number:) {reference}"))
    return reference


def _day(value: date, english: bool = False) -> str:
    return format_date(value, "medium", locale="en") if english else value.strftime("%d-%m-%Y")


def _days_left(value: date, english: bool = False) -> str:
    left = (value - firm_today()).days
    if english:
        return f"{left} days left"
    return f"nog {left} dagen"


def _listed(page: Page, live: Live, reference: str, kind: str, status: str) -> None:
    """The "My requests" page lists the request: kind, reference, status, received today,
    and the deadline with the days left (while it is open; none once withdrawn)."""
    page.get_by_role("navigation", name=re.compile("^(Hoofdmenu|Main menu)$")).get_by_role(
        "link", name=re.compile("^(Mijn verzoeken|My requests)$")
    ).click()
    page.wait_for_url(re.compile(r".*/verzoeken/$"))
    stored = _stored(live.app, reference)
    english = stored.locale == "en"
    row = page.get_by_role("row").filter(has_text=reference)
    expect(row).to_have_count(1)
    deadline = _day(stored.deadline, english)
    if stored.status == "withdrawn":  # no answer comes: no date to wait for
        deadline = "(none)" if english else "(geen)"
    elif stored.status not in ("done", "refused"):
        deadline += f" ({_days_left(stored.deadline, english)})"
    cells = [c.strip() for c in row.get_by_role("cell").all_inner_texts()]
    assert cells == [reference, status, _day(firm_today(), english), deadline], cells
    expect(row.get_by_role("rowheader")).to_have_text(kind)


def _open_from_list(page: Page, reference: str) -> None:
    page.get_by_role("row").filter(has_text=reference).get_by_role("link").click()
    page.wait_for_url(re.compile(rf".*/verzoeken/{reference}$"))
    expect(page.locator("dl.facts").first).to_contain_text(reference)


def _start(page: Page, live: Live, kind: str) -> None:
    """From "My requests" through "Make a new request" to the form of ``kind``."""
    page.goto(live.base + "/verzoeken/")
    page.get_by_role("link", name=re.compile("^(Nieuw verzoek doen|Make a new request)$")).click()
    page.wait_for_url(re.compile(r".*/verzoeken/nieuw$"))
    page.get_by_role("link", name=kind, exact=True).click()
    page.wait_for_url(re.compile(r".*/verzoeken/nieuw/[a-z]+$"))


def _open_field(page: Page, category: str, record: str) -> Any:
    """On the overview, open a category's records and one record; that record."""
    section = page.locator(f"#cat-{category}")
    section.locator("details.records > summary").click()
    found = section.locator("details.record").filter(has=page.locator("summary", has_text=record))
    found.locator("summary").first.click()
    expect(found.locator("dl.fields")).to_be_visible()
    return found


def _question(page: Page, live: Live, subject: str, text: str) -> str:
    """Send a question through the pages; its reference."""
    page.goto(live.base + "/verzoeken/nieuw/vraag")
    page.get_by_label(re.compile("^(Onderwerp|Subject)$")).fill(subject)
    page.get_by_label(re.compile("^(Uw vraag|Your question)$")).fill(text)
    _continue(page)
    return _send(page)


_FOCUSED = """() => {
  const el = document.activeElement;
  if (el.tagName === "INPUT" && el.labels && el.labels.length)
    return "INPUT " + el.labels[0].textContent.trim();
  return el.tagName + " " + el.textContent.trim().replace(/\\s+/g, " ");
}"""


def _tab_to(page: Page, target: str, limit: int = 80) -> None:
    """Press Tab until the focused element reads ``target`` (tag and text or label)."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(_FOCUSED))
        if seen[-1] == target:
            return
    raise AssertionError(f"never focused {target!r}; focused {seen}")


# --- the walks ------------------------------------------------------------------------------


def test_a_correction_of_two_fields_from_the_correct_link_on_the_overview(
    page: Page, live: Live
) -> None:
    axe = Axe()
    page.goto(live.base + "/account")
    page.get_by_role("link", name="Mijn gegevens", exact=True).click()
    page.wait_for_url(re.compile(r".*/mijn-gegevens/$"))
    record = _open_field(page, "identity", "Klantgegevens 101")
    expect(record.locator("dl.fields")).to_contain_text("de Vries")
    record.get_by_role("link", name="Wijzig „Achternaam” van klantgegevens 101").click()
    page.wait_for_url(re.compile(r".*/verzoeken/nieuw/correctie\?.*record_id=101.*field=last_name"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw gegevens laten verbeteren")
    expect(page.get_by_role("group", name="Webwinkel: Klantgegevens 101")).to_be_visible()
    last_name = page.get_by_label("Nieuwe waarde: achternaam")
    phone = page.get_by_label("Nieuwe waarde: telefoonnummer voor facturen")
    expect(last_name).to_have_accessible_description("Nu: de Vries")
    expect(phone).to_have_accessible_description(
        "Nu: +31 6 12345678. Vul een telefoonnummer in, zoals 06 12345678."
    )
    # one line each, with the phone keyboard on a mobile (it was a <textarea type="tel">)
    assert phone.evaluate("el => [el.tagName, el.type]") == ["INPUT", "tel"]
    assert last_name.evaluate("el => [el.tagName, el.type]") == ["INPUT", "text"]
    axe.check(page, "correction form")

    _continue(page)  # nothing filled in
    _errors(page, "Vul minstens één nieuwe waarde in")
    expect(last_name).to_have_attribute("aria-invalid", "true")
    axe.check(page, "correction form, nothing filled in")

    last_name.fill("de Vries-Bakker")
    phone.fill("bel mij maar")
    _continue(page)
    _errors(
        page, "Vul een telefoonnummer in met alleen cijfers, zoals 06 12345678 of +31 6 12345678"
    )
    expect(last_name).to_have_value("de Vries-Bakker")  # what was typed is kept
    expect(phone).to_have_value("bel mij maar")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(last_name).not_to_have_attribute("aria-invalid", "true")
    page.locator(".error-summary").get_by_role("link").click()
    expect(phone).to_be_focused()  # the summary leads to the field
    axe.check(page, "correction form, a wrong phone number")

    phone.fill("06 87654321")
    before = _count(live.app)
    _continue(page)
    _check_page(page, "Uw gegevens laten verbeteren")
    assert _summary(page) == {
        "Achternaam (Webwinkel: Klantgegevens 101)": "Nu: de Vries | Nieuw: de Vries-Bakker",
        "Telefoonnummer voor facturen (Webwinkel: Klantgegevens 101)": (
            "Nu: +31 6 12345678 | Nieuw: 06 87654321"
        ),
    }
    assert _count(live.app) == before  # the check page stores nothing
    axe.check(page, "correction check page")

    reference = _send(page)
    assert _count(live.app) == before + 1
    axe.check(page, "correction confirmation")
    stored = _stored(live.app, reference)
    assert (stored.kind, stored.status, stored.events) == ("correction", "received", ["received"])
    assert stored.scope == {"sources": ["webshop"], "categories": ["identity", "contact"]}
    assert [(i["field"], i["current"], i["new"]) for i in stored.details["items"]] == [
        ("last_name", "de Vries", "de Vries-Bakker"),
        ("billing_phone", "+31 6 12345678", "06 87654321"),
    ]
    expect(page.locator("main")).to_contain_text(f"uiterlijk op {_day(stored.deadline)}")
    text = _receipt(live, reference)
    assert "Nieuw: de Vries-Bakker" in text and "Nieuw: 06 87654321" in text

    _listed(page, live, reference, "Uw gegevens laten verbeteren", "Ontvangen")
    axe.check(page, "my requests")
    _open_from_list(page, reference)
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw gegevens laten verbeteren")
    assert _summary(page)["Achternaam (Webwinkel: Klantgegevens 101)"] == (
        "Nu: de Vries | Nieuw: de Vries-Bakker"
    )
    expect(page.locator("ol.history")).to_have_text(
        re.compile(rf"Wij hebben uw verzoek ontvangen · {_day(firm_today())}")
    )
    axe.check(page, "request page")
    axe.assert_clean()


def _moneybird_invoices_kept(simulators: SimulatorGroup) -> tuple[int, date]:
    """How many of the demo customer's invoices the law keeps, and until when (7 years after
    the end of the fiscal year of the invoice, counted from the simulator's own data). A
    recurring sales invoice counts from the last invoice it made, or while it runs from the
    next one it will make."""
    books = simulators["moneybird"].app
    contact = next(c["id"] for c in books.contacts.values() if c["email"] == EMAIL)
    invoices = [i for i in books.invoices if i["contact_id"] == contact]
    days = [date.fromisoformat(i["invoice_date"]) for i in invoices]
    for recurring in books.recurring:
        if recurring["contact_id"] != contact:
            continue
        made = [
            date.fromisoformat(i["invoice_date"])
            for i in invoices
            if str(i.get("recurring_sales_invoice_id")) == str(recurring["id"])
        ]
        if recurring.get("active"):
            made.append(date.fromisoformat(recurring["invoice_date"]))
        if made:
            days.append(max(made))
    untils = [date(day.year + 7, 12, 31) for day in days]
    kept = [u for u in untils if u > firm_today()]
    return len(kept), max(kept)


def _her_orders(simulators: SimulatorGroup) -> int:
    shop = simulators["woocommerce"].app
    return sum(1 for o in shop.orders.values() if o["billing"]["email"] == EMAIL)


def test_an_erasure_shows_per_system_what_is_deleted_anonymised_and_kept(
    page: Page, live: Live, simulators: SimulatorGroup
) -> None:
    axe = Axe()
    page.goto(live.base + "/verzoeken/")
    page.get_by_role("link", name="Nieuw verzoek doen").click()
    page.wait_for_url(re.compile(r".*/verzoeken/nieuw$"))
    expect(page.get_by_role("heading", level=2)).to_have_text(list(KINDS_NL))
    axe.check(page, "start page")
    page.get_by_role("link", name="Uw gegevens laten verwijderen").click()
    page.wait_for_url(re.compile(r".*/verzoeken/nieuw/wissen$"))
    axe.check(page, "erasure form")

    _continue(page)
    _errors(page, "Kies wat wij moeten verwijderen")
    axe.check(page, "erasure form, nothing chosen")
    some_systems = page.get_by_label("Alleen de gegevens in sommige van onze systemen")
    some_systems.check()
    page.get_by_label("Toelichting (niet verplicht)").fill("Ik ben geen klant meer.")
    _continue(page)
    _errors(page, "Kies minstens één systeem")
    expect(some_systems).to_be_checked()  # what was chosen and typed is kept
    expect(page.get_by_label("Toelichting (niet verplicht)")).to_have_value(
        "Ik ben geen klant meer."
    )
    expect(page.get_by_role("group", name="Welke systemen?")).to_have_accessible_description(
        "Alleen als u koos voor ‘Alleen de gegevens in sommige van onze systemen’. "
        "Fout: Kies minstens één systeem"
    )
    axe.check(page, "erasure form, no system chosen")

    page.get_by_label("Alleen sommige soorten gegevens").check()
    kinds = page.get_by_role("group", name="Welke soorten gegevens?")
    kinds.get_by_label("Bestellingen").check()
    kinds.get_by_label("Facturen").check()
    _continue(page)
    _check_page(page, "Uw gegevens laten verwijderen")
    assert _summary(page) == {
        "Wat moeten wij verwijderen?": "Alleen sommige soorten gegevens",
        "Welke soorten gegevens?": "Bestellingen | Facturen",
        "Toelichting": "Ik ben geen klant meer.",
    }
    shop = page.locator("section.category").filter(
        has=page.get_by_role("heading", name="Webwinkel", exact=True)
    )
    # Her orders hold payment details the law makes the firm keep: asking to erase "orders"
    # does not erase them (the vendor would anonymise the whole order, payment and all).
    kept_orders = re.search(
        r"(\d+) gegevens moeten wij bewaren \(Betaalgegevens\) tot uiterlijk "
        r"(\d\d-\d\d-\d{4})\. Waarom: Wettelijke bewaarplicht", shop.inner_text()
    )  # fmt: skip
    assert kept_orders, shop.inner_text()
    assert int(kept_orders.group(1)) >= _her_orders(simulators)  # every order, for the books
    books = page.locator("section.category").filter(
        has=page.get_by_role("heading", name="Boekhouding (Moneybird)")
    )
    count, until = _moneybird_invoices_kept(simulators)
    expect(books).to_contain_text(
        f"{count} gegevens moeten wij bewaren (Facturen) tot uiterlijk {_day(until)}. "
        "Waarom: Wettelijke bewaarplicht, artikel 52 AWR."
    )
    axe.check(page, "erasure check page, orders and invoices")

    # change the choice from the check page: everything
    page.get_by_role("button", name="Wijzigen Wat moeten wij verwijderen?").click()
    page.wait_for_url(re.compile(r".*/verzoeken/nieuw/wissen#scope-0$"))
    expect(kinds.get_by_label("Facturen")).to_be_checked()
    page.get_by_label("Al mijn gegevens").check()
    _continue(page)
    _check_page(page, "Uw gegevens laten verwijderen")
    assert _summary(page)["Wat moeten wij verwijderen?"] == "Al mijn gegevens"
    sections = page.locator("section.category h3").all_inner_texts()
    assert sections == [
        "Webwinkel",
        "Boekhouding (Moneybird)",
        "Storingsmeldingen (Zammad)",
        "Klantenservice (Freshdesk)",
        "Betalingen (Mollie)",
        "Werkplaats (eigen administratie)",
    ]
    expect(shop).to_contain_text(re.compile(r"\d+ gegevens worden verwijderd\."))
    expect(books).to_contain_text(f"{count} gegevens moeten wij bewaren (Facturen)")
    # a ticket's messages go with the ticket: deleted, none of them left to do by hand
    helpdesk = page.locator("section.category").filter(has_text="Storingsmeldingen (Zammad)")
    expect(helpdesk).to_contain_text(re.compile(r"\d+ gegevens worden verwijderd\."))
    expect(helpdesk).not_to_contain_text("met de hand")
    axe.check(page, "erasure check page, everything")

    reference = _send(page)
    axe.check(page, "erasure confirmation")
    stored = _stored(live.app, reference)
    assert (stored.kind, stored.scope) == ("erasure", {"sources": [], "categories": []})
    assert stored.details["scope"] == "all"
    assert stored.details["explanation"] == "Ik ben geen klant meer."
    invoices = next(s for s in stored.details["preview"]["sources"] if s["source"] == "invoicing")
    assert {"category": "invoices", "count": count, "until": until.isoformat()} in [
        {k: v for k, v in kept.items() if k not in ("ground", "also")} for kept in invoices["kept"]
    ]
    # what else the kept invoices hold, as the customer was told
    assert all(isinstance(kept["also"], list) for kept in invoices["kept"])
    _receipt(live, reference)

    _listed(page, live, reference, "Uw gegevens laten verwijderen", "Ontvangen")
    _open_from_list(page, reference)
    told = page.get_by_role("region", name="Wat u vroeg")
    expect(told.get_by_role("heading", level=3, name="Wat wij u vertelden")).to_be_visible()
    expect(told).to_contain_text(f"tot uiterlijk {_day(until)}")
    axe.check(page, "erasure request page")
    axe.assert_clean()


def test_a_restriction_of_some_kinds_of_data_on_a_ground(page: Page, live: Live) -> None:
    axe = Axe()
    _start(page, live, "Het gebruik van uw gegevens laten beperken")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Het gebruik van uw gegevens laten beperken"
    )
    axe.check(page, "restriction form")
    page.get_by_label("Alleen sommige soorten gegevens").check()
    page.get_by_label("Toelichting (niet verplicht)").fill("Mijn adres klopt niet.")
    _continue(page)
    _errors(page, "Kies minstens één soort gegevens", "Kies waarom wij het gebruik moeten beperken")
    expect(page.get_by_label("Alleen sommige soorten gegevens")).to_be_checked()
    expect(page.get_by_label("Toelichting (niet verplicht)")).to_have_value(
        "Mijn adres klopt niet."
    )
    axe.check(page, "restriction form with errors")

    page.get_by_role("group", name="Welke soorten gegevens?").get_by_label("Adresgegevens").check()
    ground = "U vindt dat uw gegevens niet kloppen, en wij controleren of ze juist zijn."
    page.get_by_label(ground).check()
    _continue(page)
    _check_page(page, "Het gebruik van uw gegevens laten beperken")
    assert _summary(page) == {
        "Welke gegevens moeten wij beperken?": "Alleen sommige soorten gegevens",
        "Welke soorten gegevens?": "Adresgegevens",
        "Waarom moeten wij het gebruik beperken?": ground,
        "Toelichting": "Mijn adres klopt niet.",
    }
    axe.check(page, "restriction check page")

    reference = _send(page)
    axe.check(page, "restriction confirmation")
    stored = _stored(live.app, reference)
    assert (stored.kind, stored.scope) == ("restriction", {"categories": ["address"]})
    assert stored.details == {
        "scope": "categories", "ground": "accuracy", "explanation": "Mijn adres klopt niet."
    }  # fmt: skip
    assert f"- Waarom moeten wij het gebruik beperken?: {ground}" in _receipt(live, reference)
    _listed(page, live, reference, "Het gebruik van uw gegevens laten beperken", "Ontvangen")
    axe.assert_clean()


def test_an_objection_to_a_purpose_on_legitimate_interests(page: Page, live: Live) -> None:
    axe = Axe()
    _start(page, live, "Bezwaar maken tegen het gebruik van uw gegevens")
    purpose = page.get_by_label("Verbeteren van onze dienstverlening")
    expect(purpose).to_have_accessible_description(
        "Ons belang: Wij willen terugkerende problemen herkennen en voorkomen."
    )
    # only purposes on legitimate interests can be objected to, and direct marketing always
    expect(page.get_by_role("group", name="Waartegen maakt u bezwaar?").get_by_role(
        "checkbox")).to_have_count(2)  # fmt: skip
    expect(page.get_by_label("Nieuwsbrief")).to_have_accessible_description(
        "Direct marketing: wij stoppen altijd."
    )
    axe.check(page, "objection form")
    situation = page.get_by_label("Uw situatie (niet verplicht)")
    situation.fill("Mijn meldingen gaan over mijn gezondheid.")
    _continue(page)
    _errors(page, "Kies minstens één doel")
    expect(situation).to_have_value("Mijn meldingen gaan over mijn gezondheid.")
    axe.check(page, "objection form with errors")

    purpose.check()
    _continue(page)
    _check_page(page, "Bezwaar maken tegen het gebruik van uw gegevens")
    assert _summary(page) == {
        "Waartegen maakt u bezwaar?": "Verbeteren van onze dienstverlening",
        "Uw situatie": "Mijn meldingen gaan over mijn gezondheid.",
    }
    axe.check(page, "objection check page")
    reference = _send(page)
    axe.check(page, "objection confirmation")
    stored = _stored(live.app, reference)
    assert (stored.kind, stored.scope) == ("objection", {"purposes": ["service-improvement"]})
    assert stored.details == {"explanation": "Mijn meldingen gaan over mijn gezondheid."}
    text = _receipt(live, reference)
    assert "- Waartegen maakt u bezwaar?: Verbeteren van onze dienstverlening" in text
    _listed(page, live, reference, "Bezwaar maken tegen het gebruik van uw gegevens", "Ontvangen")
    axe.assert_clean()


def test_withdrawing_consent_with_the_keyboard_only(page: Page, live: Live) -> None:
    axe = Axe()
    page.goto(live.base + "/verzoeken/")
    _tab_to(page, "A Nieuw verzoek doen")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _tab_to(page, "A Uw toestemming intrekken")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw toestemming intrekken")
    axe.check(page, "withdrawal form")
    # only purposes on consent can be withdrawn
    consent = page.get_by_role("group", name="Waarvoor trekt u uw toestemming in?")
    expect(consent.get_by_role("checkbox")).to_have_count(1)
    _tab_to(page, "BUTTON Verder")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _errors(page, "Kies minstens één doel")
    axe.check(page, "withdrawal form with errors")

    _tab_to(page, "INPUT Nieuwsbrief")
    page.keyboard.press("Space")
    expect(page.get_by_label("Nieuwsbrief")).to_be_checked()
    _tab_to(page, "BUTTON Verder")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _check_page(page, "Uw toestemming intrekken")
    assert _summary(page) == {"Waarvoor trekt u uw toestemming in?": "Nieuwsbrief"}
    axe.check(page, "withdrawal check page")
    _tab_to(page, "BUTTON Verzoek versturen")
    with page.expect_navigation(url=RECEIVED_URL):
        page.keyboard.press("Space")
    reference = _confirmed(page)
    axe.check(page, "withdrawal confirmation")

    stored = _stored(live.app, reference)
    assert (stored.kind, stored.scope) == ("withdraw_consent", {"purposes": ["newsletter"]})
    assert "- Waarvoor trekt u uw toestemming in?: Nieuwsbrief" in _receipt(live, reference)
    _tab_to(page, "A Al mijn verzoeken")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("row").filter(has_text=reference)).to_contain_text(
        f"{_day(stored.deadline)} ({_days_left(stored.deadline)})"
    )
    axe.assert_clean()


def test_a_question_without_javascript_with_an_error_and_a_change(live: Live) -> None:
    context = _context(live, java_script_enabled=False)
    page = context.new_page()
    page.goto("data:text/html,<title>off</title><script>document.title = 'on'</script>")
    assert page.title() == "off"  # scripts really do not run
    _start(page, live, "Een vraag over uw privacy")
    subject = page.get_by_label("Onderwerp")
    question = page.get_by_label("Uw vraag")
    subject.fill("Mijn adres")
    _continue(page)
    _errors(page, "Vul uw vraag in")
    expect(subject).to_have_value("Mijn adres")

    question.fill("Aan wie geeft u mijn adres door?")
    _continue(page)
    _check_page(page, "Een vraag over uw privacy")
    assert _summary(page) == {
        "Onderwerp": "Mijn adres",
        "Uw vraag": "Aan wie geeft u mijn adres door?",
    }
    page.get_by_role("button", name="Wijzigen Uw vraag").click()
    page.wait_for_url(re.compile(r".*/verzoeken/nieuw/vraag#question$"))
    expect(subject).to_have_value("Mijn adres")
    expect(question).to_have_value("Aan wie geeft u mijn adres door?")
    question.fill("Aan welke bedrijven geeft u mijn adres door?")
    _continue(page)
    assert _summary(page)["Uw vraag"] == "Aan welke bedrijven geeft u mijn adres door?"

    reference = _send(page)
    stored = _stored(live.app, reference)
    assert (stored.kind, stored.scope) == ("question", {})
    assert stored.details == {
        "subject": "Mijn adres", "question": "Aan welke bedrijven geeft u mijn adres door?"
    }  # fmt: skip
    assert "- Uw vraag: Aan welke bedrijven geeft u mijn adres door?" in _receipt(live, reference)
    _listed(page, live, reference, "Een vraag over uw privacy", "Ontvangen")
    context.close()


def test_a_double_clicked_send_button_makes_one_request(page: Page, live: Live) -> None:
    axe = Axe()
    _start(page, live, "Een vraag over uw privacy")
    axe.check(page, "question form")
    _continue(page)
    _errors(page, "Vul een onderwerp in", "Vul uw vraag in")
    axe.check(page, "question form with errors")
    page.get_by_label("Onderwerp").fill("Dubbel")
    page.get_by_label("Uw vraag").fill("Krijg ik twee kenmerken als ik twee keer klik?")
    _continue(page)
    _check_page(page, "Een vraag over uw privacy")
    axe.check(page, "question check page")
    key = str(page.locator("input[name=key]").get_attribute("value"))
    before = _count(live.app)

    sent = live.server.count("POST", "/verzoeken/nieuw/vraag/versturen")

    # Shift+click sends the form in a new window; then the same form is sent again, with a
    # double click, from the first one
    with page.context.expect_page() as new_window:
        page.get_by_role("button", name="Verzoek versturen").click(modifiers=["Shift"])
    other = new_window.value
    other.wait_for_url(RECEIVED_URL)
    reference = _confirmed(other)
    assert _count(live.app) == before + 1
    page.get_by_role("button", name="Verzoek versturen").dblclick()
    # the second click aborts the first click's navigation: wait for where the page ends up
    # (wait_for_url would fail on the aborted one)
    expect(page).to_have_url(RECEIVED_URL, timeout=15_000)
    page.wait_for_load_state()
    assert _confirmed(page) == reference  # the request it already made
    assert live.server.count("POST", "/verzoeken/nieuw/vraag/versturen") >= sent + 2  # both
    assert _count(live.app) == before + 1
    assert _count(live.app, idempotency_key=key) == 1
    _receipt(live, reference)  # and one receipt
    axe.assert_clean()


def test_withdrawing_a_request_from_its_page(page: Page, live: Live) -> None:
    axe = Axe()
    reference = _question(page, live, "Intrekken", "Deze vraag trek ik in.")
    _listed(page, live, reference, "Een vraag over uw privacy", "Ontvangen")
    _open_from_list(page, reference)
    page.get_by_role("link", name="Dit verzoek intrekken").click()
    page.wait_for_url(re.compile(rf".*/verzoeken/{reference}/intrekken$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw verzoek intrekken")
    expect(page.locator("main")).to_contain_text(
        f"Wilt u uw verzoek {reference} (een vraag over uw privacy) intrekken?"
    )
    assert _stored(live.app, reference).status == "received"  # showing it changes nothing
    axe.check(page, "withdraw confirmation")

    page.get_by_role("button", name="Ja, trek mijn verzoek in").click()
    page.wait_for_url(re.compile(rf".*/verzoeken/{reference}$"))
    facts = page.locator("dl.facts").first
    expect(facts).to_contain_text("Ingetrokken")
    expect(page.locator("ol.history > li")).to_have_text(
        [
            re.compile(r"^Wij hebben uw verzoek ontvangen"),
            re.compile(r"^U heeft uw verzoek ingetrokken"),
        ]
    )
    expect(page.get_by_role("link", name="Dit verzoek intrekken")).to_have_count(0)
    axe.check(page, "withdrawn request page")
    stored = _stored(live.app, reference)
    assert (stored.status, stored.events) == ("withdrawn", ["received", "withdrawn"])
    mails = _mails_about(live, reference, "U heeft uw verzoek")
    assert [m["Subject"] for m in mails] == [f"U heeft uw verzoek {reference} ingetrokken"]
    _listed(page, live, reference, "Een vraag over uw privacy", "Ingetrokken")
    axe.assert_clean()


def test_adding_information_when_we_wait_for_the_customer(page: Page, live: Live) -> None:
    axe = Axe()
    reference = _question(page, live, "Klantnummer", "Welke gegevens heeft u van mij?")
    _staff(live.app, reference, "ask_information", "Welk klantnummer heeft u?")
    asked = _mails_about(live, reference, "Wij hebben informatie van u nodig")
    assert len(asked) == 1 and "Welk klantnummer heeft u?" in Mailbox.text_of(asked[0])

    _listed(page, live, reference, "Een vraag over uw privacy", "Wacht op u")
    _open_from_list(page, reference)
    answer = page.get_by_role("region", name="Wij wachten op uw antwoord")
    expect(answer).to_contain_text("Onze vraag: Welk klantnummer heeft u?")
    axe.check(page, "request page, waiting for an answer")
    answer.get_by_role("button", name="Antwoord versturen").click()
    _errors(page, "Vul uw antwoord in")
    assert _stored(live.app, reference).status == "waiting_for_customer"
    axe.check(page, "request page, empty answer")

    page.get_by_label("Uw antwoord", exact=True).fill("Klantnummer 1042")
    page.get_by_role("button", name="Antwoord versturen").click()
    page.wait_for_url(re.compile(rf".*/verzoeken/{reference}$"))
    expect(page.get_by_role("region", name="Wij wachten op uw antwoord")).to_have_count(0)
    expect(page.locator("dl.facts").first).to_contain_text("In behandeling")
    latest = page.locator("ol.history > li").last
    expect(latest.locator("strong")).to_have_text("U heeft ons informatie gestuurd")
    expect(latest.locator(".text")).to_have_text("Klantnummer 1042")
    axe.check(page, "request page after the answer")
    stored = _stored(live.app, reference)
    assert stored.status == "in_progress"
    assert stored.events == ["received", "info_requested", "info_added"]
    axe.assert_clean()


def test_in_english_every_page_of_the_requests_has_no_accessibility_violations(
    page: Page, live: Live
) -> None:
    axe = Axe()
    page.goto(live.base + "/verzoeken/")
    page.get_by_role("navigation", name="Taal").get_by_role("link", name="English").click()
    page.wait_for_url(re.compile(r".*/verzoeken/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
    assert page.locator("html").get_attribute("lang") == "en"
    axe.check(page, "my requests")
    page.get_by_role("link", name="Make a new request").click()
    axe.check(page, "start page")
    kinds = page.get_by_role("heading", level=2).all_inner_texts()
    assert kinds == [
        "Correct your data",
        "Delete your data",
        "Restrict the use of your data",
        "Object to the use of your data",
        "Withdraw your consent",
        "A question about your privacy",
    ]

    for kind, errors in (
        ("Delete your data", ["Choose what we should delete"]),
        ("Restrict the use of your data", [
            "Choose which data we should restrict", "Choose why we should restrict your data"]),
        ("Object to the use of your data", ["Choose at least one purpose"]),
        ("Withdraw your consent", ["Choose at least one purpose"]),
        ("A question about your privacy", ["Enter a subject", "Enter your question"]),
    ):  # fmt: skip
        _start(page, live, kind)
        axe.check(page, f"{kind}: form")
        _continue(page)
        _errors(page, *errors)
        axe.check(page, f"{kind}: form with errors")

    page.get_by_role("link", name="My data").click()
    record = _open_field(page, "identity", "Customer record 101")
    record.get_by_role("link", name="Correct “Last name” of customer record 101").click()
    page.wait_for_url(re.compile(r".*/verzoeken/nieuw/correctie\?.*field=last_name"))
    axe.check(page, "correction form")
    email = page.get_by_label("New e-mail address", exact=True)
    assert email.evaluate("el => [el.tagName, el.type]") == ["INPUT", "email"]
    email.fill("no address")
    _continue(page)
    _errors(page, "Enter an e-mail address in the right format, like name@example.nl")
    expect(email).to_have_value("no address")
    axe.check(page, "correction form with errors")
    email.fill("sanne@example.org")
    _continue(page)
    _check_page(page, "Correct your data")
    assert _summary(page) == {
        "E-mail address (Web shop: Customer record 101)": (
            "Now: sanne.devries@example.nl | New: sanne@example.org"
        )
    }
    axe.check(page, "check page")
    reference = _send(page)
    axe.check(page, "confirmation")
    stored = _stored(live.app, reference)
    assert (stored.kind, stored.locale) == ("correction", "en")
    assert f"We answer by {_day(stored.deadline, True)} at the latest" in page.inner_text("main")
    text = _receipt(live, reference, english=True)
    assert "- E-mail address (Web shop: Customer record 101): Now: " in text

    _listed(page, live, reference, "Correct your data", "Received")
    _open_from_list(page, reference)
    axe.check(page, "request page")
    _staff(live.app, reference, "ask_information", "Since when is this address yours?")
    page.reload()
    answer = page.get_by_role("region", name="We are waiting for your answer")
    expect(answer).to_contain_text("Our question: Since when is this address yours?")
    axe.check(page, "request page, waiting for an answer")
    answer.get_by_role("button", name="Send answer").click()
    _errors(page, "Enter your answer")
    axe.check(page, "request page, empty answer")
    page.get_by_label("Your answer", exact=True).fill("Since May.")
    page.get_by_role("button", name="Send answer").click()
    expect(page.locator("dl.facts").first).to_contain_text("In progress")
    page.get_by_role("link", name="Withdraw this request").click()
    page.wait_for_url(re.compile(rf".*/verzoeken/{reference}/intrekken$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Withdraw your request")
    axe.check(page, "withdraw confirmation")
    page.get_by_role("button", name="Yes, withdraw my request").click()
    page.wait_for_url(re.compile(rf".*/verzoeken/{reference}$"))
    expect(page.locator("dl.facts").first).to_contain_text("Withdrawn")
    axe.check(page, "withdrawn request page")
    assert _stored(live.app, reference).status == "withdrawn"
    axe.assert_clean()


def test_two_sends_at_the_same_moment_make_one_request(page: Page, live: Live) -> None:
    """What a browser that does not cancel the first of two fast clicks sends."""
    _start(page, live, "Een vraag over uw privacy")
    page.get_by_label("Onderwerp").fill("Tegelijk")
    page.get_by_label("Uw vraag").fill("Wat als ik drie keer tegelijk verstuur?")
    _continue(page)
    _check_page(page, "Een vraag over uw privacy")
    key = str(page.locator("input[name=key]").get_attribute("value"))
    before = _count(live.app)
    sent = live.server.count("POST", "/verzoeken/nieuw/vraag/versturen")
    landed: list[list[Any]] = page.evaluate(
        """async () => {
            const form = document.querySelector("form[action$='/versturen']");
            const send = () => fetch(form.action, {method: "POST", body: new FormData(form)})
                .then(r => [r.status, r.redirected, r.url]);
            return Promise.all([send(), send(), send()]);
        }"""
    )
    assert live.server.count("POST", "/verzoeken/nieuw/vraag/versturen") == sent + 3
    urls = {url for _status, _redirected, url in landed}
    assert [(status, redirected) for status, redirected, _url in landed] == [(200, True)] * 3
    assert len(urls) == 1, landed  # the same confirmation for all three
    match = RECEIVED_URL.match(urls.pop())
    assert match, landed
    assert _count(live.app) == before + 1
    assert _count(live.app, idempotency_key=key) == 1
    _receipt(live, match.group(1))


def test_the_same_question_again_offers_the_open_one_first(page: Page, live: Live) -> None:
    """A question asked again word for word: the form names the open one, the check page
    offers to go there or to send a new one anyway; both pass axe (in English: the new
    words' Dutch comes with the catalogue)."""
    axe = Axe()
    page.goto(live.base + "/taal/en?next=/verzoeken/")
    first = _question(page, live, "Once more", "Did you receive my question?")
    page.goto(live.base + "/verzoeken/nieuw/vraag")
    notice = page.get_by_role(
        "region",
        name=re.compile(r"^You already have (an open request|\d+ open requests) of this kind$"),
    )
    expect(notice.get_by_role("link", name=first)).to_be_visible()
    axe.check(page, "form naming the open request")
    page.get_by_label("Subject").fill("Once more")
    page.get_by_label("Your question").fill("Did you receive my question?")
    _continue(page)
    _check_page(page, "A question about your privacy")
    expect(page.get_by_role("button", name="Send request")).to_have_count(0)
    expect(page.get_by_role("button", name="Send a new request anyway")).to_be_visible()
    axe.check(page, "check page with the open request")
    before = _count(live.app)
    page.get_by_role("link", name=f"Go to request {first}").click()
    page.wait_for_url(re.compile(rf".*/verzoeken/{first}$"))
    assert _count(live.app) == before
    axe.assert_clean()


def test_a_question_typed_while_signed_out_in_another_tab_is_not_lost(live: Live) -> None:
    """The customer types a long question; meanwhile they sign out in another tab. Sending
    it shows what they typed (kept nowhere but in the page) and how to go on; signed in again
    in the other tab, "Back to my form" brings the form back filled in, and it is sent.
    Every page passes axe (in English: the new words' Dutch comes with the catalogue)."""
    axe = Axe()
    text = "Ik heb hier lang over nagedacht.\nWie krijgt mijn adres, en waarom?"
    context = live.browser.new_context(bypass_csp=True)
    form_tab, other_tab = context.new_page(), context.new_page()

    def sign_in(page: Page) -> None:  # the sign-in steps speak Dutch; the walk English
        before = len(live.mailbox.messages)
        page.goto(live.base + "/taal/nl?next=/inloggen")
        sign_in_customer(
            page, live.base, lambda: Mailbox.code_in(live.mailbox.wait_for(before + 1)[-1])
        )
        page.goto(live.base + "/taal/en?next=/account")

    sign_in(form_tab)
    form_tab.goto(live.base + "/taal/en?next=/verzoeken/nieuw/vraag")
    form_tab.get_by_label("Subject").fill("A long story")
    form_tab.get_by_label("Your question").fill(text)
    other_tab.goto(live.base + "/account")
    other_tab.get_by_role("main").get_by_role("button", name="Sign out").click()
    other_tab.wait_for_url(live.base + "/")

    _continue(form_tab)
    expect(form_tab.get_by_role("heading", level=1)).to_have_text("Sign in again to send your form")
    typed = form_tab.get_by_role("main").locator("dl").inner_text()
    assert "A long story" in typed and "Wie krijgt mijn adres, en waarom?" in typed
    axe.check(form_tab, "signed out while typing")
    before = _count(live.app)

    sign_in(other_tab)
    form_tab.get_by_role("button", name="Back to my form").click()
    expect(form_tab.get_by_role("heading", level=1)).to_have_text(
        "Ask our privacy contact a question"
    )
    expect(form_tab.locator(".notice-warning")).to_contain_text("Your form was not sent")
    expect(form_tab.get_by_label("Subject")).to_have_value("A long story")
    assert form_tab.get_by_label("Your question").input_value().replace("\r\n", "\n") == text
    axe.check(form_tab, "the form back, filled in")
    assert _count(live.app) == before  # nothing was sent on the way

    _continue(form_tab)
    _check_page(form_tab, "A question about your privacy")
    reference = _send(form_tab)
    assert _stored(live.app, reference).kind == "question"
    axe.assert_clean()
    context.close()
