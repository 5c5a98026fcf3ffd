"""The customer's overview in a real browser: keyboard only, no JavaScript of ours, and no
accessibility violations found by axe-core (WCAG 2.1 A and AA) on the main pages."""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from simulators import SimulatorGroup

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
AXE = Path(__file__).resolve().parent.parent / "node" / "node_modules" / "axe-core" / "axe.min.js"
EMAIL = "sanne.devries@example.nl"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
    pytest.mark.skipif(not AXE.exists(), reason="needs axe-core: npm ci --prefix tests/node"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


PORT = _free_port()
OUTBOX = f"outbox-customer-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """No request context pushed around the test: the server thread has its own."""


@pytest.fixture
def settings_overrides(simulated_connectors: dict[str, object]) -> dict[str, object]:
    return {
        "base_url": f"http://127.0.0.1:{PORT}",
        "mail_transport": "file",
        "mail_outbox": OUTBOX,
        "connectors": simulated_connectors,
        "gather_budget_seconds": 10.0,
    }


@pytest.fixture
def server(app: Flask, simulators: SimulatorGroup) -> Iterator[str]:
    """The app on a real HTTP server in a thread."""
    httpd = make_server("127.0.0.1", PORT, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{PORT}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _code_from_mail(app: Flask, count: int) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        files = sorted((Path(app.instance_path) / OUTBOX).glob("*.eml"))
        if len(files) >= count:
            message = message_from_bytes(files[-1].read_bytes(), policy=default_policy)
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            match = re.search(r"\b(\d{6})\b", str(body.get_content()))  # type: ignore[attr-defined]
            assert match
            return match.group(1)
        time.sleep(0.05)
    raise AssertionError("no e-mail written")


def _sign_in(app: Flask, page: Any, base: str) -> None:
    before = len(list((Path(app.instance_path) / OUTBOX).glob("*.eml")))
    page.goto(base + "/inloggen")
    page.get_by_label("E-mailadres").fill(EMAIL)
    page.get_by_role("button", name="Stuur mij een code").click()
    page.wait_for_url(re.compile(r".*/inloggen/code$"))
    page.get_by_label("Inlogcode").fill(_code_from_mail(app, before + 1))
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(re.compile(r".*/account$"))


def _axe_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        })).violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                  nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))"""
    )
    return violations


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
    found: dict[str, list[dict[str, Any]]] = {}
    for path in ("/", "/privacy", "/inloggen"):
        page.goto(server + path)
        found[path] = _axe_violations(page)
    _sign_in(app, page, server)
    page.goto(server + "/mijn-gegevens/")
    for summary in page.locator("#cat-orders details.records > summary, #cat-orders summary").all():
        summary.click()
    found["/mijn-gegevens/"] = _axe_violations(page)
    page.goto(server + "/mijn-gegevens/orders")
    page.locator("details.record > summary").first.click()
    found["/mijn-gegevens/orders"] = _axe_violations(page)
    page.goto(server + "/account")
    found["/account"] = _axe_violations(page)
    for path, violations in found.items():
        for violation in violations:
            print(path, violation)
    assert found == {path: [] for path in found}
    context.close()
