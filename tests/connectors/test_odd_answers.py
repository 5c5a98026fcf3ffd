"""Connectors over real HTTP against answers that a vendor, a proxy or a firewall in front of it
may give and no simulator fault mode covers: each must fail the source or make it partial,
never pass for a complete answer."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from connectors import ErrorKind, Identity, RetryPolicy, SourceStatus, gather

from .scripted import ScriptedServer, json_answer

SANNE = Identity.of(emails=["sanne.devries@example.nl"])
MOLLIE_SANNE = "cst_Vd3sNq7Lw2"


@pytest.mark.parametrize(
    "body",
    [{}, {"count": 3}, {"status": 200, "title": "OK"}, {"count": 0, "_links": {"next": None}}],
)
def test_a_mollie_customer_page_without_embedded_items_fails_the_source(
    no_wait: RetryPolicy, body: dict[str, Any]
) -> None:
    """Such a page is no empty last page: the customer list is unread."""

    def script(request: Request) -> Response | None:
        return json_answer(body) if request.path == "/v2/customers" else None

    with ScriptedServer("mollie", script) as server, server.connector(no_wait) as connector:
        source = gather([connector], SANNE).sources["mollie"]
    assert (source.status, source.error_kind) == (SourceStatus.FAILED, ErrorKind.BAD_DATA)


@pytest.mark.parametrize(
    "body",
    [
        {"count": 0, "_embedded": {"payments": []}},  # no _links
        {"count": 2, "_embedded": {"payments": []}, "_links": {"next": None}},
        {"_embedded": {"payments": []}, "_links": {"next": {"type": "application/hal+json"}}},
    ],
)
def test_a_mollie_payment_page_of_another_shape_makes_the_result_partial(
    no_wait: RetryPolicy, body: dict[str, Any]
) -> None:
    def script(request: Request) -> Response | None:
        if request.path == f"/v2/customers/{MOLLIE_SANNE}/payments":
            return json_answer(body)
        return None

    with ScriptedServer("mollie", script) as server, server.connector(no_wait) as connector:
        source = gather([connector], SANNE).sources["mollie"]
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("payments", ErrorKind.BAD_DATA)]


def test_an_empty_mollie_list_is_complete(no_wait: RetryPolicy) -> None:
    """The shape Mollie gives an empty list is read as one (not as a broken page)."""

    def script(request: Request) -> Response | None:
        if request.path == f"/v2/customers/{MOLLIE_SANNE}/payments":
            empty = {"count": 0, "_embedded": {"payments": []}, "_links": {"next": None}}
            return json_answer(empty)
        return None

    with ScriptedServer("mollie", script) as server, server.connector(no_wait) as connector:
        source = gather([connector], SANNE).sources["mollie"]
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    theirs = [
        r.record_type for r in source.records if r.parent and r.parent.record_id == MOLLIE_SANNE
    ]
    assert "payment" not in theirs and "mandate" in theirs
    assert MOLLIE_SANNE in {r.record_id for r in source.records if r.record_type == "customer"}
