"""Connectors over real HTTP against answers that a vendor, a proxy or a firewall in front of it
may give and no simulator fault mode covers: each must fail the source or make it partial,
never pass for a complete answer."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from connectors import ErrorKind, Identity, RetryPolicy, SourceStatus, gather

from .scripted import Script, ScriptedServer, json_answer

SANNE = Identity.of(emails=["sanne.devries@example.nl"])
MOLLIE_SANNE = "cst_Vd3sNq7Lw2"


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
