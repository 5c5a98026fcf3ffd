"""The shared demo world: deterministic, complete for Sanne, full of near misses."""

from __future__ import annotations

import json
from datetime import date

from simulators import World, build_world
from simulators.world import load_sample

SANNE = "sanne.devries@example.nl"


def _dump(world: World) -> str:
    return json.dumps(world.__dict__, default=str, sort_keys=True)


def test_world_is_deterministic() -> None:
    today = date(2026, 1, 15)
    assert _dump(build_world(7, today)) == _dump(build_world(7, today))
    assert _dump(build_world(7, today)) != _dump(build_world(8, today))


def test_sanne_has_data_everywhere(world: World) -> None:
    sanne = world.person("sanne")
    assert (sanne.email, sanne.phone, sanne.city) == (SANNE, "+31 6 12345678", "Utrecht")
    orders = [o for o in world.woocommerce["orders"] if o["billing"]["email"].lower() == SANNE]
    assert len([o for o in orders if o["customer_id"] == 101]) >= 25
    guests = [o for o in orders if o["customer_id"] == 0]
    assert {o["id"] for o in guests} >= {1977}
    assert any(o["billing"]["email"] == "Sanne.DeVries@Example.NL" for o in guests)
    assert any(world.woocommerce["order_notes"].get(o["id"]) for o in orders)
    invoices = [
        i for i in world.moneybird["sales_invoices"] if i["contact_id"] == sanne.moneybird_id
    ]
    assert sanne.moneybird_customer_id == "1042"
    assert any(i["invoice_date"].startswith("2019") for i in invoices)
    assert len({i["invoice_date"][:4] for i in invoices}) >= 5
    assert len([t for t in world.zammad["tickets"] if t["customer_id"] == 27]) >= 15
    fd_tickets = [t for t in world.freshdesk["tickets"] if t["requester_id"] == sanne.freshdesk_id]
    assert len(fd_tickets) >= 15
    mollie_payments = [
        p for p in world.mollie["payments"] if p.get("customerId") == sanne.mollie_id
    ]
    assert len(mollie_payments) >= 10
    mandate = world.mollie["mandates"][0]
    assert mandate["details"]["consumerAccount"].startswith("NL00TEST")
    # one of her payments part refunded (with a note), one direct debit charged back
    hers = {p["id"]: p for p in mollie_payments}
    refunds = [r for r in world.mollie["refunds"] if r["paymentId"] in hers]
    assert refunds and all(r["description"] for r in refunds)
    refunded = hers[refunds[0]["paymentId"]]
    assert refunded["amountRefunded"]["value"] == refunds[0]["amount"]["value"] != "0.00"
    charged = [c for c in world.mollie["chargebacks"] if c["paymentId"] in hers]
    assert charged and charged[0]["reason"]["code"]
    assert hers[charged[0]["paymentId"]]["amountChargedBack"] == charged[0]["amount"]
    other = world.person("sanne_groningen").mollie_id
    theirs = {p["id"] for p in world.mollie["payments"] if p.get("customerId") == other}
    assert any(r["paymentId"] in theirs for r in world.mollie["refunds"])


def test_near_identical_people_are_different_people(world: World) -> None:
    emails = {p.email for p in world.people.values()}
    assert {
        "sanne.de.vries@example.nl",
        "sanne.devries+shop@example.nl",
        "sanne.devries@example.nl.evil.com",
        "xsanne.devries@example.nl",
        "sanne.devries@example.com",
    } <= emails
    assert [p.key for p in world.by_email("SANNE.DEVRIES@example.nl ")] == ["sanne"]
    kees = world.person("kees")
    assert kees.phone.replace(" ", "") == world.person("sanne").phone.replace(" ", "")
    assert kees.street == world.person("sanne").street
    assert world.person("devries_advies").street == world.person("sanne").street


def test_ids_have_the_vendor_types(world: World) -> None:
    for c in world.moneybird["contacts"]:
        assert isinstance(c["id"], str) and len(c["id"]) == 18 and c["id"].isdigit()
    for c in world.freshdesk["contacts"]:
        assert c["id"] > 2**32
    for p in world.people.values():
        assert all(m.startswith("cst_") for m in p.mollie_ids)
    ids = [o["id"] for o in world.woocommerce["orders"]]
    assert len(ids) == len(set(ids))


def test_generated_records_have_the_sample_fields(world: World) -> None:
    order_keys = set(load_sample("woocommerce", "GET_orders_2041.json")) - {"_links"}
    for o in world.woocommerce["orders"]:
        assert set(o) == order_keys
    contact_keys = set(load_sample("moneybird", "GET_contacts_431877251120719881.json"))
    for c in world.moneybird["contacts"]:
        assert set(c) == contact_keys
    user_keys = set(load_sample("zammad", "GET_users_27.json"))
    for u in world.zammad["users"]:
        assert set(u) == user_keys
    fd_keys = set(load_sample("freshdesk", "GET_contacts_80012345671.json"))
    for c in world.freshdesk["contacts"]:
        assert set(c) - {"_state"} == fd_keys
