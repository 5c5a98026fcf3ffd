"""Freshdesk's blocked contacts and spam tickets, over real HTTP against the simulator.

Freshdesk's lists leave a blocked contact (``state=blocked``) and a ticket marked as spam
(``filter=spam``) out, but both are kept whole and hold the person's data: the customer must
see them (GDPR art. 15) and an erasure must reach them. They are matched exactly, as every
other row: a blocked contact of someone else is never shown. Freshdesk's public API cannot
delete a spam ticket, so its erasure goes to staff with instructions.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from werkzeug.wrappers import Request, Response

from connectors import (
    ErasureOutcome,
    ErrorKind,
    FetchResult,
    Identity,
    NotSupported,
)
from simulators.world import PHONE_ONLY_FRESHDESK_ID, PHONE_ONLY_NUMBER

from .freshdesk_desk import OTHER_SANNE, OTHER_SANNE_ID, SANNE, SANNE_ID, Desk, tickets_of

#: Sanne's ticket with conversations, marked as spam at runtime.
SPAM_TICKET = 1207


def _block(desk: Desk, contact_id: int) -> None:
    """Block a contact, as an agent does in Freshdesk (not possible through the API)."""
    desk.app.contacts[contact_id]["_state"] = "blocked"


def _children(result: FetchResult, ticket_id: object) -> set[str]:
    parent = str(ticket_id)
    return {r.record_id for r in result.records if r.parent and r.parent.record_id == parent}


def test_a_blocked_contact_is_hidden_from_the_plain_list(desk: Desk) -> None:
    _block(desk, SANNE_ID)
    assert desk.call("GET", f"contacts?email={SANNE}").json() == []
    blocked = desk.call("GET", f"contacts?email={SANNE}&state=blocked").json()
    assert [c["id"] for c in blocked] == [SANNE_ID]


def test_a_blocked_contact_is_found_with_its_tickets(desk: Desk) -> None:
    before = desk.fetch()
    _block(desk, SANNE_ID)
    result = desk.fetch()
    assert result.missing == () and result.dropped == 0
    contact = next(r for r in result.records if r.record_type == "contact")
    assert contact.record_id == str(SANNE_ID)
    assert contact.fields["set_aside"] == "blocked"
    assert "deleted" not in contact.fields
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
    assert "set_aside" not in next(r for r in before.records if r.record_type == "contact").fields
    assert result.stats.duplicates == 0


def test_a_blocked_contact_is_found_by_its_phone_number(desk: Desk) -> None:
    _block(desk, PHONE_ONLY_FRESHDESK_ID)
    result = desk.connector.fetch(Identity.of(phones=[PHONE_ONLY_NUMBER]))
    assert [(r.record_id, r.fields["set_aside"]) for r in result.records] == [
        (str(PHONE_ONLY_FRESHDESK_ID), "blocked")
    ]


def test_a_deleted_contact_in_the_blocked_list_is_read_once_as_deleted(desk: Desk) -> None:
    """Freshdesk's list of blocked contacts also holds the deleted ones."""
    assert desk.call("DELETE", f"contacts/{SANNE_ID}").status_code == 204
    result = desk.fetch()
    contacts = [r for r in result.records if r.record_type == "contact"]
    assert [(r.record_id, r.fields["deleted"]) for r in contacts] == [(str(SANNE_ID), "restorable")]
    assert "set_aside" not in contacts[0].fields
    assert result.stats.duplicates == 0


def test_a_spam_ticket_is_found_with_its_conversations(desk: Desk) -> None:
    before = desk.fetch()
    conversations = _children(before, SPAM_TICKET)
    assert conversations
    desk.app.tickets[SPAM_TICKET]["spam"] = True
    result = desk.fetch()
    assert result.missing == ()
    tickets = tickets_of(result)
    assert tickets.keys() == tickets_of(before).keys()
    assert tickets[str(SPAM_TICKET)]["set_aside"] == "spam"
    assert tickets[str(SPAM_TICKET)]["subject"] == tickets_of(before)[str(SPAM_TICKET)]["subject"]
    assert not [t for key, t in tickets.items() if key != str(SPAM_TICKET) and "set_aside" in t]
    assert _children(result, SPAM_TICKET) == conversations
    lists = [r.query.get("filter") for r in desk.handle.requests if r.path.endswith("/tickets")]
    assert lists[-3:] == [None, "deleted", "spam"]


def test_a_spam_ticket_in_the_trash_is_read_once_as_both(desk: Desk) -> None:
    """Freshdesk lists deleted spam only in the trash (filter=deleted), marked spam."""
    desk.app.tickets[SPAM_TICKET].update(spam=True, _deleted=True)
    result = desk.fetch()
    ticket = tickets_of(result)[str(SPAM_TICKET)]
    assert (ticket["deleted"], ticket["set_aside"]) == ("trash", "spam")
    ids = [r.record_id for r in result.records if r.record_type == "ticket"]
    assert ids.count(str(SPAM_TICKET)) == 1


def test_a_blocked_contact_with_a_near_identical_address_is_not_found(desk: Desk) -> None:
    _block(desk, OTHER_SANNE_ID)
    result = desk.fetch()
    assert str(OTHER_SANNE_ID) not in {r.record_id for r in result.records}
    assert all(r.matched.value == SANNE for r in result.records)
    assert result.dropped == 0  # Freshdesk's filter is exact: it never came


def test_a_blocked_contact_the_vendor_returns_for_another_address_is_dropped(
    desk: Desk,
) -> None:
    """Should the blocked list answer loosely, the exact comparison still keeps the other
    Sanne's contact out: showing it would be a data breach."""
    _block(desk, OTHER_SANNE_ID)

    def loose(request: Request, original: Callable[..., Response]) -> Response:
        if request.args.get("state") != "blocked":
            return original(request)
        rows = [
            desk.app._list_view(c)
            for c in desk.app.contacts.values()
            if c["_state"] == "blocked" or c["deleted"]
        ]
        return desk.app._ok(rows)

    desk.patch("contacts", loose)
    result = desk.fetch()
    assert str(OTHER_SANNE_ID) not in {r.record_id for r in result.records}
    assert not [r for r in result.records if OTHER_SANNE in str(r.fields)]
    assert result.dropped == 1 and result.missing == ()
    assert [r.record_id for r in result.records if r.record_type == "contact"] == [str(SANNE_ID)]


def test_a_blocked_contact_is_erased_for_good_with_its_tickets(desk: Desk) -> None:
    sanne = Identity.of(emails=[SANNE])
    _block(desk, SANNE_ID)
    # Freshdesk's plain delete refuses a blocked contact; hard_delete does not look
    assert desk.call("DELETE", f"contacts/{SANNE_ID}").status_code == 405
    outcome = desk.connector.erase(desk.ref("contact", SANNE_ID), identity=sanne)
    assert outcome is ErasureOutcome.DELETED
    deletes = [(r.path, r.query) for r in desk.handle.requests if r.method == "DELETE"]
    assert deletes[-1] == (f"/api/v2/contacts/{SANNE_ID}/hard_delete", {"force": "true"})
    assert SANNE_ID not in desk.app.contacts
    assert not [t for t in desk.app.tickets.values() if t["requester_id"] == SANNE_ID]
    result = desk.fetch()
    assert result.records == () and result.missing == ()


def test_a_spam_ticket_is_not_erased_but_left_to_staff_with_instructions(desk: Desk) -> None:
    """Freshdesk's API answers 405 to deleting spam and cannot take a ticket out of spam: the
    erasure says it cannot be done here, and why (the action becomes manual), never that it
    is done."""
    sanne = Identity.of(emails=[SANNE])
    desk.app.tickets[SPAM_TICKET]["spam"] = True
    ref = desk.ref("ticket", SPAM_TICKET)
    with pytest.raises(NotSupported) as info:
        desk.connector.erase(ref, identity=sanne)
    assert info.value.kind is ErrorKind.NOT_SUPPORTED
    assert info.value.reason == "marked_spam"  # the portal words it for staff
    statuses = [
        (r.method, r.status) for r in desk.handle.requests if f"tickets/{SPAM_TICKET}" in r.path
    ]
    assert ("DELETE", 405) in statuses
    ticket = desk.app.tickets[SPAM_TICKET]
    assert ticket["spam"] is True and not ticket.get("_deleted")  # untouched
    assert desk.connector.describe_target(ref).startswith(f"Freshdesk › Tickets › #{SPAM_TICKET}")
