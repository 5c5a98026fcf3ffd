"""WooCommerce simulator: auth quirks, exact vs wildcard search, paging, writes."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import httpx

from simulators import SimulatorHandle

SANNE = "sanne.devries@example.nl"


def test_auth_errors(woo: SimulatorHandle) -> None:
    creds = woo.credentials
    anonymous = httpx.get(woo.url("/customers"))
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }
    unknown = httpx.get(woo.url("/customers/101"), auth=("ck_unknown", "cs_unknown"))
    assert unknown.status_code == 401
    assert unknown.json()["code"] == "woocommerce_rest_cannot_view"
    assert "WWW-Authenticate" not in unknown.headers
    wrong = httpx.get(woo.url("/customers"), auth=(creds["consumer_key"], "cs_wrong"))
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "woocommerce_rest_authentication_error"
    assert wrong.json()["message"] == "Consumer secret is invalid."
    assert wrong.headers["WWW-Authenticate"].startswith('Basic realm="WooCommerce API.')
    readonly = woo.app.readonly_credentials  # type: ignore[attr-defined]
    ro_auth = (readonly["consumer_key"], readonly["consumer_secret"])
    assert httpx.get(woo.url("/customers/101"), auth=ro_auth).status_code == 200
    ro_write = httpx.put(woo.url("/customers/101"), auth=ro_auth, json={"first_name": "X"})
    assert ro_write.status_code == 401
    assert ro_write.json()["message"] == "The API key provided does not have write permissions."
    via_query = httpx.get(woo.url("/customers/101"), params=creds)
    assert via_query.status_code == 200


def test_email_is_exact_and_search_is_fuzzy(woo_client: httpx.Client) -> None:
    exact = woo_client.get("/customers", params={"email": SANNE})
    assert [c["id"] for c in exact.json()] == [101]
    assert exact.headers["X-WP-Total"] == "1" and "Link" not in exact.headers
    upper = woo_client.get("/customers", params={"email": SANNE.upper()})
    assert [c["id"] for c in upper.json()] == [101]
    nobody = woo_client.get("/customers", params={"email": "nobody@example.nl"})
    assert nobody.status_code == 200 and nobody.json() == []
    fuzzy = woo_client.get("/customers", params={"search": "sanne", "per_page": 100})
    emails = {c["email"] for c in fuzzy.json()}
    assert {SANNE, "sanne.de.vries@example.nl", "sanne.devries@example.nl.evil.com"} <= emails
    # The plus-tag account has role "subscriber": hidden unless role=all.
    assert "sanne.devries+shop@example.nl" not in emails
    everyone = woo_client.get("/customers", params={"search": "sanne", "role": "all"})
    assert "sanne.devries+shop@example.nl" in {c["email"] for c in everyone.json()}


def test_email_compares_as_mysql_does(woo_client: httpx.Client) -> None:
    """MySQL's collation ignores case and accents; punycode is another string to it."""
    changed = woo_client.put("/customers/102", json={"email": "Jan@Bücher.nl"})
    assert changed.status_code == 200 and changed.json()["email"] == "Jan@Bücher.nl"
    for spelling in ("jan@bücher.nl", "JAN@BUCHER.NL", "jan@bucher.nl"):
        found = woo_client.get("/customers", params={"email": spelling})
        assert [c["id"] for c in found.json()] == [102], spelling
    punycode = woo_client.get("/customers", params={"email": "jan@xn--bcher-kva.nl"})
    assert punycode.json() == []
    # the same address is taken, whatever its accents and case
    taken = woo_client.put("/customers/103", json={"email": "jan@bucher.nl"})
    assert taken.status_code == 400
    assert taken.json()["code"] == "woocommerce_rest_customer_invalid_email"
    billed = woo_client.put("/orders/2076", json={"billing": {"email": "jan@xn--bcher-kva.nl"}})
    assert billed.status_code == 200
    for spelling, ids in (("JAN@XN--BCHER-KVA.NL", [2076]), ("jan@bücher.nl", [])):
        orders = woo_client.get("/orders", params={"search": spelling})
        assert [o["id"] for o in orders.json()] == ids, spelling


def test_pagination_headers_and_links(woo_client: httpx.Client) -> None:
    first = woo_client.get("/customers", params={"per_page": 3})
    total = int(first.headers["X-WP-Total"])
    pages = int(first.headers["X-WP-TotalPages"])
    assert pages == -(-total // 3) and pages > 3
    assert (
        first.headers["Link"].endswith('rel="next"') and 'rel="prev"' not in first.headers["Link"]
    )
    seen = [c["id"] for c in first.json()]
    url: str | None = first.links["next"]["url"]
    while url:
        page = woo_client.get(url)
        seen += [c["id"] for c in page.json()]
        assert 'rel="prev"' in page.headers["Link"]
        url = page.links.get("next", {}).get("url")
    assert len(seen) == total == len(set(seen))
    too_big = woo_client.get("/customers", params={"per_page": 500})
    assert too_big.status_code == 400
    assert too_big.json()["code"] == "rest_invalid_param"
    assert too_big.json()["data"]["params"] == {
        "per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"
    }


def test_orders_by_customer_and_guest_orders_by_search(woo_client: httpx.Client) -> None:
    account = woo_client.get("/orders", params={"customer": 101, "per_page": 10})
    assert int(account.headers["X-WP-Total"]) >= 25
    assert int(account.headers["X-WP-TotalPages"]) >= 3
    dates = [o["date_created_gmt"] for o in account.json()]
    assert dates == sorted(dates, reverse=True)
    assert all(o["customer_id"] == 101 for o in account.json())
    found = woo_client.get("/orders", params={"search": SANNE, "per_page": 100}).json()
    guests = [o for o in found if o["customer_id"] == 0]
    assert {1977} <= {o["id"] for o in guests}
    # Search also returns near misses: filter on billing.email in code.
    assert any(o["billing"]["email"] != SANNE for o in found)
    order = woo_client.get("/orders/2041").json()
    assert order["transaction_id"] == "tr_Sv7Hq2WnXa" and order["total"] == "115.93"
    notes = woo_client.get("/orders/2088/notes").json()
    assert any("06-12345678" in n["note"] for n in notes)
    missing = woo_client.get("/orders/999999")
    assert missing.status_code == 404
    assert missing.json()["code"] == "woocommerce_rest_shop_order_invalid_id"


def test_update_is_visible_on_reread(woo_client: httpx.Client) -> None:
    body = {"billing": {"address_1": "Nieuwegracht 7", "postcode": "3512 LB"}}
    updated = woo_client.put("/customers/101", json=body)
    assert updated.status_code == 200
    assert updated.json()["billing"]["address_1"] == "Nieuwegracht 7"
    again = woo_client.get("/customers/101").json()
    assert again["billing"]["postcode"] == "3512 LB"
    assert again["shipping"]["address_1"] == "Oudegracht 112"
    taken = woo_client.put("/customers/101", json={"email": "sanne.de.vries@example.nl"})
    assert taken.status_code == 400
    assert taken.json()["code"] == "woocommerce_rest_customer_invalid_email"


def test_delete_needs_force(woo_client: httpx.Client) -> None:
    no_force = woo_client.delete("/customers/101")
    assert no_force.status_code == 501
    assert no_force.json()["code"] == "woocommerce_rest_trash_not_supported"
    deleted = woo_client.delete("/customers/101", params={"force": "true"})
    assert deleted.status_code == 200 and deleted.json()["id"] == 101
    gone = woo_client.get("/customers/101")
    assert gone.status_code == 404 and gone.json()["code"] == "wc_user_invalid_id"
    # Orders stay, as guest orders (wc_reset_order_customer_id_on_deleted_user).
    assert woo_client.get("/orders/2041").json()["customer_id"] == 0


def test_unknown_route(woo_client: httpx.Client) -> None:
    response = woo_client.get("/customer")
    assert response.status_code == 404 and response.json()["code"] == "rest_no_route"


def test_order_update_and_billing_email_validation(woo_client: httpx.Client) -> None:
    blank = {"first_name": "", "address_1": "", "phone": ""}
    response = woo_client.put(
        "/orders/1977", json={"billing": {**blank, "email": "deleted@site.invalid"}}
    )
    assert response.status_code == 200
    order = woo_client.get("/orders/1977").json()
    assert order["billing"]["first_name"] == order["billing"]["phone"] == ""
    assert order["billing"]["email"] == "deleted@site.invalid"
    assert order["billing"]["city"]  # parts not sent are kept
    bad = woo_client.put("/orders/1977", json={"billing": {"email": "not an address"}})
    assert bad.status_code == 400
    assert bad.json()["code"] == "rest_invalid_param"
    assert bad.json()["data"]["params"] == {
        "billing": "billing[email] is not a valid email address."
    }
    bad_customer = woo_client.put("/customers/101", json={"billing": {"email": "x@"}})
    assert bad_customer.status_code == 400
    assert woo_client.put("/orders/999999", json={}).json()["code"] == (
        "woocommerce_rest_shop_order_invalid_id"
    )


def test_order_note_delete_needs_force(woo_client: httpx.Client) -> None:
    trash = woo_client.delete("/orders/2041/notes/9852")
    assert trash.status_code == 501
    assert trash.json()["code"] == "woocommerce_rest_trash_not_supported"
    gone = woo_client.delete("/orders/2041/notes/9852", params={"force": "true"})
    assert gone.status_code == 200
    assert gone.json()["id"] == 9852
    notes = {n["id"] for n in woo_client.get("/orders/2041/notes").json()}
    assert 9852 not in notes and 9844 in notes
    again = woo_client.delete("/orders/2041/notes/9852", params={"force": "true"})
    assert again.status_code == 404


def _ids(response: httpx.Response) -> set[int]:
    assert response.status_code == 200, response.text
    return {o["id"] for o in response.json()}


def test_orders_in_the_trash_are_listed_only_when_asked_for(woo_client: httpx.Client) -> None:
    """``DELETE orders/{id}`` moves an order to the trash; ``status`` (default ``any``) hides
    it from the lists unless it asks for ``trash``, and a list with ``any`` is ``any``."""
    before = _ids(woo_client.get("/orders", params={"customer": 101, "per_page": 100}))
    trashed = woo_client.delete("/orders/2088")
    assert trashed.status_code == 200 and trashed.json()["status"] != "trash"  # as it was
    account = {"customer": 101, "per_page": 100}
    assert _ids(woo_client.get("/orders", params=account)) == before - {2088}
    assert _ids(woo_client.get("/orders", params={**account, "status": "any"})) == before - {2088}
    assert _ids(woo_client.get("/orders", params={**account, "status": "trash"})) == {2088}
    with_any = woo_client.get("/orders", params={**account, "status": "trash,any"})
    assert 2088 not in _ids(with_any)
    listed = woo_client.get("/orders", params=[("customer", 101), ("status[]", "trash")])
    assert _ids(listed) == {2088}
    searched = {"search": SANNE, "status": "trash"}
    assert _ids(woo_client.get("/orders", params=searched)) == {2088}
    unknown = woo_client.get("/orders", params={"status": "binned"})
    assert unknown.status_code == 400 and unknown.json()["code"] == "rest_invalid_param"
    # Read, noted and updated like any other order; a PUT leaves it in the trash.
    assert woo_client.get("/orders/2088").json()["status"] == "trash"
    assert any("06-12345678" in n["note"] for n in woo_client.get("/orders/2088/notes").json())
    updated = woo_client.put("/orders/2088", json={"billing": {"phone": ""}})
    assert updated.status_code == 200
    assert updated.json()["status"] == "trash" and updated.json()["billing"]["phone"] == ""
    to_trash = woo_client.put("/orders/2088", json={"status": "trash"})
    assert to_trash.status_code == 400 and to_trash.json()["code"] == "rest_invalid_param"


def test_an_order_in_the_trash_is_deleted_for_good_only_with_force(
    woo_client: httpx.Client,
) -> None:
    assert woo_client.delete("/orders/1977").status_code == 200
    again = woo_client.delete("/orders/1977")
    assert again.status_code == 410
    assert again.json()["code"] == "woocommerce_rest_already_trashed"
    gone = woo_client.delete("/orders/1977", params={"force": "true"})
    assert gone.status_code == 200 and gone.json()["status"] == "trash"
    for path in ("/orders/1977", "/orders/1977/notes"):
        assert woo_client.get(path).status_code == 404
    assert woo_client.delete("/orders/1977").json()["code"] == (
        "woocommerce_rest_shop_order_invalid_id"
    )


def _totals(order: dict[str, Any]) -> tuple[str, str, str]:
    return order["total"], order["total_tax"], order["cart_tax"]


def test_an_order_update_with_an_address_recalculates_the_taxes_and_totals(
    woo: SimulatorHandle, woo_client: httpx.Client
) -> None:
    """As WooCommerce's ``save_object``: ``billing`` or ``shipping`` in the update means
    ``calculate_totals(true)``, at today's rates for the order's tax location (shipping
    country, else billing country, else the shop's own)."""
    before = woo_client.get("/orders/2041").json()
    assert _totals(before) == ("115.93", "20.12", "19.08")  # 21% on 90.86 and 4.95 shipping
    noted = woo_client.put("/orders/2041", json={"customer_note": "", "meta_data": []}).json()
    assert _totals(noted) == _totals(before)  # no address: nothing recalculated
    german = woo_client.put("/orders/2041", json={"shipping": {"country": "DE"}}).json()
    assert _totals(german) == ("114.01", "18.20", "17.26")  # 19%, per line
    assert german["tax_lines"][0]["rate_percent"] == 19
    assert [li["total_tax"] for li in german["line_items"]] == ["9.42", "7.84"]
    assert german["shipping_lines"][0]["total_tax"] == "0.94"
    # The shop's rate has changed since; blanking the addresses taxes it in the shop's country.
    app: Any = woo.app
    app.tax_rates["NL"] = Decimal(9)
    blank = {"country": "", "first_name": ""}
    blanked = woo_client.put("/orders/2041", json={"billing": blank, "shipping": blank}).json()
    assert _totals(blanked) == ("104.44", "8.63", "8.18")  # 9% of 90.86 and of 4.95
    assert woo_client.get("/orders/2041").json()["total"] == "104.44"


def test_staff_s_eraser_in_wordpress_changes_no_amount(woo: SimulatorHandle) -> None:
    app: Any = woo.app
    app.tax_rates["NL"] = Decimal(9)
    order = app.orders[2041]
    amounts = copy.deepcopy({k: order[k] for k in ("total", "total_tax", "tax_lines")})
    app.remove_personal_data(2041)
    assert {k: order[k] for k in amounts} == amounts
    assert order["billing"]["country"] == "" and order["customer_ip_address"] == "203.0.113.0"
