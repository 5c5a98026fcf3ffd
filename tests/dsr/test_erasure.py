"""The erasure preview: what is kept (by law, until when, why), deleted or anonymised."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portal import PROJECT_ROOT
from portal.dsr import erasure
from portal.gathering import gather_for
from portal.policy import load_policy
from portal.policy.schema import Policy

from .conftest import SANNE

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(Path(PROJECT_ROOT / "instance" / "policy.example.toml"))


def _record(source: str, record_type: str, categories: dict[str, str], dates: dict[str, str]):  # type: ignore[no-untyped-def]
    return {
        "source": source, "record_type": record_type, "record_id": "1",
        "fields": dict.fromkeys(categories, "x"), "categories": categories, "dates": dates,
    }  # fmt: skip


def _actions(source: str, record_type: str) -> erasure.Action:
    return {"order": "anonymise", "ticket": "none"}.get(record_type, "delete")  # type: ignore[return-value]


def test_an_invoice_is_kept_seven_years_after_the_end_of_its_fiscal_year(policy: Policy) -> None:
    invoice = _record("invoicing", "invoice", {"invoice_id": "invoices"},
                      {"invoice_date": "2024-03-05"})  # fmt: skip
    decision = erasure.decide(policy, invoice, TODAY, _actions)
    assert decision.action == "keep"
    assert decision.until == date(2031, 12, 31)
    assert decision.category == "invoices"
    assert decision.ground is not None and "artikel 52 AWR" in decision.ground.nl


def test_an_invoice_past_its_retention_is_deleted_as_the_connector_does(policy: Policy) -> None:
    old = _record("invoicing", "invoice", {"invoice_id": "invoices"},
                  {"invoice_date": "2018-03-05"})  # fmt: skip
    assert erasure.decide(policy, old, TODAY, _actions).action == "delete"


@pytest.mark.parametrize("dates", [{}, {"invoice_date": "5 maart"}, {"invoice_date": None}])
def test_an_invoice_without_a_readable_date_is_kept_not_deleted(
    policy: Policy, dates: dict[str, object]
) -> None:
    """The law may still require it: kept "until unknown", for staff to check."""
    invoice = _record("invoicing", "invoice", {"invoice_id": "invoices"}, dates)  # type: ignore[arg-type]
    decision = erasure.decide(policy, invoice, TODAY, _actions)
    assert (decision.action, decision.category, decision.until) == ("keep", "invoices", None)
    assert decision.ground is not None and "artikel 52 AWR" in decision.ground.nl
    dated = _record(
        "invoicing", "invoice", {"invoice_id": "invoices"}, {"invoice_date": "2025-02-01"}
    )
    result = erasure.preview(policy, [dated, invoice], TODAY, _actions)
    [kept] = result.sources[0].kept
    assert (kept.count, kept.until) == (2, None)  # one unknown date makes the group's unknown
    assert result.summary()["sources"][0]["kept"][0]["until"] is None


def test_an_invoice_is_kept_on_the_last_day_of_its_retention(policy: Policy) -> None:
    # 7 years from the end of 2020 run from 1-1-2021 to 31-12-2027, that day included: the
    # nightly run deletes kept records the day after (keep_until < today), and so does this.
    invoice = _record("invoicing", "invoice", {"invoice_id": "invoices"},
                      {"invoice_date": "2020-06-01"})  # fmt: skip
    last_day = erasure.decide(policy, invoice, date(2027, 12, 31), _actions)
    assert (last_day.action, last_day.until) == ("keep", date(2027, 12, 31))
    assert erasure.decide(policy, invoice, date(2028, 1, 1), _actions).action == "delete"


def test_data_the_law_keeps_for_a_period_the_firm_has_not_decided_is_kept_undated() -> None:
    # Koper's statement names statutory and fiscal duties but no period for names: deleting
    # what the law may require cannot be undone, so staff date it by hand.
    koper = load_policy(PROJECT_ROOT / "instance" / "examples" / "koper-computer-support.toml")
    person = _record("crm", "customer", {"name": "identity"}, {"created": "2025-06-01"})
    decision = erasure.decide(koper, person, TODAY, _actions)
    assert (decision.action, decision.category, decision.until) == ("keep", "identity", None)


def test_the_ground_given_for_keeping_is_the_law_not_the_firms_own_reasoning(
    policy: Policy,
) -> None:
    # Name rests partly on invoicing (artikel 52 AWR); its retention's own ground ("after that
    # we delete old customer data") is no reason to keep anything against an erasure.
    category = policy.category("identity")
    assert category is not None and category.retention is not None
    assert category.retention.ground is not None
    ground = erasure.statutory(policy, category)
    assert ground is not None and ground != category.retention.ground
    assert "artikel 52" in ground.nl


def test_data_kept_while_a_customer_is_not_kept_against_an_erasure(policy: Policy) -> None:
    # identity rests partly on the invoicing purpose (legal obligation), but its retention
    # ("while you are a customer") gives no date in a record
    person = _record("webshop", "customer", {"first_name": "identity", "email": "contact"},
                     {"created": "2024-03-12T13:05:31+00:00"})  # fmt: skip
    assert erasure.decide(policy, person, TODAY, _actions).action == "delete"
    order = _record("webshop", "order", {"number": "orders"}, {"created": "2026-01-02"})
    assert erasure.decide(policy, order, TODAY, _actions).action == "anonymise"
    ticket = _record("helpdesk", "ticket", {"title": "support"}, {"closed": "2026-01-02"})
    assert erasure.decide(policy, ticket, TODAY, _actions).action == "none"


def test_the_latest_keeping_category_wins_whichever_categories_were_chosen(
    policy: Policy,
) -> None:
    order = _record(
        "webshop", "order", {"number": "orders", "payment_method": "payment"},
        {"created": "2025-06-01"},
    )  # fmt: skip
    kept = erasure.decide(policy, order, TODAY, _actions)
    assert (kept.action, kept.category, kept.until) == ("keep", "payment", date(2032, 12, 31))
    # Erasing "orders" only would anonymise the whole order, payment details and all: the
    # payment data must stay, so the order stays too.
    only_orders = erasure.decide(policy, order, TODAY, _actions, categories=["orders"])
    assert (only_orders.action, only_orders.category) == ("keep", "payment")
    plain = _record("webshop", "order", {"number": "orders"}, {"created": "2025-06-01"})
    assert erasure.decide(policy, plain, TODAY, _actions, categories=["orders"]).action == (
        "anonymise"
    )


def test_a_retention_that_cites_the_law_is_statutory(policy: Policy) -> None:
    invoices = policy.category("invoices")
    technical = policy.category("technical")
    assert invoices is not None and technical is not None
    assert erasure.statutory(policy, invoices) is not None
    assert erasure.statutory(policy, technical) is None


def test_the_preview_counts_per_source_in_scope(policy: Policy) -> None:
    records = [
        _record("invoicing", "invoice", {"invoice_id": "invoices"}, {"invoice_date": "2025-02-01"}),
        _record("invoicing", "invoice", {"invoice_id": "invoices"}, {"invoice_date": "2024-02-01"}),
        _record("webshop", "customer", {"first_name": "identity"}, {}),
        _record("webshop", "order", {"number": "orders"}, {"created": "2026-01-02"}),
    ]
    result = erasure.preview(policy, records, TODAY, _actions)
    assert [s.key for s in result.sources] == ["webshop", "invoicing"]  # the policy's order
    webshop, invoicing = result.sources
    assert webshop.counts == {"delete": 1, "anonymise": 1, "none": 0}
    assert [(k.category, k.count, k.until) for k in invoicing.kept] == [
        ("invoices", 2, date(2032, 12, 31))
    ]
    summary = result.summary()
    assert summary["sources"][1]["kept"][0]["until"] == "2032-12-31"
    assert summary["sources"][1]["kept"][0]["also"] == []  # the invoices hold nothing else
    only_shop = erasure.preview(policy, records, TODAY, _actions, sources=["webshop"])
    assert [s.key for s in only_shop.sources] == ["webshop"]


def test_the_preview_says_what_else_a_kept_record_holds(policy: Policy) -> None:
    """A source keeps or deletes whole records: an order kept for its payment keeps its IP
    address too, and the customer is told so before sending."""
    order = _record(
        "webshop", "order", {"payment_method": "payment", "customer_ip_address": "technical"},
        {"created": "2026-01-02"},
    )  # fmt: skip
    [webshop] = erasure.preview(policy, [order], TODAY, _actions).sources
    [kept] = webshop.kept
    assert kept.category == "payment" and kept.also == {"technical"}
    assert erasure.preview(policy, [order], TODAY, _actions).summary()["sources"][0]["kept"][0][
        "also"
    ] == ["technical"]


def test_connector_actions_come_from_the_registry(policy: Policy) -> None:
    action_of = erasure.connector_actions(policy)
    assert action_of("webshop", "customer") == "delete"
    # anonymised (the order stays for the books), by staff with WooCommerce's own eraser
    assert action_of("webshop", "order") == "anonymise"
    assert action_of("invoicing", "invoice") == "none"  # the connector leaves it to staff
    assert action_of("nowhere", "thing") == "none"  # no such connector: staff do it


def test_messages_go_with_their_ticket_when_the_ticket_is_deleted(policy: Policy) -> None:
    """A helpdesk cannot delete a ticket's messages on their own, but deleting the ticket
    deletes them: no step by hand for each message. Only then: a message whose ticket is
    kept, or not in the erasure, stays a step for staff."""

    def helpdesk(record_type: str, record_id: str, parent: str | None) -> dict[str, object]:
        record = _record("helpdesk", record_type, {"title": "support"}, {})
        record["record_id"] = record_id
        record["parent"] = (
            {"source": "helpdesk", "record_type": "ticket", "record_id": parent} if parent else None
        )
        return record

    def actions(source: str, record_type: str) -> erasure.Action:
        return "none" if record_type == "article" else "delete"

    def with_parent(source: str, record_type: str) -> bool:
        return record_type == "article"

    ticket, message = helpdesk("ticket", "172", None), helpdesk("article", "518", "172")
    stray = helpdesk("article", "519", "999")  # its ticket is not in the erasure
    decided = erasure.decide_all(policy, [message, ticket, stray], TODAY, actions, with_parent)
    assert [(r["record_id"], d.action) for r, d in decided] == [
        ("518", "with_parent"), ("172", "delete"), ("519", "none")
    ]  # fmt: skip
    # without the connector saying so, a message stays a step of its own
    assert erasure.decide_all(policy, [message, ticket], TODAY, actions)[0][1].action == "none"
    preview = erasure.preview(
        policy, [message, ticket, stray], TODAY, actions, with_parent=with_parent
    )
    assert preview.sources[0].counts == {"delete": 2, "anonymise": 0, "none": 1}
    # a message kept by law keeps its ticket: deleting the ticket would delete it
    law = helpdesk("article", "520", "172")
    law["categories"] = {"invoice_id": "invoices"}
    law["dates"] = {"invoice_date": "2025-02-01"}
    kept = erasure.decide_all(policy, [law, ticket], TODAY, actions, with_parent)
    assert [(r["record_id"], d.action, d.until) for r, d in kept] == [
        ("520", "keep", date(2032, 12, 31)), ("172", "keep", date(2032, 12, 31))
    ]  # fmt: skip
    registry = erasure.connector_with_parent(policy)
    assert registry("helpdesk", "article") and registry("customer-service", "conversation")
    # a help desk user's tickets go with the user, a payment provider's subscriptions and
    # mandates are only ended with their customer (and so never counted as erased with it)
    assert registry("helpdesk", "ticket") and registry("customer-service", "ticket")
    assert not registry("nowhere", "article") and not registry("payments", "mandate")
    taken = erasure.connector_taken_with_parent(policy)
    assert taken("helpdesk", "ticket") and taken("customer-service", "ticket")
    assert taken("payments", "subscription") and taken("payments", "mandate")
    assert not taken("payments", "payment") and not taken("webshop", "order")


def test_the_preview_of_the_demo_data(app: Flask, simulated_connectors: object) -> None:
    from portal.auth.services import sign_in_with_verified_email
    from portal.policy import current_policy

    with app.test_request_context():
        customer = sign_in_with_verified_email(SANNE, method="test")
        snapshot = gather_for(customer)
        policy = current_policy()
        result = erasure.preview(policy, snapshot.records, TODAY, erasure.connector_actions(policy))
    by_key = {s.key: s for s in result.sources}
    invoices = next(k for k in by_key["invoicing"].kept if k.category == "invoices")
    newest = max(
        date.fromisoformat(r["dates"]["invoice_date"])
        for r in snapshot.records
        if r["record_type"] in ("invoice", "recurring_invoice")
    )
    # kept until 7 years after the end of the fiscal year (a calendar year) of the newest one:
    # her running subscription (a recurring sales invoice) counts from the next invoice it makes
    assert any(r["record_type"] == "recurring_invoice" for r in snapshot.records)
    assert invoices.until == date(newest.year + 7, 12, 31)
    assert invoices.ground is not None and "artikel 52 AWR" in invoices.ground.nl
    webshop = by_key["webshop"]
    assert webshop.counts["delete"] >= 1  # the account and the order notes
    # the rest is kept, or erased by staff: her downloadable file, which the shop's API cannot
    # remove, and the orders not kept, which an update through the API would recalculate
    downloads = [r for r in snapshot.records if r["record_type"] == "download"]
    assert len(downloads) == 1
    assert webshop.counts["anonymise"] == 0
    assert webshop.counts["delete"] + webshop.counts["none"] + webshop.kept_count == webshop.total
    assert webshop.counts["none"] >= len(downloads)


def test_a_payment_found_through_an_order_is_erased_as_any_mollie_payment(
    app: Flask, simulated_connectors: object
) -> None:
    """The guest order's Mollie payment has the order (another source) as its parent: it is
    still a Mollie payment, which Mollie cannot erase and the law keeps, and it never goes
    "with its parent" when the order is anonymised."""
    from portal.auth.services import sign_in_with_verified_email
    from portal.policy import current_policy

    with app.test_request_context():
        customer = sign_in_with_verified_email(SANNE, method="test")
        snapshot = gather_for(customer)
        policy = current_policy()
        action_of = erasure.connector_actions(policy)
        decided = erasure.decide_all(
            policy, snapshot.records, TODAY, action_of, erasure.connector_with_parent(policy)
        )
    payments = {
        r["record_id"]: (r, d)
        for r, d in decided
        if (r["source"], r["record_type"]) == ("payments", "payment")
    }
    linked, decision = payments["tr_Gk2Mw8PxLs"]
    assert linked["parent"] == {"source": "webshop", "record_type": "order", "record_id": "1977"}
    assert action_of("payments", "payment") == "none"  # Mollie keeps payments
    # as the payments of her Mollie customers: kept by law, counted from its own date
    theirs = {
        (d.action, d.category) for r, d in payments.values() if r["parent"]["source"] == "payments"
    }
    assert theirs == {(decision.action, decision.category)} == {("keep", "payment")}
    assert decision.until == date(2030, 12, 31)  # paid in 2023: 7 years after that year


def test_her_mollie_subscriptions_are_never_told_as_erased_with_her_customer(
    app: Flask, simulated_connectors: object
) -> None:
    """Deleting a Mollie customer cancels their subscriptions but deletes none: Mollie keeps
    them. So a subscription is kept by law like her payments and mandate while their
    retention runs, and after it is left to staff, never counted as deleted with her
    customer record (which is)."""
    from portal.auth.services import sign_in_with_verified_email
    from portal.policy import current_policy

    with app.test_request_context():
        customer = sign_in_with_verified_email(SANNE, method="test")
        snapshot = gather_for(customer)
        policy = current_policy()
        action_of = erasure.connector_actions(policy)
        with_parent = erasure.connector_with_parent(policy)
        now = erasure.decide_all(policy, snapshot.records, TODAY, action_of, with_parent)
        later = erasure.decide_all(
            policy, snapshot.records, date(2045, 1, 1), action_of, with_parent
        )
    assert action_of("payments", "subscription") == "none"
    assert not with_parent("payments", "subscription")

    def of(decided: list[tuple[Mapping[str, Any], erasure.Decision]], kind: str) -> set[str]:
        return {
            d.action for r, d in decided if (r["source"], r["record_type"]) == ("payments", kind)
        }

    assert len([r for r, _d in now if r["record_type"] == "subscription"]) == 2
    assert {(d.action, d.category) for r, d in now if r["record_type"] == "subscription"} == {
        ("keep", "payment")
    }
    assert of(later, "customer") == {"delete"}
    assert of(later, "subscription") == of(later, "mandate") == {"none"}


def test_her_mollie_refunds_and_chargebacks_are_kept_with_their_payments(
    app: Flask, simulated_connectors: object
) -> None:
    """A refund or a chargeback is a financial record of its payment, which Mollie keeps and
    its API cannot delete: kept by law like the payment, counted from its own date, and after
    that left to staff ("none"), never counted as deleted with anything."""
    from portal.auth.services import sign_in_with_verified_email
    from portal.policy import current_policy

    with app.test_request_context():
        customer = sign_in_with_verified_email(SANNE, method="test")
        snapshot = gather_for(customer)
        policy = current_policy()
        action_of = erasure.connector_actions(policy)
        with_parent = erasure.connector_with_parent(policy)
        now = erasure.decide_all(policy, snapshot.records, TODAY, action_of, with_parent)
        later = erasure.decide_all(
            policy, snapshot.records, date(2045, 1, 1), action_of, with_parent
        )
    for kind in ("refund", "chargeback"):
        assert action_of("payments", kind) == "none"
        assert not with_parent("payments", kind)
    decided = {
        r["record_id"]: (r, d)
        for r, d in now
        if r["source"] == "payments" and r["record_type"] in ("refund", "chargeback")
    }
    # her two refunds (one of a guest order's payment) and one chargeback
    assert {r["record_type"] for r, _d in decided.values()} == {"refund", "chargeback"}
    assert len(decided) == 3
    for record, decision in decided.values():
        assert record["parent"]["record_type"] == "payment"
        assert (decision.action, decision.category) == ("keep", "payment")
    # counted from its own date: the 2023 refund of her guest order's payment
    assert decided["re_Lx7Pv3Zs9B"][1].until == date(2030, 12, 31)
    assert decided["re_Hq4Tn8Wd2K"][1].until == date(2031, 12, 31)
    assert {
        d.action
        for r, d in later
        if r["source"] == "payments" and r["record_type"] in ("refund", "chargeback")
    } == {"none"}


# -- what deleting a record takes along at its source ------------------------------------------


def _at(
    source: str,
    record_type: str,
    record_id: str,
    categories: dict[str, str],
    dates: dict[str, str] | None = None,
    parent: tuple[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    record = _record(source, record_type, categories, dates or {})
    record["record_id"] = record_id
    record["parent"] = (
        {"source": source, "record_type": parent[0], "record_id": parent[1]} if parent else None
    )
    return record


#: A help desk user (or contact), their ticket and a message of it holding invoice data.
HELP_DESKS = [("helpdesk", "user", "27", "article"),
              ("customer-service", "contact", "80012345671", "conversation")]  # fmt: skip


def _help_desk(source: str, user_type: str, user_id: str, message_type: str):  # type: ignore[no-untyped-def]
    user = _at(source, user_type, user_id, {"email": "contact", "name": "identity"})
    ticket = _at(source, "ticket", "T1", {"title": "support"}, parent=(user_type, user_id))
    message = _at(source, message_type, "A1", {"invoice_id": "invoices"},
                  {"invoice_date": "2025-02-01"}, parent=("ticket", "T1"))  # fmt: skip
    return user, ticket, message


def _decide(policy: Policy, records: list[dict[str, Any]], **scope: Any):  # type: ignore[no-untyped-def]
    return {
        (r["record_type"], r["record_id"]): d
        for r, d in erasure.decide_all(
            policy, records, TODAY, erasure.connector_actions(policy),
            erasure.connector_with_parent(policy),
            taken=erasure.connector_taken_with_parent(policy), **scope,
        )
    }  # fmt: skip


@pytest.mark.parametrize(("source", "user_type", "user_id", "message_type"), HELP_DESKS)
def test_a_kept_ticket_keeps_the_help_desk_user_whose_deletion_would_delete_it(
    policy: Policy, source: str, user_type: str, user_id: str, message_type: str
) -> None:
    """Zammad's data privacy task and Freshdesk's hard_delete delete the person's tickets
    with them. A message holding invoice data keeps its ticket, so it keeps the user too,
    until the same date: the customer is told all three are kept, and none is deleted."""
    user, ticket, message = _help_desk(source, user_type, user_id, message_type)
    decided = _decide(policy, [message, ticket, user])
    kept = erasure.Decision("keep", "invoices", date(2032, 12, 31), decided["ticket", "T1"].ground)
    # the ticket and the user are kept with what is below them: when the date comes, staff
    # anonymise them by hand (retention.due_kept), never delete them with what they hold
    with_below = dataclasses.replace(kept, reason=erasure.TAKES_ALONG)
    assert decided == {
        (message_type, "A1"): kept,
        ("ticket", "T1"): with_below,
        (user_type, user_id): with_below,
    }
    preview = erasure.preview(
        policy, [message, ticket, user], TODAY, erasure.connector_actions(policy),
        with_parent=erasure.connector_with_parent(policy),
        taken=erasure.connector_taken_with_parent(policy),
    )  # fmt: skip
    [desk] = preview.sources
    assert desk.counts == {"delete": 0, "anonymise": 0, "none": 0}
    assert [(k.category, k.count, k.until) for k in desk.kept] == [
        ("invoices", 3, date(2032, 12, 31))
    ]
    assert desk.kept[0].also == {"contact", "identity", "support"}
    # without the invoice, all of it goes: the tickets with their user, the message with it
    message["categories"] = {"body": "support"}
    assert [d.action for d in _decide(policy, [message, ticket, user]).values()] == [
        "with_parent",
        "delete",
        "delete",
    ]


def test_keep_climbs_every_level_until_nothing_changes(policy: Policy) -> None:
    """Each record is judged on what its children come to, not on their own first decision:
    a message kept by law keeps its ticket, which keeps its user; the latest date wins, and
    a date still unknown makes the parent's unknown (staff date it)."""
    user, ticket, message = _help_desk("helpdesk", "user", "27", "article")
    user["categories"]["since"] = "payment"  # the user is kept on its own, until 2031
    user["dates"] = {"created": "2024-03-01"}
    decided = _decide(policy, [user, ticket, message])  # parents first: the order is no matter
    assert [(d.action, d.until) for d in decided.values()] == [("keep", date(2032, 12, 31))] * 3
    assert decided["user", "27"].category == "payment"  # its own reason, the later date
    # kept with records below it: the ticket and the user are never deleted when their date
    # comes (that would take the kept records along); the message is kept on its own
    assert [d.reason for d in decided.values()] == [erasure.TAKES_ALONG] * 2 + [None]
    del message["dates"]["invoice_date"]  # kept "until unknown"
    assert {d.until for d in _decide(policy, [user, ticket, message]).values()} == {None}


def test_only_the_contact_data_asked_for_never_wipes_the_tickets(policy: Policy) -> None:
    """A request limited to the category "contact" covers the help desk user, not their
    tickets (support). Deleting the user would delete the tickets, so staff anonymise the
    user by hand instead (the API cannot), and the customer is told it is anonymised."""
    for source, user_type, user_id, message_type in HELP_DESKS:
        user, ticket, message = _help_desk(source, user_type, user_id, message_type)
        message["categories"] = {"body": "support"}
        records = [message, ticket, user]
        assert _decide(policy, records, categories=["contact"]) == {
            (user_type, user_id): erasure.Decision("anonymise", reason=erasure.TAKES_ALONG)
        }
        preview = erasure.preview(
            policy, records, TODAY, erasure.connector_actions(policy), categories=["contact"],
            with_parent=erasure.connector_with_parent(policy),
            taken=erasure.connector_taken_with_parent(policy),
        )  # fmt: skip
        assert preview.sources[0].counts == {"delete": 0, "anonymise": 1, "none": 0}
        # a request for all of that help desk's data deletes all of it
        assert {d.action for d in _decide(policy, records, sources=[source]).values()} == {
            "delete",
            "with_parent",
        }


def test_a_ticket_outside_the_request_makes_its_parent_anonymised_on_every_level(
    policy: Policy,
) -> None:
    """A message outside the request stays: its ticket is anonymised by hand, and so is the
    user, whose deletion would take the ticket (and the message) along. A ticket kept by
    law beside one outside the request keeps the user, whichever comes first."""
    user, ticket, message = _help_desk("helpdesk", "user", "27", "article")
    ticket["categories"]["email"] = "contact"
    message["categories"] = {"body": "support"}
    by_hand = erasure.Decision("anonymise", reason=erasure.TAKES_ALONG)
    assert _decide(policy, [message, ticket, user], categories=["contact"]) == {
        ("ticket", "T1"): by_hand, ("user", "27"): by_hand
    }  # fmt: skip
    other = _at("helpdesk", "ticket", "T2", {"title": "support", "email": "contact"},
                parent=("user", "27"))  # fmt: skip
    law = _at("helpdesk", "article", "A2", {"invoice_id": "invoices"},
              {"invoice_date": "2025-02-01"}, parent=("ticket", "T2"))  # fmt: skip
    for records in ([other, user, ticket, message, law], [law, message, ticket, other, user]):
        decided = _decide(policy, records, categories=["contact", "invoices"])
        assert decided["user", "27"].action == "keep"
        assert decided["user", "27"].until == date(2032, 12, 31)
        # kept with what is below it: when its date comes, anonymised by hand, never deleted
        # (deleting it would take along the ticket outside the request)
        assert decided["user", "27"].reason == erasure.TAKES_ALONG
        assert decided["ticket", "T1"] == by_hand
    # a kept message below a ticket outside the request is safe: the user is only anonymised
    other["categories"] = {"title": "support"}
    decided = _decide(
        policy, [other, user, ticket, message, law], categories=["contact", "invoices"]
    )
    assert decided["user", "27"] == by_hand and decided["article", "A2"].action == "keep"


def test_an_anonymised_record_is_not_deleted_with_its_parent(policy: Policy) -> None:
    """A record its connector anonymises stays: its parent, whose deletion would take it
    along, is anonymised by hand too."""

    def actions(source: str, record_type: str) -> erasure.Action:
        return "anonymise" if record_type == "ticket" else "delete"

    user, ticket, _message = _help_desk("helpdesk", "user", "27", "article")
    decided = erasure.decide_all(policy, [ticket, user], TODAY, actions, lambda s, t: t == "ticket")
    assert [(d.action, d.reason) for _r, d in decided] == [
        ("anonymise", None), ("anonymise", erasure.TAKES_ALONG)
    ]  # fmt: skip


def test_a_mollie_customer_is_kept_with_the_subscriptions_its_deletion_would_end(
    policy: Policy,
) -> None:
    """Deleting a Mollie customer cancels their subscriptions and revokes their mandates
    (which Mollie keeps, so they are never counted as erased with it). While one is kept by
    law the customer is kept with it; while one is outside the request, staff anonymise the
    customer by hand; once each is erased too, the customer is deleted."""
    customer = _at("payments", "customer", "cst_1", {"email": "contact"})
    subscription = _at("payments", "subscription", "sub_1", {"amount": "payment"},
                       {"created": "2024-05-01"}, parent=("customer", "cst_1"))  # fmt: skip
    mandate = _at("payments", "mandate", "mdt_1", {"details": "payment"},
                  {"created": "2023-05-01"}, parent=("customer", "cst_1"))  # fmt: skip
    payment = _at("payments", "payment", "tr_1", {"amount": "payment"},
                  {"created": "2030-05-01"}, parent=("customer", "cst_1"))  # fmt: skip
    records = [subscription, mandate, payment, customer]
    decided = _decide(policy, records)
    assert decided["customer", "cst_1"] == erasure.Decision(
        "keep",
        "payment",
        date(2031, 12, 31),
        decided["subscription", "sub_1"].ground,
        reason=erasure.TAKES_ALONG,  # when the date comes: anonymised by hand, not deleted
    )  # the later of the two: the payment, which Mollie keeps anyway, does not count
    assert _decide(policy, records, categories=["contact"]) == {
        ("customer", "cst_1"): erasure.Decision("anonymise", reason=erasure.TAKES_ALONG)
    }
    for record in (subscription, mandate):
        record["dates"] = {"created": "2015-05-01"}  # past its retention
    decided = _decide(policy, records)
    assert decided["customer", "cst_1"].action == "delete"
    assert decided["subscription", "sub_1"].action == "none"  # not counted as erased with it


def test_a_bookkeeping_contact_goes_only_with_its_documents_and_takes_its_people(
    policy: Policy,
) -> None:
    """MoneyBird refuses (422) to delete a contact while an invoice or quote refers to it,
    and deletes its contact people with it. An invoice kept by law keeps the contact until
    the same date; one outside the request has staff anonymise the contact by hand; once
    the documents go, the contact is deleted (its contact person by its own step: MoneyBird
    deletes the contact only without them)."""
    contact = _at("invoicing", "contact", "C1", {"email": "contact"})
    person = _at("invoicing", "contact_person", "P1", {"email": "contact"},
                 parent=("contact", "C1"))  # fmt: skip
    invoice = _at("invoicing", "invoice", "I1", {"total": "invoices"},
                  {"invoice_date": "2025-02-01"}, parent=("contact", "C1"))  # fmt: skip
    records = [invoice, person, contact]
    decided = _decide(policy, records)
    assert (decided["contact", "C1"].action, decided["contact", "C1"].until) == (
        "keep", date(2032, 12, 31)
    )  # fmt: skip
    assert decided["contact", "C1"].reason == erasure.TAKES_ALONG
    assert _decide(policy, records, categories=["contact"])["contact", "C1"] == erasure.Decision(
        "anonymise", reason=erasure.TAKES_ALONG
    )
    assert _decide(policy, [person, contact])["contact", "C1"].action == "delete"
    # a contact person outside the request is not deleted with the contact: staff
    # anonymise the contact by hand instead
    person["categories"] = {"name": "identity"}
    assert _decide(policy, [person, contact], categories=["contact"]) == {
        ("contact", "C1"): erasure.Decision("anonymise", reason=erasure.TAKES_ALONG)
    }


def test_what_her_erasure_does_where_deleting_takes_records_along(
    app: Flask, simulated_connectors: object
) -> None:
    """Sanne's real data (the simulators): asking to erase only her contact data has staff
    anonymise her help desk users and the Mollie customer with subscriptions by hand, and
    deletes the Mollie customer that has none; asking for all of it keeps that Mollie
    customer with the subscriptions and mandate the law keeps."""
    from portal.auth.services import sign_in_with_verified_email
    from portal.policy import current_policy

    with app.test_request_context():
        customer = sign_in_with_verified_email(SANNE, method="test")
        snapshot = gather_for(customer)
        policy = current_policy()
        contact = _decide(policy, snapshot.records, categories=["contact"])
        everything = {
            (r["source"], r["record_type"], r["record_id"]): d
            for r, d in erasure.decide_all(
                policy, snapshot.records, TODAY, erasure.connector_actions(policy),
                erasure.connector_with_parent(policy),
                taken=erasure.connector_taken_with_parent(policy),
            )
        }  # fmt: skip
    by_hand = erasure.Decision("anonymise", reason=erasure.TAKES_ALONG)
    for key in [("user", "27"), ("contact", "80012345671"), ("customer", "cst_Vd3sNq7Lw2")]:
        assert contact[key] == by_hand, key
    assert contact["customer", "cst_Tz4Kd8Wm1S"].action == "delete"
    assert not [k for k in contact if k[0] in ("ticket", "subscription", "mandate")]
    kept = everything["payments", "customer", "cst_Vd3sNq7Lw2"]
    assert (kept.action, kept.category, kept.until) == ("keep", "payment", date(2031, 12, 31))
    assert everything["payments", "customer", "cst_Tz4Kd8Wm1S"].action == "delete"
    assert everything["helpdesk", "user", "27"].action == "delete"  # all her tickets go too
    # MoneyBird refuses to delete a contact while invoices refer to it: her contact is kept
    # with them, until the last one's date (a recurring invoice's), never told "deleted"
    bookkeeping = everything["invoicing", "contact", "431877251120719881"]
    assert (bookkeeping.action, bookkeeping.until, bookkeeping.reason) == (
        "keep", date(2034, 12, 31), erasure.TAKES_ALONG
    )  # fmt: skip
