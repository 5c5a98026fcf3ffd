"""Refunds and downloadable files of a web shop's orders, and a help desk's satisfaction
ratings, over real HTTP against the simulators: the demo customer sees hers and never the
near-identical other Sanne de Vries's; a list that cannot be read, or that hands over other
people's rows, never passes for complete; and what an erasure does to them."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from connectors import ErrorKind, Identity, RetryPolicy, SourceStatus, gather
from connectors.gather import SourceResult
from portal import PROJECT_ROOT
from portal.dsr import erasure
from portal.policy import load_policy

from .scripted import ScriptedServer, html_answer, json_answer

SANNE = Identity.of(emails=["sanne.devries@example.nl"])
#: The other Sanne de Vries, in Groningen: her own refund, download and rating.
GRONINGEN = Identity.of(emails=["sanne.de.vries@example.nl"])
WOO_SANNE, WOO_GRONINGEN = 101, 102
FD_SANNE, FD_GRONINGEN = 80012345671, 80012345702


def _gather(server: ScriptedServer, no_wait: RetryPolicy, who: Identity = SANNE) -> SourceResult:
    with server.connector(no_wait) as connector:
        return gather([connector], who).sources[server.vendor]


def _of(source: SourceResult, record_type: str) -> dict[str, Any]:
    return {r.record_id: r for r in source.records if r.record_type == record_type}


def test_groningen_is_the_other_sanne() -> None:
    """The identities above are the simulators' near-identical pair (checked, not assumed)."""
    with ScriptedServer("woocommerce") as woo, ScriptedServer("freshdesk") as desk:
        assert woo.app.customers[WOO_GRONINGEN]["email"] == "sanne.de.vries@example.nl"
        assert desk.app.contacts[FD_GRONINGEN]["email"] == "sanne.de.vries@example.nl"
        assert woo.app.customers[WOO_SANNE]["first_name"] == "Sanne"


# -- WooCommerce refunds ---------------------------------------------------------------------


def test_her_refund_is_read_below_its_order_and_the_other_sannes_never(
    no_wait: RetryPolicy,
) -> None:
    with ScriptedServer("woocommerce") as server:
        source = _gather(server, no_wait)
        other = _gather(server, no_wait, GRONINGEN)
        theirs = {
            f"{oid}/{r['id']}"
            for oid, refunds in server.app.refunds.items()
            for r in refunds
            if server.app.orders[oid]["customer_id"] == WOO_GRONINGEN
        }
    assert source.status == SourceStatus.COMPLETE
    refunds = _of(source, "refund")
    assert list(refunds) == ["2041/2111"]
    refund = refunds["2041/2111"]
    assert refund.parent is not None and refund.parent.record_id == "2041"
    assert refund.fields["amount"] == "49.95"
    assert refund.fields["reason"].startswith("Melkopschuimer retour")
    assert refund.fields["line_items"] == [
        {"name": "Melkopschuimer Inductie", "sku": "MO-IND-01", "quantity": -1, "total": "-41.28"}
    ]
    # who at the shop made it is the shop's staff member's detail, not hers
    assert "refunded_by" not in refund.fields
    # money paid back is a payment (kept for the books, as the order's payment details)
    assert refund.categories == {"amount": "payment", "reason": "orders", "line_items": "orders"}
    assert refund.link is not None and refund.link.endswith("post.php?post=2041&action=edit")
    assert refund.dates["created"].isoformat() == "2024-03-20T10:12:05+00:00"
    # "24 months after your last order", as her orders and notes
    order = _of(source, "order")["2041"]
    assert refund.dates["last_order"] == order.dates["last_order"]
    # the other Sanne has her own, which she sees and the demo customer does not
    assert theirs and set(_of(other, "refund")) == theirs
    assert not theirs & set(refunds)


def test_a_refund_list_of_two_pages_is_read_whole(no_wait: RetryPolicy) -> None:
    with ScriptedServer("woocommerce") as server:
        template = server.app.refunds[2041][0]
        server.app.refunds[2041] = [
            {**copy.deepcopy(template), "id": 5000 + i} for i in range(130)
        ]  # more than one page of 100
        source = _gather(server, no_wait)
        pages = [p for m, p in server.requests if p == "/wp-json/wc/v3/orders/2041/refunds"]
    assert source.status == SourceStatus.COMPLETE
    assert {i for i in _of(source, "refund")} == {f"2041/{5000 + i}" for i in range(130)}
    assert len(pages) == 2


def test_only_orders_that_list_refunds_are_asked_for_them(no_wait: RetryPolicy) -> None:
    """An order names its refunds in its own ``refunds``: an empty list means none, so no
    request per order; an order without that list is asked, to be sure."""

    def script(request: Request) -> Response | None:
        if request.path == "/wp-json/wc/v3/orders" and request.args.get("customer"):
            answer = server.forward(request)
            orders = json.loads(answer.get_data())
            for order in orders:
                if order["id"] == 2088:
                    del order["refunds"]  # an older shop, or a plugin that drops it
            answer.set_data(json.dumps(orders))
            return answer
        return None

    with ScriptedServer("woocommerce", script) as server:
        source = _gather(server, no_wait)
        asked = sorted(p for _m, p in server.requests if p.endswith("/refunds"))
        orders = len(_of(source, "order"))
    assert source.status == SourceStatus.COMPLETE
    assert orders > 20  # she has many orders, and one refund
    assert asked == ["/wp-json/wc/v3/orders/2041/refunds", "/wp-json/wc/v3/orders/2088/refunds"]
    assert list(_of(source, "refund")) == ["2041/2111"]


def test_an_unreadable_refund_list_makes_the_shop_partial(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if request.path == "/wp-json/wc/v3/orders/2041/refunds":
            return json_answer({"refunds": []})  # an object, not the list
        return None

    with ScriptedServer("woocommerce", script) as server:
        source = _gather(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("refunds", ErrorKind.BAD_DATA)]
    assert not _of(source, "refund")
    assert "2041" in _of(source, "order")  # the rest is read


def test_a_failing_refund_list_makes_the_shop_partial(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        return html_answer(500) if request.path.endswith("/refunds") else None

    with ScriptedServer("woocommerce", script) as server:
        source = _gather(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("refunds", ErrorKind.DOWN)]
    assert _of(source, "order_note")


def test_refunds_of_another_order_are_never_hers(no_wait: RetryPolicy) -> None:
    """A shop (a plugin, a cache in front of it) that answers every order's refund list with
    another order's refunds: each refund names its order, and one naming another is left
    out."""

    def script(request: Request) -> Response | None:
        if (
            request.path.endswith("/refunds")
            and request.path != "/wp-json/wc/v3/orders/2041/refunds"
        ):
            # the other Sanne's refunds, served for each of the demo customer's orders
            hers = next(o for o, r in server.app.refunds.items() if o != 2041)
            environ = dict(request.environ)
            environ["PATH_INFO"] = f"/wp-json/wc/v3/orders/{hers}/refunds"
            return Response.from_app(server.app, environ)
        return None

    with ScriptedServer("woocommerce", script) as server:
        source = _gather(server, no_wait)
    assert source.status == SourceStatus.COMPLETE
    assert list(_of(source, "refund")) == ["2041/2111"]


# -- WooCommerce downloads -------------------------------------------------------------------


def test_her_download_is_shown_without_its_links(no_wait: RetryPolicy) -> None:
    with ScriptedServer("woocommerce") as server:
        source = _gather(server, no_wait)
        other = _gather(server, no_wait, GRONINGEN)
        keys = [d["download_url"] for rows in server.app.downloads.values() for d in rows]
    downloads = _of(source, "download")
    assert list(downloads) == ["2088/3f9c1d2e8b7a6c5d4e3f2a1b0c9d8e7f"]
    download = downloads["2088/3f9c1d2e8b7a6c5d4e3f2a1b0c9d8e7f"]
    assert download.fields == {
        "product_name": "Espressomachine Compact (refurbished)",
        "download_name": "Handleiding (PDF)",
        "downloads_remaining": "3",
        "access_expires": "never",
    }
    assert download.parent is not None and download.parent.record_id == "2088"
    assert set(download.categories.values()) == {"orders"}
    # the download links (with the order key and download key) are in no record of hers
    text = json.dumps([r.to_dict() for r in source.records])
    assert (
        keys and not any(key in text for key in keys) and "uploads/woocommerce_uploads" not in text
    )
    assert "key=" not in json.dumps(
        [r.to_dict() for r in source.records if r.record_type == "download"]
    )
    assert set(_of(other, "download")).isdisjoint(downloads) and _of(other, "download")


def test_an_unreadable_downloads_list_makes_the_shop_partial(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if request.path.endswith("/downloads"):
            return html_answer(200)  # a page, not the list
        return None

    with ScriptedServer("woocommerce", script) as server:
        source = _gather(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("downloads", ErrorKind.BAD_DATA)]
    assert _of(source, "refund")  # the rest is read


def test_downloads_of_orders_not_hers_are_left_out(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if request.path == f"/wp-json/wc/v3/customers/{WOO_SANNE}/downloads":
            # a list that also holds the other Sanne's permission (of her order)
            rows = [*server.app.downloads[WOO_SANNE], *server.app.downloads[WOO_GRONINGEN]]
            return json_answer(rows)
        return None

    with ScriptedServer("woocommerce", script) as server:
        source = _gather(server, no_wait)
    assert source.status == SourceStatus.COMPLETE
    assert list(_of(source, "download")) == ["2088/3f9c1d2e8b7a6c5d4e3f2a1b0c9d8e7f"]


@pytest.mark.parametrize("order_id", ["abc", " ", "2088x", True, None])
def test_a_download_naming_no_order_number_is_not_shown(
    no_wait: RetryPolicy, order_id: object
) -> None:
    """A download is hers through its order: one whose ``order_id`` is no order number cannot
    be placed, so it is not shown and the shop is partial."""

    def script(request: Request) -> Response | None:
        if request.path == f"/wp-json/wc/v3/customers/{WOO_SANNE}/downloads":
            stray = {**server.app.downloads[WOO_GRONINGEN][0], "order_id": order_id}
            return json_answer([*server.app.downloads[WOO_SANNE], stray])
        return None

    with ScriptedServer("woocommerce", script) as server:
        source = _gather(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("downloads", ErrorKind.BAD_DATA)]
    assert list(_of(source, "download")) == ["2088/3f9c1d2e8b7a6c5d4e3f2a1b0c9d8e7f"]


# -- Freshdesk satisfaction ratings ----------------------------------------------------------


def test_her_rating_is_read_below_its_ticket_and_the_other_sannes_never(
    no_wait: RetryPolicy,
) -> None:
    with ScriptedServer("freshdesk") as server:
        source = _gather(server, no_wait)
        other = _gather(server, no_wait, GRONINGEN)
        theirs = {str(r["id"]) for r in server.app.ratings if r["user_id"] == FD_GRONINGEN}
    assert source.status == SourceStatus.COMPLETE
    ratings = _of(source, "satisfaction_rating")
    assert list(ratings) == ["80055500011"]
    rating = ratings["80055500011"]
    assert rating.fields == {
        "rating": "very_unhappy",
        "further_ratings": ["happy"],
        "feedback": "Pakket kwam pas na drie dagen; de medewerker was wel erg vriendelijk.",
    }
    assert rating.parent is not None and (rating.parent.record_type, rating.parent.record_id) == (
        "ticket",
        "1207",
    )
    assert set(rating.categories.values()) == {"support"}
    assert rating.link is not None and rating.link.endswith("/a/tickets/1207")
    assert rating.dates["closed"] == _of(source, "ticket")["1207"].dates["closed"]
    assert theirs and set(_of(other, "satisfaction_rating")) == theirs
    assert not theirs & set(ratings)


def test_a_ratings_list_that_ignores_the_user_shows_only_hers(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if request.path == "/api/v2/surveys/satisfaction_ratings":
            # the user_id filter is dropped (a proxy, a renamed parameter): everyone's
            query = {k: v for k, v in request.args.items() if k != "user_id"}
            environ = dict(request.environ)
            environ["QUERY_STRING"] = "&".join(f"{k}={v}" for k, v in query.items())
            return Response.from_app(server.app, environ)
        return None

    with ScriptedServer("freshdesk", script) as server:
        source = _gather(server, no_wait)
    assert source.status == SourceStatus.COMPLETE
    assert list(_of(source, "satisfaction_rating")) == ["80055500011"]


def test_an_unreadable_ratings_list_makes_the_help_desk_partial(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if request.path == "/api/v2/surveys/satisfaction_ratings":
            return html_answer(200)
        return None

    with ScriptedServer("freshdesk", script) as server:
        source = _gather(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [
        ("satisfaction_ratings", ErrorKind.BAD_DATA)
    ]
    assert _of(source, "ticket") and not _of(source, "satisfaction_rating")


def test_ratings_are_asked_for_by_her_contact_since_long_ago(no_wait: RetryPolicy) -> None:
    seen: list[dict[str, str]] = []

    def script(request: Request) -> Response | None:
        if request.path == "/api/v2/surveys/satisfaction_ratings":
            seen.append(dict(request.args))
        return None

    with ScriptedServer("freshdesk", script) as server:
        _gather(server, no_wait)
    assert [(q["user_id"], q["created_since"][:4]) for q in seen] == [(str(FD_SANNE), "2000")]


# -- erasure -----------------------------------------------------------------------------------


def test_what_an_erasure_does_to_refunds_downloads_and_ratings(no_wait: RetryPolicy) -> None:
    """Her rating goes with its ticket, which the erasure deletes (Freshdesk destroys a
    ticket's ratings with it); refunds and downloads are left to staff (the API can neither
    change a refund nor remove a download permission), so the customer is told staff do it,
    not that they are deleted."""
    policy = load_policy(Path(PROJECT_ROOT / "instance" / "policy.example.toml"))
    with ScriptedServer("woocommerce") as woo, ScriptedServer("freshdesk") as desk:
        records = [
            {**r.to_dict(), "source": key}
            for server, key in ((woo, "webshop"), (desk, "customer-service"))
            for r in _gather(server, no_wait).records
        ]
    for record in records:  # parents name the policy's source key, as the gathering's do
        if record["parent"]:
            record["parent"] = {**record["parent"], "source": record["source"]}
    today = date(2026, 11, 24)
    decided = erasure.decide_all(
        policy,
        records,
        today,
        erasure.connector_actions(policy),
        erasure.connector_with_parent(policy),
    )
    action = {(r["record_type"], r["record_id"]): d.action for r, d in decided}
    ticket = action[("ticket", "1207")]
    assert ticket == "delete"
    assert action[("satisfaction_rating", "80055500011")] == "with_parent"
    # its amount is a payment, which the law keeps: kept, as its order is
    assert action[("refund", "2041/2111")] == action[("order", "2041")] == "keep"
    assert action[("download", "2088/3f9c1d2e8b7a6c5d4e3f2a1b0c9d8e7f")] == "none"
    preview = erasure.preview(
        policy,
        records,
        today,
        erasure.connector_actions(policy),
        with_parent=erasure.connector_with_parent(policy),
    )
    webshop = next(s for s in preview.sources if s.key == "webshop")
    assert webshop.counts["none"] == 1  # the download: by staff


def test_a_hard_deleted_contact_takes_its_ticket_ratings_with_it(no_wait: RetryPolicy) -> None:
    with ScriptedServer("freshdesk") as server:
        with server.connector(no_wait) as connector:
            contact = next(r for r in connector.fetch(SANNE).records if r.record_type == "contact")
            connector.erase(contact.ref, identity=SANNE)
        assert not [r for r in server.app.ratings if r["user_id"] == FD_SANNE]
        assert [r for r in server.app.ratings if r["user_id"] == FD_GRONINGEN]


def test_a_refund_naming_no_order_is_never_shown(no_wait: RetryPolicy) -> None:
    """A refund is hers only through its order, so it must name that order: a list (a
    plugin, a cache, a filter the shop ignored) whose rows name no order is not shown, and the
    shop is partial rather than complete."""

    def script(request: Request) -> Response | None:
        if request.path == "/wp-json/wc/v3/orders/2041/refunds":
            # the other Sanne's refunds, without the link that says whose order they are of
            hers = next(o for o in server.app.refunds if o != 2041)
            environ = dict(request.environ)
            environ["PATH_INFO"] = f"/wp-json/wc/v3/orders/{hers}/refunds"
            answer = Response.from_app(server.app, environ)
            rows = json.loads(answer.get_data())
            for row in rows:
                del row["_links"]
            answer.set_data(json.dumps(rows))
            return answer
        return None

    with ScriptedServer("woocommerce", script) as server:
        source = _gather(server, no_wait)
    assert not _of(source, "refund")
    assert source.status == SourceStatus.PARTIAL
    assert ("refunds", ErrorKind.BAD_DATA) in [(m.what, m.kind) for m in source.missing]


def test_an_order_id_that_is_no_number_makes_no_refund_path(no_wait: RetryPolicy) -> None:
    """An order's id goes into the refund list's path only when it is a number: an id of
    another shape (``../customers/102``) would ask for another resource, whose rows may
    name no order."""

    def script(request: Request) -> Response | None:
        if request.path == "/wp-json/wc/v3/orders" and request.args.get("customer"):
            answer = Response.from_app(server.app, request.environ)
            rows = json.loads(answer.get_data())
            for row in rows:
                if row["id"] == 2041:
                    row["id"] = "../customers/102"
            answer.set_data(json.dumps(rows))
            return answer
        return None

    with ScriptedServer("woocommerce", script) as server:
        source = _gather(server, no_wait)
        asked = [p for _m, p in server.requests if p.endswith("/refunds")]
    assert all(p.removeprefix("/wp-json/wc/v3/orders/").split("/")[0].isdigit() for p in asked)
    assert "/wp-json/wc/v3/customers/102/refunds" not in asked
    assert not [r for r in _of(source, "refund") if not r.partition("/")[0].isdigit()]
    assert ("refunds", ErrorKind.BAD_DATA) in [(m.what, m.kind) for m in source.missing]
