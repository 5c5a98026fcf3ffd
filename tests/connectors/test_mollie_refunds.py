"""The refunds and chargebacks of a customer's Mollie payments (``GET payments/{id}/refunds``,
``…/chargebacks``), over real HTTP against the simulator.

Mollie lists them per payment only, so they are asked for only for the payments that show
they have some (a link to the list, or a refunded or charged-back amount that is not zero):
never one request per payment. Each is hers because its payment is (its parent); one naming
another payment never is, not even the other Sanne de Vries' near-identical refund. A list
that cannot be read makes the result partial, with the part named, never silently complete.
The payment of a guest order, reached by id through the order, has its refunds read too.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from connectors import (
    ErrorKind,
    GatherResult,
    Identity,
    MissingPart,
    RecordRef,
    RetryPolicy,
    SourceStatus,
)
from connectors import gather as gather_sources
from connectors.base import Record
from simulators.runner import SimulatorHandle

from .over_http import Answering, gather_shop_and_payments
from .scripted import ScriptedServer, html_answer, json_answer

SANNE_EMAIL = "sanne.devries@example.nl"
SANNE = Identity.of(emails=[SANNE_EMAIL])
OTHER_SANNE = Identity.of(emails=["sanne.de.vries@example.nl"])
MOLLIE_SANNE = "cst_Vd3sNq7Lw2"
#: The other Sanne de Vries (Groningen), with a near-identical refund of her own.
MOLLIE_OTHER = "cst_Pm8xTq2Hn6"
#: Sanne's order 2088, part refunded, and the refund (with a note about her).
REFUNDED, REFUND = "tr_Nd4Kp9RtYe", "re_Hq4Tn8Wd2K"
#: Her guest order 1977's payment (no Mollie customer), part refunded too.
GUEST_ORDER, GUEST_PAYMENT, GUEST_REFUND = "1977", "tr_Gk2Mw8PxLs", "re_Lx7Pv3Zs9B"
#: The chargeback of one of her coffee subscription's direct debits.
CHARGEBACK = "chb_Rt5Gw9Ke3V"
#: A list of what a payment holds below it.
LIST = re.compile(r"/v2/payments/(tr_\w+)/(refunds|chargebacks)")


def gather(server: ScriptedServer, retry: RetryPolicy, who: Identity = SANNE) -> GatherResult:
    with server.connector(retry) as connector:
        return gather_sources([connector], who)


def of_type(result: GatherResult, record_type: str) -> dict[str, Record]:
    return {
        r.record_id: r for r in result.sources["mollie"].records if r.record_type == record_type
    }


def held(app: Any, kind: str) -> dict[str, dict[str, Any]]:
    """The simulator's own refunds or chargebacks (``kind``), by id."""
    return dict(app.refunds if kind == "refunds" else app.chargebacks)


def payments_of(app: Any, customer: str) -> set[str]:
    return {pid for pid, p in app.payments.items() if p.get("customerId") == customer}


def lists_asked(paths: list[str]) -> Counter[tuple[str, str]]:
    """(payment, list) of each refund or chargeback list requested."""
    return Counter(m.groups() for p in paths if (m := LIST.fullmatch(p)))


def page_of(server: ScriptedServer, request: Request, payment: str, kind: str) -> dict[str, Any]:
    """The simulator's first page of ``payment``'s ``kind`` list, as JSON."""
    environ = dict(request.environ)
    environ["PATH_INFO"] = f"/v2/payments/{payment}/{kind}"
    environ["QUERY_STRING"] = "limit=250"
    body: dict[str, Any] = Response.from_app(server.app, environ).get_json()
    return body


def test_her_refunds_and_chargebacks_are_gathered_under_their_payments(
    no_wait: RetryPolicy,
) -> None:
    """Each with its own fields, under its payment, linked to its payment's dashboard page;
    refunds page by page (a second refund of the same payment, one a page)."""

    def script(request: Request) -> Response | None:
        if request.path == f"/v2/payments/{REFUNDED}/refunds" and "from" not in request.args:
            return server.forward(request, limit="1")
        return None

    with ScriptedServer("mollie", script) as server:
        app: Any = server.app
        second = copy.deepcopy(app.refunds[REFUND])
        second.update(
            id="re_Second2nd1",
            description="Tweede terugbetaling: verzendkosten",
            createdAt="2024-12-05T08:00:00+00:00",
            status="queued",
        )
        app.refunds[second["id"]] = second
        result = gather(server, no_wait)
    source = result.sources["mollie"]
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    payments = of_type(result, "payment")
    refunds = of_type(result, "refund")
    assert set(refunds) == {REFUND, "re_Second2nd1"}
    assert [p for _m, p in server.requests if p == f"/v2/payments/{REFUNDED}/refunds"] == [
        f"/v2/payments/{REFUNDED}/refunds"
    ] * 2  # the cursor was followed
    for rid, record in refunds.items():
        raw = app.refunds[rid]
        assert record.parent == RecordRef("mollie", "payment", REFUNDED)
        assert record.fields["paymentId"] == REFUNDED
        assert record.fields["amount"] == f"{raw['amount']['value']} EUR"
        assert record.fields["description"] == raw["description"]
        assert record.fields["status"] == raw["status"]
        assert record.fields["metadata"] == raw["metadata"]
        assert record.dates["created"].isoformat() == raw["createdAt"]
        assert set(record.categories.values()) == {"payment"}
        # Mollie gives a refund no dashboard page: its payment's page lists it
        assert record.link == payments[REFUNDED].link and record.link
        assert record.matched is not None and record.matched.value == SANNE_EMAIL
    assert "mevrouw De Vries" in refunds[REFUND].fields["description"]
    assert payments[REFUNDED].fields["amount_refunded"] == "24.95 EUR"

    chargebacks = of_type(result, "chargeback")
    assert set(chargebacks) == {CHARGEBACK}
    chargeback = chargebacks[CHARGEBACK]
    raw = app.chargebacks[CHARGEBACK]
    assert chargeback.parent == RecordRef("mollie", "payment", raw["paymentId"])
    assert raw["paymentId"] in payments
    assert payments[raw["paymentId"]].fields["method"] == "directdebit"
    charged = {pid for pid, p in payments.items() if "amount_charged_back" in p.fields}
    assert charged == {raw["paymentId"]}
    assert payments[raw["paymentId"]].fields["amount_charged_back"] == "24.95 EUR"
    assert chargeback.fields["bank_reason_code"] == raw["reason"]["code"] == "MD06"
    assert chargeback.fields["bank_reason"] == raw["reason"]["description"]
    assert chargeback.fields["amount"] == f"{raw['amount']['value']} EUR"
    assert chargeback.dates["created"].isoformat() == raw["createdAt"]
    assert chargeback.dates.get("reversed") is None
    assert set(chargeback.categories.values()) == {"payment"}
    assert chargeback.link == payments[raw["paymentId"]].link


def test_only_payments_that_have_some_are_asked_for_their_lists(no_wait: RetryPolicy) -> None:
    """Sanne has dozens of payments; only the two that show a refund or a chargeback have
    their list asked for, each once."""
    with ScriptedServer("mollie") as server:
        result = gather(server, no_wait)
    app: Any = server.app
    hers = payments_of(app, MOLLIE_SANNE) | payments_of(app, "cst_Tz4Kd8Wm1S")
    assert len(hers) > 30
    expected = {
        (x["paymentId"], kind)
        for kind in ("refunds", "chargebacks")
        for x in held(app, kind).values()
        if x["paymentId"] in hers
    }
    assert expected == {
        (REFUNDED, "refunds"),
        (app.chargebacks[CHARGEBACK]["paymentId"], "chargebacks"),
    }
    asked = lists_asked([p for _m, p in server.requests])
    assert asked == Counter(expected)
    assert result.sources["mollie"].status is SourceStatus.COMPLETE


@pytest.mark.parametrize(
    ("link", "amount", "asked"),
    [
        (True, "0.00", True),  # the link alone: a refund that failed counts for no amount
        (False, "24.95", True),  # the amount alone
        (False, "0.00", False),  # neither: nothing to ask for
        (False, None, False),  # a payment that cannot be refunded at all
        (False, "not a number", True),  # cannot tell: ask
    ],
    ids=["link", "amount", "neither", "no-amount", "unreadable-amount"],
)
def test_what_shows_a_payment_has_refunds(
    no_wait: RetryPolicy, link: bool, amount: str | None, asked: bool
) -> None:
    """Mollie's clients read "has refunds" from the link; the refunded amount says so too."""

    def script(request: Request) -> Response | None:
        if request.path != f"/v2/customers/{MOLLIE_SANNE}/payments":
            return None
        page: dict[str, Any] = server.forward(request).get_json()
        for payment in page["_embedded"]["payments"]:
            if payment["id"] != REFUNDED:
                continue
            if not link:
                del payment["_links"]["refunds"]
            if amount is None:
                payment.pop("amountRefunded", None)
            else:
                payment["amountRefunded"]["value"] = amount
        return json_answer(page)

    with ScriptedServer("mollie", script) as server:
        result = gather(server, no_wait)
    refund_lists = lists_asked([p for _m, p in server.requests])
    assert refund_lists[(REFUNDED, "refunds")] == (1 if asked else 0)
    assert (REFUND in of_type(result, "refund")) is asked
    assert result.sources["mollie"].status is SourceStatus.COMPLETE


def test_a_world_without_refunds_asks_for_none(no_wait: RetryPolicy) -> None:
    with ScriptedServer("mollie") as server:
        app: Any = server.app
        app.refunds.clear()
        app.chargebacks.clear()
        for payment in app.payments.values():
            payment.pop("amountChargedBack", None)
            if "amountRefunded" in payment:
                payment["amountRefunded"] = {"value": "0.00", "currency": "EUR"}
        result = gather(server, no_wait)
    assert not lists_asked([p for _m, p in server.requests])
    assert not of_type(result, "refund") and not of_type(result, "chargeback")
    assert of_type(result, "payment")
    assert result.sources["mollie"].status is SourceStatus.COMPLETE


def test_another_customer_s_refund_is_never_hers(no_wait: RetryPolicy) -> None:
    """The other Sanne de Vries has her own refund with the very same note: gathered for
    her, under her payment, and never for Sanne, even when it is handed over in the list of
    Sanne's payment (named by ``paymentId``, only by its payment link, or the two
    disagreeing)."""
    app_refunds: dict[str, dict[str, Any]] = {}

    def script(request: Request) -> Response | None:
        if request.path != f"/v2/payments/{REFUNDED}/refunds":
            return None
        page = page_of(server, request, REFUNDED, "refunds")
        (theirs,) = [
            page_of(server, request, r["paymentId"], "refunds")["_embedded"]["refunds"][0]
            for r in app_refunds.values()
            if r["paymentId"] in payments_of(server.app, MOLLIE_OTHER)
        ]
        linked_only = copy.deepcopy(theirs)
        linked_only["id"] = "re_Linked0nly1"
        del linked_only["paymentId"]
        mixed = copy.deepcopy(theirs)  # says it is of her payment, links to another
        mixed["id"] = "re_Mixed0wner1"
        mixed["paymentId"] = REFUNDED
        page["_embedded"]["refunds"] += [theirs, linked_only, mixed]
        page["count"] = len(page["_embedded"]["refunds"])
        return json_answer(page)

    with ScriptedServer("mollie", script) as server:
        app_refunds.update(server.app.refunds)  # type: ignore[attr-defined]
        others = {
            rid
            for rid, r in app_refunds.items()
            if r["paymentId"] in payments_of(server.app, MOLLIE_OTHER)
        }
        result = gather(server, no_wait)
        server.script = None
        theirs = of_type(gather(server, no_wait, OTHER_SANNE), "refund")
    assert others and result.sources["mollie"].status is SourceStatus.COMPLETE
    hers = of_type(result, "refund")
    assert set(hers) == {REFUND}
    assert not set(hers) & (others | {"re_Linked0nly1", "re_Mixed0wner1"})
    # the same note, on both: only the record's payment tells whose it is
    (other,) = others
    assert app_refunds[other]["description"] == app_refunds[REFUND]["description"]
    assert set(theirs) == others
    (mine,) = theirs.values()
    assert mine.parent is not None and mine.parent.record_id == app_refunds[other]["paymentId"]
    assert mine.parent.record_id in payments_of(server.app, MOLLIE_OTHER)


@pytest.mark.parametrize("kind", ["refunds", "chargebacks"])
def test_a_row_that_names_no_payment_is_not_shown(no_wait: RetryPolicy, kind: str) -> None:
    """Whose it is cannot be told: it is left out, and the result says the list is
    missing."""

    def script(request: Request) -> Response | None:
        match = LIST.fullmatch(request.path)
        if match is None or match[2] != kind:
            return None
        page = page_of(server, request, match[1], kind)
        nameless = page["_embedded"][kind][0]
        del nameless["paymentId"]
        del nameless["_links"]["payment"]
        return json_answer(page)

    with ScriptedServer("mollie", script) as server:
        result = gather(server, no_wait)
    source = result.sources["mollie"]
    assert source.status is SourceStatus.PARTIAL
    assert source.missing == (MissingPart(kind, ErrorKind.BAD_DATA),)
    assert not of_type(result, kind.removesuffix("s"))
    assert of_type(result, "payment")


@pytest.mark.parametrize("kind", ["refunds", "chargebacks"])
@pytest.mark.parametrize(
    "answer",
    [
        lambda kind: json_answer({}),
        lambda kind: json_answer({"count": 2, "_embedded": {kind: []}, "_links": {}}),
        lambda kind: json_answer({"count": 1, "_embedded": {kind: ["re_x"]}, "_links": {}}),
        lambda kind: json_answer({"status": 404, "title": "Not Found"}, 404),
        lambda kind: json_answer({"status": 503, "title": "Service Unavailable"}, 503),
        lambda kind: html_answer(),
    ],
    ids=["empty-object", "count-mismatch", "garbage-rows", "404", "503", "html"],
)
def test_an_unreadable_list_makes_the_result_partial(
    no_wait: RetryPolicy, answer: Any, kind: str
) -> None:
    def script(request: Request) -> Response | None:
        match = LIST.fullmatch(request.path)
        return answer(kind) if match is not None and match[2] == kind else None

    with ScriptedServer("mollie", script) as server:
        result = gather(server, no_wait)
    source = result.sources["mollie"]
    assert source.status is SourceStatus.PARTIAL
    assert [m.what for m in source.missing] == [kind]
    assert not of_type(result, kind.removesuffix("s"))
    # what Mollie did answer is still there: her payments, and the other list
    assert REFUNDED in of_type(result, "payment")
    other = "chargeback" if kind == "refunds" else "refund"
    assert of_type(result, other)


def test_a_guest_payment_s_refund_is_gathered_through_its_order(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    """Her guest order's payment has no Mollie customer: it is read by id because her order
    names it, and its refund with it, under the payment, which is under the order."""
    result = gather_shop_and_payments(sims, no_wait, SANNE_EMAIL)
    mollie = result.sources["mollie"]
    assert (mollie.status, mollie.missing) == (SourceStatus.COMPLETE, ())
    payment = of_type(result, "payment")[GUEST_PAYMENT]
    assert payment.parent == RecordRef("woocommerce", "order", GUEST_ORDER)
    refund = of_type(result, "refund")[GUEST_REFUND]
    assert refund.parent == RecordRef("mollie", "payment", GUEST_PAYMENT)
    assert refund.matched == payment.matched
    assert refund.fields["description"] == "Bestelling 1977: één zak bonen niet geleverd"
    asked = lists_asked([r.path for r in sims["mollie"].requests])
    assert asked[(GUEST_PAYMENT, "refunds")] == 1
    # her other guest payment shows no refund: its list is not asked for
    assert {pid for pid, _kind in asked} <= {
        GUEST_PAYMENT,
        REFUNDED,
        sims["mollie"].app.chargebacks[CHARGEBACK]["paymentId"],  # type: ignore[attr-defined]
    }


def test_a_guest_payment_s_unreadable_refunds_make_the_result_partial(
    sims: dict[str, SimulatorHandle], no_wait: RetryPolicy
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"status": 503, "title": "Down"}, request=request)

    failing = Answering(f"/v2/payments/{GUEST_PAYMENT}/refunds", down)
    result = gather_shop_and_payments(sims, no_wait, SANNE_EMAIL, mollie=failing)
    mollie = result.sources["mollie"]
    assert mollie.status is SourceStatus.PARTIAL
    assert mollie.missing == (MissingPart("refunds", ErrorKind.DOWN),)
    assert GUEST_PAYMENT in of_type(result, "payment")  # the payment itself is shown
    assert GUEST_REFUND not in of_type(result, "refund")
    assert REFUND in of_type(result, "refund")  # her other refund is not lost


def test_a_payment_id_of_another_shape_is_never_made_into_a_path(no_wait: RetryPolicy) -> None:
    """Its refunds are not asked for (no path is built of what Mollie would never send), and
    the result says refunds are missing."""

    def script(request: Request) -> Response | None:
        if request.path != f"/v2/customers/{MOLLIE_SANNE}/payments":
            return None
        page: dict[str, Any] = server.forward(request).get_json()
        for payment in page["_embedded"]["payments"]:
            if payment["id"] == REFUNDED:
                payment["id"] = "tr_Nd4/../../customers"
        return json_answer(page)

    with ScriptedServer("mollie", script) as server:
        result = gather(server, no_wait)
    source = result.sources["mollie"]
    assert source.missing == (MissingPart("refunds", ErrorKind.BAD_DATA),)
    assert "tr_Nd4/../../customers" in of_type(result, "payment")
    assert not [p for _m, p in server.requests if p.endswith("/refunds")]
    assert of_type(result, "chargeback")  # the other payments' lists are still read
