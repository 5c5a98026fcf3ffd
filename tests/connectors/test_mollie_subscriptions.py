"""A Mollie customer's subscriptions (``GET customers/{id}/subscriptions``), over real HTTP
against the simulator: hers are gathered, page by page, with the fields of their state; another
customer's never are, even when Mollie (or something in front of it) hands them over; a list
that cannot be read makes the result partial, never silently complete."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from connectors import ErrorKind, GatherResult, Identity, RecordRef, RetryPolicy, SourceStatus
from connectors import gather as gather_sources
from connectors.base import Record

from .scripted import ScriptedServer, html_answer, json_answer

SANNE = Identity.of(emails=["sanne.devries@example.nl"])
OTHER_SANNE = Identity.of(emails=["sanne.de.vries@example.nl"])
MOLLIE_SANNE = "cst_Vd3sNq7Lw2"
#: The other Sanne de Vries (Groningen), with a near-identical subscription of her own.
MOLLIE_OTHER = "cst_Pm8xTq2Hn6"
HERS = f"/v2/customers/{MOLLIE_SANNE}/subscriptions"


def gather(server: ScriptedServer, retry: RetryPolicy, who: Identity = SANNE) -> GatherResult:
    with server.connector(retry) as connector:
        return gather_sources([connector], who)


def subscriptions(result: GatherResult) -> dict[str, Record]:
    return {
        r.record_id: r for r in result.sources["mollie"].records if r.record_type == "subscription"
    }


def held(server: ScriptedServer, customer: str) -> dict[str, dict[str, Any]]:
    """The simulator's own subscriptions of ``customer``."""
    return {
        sid: sub
        for sid, sub in server.app.subscriptions.items()  # type: ignore[attr-defined]
        if sub["customerId"] == customer
    }


def page_of(server: ScriptedServer, request: Request, customer: str) -> dict[str, Any]:
    """The simulator's first page of ``customer``'s subscriptions, as JSON."""
    environ = dict(request.environ)
    environ["PATH_INFO"] = f"/v2/customers/{customer}/subscriptions"
    environ["QUERY_STRING"] = "limit=250"
    body: dict[str, Any] = Response.from_app(server.app, environ).get_json()
    return body


def test_her_subscriptions_are_gathered_page_by_page(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if request.path == HERS and "from" not in request.args:
            return server.forward(request, limit="1")  # one a page: the cursor is followed
        return None

    with ScriptedServer("mollie", script) as server:
        result = gather(server, no_wait)
    source = result.sources["mollie"]
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    expected = held(server, MOLLIE_SANNE)
    assert {s["status"] for s in expected.values()} == {"active", "canceled"}
    found = subscriptions(result)
    assert set(found) == set(expected)
    assert [p for m, p in server.requests if p == HERS] == [HERS] * len(expected)
    customer = next(r for r in source.records if r.record_id == MOLLIE_SANNE)
    for sid, raw in expected.items():
        record = found[sid]
        assert record.parent == RecordRef("mollie", "customer", MOLLIE_SANNE)
        assert record.fields["amount"] == f"{raw['amount']['value']} EUR"
        assert record.fields["description"] == raw["description"]
        assert record.fields["interval"] == raw["interval"]
        assert record.fields["mandateId"] == raw["mandateId"]
        assert record.fields["webhook_url"] == raw["webhookUrl"]
        assert record.fields["metadata"] == raw["metadata"]
        assert set(record.categories.values()) == {"payment"}
        # Mollie gives a subscription no dashboard page: her customer's page lists it
        assert record.link == customer.link and customer.link
        if raw["status"] == "active":
            assert record.fields["nextPaymentDate"] == raw["nextPaymentDate"]
            assert "canceled" not in record.dates
        else:
            assert "nextPaymentDate" not in record.fields
            assert record.dates["canceled"].isoformat() == raw["canceledAt"]


def test_another_customer_s_subscriptions_are_never_hers(no_wait: RetryPolicy) -> None:
    """The other Sanne de Vries has her own subscription, near-identical to Sanne's: it is
    gathered for her and never for Sanne, even when it is handed over in Sanne's list (a
    filter that is ignored), named by ``customerId`` or only by its customer link."""

    def script(request: Request) -> Response | None:
        if request.path != HERS:
            return None
        page = page_of(server, request, MOLLIE_SANNE)
        theirs = page_of(server, request, MOLLIE_OTHER)["_embedded"]["subscriptions"]
        linked_only = copy.deepcopy(theirs[0])
        linked_only["id"] = "sub_Linked0nly1"
        del linked_only["customerId"]
        # says it is hers, but links to the other customer
        mixed = copy.deepcopy(theirs[0])
        mixed["id"] = "sub_Mixed0wner1"
        mixed["customerId"] = MOLLIE_SANNE
        page["_embedded"]["subscriptions"] += [*theirs, linked_only, mixed]
        page["count"] = len(page["_embedded"]["subscriptions"])
        return json_answer(page)

    with ScriptedServer("mollie", script) as server:
        result = gather(server, no_wait)
        others = held(server, MOLLIE_OTHER)
        server.script = None
        theirs = subscriptions(gather(server, no_wait, OTHER_SANNE))
    assert result.sources["mollie"].status is SourceStatus.COMPLETE
    hers = subscriptions(result)
    assert set(hers) == set(held(server, MOLLIE_SANNE))
    assert others and not set(hers) & (set(others) | {"sub_Linked0nly1", "sub_Mixed0wner1"})
    # the other Sanne's own gathering has hers, and none of Sanne's
    assert set(theirs) == set(others)
    assert all(r.parent and r.parent.record_id == MOLLIE_OTHER for r in theirs.values())


def test_a_subscription_that_names_no_customer_is_not_shown(no_wait: RetryPolicy) -> None:
    """Whose it is cannot be told: it is left out, and the result says subscriptions are
    missing."""

    def script(request: Request) -> Response | None:
        if request.path != HERS:
            return None
        page = page_of(server, request, MOLLIE_SANNE)
        nameless = page["_embedded"]["subscriptions"][0]
        del nameless["customerId"]
        del nameless["_links"]["customer"]
        return json_answer(page)

    with ScriptedServer("mollie", script) as server:
        result = gather(server, no_wait)
    source = result.sources["mollie"]
    assert source.status is SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("subscriptions", ErrorKind.BAD_DATA)]
    assert len(subscriptions(result)) == len(held(server, MOLLIE_SANNE)) - 1


@pytest.mark.parametrize(
    "answer",
    [
        lambda: json_answer({}),
        lambda: json_answer({"count": 2, "_embedded": {"subscriptions": []}, "_links": {}}),
        lambda: json_answer({"count": 1, "_embedded": {"subscriptions": ["sub_x"]}}),
        lambda: json_answer({"status": 404, "title": "Not Found"}, 404),
        lambda: html_answer(),
        lambda: html_answer(503, "<html><body>Maintenance</body></html>"),
    ],
    ids=["empty-object", "count-mismatch", "garbage-rows", "404", "html", "html-503"],
)
def test_an_unreadable_subscription_list_makes_the_result_partial(
    no_wait: RetryPolicy, answer: Any
) -> None:
    def script(request: Request) -> Response | None:
        return answer() if request.path == HERS else None

    with ScriptedServer("mollie", script) as server:
        result = gather(server, no_wait)
    source = result.sources["mollie"]
    assert source.status is SourceStatus.PARTIAL
    assert [m.what for m in source.missing] == ["subscriptions"]
    assert not subscriptions(result)
    # what Mollie did answer is still there: her customer, payments and mandate
    kinds = {r.record_type for r in source.records}
    assert {"customer", "payment", "mandate"} <= kinds


def test_an_empty_subscription_list_is_complete(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if request.path == HERS:
            empty = {"count": 0, "_embedded": {"subscriptions": []}, "_links": {"next": None}}
            return json_answer(empty)
        return None

    with ScriptedServer("mollie", script) as server:
        result = gather(server, no_wait)
    source = result.sources["mollie"]
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    assert not subscriptions(result)
