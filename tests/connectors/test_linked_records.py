"""Records reached through a record of another system: a guest order's Mollie payment.

Mollie cannot be searched by e-mail, and a payment made without a customer object (a web
shop's guest checkout) is not listed under any customer. The WooCommerce order names it
(``transaction_id``), so the gathering's second phase reads it by id. Over real HTTP against
the simulators, except where a test puts a failing answer in front of one path.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors import (
    ErrorKind,
    Identity,
    MissingPart,
    RecordRef,
    RetryPolicy,
    SourceStatus,
    create,
    gather,
)
from connectors.base import BaseConnector, LinkedId
from connectors.identity import Identifier, IdentifierKind
from simulators.runner import SimulatorHandle, start

from .over_http import Answering, connect, gather_shop_and_payments

SANNE = "sanne.devries@example.nl"
#: Her 2023 guest order and its Mollie payment (the samples' example of the gap).
GUEST_ORDER, GUEST_PAYMENT = "1977", "tr_Gk2Mw8PxLs"
#: Near-identical people whose guest orders were paid through Mollie too.
NEAR_MISSES = (
    "sanne.devries@example.nl.evil.com",
    "xsanne.devries@example.nl",
    "sanne.devries@example.com",
)


def _gather(
    sims: dict[str, SimulatorHandle],
    retry: RetryPolicy,
    email: str = SANNE,
    *,
    mollie: httpx.BaseTransport | None = None,
    budget: float = 20.0,
) -> Any:
    return gather_shop_and_payments(sims, retry, email, mollie=mollie, budget=budget)


def _guest_payments(handle: SimulatorHandle, email: str) -> set[str]:
    """The Mollie payment ids of the guest orders billed to ``email`` in the shop."""
    orders = handle.app.orders.values()  # type: ignore[attr-defined]
    return {
        o["transaction_id"]
        for o in orders
        if not o.get("customer_id")
        and str(o["billing"].get("email", "")).lower() == email
        and str(o.get("transaction_id", "")).startswith("tr_")
    }


def _payment_reads(handle: SimulatorHandle) -> list[str]:
    return [r.path for r in handle.requests if r.path.startswith("/v2/payments/")]


def test_a_guest_order_s_mollie_payment_is_reached_through_the_order(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    result = _gather(sims, no_wait)
    mollie = result.sources["mollie"]
    assert mollie.status is SourceStatus.COMPLETE and mollie.missing == ()
    payments = {r.record_id: r for r in mollie.records if r.record_type == "payment"}
    payment = payments[GUEST_PAYMENT]
    assert payment.parent == RecordRef("woocommerce", "order", GUEST_ORDER)
    assert payment.matched.value == SANNE
    assert payment.fields["details"]["consumerAccount"] == "NL00TEST0123456789"
    assert payment.fields["amount"] == "35.97 EUR"
    assert payment.categories["details"] == "payment"
    # Both her guest orders (the 2022 one typed in other letter case too), and only those:
    # her account orders' payments came with her Mollie customers and are not read again.
    guests = _guest_payments(sims["woocommerce"], SANNE)
    assert GUEST_PAYMENT in guests and len(guests) == 2
    linked = {r.record_id for r in mollie.records if r.parent and r.parent.source != "mollie"}
    assert linked == guests
    assert sorted(_payment_reads(sims["mollie"])) == sorted(f"/v2/payments/{t}" for t in guests)
    # every payment once; the orders that name them are Sanne's own orders
    assert len(payments) == len([r for r in mollie.records if r.record_type == "payment"])
    orders = {r.record_id for r in result.sources["woocommerce"].records}
    assert {r.parent.record_id for r in mollie.records if r.record_id in linked} <= orders
    # no request repeated, in either phase
    for vendor, handle in sims.items():
        keys = Counter((r.method, r.path, r.query_string) for r in handle.requests)
        assert max(keys.values()) == 1, vendor
        assert result.sources[vendor].requests == len(handle.requests)
        assert result.sources[vendor].duplicates == 0


def test_mollie_alone_cannot_reach_a_guest_payment(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    with connect(sims["mollie"], no_wait) as connector:
        result = gather([connector], Identity.of(emails=[SANNE]))
    assert GUEST_PAYMENT not in {r.record_id for r in result.sources["mollie"].records}
    assert _payment_reads(sims["mollie"]) == []


def test_a_near_identical_person_s_guest_payment_is_not_reached(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    theirs = set().union(*(_guest_payments(sims["woocommerce"], e) for e in NEAR_MISSES))
    assert theirs, "the demo world has such payments"
    result = _gather(sims, no_wait)
    found = {r.record_id for r in result.records}
    assert found.isdisjoint(theirs)
    assert {p.rsplit("/", 1)[1] for p in _payment_reads(sims["mollie"])}.isdisjoint(theirs)
    # and gathering for one of them reaches their payment, not Sanne's
    sims["mollie"].clear_requests()
    other = _gather(sims, no_wait, "sanne.devries@example.com")
    mollie = other.sources["mollie"].records
    reached = {r.record_id for r in mollie if r.record_type == "payment"}
    assert reached == _guest_payments(sims["woocommerce"], "sanne.devries@example.com")
    assert GUEST_PAYMENT not in reached


def _problem(status: int, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        body = {"status": status, "title": "Problem", "detail": "Something went wrong."}
        return httpx.Response(status, json=body, headers=headers, request=request)

    return answer


def _garbage(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b'{"resource": "payment", "id": "tr_', request=request)


def _another(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"resource": "payment", "id": "tr_Other1"}, request=request)


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (_problem(503), ErrorKind.DOWN),
        (_problem(429, **{"Retry-After": "600"}), ErrorKind.RATE_LIMITED),
        (_problem(401), ErrorKind.AUTH),
        (_garbage, ErrorKind.BAD_DATA),
        (_another, ErrorKind.BAD_DATA),
    ],
    ids=["down", "rate_limited", "auth", "garbage", "another_payment"],
)
def test_a_failing_linked_read_makes_the_source_partial_with_the_part_named(
    sims: dict[str, SimulatorHandle],
    no_wait: RetryPolicy,
    answer: Callable[[httpx.Request], httpx.Response],
    kind: ErrorKind,
) -> None:
    failing = Answering("/v2/payments/", answer)
    result = _gather(sims, no_wait, mollie=failing)
    mollie = result.sources["mollie"]
    assert mollie.status is SourceStatus.PARTIAL
    assert mollie.missing == (MissingPart("order_payments", kind),)
    # what the first phase found is all there; nothing reached through an order
    assert any(r.record_type == "customer" for r in mollie.records)
    assert all(r.parent is None or r.parent.source == "mollie" for r in mollie.records)
    assert result.sources["woocommerce"].status is SourceStatus.COMPLETE


def test_a_source_wide_failure_stops_asking_for_more_linked_records(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    asked: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return _problem(500)(request)

    _gather(sims, RetryPolicy(attempts=1), mollie=Answering("/v2/payments/", down))
    assert len(asked) == 1  # two guest payments wanted, the first failure ends it


def test_a_linked_payment_this_key_cannot_read_makes_the_part_missing(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    """Mollie's own 404 for a payment id the shop names: made under another website profile
    or in test mode, it may well be held still, only not readable with this key. The
    customer is told payments of orders are missing, never shown less without a word."""
    del sims["mollie"].app.payments[GUEST_PAYMENT]  # type: ignore[attr-defined]
    result = _gather(sims, no_wait)
    mollie = result.sources["mollie"]
    assert mollie.status is SourceStatus.PARTIAL
    assert mollie.missing == (MissingPart("order_payments", ErrorKind.NOT_FOUND),)
    ids = {r.record_id for r in mollie.records}
    assert GUEST_PAYMENT not in ids
    assert _guest_payments(sims["woocommerce"], SANNE) - {GUEST_PAYMENT} <= ids


def test_a_404_that_is_not_mollie_s_own_makes_the_part_missing(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    def proxy_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<h1>Not Found</h1>", request=request)

    result = _gather(sims, no_wait, mollie=Answering("/v2/payments/", proxy_page))
    mollie = result.sources["mollie"]
    assert mollie.status is SourceStatus.PARTIAL
    assert mollie.missing == (MissingPart("order_payments", ErrorKind.NOT_FOUND),)


def test_linked_reads_stay_within_the_budget(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(5.0)
        return _problem(500)(request)

    started = time.monotonic()
    result = _gather(sims, no_wait, mollie=Answering("/v2/payments/", slow), budget=4.0)
    assert time.monotonic() - started < 4.0 + 1.5
    mollie = result.sources["mollie"]
    assert mollie.status is SourceStatus.PARTIAL
    assert mollie.missing == (MissingPart("order_payments", ErrorKind.TIMEOUT),)
    assert any(r.record_type == "customer" for r in mollie.records)


def test_the_mollie_source_failing_first_reads_nothing_by_id(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    sims["mollie"].set_fault("server_error")
    result = _gather(sims, no_wait)
    mollie = result.sources["mollie"]
    assert (mollie.status, mollie.error_kind) == (SourceStatus.FAILED, ErrorKind.DOWN)
    assert _payment_reads(sims["mollie"]) == []


# -- the declarations, without a vendor --------------------------------------------------------

SANNE_ID = Identifier(IdentifierKind.EMAIL, SANNE)


class CountingTransport(httpx.MockTransport):
    def __init__(self) -> None:
        self.paths: list[str] = []
        super().__init__(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.raw_path.decode())
        pid = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, json={"resource": "payment", "id": pid})


def _mollie(transport: httpx.BaseTransport) -> BaseConnector:
    return create("mollie", {"api_key": "live_x", "base_url": "https://api.example"},
                  transport=transport)  # fmt: skip


@pytest.mark.parametrize(
    "untrusted",
    ["tr_../../customers", "tr_Ab/../x", "tr_", "tr_Ab cd", "cst_Vd3sNq7Lw2", "../payments",
     "tr_Ab?x=1", "tr_Ab%2F", "pi_3MtwBwLkdIwHu7ix28a3tqPa", "TR_Ab1", " tr_Ab1\n/x"],
)  # fmt: skip
def test_an_id_not_of_mollie_s_payment_shape_is_never_requested(untrusted: str) -> None:
    transport = CountingTransport()
    wanted = [
        LinkedId("mollie", "payment", untrusted, "order_payments",
                 RecordRef("woocommerce", "order", "1"), SANNE_ID),
        LinkedId("mollie", "payment", "tr_Ok12", "order_payments",
                 RecordRef("woocommerce", "order", "2"), SANNE_ID),
    ]  # fmt: skip
    with _mollie(transport) as connector:
        result = connector.fetch_linked(wanted)
    assert transport.paths == ["/payments/tr_Ok12"]
    assert [r.record_id for r in result.records] == ["tr_Ok12"]
    assert result.records[0].parent == RecordRef("woocommerce", "order", "2")
    assert result.missing == ()


def test_an_id_is_read_once_and_not_when_already_there() -> None:
    transport = CountingTransport()
    via = RecordRef("woocommerce", "order", "1")
    wanted = [
        LinkedId("mollie", "payment", pid, "order_payments", via, SANNE_ID)
        for pid in ("tr_A1", "tr_B2", "tr_A1", "tr_C3")
    ]
    with _mollie(transport) as connector:
        result = connector.fetch_linked(wanted, known={("payment", "tr_C3")})
    assert transport.paths == ["/payments/tr_A1", "/payments/tr_B2"]
    assert [r.record_id for r in result.records] == ["tr_A1", "tr_B2"]
    assert result.stats.duplicates == 0


def test_only_the_customer_s_own_orders_link() -> None:
    """An order of theirs names its payment; someone else's order billed to their address
    (``billed_order``) never does, nor a record reached through another system already."""
    woo = create(
        "woocommerce",
        {"base_url": "https://shop.example", "consumer_key": "ck", "consumer_secret": "cs"},
    )
    from connectors import Record

    def record(record_type: str, rid: str, parent: RecordRef | None = None) -> Record:
        return Record("woocommerce", "woocommerce", record_type, rid, None,
                      {"transaction_id": f"tr_{rid}"}, {}, {}, SANNE_ID, parent)  # fmt: skip

    records = [
        record("order", "1"),
        record("billed_order", "2"),
        record("order_note", "3", RecordRef("woocommerce", "order", "1")),
        record("order", "4", RecordRef("elsewhere", "thing", "9")),
        Record("woocommerce", "woocommerce", "order", "5", None, {}, {}, {}, SANNE_ID),
    ]
    with woo:
        linked = list(woo.linked_ids(records))
    assert [(x.system, x.record_type, x.record_id, x.via.record_id) for x in linked] == [
        ("mollie", "payment", "tr_1", "1")
    ]
    assert linked[0].matched == SANNE_ID and linked[0].what == "order_payments"


def _problem_answer(status: int) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text="<h1>Error</h1>", request=request)

    return answer


def test_payments_of_orders_are_missing_when_the_shop_fails(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    """Mollie answers, but the payments only the shop's orders name cannot be reached while
    the shop is down: Mollie says so too, rather than look complete."""
    sims["woocommerce"].set_fault("server_error")
    result = _gather(sims, no_wait)
    assert result.sources["woocommerce"].status is SourceStatus.FAILED
    mollie = result.sources["mollie"]
    assert mollie.status is SourceStatus.PARTIAL
    assert mollie.missing == (MissingPart("order_payments", ErrorKind.DOWN),)
    assert _payment_reads(sims["mollie"]) == []


def test_payments_of_orders_are_missing_when_the_guest_orders_are(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    """The shop answers but its guest orders cannot be read: the payments they name cannot
    be either. Lost order notes hide no payment."""
    shop = connect(sims["woocommerce"], no_wait, Answering("/wp-json/wc/v3/orders", _search))
    payments = connect(sims["mollie"], no_wait)
    try:
        result = gather([shop, payments], Identity.of(emails=[SANNE]), budget=20.0)
    finally:
        shop.close()
        payments.close()
    assert MissingPart("guest_orders", ErrorKind.DOWN) in result.sources["woocommerce"].missing
    mollie = result.sources["mollie"]
    assert mollie.status is SourceStatus.PARTIAL
    assert mollie.missing == (MissingPart("order_payments", ErrorKind.DOWN),)


def _search(request: httpx.Request) -> httpx.Response:
    """The order search (guest orders) is down; the other order lists answer."""
    if "search" in request.url.params:
        return _problem_answer(500)(request)
    with httpx.Client() as client:
        return client.send(request)


def _gather_named(handles: dict[str, SimulatorHandle], retry: RetryPolicy) -> Any:
    """Gather for Sanne from every simulator, each a source named by its key."""
    connectors = [
        create(
            handle.vendor,
            {"base_url": handle.base_url, **handle.credentials},
            instance_name=name,
            retry=retry,
        )
        for name, handle in handles.items()
    ]
    try:
        return gather(connectors, Identity.of(emails=[SANNE]), budget=20.0)
    finally:
        for connector in connectors:
            connector.close()


def test_two_mollie_profiles_each_with_one_payment_are_both_complete(
    no_wait: RetryPolicy,
) -> None:
    """A firm with two Mollie website profiles configures two sources. Each payment id goes
    to both; the one that does not hold it answers 404, which is no missing part while the
    other one returned it."""
    names = (("woocommerce", "woocommerce"), ("shop-a", "mollie"), ("shop-b", "mollie"))
    handles = {name: start(vendor) for name, vendor in names}
    try:
        guest = sorted(_guest_payments(handles["woocommerce"], SANNE))
        assert len(guest) == 2
        # each profile holds one of her two guest payments
        del handles["shop-a"].app.payments[guest[0]]  # type: ignore[attr-defined]
        del handles["shop-b"].app.payments[guest[1]]  # type: ignore[attr-defined]
        result = _gather_named(handles, no_wait)
        for name in ("shop-a", "shop-b"):
            assert (result.sources[name].status, result.sources[name].missing) == (
                SourceStatus.COMPLETE,
                (),
            )
        assert guest[1] in {r.record_id for r in result.sources["shop-a"].records}
        assert guest[0] in {r.record_id for r in result.sources["shop-b"].records}
        # held by neither: then both say so (which of them should hold it, nobody knows)
        del handles["shop-a"].app.payments[guest[1]]  # type: ignore[attr-defined]
        again = _gather_named(handles, no_wait)
        for name in ("shop-a", "shop-b"):
            assert again.sources[name].missing == (
                MissingPart("order_payments", ErrorKind.NOT_FOUND),
            )
        assert guest[0] in {r.record_id for r in again.sources["shop-b"].records}
    finally:
        for handle in handles.values():
            handle.stop()
