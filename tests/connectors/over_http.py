"""Connectors over real HTTP to a simulator, with a failing answer put in front of one path;
a shop and its payment provider gathered together."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import httpx

from connectors import GatherResult, Identity, RetryPolicy, create, gather
from connectors.base import BaseConnector
from simulators.runner import SimulatorHandle


def connect(
    handle: SimulatorHandle, retry: RetryPolicy, transport: httpx.BaseTransport | None = None
) -> BaseConnector:
    """A connector of ``handle``'s vendor pointed at it, through ``transport`` if given."""
    config = {"base_url": handle.base_url, **handle.credentials}
    return create(handle.vendor, config, retry=retry, transport=transport)


class Answering(httpx.BaseTransport):
    """Real HTTP, except that requests whose path starts with ``prefix`` (or, for a pattern,
    is all of it) get ``answer``."""

    def __init__(
        self, prefix: str | re.Pattern[str], answer: Callable[[httpx.Request], httpx.Response]
    ) -> None:
        self.prefix = prefix
        self.answer = answer
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if isinstance(self.prefix, re.Pattern):
            chosen = self.prefix.fullmatch(path) is not None
        else:
            chosen = path.startswith(self.prefix)
        if chosen:
            return self.answer(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def gather_shop_and_payments(
    sims: Mapping[str, SimulatorHandle],
    retry: RetryPolicy,
    email: str,
    *,
    mollie: httpx.BaseTransport | None = None,
    budget: float = 20.0,
    kept: Mapping[str, list[tuple[str, str]]] | None = None,
) -> GatherResult:
    """Gather ``email``'s records from the WooCommerce and Mollie simulators in ``sims``
    (Mollie's through ``mollie`` if given)."""
    connectors = [connect(sims["woocommerce"], retry), connect(sims["mollie"], retry, mollie)]
    try:
        return gather(connectors, Identity.of(emails=[email]), budget=budget, kept=kept)
    finally:
        for one in connectors:
            one.close()
