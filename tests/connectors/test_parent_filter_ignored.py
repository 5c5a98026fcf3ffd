"""Lists asked for by a matched record's id, over real HTTP, from a vendor (or a plugin, or a
proxy) that ignores the filter and hands over everyone's rows.

An account's orders (``orders?customer={id}``), a contact's invoices
(``sales_invoices.json?filter=contact_id:{id}``) and a Mollie customer's payments and mandates
(``customers/{id}/payments``) are the customer's only because the vendor filtered them by
that id. Each row names its parent itself (``customer_id``, ``contact_id``, ``customerId``,
``_links.customer``): a row naming someone else is never shown as the customer's, and one naming
no one is not shown either: it makes the source partial, since it may be hers or not.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.wrappers import Request, Response

from connectors import ErrorKind, Identity, RecordRef, RetryPolicy, SourceStatus, gather
from connectors.moneybird import ALL_PERIODS

from .scripted import ScriptedServer, json_answer

SANNE_EMAIL = "sanne.devries@example.nl"
SANNE = Identity.of(emails=[SANNE_EMAIL])
WOO_SANNE = 101
MB_SANNE = "431877251120719881"
MOLLIE_SANNE = "cst_Vd3sNq7Lw2"
#: Another Mollie customer with payments of their own (the other Sanne de Vries).
MOLLIE_OTHER = "cst_Pm8xTq2Hn6"


def simulator_answer(server: ScriptedServer, request: Request, path: str, **query: str) -> Any:
    """The simulator's JSON answer to ``request`` sent to ``path`` with query ``query``."""
    environ = dict(request.environ)
    environ["PATH_INFO"] = path
    environ["QUERY_STRING"] = urlencode(query)
    return json.loads(Response.from_app(server.app, environ).get_data())


def records_of(server: ScriptedServer, retry: RetryPolicy) -> Any:
    with server.connector(retry) as connector:
        return gather([connector], SANNE).sources[server.vendor]


def test_woocommerce_orders_of_other_accounts_are_not_hers(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if request.path != "/wp-json/wc/v3/orders" or "customer" not in request.args:
            return None
        # the shop ignores ?customer=: every order (of the status asked), with its headers
        environ = dict(request.environ)
        query = {k: v for k, v in request.args.items() if k != "customer"}
        environ["QUERY_STRING"] = urlencode(query)
        return Response.from_app(server.app, environ)

    with ScriptedServer("woocommerce") as server:
        expected = records_of(server, no_wait)
        server.script = script
        source = records_of(server, no_wait)
    assert source.status == SourceStatus.COMPLETE
    orders = {r.record_id for r in source.records if r.record_type == "order"}
    assert orders == {r.record_id for r in expected.records if r.record_type == "order"}
    # the shop-wide list was read (someone else's orders came in) and left out
    shop = [o for o in server.app.orders.values() if o["customer_id"] not in (0, WOO_SANNE)]
    assert shop and not orders & {str(o["id"]) for o in shop}
    assert {r.record_id for r in source.records} == {r.record_id for r in expected.records}


def test_moneybird_invoices_of_other_contacts_are_not_hers(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if not request.path.endswith("/sales_invoices.json"):
            return None
        # MoneyBird (say) drops the contact_id key it does not know any more
        return server.forward(request, filter=f"state:all,period:{ALL_PERIODS}")

    with ScriptedServer("moneybird", script) as server:
        source = records_of(server, no_wait)
    assert source.status == SourceStatus.COMPLETE
    invoices = [r for r in source.records if r.record_type == "invoice"]
    assert len(invoices) == 9
    hers = {i["id"] for i in server.app.invoices if i["contact_id"] == MB_SANNE}
    assert {r.record_id for r in invoices} == hers
    assert len(server.app.invoices) > len(hers)


def test_mollie_payments_and_mandates_of_other_customers_are_not_hers(
    no_wait: RetryPolicy,
) -> None:
    base = f"/v2/customers/{MOLLIE_SANNE}"

    def script(request: Request) -> Response | None:
        if request.path == f"{base}/payments":
            page = simulator_answer(server, request, request.path, limit="250")
            other = simulator_answer(
                server, request, f"/v2/customers/{MOLLIE_OTHER}/payments", limit="250"
            )
            page["_embedded"]["payments"] += other["_embedded"]["payments"]
            page["count"] = len(page["_embedded"]["payments"])
            return json_answer(page)
        if request.path == f"{base}/mandates":
            page = simulator_answer(server, request, request.path, limit="250")
            theirs = copy.deepcopy(page["_embedded"]["mandates"][0])
            theirs["id"] = "mdt_Other1234"
            href = theirs["_links"]["customer"]["href"]
            theirs["_links"]["customer"]["href"] = href.replace(MOLLIE_SANNE, MOLLIE_OTHER)
            page["_embedded"]["mandates"].append(theirs)
            page["count"] = len(page["_embedded"]["mandates"])
            return json_answer(page)
        return None

    with ScriptedServer("mollie", script) as server:
        source = records_of(server, no_wait)
    assert source.status == SourceStatus.COMPLETE
    under_her = [
        r for r in source.records if r.parent is not None and r.parent.record_id == MOLLIE_SANNE
    ]
    payments = {r.record_id for r in under_her if r.record_type == "payment"}
    others = {p["id"] for p in server.app.payments.values() if p.get("customerId") == MOLLIE_OTHER}
    assert others and payments and not payments & others
    assert {r.record_id for r in under_her if r.record_type == "mandate"} == {"mdt_Hn5Rq8Zc4P"}


def _unnamed(answer: Response, drop: str, index: int = 0, key: str | None = None) -> Response:
    """``answer`` with the parent field ``drop`` taken out of its ``index``-th row (the rows
    are the answer itself, or its ``_embedded[key]``)."""
    body = json.loads(answer.get_data())
    rows = body if key is None else body["_embedded"][key]
    del rows[index][drop]
    answer.set_data(json.dumps(body))
    return answer


def test_a_woocommerce_order_naming_no_account_is_not_shown(no_wait: RetryPolicy) -> None:
    """An order in her account's list without its ``customer_id`` (here someone else's, as a
    proxy or a plugin might hand it over) may be anyone's: it is not shown, the shop is
    partial with the orders named, and her own orders are all shown."""

    def script(request: Request) -> Response | None:
        if request.path != "/wp-json/wc/v3/orders" or "customer" not in request.args:
            return None
        answer = server.forward(request)
        rows = json.loads(answer.get_data())
        if request.args.get("page", "1") == "1" and rows:
            stranger = copy.deepcopy(server.app.orders[foreign])
            del stranger["customer_id"]
            rows.append(stranger)
            answer.set_data(json.dumps(rows))
            # counted in the list's length, as a list that holds it would be
            answer.headers["X-WP-Total"] = str(int(answer.headers["X-WP-Total"]) + 1)
        return answer

    with ScriptedServer("woocommerce") as server:
        expected = records_of(server, no_wait)
        foreign = next(
            key for key, o in server.app.orders.items() if o["customer_id"] not in (0, WOO_SANNE)
        )
        server.script = script
        source = records_of(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("orders", ErrorKind.BAD_DATA)]
    assert str(foreign) not in {r.record_id for r in source.records}
    assert {r.record_id for r in source.records} == {r.record_id for r in expected.records}


def test_a_moneybird_invoice_naming_no_contact_is_not_shown(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if not request.path.endswith("/sales_invoices.json"):
            return None
        return _unnamed(server.forward(request), "contact_id")

    with ScriptedServer("moneybird", script) as server:
        source = records_of(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("sales_invoices", ErrorKind.BAD_DATA)]
    invoices = [r for r in source.records if r.record_type == "invoice"]
    assert len(invoices) == 8  # her nine, less the one that names no contact


def test_mollie_payments_and_mandates_naming_no_customer_are_not_shown(
    no_wait: RetryPolicy,
) -> None:
    base = f"/v2/customers/{MOLLIE_SANNE}"
    dropped: dict[str, str] = {}

    def script(request: Request) -> Response | None:
        for what, field in (("payments", "customerId"), ("mandates", "_links")):
            if request.path == f"{base}/{what}":
                answer = server.forward(request)
                dropped[what] = json.loads(answer.get_data())["_embedded"][what][0]["id"]
                return _unnamed(answer, field, key=what)
        return None

    with ScriptedServer("mollie") as server:
        expected = records_of(server, no_wait)
        server.script = script
        source = records_of(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    assert sorted((m.what, m.kind) for m in source.missing) == [
        ("mandates", ErrorKind.BAD_DATA),
        ("payments", ErrorKind.BAD_DATA),
    ]
    shown = {r.record_id for r in source.records}
    assert set(dropped.values()) and not shown & set(dropped.values())
    # the refunds and chargebacks of a payment left out are not asked for either
    assert shown == {r.record_id for r in expected.records} - set(dropped.values()) - {
        r.record_id
        for r in expected.records
        if r.parent is not None and r.parent.record_id == dropped["payments"]
    }


@pytest.mark.parametrize(
    ("vendor", "listed", "field"),
    [
        # Zammad's ticket search, asked for her tickets by her user id
        ("zammad", lambda request: request.path.endswith("/tickets/search"), "customer_id"),
        # Freshdesk's ticket list by requester (not the trash or spam lists)
        (
            "freshdesk",
            lambda request: request.path == "/api/v2/tickets" and "filter" not in request.args,
            "requester_id",
        ),
    ],
)
def test_a_ticket_naming_no_customer_is_not_shown(
    no_wait: RetryPolicy, vendor: str, listed: Callable[[Request], bool], field: str
) -> None:
    """A ticket in the answer for her tickets that does not name its customer (a search
    index that lags, a changed answer) is not shown, nor its messages, and the helpdesk is
    partial."""
    dropped: list[str] = []

    def script(request: Request) -> Response | None:
        if not listed(request):
            return None
        answer = server.forward(request)
        if json.loads(answer.get_data()) and not dropped:
            dropped.append(str(json.loads(answer.get_data())[0]["id"]))
            return _unnamed(answer, field)
        return answer

    with ScriptedServer(vendor) as server:
        expected = records_of(server, no_wait)
        server.script = script
        source = records_of(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("tickets", ErrorKind.BAD_DATA)]
    ticket = RecordRef(vendor, "ticket", dropped[0])
    assert ticket in {r.ref for r in expected.records}
    assert ticket not in {r.ref for r in source.records}
    # nor its messages: they are asked for only for a ticket that is shown
    assert [r for r in expected.records if r.parent == ticket]
    assert not [r for r in source.records if r.parent == ticket]
