"""Connectors over real HTTP against answers that a vendor, a proxy or a firewall in front of it
may give and no simulator fault mode covers: each must fail the source or make it partial,
never pass for a complete answer."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from connectors import (
    BadResponse,
    ConnectorError,
    Deadline,
    ErrorKind,
    Identity,
    RecordRef,
    RetryPolicy,
    SourceStatus,
    SourceTimeout,
    gather,
)
from connectors.http import HttpClient

from .scripted import Script, ScriptedServer, html_answer, json_answer, trickle

SANNE = Identity.of(emails=["sanne.devries@example.nl"])
MOLLIE_SANNE = "cst_Vd3sNq7Lw2"
#: Sanne's main record in each system.
MAIN = {
    "woocommerce": ("customer", "101"),
    "moneybird": ("contact", "431877251120719881"),
    "zammad": ("user", "27"),
    "freshdesk": ("contact", "80012345671"),
    "mollie": ("customer", MOLLIE_SANNE),
}
VENDORS = list(MAIN)


@pytest.mark.parametrize(
    "body",
    [{}, {"count": 3}, {"status": 200, "title": "OK"}, {"count": 0, "_links": {"next": None}}],
)
def test_a_mollie_customer_page_without_embedded_items_fails_the_source(
    no_wait: RetryPolicy, body: dict[str, Any]
) -> None:
    """Such a page is no empty last page: the customer list is unread."""

    def script(request: Request) -> Response | None:
        return json_answer(body) if request.path == "/v2/customers" else None

    with ScriptedServer("mollie", script) as server, server.connector(no_wait) as connector:
        source = gather([connector], SANNE).sources["mollie"]
    assert (source.status, source.error_kind) == (SourceStatus.FAILED, ErrorKind.BAD_DATA)


@pytest.mark.parametrize(
    "body",
    [
        {"count": 0, "_embedded": {"payments": []}},  # no _links
        {"count": 2, "_embedded": {"payments": []}, "_links": {"next": None}},
        {"_embedded": {"payments": []}, "_links": {"next": {"type": "application/hal+json"}}},
    ],
)
def test_a_mollie_payment_page_of_another_shape_makes_the_result_partial(
    no_wait: RetryPolicy, body: dict[str, Any]
) -> None:
    def script(request: Request) -> Response | None:
        if request.path == f"/v2/customers/{MOLLIE_SANNE}/payments":
            return json_answer(body)
        return None

    with ScriptedServer("mollie", script) as server, server.connector(no_wait) as connector:
        source = gather([connector], SANNE).sources["mollie"]
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("payments", ErrorKind.BAD_DATA)]


def test_an_empty_mollie_list_is_complete(no_wait: RetryPolicy) -> None:
    """The shape Mollie gives an empty list is read as one (not as a broken page)."""

    def script(request: Request) -> Response | None:
        if request.path == f"/v2/customers/{MOLLIE_SANNE}/payments":
            empty = {"count": 0, "_embedded": {"payments": []}, "_links": {"next": None}}
            return json_answer(empty)
        return None

    with ScriptedServer("mollie", script) as server, server.connector(no_wait) as connector:
        source = gather([connector], SANNE).sources["mollie"]
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    theirs = [
        r.record_type for r in source.records if r.parent and r.parent.record_id == MOLLIE_SANNE
    ]
    assert "payment" not in theirs and "mandate" in theirs
    assert MOLLIE_SANNE in {r.record_id for r in source.records if r.record_type == "customer"}


def woo_orders_in_pages_of_two(
    server: ScriptedServer, drop_link: bool, total: str | None = None
) -> Script:
    """A script that pages the customer's orders two at a time, without ``Link`` if told,
    and with another ``X-WP-Total`` if given."""

    def script(request: Request) -> Response | None:
        if request.path != "/wp-json/wc/v3/orders" or "customer" not in request.args:
            return None
        answer = server.forward(request, per_page="2")
        if drop_link:
            del answer.headers["Link"]
        if total is not None:
            answer.headers["X-WP-Total"] = total
        return answer

    return script


def woo_order_ids(records: Any) -> set[str]:
    return {r.record_id for r in records if r.record_type == "order"}


def test_woocommerce_pages_without_link_are_read_by_number(no_wait: RetryPolicy) -> None:
    """A proxy or plugin dropped the ``Link`` header: ``X-WP-TotalPages`` still says how many
    pages there are, so every page is read (not the first one passed off as all)."""
    with ScriptedServer("woocommerce") as server, server.connector(no_wait) as connector:
        expected = woo_order_ids(gather([connector], SANNE).sources["woocommerce"].records)
        server.script = woo_orders_in_pages_of_two(server, drop_link=True)
        server.requests.clear()
        source = gather([connector], SANNE).sources["woocommerce"]
    pages = [p for m, p in server.requests if p == "/wp-json/wc/v3/orders"]
    assert len(expected) > 4 and len(pages) > 3
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    assert woo_order_ids(source.records) == expected


@pytest.mark.parametrize(("drop_link", "total"), [(False, "1000"), (True, "1"), (True, "x")])
def test_woocommerce_pages_that_do_not_add_up_are_a_bad_answer(
    no_wait: RetryPolicy, drop_link: bool, total: str
) -> None:
    with ScriptedServer("woocommerce") as server, server.connector(no_wait) as connector:
        server.script = woo_orders_in_pages_of_two(server, drop_link, total)
        source = gather([connector], SANNE).sources["woocommerce"]
    assert source.status == SourceStatus.PARTIAL
    assert ("orders", ErrorKind.BAD_DATA) in [(m.what, m.kind) for m in source.missing]


def dribble(first: bytes, last: bytes, seconds: float = 10.0) -> Iterator[bytes]:
    """``first``, then a space every 0.2 s for ``seconds``, then ``last``: JSON that comes in
    slowly enough for every single read to be quick."""
    yield first
    for _ in range(int(seconds / 0.2)):
        time.sleep(0.2)
        yield b" "
    yield last


def test_a_body_that_trickles_in_is_cut_off_at_the_deadline(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if request.path == "/api/v1/users/search":
            return trickle(dribble(b"[", b"]"))
        return None

    with ScriptedServer("zammad", script) as server, server.connector(no_wait) as connector:
        started = time.monotonic()
        with pytest.raises(SourceTimeout):
            connector.fetch(SANNE, deadline=Deadline(1.0))
        assert time.monotonic() - started < 2.5
        started = time.monotonic()
        source = gather([connector], SANNE, budget=1.0).sources["zammad"]
        assert time.monotonic() - started < 2.5
    assert (source.status, source.error_kind) == (SourceStatus.FAILED, ErrorKind.TIMEOUT)


def test_a_write_whose_answer_trickles_in_is_cut_off_at_the_deadline(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if request.method == "PUT":
            return trickle(dribble(b"{", b'"id": 27}'))
        return None

    with ScriptedServer("zammad", script) as server, server.connector(no_wait) as connector:
        started = time.monotonic()
        with pytest.raises(SourceTimeout):
            connector.apply_correction(
                RecordRef("zammad", "user", "27"), "city", "Utrecht", deadline=Deadline(1.0)
            )
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_above_the_size_cap_is_a_bad_answer(no_wait: RetryPolicy, chunked: bool) -> None:
    big = json.dumps([{"id": 27, "note": "A" * 5000}]).encode()

    def script(request: Request) -> Response | None:
        if chunked:  # no Content-Length: the cap is noticed while reading
            return trickle(iter([big[:2000], big[2000:]]))
        return Response(big, mimetype="application/json")

    with ScriptedServer("zammad", script) as server:
        client = HttpClient("zammad", server.base_url, retry=no_wait, max_body_bytes=4096)
        with client:
            session = client.session(Deadline(5))
            with pytest.raises(BadResponse):
                session.get_json("users/search")
            assert session.stats.attempts == 1  # not retried: the answer is what it is
            client.max_body_bytes = len(big)
            body, _ = session.get_json("users/search")
    assert body[0]["id"] == 27


def test_a_compressed_body_is_read_once_decompressed(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        packed = gzip.compress(json.dumps([{"id": 27}]).encode())
        return Response(packed, mimetype="application/json", headers={"Content-Encoding": "gzip"})

    with ScriptedServer("zammad", script) as server:
        with HttpClient("zammad", server.base_url, retry=no_wait) as client:
            body, response = client.session(Deadline(5)).get_json("users/search")
    assert body == [{"id": 27}] and response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("checked", [False, True])
def test_a_404_page_in_front_of_the_vendor_is_not_an_erased_record(
    no_wait: RetryPolicy, vendor: str, checked: bool
) -> None:
    """A proxy's or a wrong host's 404 page says nothing about the record: the erasure fails
    (not configured) instead of closing as "already gone"."""
    with ScriptedServer(vendor, lambda request: html_answer(404)) as server:
        with server.connector(no_wait) as connector, pytest.raises(ConnectorError) as info:
            ref = RecordRef(vendor, *MAIN[vendor])
            connector.erase(ref, identity=SANNE if checked else None)
    assert info.value.kind == ErrorKind.NOT_CONFIGURED


@pytest.mark.parametrize(
    ("vendor", "body"),
    [
        (
            "woocommerce",
            {"code": "rest_no_route", "message": "No route was found.", "data": {"status": 404}},
        ),
        ("zammad", {"error": 'No route matches [DELETE] "/api/v1/users/27"'}),
    ],
)
def test_a_route_the_vendor_does_not_have_is_not_an_erased_record(
    no_wait: RetryPolicy, vendor: str, body: dict[str, Any]
) -> None:
    """Every path answering the vendor's own "no such route" (permalinks off, a wrong base
    URL) is a configuration error, not a record that is gone."""
    with ScriptedServer(vendor, lambda request: json_answer(body, 404)) as server:
        with server.connector(no_wait) as connector, pytest.raises(ConnectorError) as info:
            connector.erase(RecordRef(vendor, *MAIN[vendor]), identity=SANNE)
    assert info.value.kind == ErrorKind.NOT_CONFIGURED


# (Zammad deletes nothing with DELETE: users and tickets go by data privacy tasks)
@pytest.mark.parametrize("vendor", [v for v in VENDORS if v != "zammad"])
def test_a_deletion_answered_by_a_200_page_is_not_a_deletion(
    no_wait: RetryPolicy, vendor: str
) -> None:
    """A firewall's or maintenance page answering the DELETE with 200: nothing was deleted."""

    def script(request: Request) -> Response | None:
        return html_answer(200) if request.method == "DELETE" else None

    with ScriptedServer(vendor, script) as server, server.connector(no_wait) as connector:
        records = connector.fetch(SANNE).records
        deleted = [r for r in records if connector.erasure_action(r.record_type) == "delete"]
        record = deleted[0]
        with pytest.raises(BadResponse):
            connector.erase(record.ref)
    assert "DELETE" in {method for method, _ in server.requests}


def test_a_woocommerce_search_row_without_billing_fails_nothing(no_wait: RetryPolicy) -> None:
    """The order search is fuzzy: one row of someone else's with ``"billing": null`` is
    dropped, it does not fail the shop. (Only the search for orders not in the trash gets the
    row: the trash holds none, so no row to copy.)"""

    def script(request: Request) -> Response | None:
        if request.path != "/wp-json/wc/v3/orders" or "search" not in request.args:
            return None
        if "status" in request.args:
            return None
        answer = server.forward(request)
        rows = json.loads(answer.get_data())
        rows.append({**rows[0], "id": 999999, "customer_id": 0, "billing": None})
        answer.set_data(json.dumps(rows))
        answer.headers["X-WP-Total"] = str(len(rows))
        return answer

    with ScriptedServer("woocommerce") as server, server.connector(no_wait) as connector:
        expected = woo_order_ids(gather([connector], SANNE).sources["woocommerce"].records)
        server.script = script
        source = gather([connector], SANNE).sources["woocommerce"]
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    assert woo_order_ids(source.records) == expected


def maintenance(retry_after: str) -> Response:
    """A host's maintenance page: 503 with ``Retry-After``."""
    answer = html_answer(503, "<html><body>Onderhoud, zo terug.</body></html>")
    answer.headers["Retry-After"] = retry_after
    return answer


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_503_asking_to_wait_beyond_the_budget_fails_the_source_at_once(
    no_wait: RetryPolicy, sleeps: list[float], vendor: str
) -> None:
    """Retrying within the budget is futile when the vendor says it is back in an hour: the
    source fails without retrying or waiting, and says how long to wait. (WooCommerce's guest
    order searches, related lists, are asked before the customer lookup that fails the shop:
    one for the orders and one for those in the trash, the same path with another query.)"""
    asked: list[tuple[str, str]] = []

    def script(request: Request) -> Response:
        asked.append((request.method, request.full_path))
        return maintenance("3600")

    with ScriptedServer(vendor, script) as server, server.connector(no_wait) as connector:
        source = gather([connector], SANNE, budget=20.0).sources[vendor]
    assert (source.status, source.error_kind) == (SourceStatus.FAILED, ErrorKind.DOWN)
    assert source.retry_after == 3600.0
    assert len(asked) == len(server.requests) == len(set(asked)) and sleeps == []


def test_a_503_asking_to_wait_within_the_budget_is_waited_for(
    no_wait: RetryPolicy, sleeps: list[float]
) -> None:
    """A short maintenance window is waited out, as the vendor asked, and then read."""
    refused: list[str] = []

    def script(request: Request) -> Response | None:
        if refused:
            return None
        refused.append(request.path)
        return maintenance("2")

    with ScriptedServer("woocommerce", script) as server, server.connector(no_wait) as connector:
        source = gather([connector], SANNE, budget=20.0).sources["woocommerce"]
    assert (source.status, source.error_kind) == (SourceStatus.COMPLETE, None)
    assert source.records and sleeps == [2.0]
    assert server.requests[:2] == [("GET", refused[0])] * 2


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("retry_after", ["1e999", "inf", "nan"])
def test_a_retry_after_that_is_no_number_is_not_reported(
    no_wait: RetryPolicy, sleeps: list[float], vendor: str, retry_after: str
) -> None:
    """``Retry-After: 1e999`` (or ``inf``, ``nan``) says no time that can be waited: the
    requests are retried with the usual backoff, and the source fails as rate limited without
    a retry-after, which is stored with the gathering as JSON (where infinity is no number)."""

    def script(request: Request) -> Response:
        answer = json_answer({"error": "Too many requests"}, 429)
        answer.headers["Retry-After"] = retry_after
        return answer

    with ScriptedServer(vendor, script) as server, server.connector(no_wait) as connector:
        source = gather([connector], SANNE, budget=20.0).sources[vendor]
    assert (source.status, source.error_kind) == (SourceStatus.FAILED, ErrorKind.RATE_LIMITED)
    assert source.retry_after is None
    json.dumps({"retry_after": source.retry_after}, allow_nan=False)
    assert sleeps and all(wait == 0.0 for wait in sleeps)


def test_a_failed_source_reports_the_requests_it_made(no_wait: RetryPolicy) -> None:
    """A source that fails still shows what it cost: its requests and attempts up to the
    failure, here the guest order searches (for the orders, and for those in the trash) and
    the customer lookup tried four times."""

    def script(request: Request) -> Response | None:
        return html_answer(502) if request.path.endswith("/customers") else None

    with ScriptedServer("woocommerce", script) as server, server.connector(no_wait) as connector:
        source = gather([connector], SANNE).sources["woocommerce"]
    assert (source.status, source.error_kind) == (SourceStatus.FAILED, ErrorKind.DOWN)
    assert (source.requests, source.attempts, source.duplicates) == (3, 6, 0)
    assert source.attempts == len(server.requests)
