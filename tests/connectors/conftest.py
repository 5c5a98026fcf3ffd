"""Fixtures for the connector tests: no-wait retry policies, identities and mock transports."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors import Identity, RetryPolicy, create
from simulators import start
from simulators.runner import SimulatorHandle

from .freshdesk_desk import WORLD, Desk

FIXTURES = Path(__file__).parent / "fixtures"

SANNE = "sanne.devries@example.nl"
OTHER_SANNE = "sanne.de.vries@example.nl"


def fixture_json(vendor: str, name: str) -> Any:
    """Load ``fixtures/<vendor>/<name>.json``."""
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


class Sleeps(list[float]):
    """A fake ``sleep`` that records how long it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    """The waits of the :func:`no_wait` policy."""
    return Sleeps()


@pytest.fixture
def no_wait(sleeps: Sleeps) -> RetryPolicy:
    """A retry policy with zero backoff that records waits instead of sleeping."""
    return RetryPolicy(attempts=4, backoff_initial=0.0, backoff_max=0.0, jitter=0.0, sleep=sleeps)


@pytest.fixture
def sims() -> Iterator[dict[str, SimulatorHandle]]:
    """A WooCommerce and a Mollie simulator of their own (their data may be changed)."""
    handles = {vendor: start(vendor) for vendor in ("woocommerce", "mollie")}
    try:
        yield handles
    finally:
        for handle in handles.values():
            handle.stop()


@pytest.fixture
def sanne() -> Identity:
    """The data subject of the samples, verified by e-mail."""
    return Identity.of(emails=[SANNE])


Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def recorded() -> Iterator[Callable[[Handler], tuple[httpx.MockTransport, list[httpx.Request]]]]:
    """Wrap a handler in a MockTransport that records every request it gets."""

    def make(handler: Handler) -> tuple[httpx.MockTransport, list[httpx.Request]]:
        requests: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            return handler(request)

        return httpx.MockTransport(record), requests

    yield make


@pytest.fixture
def desk(no_wait: RetryPolicy) -> Iterator[Desk]:
    """A Freshdesk simulator of its own (its data may be changed) and a connector for it."""
    handle = start("freshdesk", world=WORLD)
    config = {"base_url": handle.base_url, **handle.credentials}
    connector = create("freshdesk", config, retry=no_wait)
    try:
        yield Desk(handle, connector)
    finally:
        connector.close()
        handle.stop()
