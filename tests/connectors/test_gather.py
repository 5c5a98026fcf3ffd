"""Gathering: concurrent, one budget, every source gets an honest status."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors import (
    ErrorKind,
    Identity,
    RetryPolicy,
    SourceStatus,
    gather,
)
from connectors.base import BaseConnector, Candidate, ConfigField, Draft, Match, Run
from connectors.http import HttpClient
from connectors.identity import IdentifierKind

SANNE = "sanne.devries@example.nl"


class FakeConnector(BaseConnector):
    """One GET for the person, one related list; behaviour decided by the transport."""

    name = "fake"
    title = "Fake"
    config_schema = (ConfigField("base_url", required=True),)
    default_categories = {"person.*": "contact", "thing.*": "orders"}

    def make_http(self, *, transport: Any, retry: Any, timeout: httpx.Timeout) -> HttpClient:
        return HttpClient(
            self.name, self.config["base_url"], retry=retry, transport=transport, timeout=timeout
        )

    def find(self, run: Run) -> Iterator[Candidate]:
        for email in run.identity.values(IdentifierKind.EMAIL):
            body, _ = run.http.get_json("people", params={"email": email})
            for person in body:
                yield Candidate(
                    "person", str(person["id"]), ((IdentifierKind.EMAIL, person["email"]),), person
                )

    def expand(self, run: Run, match: Match) -> Iterator[Draft]:
        yield Draft("person", match.candidate.record_id, {"email": match.candidate.raw["email"]})
        things = run.related("things", lambda: run.http.get_json("things")[0])
        for thing in things:
            yield Draft(
                "thing",
                str(thing["id"]),
                {"name": thing["name"]},
                parent=("person", match.candidate.record_id),
            )

    def probe(self, run: Run) -> None:
        run.http.get_json("people")


def transport(
    delay: float = 0.0,
    people_status: int = 200,
    things_status: int = 200,
    retry_after: str | None = None,
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        time.sleep(delay)
        if request.url.path.endswith("/people"):
            headers = {"Retry-After": retry_after} if retry_after else {}
            if people_status != 200:
                return httpx.Response(people_status, headers=headers)
            return httpx.Response(
                200,
                json=[{"id": 1, "email": SANNE}, {"id": 2, "email": "sanne.de.vries@example.nl"}],
            )
        if things_status != 200:
            return httpx.Response(things_status)
        return httpx.Response(200, json=[{"id": 7, "name": "espresso"}])

    return httpx.MockTransport(handler)


def fake(name: str, no_wait: RetryPolicy, **behaviour: Any) -> FakeConnector:
    return FakeConnector(
        {"base_url": f"https://{name}.example.test"},
        instance_name=name,
        transport=transport(**behaviour),
        retry=no_wait,
    )


@pytest.fixture
def sources(no_wait: RetryPolicy) -> Iterator[list[FakeConnector]]:
    made = [
        fake("ok", no_wait),
        fake("partial", no_wait, things_status=503),
        fake("auth", no_wait, people_status=401),
        fake("limited", no_wait, people_status=429, retry_after="3600"),
        fake("broken", no_wait, people_status=500),
    ]
    yield made
    for connector in made:
        connector.close()


def test_each_source_gets_an_honest_status(sources: list[FakeConnector]) -> None:
    result = gather(
        sources,
        Identity.of(emails=[SANNE]),
        budget=5,
        unavailable={"moneybird": ErrorKind.NOT_CONFIGURED},
    )
    status = {name: (r.status, r.error_kind) for name, r in result.sources.items()}
    assert status == {
        "moneybird": (SourceStatus.SKIPPED, ErrorKind.NOT_CONFIGURED),
        "ok": (SourceStatus.COMPLETE, None),
        "partial": (SourceStatus.PARTIAL, None),
        "auth": (SourceStatus.FAILED, ErrorKind.AUTH),
        "limited": (SourceStatus.FAILED, ErrorKind.RATE_LIMITED),
        "broken": (SourceStatus.FAILED, ErrorKind.DOWN),
    }
    assert result.sources["limited"].retry_after == 3600
    assert [(m.what, m.kind) for m in result.sources["partial"].missing] == [
        ("things", ErrorKind.DOWN)
    ]
    assert not result.complete
    ok = result.sources["ok"]
    assert [r.record_type for r in ok.records] == ["person", "thing"]
    assert ok.requests == 2 and ok.dropped == 1 and ok.duplicates == 0
    assert all(r.matched.value == SANNE for r in result.records)


def test_sources_without_a_usable_identifier_are_skipped(no_wait: RetryPolicy) -> None:
    with fake("ok", no_wait) as connector:
        result = gather([connector], Identity.of(phones=["0612345678"]))
    assert result.sources["ok"].status == SourceStatus.SKIPPED
    assert result.sources["ok"].error_kind == ErrorKind.NO_IDENTIFIER
    assert result.sources["ok"].requests == 0


def test_sources_run_concurrently(no_wait: RetryPolicy) -> None:
    made = [fake(f"slow{i}", no_wait, delay=0.2) for i in range(4)]
    try:
        started = time.monotonic()
        result = gather(made, Identity.of(emails=[SANNE]), budget=5)
        elapsed = time.monotonic() - started
    finally:
        for connector in made:
            connector.close()
    assert all(r.status == SourceStatus.COMPLETE for r in result.sources.values())
    # Each source makes two sequential 0.2 s requests; run one after another this takes 3.2 s.
    assert elapsed < 1.2


def test_a_slow_source_fails_with_timeout_within_the_budget() -> None:
    policy = RetryPolicy(attempts=3, backoff_initial=0.0, jitter=0.0)

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow")

    slow = FakeConnector(
        {"base_url": "https://slow.example.test"},
        instance_name="slow",
        transport=httpx.MockTransport(handler),
        retry=policy,
    )
    with slow:
        result = gather([slow], Identity.of(emails=[SANNE]), budget=1)
    assert result.sources["slow"].status == SourceStatus.FAILED
    assert result.sources["slow"].error_kind == ErrorKind.TIMEOUT


def test_a_crashing_connector_is_reported_not_raised(no_wait: RetryPolicy) -> None:
    class Crashing(FakeConnector):
        def find(self, run: Run) -> Iterator[Candidate]:
            raise RuntimeError(f"bug involving {SANNE}")

    with Crashing(
        {"base_url": "https://x.example.test"}, instance_name="crash", retry=no_wait
    ) as c:
        result = gather([c], Identity.of(emails=[SANNE]))
    assert result.sources["crash"].status == SourceStatus.FAILED
    assert result.sources["crash"].error_kind == ErrorKind.INTERNAL


def test_retry_after_within_the_budget_is_waited_for(
    no_wait: RetryPolicy, sleeps: list[float]
) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "2"})
        if request.url.path.endswith("/people"):
            return httpx.Response(200, json=[{"id": 1, "email": SANNE}])
        return httpx.Response(200, json=[])

    with FakeConnector(
        {"base_url": "https://r.example.test"},
        instance_name="r",
        transport=httpx.MockTransport(handler),
        retry=no_wait,
    ) as connector:
        result = gather([connector], Identity.of(emails=[SANNE]), budget=10)
    assert result.sources["r"].status == SourceStatus.COMPLETE
    assert sleeps == [2.0]
    assert result.sources["r"].attempts == 3 and result.sources["r"].requests == 2
