"""Freshdesk's soft-deleted contacts and trashed tickets, over real HTTP against the simulator.

Freshdesk's lists leave a soft-deleted contact (``state=deleted``) and a ticket in the trash
(``filter=deleted``) out, but both can be restored and still hold the person's data: the
customer must see them (GDPR art. 15) and an erasure must reach them. They are matched exactly,
as every other row: a deleted contact of someone else is never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from connectors import (
    ConnectorError,
    ErasureOutcome,
    ErrorKind,
    Identity,
    MissingPart,
    SourceStatus,
    gather,
)
from simulators.world import PHONE_ONLY_FRESHDESK_ID, PHONE_ONLY_NUMBER

from .freshdesk_desk import OTHER_SANNE, OTHER_SANNE_ID, SANNE, SANNE_ID, Desk, tickets_of


def test_a_soft_deleted_contact_is_found_with_its_tickets(desk: Desk) -> None:
    before = desk.fetch()
    assert desk.call("DELETE", f"contacts/{SANNE_ID}").status_code == 204
    result = desk.fetch()
    assert result.missing == () and result.dropped == 0
    contact = next(r for r in result.records if r.record_type == "contact")
    assert contact.record_id == str(SANNE_ID)
    assert contact.fields["deleted"] == "restorable"
    # what only the contact's own view gives is there too
    assert contact.fields["other_emails"] == ["s.devries.werk@example.nl"]
    assert tickets_of(result).keys() == tickets_of(before).keys() and tickets_of(result)
    assert {r.record_type for r in result.records} == {
        "contact",
        "ticket",
        "conversation",
        "satisfaction_rating",
    }
    assert all(r.matched.value == SANNE for r in result.records)
    assert "deleted" not in next(r for r in before.records if r.record_type == "contact").fields
    assert result.stats.duplicates == 0


def test_a_deleted_contact_is_found_by_its_phone_number(desk: Desk) -> None:
    """A caller known only by a phone number, stored in a national spelling."""
    assert desk.call("DELETE", f"contacts/{PHONE_ONLY_FRESHDESK_ID}").status_code == 204
    result = desk.connector.fetch(Identity.of(phones=[PHONE_ONLY_NUMBER]))
    assert [(r.record_id, r.fields["deleted"]) for r in result.records] == [
        (str(PHONE_ONLY_FRESHDESK_ID), "restorable")
    ]
    searches = [r.query for r in desk.handle.requests if r.path.endswith("/contacts")]
    assert {q.get("state") for q in searches} == {None, "deleted", "blocked"}
    # mobile and phone, five spellings; active, deleted and blocked (the blocked list also
    # holds the deleted contact: read once)
    assert len(searches) == 2 * 5 * 3


def test_a_trashed_ticket_of_an_active_contact_is_found_with_its_conversations(
    desk: Desk,
) -> None:
    before = desk.fetch()
    conversations = {
        r.record_id for r in before.records if r.parent and r.parent.record_id == "1207"
    }
    assert conversations
    assert desk.call("DELETE", "tickets/1207").status_code == 204
    result = desk.fetch()
    assert result.missing == ()
    tickets = tickets_of(result)
    assert tickets.keys() == tickets_of(before).keys()
    assert tickets["1207"]["deleted"] == "trash"
    assert tickets["1207"]["subject"] == tickets_of(before)["1207"]["subject"]
    assert not [t for key, t in tickets.items() if key != "1207" and "deleted" in t]
    kept = {r.record_id for r in result.records if r.parent and r.parent.record_id == "1207"}
    assert kept == conversations
    assert "deleted" not in next(r for r in result.records if r.record_type == "contact").fields


def test_a_ticket_in_both_lists_is_read_once(desk: Desk) -> None:
    """A ticket moved to the trash between the two ticket lists is in both."""

    def both(request: Request, original: Callable[..., Response]) -> Response:
        if request.args.get("filter") == "deleted":
            desk.app.tickets[1207]["_deleted"] = True
            answer = original(request)
            desk.app.tickets[1207]["_deleted"] = False
            return answer
        return original(request)

    desk.patch("tickets", both)
    result = desk.fetch()
    assert [r.record_id for r in result.records if r.record_type == "ticket"].count("1207") == 1
    assert result.stats.duplicates == 0


def test_a_deleted_contact_with_a_near_identical_address_is_not_found(desk: Desk) -> None:
    assert desk.call("DELETE", f"contacts/{OTHER_SANNE_ID}").status_code == 204
    result = desk.fetch()
    assert str(OTHER_SANNE_ID) not in {r.record_id for r in result.records}
    assert all(r.matched.value == SANNE for r in result.records)
    assert result.dropped == 0  # Freshdesk's filter is exact: it never came


def test_a_deleted_contact_the_vendor_returns_for_another_address_is_dropped(
    desk: Desk,
) -> None:
    """Should the deleted list answer loosely, the exact comparison still keeps the other
    Sanne's contact out: showing it would be a data breach."""
    assert desk.call("DELETE", f"contacts/{OTHER_SANNE_ID}").status_code == 204

    def loose(request: Request, original: Callable[..., Response]) -> Response:
        if request.args.get("state") != "deleted":
            return original(request)
        rows = [desk.app._list_view(c) for c in desk.app.contacts.values() if c["deleted"]]
        return desk.app._ok(rows)

    desk.patch("contacts", loose)
    result = desk.fetch()
    assert str(OTHER_SANNE_ID) not in {r.record_id for r in result.records}
    assert not [r for r in result.records if OTHER_SANNE in str(r.fields)]
    assert result.dropped == 1 and result.missing == ()
    assert [r.record_id for r in result.records if r.record_type == "contact"] == [str(SANNE_ID)]


@pytest.mark.parametrize(
    ("endpoint", "param", "value", "what"),
    [
        ("contacts", "state", "deleted", "deleted_contacts"),
        ("tickets", "filter", "deleted", "trashed_tickets"),
        ("contacts", "state", "blocked", "blocked_contacts"),
        ("tickets", "filter", "spam", "spam_tickets"),
    ],
)
def test_a_failing_list_of_deleted_or_set_aside_records_leaves_the_source_partial(
    desk: Desk, endpoint: str, param: str, value: str, what: str
) -> None:
    def failing(request: Request, original: Callable[..., Response]) -> Response:
        if request.args.get(param) == value:
            return desk.app.server_error_response()
        return original(request)

    complete = tickets_of(desk.fetch())
    desk.patch(endpoint, failing)
    result = desk.fetch()
    assert result.missing == (MissingPart(what, ErrorKind.DOWN),)
    # the active contact and its tickets are all there
    assert tickets_of(result) == complete
    gathered = gather([desk.connector], Identity.of(emails=[SANNE]))
    source = gathered.sources["freshdesk"]
    assert source.status is SourceStatus.PARTIAL
    assert [m.what for m in source.missing] == [what]


def test_a_soft_deleted_contact_is_erased_for_good(desk: Desk) -> None:
    sanne = Identity.of(emails=[SANNE])
    assert desk.call("DELETE", f"contacts/{SANNE_ID}").status_code == 204
    outcome = desk.connector.erase(desk.ref("contact", SANNE_ID), identity=sanne)
    assert outcome is ErasureOutcome.DELETED
    deletes = [(r.path, r.query) for r in desk.handle.requests if r.method == "DELETE"]
    assert deletes[-1] == (f"/api/v2/contacts/{SANNE_ID}/hard_delete", {"force": "true"})
    assert SANNE_ID not in desk.app.contacts
    result = desk.fetch()
    assert result.records == () and result.missing == ()


def test_a_trashed_ticket_is_erased_without_failing_and_says_it_is_in_the_trash(
    desk: Desk,
) -> None:
    sanne = Identity.of(emails=[SANNE])
    assert desk.call("DELETE", "tickets/1207").status_code == 204
    ref = desk.ref("ticket", 1207)
    assert desk.connector.erase(ref, identity=sanne) is ErasureOutcome.TRASHED
    statuses = [(r.method, r.status) for r in desk.handle.requests if "tickets/1207" in r.path]
    assert ("DELETE", 405) in statuses
    assert desk.app.tickets[1207]["_deleted"] is True  # still in the trash, as at Freshdesk


def test_a_spam_ticket_s_405_is_not_taken_for_the_trash(desk: Desk) -> None:
    """Freshdesk answers 405 for spam too; a ticket whose view does not say deleted is not
    erased: the API cannot, so staff must (see test_freshdesk_blocked_spam.py)."""
    desk.app.tickets[1207]["spam"] = True
    with pytest.raises(ConnectorError) as info:
        desk.connector.erase(desk.ref("ticket", 1207))
    assert info.value.kind is ErrorKind.NOT_SUPPORTED
    assert desk.app.tickets[1207].get("_deleted") is not True


def test_another_405_is_a_refusal(desk: Desk) -> None:
    """A 405 for a ticket whose view says neither deleted nor spam is the vendor's refusal."""

    def refuse(request: Request, original: Callable[..., Response], **kw: Any) -> Response:
        return desk.app._only_get(request.method)

    desk.patch("ticket_delete", refuse)
    with pytest.raises(ConnectorError) as info:
        desk.connector.erase(desk.ref("ticket", 1207))
    assert info.value.kind is ErrorKind.REJECTED
