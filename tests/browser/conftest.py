"""Fixtures of the browser tests: the app on a live server on a free port, and Debian's chromium.

A module overrides ``base_url`` to open the server under another name, ``settings_overrides``
for more settings (keep ``base_url`` in them; ``simulated_settings`` adds the vendor
simulators), or ``chromium_args`` to start chromium otherwise.
The helpers these fixtures use, and those the tests call, are in ``harness.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from flask import Flask

from ..auth.conftest import free_port
from .harness import CHROMIUM_ARGS, launch_chromium, serving

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """No request context pushed around the test: the server thread has its own."""


@pytest.fixture
def port() -> int:
    """The port the live server listens on."""
    return free_port()


@pytest.fixture
def base_url(port: int) -> str:
    """The live server's address, as the browser opens it and the app knows it."""
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def settings_overrides(base_url: str) -> dict[str, object]:
    return {"base_url": base_url}


@pytest.fixture
def simulated_settings(base_url: str, simulated_connectors: dict[str, object]) -> dict[str, object]:
    """``settings_overrides`` for a module whose sources answer from the vendor simulators."""
    return {
        "base_url": base_url,
        "connectors": simulated_connectors,
        "gather_budget_seconds": 10.0,
    }


@pytest.fixture
def server(app: Flask, port: int, base_url: str) -> Iterator[str]:
    """The app on a real HTTP server in a thread; its address."""
    with serving(app, port):
        yield base_url


@pytest.fixture
def chromium_args() -> list[str]:
    return list(CHROMIUM_ARGS)


@pytest.fixture
def chromium(chromium_args: list[str]) -> Iterator[Browser]:
    """Debian's chromium, headless, for one test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw, chromium_args)
        yield browser
        browser.close()
