"""The shared HTTP layer: retries, backoff, Retry-After within the budget, error mapping."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import httpx
import pytest

from connectors.errors import (
    AuthFailed,
    BadResponse,
    ErrorKind,
    NotFound,
    RateLimited,
    RecordRefused,
    RequestRejected,
    SourceTimeout,
    SourceUnavailable,
)
from connectors.http import Deadline, HttpClient, RetryPolicy, parse_retry_after

SECRET = "cs_topsecret"
EMAIL = "sanne.devries@example.nl"


def client_for(
    handler: Callable[[httpx.Request], httpx.Response], retry: RetryPolicy
) -> HttpClient:
    return HttpClient(
        "testvendor",
        "https://api.example.test/v1",
        auth=("ck_key", SECRET),
        retry=retry,
        transport=httpx.MockTransport(handler),
    )


def sequence(*responses: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    items = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = items.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler


def test_retries_5xx_with_backoff_then_succeeds(no_wait: RetryPolicy, sleeps: list[float]) -> None:
    handler = sequence(httpx.Response(503), httpx.Response(502), httpx.Response(200, json=[1]))
    with client_for(handler, no_wait) as client:
        session = client.session(Deadline(10))
        body, _ = session.get_json("customers")
    assert body == [1]
    assert (session.stats.requests, session.stats.attempts) == (1, 3)
    assert len(sleeps) == 2


def test_backoff_is_exponential_with_capped_jitter() -> None:
    policy = RetryPolicy(backoff_initial=0.5, backoff_max=4.0, jitter=0.25)
    waits = [policy.backoff(n) for n in (1, 2, 3, 4, 5)]
    for wait, base in zip(waits, (0.5, 1.0, 2.0, 4.0, 4.0), strict=True):
        assert base <= wait <= base + 0.25


def test_gives_up_after_the_last_attempt(no_wait: RetryPolicy) -> None:
    handler = sequence(*(httpx.Response(500) for _ in range(4)))
    with client_for(handler, no_wait) as client:
        session = client.session(Deadline(10))
        with pytest.raises(SourceUnavailable) as info:
            session.get_json("customers")
    assert info.value.kind == ErrorKind.DOWN
    assert session.stats.attempts == 4


def test_writes_are_not_retried_on_5xx(no_wait: RetryPolicy) -> None:
    handler = sequence(httpx.Response(503), httpx.Response(200, json={}))
    with client_for(handler, no_wait) as client:
        session = client.session(Deadline(10))
        with pytest.raises(SourceUnavailable):
            session.request("PUT", "customers/1", json={"first_name": "x"})
    assert session.stats.attempts == 1


def test_network_errors_are_retried_for_reads(no_wait: RetryPolicy) -> None:
    handler = sequence(httpx.ReadError("reset"), httpx.Response(200, json={}))
    with client_for(handler, no_wait) as client:
        session = client.session(Deadline(10))
        session.get_json("customers/1")
    assert session.stats.attempts == 2


def test_429_waits_retry_after_when_it_fits_the_budget(
    no_wait: RetryPolicy, sleeps: list[float]
) -> None:
    handler = sequence(
        httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json=[])
    )
    with client_for(handler, no_wait) as client:
        session = client.session(Deadline(10))
        session.get_json("contacts")
    assert sleeps == [2.0]
    assert session.stats.waited == 2.0


def test_429_beyond_the_budget_fails_fast_with_retry_after(
    no_wait: RetryPolicy, sleeps: list[float]
) -> None:
    handler = sequence(httpx.Response(429, headers={"Retry-After": "37"}))
    with client_for(handler, no_wait) as client:
        session = client.session(Deadline(5))
        with pytest.raises(RateLimited) as info:
            session.get_json("contacts")
    assert info.value.retry_after == 37.0
    assert info.value.kind == ErrorKind.RATE_LIMITED
    assert sleeps == []
    assert session.stats.attempts == 1


def test_retry_after_as_http_date() -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 2, 10, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 10 Feb 2025 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_expired_deadline_stops_before_sending(no_wait: RetryPolicy) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=[])

    with client_for(handler, no_wait) as client:
        with pytest.raises(SourceTimeout) as info:
            client.session(Deadline(0)).get_json("contacts")
    assert info.value.kind == ErrorKind.TIMEOUT
    assert sent == []


def test_timeouts_map_to_source_timeout(no_wait: RetryPolicy) -> None:
    handler = sequence(*(httpx.ReadTimeout("slow") for _ in range(4)))
    with client_for(handler, no_wait) as client:
        with pytest.raises(SourceTimeout):
            client.session(Deadline(10)).get_json("contacts")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthFailed),
        (403, AuthFailed),
        (404, NotFound),
        (410, NotFound),
        (400, RequestRejected),
        (422, RequestRejected),
    ],
)
def test_statuses_map_to_typed_errors(no_wait: RetryPolicy, status: int, error: type) -> None:
    handler = sequence(httpx.Response(status, json={"error": f"{EMAIL} is wrong"}))
    with client_for(handler, no_wait) as client:
        with pytest.raises(error) as info:
            client.session(Deadline(10)).get_json("contacts", params={"email": EMAIL})
    message = str(info.value)
    assert EMAIL not in message and SECRET not in message and "ck_key" not in message
    assert "/v1/contacts" in message


@pytest.mark.parametrize(
    ("method", "path", "path_params", "body", "error"),
    [
        # the lists a gathering or a health check starts from: the key is refused
        ("GET", "customers", None, {"code": "woocommerce_rest_cannot_view"}, AuthFailed),
        ("GET", "users/me", None, {"error": "Not authorized"}, AuthFailed),
        # one record: refused for that record, our credentials work
        ("GET", "tickets/{id}", {"id": 118}, {"error": "Not authorized"}, RecordRefused),
        (
            "PUT",
            "customers/{id}",
            {"id": 7},
            {"code": "woocommerce_rest_cannot_edit"},
            RecordRefused,
        ),
        (
            "GET",
            "https://api.example.test/v1/customers/cst_8wmqcHMN4U/payments",
            None,
            {},
            RecordRefused,
        ),
        # the vendor's code says so, whatever the path
        ("DELETE", "customers", None, {"code": "woocommerce_rest_cannot_delete"}, RecordRefused),
    ],
)
def test_a_403_for_one_record_is_no_credentials_failure(
    no_wait: RetryPolicy,
    method: str,
    path: str,
    path_params: dict[str, object] | None,
    body: dict[str, object],
    error: type,
) -> None:
    handler = sequence(httpx.Response(403, json=body))
    with client_for(handler, no_wait) as client:
        with pytest.raises(error) as info:
            client.session(Deadline(10)).request(method, path, path_params=path_params)
    assert info.value.status == 403
    assert info.value.kind == (ErrorKind.AUTH if error is AuthFailed else ErrorKind.REJECTED)
    assert "cst_8wmqcHMN4U" not in str(info.value)


@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"id": 101, "email": "sa'])
def test_malformed_json_is_bad_response(no_wait: RetryPolicy, body: bytes) -> None:
    handler = sequence(httpx.Response(200, content=body))
    with client_for(handler, no_wait) as client:
        with pytest.raises(BadResponse) as info:
            client.session(Deadline(10)).get_json("contacts")
    assert info.value.kind == ErrorKind.BAD_DATA


def test_redirects_and_foreign_hosts_are_refused(no_wait: RetryPolicy) -> None:
    handler = sequence(httpx.Response(302, headers={"Location": "https://evil.test/"}))
    with client_for(handler, no_wait) as client:
        session = client.session(Deadline(10))
        with pytest.raises(BadResponse):
            session.get_json("contacts")
        with pytest.raises(BadResponse):
            session.get_json("https://evil.test/v1/contacts?page=2")


def test_logs_name_the_path_but_never_the_query_or_secrets(
    no_wait: RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    statuses = [503]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(statuses.pop() if statuses else 200, json=[])

    caplog.set_level(logging.DEBUG)
    with client_for(handler, no_wait) as client:
        session = client.session(Deadline(10))
        session.get_json("contacts", params={"email": EMAIL})
        session.request("GET", "contacts/customer_id/{number}.json", path_params={"number": "1042"})
    text = caplog.text
    assert "/v1/contacts" in text and "attempt 2" in text
    assert "/v1/contacts/customer_id/{number}.json" in text
    assert EMAIL not in text and "sanne" not in text and "1042" not in text
    assert SECRET not in text


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("customers/cst_Tz4Kd8Wm1S/payments", "/v1/customers/{id}/payments"),
        ("customers/cst_abcdefgh/mandates", "/v1/customers/{id}/mandates"),  # no digit
        (
            "https://api.example.test/v1/customers/cst_Tz4Kd8Wm1S/payments?from=tr_Gk2Mw8PxLs",
            "/v1/customers/{id}/payments",
        ),  # a next page's URL
        ("orders/1977/notes/9268", "/v1/orders/{id}/notes/{id}"),
        ("contacts/431877251120719881.json", "/v1/contacts/{id}.json"),
        ("search/" + EMAIL, "/v1/search/{id}"),
        ("ticket_articles/by_ticket/518", "/v1/ticket_articles/by_ticket/{id}"),
        ("data_privacy_tasks", "/v1/data_privacy_tasks"),
        ("sales_invoices.json", "/v1/sales_invoices.json"),
    ],
)
def test_a_path_given_whole_is_logged_without_the_ids_in_it(
    no_wait: RetryPolicy, caplog: pytest.LogCaptureFixture, path: str, logged: str
) -> None:
    """Vendor ids are the person's too: a path made with them (or a next page's URL) is
    logged with each id as ``{id}``, and each request's attempts are counted from 1."""
    statuses = [200, 503]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(statuses.pop() if statuses else 200, json=[])

    caplog.set_level(logging.INFO, logger="connectors.http")
    with client_for(handler, no_wait) as client:
        session = client.session(Deadline(10))
        session.get_json("contacts")  # answered 503, then 200
        session.get_json(path)
    lines = [r.getMessage() for r in caplog.records if r.name == "connectors.http"]
    assert len(lines) == 3, lines
    assert lines[0].startswith("testvendor GET /v1/contacts -> 503 (attempt 1,")
    assert lines[1].startswith("testvendor GET /v1/contacts -> 200 (attempt 2,")
    assert lines[2].startswith(f"testvendor GET {logged} -> 200 (attempt 1,")  # its own count
    assert session.stats.attempts == 3


def test_duplicate_requests_are_counted(no_wait: RetryPolicy) -> None:
    with client_for(lambda request: httpx.Response(200, json=[]), no_wait) as client:
        session = client.session(Deadline(10))
        session.get_json("contacts", params={"page": 1})
        session.get_json("contacts", params={"page": 2})
        assert session.stats.duplicates == 0
        session.get_json("contacts", params={"page": 1})
        assert (session.stats.requests, session.stats.duplicates) == (3, 1)
        # A new session (a new gathering) starts counting afresh.
        assert client.session(Deadline(10)).stats.requests == 0


def test_a_real_closed_port_is_source_unavailable(no_wait: RetryPolicy) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with HttpClient("testvendor", f"http://127.0.0.1:{port}/api", retry=no_wait) as client:
        session = client.session(Deadline(5))
        with pytest.raises(SourceUnavailable) as info:
            session.get_json("users/me")
    assert info.value.kind == ErrorKind.DOWN
    assert session.stats.attempts == 4
