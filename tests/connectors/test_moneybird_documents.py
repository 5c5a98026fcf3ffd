"""A MoneyBird contact's estimates (quotes) and recurring sales invoices, over real HTTP against
the simulator.

Both embed the contact and hold its address, the lines offered or billed, notes and dates:
personal data that an access request must show. They are read like the contact's sales
invoices (``estimates.json`` with the same ``contact_id``/``state``/``period`` filter, whose
period defaults to this year when left out; ``recurring_sales_invoices.json`` by
``contact_id``), and only rows that name the customer's contact are shown as theirs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from connectors import (
    ErrorKind,
    Identity,
    IdentityMismatch,
    NotSupported,
    RecordRef,
    RetryPolicy,
    SourceStatus,
    gather,
)
from connectors.moneybird import ALL_PERIODS
from portal.dsr.erasure import decide
from portal.gathering.presentation import due_date
from portal.policy import load_policy

from .scripted import ScriptedServer, html_answer, json_answer

SANNE = Identity.of(emails=["sanne.devries@example.nl"])
SANNE_ID = "431877251120719881"
#: The other Sanne de Vries (Groningen): same name, near-identical e-mail.
OTHER = Identity.of(emails=["sanne.de.vries@example.nl"])
OTHER_ID = "431877251294783498"
POLICY = load_policy(Path(__file__).parents[2] / "instance" / "policy.example.toml")


def gathered(server: ScriptedServer, retry: RetryPolicy, identity: Identity = SANNE) -> Any:
    with server.connector(retry) as connector:
        return gather([connector], identity).sources["moneybird"]


def of_type(source: Any, record_type: str) -> dict[str, Any]:
    return {r.record_id: r for r in source.records if r.record_type == record_type}


def ids_of(rows: list[dict[str, Any]], contact_id: str) -> set[str]:
    return {row["id"] for row in rows if row["contact_id"] == contact_id}


def test_her_estimates_and_recurring_invoices_are_gathered(no_wait: RetryPolicy) -> None:
    with ScriptedServer("moneybird") as server:
        source = gathered(server, no_wait)
        estimates_held, recurring_held = server.app.estimates, server.app.recurring
        invoices_held = server.app.invoices
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    estimates = of_type(source, "estimate")
    recurring = of_type(source, "recurring_invoice")
    # her 2019 quote too, which MoneyBird's default period (this year) would leave out
    assert set(estimates) == ids_of(estimates_held, SANNE_ID)
    assert len(estimates) == 2 and "2019-0007" in {
        e.fields["estimate_id"] for e in estimates.values()
    }
    assert set(recurring) == ids_of(recurring_held, SANNE_ID) and len(recurring) == 1
    # the other Sanne de Vries' own quote and subscription are never shown to her
    others = ids_of(estimates_held, OTHER_ID) | ids_of(recurring_held, OTHER_ID)
    assert others and not others & {r.record_id for r in source.records}
    for record in (*estimates.values(), *recurring.values()):
        assert record.parent == RecordRef("moneybird", "contact", SANNE_ID)
        assert record.matched is not None and record.matched.value == "sanne.devries@example.nl"
        assert record.fields["lines"] and record.link
        assert "contact" not in record.fields  # the embedded contact is the contact record
    quote = next(e for e in estimates.values() if e.fields["estimate_id"] == "2019-0007")
    assert quote.fields["state"] == "billed" and "Oudegracht 112" in quote.fields["pre_text"]
    assert set(quote.categories.values()) == {"orders"}
    assert quote.link.endswith("/estimates/00040017")
    subscription = next(iter(recurring.values()))
    assert set(subscription.categories.values()) == {"invoices"}
    assert subscription.fields["frequency_type"] == "year" and subscription.fields["active"]
    assert subscription.link == (
        f"{server.root_url}/{server.app.administration_id}/recurring_sales_invoices/"
        f"{subscription.record_id}"
    )
    # her invoices say they were made by it
    made = [
        i for i in invoices_held if i.get("recurring_sales_invoice_id") == subscription.record_id
    ]
    assert made and all(i["contact_id"] == SANNE_ID for i in made)
    asked = [path for _method, path in server.requests if path.endswith("/estimates.json")]
    assert asked


def test_the_other_person_gets_only_her_own(no_wait: RetryPolicy) -> None:
    with ScriptedServer("moneybird") as server:
        source = gathered(server, no_wait, OTHER)
        estimates_held, recurring_held = server.app.estimates, server.app.recurring
    assert source.status == SourceStatus.COMPLETE
    assert set(of_type(source, "estimate")) == ids_of(estimates_held, OTHER_ID)
    assert set(of_type(source, "recurring_invoice")) == ids_of(recurring_held, OTHER_ID)
    assert not {r.record_id for r in source.records} & (
        ids_of(estimates_held, SANNE_ID) | ids_of(recurring_held, SANNE_ID)
    )
    (quote,) = of_type(source, "estimate").values()
    assert [n["note"] for n in quote.fields["notes"]] == [
        "Wil graag een zaterdag; partner komt mee."
    ]


def test_documents_of_other_contacts_are_not_hers_when_the_filter_is_ignored(
    no_wait: RetryPolicy,
) -> None:
    def script(request: Request) -> Response | None:
        # MoneyBird (say) drops the contact_id key: everyone's quotes and subscriptions
        if request.path.endswith("/estimates.json"):
            return server.forward(request, filter=f"state:all,period:{ALL_PERIODS}")
        if request.path.endswith("/recurring_sales_invoices.json"):
            return server.forward(request, filter="")
        return None

    with ScriptedServer("moneybird", script) as server:
        source = gathered(server, no_wait)
        estimates_held, recurring_held = server.app.estimates, server.app.recurring
    assert source.status == SourceStatus.COMPLETE
    assert set(of_type(source, "estimate")) == ids_of(estimates_held, SANNE_ID)
    assert set(of_type(source, "recurring_invoice")) == ids_of(recurring_held, SANNE_ID)
    assert len(estimates_held) > 2 and len(recurring_held) > 1  # others' were handed over


@pytest.mark.parametrize("resource", ["estimates", "recurring_sales_invoices"])
@pytest.mark.parametrize(
    "answer",
    [
        lambda: json_answer({"error": "Internal error"}),  # an object, not the list
        lambda: json_answer([{"id": {"nested": True}, "contact_id": SANNE_ID}]),
        lambda: html_answer(),  # a proxy's page
        lambda: json_answer({"error": "Token lacks scope estimates"}, 403),
    ],
    ids=["object", "broken-row", "html", "no-scope"],
)
def test_an_unreadable_list_makes_the_source_partial(
    no_wait: RetryPolicy, resource: str, answer: Any
) -> None:
    def script(request: Request) -> Response | None:
        return answer() if request.path.endswith(f"/{resource}.json") else None

    with ScriptedServer("moneybird", script) as server:
        source = gathered(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    assert [part.what for part in source.missing] == [resource]
    assert source.missing[0].kind in (ErrorKind.BAD_DATA, ErrorKind.AUTH, ErrorKind.REJECTED)
    # the rest is still hers and still shown
    assert SANNE_ID in of_type(source, "contact") and len(of_type(source, "invoice")) == 9
    other = "recurring_invoice" if resource == "estimates" else "estimate"
    assert of_type(source, other)


def test_retention_and_erasure_follow_the_policy(no_wait: RetryPolicy) -> None:
    today = date(2026, 12, 7)
    with ScriptedServer("moneybird") as server:
        server.app.recurring[0]["active"] = False  # her subscription ended
        source = gathered(server, no_wait)
        with server.connector(no_wait) as connector:
            actions = {t: connector.erasure_action(t) for t in ("estimate", "recurring_invoice")}
    records = {r.record_id: r.to_dict() for r in source.records}
    assert actions == {"estimate": "delete", "recurring_invoice": "none"}
    invoice_dates = [
        r["dates"]["invoice_date"]
        for r in records.values()
        if r["record_type"] == "invoice" and r["fields"]["reference"] == "Abonnement SV-1042"
    ]
    (subscription,) = (r for r in records.values() if r["record_type"] == "recurring_invoice")
    # ended: fiscal retention counts from the last invoice it made
    assert subscription["dates"]["invoice_date"] == max(invoice_dates)
    last = date.fromisoformat(max(invoice_dates))
    invoices = POLICY.category("invoices")
    assert due_date(POLICY, invoices, subscription["dates"]) == date(last.year + 7, 12, 31)
    kept = decide(POLICY, subscription, today, lambda _s, t: actions[t])
    assert (kept.action, kept.until) == ("keep", date(last.year + 7, 12, 31))
    # a quote is no accounting record: 24 months after her last purchase, then deleted
    quotes = [r for r in records.values() if r["record_type"] == "estimate"]
    orders = POLICY.category("orders")
    for quote in quotes:
        start = date.fromisoformat(quote["dates"]["last_order"])
        assert start >= date.fromisoformat(quote["dates"]["estimate_date"])
        assert due_date(POLICY, orders, quote["dates"]) == date(
            start.year + 2, start.month, start.day
        )
        assert decide(POLICY, quote, today, lambda _s, t: actions[t]).action == "delete"


def test_an_active_subscription_is_kept_as_long_as_it_bills(no_wait: RetryPolicy) -> None:
    with ScriptedServer("moneybird") as server:
        source = gathered(server, no_wait)
        next_date = server.app.recurring[0]["invoice_date"]
    (subscription,) = of_type(source, "recurring_invoice").values()
    assert subscription.fields["next_invoice_date"] == next_date
    assert subscription.dates["invoice_date"] == date.fromisoformat(next_date)


def test_an_estimate_is_deleted_and_a_recurring_invoice_never(no_wait: RetryPolicy) -> None:
    with ScriptedServer("moneybird") as server:
        hers = sorted(ids_of(server.app.estimates, SANNE_ID))
        others = sorted(ids_of(server.app.estimates, OTHER_ID))
        subscription = sorted(ids_of(server.app.recurring, SANNE_ID))[0]
        with server.connector(no_wait) as connector:
            # someone else's quote is never deleted on her request
            with pytest.raises(IdentityMismatch):
                connector.erase(RecordRef("moneybird", "estimate", others[0]), identity=SANNE)
            connector.erase(RecordRef("moneybird", "estimate", hers[0]), identity=SANNE)
            with pytest.raises(NotSupported):
                connector.erase(RecordRef("moneybird", "recurring_invoice", subscription))
            # deleting it again: already gone
            again = connector.erase(RecordRef("moneybird", "estimate", hers[0]), identity=None)
        left = {e["id"] for e in server.app.estimates}
        assert hers[0] not in left and others[0] in left
        assert subscription in {r["id"] for r in server.app.recurring}
        assert ("DELETE", f"/api/v2/{server.app.administration_id}/estimates/{hers[0]}.json") in (
            server.requests
        )
        assert again == "already_gone"
