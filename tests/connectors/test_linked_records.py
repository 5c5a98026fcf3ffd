"""Records reached through a record of another system: a guest order's Mollie payment.

Mollie cannot be searched by e-mail, and a payment made without a customer object (a web
shop's guest checkout) is not listed under any customer. The WooCommerce order names it
(``transaction_id``), so the gathering's second phase reads it by id. Over real HTTP against
the simulators, except where a test puts a failing answer in front of one path.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from types import MappingProxyType
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
from connectors.base import BaseConnector, Candidate, Draft, LinkedId, Match, Run
from connectors.errors import SourceUnavailable
from connectors.identity import Identifier, IdentifierKind
from connectors.mollie import MollieConnector
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


#: A payment read by id, not the refunds or chargebacks listed below one.
BY_ID = re.compile(r"/v2/payments/[^/]+")


def _payment_reads(handle: SimulatorHandle) -> list[str]:
    return [r.path for r in handle.requests if BY_ID.fullmatch(r.path)]


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
    failing = Answering(BY_ID, answer)
    result = _gather(sims, no_wait, mollie=failing)
    mollie = result.sources["mollie"]
    assert mollie.status is SourceStatus.PARTIAL
    assert mollie.missing == (MissingPart("order_payments", kind),)
    # what the first phase found is all there; nothing reached through an order
    assert any(r.record_type == "customer" for r in mollie.records)
    assert all(r.parent is None or r.parent.source == "mollie" for r in mollie.records)
    assert result.sources["woocommerce"].status is SourceStatus.COMPLETE


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

    result = _gather(sims, no_wait, mollie=Answering(BY_ID, proxy_page))
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
    result = _gather(sims, no_wait, mollie=Answering(BY_ID, slow), budget=4.0)
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
    assert sorted(transport.paths) == ["/payments/tr_A1", "/payments/tr_B2"]  # read together
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


# -- a few at once -----------------------------------------------------------------------------
#
# fetch_linked reads up to `linked_concurrency` ids at once, takes them in the order named, and
# returns what it read in that order, however the reads overlapped. These tests assert on the
# requests in flight, never on how long anything took.

#: What :meth:`_LinkedReads._stop` logs when a failure of the whole source ends the reading.
STOP_LINE = "not requested"


@pytest.fixture
def mollie_sim() -> Iterator[SimulatorHandle]:
    """A Mollie simulator of its own (its payments may be deleted)."""
    handle = start("mollie")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def stop_logged(caplog: pytest.LogCaptureFixture) -> Iterator[threading.Event]:
    """Set once fetch_linked logs that it requests no further ids (the stop is in place)."""
    stopped = threading.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if STOP_LINE in record.getMessage():
                stopped.set()

    caplog.set_level(logging.INFO, logger="connectors.base")
    watch = Watch()
    logging.getLogger("connectors.base").addHandler(watch)
    try:
        yield stopped
    finally:
        logging.getLogger("connectors.base").removeHandler(watch)


def _payment_ids(handle: SimulatorHandle, count: int) -> list[str]:
    """``count`` payment ids the simulator holds, in neither its order nor sorted."""
    return sorted(handle.app.payments, key=lambda pid: pid[::-1])[:count]  # type: ignore[attr-defined]


def _named(ids: list[str], what: str = "order_payments", first: int = 100) -> list[LinkedId]:
    """``ids`` as named by orders ``first``, ``first + 1`` ..."""
    return [
        LinkedId("mollie", "payment", pid, what,
                 RecordRef("woocommerce", "order", str(first + n)), SANNE_ID)
        for n, pid in enumerate(ids)
    ]  # fmt: skip


class Held(httpx.BaseTransport):
    """Real HTTP, but each request first goes through ``before`` (in the thread reading it),
    which may answer it instead; counts the requests that arrived."""

    def __init__(self, before: Callable[[Held, httpx.Request], httpx.Response | None]) -> None:
        self.before = before
        self.inner = httpx.HTTPTransport()
        self.paths: list[str] = []
        self.arrived = threading.Condition()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.arrived:
            self.paths.append(request.url.path)
            self.arrived.notify_all()
        answer = self.before(self, request)
        return answer if answer is not None else self.inner.handle_request(request)

    def wait_for(self, count: int) -> None:
        """Wait until ``count`` requests arrived (each of them held until then)."""
        with self.arrived:
            together = self.arrived.wait_for(lambda: len(self.paths) >= count, timeout=10)
        assert together, f"{count} requests were never in flight at once"

    def close(self) -> None:
        self.inner.close()


def test_linked_records_are_read_a_few_at_once_and_come_in_the_order_named(
    mollie_sim: SimulatorHandle, no_wait: RetryPolicy
) -> None:
    bound = MollieConnector.linked_concurrency
    ids = _payment_ids(mollie_sim, 3 * bound)
    mollie_sim.set_latency(0.2)  # every answer takes a while: the reads overlap
    with connect(mollie_sim, no_wait) as connector:
        result = connector.fetch_linked(_named(ids))
    assert bound == 4 and 1 < mollie_sim.peak_in_flight <= bound
    assert [r.record_id for r in result.records] == ids
    assert [r.parent for r in result.records] == [one.via for one in _named(ids)]
    assert all(r.matched == SANNE_ID and r.record_type == "payment" for r in result.records)
    assert sorted(_payment_reads(mollie_sim)) == sorted(f"/v2/payments/{p}" for p in ids)
    # the counters of the session the reads share lost nothing
    stats = result.stats
    assert (stats.requests, stats.attempts, stats.duplicates) == (len(ids), len(ids), 0)
    assert result.missing == () and result.unread == ()


@pytest.mark.parametrize("bound", [1, 2])
def test_a_connector_may_read_fewer_linked_records_at_once(
    mollie_sim: SimulatorHandle, no_wait: RetryPolicy, bound: int
) -> None:
    class Fewer(MollieConnector):
        linked_concurrency = bound

    ids = _payment_ids(mollie_sim, 6)
    mollie_sim.set_latency(0.1)
    config = {"base_url": mollie_sim.base_url, **mollie_sim.credentials}
    with Fewer(config, retry=no_wait) as connector:
        result = connector.fetch_linked(_named(ids))
    peak = mollie_sim.peak_in_flight
    assert peak <= bound and (peak > 1) == (bound > 1)
    if bound == 1:  # one after another, in the order named
        assert _payment_reads(mollie_sim) == [f"/v2/payments/{p}" for p in ids]
    assert [r.record_id for r in result.records] == ids


def test_a_source_wide_failure_stops_asking_for_more_linked_records(
    mollie_sim: SimulatorHandle,
    no_wait: RetryPolicy,
    stop_logged: threading.Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first four ids are in flight together when Mollie answers the second one 429: the
    other three finish, none of the six left is asked for, and every id not read is either
    unread (Mollie's own 404) or makes its part missing."""
    ids = _payment_ids(mollie_sim, 10)
    del mollie_sim.app.payments[ids[2]]  # type: ignore[attr-defined]  # Mollie answers 404
    limited = f"/v2/payments/{ids[1]}"

    def before(held: Held, request: httpx.Request) -> httpx.Response | None:
        held.wait_for(4)
        if request.url.path == limited:
            return _problem(429, **{"Retry-After": "600"})(request)
        # the others are answered only once the reading has stopped taking ids
        assert stop_logged.wait(10), "the 429 did not stop the reading"
        return None

    transport = Held(before)
    wanted = _named(ids[:4]) + _named(ids[4:], "other_payments", first=200)
    with connect(mollie_sim, no_wait, transport) as connector:
        result = connector.fetch_linked(wanted)
    assert sorted(transport.paths) == sorted(f"/v2/payments/{p}" for p in ids[:4])
    assert result.stats.requests == 4
    assert [r.record_id for r in result.records] == [ids[0], ids[3]]
    assert result.unread == (wanted[2],)
    assert result.missing == (
        MissingPart("order_payments", ErrorKind.RATE_LIMITED),
        MissingPart("other_payments", ErrorKind.RATE_LIMITED),  # none of them was asked for
    )
    # the log names the kinds of parts and failures, never a record's id
    assert caplog.records and not any(pid in caplog.text for pid in ids)


def test_without_a_source_wide_failure_every_id_is_read(
    mollie_sim: SimulatorHandle, no_wait: RetryPolicy
) -> None:
    """A failure of one id (another payment's answer) stops nothing: the rest are read."""
    ids = _payment_ids(mollie_sim, 8)
    odd = f"/v2/payments/{ids[1]}"

    def before(held: Held, request: httpx.Request) -> httpx.Response | None:
        return _another(request) if request.url.path == odd else None

    transport = Held(before)
    with connect(mollie_sim, no_wait, transport) as connector:
        result = connector.fetch_linked(_named(ids))
    assert sorted(transport.paths) == sorted(f"/v2/payments/{p}" for p in ids)
    assert [r.record_id for r in result.records] == [ids[0], *ids[2:]]
    assert result.missing == (MissingPart("order_payments", ErrorKind.BAD_DATA),)


# -- a few at once, without a vendor -----------------------------------------------------------


class ByHand(BaseConnector):
    """Reads linked ids by calling ``read``: the test decides what each read does and when."""

    name = "byhand"
    title = "By hand"
    linkable = MappingProxyType({"payment": re.compile(r"p[0-9]+")})

    def __init__(self, read: Callable[[Run, str], Iterator[Draft]]) -> None:
        super().__init__({})
        self.read = read

    def find(self, run: Run) -> Iterator[Candidate]:
        return iter(())

    def expand(self, run: Run, match: Match) -> Iterator[Draft]:
        return iter(())

    def probe(self, run: Run) -> None:
        return None

    def read_linked(self, run: Run, record_type: str, record_id: str) -> Iterator[Draft]:
        return self.read(run, record_id)


def _by_hand(ids: list[str]) -> list[LinkedId]:
    return [
        LinkedId("byhand", "payment", pid, "order_payments",
                 RecordRef("shop", "order", f"o{pid}"), SANNE_ID)
        for pid in ids
    ]  # fmt: skip


def test_the_records_come_in_the_order_named_when_the_last_one_is_read_first() -> None:
    """Each read waits for the next one to finish: they finish last first. The records still
    come in the order named, and a record two reads both yield (a mandate of both payments)
    comes once, with the first of them as its parent, as when read one after another."""
    ids = [f"p{n}" for n in range(4)]
    done = {pid: threading.Event() for pid in ids}

    def read(run: Run, pid: str) -> Iterator[Draft]:
        later = ids.index(pid) + 1
        if later < len(ids):
            assert done[ids[later]].wait(10), "the reads did not overlap"
        if pid == "p2":  # a list read through it fails: its part is missing
            run.related("refunds", _down)
        done[pid].set()
        return iter(
            [
                Draft("payment", pid, {"n": pid}),
                Draft("mandate", "m1", {"of": pid}, parent=("payment", pid)),
            ]
        )

    with ByHand(read) as connector:
        result = connector.fetch_linked(_by_hand(ids))
    assert [(r.record_type, r.record_id) for r in result.records] == [
        ("payment", "p0"), ("mandate", "m1"), ("payment", "p1"), ("payment", "p2"),
        ("payment", "p3"),
    ]  # fmt: skip
    mandate = result.records[1]
    assert mandate.fields == {"of": "p0"} and mandate.parent == RecordRef("byhand", "payment", "p0")
    assert result.records[0].parent == RecordRef("shop", "order", "op0")
    assert result.missing == (MissingPart("refunds", ErrorKind.DOWN),)


def _down() -> list[Any]:
    raise SourceUnavailable("byhand: refunds: server error", vendor="byhand")


def test_a_bug_in_a_read_stops_the_reading_and_is_raised(stop_logged: threading.Event) -> None:
    """Not a source's answer but a bug: raised from fetch_linked as when read one at a time
    (the gathering reports it as internal), after the reads under way finished."""
    ids = [f"p{n}" for n in range(10)]
    started: list[str] = []
    lock = threading.Lock()
    four = threading.Barrier(4, timeout=10)

    def read(run: Run, pid: str) -> Iterator[Draft]:
        with lock:
            started.append(pid)
        four.wait()  # the first four are under way together
        if pid == "p1":
            raise KeyError("a bug")
        assert stop_logged.wait(10), "the bug did not stop the reading"
        return iter([Draft("payment", pid, {})])

    with ByHand(read) as connector, pytest.raises(KeyError):
        connector.fetch_linked(_by_hand(ids))
    assert sorted(started) == ["p0", "p1", "p2", "p3"]
