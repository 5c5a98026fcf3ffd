"""Each connector returns *everything* the demo customer has in its system, not only a page,
a default period or a default window of it (hidden vendor defaults are the trap here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors import Identity, RetryPolicy, create
from simulators import start
from simulators.world import build_world

SANNE = "sanne.devries@example.nl"
WORLD = build_world()


def _sanne_id(vendor: str, table: str) -> Any:
    rows = WORLD.__dict__[vendor][table]
    for row in rows:
        if str(row.get("email", "")).lower() == SANNE:
            return row["id"]
    raise AssertionError(f"no {vendor} {table} row for the demo customer")


def _expected(vendor: str) -> tuple[str, set[str]]:
    """(record type, ids) the world holds for the demo customer in ``vendor``."""
    if vendor == "woocommerce":
        customer = _sanne_id("woocommerce", "customers")
        ids = {
            str(o["id"])
            for o in WORLD.woocommerce["orders"]
            if o["customer_id"] == customer
            or (o["customer_id"] == 0 and o["billing"]["email"].strip().lower() == SANNE)
        }
        return "order", ids
    if vendor == "moneybird":
        contact = _sanne_id("moneybird", "contacts")
        ids = {
            str(i["id"]) for i in WORLD.moneybird["sales_invoices"] if i["contact_id"] == contact
        }
        return "invoice", ids
    if vendor == "zammad":
        user = _sanne_id("zammad", "users")
        return "ticket", {str(t["id"]) for t in WORLD.zammad["tickets"] if t["customer_id"] == user}
    if vendor == "freshdesk":
        contact = _sanne_id("freshdesk", "contacts")
        ids = {str(t["id"]) for t in WORLD.freshdesk["tickets"] if t["requester_id"] == contact}
        return "ticket", ids
    customers = {
        c["id"] for c in WORLD.mollie["customers"] if str(c.get("email", "")).lower() == SANNE
    }
    ids = {str(p["id"]) for p in WORLD.mollie["payments"] if p.get("customerId") in customers}
    return "payment", ids


@pytest.fixture(params=["woocommerce", "moneybird", "zammad", "freshdesk", "mollie"])
def vendor_and_config(request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, Any]]]:
    handle = start(request.param)
    config: dict[str, Any] = {"base_url": handle.base_url}
    if request.param == "zammad":
        config["token"] = handle.credentials["token"]
    else:
        config.update(handle.credentials)
    if request.param == "moneybird":
        config["administration_id"] = str(WORLD.moneybird["administration_id"])
    try:
        yield request.param, config
    finally:
        handle.stop()


def test_every_record_of_the_demo_customer_is_found(
    vendor_and_config: tuple[str, dict[str, Any]],
) -> None:
    vendor, config = vendor_and_config
    record_type, expected = _expected(vendor)
    assert len(expected) > 5, "the world gives the demo customer several pages of data"
    with create(vendor, config, retry=RetryPolicy(attempts=1, sleep=lambda _s: None)) as conn:
        result = conn.fetch(Identity.of(emails=[SANNE]))
    found = {r.record_id for r in result.records if r.record_type == record_type}
    assert result.missing == ()
    assert found == expected
