"""Downloading one's data in a real browser: both files hold the demo customer's data from the
simulators and nobody else's, with the right headers; the export page and the offline
index.html have no accessibility violations found by axe-core (WCAG 2.1 A and AA)."""

from __future__ import annotations

import csv
import html
import io
import re
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from flask import Flask

from simulators import SimulatorGroup

from ..clock import firm_today
from .test_customer_browser import (
    AXE,
    CHROMIUM,
    EMAIL,
    _axe_violations,
    _sign_in,
    chromium,
    server,
    settings_overrides,
)

__all__ = ["chromium", "server", "settings_overrides"]  # fixtures shared with the overview's

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
    pytest.mark.skipif(not AXE.exists(), reason="needs axe-core: npm ci --prefix tests/node"),
]

#: What only the near-identical other people have: e-mail addresses, cities, streets, phones.
OTHERS = (
    "sanne.de.vries@example.nl",
    "sanne.devries+shop@example.nl",
    "Groningen",
    "Zuiderdiep",
    "Amersfoort",
    "98765432",
)
FILENAME = re.compile(
    r'^attachment; filename="voorbeeld-it-diensten-gegevens-(\d{4}-\d{2}-\d{2})\.'
)
ALL_SOURCES = ("webshop", "invoicing", "helpdesk", "customer-service", "payments", "workshop")


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """No request context pushed around the test: the server thread has its own."""


@pytest.fixture
def signed_in(app: Flask, server: str, chromium: Any) -> Iterator[Any]:
    """A browser page with the demo customer signed in (CSP bypassed, to inject axe-core)."""
    context = chromium.new_context(accept_downloads=True, bypass_csp=True)
    page = context.new_page()
    _sign_in(app, page, server)
    yield page
    context.close()


def _download(page: Any, button: str, path: str, saved: Path) -> tuple[Path, dict[str, str]]:
    """Press a download button; the saved file and the response's headers."""
    with (
        page.expect_response(lambda r: r.url.endswith(path)) as response_info,
        page.expect_download() as download_info,
    ):
        page.get_by_role("button", name=button).click()
    download = download_info.value
    target = saved / download.suggested_filename
    download.save_as(target)
    return target, response_info.value.all_headers()


def _check_headers(headers: dict[str, str], extension: str) -> None:
    match = FILENAME.match(headers["content-disposition"])
    assert match, headers["content-disposition"]
    assert headers["content-disposition"].endswith(f'.{extension}"')
    assert match.group(1) == firm_today().isoformat()  # the day as the firm counts it
    assert headers["cache-control"] == "no-store"


def _hers(simulators: SimulatorGroup) -> dict[str, set[str]]:
    """The ids and texts the simulators hold for the demo customer and for her near-twin."""
    shop = simulators["woocommerce"].app
    books = simulators["moneybird"].app
    desk = simulators["zammad"].app
    contact = {c["email"]: c["id"] for c in books.contacts.values()}
    return {
        "orders": {str(o["id"]) for o in shop.orders.values() if o["billing"]["email"] == EMAIL},
        "invoices": {str(i["id"]) for i in books.invoices if i["contact_id"] == contact[EMAIL]},
        "tickets": {t["title"] for t in desk.tickets.values() if t["customer_id"] == 27},
        "twin_orders": {
            str(o["id"])
            for o in shop.orders.values()
            if o["billing"]["email"] == "sanne.de.vries@example.nl"
        },
        "twin_invoices": {
            str(i["id"])
            for i in books.invoices
            if i["contact_id"] == contact["sanne.de.vries@example.nl"]
        },
    }


def test_a_customer_downloads_both_files_with_only_her_data(
    signed_in: Any, server: str, simulators: SimulatorGroup, tmp_path: Path
) -> None:
    page = signed_in
    page.get_by_role("link", name="Bekijk wat wij over u bewaren").click()
    page.wait_for_url(re.compile(r".*/mijn-gegevens/$"))
    assert page.get_by_role("button", name="Download als JSON").is_visible()  # on the overview
    page.get_by_role("link", name="Uw eerdere downloads, en wat er in een download staat").click()
    page.wait_for_url(re.compile(r".*/export/$"))
    assert page.get_by_role("heading", name="Download uw gegevens", level=1).is_visible()
    assert page.get_by_text("U heeft uw gegevens nog niet gedownload.").is_visible()
    known = _hers(simulators)
    assert known["orders"] and known["invoices"] and known["tickets"]
    assert known["twin_orders"] and known["twin_invoices"]

    json_file, headers = _download(page, "Download als JSON", "/export/json", tmp_path)
    _check_headers(headers, "json")
    assert headers["content-type"].startswith("application/json")
    data = orjson.loads(json_file.read_bytes())
    # Valid against the schema the portal serves at the URL the file names.
    schema = orjson.loads(urllib.request.urlopen(data["schema"], timeout=10).read())  # noqa: S310
    assert data["schema"].startswith(server)
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(data)
    assert {s["key"]: s["status"] for s in data["sources"]} == dict.fromkeys(
        ALL_SOURCES, "complete"
    )
    assert data["complete"] is True
    assert data["subject"]["identifiers"] == [{"kind": "email", "value": EMAIL}]
    ids = {(r["record_type"], r["record_id"]) for r in data["records"]}
    assert {("order", i) for i in known["orders"]} <= ids
    assert {r["record_id"] for r in data["records"] if r["record_type"] == "invoice"} == known[
        "invoices"
    ]
    titles = {r["fields"].get("title") for r in data["records"] if r["source"] == "helpdesk"}
    assert known["tickets"] <= titles
    assert not {("order", i) for i in known["twin_orders"]} & ids
    assert not {("invoice", i) for i in known["twin_invoices"]} & ids

    zip_file, headers = _download(
        page, "Download als spreadsheetbestanden (CSV in een ZIP)", "/export/csv", tmp_path
    )
    _check_headers(headers, "zip")
    assert headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(zip_file)
    assert archive.testzip() is None
    rows: dict[str, list[dict[str, str]]] = {}
    for name in archive.namelist():
        if name.endswith(".csv"):
            text = archive.read(name).decode("utf-8-sig")
            rows[name] = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert {r["record_id"] for r in rows["webshop-order.csv"]} >= known["orders"]
    assert {r["record_id"] for r in rows["invoicing-invoice.csv"]} == known["invoices"]
    assert {r["title"] for r in rows["helpdesk-ticket.csv"]} >= known["tickets"]
    assert not {r["record_id"] for r in rows["webshop-order.csv"]} & known["twin_orders"]
    assert not {r["record_id"] for r in rows["invoicing-invoice.csv"]} & known["twin_invoices"]
    # the offline page shows the same records: hers, and not her near-twin's
    index = archive.read("index.html").decode()
    captions = set(re.findall(r"<caption>[^<]*?(\d+)</caption>", index))
    assert known["orders"] | known["invoices"] <= captions
    assert not (known["twin_orders"] | known["twin_invoices"]) & captions
    assert all(html.escape(title) in index for title in known["tickets"])
    metadata = orjson.loads(archive.read("metadata.json"))
    assert {s["key"]: s["status"] for s in metadata["sources"]} == dict.fromkeys(
        ALL_SOURCES, "complete"
    )
    readme = archive.read("README.txt").decode("utf-8-sig")
    assert "Elk systeem gaf volledig antwoord." in readme

    texts = {"json": json_file.read_text(encoding="utf-8")}
    texts.update((name, archive.read(name).decode("utf-8-sig")) for name in archive.namelist())
    assert EMAIL in texts["json"] and EMAIL in texts["metadata.json"]
    for name, text in texts.items():
        for other in OTHERS:
            assert other not in text, (name, other)

    page.goto(server + "/export/")  # both downloads are listed now
    assert page.get_by_role("cell", name="CSV (ZIP)").is_visible()
    assert page.get_by_role("cell", name="JSON", exact=True).is_visible()


def test_the_export_page_and_the_offline_index_have_no_accessibility_violations(
    signed_in: Any, server: str, tmp_path: Path
) -> None:
    page = signed_in
    page.goto(server + "/export/")
    found = {"/export/": _axe_violations(page)}
    zip_file, _headers = _download(
        page, "Download als spreadsheetbestanden (CSV in een ZIP)", "/export/csv", tmp_path
    )
    page.reload()  # now with "your exports" filled in
    found["/export/ with exports"] = _axe_violations(page)
    index = tmp_path / "index.html"
    index.write_bytes(zipfile.ZipFile(zip_file).read("index.html"))
    page.goto(index.as_uri())
    assert page.get_by_role("heading", level=1).inner_text().startswith("Uw gegevens bij")
    found["index.html"] = _axe_violations(page)
    for where, violations in found.items():
        for violation in violations:
            print(where, violation)
    assert found == {where: [] for where in found}


def _tab_to(page: Any, label: str) -> None:
    """Press Tab until the element named ``label`` has the focus."""
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("() => document.activeElement.textContent.trim()"))
        if seen[-1] == label:
            return
    raise AssertionError(f"{label!r} not reached by Tab: {seen}")


def test_both_downloads_by_keyboard_without_javascript_in_english(
    app: Flask, server: str, chromium: Any, tmp_path: Path
) -> None:
    """With the keyboard alone and JavaScript off, an English-speaking customer downloads both
    files; they are in English, and the English index.html passes axe-core too."""
    context = chromium.new_context(accept_downloads=True, java_script_enabled=False)
    page = context.new_page()
    _sign_in(app, page, server)
    page.goto(f"{server}/taal/en?next=/export/")
    assert page.get_by_role("heading", name="Download your data", level=1).is_visible()
    files = {}
    for label in ("Download as JSON", "Download as spreadsheet files (CSV in a ZIP)"):
        page.goto(server + "/export/")
        _tab_to(page, label)
        with page.expect_download() as download_info:
            page.keyboard.press("Enter")
        download = download_info.value
        files[label] = tmp_path / download.suggested_filename
        download.save_as(files[label])
    context.close()

    data = orjson.loads(files["Download as JSON"].read_bytes())
    assert data["language"] == "en" and data["complete"] is True
    archive = zipfile.ZipFile(files["Download as spreadsheet files (CSV in a ZIP)"])
    assert "Every system answered completely." in archive.read("README.txt").decode("utf-8-sig")
    index = tmp_path / "index.html"
    index.write_bytes(archive.read("index.html"))
    checker = chromium.new_context()  # axe-core runs as a script; the page has none of its own
    view = checker.new_page()
    view.goto(index.as_uri())
    assert view.locator("html").get_attribute("lang") == "en"
    assert view.get_by_role("heading", level=1).inner_text().startswith("Your data at")
    assert "Why we use it" in view.locator("main").inner_text()
    assert _axe_violations(view) == []
    checker.close()


#: How far the page is wider than the window: 0 when nothing runs off it sideways.
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
OPEN_ALL = "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"


def test_every_page_and_index_html_reflow_at_320_pixels(
    signed_in: Any, server: str, tmp_path: Path
) -> None:
    """WCAG 1.4.10: at 320 CSS pixels wide (a phone, or 400% zoom) nothing needs scrolling
    sideways; a wide table scrolls inside its own region. Every group and record open."""
    page = signed_in
    page.set_viewport_size({"width": 320, "height": 640})
    wide: dict[str, int] = {}
    for path in (
        "/mijn-gegevens/",
        "/mijn-gegevens/orders",
        "/mijn-gegevens/invoices",
        "/mijn-gegevens/support",
        "/mijn-gegevens/orders/gegeven?bron=webshop&soort=order&id=2098",
        "/export/",
        "/account",
        "/privacy",
    ):
        assert page.goto(server + path).status == 200, path
        page.evaluate(OPEN_ALL)
        wide[path] = page.evaluate(OVERFLOW)
    page.goto(server + "/export/")
    zip_file, _headers = _download(
        page, "Download als spreadsheetbestanden (CSV in een ZIP)", "/export/csv", tmp_path
    )
    index = tmp_path / "index.html"
    index.write_bytes(zipfile.ZipFile(zip_file).read("index.html"))
    page.goto(index.as_uri())
    wide["index.html"] = page.evaluate(OVERFLOW)
    assert wide == dict.fromkeys(wide, 0)
