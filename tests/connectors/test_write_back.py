"""Corrections written back and erasure at the source, over real HTTP against the simulators.

Every test starts its own simulator (fresh data) from one shared world. A fresh fetch after a
write shows what the vendor holds now, exactly as the portal would see it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors import (
    BaseConnector,
    ConnectorError,
    Deadline,
    ErasureOutcome,
    ErrorKind,
    FieldKind,
    Identity,
    Record,
    RecordRef,
    RetryPolicy,
    create,
)
from connectors.errors import NotSupported
from connectors.woocommerce import ORDER_BY_HAND
from simulators import SimulatorHandle, start
from simulators.base import cut_off
from simulators.world import build_world

SANNE = "sanne.devries@example.nl"
OTHER_SANNE = "sanne.de.vries@example.nl"
WORLD = build_world()
VENDORS = ["woocommerce", "moneybird", "zammad", "freshdesk", "mollie"]

#: Sanne's main record in each system.
MAIN = {
    "woocommerce": ("customer", "101"),
    "moneybird": ("contact", "431877251120719881"),
    "zammad": ("user", "27"),
    "freshdesk": ("contact", "80012345671"),
    "mollie": ("customer", "cst_Vd3sNq7Lw2"),
}
#: A phone-like or name field per vendor, with a new value.
CORRECTION = {
    "woocommerce": ("billing_phone", "+31 6 11112222"),
    "moneybird": ("phone", "+31 6 11112222"),
    "zammad": ("phone", "+31 6 11112222"),
    "freshdesk": ("phone", "+31 6 11112222"),
    "mollie": ("name", "Sanne de Vries-Bakker"),
}
#: An e-mail field per vendor (every vendor validates e-mail addresses). MoneyBird's contact's
#: own ``email`` cannot be written (see test_write_checked.py): the address invoices go to.
EMAIL_FIELD = {
    "woocommerce": "email",
    "moneybird": "send_invoices_to_email",
    "zammad": "email",
    "freshdesk": "email",
    "mollie": "email",
}
BAD_EMAIL = "sanne.devries(at)example.nl"
#: Correctable fields that are empty in Sanne's main record (so absent from it).
EMPTY_FOR_SANNE: dict[str, set[str]] = {
    "woocommerce": {"shipping_phone"},
    "moneybird": {"company_name"},
    "zammad": {"mobile", "street", "zip", "city", "country"},
    "freshdesk": {"phone"},
}


@dataclass
class Sim:
    """A running simulator and a connector configured for it."""

    vendor: str
    handle: SimulatorHandle
    connector: BaseConnector

    def ref(self, record_type: str, record_id: str) -> RecordRef:
        return RecordRef(self.connector.instance_name, record_type, record_id)

    @property
    def main(self) -> RecordRef:
        return self.ref(*MAIN[self.vendor])

    def fetch(self, email: str = SANNE) -> list[Record]:
        return list(self.connector.fetch(Identity.of(emails=[email])).records)

    def find(self, record_type: str, record_id: str, email: str = SANNE) -> Record | None:
        for record in self.fetch(email):
            if (record.record_type, record.record_id) == (record_type, record_id):
                return record
        return None

    def writes(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.handle.requests if r.method != "GET"]


def config_for(vendor: str, handle: SimulatorHandle) -> dict[str, Any]:
    creds = dict(handle.credentials)
    config: dict[str, Any] = {"base_url": handle.base_url}
    if vendor == "woocommerce":
        config.update(consumer_key=creds["consumer_key"], consumer_secret=creds["consumer_secret"])
    elif vendor == "moneybird":
        config.update(
            token=creds["token"],
            administration_id=creds["administration_id"],
            web_url=handle.base_url.rsplit("/api/", 1)[0],
        )
    elif vendor == "zammad":
        config["token"] = creds["token"]
    else:
        config.update(creds)
    return config


def run_sim(vendor: str, retry: RetryPolicy, **options: Any) -> Iterator[Sim]:
    handle = start(vendor, world=WORLD, **options)
    connector = create(vendor, config_for(vendor, handle), retry=retry)
    try:
        yield Sim(vendor, handle, connector)
    finally:
        connector.close()
        handle.stop()


@pytest.fixture(params=VENDORS)
def sim(request: pytest.FixtureRequest, no_wait: RetryPolicy) -> Iterator[Sim]:
    """Each vendor's simulator with a connector (zero-backoff retries)."""
    yield from run_sim(request.param, no_wait)


def sim_for(vendor: str, retry: RetryPolicy, **options: Any) -> Iterator[Sim]:
    return run_sim(vendor, retry, **options)


@pytest.fixture
def woo(no_wait: RetryPolicy) -> Iterator[Sim]:
    yield from sim_for("woocommerce", no_wait)


@pytest.fixture
def moneybird(no_wait: RetryPolicy) -> Iterator[Sim]:
    yield from sim_for("moneybird", no_wait)


@pytest.fixture
def zammad(no_wait: RetryPolicy) -> Iterator[Sim]:
    yield from sim_for("zammad", no_wait, privacy_task_polls=2)


@pytest.fixture
def freshdesk(no_wait: RetryPolicy) -> Iterator[Sim]:
    yield from sim_for("freshdesk", no_wait)


@pytest.fixture
def mollie(no_wait: RetryPolicy) -> Iterator[Sim]:
    yield from sim_for("mollie", no_wait)


def assert_kind(info: pytest.ExceptionInfo[ConnectorError], kind: ErrorKind, *secrets: str) -> None:
    assert info.value.kind == kind
    for secret in (SANNE, OTHER_SANNE, BAD_EMAIL, "+31 6 11112222", *secrets):
        assert secret.lower() not in str(info.value).lower()


# -- the interface -------------------------------------------------------------------------------


def test_correctable_fields_are_fields_the_records_carry(sim: Sim) -> None:
    record_type, _ = MAIN[sim.vendor]
    fields = sim.connector.correctable_fields(record_type)
    assert fields, "every vendor lets the customer's main record be corrected"
    emitted: set[str] = set()
    for record in sim.fetch():
        if record.record_type == record_type:
            emitted |= set(record.fields)
    # Keys are the record's own field keys (an empty field is left out of a record).
    assert set(fields) <= emitted | EMPTY_FOR_SANNE.get(sim.vendor, set())
    for spec in fields.values():
        assert bool(spec.parts) == (spec.kind is FieldKind.ADDRESS)


@pytest.mark.parametrize(
    ("vendor", "actions"),
    [
        ("woocommerce", {"customer": "delete", "order": "none", "order_note": "delete"}),
        ("moneybird", {"contact": "delete", "contact_person": "delete", "invoice": "none"}),
        ("zammad", {"user": "delete", "ticket": "delete", "article": "none"}),
        ("freshdesk", {"contact": "delete", "ticket": "delete", "conversation": "none"}),
        (
            "mollie",
            {
                "customer": "delete",
                "payment": "none",
                "mandate": "none",
                "subscription": "none",
                "refund": "none",
                "chargeback": "none",
            },
        ),
    ],
)
def test_erasure_actions(vendor: str, actions: dict[str, str], no_wait: RetryPolicy) -> None:
    with create(vendor, config_for(vendor, _fake_handle(vendor)), retry=no_wait) as connector:
        assert {t: connector.erasure_action(t) for t in actions} == actions
        assert connector.erasure_action("unknown") == "none"


def _fake_handle(vendor: str) -> Any:
    creds = {
        "woocommerce": {"consumer_key": "ck", "consumer_secret": "cs"},
        "moneybird": {"token": "t", "administration_id": "1"},
        "zammad": {"token": "t"},
        "freshdesk": {"api_key": "k"},
        "mollie": {"api_key": "k"},
    }[vendor]

    @dataclass
    class Fake:
        base_url: str
        credentials: dict[str, str]

    return Fake("http://127.0.0.1:9/api/v2", creds)


def test_describe_target_names_the_place_not_the_value(woo: Sim) -> None:
    text = woo.connector.describe_target(woo.main, "billing_phone")
    assert text == (
        "WooCommerce › Customers › #101 › Billing › Phone (API: customers/101 billing.phone)"
    )
    assert woo.connector.describe_target(woo.main, "billing_address.postcode") == (
        "WooCommerce › Customers › #101 › Billing › postcode (API: customers/101 billing.postcode)"
    )
    note = woo.ref("order_note", "2041/9852")
    assert woo.connector.describe_target(note) == (
        "WooCommerce › Orders › #2041 › Notes › #9852 (API: orders/2041/notes/9852)"
    )
    order = woo.ref("order", "2041")
    assert "Customer IP" in woo.connector.describe_target(order, "customer_ip_address")


def test_a_ticket_message_is_not_described_as_the_ticket_of_its_own_id(
    zammad: Sim, freshdesk: Sim
) -> None:
    """A message's id is not a ticket number: "Tickets › #518" would send staff to someone
    else's ticket."""
    article = zammad.connector.describe_target(zammad.ref("article", "518"))
    assert article.startswith("Zammad › Ticket articles › #518")
    assert "Tickets › #518" not in article
    reply = freshdesk.connector.describe_target(freshdesk.ref("conversation", "80044400169"))
    assert reply.startswith("Freshdesk › Ticket conversations › #80044400169")


def test_a_mollie_record_below_another_is_described_without_a_path_mollie_lacks(
    mollie: Sim,
) -> None:
    """Mollie reaches them only below their customer (``customers/{id}/subscriptions/…``) or
    their payment (``payments/{id}/refunds/…``), whose id their reference does not hold: no
    made-up API path is given to staff."""
    subscription = mollie.connector.describe_target(mollie.ref("subscription", "sub_Bn3Mk7Qw2X"))
    assert subscription == "Mollie › Customers › Subscriptions › #sub_Bn3Mk7Qw2X"
    mandate = mollie.connector.describe_target(mollie.ref("mandate", "mdt_Hn5Rq8Zc4P"))
    assert mandate == "Mollie › Customers › Mandates › #mdt_Hn5Rq8Zc4P"
    payment = mollie.connector.describe_target(mollie.ref("payment", "tr_Rb6Yt3UvQm"))
    assert payment == "Mollie › Payments › #tr_Rb6Yt3UvQm (API: payments/tr_Rb6Yt3UvQm)"
    refund = mollie.connector.describe_target(mollie.ref("refund", "re_Hq4Tn8Wd2K"))
    assert refund == "Mollie › Payments › Refunds › #re_Hq4Tn8Wd2K"
    chargeback = mollie.connector.describe_target(mollie.ref("chargeback", "chb_Rt5Gw9Ke3V"))
    assert chargeback == "Mollie › Payments › Chargebacks › #chb_Rt5Gw9Ke3V"


def test_describe_target_of_every_correctable_field_holds_no_personal_data(sim: Sim) -> None:
    record = sim.find(*MAIN[sim.vendor])
    assert record is not None
    for key in sim.connector.correctable_fields(record.record_type):
        text = sim.connector.describe_target(record.ref, key)
        assert text.startswith(sim.connector.title + " › ")
        assert record.record_id in text
        value = record.fields.get(key)
        for part in value.values() if isinstance(value, dict) else [value]:
            if isinstance(part, str) and len(part) > 3:
                assert part not in text


# -- corrections ---------------------------------------------------------------------------------


def test_correction_is_visible_on_a_fresh_fetch(sim: Sim, sanne: Identity) -> None:
    field, value = CORRECTION[sim.vendor]
    sim.connector.apply_correction(sim.main, field, value, identity=sanne)
    record = sim.find(*MAIN[sim.vendor])
    assert record is not None
    assert record.fields[field] == value


@pytest.mark.parametrize(
    ("vendor", "field", "parts"),
    [
        ("woocommerce", "billing_address", {"address_1": "Lange Nieuwstraat 4", "city": "Utrecht"}),
        ("moneybird", "address", {"address1": "Lange Nieuwstraat 4", "zipcode": "3512 PH"}),
    ],
)
def test_address_correction_changes_only_the_given_parts(
    vendor: str, field: str, parts: dict[str, str], no_wait: RetryPolicy, sanne: Identity
) -> None:
    for sim in sim_for(vendor, no_wait):
        before = sim.find(*MAIN[vendor])
        assert before is not None
        sim.connector.apply_correction(sim.main, field, parts, identity=sanne)
        after = sim.find(*MAIN[vendor])
        assert after is not None
        assert after.fields[field] == {**before.fields[field], **parts}


def test_email_correction_moves_the_record_to_the_new_address(mollie: Sim, sanne: Identity) -> None:
    new = "sanne.devries@example.org"
    mollie.connector.apply_correction(mollie.main, "email", new, identity=sanne)
    assert mollie.find(*MAIN["mollie"]) is None
    assert mollie.find(*MAIN["mollie"], email=new) is not None


def test_invalid_value_is_rejected_by_the_vendor(sim: Sim, sanne: Identity) -> None:
    with pytest.raises(ConnectorError) as info:
        sim.connector.apply_correction(sim.main, EMAIL_FIELD[sim.vendor], BAD_EMAIL, identity=sanne)
    assert_kind(info, ErrorKind.REJECTED)
    assert info.value.status in (400, 409, 422)


@pytest.mark.parametrize("vendor", ["woocommerce", "zammad", "freshdesk"])
def test_email_of_someone_else_is_rejected(
    vendor: str, no_wait: RetryPolicy, sanne: Identity
) -> None:
    for sim in sim_for(vendor, no_wait):
        with pytest.raises(ConnectorError) as info:
            sim.connector.apply_correction(sim.main, "email", OTHER_SANNE, identity=sanne)
        assert_kind(info, ErrorKind.REJECTED)
        assert sim.find(*MAIN[vendor]) is not None  # unchanged


def test_moneybird_refuses_to_blank_every_name(moneybird: Sim) -> None:
    moneybird.connector.apply_correction(moneybird.main, "lastname", "")
    with pytest.raises(ConnectorError) as info:
        moneybird.connector.apply_correction(moneybird.main, "firstname", "")
    assert_kind(info, ErrorKind.REJECTED)
    assert info.value.status == 422


def test_uncorrectable_field_and_wrong_shapes_are_refused_locally(woo: Sim) -> None:
    with pytest.raises(ConnectorError) as info:
        woo.connector.apply_correction(woo.main, "username", "sanne")
    assert info.value.kind == ErrorKind.NOT_SUPPORTED
    with pytest.raises(ConnectorError) as info:
        woo.connector.apply_correction(woo.main, "billing_address", {"street": "Oudegracht 1"})
    assert_kind(info, ErrorKind.REJECTED, "Oudegracht")
    with pytest.raises(ConnectorError) as info:
        woo.connector.apply_correction(woo.main, "billing_phone", 612345678)
    assert_kind(info, ErrorKind.REJECTED)
    with pytest.raises(ConnectorError) as info:
        woo.connector.apply_correction(woo.ref("order", "2041"), "billing_phone", "+31 6 1")
    assert info.value.kind == ErrorKind.NOT_SUPPORTED
    assert woo.writes() == []


def test_correction_of_a_gone_record_is_not_found(sim: Sim) -> None:
    field, value = CORRECTION[sim.vendor]
    gone = sim.ref(MAIN[sim.vendor][0], "999999999")
    with pytest.raises(ConnectorError) as info:
        sim.connector.apply_correction(gone, field, value)
    assert_kind(info, ErrorKind.NOT_FOUND)


# -- the exact-match guard -----------------------------------------------------------------------


def test_guard_refuses_a_record_that_is_not_the_customers(sim: Sim) -> None:
    field, value = CORRECTION[sim.vendor]
    other = Identity.of(emails=[OTHER_SANNE])
    with pytest.raises(ConnectorError) as info:
        sim.connector.apply_correction(sim.main, field, value, identity=other)
    assert_kind(info, ErrorKind.MISMATCH)
    with pytest.raises(ConnectorError) as info:
        sim.connector.erase(sim.main, identity=other)
    assert_kind(info, ErrorKind.MISMATCH)
    assert sim.writes() == []


def test_guard_notices_a_record_that_changed_hands(freshdesk: Sim, sanne: Identity) -> None:
    # Someone edits the contact's addresses after the gathering: it is no longer Sanne's.
    freshdesk.connector.apply_correction(freshdesk.main, "email", "kees.devries2@example.nl")
    app: Any = freshdesk.handle.app
    with pytest.raises(ConnectorError) as info:
        freshdesk.connector.erase(freshdesk.main, identity=sanne)
    assert_kind(info, ErrorKind.MISMATCH)
    assert 80012345671 in app.contacts


def test_guard_checks_the_owner_of_child_records(zammad: Sim, freshdesk: Sim) -> None:
    other = Identity.of(emails=[OTHER_SANNE])
    for sim, ticket in ((zammad, "118"), (freshdesk, "1207")):
        with pytest.raises(ConnectorError) as info:
            sim.connector.erase(sim.ref("ticket", ticket), identity=other)
        assert_kind(info, ErrorKind.MISMATCH)


# -- erasure -------------------------------------------------------------------------------------


# Sanne's MoneyBird contact has invoices, so MoneyBird refuses: see the MoneyBird tests below.
@pytest.mark.parametrize("vendor", [v for v in VENDORS if v != "moneybird"])
def test_erased_main_record_is_gone_and_a_second_erase_is_done(
    vendor: str, no_wait: RetryPolicy, sanne: Identity
) -> None:
    for sim in sim_for(vendor, no_wait):
        outcome = sim.connector.erase(sim.main, identity=sanne)
        assert outcome is ErasureOutcome.DELETED
        assert sim.find(*MAIN[sim.vendor]) is None
        assert sim.connector.erase(sim.main, identity=sanne) is ErasureOutcome.ALREADY_GONE
        assert sim.connector.erase(sim.main) is ErasureOutcome.ALREADY_GONE


def test_erase_of_an_unknown_id_counts_as_done(sim: Sim) -> None:
    gone = sim.ref(MAIN[sim.vendor][0], "999999999")
    assert sim.connector.erase(gone) is ErasureOutcome.ALREADY_GONE


def test_woocommerce_customer_delete_keeps_orders(woo: Sim, sanne: Identity) -> None:
    app: Any = woo.handle.app
    orders = {o["id"] for o in app.orders.values() if o["customer_id"] == 101}
    woo.connector.erase(woo.main, identity=sanne)
    assert 101 not in app.customers
    # the orders stay, as guest orders (WooCommerce resets their customer), still hers
    assert orders and all(app.orders[o]["customer_id"] == 0 for o in orders)
    assert any(r.method == "DELETE" and r.query.get("force") == "true" for r in woo.handle.requests)
    found = {r.record_id: r.record_type for r in woo.fetch()}
    assert all(found.get(str(o)) == "order" for o in orders)


def test_woocommerce_order_is_left_to_staff_and_never_updated(woo: Sim, sanne: Identity) -> None:
    """An order update with billing or shipping makes WooCommerce recalculate the order's
    totals and VAT: the order goes to staff (WooCommerce's own eraser), nothing is written."""
    guest_order = woo.ref("order", "1977")
    order: Any = woo.handle.app.orders[1977]  # type: ignore[attr-defined]
    before = copy.deepcopy(order)
    with pytest.raises(ConnectorError) as info:
        woo.connector.erase(guest_order, identity=sanne)
    assert_kind(info, ErrorKind.NOT_SUPPORTED)
    assert isinstance(info.value, NotSupported) and info.value.reason == ORDER_BY_HAND
    assert woo.writes() == []
    assert order == before
    assert woo.find("order", "1977") is not None  # still hers until staff erase it


def test_woocommerce_order_note_is_deleted(woo: Sim, sanne: Identity) -> None:
    note = woo.ref("order_note", "2041/9852")
    assert woo.connector.erase(note, identity=sanne) is ErasureOutcome.DELETED
    assert woo.find("order_note", "2041/9852") is None
    assert woo.find("order_note", "2041/9844") is not None
    assert woo.connector.erase(note) is ErasureOutcome.ALREADY_GONE


def test_moneybird_refuses_to_delete_a_contact_with_invoices(
    moneybird: Sim, sanne: Identity
) -> None:
    with pytest.raises(ConnectorError) as info:
        moneybird.connector.erase(moneybird.main, identity=sanne)
    assert_kind(info, ErrorKind.REJECTED, "1042")
    assert info.value.status == 422
    assert moneybird.find(*MAIN["moneybird"]) is not None


def test_moneybird_deletes_a_contact_without_invoices(moneybird: Sim) -> None:
    app: Any = moneybird.handle.app
    with_invoices = {inv["contact_id"] for inv in app.invoices}
    contact = next(c for c in app.contacts.values() if c["id"] not in with_invoices and c["email"])
    identity = Identity.of(emails=[contact["email"]])
    ref = moneybird.ref("contact", contact["id"])
    assert moneybird.connector.erase(ref, identity=identity) is ErasureOutcome.DELETED
    assert contact["id"] not in app.contacts
    assert moneybird.connector.erase(ref, identity=identity) is ErasureOutcome.ALREADY_GONE


def test_records_the_policy_keeps_are_not_erased(moneybird: Sim, mollie: Sim) -> None:
    for sim, ref in (
        (moneybird, moneybird.ref("invoice", "431877260223445702")),
        (mollie, mollie.ref("payment", "tr_Sv7Hq2WnXa")),
    ):
        with pytest.raises(ConnectorError) as info:
            sim.connector.erase(ref)
        assert info.value.kind == ErrorKind.NOT_SUPPORTED
        assert sim.writes() == []


def test_zammad_user_is_erased_with_a_privacy_task(zammad: Sim, sanne: Identity) -> None:
    tickets = {r.record_id for r in zammad.fetch() if r.record_type == "ticket"}
    assert zammad.connector.erase(zammad.main, identity=sanne) is ErasureOutcome.DELETED
    app: Any = zammad.handle.app
    assert 27 not in app.users
    assert not {str(t) for t in app.tickets} & tickets
    assert zammad.fetch() == []
    assert zammad.handle.request_count("POST", "/api/v1/data_privacy_tasks") == 1


def test_zammad_privacy_task_is_not_created_twice(sanne: Identity) -> None:
    polling = RetryPolicy(attempts=1, backoff_initial=0.1, backoff_max=0.1, jitter=0.0)
    for sim in sim_for("zammad", polling, privacy_task_polls=1000):
        with pytest.raises(ConnectorError) as info:
            sim.connector.erase(sim.main, identity=sanne, deadline=Deadline(0.5))
        assert_kind(info, ErrorKind.TIMEOUT)
        app: Any = sim.handle.app
        app.privacy_task_polls = 0  # the background job catches up
        assert sim.connector.erase(sim.main, identity=sanne) is ErasureOutcome.DELETED
        assert sim.handle.request_count("POST", "/api/v1/data_privacy_tasks") == 1
        assert 27 not in app.users


def test_child_records_are_deleted(zammad: Sim, sanne: Identity) -> None:
    """A Zammad ticket goes by a data privacy task for the ticket: ``DELETE tickets/{id}``
    needs full admin rights, which the portal's token does not have (the simulator's 403)."""
    ref = zammad.ref("ticket", "118")
    assert zammad.find("ticket", "118") is not None
    assert zammad.connector.erase(ref, identity=sanne) is ErasureOutcome.DELETED
    assert zammad.find("ticket", "118") is None
    assert zammad.find(*MAIN["zammad"]) is not None
    assert [w for w in zammad.writes() if "search" not in w] == ["POST /api/v1/data_privacy_tasks"]
    app: Any = zammad.handle.app
    assert [(t["deletable_type"], t["deletable_id"]) for t in app.tasks.values()] == [
        ("Ticket", 118)
    ]
    assert zammad.connector.erase(ref) is ErasureOutcome.ALREADY_GONE
    assert zammad.handle.request_count("POST", "/api/v1/data_privacy_tasks") == 1


def test_a_freshdesk_ticket_goes_to_the_trash_and_is_still_read_there(
    freshdesk: Sim, sanne: Identity
) -> None:
    """Freshdesk's DELETE moves a ticket to its trash, which it empties after 30 days: the
    erasure says so, and the ticket is still held (and read) until then. Erasing it again
    (Freshdesk answers 405) says the same; once it is gone for good, that it is gone."""
    ref = freshdesk.ref("ticket", "1207")
    assert freshdesk.connector.erase(ref, identity=sanne) is ErasureOutcome.TRASHED
    trashed = freshdesk.find("ticket", "1207")
    assert trashed is not None and trashed.fields["deleted"] == "trash"
    assert freshdesk.find(*MAIN["freshdesk"]) is not None
    assert freshdesk.connector.erase(ref, identity=sanne) is ErasureOutcome.TRASHED
    app: Any = freshdesk.handle.app
    del app.tickets[1207]  # Freshdesk emptied its trash
    assert freshdesk.connector.erase(ref) is ErasureOutcome.ALREADY_GONE


def test_freshdesk_contact_is_hard_deleted_in_one_step(freshdesk: Sim, sanne: Identity) -> None:
    """``hard_delete?force=true`` soft-deletes and deletes for good in one request."""
    freshdesk.connector.erase(freshdesk.main, identity=sanne)
    assert freshdesk.writes() == ["DELETE /api/v2/contacts/80012345671/hard_delete"]
    assert [r.query for r in freshdesk.handle.requests if r.method == "DELETE"] == [
        {"force": "true"}
    ]
    app: Any = freshdesk.handle.app
    assert 80012345671 not in app.contacts


def test_freshdesk_erase_completes_a_contact_that_was_only_soft_deleted(freshdesk: Sim) -> None:
    app: Any = freshdesk.handle.app
    app.contacts[80012345671]["deleted"] = True
    assert freshdesk.connector.erase(freshdesk.main) is ErasureOutcome.DELETED
    assert 80012345671 not in app.contacts


def test_mollie_customer_delete_keeps_payments(mollie: Sim, sanne: Identity) -> None:
    mollie.connector.erase(mollie.main, identity=sanne)
    records = mollie.fetch()
    assert {r.record_id for r in records if r.record_type == "customer"} == {"cst_Tz4Kd8Wm1S"}
    app: Any = mollie.handle.app
    assert any(p.get("customerId") == "cst_Vd3sNq7Lw2" for p in app.payments.values())


@pytest.mark.parametrize("vendor", ["zammad", "freshdesk", "mollie"])
def test_what_deleting_her_main_record_takes_along_is_declared(
    vendor: str, no_wait: RetryPolicy, sanne: Identity
) -> None:
    """Deleting Sanne's help desk user or contact deletes her tickets, deleting her Mollie
    customer cancels her subscriptions and revokes her mandate (payments stay). Each
    connector declares those record types (``erased_with_parent``, ``ended_with_parent``),
    so the portal never deletes such a record while one of them is kept or outside the
    request (portal.dsr.erasure.decide_all)."""
    for sim in sim_for(
        vendor, no_wait, **({"privacy_task_polls": 0} if vendor == "zammad" else {})
    ):
        cls = type(sim.connector)
        below = {(r.record_type, r.record_id) for r in sim.fetch() if r.parent == sim.main}
        app: Any = sim.handle.app
        sim.connector.erase(sim.main, identity=sanne)
        if vendor in ("zammad", "freshdesk"):
            tickets = {i for t, i in below if t == "ticket"}
            assert len(tickets) >= 10 and not tickets & {str(t) for t in app.tickets}
            assert "ticket" in cls.erased_with_parent and not cls.ended_with_parent
            continue
        assert {t for t, _i in below} == {"payment", "mandate", "subscription"}
        assert not {i for t, i in below if t == "mandate"} & set(app.mandates)
        ended = {i for t, i in below if t == "subscription"}
        assert {app.subscriptions[i]["status"] for i in ended} == {"canceled"}
        assert {i for t, i in below if t == "payment"} <= set(app.payments)
        assert cls.ended_with_parent == {"subscription", "mandate"}
        assert not cls.ended_with_parent & cls.erased_with_parent  # Mollie keeps them


# -- faults --------------------------------------------------------------------------------------


def test_slow_vendor_times_out(sim: Sim) -> None:
    field, value = CORRECTION[sim.vendor]
    sim.handle.set_fault("slow", delay=1.5)
    with pytest.raises(ConnectorError) as info:
        sim.connector.apply_correction(sim.main, field, value, deadline=Deadline(0.4))
    assert_kind(info, ErrorKind.TIMEOUT)
    with pytest.raises(ConnectorError) as info:
        sim.connector.erase(sim.main, deadline=Deadline(0.4))
    assert_kind(info, ErrorKind.TIMEOUT)


def test_rate_limit_is_waited_out_within_the_deadline(
    sim: Sim, sanne: Identity, sleeps: list[float]
) -> None:
    field, value = CORRECTION[sim.vendor]
    sim.handle.set_fault("rate_limit", count=1, retry_after=2)
    sim.connector.apply_correction(sim.main, field, value, identity=sanne)
    assert sleeps == [2.0]
    record = sim.find(*MAIN[sim.vendor])
    assert record is not None and record.fields[field] == value


def test_idempotent_write_is_retried_after_a_rate_limit(woo: Sim, sleeps: list[float]) -> None:
    woo.handle.set_fault("rate_limit", count=1, retry_after=1)
    note = woo.ref("order_note", "2041/9852")
    assert woo.connector.erase(note) is ErasureOutcome.DELETED  # the DELETE itself got 429
    assert sleeps == [1.0]
    assert [(r.method, r.status) for r in woo.handle.requests] == [("DELETE", 429), ("DELETE", 200)]


def test_rate_limit_beyond_the_deadline_fails_at_once(sim: Sim, sleeps: list[float]) -> None:
    field, value = CORRECTION[sim.vendor]
    sim.handle.set_fault("rate_limit", retry_after=120)
    with pytest.raises(ConnectorError) as info:
        sim.connector.apply_correction(sim.main, field, value, deadline=Deadline(5))
    assert_kind(info, ErrorKind.RATE_LIMITED)
    assert getattr(info.value, "retry_after", None) == 120
    assert sleeps == []


def test_expired_credentials_are_auth_errors(sim: Sim) -> None:
    field, value = CORRECTION[sim.vendor]
    sim.handle.set_fault("expired_credentials")
    with pytest.raises(ConnectorError) as info:
        sim.connector.apply_correction(sim.main, field, value)
    assert_kind(info, ErrorKind.AUTH)
    with pytest.raises(ConnectorError) as info:
        sim.connector.erase(sim.main)
    assert_kind(info, ErrorKind.AUTH)


def test_non_idempotent_post_is_not_retried_on_a_server_error(zammad: Sim) -> None:
    app: Any = zammad.handle.app
    real = app.on_dpt_create
    calls: list[int] = []

    def failing(request: Any) -> Any:
        calls.append(1)
        real(request)  # the task is created, but the answer is lost
        return app.server_error_response()

    app.on_dpt_create = failing
    with pytest.raises(ConnectorError) as info:
        zammad.connector.erase(zammad.main)
    assert_kind(info, ErrorKind.DOWN)
    assert calls == [1]
    app.on_dpt_create = real
    # The next erase finds the task that was created and does not post another one.
    assert zammad.connector.erase(zammad.main) is ErasureOutcome.DELETED
    assert calls == [1]
    assert zammad.handle.request_count("POST", "/api/v1/data_privacy_tasks") == 1


def test_non_idempotent_post_whose_answer_is_cut_off_is_not_sent_again(zammad: Sim) -> None:
    """Zammad handled the task's POST, then the connection broke mid-answer (a timeout after
    the vendor applied it): not sent again; the next erase finds the task and waits for it."""
    app: Any = zammad.handle.app
    real = app.on_dpt_create
    calls: list[int] = []

    def cut(request: Any) -> Any:
        calls.append(1)
        return cut_off(real(request))

    app.on_dpt_create = cut
    with pytest.raises(ConnectorError) as info:
        zammad.connector.erase(zammad.main)
    assert_kind(info, ErrorKind.DOWN)
    app.on_dpt_create = real
    assert zammad.connector.erase(zammad.main) is ErasureOutcome.DELETED
    assert calls == [1]
    assert zammad.handle.request_count("POST", "/api/v1/data_privacy_tasks") == 1
    assert 27 not in app.users


def test_a_correction_whose_answer_is_cut_off_is_written_once_more(sim: Sim) -> None:
    """The vendor wrote the value, then the answer broke off: the write sets a value, so it is
    sent again, and the record holds the value."""
    field, value = CORRECTION[sim.vendor]
    sim.handle.set_fault("cut_off", count=1)
    sim.connector.apply_correction(sim.main, field, value)
    assert [r.fault for r in sim.handle.requests][:2] == ["cut_off", "none"]
    assert sim.handle.requests[0].method == sim.handle.requests[1].method != "GET"
    record = sim.find(*MAIN[sim.vendor])
    assert record is not None and record.fields[field] == value


# -- the files connector -------------------------------------------------------------------------


def test_files_connector_describes_but_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "klanten.csv"
    path.write_text("Klantnummer;E-mail;Telefoon\n1042;sanne.devries@example.nl;06-12345678\n")
    source = {
        "name": "klanten",
        "kind": "csv",
        "path": str(path),
        "delimiter": ";",
        "record_type": "customer",
        "id_column": "Klantnummer",
        "identifiers": {"email": "E-mail"},
    }
    with create("files", {"sources": [source]}) as connector:
        [record] = connector.fetch(Identity.of(emails=[SANNE])).records
        assert connector.correctable_fields("customer") == {}
        assert connector.erasure_action("customer") == "none"
        with pytest.raises(ConnectorError) as info:
            connector.apply_correction(record.ref, "Telefoon", "0611112222")
        assert info.value.kind == ErrorKind.NOT_SUPPORTED
        with pytest.raises(ConnectorError) as info:
            connector.erase(record.ref)
        assert info.value.kind == ErrorKind.NOT_SUPPORTED
        assert connector.describe_target(record.ref, "Telefoon") == (
            f"Files › klanten › CSV file {path} › row where column 'Klantnummer' = 1042 › "
            "column 'Telefoon'"
        )
    by_email = {**source, "id_column": "E-mail"}
    with create("files", {"sources": [by_email], "record_id_key": "k"}) as connector:
        [record] = connector.fetch(Identity.of(emails=[SANNE])).records
        text = connector.describe_target(record.ref, "Telefoon")
        assert SANNE not in text
        assert (
            "line 2 of the file (the header is line 1), whose column 'E-mail' holds the "
            "customer's e-mail address" in text
        )


def test_idempotent_write_is_retried_after_a_server_error(sim: Sim) -> None:
    field, value = CORRECTION[sim.vendor]
    sim.handle.set_fault("server_error", count=1)
    sim.connector.apply_correction(sim.main, field, value)
    assert [r.status for r in sim.handle.requests][0] == 500
    record = sim.find(*MAIN[sim.vendor])
    assert record is not None and record.fields[field] == value


# -- MoneyBird contact people ------------------------------------------------------------------

DAAN = "daan.jansen@example.nl"
FLEUR = "fleur@jansenkoffie.example.nl"
#: Daan's company contact in MoneyBird, and its two contact people (Daan, Fleur).
JANSEN_KOFFIE = "431877251405932555"
FLEUR_PERSON = f"{JANSEN_KOFFIE}/431877251522324493"


def _values(records: list[Record]) -> str:
    return repr([(r.record_id, r.fields) for r in records]).lower()


def test_moneybird_contact_person_sees_their_own_entry_only(moneybird: Sim) -> None:
    records = moneybird.fetch(FLEUR)
    assert [(r.record_type, r.record_id) for r in records] == [("contact_person", FLEUR_PERSON)]
    fleur = records[0]
    assert fleur.fields == {
        "firstname": "Fleur",
        "lastname": "Jansen",
        "email": FLEUR,
        "phone": "+31 10 1234568",
        "department": "Administratie",
        "company_name": "Jansen Koffie & Co",
    }
    assert fleur.parent is not None and fleur.parent.record_id == JANSEN_KOFFIE
    assert fleur.categories["email"] == "contact" and fleur.categories["lastname"] == "identity"
    assert fleur.categories["department"] == "customer_account"
    assert fleur.link is not None and fleur.link.endswith(f"/contacts/{JANSEN_KOFFIE}")
    # the company's account, its invoices and the colleague are not hers
    assert DAAN not in _values(records) and "witte de with" not in _values(records)


def test_moneybird_company_contact_lists_no_colleagues(moneybird: Sim) -> None:
    records = moneybird.fetch(DAAN)
    kinds = {(r.record_type, r.record_id) for r in records}
    assert ("contact", JANSEN_KOFFIE) in kinds
    assert ("contact_person", f"{JANSEN_KOFFIE}/431877251522324492") in kinds
    assert ("contact_person", FLEUR_PERSON) not in kinds
    contact = next(r for r in records if r.record_type == "contact")
    assert "contact_people" not in contact.fields
    assert "fleur" not in _values(records) and "1234568" not in _values(records)


def test_moneybird_contact_person_corrected_and_erased(moneybird: Sim) -> None:
    ref = moneybird.ref("contact_person", FLEUR_PERSON)
    fleur = Identity.of(emails=[FLEUR])
    assert moneybird.connector.correctable_fields("contact_person").keys() >= {
        "email",
        "phone",
        "department",
    }
    moneybird.connector.apply_correction(ref, "department", "Financiën", identity=fleur)
    moneybird.connector.apply_correction(ref, "phone", "+31 10 7654321", identity=fleur)
    found = moneybird.find("contact_person", FLEUR_PERSON, email=FLEUR)
    assert found is not None
    assert (found.fields["department"], found.fields["phone"]) == ("Financiën", "+31 10 7654321")
    assert moneybird.writes()[-1] == (
        f"PATCH /api/v2/{moneybird.handle.credentials['administration_id']}"
        f"/contacts/{JANSEN_KOFFIE}/contact_people/431877251522324493.json"
    )
    # a person keeps a name: the vendor's refusal comes back as a rejection
    moneybird.connector.apply_correction(ref, "firstname", "", identity=fleur)
    with pytest.raises(ConnectorError) as info:
        moneybird.connector.apply_correction(ref, "lastname", "", identity=fleur)
    assert_kind(info, ErrorKind.REJECTED)

    assert moneybird.connector.describe_target(ref, "phone") == (
        f"MoneyBird › Contacts › #{JANSEN_KOFFIE} › Contact persons › #431877251522324493 › "
        f"Phone number (API: contacts/{JANSEN_KOFFIE}/contact_people/431877251522324493.json "
        "phone)"
    )
    assert moneybird.connector.erase(ref, identity=fleur) is ErasureOutcome.DELETED
    assert moneybird.fetch(FLEUR) == []
    assert moneybird.find("contact", JANSEN_KOFFIE, email=DAAN) is not None  # the company stays
    assert moneybird.connector.erase(ref, identity=None) is ErasureOutcome.ALREADY_GONE


def test_moneybird_contact_person_is_not_written_for_someone_else(moneybird: Sim) -> None:
    ref = moneybird.ref("contact_person", FLEUR_PERSON)
    assert_neither_written_nor_erased(moneybird, ref, Identity.of(emails=[DAAN]))


def assert_neither_written_nor_erased(sim: Sim, ref: RecordRef, identity: Identity) -> None:
    """The write guard refuses both a correction and an erasure of ``ref`` for ``identity``,
    and nothing reaches the vendor."""
    with pytest.raises(ConnectorError) as info:
        sim.connector.apply_correction(ref, "phone", "+31 6 11112222", identity=identity)
    assert info.value.kind == ErrorKind.MISMATCH
    with pytest.raises(ConnectorError) as info:
        sim.connector.erase(ref, identity=identity)
    assert info.value.kind == ErrorKind.MISMATCH
    assert sim.writes() == []


def _jansen_koffie(moneybird: Sim) -> dict[str, Any]:
    app: Any = moneybird.handle.app
    contact: dict[str, Any] = app.contacts[JANSEN_KOFFIE]
    return contact


def test_moneybird_shared_phone_matches_no_contact_person(moneybird: Sim) -> None:
    """The company's number (the switchboard) is nobody's own: a contact person without an
    e-mail address of their own is found by their own number only."""
    fleur = _jansen_koffie(moneybird)["contact_people"][1]
    fleur["email"] = ""
    by_phone = Identity.of(phones=["+31 10 1234568"])
    assert [r.record_id for r in moneybird.connector.fetch(by_phone).records] == [FLEUR_PERSON]
    fleur["phone"] = "+31 10 1234567"  # the company's and Daan's number
    switchboard = Identity.of(phones=["010-1234567"])
    found = moneybird.connector.fetch(switchboard).records
    assert FLEUR_PERSON not in {r.record_id for r in found}
    # nor can her entry be written on that number
    with pytest.raises(ConnectorError) as info:
        moneybird.connector.apply_correction(
            moneybird.ref("contact_person", FLEUR_PERSON), "department", "X", identity=switchboard
        )
    assert info.value.kind == ErrorKind.MISMATCH


def test_moneybird_a_number_typed_in_a_national_spelling_is_found(moneybird: Sim) -> None:
    """MoneyBird keeps a number as it was typed and its search is by text: each usual
    spelling of a verified number is searched, so "010-1234568" is found by +31101234568."""
    fleur = _jansen_koffie(moneybird)["contact_people"][1]
    fleur["email"], fleur["phone"] = "", "010-1234568"
    result = moneybird.connector.fetch(Identity.of(phones=["+31101234568"]))
    assert [r.record_id for r in result.records] == [FLEUR_PERSON]
    assert result.stats.duplicates == 0


def test_moneybird_a_contact_person_still_listed_after_a_404_is_not_reported_gone(
    moneybird: Sim,
) -> None:
    """That MoneyBird routes ``DELETE`` of a contact person is unverified: answered 404 while
    the contact still lists the person, the erasure is refused (staff remove them by hand),
    never reported as done."""
    app: Any = moneybird.handle.app
    app.on_person_delete = lambda request, adm, cid, pid: app.json({"error": "Not found"}, 404)
    ref = moneybird.ref("contact_person", FLEUR_PERSON)
    with pytest.raises(ConnectorError) as info:
        moneybird.connector.erase(ref, identity=Identity.of(emails=[FLEUR]))
    assert_kind(info, ErrorKind.REJECTED, FLEUR)
    assert [r.record_id for r in moneybird.fetch(FLEUR)] == [FLEUR_PERSON]
    # gone from the contact: then the 404 means what it says
    _jansen_koffie(moneybird)["contact_people"].pop(1)
    assert moneybird.connector.erase(ref, identity=None) is ErasureOutcome.ALREADY_GONE


def test_moneybird_a_contact_is_not_erased_with_a_colleague_s_entry(moneybird: Sim) -> None:
    """Deleting a company contact deletes its contact people: while a colleague's entry is
    there, erasing the contact is refused (and done by hand); the customer's own entry goes."""
    app: Any = moneybird.handle.app
    app.invoices[:] = [i for i in app.invoices if i["contact_id"] != JANSEN_KOFFIE]
    daan = Identity.of(emails=[DAAN])
    own = moneybird.ref("contact_person", f"{JANSEN_KOFFIE}/431877251522324492")
    assert moneybird.connector.erase(own, identity=daan) is ErasureOutcome.DELETED
    contact = moneybird.ref("contact", JANSEN_KOFFIE)
    with pytest.raises(ConnectorError) as info:
        moneybird.connector.erase(contact, identity=daan)
    assert_kind(info, ErrorKind.REJECTED, DAAN, FLEUR, "Fleur")
    assert JANSEN_KOFFIE in app.contacts
    assert [r.record_id for r in moneybird.fetch(FLEUR)] == [FLEUR_PERSON]
    # once her entry is gone (moved by hand, or erased on her own request), it can go
    moneybird.connector.erase(moneybird.ref("contact_person", FLEUR_PERSON))
    assert moneybird.connector.erase(contact, identity=daan) is ErasureOutcome.DELETED


# -- MoneyBird: the addresses invoices and quotes are sent to ---------------------------------

KEES = "kees.devries@example.nl"
SANNE_CONTACT = MAIN["moneybird"][1]


def test_moneybird_someone_else_s_invoice_address_shows_only_that_address(
    moneybird: Sim,
) -> None:
    """Sanne's invoices go to her and to Kees, who pays them: Kees sees that his address is
    there, never her contact (name, address, IBAN, notes) or her invoices."""
    app: Any = moneybird.handle.app
    contact = app.contacts[SANNE_CONTACT]
    contact["send_invoices_to_email"] = f"{SANNE}, {KEES.upper()}"
    contact["send_estimates_to_email"] = KEES
    records = moneybird.fetch(KEES)
    recipients = [r for r in records if r.record_type == "recipient"]
    assert sorted((r.record_id, r.fields) for r in recipients) == [
        (f"{SANNE_CONTACT}/send_estimates_to_email", {"send_estimates_to_email": KEES}),
        (f"{SANNE_CONTACT}/send_invoices_to_email", {"send_invoices_to_email": KEES.upper()}),
    ]
    assert all(r.categories == {next(iter(r.fields)): "contact"} for r in recipients)
    assert SANNE_CONTACT not in {r.record_id for r in records}
    assert not [r for r in records if r.parent and r.parent.record_id == SANNE_CONTACT]
    shown = _values(recipients)
    assert "sanne" not in shown and "oudegracht" not in shown and "nl00test" not in shown
    # Sanne herself still gets her contact, and no recipient record of her own contact
    mine = moneybird.fetch(SANNE)
    assert ("contact", SANNE_CONTACT) in {(r.record_type, r.record_id) for r in mine}
    assert not [r for r in mine if r.record_type == "recipient"]
    ref = moneybird.ref("recipient", f"{SANNE_CONTACT}/send_invoices_to_email")
    assert moneybird.connector.erasure_action("recipient") == "none"
    assert not moneybird.connector.correctable_fields("recipient")
    assert moneybird.connector.describe_target(ref) == (
        f"MoneyBird › Contacts › #{SANNE_CONTACT} › Invoices › Send to e-mail address "
        f"(API: contacts/{SANNE_CONTACT}.json)"
    )


def test_moneybird_invoice_address_of_a_contact_without_its_own_identifies_it(
    moneybird: Sim,
) -> None:
    """Without an e-mail address of its own, a contact whose invoices and quotes all go to one
    address is that address's; when they go to several, none of them is known to be the
    contact's: each sees only their own address, nobody the contact."""
    app: Any = moneybird.handle.app
    contact = app.contacts[SANNE_CONTACT]
    contact["email"] = ""
    contact["send_invoices_to_email"] = "Sanne.DeVries@Example.NL"
    contact["send_estimates_to_email"] = SANNE
    assert moneybird.find("contact", SANNE_CONTACT) is not None
    assert not [r for r in moneybird.fetch() if r.record_type == "recipient"]
    # the write guard reads the contact the same way
    sanne = Identity.of(emails=[SANNE])
    moneybird.connector.apply_correction(moneybird.main, "phone", "+31 6 11112222", identity=sanne)
    assert contact["phone"] == "+31 6 11112222"

    contact["send_invoices_to_email"] = f"{SANNE}, {KEES}"
    for email in (SANNE, KEES):
        records = moneybird.fetch(email)
        assert SANNE_CONTACT not in {r.record_id for r in records}
        assert not [r for r in records if r.parent and r.parent.record_id == SANNE_CONTACT]
        mine = {r.record_id: r.fields for r in records if r.record_type == "recipient"}
        assert set(mine) <= {
            f"{SANNE_CONTACT}/send_invoices_to_email",
            f"{SANNE_CONTACT}/send_estimates_to_email",
        }
        assert mine and {v for fields in mine.values() for v in fields.values()} == {email}
    with pytest.raises(ConnectorError) as info:
        moneybird.connector.apply_correction(
            moneybird.main, "phone", "+31 6 33334444", identity=Identity.of(emails=[KEES])
        )
    assert info.value.kind == ErrorKind.MISMATCH
    assert contact["phone"] == "+31 6 11112222"


def test_freshdesk_blind_copies_are_not_shown(freshdesk: Sim) -> None:
    """Whom our staff blind-copied is hidden from the customer in the mail itself: those
    addresses are other people's."""
    app: Any = freshdesk.handle.app
    ticket_ids = {r.record_id for r in freshdesk.fetch() if r.record_type == "ticket"}
    copied = [cv for cv in app.conversations if str(cv["ticket_id"]) in ticket_ids]
    assert copied
    for conversation in copied:
        conversation["bcc_emails"] = ["bookkeeping.partner@example.nl"]
    records = freshdesk.fetch()
    assert [r for r in records if r.record_type == "conversation"]
    assert "bookkeeping.partner" not in _values(records)


def test_woocommerce_an_order_in_someone_else_s_account_billed_to_you(woo: Sim) -> None:
    """Sanne ordered in her account with Kees's address for the invoice: Kees learns that his
    address is on order 2088, nothing else of it (her delivery address, her phone number in
    the staff note); he cannot have it erased either. Sanne still has all of it."""
    app: Any = woo.handle.app
    app.orders[2088]["billing"]["email"] = KEES
    records = woo.fetch(KEES)
    billed = [r for r in records if r.record_id == "2088" or r.record_id.startswith("2088/")]
    assert [(r.record_type, r.fields) for r in billed] == [
        ("billed_order", {"number": "2088", "billing_email": KEES})
    ]
    assert billed[0].categories == {"number": "orders", "billing_email": "contact"}
    assert "sanne" not in _values(records) and "oudegracht" not in _values(billed)
    assert woo.connector.erasure_action("billed_order") == "none"
    assert woo.connector.describe_target(woo.ref("billed_order", "2088")) == (
        "WooCommerce › Orders › #2088 › Billing › Email address (API: orders/2088)"
    )
    note = next(r for r in woo.fetch() if r.record_id.startswith("2088/"))
    with pytest.raises(ConnectorError) as info:
        woo.connector.erase(note.ref, identity=Identity.of(emails=[KEES]))
    assert info.value.kind == ErrorKind.MISMATCH
    hers = woo.find("order", "2088")
    assert hers is not None and hers.fields["billing_email"] == KEES
    assert woo.find(note.record_type, note.record_id) is not None  # and its notes


def test_zammad_a_household_number_pulls_in_no_record_without_e_mail(zammad: Sim) -> None:
    """Kees and Sanne share a number. A user with only that number (nobody's e-mail) could be
    either of them: Sanne, who verified the number, does not get it; a user with only a number
    nobody else has is still hers."""
    app: Any = zammad.handle.app
    template = app.users[27]
    app.users[990] = {
        **template, "id": 990, "login": "huistelefoon", "email": "", "phone": "+31612345678",
        "firstname": "Huis", "lastname": "telefoon", "note": "",
    }  # fmt: skip
    app.users[991] = {
        **template, "id": 991, "login": "mobiel", "email": "", "phone": "",
        "mobile": "+31 6 77778888", "firstname": "Mobiel", "lastname": "", "note": "",
    }  # fmt: skip
    sanne = Identity.of(emails=[SANNE], phones=["+31 6 12345678", "+31 6 77778888"])
    users = {r.record_id for r in zammad.connector.fetch(sanne).records if r.record_type == "user"}
    assert users == {"27", "991"}


def test_woocommerce_an_account_with_orders_billed_to_someone_else_is_not_deleted(
    woo: Sim, sanne: Identity
) -> None:
    """Deleting an account turns its orders into guest orders, which the address they are
    billed to would then see in full: while one is billed to Kees, the account stays."""
    app: Any = woo.handle.app
    app.orders[2088]["billing"]["email"] = KEES
    with pytest.raises(ConnectorError) as info:
        woo.connector.erase(woo.main, identity=sanne)
    assert_kind(info, ErrorKind.REJECTED, KEES)
    assert 101 in app.customers and app.orders[2088]["customer_id"] == 101
    app.remove_personal_data(2088)  # staff, with WooCommerce's eraser (it leaves the account)
    assert woo.connector.erase(woo.main, identity=sanne) is ErasureOutcome.DELETED
    assert app.orders[2088]["customer_id"] == 0
    assert not [r for r in woo.fetch(KEES) if r.record_id == "2088"]  # anonymised: nobody's


def test_woocommerce_an_order_of_a_deleted_account_is_its_billing_address_s(woo: Sim) -> None:
    """An order whose account no longer exists is found by its billing address, in full (as
    the write guard has it); the account is looked up once for all its orders."""
    app: Any = woo.handle.app
    orphans = [2041, 2088]
    for order_id in orphans:
        app.orders[order_id]["customer_id"] = 999
    found = {r.record_id: r.record_type for r in woo.fetch()}
    assert all(found.get(str(o)) == "order" for o in orphans)
    assert any(key.startswith("2088/") for key in found)  # with its notes
    lookups = [r for r in woo.handle.requests if r.path.endswith("/customers/999")]
    assert len(lookups) == 1 and lookups[0].status == 404


def test_moneybird_a_contact_on_a_shared_number_still_shows_the_customer_s_address(
    moneybird: Sim,
) -> None:
    """A contact without an e-mail address of its own, its invoices going to Sanne and a
    bookkeeper, with the household number Kees's contact has too: it is nobody's for sure,
    but Sanne is still told her address is on it."""
    app: Any = moneybird.handle.app
    contact = app.contacts[SANNE_CONTACT]
    contact["email"] = ""
    contact["customer_id"] = ""
    contact["send_invoices_to_email"] = f"{SANNE}, boekhouding@example.nl"
    contact["send_estimates_to_email"] = "boekhouding@example.nl"
    sanne = Identity.of(emails=[SANNE], phones=["+31 6 12345678"])
    records = moneybird.connector.fetch(sanne).records
    assert SANNE_CONTACT not in {r.record_id for r in records}  # the number is shared
    assert [(r.record_id, r.fields) for r in records if r.record_type == "recipient"] == [
        (f"{SANNE_CONTACT}/send_invoices_to_email", {"send_invoices_to_email": SANNE})
    ]


def test_moneybird_each_of_the_customer_s_addresses_in_a_field_is_shown(moneybird: Sim) -> None:
    """Kees's invoices go to him and to two addresses of Sanne's: her record of that field
    holds both of hers, and nothing of his."""
    app: Any = moneybird.handle.app
    work = "s.werk@example.nl"
    kees = next(c for c in app.contacts.values() if c.get("email") == KEES)
    kees["send_invoices_to_email"] = f"{KEES}, {SANNE}, {work.upper()}"
    sanne = Identity.of(emails=[SANNE, work])
    records = moneybird.connector.fetch(sanne).records
    mine = [(r.record_id, r.fields) for r in records if r.record_type == "recipient"]
    assert mine == [
        (
            f"{kees['id']}/send_invoices_to_email",
            {"send_invoices_to_email": f"{SANNE}, {work.upper()}"},
        )
    ]
    assert "kees" not in _values(list(records))


def test_moneybird_a_number_does_not_pull_in_a_contact_whose_mail_goes_to_others(
    moneybird: Sim,
) -> None:
    """Kees's contact has no e-mail address of its own; his invoices go to him, his quotes to
    his bookkeeper, and its phone is the landline Sanne verified. No other contact carries the
    number, yet the contact is not hers: not shown, not corrected, not erased for her. The
    same contact with no address at all is the landline's."""
    app: Any = moneybird.handle.app
    kees_id = "431877251199999999"
    app.contacts[kees_id] = {
        **copy.deepcopy(app.contacts[SANNE_CONTACT]),
        "id": kees_id, "firstname": "Kees", "email": "", "customer_id": "",
        "phone": "+31 30 1234567", "send_invoices_to_email": KEES,
        "send_estimates_to_email": "boekhouder@example.nl", "contact_people": [],
    }  # fmt: skip
    sanne = Identity.of(emails=[SANNE], phones=["030-1234567"])
    records = moneybird.connector.fetch(sanne).records
    assert kees_id not in {_contact_id(r.record_id) for r in records}
    assert "kees" not in _values(list(records))
    assert_neither_written_nor_erased(moneybird, moneybird.ref("contact", kees_id), sanne)
    assert kees_id in app.contacts
    # one address only: it says whose the contact is (Kees's), and the number is his as well
    app.contacts[kees_id]["send_estimates_to_email"] = ""
    assert kees_id not in {r.record_id for r in moneybird.connector.fetch(sanne).records}
    assert kees_id in {r.record_id for r in moneybird.fetch(KEES)}
    # no address at all: the landline is all there is, and it is Sanne's
    app.contacts[kees_id]["send_invoices_to_email"] = ""
    assert kees_id in {r.record_id for r in moneybird.connector.fetch(sanne).records}


def test_moneybird_a_contact_whose_mail_goes_only_to_the_customer_is_hers(moneybird: Sim) -> None:
    """No e-mail address of its own, invoices to one of Sanne's addresses and quotes to
    another: the contact is hers, in full, and her corrections reach it."""
    app: Any = moneybird.handle.app
    work = "s.werk@example.nl"
    contact = app.contacts[SANNE_CONTACT]
    contact.update(email="", customer_id="", send_invoices_to_email=SANNE)
    contact["send_estimates_to_email"] = work
    sanne = Identity.of(emails=[SANNE, work])
    records = moneybird.connector.fetch(sanne).records
    assert ("contact", SANNE_CONTACT) in {(r.record_type, r.record_id) for r in records}
    assert not [r for r in records if r.record_type == "recipient"]
    assert any(r.parent and r.parent.record_id == SANNE_CONTACT for r in records)  # invoices
    moneybird.connector.apply_correction(
        moneybird.ref("contact", SANNE_CONTACT), "phone", "+31 6 11112222", identity=sanne
    )
    assert app.contacts[SANNE_CONTACT]["phone"] == "+31 6 11112222"


def _contact_id(record_id: str) -> str:
    return record_id.partition("/")[0]


def test_zammad_a_record_on_a_shared_number_is_not_written_for_its_holder(zammad: Sim) -> None:
    """The write guard weighs a phone number as a gathering does: a user with only the
    household number, shown to nobody, is not corrected for Sanne either."""
    app: Any = zammad.handle.app
    app.users[990] = {
        **app.users[27], "id": 990, "login": "huistelefoon", "email": "",
        "phone": "+31612345678", "firstname": "Huis", "note": "",
    }  # fmt: skip
    sanne = Identity.of(emails=[SANNE], phones=["+31 6 12345678"])
    with pytest.raises(ConnectorError) as info:
        zammad.connector.apply_correction(
            zammad.ref("user", "990"), "phone", "+31 6 11112222", identity=sanne
        )
    assert info.value.kind == ErrorKind.MISMATCH
    assert app.users[990]["phone"] == "+31612345678"
    del app.users[45]["phone"]  # Kees's user no longer carries it: now it is hers
    app.users[45]["mobile"] = ""
    zammad.connector.apply_correction(
        zammad.ref("user", "990"), "phone", "+31 6 11112222", identity=sanne
    )
    assert app.users[990]["phone"] == "+31 6 11112222"


def test_zammad_a_record_with_a_shared_and_an_own_number_is_written(zammad: Sim) -> None:
    """A user with the household number and Sanne's own mobile is hers when gathering (by
    the mobile): the write guard sees it the same way."""
    app: Any = zammad.handle.app
    app.users[990] = {
        **app.users[27], "id": 990, "login": "huistelefoon", "email": "",
        "phone": "+31612345678", "mobile": "+31 6 77778888", "firstname": "Huis", "note": "",
    }  # fmt: skip
    sanne = Identity.of(emails=[SANNE], phones=["+31 6 12345678", "+31 6 77778888"])
    assert "990" in {r.record_id for r in zammad.connector.fetch(sanne).records}
    zammad.connector.apply_correction(
        zammad.ref("user", "990"), "firstname", "Huisnummer", identity=sanne
    )
    assert app.users[990]["firstname"] == "Huisnummer"


def test_woocommerce_only_orders_billed_to_you_have_their_account_looked_up(woo: Sim) -> None:
    """The search also finds other people's orders; their accounts are none of Sanne's
    business: not looked up, and a failure there cannot make her result partial."""
    app: Any = woo.handle.app
    app.orders[2092]["customer_id"] = 102  # billed to a near-miss address, in an account
    result = woo.connector.fetch(Identity.of(emails=[SANNE]))
    assert not result.missing
    assert not [r for r in woo.handle.requests if r.path.endswith("/customers/102")]
