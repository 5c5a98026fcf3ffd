"""A row that cannot be read among the rows a search found, over real HTTP.

A vendor's search returns other people's rows too (a fuzzy search, a shared phone number, a
list of everyone's customers). One of theirs that is malformed (an id that is none, a date that
is no date) is dropped like any row that does not match: it must not fail the customer's
source. Only a malformed row that is the customer's, or may be, makes the source partial, with
what the portal calls it, while the rest of the customer's data is still shown.

Each vendor's answer is the simulator's, with rows changed the way a plugin, a migration or a
hand-edited record may leave them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from connectors import ErrorKind, Identity, RetryPolicy, SourceStatus, gather
from connectors.base import RecordRef

from .scripted import ScriptedServer

SANNE = "sanne.devries@example.nl"

Rows = Callable[[Any], list[dict[str, Any]]]


def _list(body: Any) -> list[dict[str, Any]]:
    return body if isinstance(body, list) else [body]


def _customers(body: Any) -> list[dict[str, Any]]:
    return body["_embedded"]["customers"]


def _email(row: dict[str, Any]) -> str:
    """The row's main address, lower-cased (a WooCommerce order's: its billing address)."""
    value = row.get("email") or (row.get("billing") or {}).get("email") or ""
    return str(value).strip().lower()


def _searched(path: str, arg: str) -> Callable[[Request], bool]:
    return lambda r: r.path == path and arg in r.args


#: vendor -> (identity, the answer whose rows of someone else are broken, its rows)
FOREIGN: dict[str, tuple[Identity, Callable[[Request], bool], Rows]] = {
    "woocommerce": (
        Identity.of(emails=[SANNE]),
        _searched("/wp-json/wc/v3/orders", "search"),
        _list,
    ),
    "moneybird": (
        Identity.of(emails=[SANNE]),
        lambda r: r.path.endswith("/contacts.json"),
        _list,
    ),
    "zammad": (Identity.of(emails=[SANNE]), lambda r: r.path == "/api/v1/users/search", _list),
    "freshdesk": (
        # Kees shares her number: the phone filters find his contact
        Identity.of(emails=[SANNE], phones=["+31612345678"]),
        _searched("/api/v2/contacts", "mobile"),
        _list,
    ),
    "mollie": (Identity.of(emails=[SANNE]), lambda r: r.path == "/v2/customers", _customers),
}

#: vendor -> (the answer with her own row, its rows, her row changed into, the part missing)
HERS: dict[str, tuple[Callable[[Request], bool], Rows, dict[str, Any], str]] = {
    "woocommerce": (
        _searched("/wp-json/wc/v3/customers", "email"),
        _list,
        {"date_created_gmt": "not a date"},
        "customers",
    ),
    "moneybird": (
        lambda r: r.path.endswith("/contacts.json"),
        _list,
        {"created_at": "gisteren"},
        "contacts",
    ),
    "zammad": (
        lambda r: r.path == "/api/v1/users/search",
        _list,
        {"created_at": "yesterday"},
        "users",
    ),
    "freshdesk": (
        lambda r: r.path == "/api/v2/contacts/80012345671",
        _list,
        {"created_at": "gisteren"},
        "contacts",
    ),
    "mollie": (
        lambda r: r.path == "/v2/customers",
        _customers,
        {"createdAt": 1710249485},
        "customers",
    ),
}

#: The record type of her own row in each vendor.
TOP = {
    "woocommerce": "customer",
    "moneybird": "contact",
    "zammad": "user",
    "freshdesk": "contact",
    "mollie": "customer",
}


def _changing(
    server: ScriptedServer,
    wanted: Callable[[Request], bool],
    rows_of: Rows,
    which: Callable[[dict[str, Any]], bool],
    change: dict[str, Any],
    changed: list[str],
) -> Callable[[Request], Response | None]:
    """A script that changes the rows ``which`` picks in the answers ``wanted`` picks."""

    def script(request: Request) -> Response | None:
        if not wanted(request):
            return None
        answer = server.forward(request)
        body = json.loads(answer.get_data())
        for row in rows_of(body):
            if which(row):
                changed.append(str(row.get("id")))
                row.update(change)
        answer.set_data(json.dumps(body))
        return answer

    return script


def _gather(server: ScriptedServer, identity: Identity, retry: RetryPolicy) -> Any:
    with server.connector(retry) as connector:
        return gather([connector], identity).sources[server.vendor]


@pytest.mark.parametrize("vendor", list(FOREIGN))
def test_someone_else_s_row_without_an_id_is_dropped(no_wait: RetryPolicy, vendor: str) -> None:
    identity, wanted, rows_of = FOREIGN[vendor]
    changed: list[str] = []
    with ScriptedServer(vendor) as server:
        expected = _gather(server, identity, no_wait)
        server.script = _changing(
            server, wanted, rows_of, lambda row: _email(row) != SANNE, {"id": None}, changed
        )
        source = _gather(server, identity, no_wait)
    assert expected.status == SourceStatus.COMPLETE and changed
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    assert {r.ref for r in source.records} == {r.ref for r in expected.records}
    assert source.dropped >= expected.dropped


@pytest.mark.parametrize("vendor", list(HERS))
def test_her_own_row_that_cannot_be_read_makes_the_source_partial(
    no_wait: RetryPolicy, vendor: str
) -> None:
    """Her own row that cannot be read is missing, said as such; what is read by its id
    (orders, invoices, tickets, payments) is still shown."""
    identity = Identity.of(emails=[SANNE])
    wanted, rows_of, change, part = HERS[vendor]
    changed: list[str] = []
    with ScriptedServer(vendor) as server:
        expected = _gather(server, identity, no_wait)
        server.script = _changing(
            server, wanted, rows_of, lambda row: _email(row) == SANNE, change, changed
        )
        source = _gather(server, identity, no_wait)
    assert changed
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [(part, ErrorKind.BAD_DATA)]
    lost = {RecordRef(vendor, TOP[vendor], record_id) for record_id in changed}
    assert {r.ref for r in source.records} == {r.ref for r in expected.records} - lost
    assert len(source.records) > 1  # her orders, invoices, tickets or payments


def test_her_own_row_without_an_id_makes_the_source_partial(no_wait: RetryPolicy) -> None:
    """Her Zammad user with an id that is none: nothing can be read through it, and the
    source says the user is missing rather than failing or looking empty."""
    identity = Identity.of(emails=[SANNE])
    changed: list[str] = []
    with ScriptedServer("zammad") as server:
        server.script = _changing(
            server,
            lambda r: r.path == "/api/v1/users/search",
            _list,
            lambda row: _email(row) == SANNE,
            {"id": True},
            changed,
        )
        source = _gather(server, identity, no_wait)
    assert changed
    assert (source.status, source.records) == (SourceStatus.PARTIAL, ())
    assert [(m.what, m.kind) for m in source.missing] == [("users", ErrorKind.BAD_DATA)]


@pytest.mark.parametrize(
    ("vendor", "wanted", "change", "part"),
    [
        # an order whose billing is no object: whom it is billed to cannot be told
        (
            "woocommerce",
            _searched("/wp-json/wc/v3/orders", "search"),
            {"billing": "Sanne de Vries, Utrecht"},
            "guest_orders",
        ),
        # a company whose contact people are no list: one of them may be her
        (
            "moneybird",
            lambda r: r.path.endswith("/contacts.json"),
            {"contact_people": "Sanne"},
            "contacts",
        ),
    ],
)
def test_a_row_that_may_be_hers_makes_the_source_partial(
    no_wait: RetryPolicy,
    vendor: str,
    wanted: Callable[[Request], bool],
    change: dict[str, Any],
    part: str,
) -> None:
    """Someone else's row whose identifying part cannot be read may be hers after all: the
    source is partial, not failed, and not silently complete; her own data is all shown."""
    identity = Identity.of(emails=[SANNE])
    changed: list[str] = []
    with ScriptedServer(vendor) as server:
        expected = _gather(server, identity, no_wait)
        server.script = _changing(
            server, wanted, _list, lambda row: _email(row) != SANNE, change, changed
        )
        source = _gather(server, identity, no_wait)
    assert changed
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [(part, ErrorKind.BAD_DATA)]
    assert {r.ref for r in source.records} == {r.ref for r in expected.records}
