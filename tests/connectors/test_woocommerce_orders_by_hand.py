"""WooCommerce orders are erased by staff with WooCommerce's own eraser, never through the API.

In WooCommerce an order update that holds ``billing`` or ``shipping`` recalculates the order's
totals and taxes at today's rates, for the shop's own country once the address is blanked: an
old order's amounts and VAT would be rewritten. And the API cannot clear the order's IP address
and browser. So the connector never sends such an update, and an order that still holds any
personal field does not count as anonymised. Over real HTTP against the simulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors import ErasureOutcome, Identity, RecordRef, RetryPolicy, create
from connectors.base import BaseConnector, Record
from connectors.errors import NotSupported
from connectors.woocommerce import ERASED_EMAIL, ORDER_BY_HAND
from simulators import SimulatorHandle, start
from simulators.world import build_world

SANNE = "sanne.devries@example.nl"
WORLD = build_world()
#: Her 2024 order in her account, paid through Mollie, with her IP address and browser.
ORDER = "2041"
#: What the portal once sent to anonymise an order (``PUT orders/{id}``).
API_ANONYMISATION = {
    "billing": {
        **dict.fromkeys(("first_name", "last_name", "company", "address_1", "address_2"), ""),
        **dict.fromkeys(("city", "state", "postcode", "country", "phone"), ""),
        "email": ERASED_EMAIL,
    },
    "shipping": {
        **dict.fromkeys(("first_name", "last_name", "company", "address_1", "address_2"), ""),
        **dict.fromkeys(("city", "state", "postcode", "country", "phone"), ""),
    },
    "customer_note": "",
    "meta_data": [{"key": "_anonymized", "value": "yes"}],
}


@pytest.fixture
def shop() -> Iterator[SimulatorHandle]:
    handle = start("woocommerce", world=WORLD)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def connector(shop: SimulatorHandle, no_wait: RetryPolicy) -> Iterator[BaseConnector]:
    config = {
        "base_url": shop.base_url,
        "consumer_key": shop.credentials["consumer_key"],
        "consumer_secret": shop.credentials["consumer_secret"],
    }
    built = create("woocommerce", config, retry=no_wait)
    try:
        yield built
    finally:
        built.close()


def _api(shop: SimulatorHandle) -> httpx.Client:
    """The shop's REST API, as the shop's staff (or the portal) use it."""
    auth = (shop.credentials["consumer_key"], shop.credentials["consumer_secret"])
    return httpx.Client(base_url=shop.base_url, auth=auth)


def _order(connector: BaseConnector, order_id: str = ORDER) -> Record | None:
    records = connector.fetch(Identity.of(emails=[SANNE])).records
    return next((r for r in records if (r.record_type, r.record_id) == ("order", order_id)), None)


def test_erasing_an_order_sends_no_update_and_leaves_its_totals(
    shop: SimulatorHandle, connector: BaseConnector
) -> None:
    sanne = Identity.of(emails=[SANNE])
    with _api(shop) as api:
        before = api.get(f"/orders/{ORDER}").json()
        shop.clear_requests()
        with pytest.raises(NotSupported) as info:
            connector.erase(RecordRef(connector.instance_name, "order", ORDER), identity=sanne)
        after = api.get(f"/orders/{ORDER}").json()
    assert info.value.reason == ORDER_BY_HAND  # the back office words the steps for staff
    assert connector.erasure_action("order") == "none"  # the customer is told: by our staff
    assert [r for r in shop.requests if r.method in ("PUT", "POST", "PATCH", "DELETE")] == []
    for key in ("total", "total_tax", "cart_tax", "shipping_tax", "tax_lines", "billing"):
        assert after[key] == before[key]
    assert after["billing"]["country"] == "NL"


def test_what_staff_do_in_woocommerce_anonymises_the_order_without_recalculating(
    shop: SimulatorHandle, connector: BaseConnector
) -> None:
    """WooCommerce's "Remove personal data": addresses, e-mail, phones, IP address, browser,
    transaction id; out of her account, notes deleted; the amounts as they were."""
    app: Any = shop.app
    app.tax_rates["NL"] = Decimal(9)  # today's rates differ from those on the order
    found = _order(connector)
    assert found is not None and found.fields["customer_ip_address"] == "203.0.113.17"
    before = {k: app.orders[int(ORDER)][k] for k in ("total", "total_tax", "line_items")}

    app.remove_personal_data(int(ORDER))

    order = app.orders[int(ORDER)]
    assert {k: order[k] for k in before} == before
    assert order["billing"]["email"] == ERASED_EMAIL and order["customer_id"] == 0
    assert order["customer_ip_address"] == "203.0.113.0"  # WordPress keeps the network
    assert order["customer_user_agent"] == "[deleted]" and order["transaction_id"] == ""
    assert [n["note"] for n in app.order_notes[int(ORDER)]] == ["Personal data removed."]
    assert _order(connector) is None  # no longer hers: nothing of her is in it


def test_an_order_anonymised_through_the_api_still_holds_personal_fields(
    shop: SimulatorHandle, connector: BaseConnector
) -> None:
    """What the portal once did: no e-mail address or phone of hers left, yet her IP address,
    browser and payment are; the order is not anonymised, and the update rewrote the order
    where today's rates differ from the order's."""
    app: Any = shop.app
    app.tax_rates["NL"] = Decimal(9)
    with _api(shop) as api:
        before = api.get(f"/orders/{ORDER}").json()
        written = api.put(f"/orders/{ORDER}", json=API_ANONYMISATION)
    assert written.status_code == 200
    assert (written.json()["total"], written.json()["total_tax"]) != (
        before["total"],
        before["total_tax"],
    )
    record = _order(connector)
    assert record is not None  # still in her account
    assert record.fields["billing_email"] == ERASED_EMAIL
    assert connector.still_personal(record) == [
        "customer_ip_address",
        "customer_user_agent",
        "transaction_id",
    ]


def test_an_order_note_is_still_deleted_through_the_api(
    shop: SimulatorHandle, connector: BaseConnector
) -> None:
    sanne = Identity.of(emails=[SANNE])
    note = RecordRef(connector.instance_name, "order_note", f"{ORDER}/9852")
    assert connector.erase(note, identity=sanne) is ErasureOutcome.DELETED
    assert [r.method for r in shop.requests if r.method != "GET"] == ["DELETE"]
