"""Each vendor connector on recorded payloads (httpx MockTransport): exact matches only.

The same connectors run over real HTTP against the simulators in ``test_vendors_simulated.py``;
these tests pin down the request pattern and the shape of the records precisely.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors import ErrorKind, Identity, RetryPolicy, create
from connectors.base import BaseConnector, FetchResult

FIXTURES = Path(__file__).parent / "fixtures"
SANNE = "sanne.devries@example.nl"
OTHER = "sanne.de.vries@example.nl"


def load(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


Route = Callable[[httpx.Request], httpx.Response | None]


def build(
    slug: str, config: dict[str, Any], route: Route, no_wait: RetryPolicy
) -> tuple[BaseConnector, list[httpx.Request]]:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        response = route(request)
        return response if response is not None else httpx.Response(404, json={})

    connector = create(slug, config, transport=httpx.MockTransport(handler), retry=no_wait)
    return connector, requests


def woo_route(request: httpx.Request) -> httpx.Response | None:
    path, params = request.url.path, request.url.params
    if path.endswith("/customers"):
        return httpx.Response(200, json=load("woocommerce", "customers_email_sanne"))
    if path.endswith("/orders") and params.get("status") == "trash":
        return httpx.Response(200, json=[])  # nothing in the shop's trash
    if path.endswith("/orders") and "customer" in params:
        return httpx.Response(200, json=load("woocommerce", "orders_customer_101"))
    if path.endswith("/orders") and "search" in params:
        orders = load("woocommerce", "orders_search_sanne")
        # The fuzzy search also finds the other Sanne's guest order.
        stranger = {**orders[-1], "id": 1999, "billing": {**orders[-1]["billing"], "email": OTHER}}
        return httpx.Response(200, json=[*orders, stranger])
    if path.endswith("/refunds"):
        return httpx.Response(
            200, json=load("woocommerce", "refunds_2041") if "/2041/" in path else []
        )
    if path.endswith("/customers/101/downloads"):
        return httpx.Response(200, json=load("woocommerce", "downloads_101"))
    if path.endswith("/notes"):
        order = path.split("/")[-2]
        return httpx.Response(
            200,
            json=[
                {
                    "id": 1,
                    "note": f"Order {order} paid",
                    "author": "system",
                    "date_created_gmt": "2024-03-12T13:19:40",
                }
            ],
        )
    return None


WOO = {"base_url": "https://shop.example.nl", "consumer_key": "ck_x", "consumer_secret": "cs_x"}


def fetch(connector: BaseConnector, identity: Identity) -> FetchResult:
    with connector:
        return connector.fetch(identity)


def test_woocommerce_customer_orders_notes_and_guest_orders(
    no_wait: RetryPolicy, sanne: Identity
) -> None:
    connector, requests = build("woocommerce", WOO, woo_route, no_wait)
    result = fetch(connector, sanne)
    kinds = [(r.record_type, r.record_id) for r in result.records]
    assert ("customer", "101") in kinds
    assert {i for t, i in kinds if t == "order"} == {"2103", "2088", "2041", "1977"}
    assert ("order", "1999") not in kinds  # the other Sanne's guest order
    assert result.dropped == 1
    # 1 customer lookup + 2 order lists + 2 guest searches (each also for the orders in the
    # trash, which WooCommerce's default status=any leaves out) + 4 note lists + the refund
    # list of the one order that lists a refund + the account's downloads; nothing twice.
    assert result.stats.requests == len(requests) == 11
    assert [r.url.path for r in requests if r.url.path.endswith("/refunds")] == [
        "/wp-json/wc/v3/orders/2041/refunds"
    ]
    trash = [r for r in requests if r.url.params.get("status") == "trash"]
    assert {r.url.params.get("customer") or r.url.params["search"] for r in trash} == {
        "101",
        SANNE,
    }
    assert result.stats.duplicates == 0
    customer = result.records[0]
    assert customer.categories["billing_address"] == "address"
    assert customer.categories["email"] == "contact"
    assert customer.link == "https://shop.example.nl/wp-admin/user-edit.php?user_id=101"
    assert customer.dates["last_order"].isoformat() == "2025-02-03T08:35:51+00:00"
    refund = next(r for r in result.records if r.record_type == "refund")
    assert refund.record_id == "2041/2111"
    assert refund.parent is not None and refund.parent.record_id == "2041"
    assert refund.fields["amount"] == "49.95" and "refunded_by" not in refund.fields
    assert refund.fields["reason"].startswith("Melkopschuimer retour")
    assert refund.categories == {"amount": "payment", "reason": "orders", "line_items": "orders"}
    assert refund.link == "https://shop.example.nl/wp-admin/post.php?post=2041&action=edit"
    download = next(r for r in result.records if r.record_type == "download")
    assert download.record_id == "2088/3f9c1d2e8b7a6c5d4e3f2a1b0c9d8e7f"
    assert download.fields == {
        "product_name": "Espressomachine Compact (refurbished)",
        "download_name": "Handleiding (PDF)",
        "downloads_remaining": "unlimited",
        "access_expires": "2027-01-30T23:00:00+00:00",
    }  # never its links, which work for whoever holds them
    assert "wc_order_" not in json.dumps(download.to_dict())
    guest = next(r for r in result.records if r.record_id == "1977")
    assert guest.parent is None and guest.matched.value == SANNE
    assert guest.categories["customer_ip_address"] == "technical"
    # The customer's e-mail never appears in a path; the guest search sends it as a parameter.
    assert all(SANNE not in r.url.path for r in requests)


def test_woocommerce_last_order_counts_guest_orders_for_the_account_too(
    no_wait: RetryPolicy, sanne: Identity
) -> None:
    """Orders are kept 24 months after the customer's last order: an order placed as a guest
    at her address after her last account order is her last order, for her account's orders
    too (and not the other Sanne's even later one, found by the same fuzzy search)."""

    def route(request: httpx.Request) -> httpx.Response | None:
        response = woo_route(request)
        if response is not None and "search" in request.url.params:
            orders = response.json()
            for order in orders:
                if order["id"] == 1977:  # her guest order, now the newest of hers
                    order["date_created_gmt"] = "2026-01-05T09:00:00"
                elif order["id"] == 1999:  # the other Sanne's
                    order["date_created_gmt"] = "2026-06-01T09:00:00"
            return httpx.Response(200, json=orders)
        return response

    connector, _requests = build("woocommerce", WOO, route, no_wait)
    result = fetch(connector, sanne)
    newest = "2026-01-05T09:00:00+00:00"
    customer = next(r for r in result.records if r.record_type == "customer")
    assert customer.dates["last_order"].isoformat() == newest
    orders = [r for r in result.records if r.record_type in ("order", "order_note")]
    assert {r.record_id for r in orders if r.record_type == "order"} == {
        "2103",
        "2088",
        "2041",
        "1977",
    }
    assert {r.dates["last_order"].isoformat() for r in orders} == {newest}


def test_woocommerce_category_overrides_from_config(no_wait: RetryPolicy, sanne: Identity) -> None:
    config = {
        **WOO,
        "categories": {"order.billing_address": "orders", "*.meta_data": "technical"},
        "category_keys": {"address": "adres"},
    }
    connector, _ = build("woocommerce", config, woo_route, no_wait)
    records = fetch(connector, sanne).records
    order = next(r for r in records if r.record_type == "order")
    assert order.categories["billing_address"] == "orders"
    assert order.categories["shipping_address"] == "adres"
    assert order.categories["meta_data"] == "technical"


def test_woocommerce_failing_notes_make_the_result_partial(
    no_wait: RetryPolicy, sanne: Identity
) -> None:
    def route(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/notes"):
            return httpx.Response(500)
        return woo_route(request)

    connector, _ = build("woocommerce", WOO, route, no_wait)
    result = fetch(connector, sanne)
    assert {(m.what, m.kind) for m in result.missing} == {("order_notes", ErrorKind.DOWN)}
    assert any(r.record_type == "order" for r in result.records)


def test_woocommerce_refuses_plain_http_to_a_remote_shop() -> None:
    from connectors import NotConfigured

    with pytest.raises(NotConfigured) as info:
        create("woocommerce", {**WOO, "base_url": "http://shop.example.nl"})
    assert "shop.example.nl" not in str(info.value)


def moneybird_route(request: httpx.Request) -> httpx.Response | None:
    path = request.url.path
    if path.endswith("/contacts.json"):
        return httpx.Response(200, json=load("moneybird", "contacts_query_sanne"))
    if path.endswith("/sales_invoices.json"):
        assert request.url.params["filter"] == (
            "contact_id:431877251120719881,state:all,period:20000101..20991231"
        )
        return httpx.Response(200, json=load("moneybird", "sales_invoices_contact"))
    if path.endswith("/estimates.json"):
        assert request.url.params["filter"] == (
            "contact_id:431877251120719881,state:all,period:20000101..20991231"
        )
        return httpx.Response(200, json=[])
    if path.endswith("/recurring_sales_invoices.json"):
        assert request.url.params["filter"] == "contact_id:431877251120719881"
        return httpx.Response(200, json=[])
    if "/contacts/customer_id/" in path:
        number = path.rsplit("/", 1)[-1].removesuffix(".json")
        contacts = load("moneybird", "contacts_query_sanne")
        found = [c for c in contacts if c["customer_id"] == number]
        return httpx.Response(200, json=found[0]) if found else httpx.Response(404, json={})
    return None


MONEYBIRD = {
    "administration_id": "431877250663540736",
    "token": "tok",
    "base_url": "https://moneybird.example.test/api/v2",
}


def test_moneybird_fuzzy_query_is_filtered_exactly(no_wait: RetryPolicy, sanne: Identity) -> None:
    connector, requests = build("moneybird", MONEYBIRD, moneybird_route, no_wait)
    result = fetch(connector, sanne)
    contacts = [r for r in result.records if r.record_type == "contact"]
    assert [c.record_id for c in contacts] == ["431877251120719881"]
    assert result.dropped == 1
    invoices = [r for r in result.records if r.record_type == "invoice"]
    assert len(invoices) == 3 and all(i.categories["lines"] == "invoices" for i in invoices)
    assert contacts[0].categories["sepa_iban"] == "payment"
    assert "invoice_date" in invoices[0].dates
    assert requests[0].url.path == "/api/v2/431877250663540736/contacts.json"
    # the search, then her invoices, estimates and recurring sales invoices
    assert result.stats.requests == 4 and result.missing == ()


def test_moneybird_by_customer_number_and_unknown_number(no_wait: RetryPolicy) -> None:
    connector, _ = build("moneybird", MONEYBIRD, moneybird_route, no_wait)
    with connector:
        found = connector.fetch(Identity.of(customer_numbers=["1042"]))
        missing = connector.fetch(Identity.of(customer_numbers=["104"]))
    assert {r.record_id for r in found.records if r.record_type == "contact"} == {
        "431877251120719881"
    }
    assert missing.records == () and missing.missing == ()


def test_moneybird_shared_phone_does_not_leak(no_wait: RetryPolicy) -> None:
    def route(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/contacts.json"):
            contacts = load("moneybird", "contacts_query_sanne")
            contacts[1]["phone"] = "+31 6 12345678"  # the other Sanne shares the number
            return httpx.Response(200, json=contacts)
        return moneybird_route(request)

    connector, _ = build("moneybird", MONEYBIRD, route, no_wait)
    records = fetch(connector, Identity.of(emails=[SANNE], phones=["0612345678"])).records
    assert {r.record_id for r in records if r.record_type == "contact"} == {"431877251120719881"}


def zammad_route(request: httpx.Request) -> httpx.Response | None:
    path, params = request.url.path, request.url.params
    if path.endswith("/users/search"):
        return httpx.Response(200, json=load("zammad", "users_search_email"))
    if path.endswith("/tickets/search"):
        # the condition search: exact, with or without Elasticsearch
        assert request.method == "POST" and "query" not in params
        body = json.loads(request.content)
        assert body["condition"] == {"ticket.customer_id": {"operator": "is", "value": "27"}}
        assert body["expand"] is True and body["page"] == 1
        return httpx.Response(200, json=load("zammad", "tickets_search_27"))
    if "/ticket_articles/by_ticket/" in path:
        return httpx.Response(
            200, json=load("zammad", "articles_118") if path.endswith("118") else []
        )
    return None


def test_zammad_user_tickets_and_articles(no_wait: RetryPolicy, sanne: Identity) -> None:
    connector, requests = build(
        "zammad", {"base_url": "https://desk.example.test", "token": "t"}, zammad_route, no_wait
    )
    result = fetch(connector, sanne)
    users = [r for r in result.records if r.record_type == "user"]
    assert [u.record_id for u in users] == ["27"]
    tickets = [r for r in result.records if r.record_type == "ticket"]
    assert len(tickets) == 3
    assert any("closed" in t.dates for t in tickets)
    articles = [r for r in result.records if r.record_type == "article"]
    assert articles and all(a.categories["body"] == "support" for a in articles)
    assert users[0].link == "https://desk.example.test/#user/profile/27"
    assert requests[0].headers["Authorization"] == "Token token=t"
    # the e-mail searched as email:… and as the bare address, the tickets, three articles
    assert result.stats.requests == 2 + 1 + 3 and result.stats.duplicates == 0


def freshdesk_route(request: httpx.Request) -> httpx.Response | None:
    path, params = request.url.path, request.url.params
    if path.endswith("/contacts"):
        return httpx.Response(200, json=load("freshdesk", "contacts_email_sanne"))
    if path.endswith("/contacts/80012345671"):
        return httpx.Response(200, json=load("freshdesk", "contact_80012345671"))
    if path.endswith("/tickets"):
        assert params["requester_id"] == "80012345671"
        assert params["updated_since"].startswith("2000-01-01")
        return httpx.Response(200, json=load("freshdesk", "tickets_sanne"))
    if path.endswith("/conversations"):
        return httpx.Response(
            200, json=load("freshdesk", "conversations_1207") if "/1207/" in path else []
        )
    if path.endswith("/surveys/satisfaction_ratings"):
        assert params["user_id"] == "80012345671"
        assert params["created_since"].startswith("2000-01-01")
        return httpx.Response(200, json=load("freshdesk", "satisfaction_ratings_sanne"))
    return None


def freshdesk(route: Route, no_wait: RetryPolicy) -> tuple[BaseConnector, list[httpx.Request]]:
    config = {"base_url": "https://kbu.freshdesk.example.test", "api_key": "k"}
    return build("freshdesk", config, route, no_wait)


def test_freshdesk_contact_tickets_conversations(no_wait: RetryPolicy, sanne: Identity) -> None:
    connector, _ = freshdesk(freshdesk_route, no_wait)
    result = fetch(connector, sanne)
    types = [r.record_type for r in result.records]
    assert types.count("contact") == 1 and types.count("ticket") == 3
    assert types.count("conversation") >= 1
    ticket = next(r for r in result.records if r.record_type == "ticket")
    assert ticket.fields["status"] in {"open", "pending", "resolved", "closed"}
    assert ticket.fields["priority"] in {"low", "medium", "high", "urgent"}  # not 1 to 4
    assert ticket.link is not None and "/a/tickets/" in ticket.link
    # the list leaves out other addresses and tags: the contact is read in full
    contact = next(r for r in result.records if r.record_type == "contact")
    assert contact.fields["other_emails"] == ["s.devries.werk@example.nl"]
    assert contact.fields["tags"] == ["abonnement"]
    rating = next(r for r in result.records if r.record_type == "satisfaction_rating")
    assert rating.fields == {
        "rating": "very_unhappy",
        "further_ratings": ["happy"],
        "feedback": "Pakket kwam pas na drie dagen; de medewerker was wel erg vriendelijk.",
    }
    assert rating.parent is not None and rating.parent.record_id == "1207"
    assert set(rating.categories.values()) == {"support"}
    # kept as long as its ticket: from the ticket's closing
    closed = next(r for r in result.records if r.record_id == "1207").dates["closed"]
    assert rating.dates["closed"] == closed
    assert result.missing == ()


def test_freshdesk_ratings_of_other_users_are_never_hers(
    no_wait: RetryPolicy, sanne: Identity
) -> None:
    """A ratings list that ignores ``user_id`` (a renamed filter, a proxy) hands over
    everyone's feedback: only the ratings naming her contact are shown; one naming no user
    is left out too, and makes the result partial (it may be hers)."""

    def route(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/surveys/satisfaction_ratings"):
            hers = load("freshdesk", "satisfaction_ratings_sanne")
            other = {**hers[0], "id": 80055500017, "user_id": 80012345702,
                     "feedback": "Snel geregeld, dank je wel!"}  # fmt: skip
            nobody = {**hers[0], "id": 80055500023, "user_id": None}
            return httpx.Response(200, json=[other, *hers, nobody])
        return freshdesk_route(request)

    connector, _ = freshdesk(route, no_wait)
    result = fetch(connector, sanne)
    ratings = [r for r in result.records if r.record_type == "satisfaction_rating"]
    assert [r.record_id for r in ratings] == ["80055500011"]
    assert [(m.what, m.kind) for m in result.missing] == [
        ("satisfaction_ratings", ErrorKind.BAD_DATA)
    ]


def test_freshdesk_failing_ratings_make_the_result_partial(
    no_wait: RetryPolicy, sanne: Identity
) -> None:
    def route(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/surveys/satisfaction_ratings"):
            return httpx.Response(200, json={"satisfaction_ratings": []})  # no list
        return freshdesk_route(request)

    connector, _ = freshdesk(route, no_wait)
    result = fetch(connector, sanne)
    assert [(m.what, m.kind) for m in result.missing] == [
        ("satisfaction_ratings", ErrorKind.BAD_DATA)
    ]
    assert not [r for r in result.records if r.record_type == "satisfaction_rating"]
    assert [r for r in result.records if r.record_type == "ticket"]


def test_freshdesk_contact_without_its_full_view_is_partial(
    no_wait: RetryPolicy, sanne: Identity
) -> None:
    """When the contact's own view fails, the list's row is shown and the result says its
    details are missing: never silently without the other addresses."""

    def route(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/contacts/80012345671"):
            return httpx.Response(503, json={})
        return freshdesk_route(request)

    connector, _ = freshdesk(route, no_wait)
    result = fetch(connector, sanne)
    contact = next(r for r in result.records if r.record_type == "contact")
    assert contact.fields["email"] == "sanne.devries@example.nl"
    assert [(m.what, m.kind.value) for m in result.missing] == [("contact_details", "down")]


def test_freshdesk_reads_only_the_customers_own_contact_in_full(no_wait: RetryPolicy) -> None:
    """Someone else found by a shared phone number is dropped without reading their contact
    (no extra request, nothing of theirs fetched); that their contact cannot be read does not
    make the customer's answer partial."""

    def route(request: httpx.Request) -> httpx.Response | None:
        path, params = request.url.path, request.url.params
        if path.endswith("/contacts") and "mobile" in params:
            stranger = {"id": 999, "name": "Partner", "email": "partner@example.nl",
                        "mobile": "+31 6 12345678", "phone": None}  # fmt: skip
            return httpx.Response(200, json=[stranger])
        if path.endswith("/contacts") and "phone" in params:
            return httpx.Response(200, json=[])
        if path.endswith("/contacts/999"):
            return httpx.Response(503, json={})
        return freshdesk_route(request)

    connector, requests = freshdesk(route, no_wait)
    both = Identity.of(emails=["sanne.devries@example.nl"], phones=["+31612345678"])
    result = fetch(connector, both)
    assert {r.record_id for r in result.records if r.record_type == "contact"} == {"80012345671"}
    assert result.missing == ()
    assert not [r for r in requests if r.url.path.endswith("/contacts/999")]
    contact = next(r for r in result.records if r.record_type == "contact")
    assert contact.fields["other_emails"] == ["s.devries.werk@example.nl"]


def mollie_route(request: httpx.Request) -> httpx.Response | None:
    path, params = request.url.path, request.url.params
    if path.endswith("/v2/customers"):
        page = "customers_page2" if "from" in params else "customers_page1"
        body = load("mollie", page)
        body = json.loads(
            json.dumps(body).replace("https://api.mollie.com", "https://mollie.example.test")
        )
        return httpx.Response(200, json=body)
    if path.endswith("/v2/payments/tr_Nd4Kp9RtYe/refunds"):
        return httpx.Response(200, json=load("mollie", "refunds_tr_Nd4Kp9RtYe"))
    if path.endswith("/v2/payments/tr_Rb6Yt3UvQm/chargebacks"):
        return httpx.Response(200, json=load("mollie", "chargebacks_tr_Rb6Yt3UvQm"))
    if path.endswith("/payments"):
        return httpx.Response(200, json=load("mollie", "payments_sanne"))
    if path.endswith("/mandates"):
        return httpx.Response(200, json=load("mollie", "mandates_sanne"))
    if path.endswith("/subscriptions"):
        return httpx.Response(200, json=load("mollie", "subscriptions_sanne"))
    return None


def test_mollie_pages_through_customers_and_compares_exactly(
    no_wait: RetryPolicy, sanne: Identity
) -> None:
    connector, requests = build(
        "mollie",
        {"api_key": "test_x", "base_url": "https://mollie.example.test/v2"},
        mollie_route,
        no_wait,
    )
    result = fetch(connector, sanne)
    customers = [r for r in result.records if r.record_type == "customer"]
    assert [c.record_id for c in customers] == ["cst_Vd3sNq7Lw2"]
    payments = [r for r in result.records if r.record_type == "payment"]
    assert len(payments) == 5 and payments[0].categories["details"] == "payment"
    assert any(r.record_type == "mandate" for r in result.records)
    subscriptions = {r.record_id: r for r in result.records if r.record_type == "subscription"}
    assert set(subscriptions) == {"sub_Bn3Mk7Qw2X", "sub_Jt6Vw4Hs9C"}
    assert subscriptions["sub_Bn3Mk7Qw2X"].categories["amount"] == "payment"
    assert customers[0].link and customers[0].link.startswith("https://my.mollie.com/")
    # the refund of the one payment refunded and the chargeback of the one charged back,
    # each under its payment; no list asked for of the payments that show none
    (refund,) = [r for r in result.records if r.record_type == "refund"]
    assert refund.parent is not None and refund.parent.record_id == "tr_Nd4Kp9RtYe"
    assert refund.fields["description"].startswith("Retour: molen beschadigd")
    (chargeback,) = [r for r in result.records if r.record_type == "chargeback"]
    assert chargeback.parent is not None and chargeback.parent.record_id == "tr_Rb6Yt3UvQm"
    assert chargeback.fields["bank_reason_code"] == "MD06"
    assert result.missing == ()
    # 2 customer pages + payments + mandates + subscriptions + 1 refund and 1 chargeback list
    assert result.stats.requests == len(requests) == 7
    assert [r.url.path for r in requests if r.url.path.startswith("/v2/payments/")] == [
        "/v2/payments/tr_Rb6Yt3UvQm/chargebacks",
        "/v2/payments/tr_Nd4Kp9RtYe/refunds",
    ]


def test_bad_shape_fails_the_source(no_wait: RetryPolicy, sanne: Identity) -> None:
    from connectors import BadResponse

    connector, _ = build(
        "woocommerce", WOO, lambda r: httpx.Response(200, json={"not": "a list"}), no_wait
    )
    with connector, pytest.raises(BadResponse):
        connector.fetch(sanne)


def test_health_check_reports_auth_failure(no_wait: RetryPolicy) -> None:
    connector, _ = build(
        "woocommerce",
        WOO,
        lambda r: httpx.Response(401, json=load("woocommerce", "error_401")),
        no_wait,
    )
    with connector:
        health = connector.check()
    assert not health.ok and health.error_kind == ErrorKind.AUTH and health.requests == 1
