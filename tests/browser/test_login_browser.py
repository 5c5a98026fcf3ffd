"""Signing in with a real browser (Debian's chromium through Playwright) on a live server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from ..auth.conftest import Mailbox
from .harness import BROWSER, CHROMIUM_ARGS, CUSTOMER_EMAIL, FileOutbox, ask_for_code, enter_code

EMAIL = CUSTOMER_EMAIL
OUTBOX = FileOutbox("outbox-browser")

pytestmark = BROWSER


@pytest.fixture
def chromium_args() -> list[str]:
    return [
        *CHROMIUM_ARGS,
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]


@pytest.fixture
def settings_overrides(base_url: str) -> dict[str, object]:
    return {"base_url": base_url, **OUTBOX.settings}


def _ask_code(page: Any, base: str) -> None:
    page.goto(base + "/")
    page.get_by_role("link", name="Inloggen met uw e-mailadres").click()
    ask_for_code(page, EMAIL)


def test_sign_in_with_the_code(app: Flask, server: str, chromium: Any) -> None:
    context = chromium.new_context()
    page = context.new_page()
    before = len(OUTBOX.files(app))
    _ask_code(page, server)
    code_field = page.get_by_label("Inlogcode")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert code_field.get_attribute("inputmode") == "numeric"
    code = Mailbox.code_in(OUTBOX.wait_for(app, before + 1))
    code_field.fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Inloggen").click()
    assert page.locator(".error-summary").is_visible()
    assert page.locator("#code-error").is_visible()
    enter_code(page, code)
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
    before = len(OUTBOX.files(app))
    _ask_code(page, server)
    text = Mailbox.text_of(OUTBOX.wait_for(app, before + 1))
    link = re.search(r"(http://\S+/inloggen/link/\S+)", text)
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
