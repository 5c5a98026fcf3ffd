"""WooCommerce orders in the trash, over real HTTP against the simulator.

``status`` defaults to ``any``, which leaves trashed orders out of every order list, yet a
trashed order still holds the person's name, addresses and e-mail: the customer must see it
(art. 15), get it in the export, and have it erased. The tests trash orders as a shop manager
would (``DELETE orders/{id}``) and read the shop as a gathering does.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from connectors import (
    ErasureOutcome,
    ErrorKind,
    Identity,
    RequestRejected,
    RetryPolicy,
    SourceStatus,
    gather,
)
from connectors.base import Record
from connectors.errors import NotSupported
from connectors.woocommerce import ERASED_EMAIL, ORDER_BY_HAND

from .scripted import ScriptedServer, html_answer, json_answer

SANNE = "sanne.devries@example.nl"
#: A near-identical address the fuzzy order search also finds for hers.
XSANNE = "xsanne.devries@example.nl"
#: Sanne's account order with a staff note that holds her phone number.
ACCOUNT_ORDER = 2088
#: Sanne's guest order (no account).
GUEST_ORDER = 1977


class Shop:
    """The simulator's REST API, as the shop's staff use it (read/write key)."""

    def __init__(self, server: ScriptedServer) -> None:
        creds = server.app.credentials
        self.client = httpx.Client(
            base_url=server.base_url, auth=(creds["consumer_key"], creds["consumer_secret"])
        )

    def trash(self, order_id: int) -> None:
        response = self.client.delete(f"/orders/{order_id}")
        assert response.status_code == 200, response.text

    def order(self, order_id: int) -> dict[str, Any]:
        response = self.client.get(f"/orders/{order_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def orders(self, **params: str) -> list[dict[str, Any]]:
        response = self.client.get("/orders", params={**params, "per_page": "100"})
        assert response.status_code == 200, response.text
        body: list[dict[str, Any]] = response.json()
        return body


def _gather(server: ScriptedServer, retry: RetryPolicy) -> Any:
    with server.connector(retry) as connector:
        return gather([connector], Identity.of(emails=[SANNE])).sources["woocommerce"]


def _orders(records: tuple[Record, ...]) -> dict[str, Record]:
    return {r.record_id: r for r in records if r.record_type == "order"}


def test_a_trashed_account_order_and_a_trashed_guest_order_are_hers(
    no_wait: RetryPolicy,
) -> None:
    with ScriptedServer("woocommerce") as server:
        shop = Shop(server)
        before = _orders(_gather(server, no_wait).records)
        shop.trash(ACCOUNT_ORDER)
        shop.trash(GUEST_ORDER)
        server.requests.clear()
        source = _gather(server, no_wait)
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    orders = _orders(source.records)
    assert set(orders) == set(before)  # nothing lost, nothing twice
    assert source.duplicates == 0
    for order_id in (ACCOUNT_ORDER, GUEST_ORDER):
        record = orders[str(order_id)]
        assert record.fields["status"] == "trash"
        assert record.matched.value == SANNE
        assert record.fields["billing_address"] == before[str(order_id)].fields["billing_address"]
    account = orders[str(ACCOUNT_ORDER)]
    assert account.parent is not None and account.parent.record_type == "customer"
    assert orders[str(GUEST_ORDER)].parent is None
    # The notes of a trashed order are read as any order's: here the one with her phone.
    notes = [
        r
        for r in source.records
        if r.record_type == "order_note" and r.parent and r.parent.record_id == str(ACCOUNT_ORDER)
    ]
    assert any("06-12345678" in str(n.fields.get("note")) for n in notes)
    # A trashed order does not move her "last order" (WooCommerce's get_last_order skips it).
    customer = next(r for r in source.records if r.record_type == "customer")
    assert customer.dates["last_order"] == max(
        r.dates["created"] for r in orders.values() if r.fields["status"] != "trash"
    )


def test_a_trashed_guest_order_of_a_near_identical_address_is_not_hers(
    no_wait: RetryPolicy,
) -> None:
    with ScriptedServer("woocommerce") as server:
        shop = Shop(server)
        theirs = [o for o in shop.orders(search=XSANNE) if o["billing"]["email"] == XSANNE]
        assert theirs, "the world has a guest order of the near-identical address"
        for order in theirs:
            shop.trash(order["id"])
        # The fuzzy search for her address does find it in the trash ...
        in_trash = {o["id"] for o in shop.orders(search=SANNE, status="trash")}
        assert {o["id"] for o in theirs} <= in_trash
        source = _gather(server, no_wait)
    # ... and the exact comparison drops it, as it does outside the trash.
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    found = {r.record_id for r in source.records}
    assert found.isdisjoint(str(o["id"]) for o in theirs)
    assert all(r.matched.value == SANNE for r in source.records)
    assert source.dropped >= len(theirs)


def _is_trash_list(request: Request, by: str) -> bool:
    return (
        request.path == "/wp-json/wc/v3/orders"
        and request.args.get("status") == "trash"
        and by in request.args
    )


@pytest.mark.parametrize(
    ("by", "answer", "what", "kind"),
    [
        ("customer", lambda: html_answer(500), "orders", ErrorKind.DOWN),
        ("customer", lambda: json_answer({"orders": []}), "orders", ErrorKind.BAD_DATA),
        ("search", lambda: html_answer(500), "guest_orders", ErrorKind.DOWN),
        ("search", lambda: html_answer(200), "guest_orders", ErrorKind.BAD_DATA),
    ],
)
def test_a_failing_trash_list_makes_the_shop_partial(
    no_wait: RetryPolicy, by: str, answer: Any, what: str, kind: ErrorKind
) -> None:
    """The trash may hold her orders: when its list cannot be read, the result says which
    list is missing, rather than passing the other orders off as all of them. Without all of
    the account's orders, which downloads are hers is not known either: they are missing
    too."""

    def script(request: Request) -> Response | None:
        return answer() if _is_trash_list(request, by) else None

    with ScriptedServer("woocommerce", script) as server:
        source = _gather(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    expected = [(what, kind), *([("downloads", kind)] if what == "orders" else [])]
    assert [(m.what, m.kind) for m in source.missing] == expected
    assert _orders(source.records)  # the rest is read


def test_a_trashed_order_is_left_to_staff_as_any_order_and_stays_in_the_trash(
    no_wait: RetryPolicy,
) -> None:
    """A trashed order is erased as any order: by staff with WooCommerce's own eraser, never
    with ``PUT orders/{id}`` (which would recalculate it); it is not taken for gone. Its notes
    are deleted through the API as any order's."""
    identity = Identity.of(emails=[SANNE])
    with ScriptedServer("woocommerce") as server:
        shop = Shop(server)
        shop.trash(ACCOUNT_ORDER)
        shop.trash(GUEST_ORDER)
        with server.connector(no_wait) as connector:
            found = connector.fetch(identity).records
            records = _orders(found)
            # a note of a trashed order is deleted as any order's
            note = next(
                r
                for r in found
                if r.record_type == "order_note" and "06-12345678" in str(r.fields.get("note"))
            )
            assert connector.erase(note.ref, identity=identity) == ErasureOutcome.DELETED
            notes = shop.client.get(f"/orders/{ACCOUNT_ORDER}/notes").json()
            assert all("06-12345678" not in n["note"] for n in notes)
            for order_id in (ACCOUNT_ORDER, GUEST_ORDER):
                with pytest.raises(NotSupported) as info:
                    connector.erase(records[str(order_id)].ref, identity=identity)
                assert info.value.reason == ORDER_BY_HAND
            assert [path for method, path in server.requests if method == "PUT"] == []
            # Staff run WooCommerce's eraser on both; they stay in the trash.
            for order_id in (ACCOUNT_ORDER, GUEST_ORDER):
                server.app.remove_personal_data(order_id)  # type: ignore[attr-defined]
                order = shop.order(order_id)
                assert order["status"] == "trash"
                assert order["billing"]["email"] == ERASED_EMAIL
                assert order["customer_id"] == 0
            after = _orders(connector.fetch(identity).records)
    assert str(GUEST_ORDER) not in after and str(ACCOUNT_ORDER) not in after


def test_an_account_with_a_trashed_order_billed_to_someone_else_is_not_deleted(
    no_wait: RetryPolicy,
) -> None:
    """Deleting an account makes all its orders guest orders, trashed ones too: one billed to
    another address would become that address's to see, so the account is left to staff."""
    identity = Identity.of(emails=[SANNE])
    with ScriptedServer("woocommerce") as server:
        shop = Shop(server)
        billed = shop.client.put(
            f"/orders/{ACCOUNT_ORDER}", json={"billing": {"email": "partner@example.nl"}}
        )
        assert billed.status_code == 200
        shop.trash(ACCOUNT_ORDER)
        with server.connector(no_wait) as connector:
            records = connector.fetch(identity).records
            customer = next(r for r in records if r.record_type == "customer")
            with pytest.raises(RequestRejected):
                connector.erase(customer.ref, identity=identity)
        assert shop.client.get("/customers/101").status_code == 200
        assert ("DELETE", "/wp-json/wc/v3/customers/101") not in server.requests
