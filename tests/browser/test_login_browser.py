"""Signing in with a real browser (Debian's chromium through Playwright) on a live server."""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EMAIL = "sanne.devries@example.nl"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


PORT = _free_port()
OUTBOX = f"outbox-browser-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """No request context pushed around the test: the server thread has its own."""


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "base_url": f"http://127.0.0.1:{PORT}",
        "mail_transport": "file",
        "mail_outbox": OUTBOX,
    }


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
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


def _mails(app: Flask) -> list[Path]:
    return sorted((Path(app.instance_path) / OUTBOX).glob("*.eml"))


def _wait_for_mail(app: Flask, count: int) -> EmailMessage:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        files = _mails(app)
        if len(files) >= count:
            message = message_from_bytes(files[-1].read_bytes(), policy=default_policy)
            assert isinstance(message, EmailMessage)
            return message
        time.sleep(0.05)
    raise AssertionError("no e-mail written")


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def _ask_code(page: Any, base: str) -> None:
    page.goto(base + "/")
    page.get_by_role("link", name="Inloggen met uw e-mailadres").click()
    page.get_by_label("E-mailadres").fill(EMAIL)
    page.get_by_role("button", name="Stuur mij een code").click()
    page.wait_for_url(re.compile(r".*/inloggen/code$"))


def test_sign_in_with_the_code(app: Flask, server: str, chromium: Any) -> None:
    context = chromium.new_context()
    page = context.new_page()
    before = len(_mails(app))
    _ask_code(page, server)
    code_field = page.get_by_label("Inlogcode")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert code_field.get_attribute("inputmode") == "numeric"
    message = _wait_for_mail(app, before + 1)
    code = re.search(r"\b(\d{6})\b", _text(message))
    assert code
    code_field.fill("000000" if code.group(1) != "000000" else "111111")
    page.get_by_role("button", name="Inloggen").click()
    assert page.locator(".error-summary").is_visible()
    assert page.locator("#code-error").is_visible()
    page.get_by_label("Inlogcode").fill(code.group(1))
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(re.compile(r".*/account$"))
    assert page.get_by_role("heading", name="Mijn account").is_visible()
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("button", name="Uitloggen").click()
    page.wait_for_url(server + "/")
    assert page.get_by_role("link", name="Inloggen", exact=True).is_visible()
    context.close()


def test_sign_in_with_the_link_only_in_the_same_browser(
    app: Flask, server: str, chromium: Any
) -> None:
    mine = chromium.new_context()
    page = mine.new_page()
    before = len(_mails(app))
    _ask_code(page, server)
    link = re.search(r"(http://\S+/inloggen/link/\S+)", _text(_wait_for_mail(app, before + 1)))
    assert link

    theirs = chromium.new_context()  # another browser: no cookie of this attempt
    other = theirs.new_page()
    other.goto(link.group(1))
    assert other.locator(".error-summary").is_visible()
    assert other.get_by_role("button", name="Inloggen").count() == 0
    theirs.close()

    page.goto(link.group(1))  # a GET shows a button and signs nobody in
    assert page.get_by_role("heading", name="Inloggen").is_visible()
    page.get_by_role("main").get_by_role("button", name="Inloggen").click()
    page.wait_for_url(re.compile(r".*/account$"))
    assert page.get_by_text(EMAIL).is_visible()
    mine.close()
