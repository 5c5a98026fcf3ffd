"""One record that cannot be read among good ones, over real HTTP: the others are still
shown, and the source says which part is missing and why (partial, bad data), instead of
failing as a whole.

Each vendor's answer is the simulator's, with one record of a related list changed the way
a plugin, a migration or a hand-edited row may leave it: a date that is none, a field of
another type.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from connectors import ErrorKind, Identity, RetryPolicy, SourceStatus, gather
from connectors.base import Record, RecordRef

from .scripted import ScriptedServer

SANNE = Identity.of(emails=["sanne.devries@example.nl"])

Rows = Callable[[Any], list[dict[str, Any]]]


def _list(body: Any) -> list[dict[str, Any]]:
    return body


def _payments(body: Any) -> list[dict[str, Any]]:
    return body["_embedded"]["payments"]


#: vendor -> (does this request get the broken row, the rows of its answer, what the broken
#: row is changed into, the record type and the part reported missing)
CASES: dict[str, tuple[Callable[[Request], bool], Rows, dict[str, Any], str, str]] = {
    "woocommerce": (
        lambda r: (
            r.path == "/wp-json/wc/v3/orders" and "customer" in r.args and "status" not in r.args
        ),
        _list,
        {"date_created_gmt": "not a date"},
        "order",
        "orders",
    ),
    "moneybird": (
        lambda r: r.path.endswith("/sales_invoices.json"),
        _list,
        {"invoice_date": "31-12-2024", "details": "none"},
        "invoice",
        "sales_invoices",
    ),
    "zammad": (
        lambda r: r.path == "/api/v1/tickets/search",
        _list,
        {"created_at": "yesterday"},
        "ticket",
        "tickets",
    ),
    "freshdesk": (
        lambda r: r.path == "/api/v2/tickets" and "filter" not in r.args,
        _list,
        {"stats": "resolved"},
        "ticket",
        "tickets",
    ),
    "mollie": (
        lambda r: r.path == "/v2/customers/cst_Vd3sNq7Lw2/payments",
        _payments,
        {"createdAt": 1710249485},
        "payment",
        "payments",
    ),
}

#: A note, a message or a conversation that cannot be read: only it is missing.
CHILD_CASES: dict[str, tuple[Callable[[Request], bool], dict[str, Any], str, str]] = {
    "woocommerce": (
        lambda r: r.path == "/wp-json/wc/v3/orders/2088/notes",
        {"date_created_gmt": "2024-13-45T99:00:00"},
        "order_note",
        "order_notes",
    ),
    "zammad": (
        lambda r: r.path == "/api/v1/ticket_articles/by_ticket/118",
        {"attachments": "report.pdf"},
        "article",
        "ticket_articles",
    ),
    "freshdesk": (
        lambda r: r.path == "/api/v2/tickets/1207/conversations",
        {"created_at": "gisteren"},
        "conversation",
        "conversations",
    ),
}


def _gather(server: ScriptedServer, retry: RetryPolicy) -> Any:
    with server.connector(retry) as connector:
        return gather([connector], SANNE).sources[server.vendor]


def _below(records: tuple[Record, ...], top: RecordRef) -> set[RecordRef]:
    """``top`` and every record read through it."""
    found = {top}
    grew = True
    while grew:
        more = {r.ref for r in records if r.parent in found} - found
        grew = bool(more)
        found |= more
    return found


@pytest.mark.parametrize("vendor", list(CASES))
def test_a_related_record_that_cannot_be_read_leaves_the_others(
    no_wait: RetryPolicy, vendor: str
) -> None:
    wanted, rows_of, change, record_type, what = CASES[vendor]
    broken: list[str] = []

    def script(request: Request) -> Response | None:
        if not wanted(request):
            return None
        answer = server.forward(request)
        body = json.loads(answer.get_data())
        rows = rows_of(body)
        row = rows[1]  # not the first: records read before it are kept too
        broken.append(str(row["id"]))
        row.update(change)
        answer.set_data(json.dumps(body))
        return answer

    with ScriptedServer(vendor) as server:
        expected = _gather(server, no_wait)
        server.script = script
        source = _gather(server, no_wait)
    assert expected.status == SourceStatus.COMPLETE and broken
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [(what, ErrorKind.BAD_DATA)]
    lost = _below(expected.records, RecordRef(vendor, record_type, broken[0]))
    shown = {r.ref for r in source.records}
    if vendor == "woocommerce":
        # The account order is billed to her address: the order search finds it too, and
        # there it is read (without the account as its parent).
        again = {r.ref for r in source.records if r.ref in lost}
        assert again and all(
            r.parent is None
            for r in source.records
            if r.ref == RecordRef(vendor, "order", broken[0])
        )
        shown -= again
    assert shown == {r.ref for r in expected.records} - lost
    assert len(lost) < len(expected.records) - 1  # the main record and others are shown


@pytest.mark.parametrize("vendor", list(CHILD_CASES))
def test_a_message_that_cannot_be_read_leaves_its_ticket(no_wait: RetryPolicy, vendor: str) -> None:
    wanted, change, record_type, what = CHILD_CASES[vendor]
    broken: list[str] = []

    def script(request: Request) -> Response | None:
        if not wanted(request):
            return None
        answer = server.forward(request)
        rows = json.loads(answer.get_data())
        broken.append(str(rows[0]["id"]))
        rows[0].update(change)
        answer.set_data(json.dumps(rows))
        return answer

    with ScriptedServer(vendor) as server:
        expected = _gather(server, no_wait)
        server.script = script
        source = _gather(server, no_wait)
    assert broken and source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [(what, ErrorKind.BAD_DATA)]
    record_id = f"2088/{broken[0]}" if vendor == "woocommerce" else broken[0]
    gone = RecordRef(vendor, record_type, record_id)
    assert {r.ref for r in source.records} == {r.ref for r in expected.records} - {gone}


def test_a_guest_order_that_cannot_be_read_leaves_the_account(no_wait: RetryPolicy) -> None:
    """A guest order is one of the rows the order search matched: when it cannot be read,
    the account, its orders and the other guest order are still shown."""
    guest = 1977

    def script(request: Request) -> Response | None:
        if request.path != "/wp-json/wc/v3/orders" or "search" not in request.args:
            return None
        answer = server.forward(request)
        rows = json.loads(answer.get_data())
        for row in rows:
            if row["id"] == guest:
                row["shipping_lines"] = "flat rate"
        answer.set_data(json.dumps(rows))
        return answer

    with ScriptedServer("woocommerce") as server:
        expected = _gather(server, no_wait)
        server.script = script
        source = _gather(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("guest_orders", ErrorKind.BAD_DATA)]
    lost = _below(expected.records, RecordRef("woocommerce", "order", str(guest)))
    assert {r.ref for r in source.records} == {r.ref for r in expected.records} - lost
    assert RecordRef("woocommerce", "customer", "101") in {r.ref for r in source.records}
