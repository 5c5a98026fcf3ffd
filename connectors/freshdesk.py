"""Freshdesk (API v2): contacts, their tickets, the tickets' conversations and the contact's
satisfaction ratings.

Lookup: ``GET contacts?email={addr}`` (exact at Freshdesk on the main and the other addresses,
compared again here; a row found by another address is compared on the contact's own view, as
the list leaves ``other_emails`` out; an address with an internationalised domain is asked for
in ASCII and in Unicode, as either may be stored), ``GET contacts?mobile={number}`` and
``?phone={number}`` for each usual spelling of a verified number (the filters match the stored
string exactly).
Each of these is asked again with ``state=deleted`` and with ``state=blocked``: the list leaves
soft-deleted and blocked contacts out, but a deleted contact is only hidden, can be restored and
still holds the person's data, and a blocked one is kept whole (Freshdesk only stops taking in
its mail). The same exact comparison decides whether such a contact is the customer's; the
blocked list also holds deleted contacts, which are then read once, as deleted.
Tickets of a matched contact: ``GET tickets?requester_id={id}&updated_since=2000-01-01T00:00:00Z``
(without ``updated_since`` Freshdesk only returns the last 30 days), and the same with
``filter=deleted`` for the tickets in the trash and with ``filter=spam`` for those marked as
spam, which the plain list leaves out; each ticket once; conversations per ticket (trashed and
spam ones too) from ``GET tickets/{id}/conversations``. All lists follow ``Link: rel="next"``.
A deleted contact is shown with ``deleted: "restorable"``, a ticket in the trash with
``deleted: "trash"``, a blocked contact with ``set_aside: "blocked"`` and a ticket marked as
spam (also one in the trash) with ``set_aside: "spam"``. When the lists of deleted or blocked
contacts, or of trashed or spam tickets, cannot be read, the result is partial
(``deleted_contacts``, ``blocked_contacts``, ``trashed_tickets``, ``spam_tickets``).

Satisfaction ratings of a matched contact: ``GET surveys/satisfaction_ratings?user_id={id}
&created_since=2000-01-01T00:00:00Z`` (the answers to the survey after a ticket: the ratings
and the customer's comment), following ``Link: rel="next"``. Both filters are documented
(Freshdesk's "View all satisfaction ratings"), and Freshdesk's server code validates them and
narrows the list by each (``SatisfactionRatingFilterValidation``, ``user_id`` a user that
exists; read in the public copy named below, not tried live: *unverified*). ``created_since``
is sent as well: that code applies a default condition of its own when no filter is given,
which no date may narrow then.
A rating is kept only when its own ``user_id`` is the contact's: the list was asked for by
that id, and a filter that is ignored (renamed, dropped by a proxy) would hand over everyone's
feedback, so a row that names another user is left out (logged by count), and one that names
none is left out and makes the result partial (``satisfaction_ratings``). A rating
is a ``satisfaction_rating`` record below its ticket (below the contact when it names no
ticket), its scores named (``extremely_happy`` … ``extremely_unhappy``, Freshdesk's 103 …
-103; other numbers as they are). When the list cannot be read, the result is partial
(``satisfaction_ratings``). The API has no call that deletes a rating: Freshdesk deletes a
ticket's ratings with the ticket (``has_many :survey_results, dependent: :destroy`` in the
same copy), so they go when the ticket is deleted for good (the contact's ``hard_delete``,
or the trash being emptied) and need no erasure step of their own (``erased_with_parent``).

Whose a contact is: its main address's. Freshdesk files mail from any of a contact's addresses
under that contact, but its other addresses are added by agents or by merging two contacts,
with nothing to say they are the same person's (a partner's or a colleague's address added so
their mail lands on the same tickets). So a customer whose verified address is only among a
contact's other addresses sees only that: a ``listed_email`` record with those addresses of
theirs (and whether the contact is deleted or blocked), never the contact's name, main address,
phone numbers or tickets. The whole contact is theirs when its main address is verified too, or
when it has no main address and every other address is theirs. Staff change such an address by
hand (Contacts › the contact › Other emails).

How sure we are: Freshdesk's reference was not available. That ``state=deleted`` is one more
condition on top of ``email=``/``mobile=``/``phone=`` (and ``filter=deleted`` on top of
``requester_id`` and ``updated_since``), that the list rows of both carry ``"deleted": true``,
that a deleted contact's tickets are listed by ``requester_id`` and that a trashed ticket's
own view and conversations are served, was read in a public copy of Freshdesk's server code
(``api_contacts_controller.rb``, ``tickets_controller.rb``, ``ticket_concern.rb``), not tried
against a live help desk: *unverified*. Read in the same copy, also *unverified* live: the
contact filters are a list of conditions joined by AND, the state (``default``, ``deleted``,
``blocked`` ...) being one of them, so ``state=blocked`` narrows ``email=``/``mobile=``/
``phone=`` like ``state=deleted`` (``ContactFilterValidation``, ``User.contact_filter``); the
blocked state is "blocked, or deleted, and not whitelisted" (``api_contacts_controller_test``
``test_contact_filter_state_blocked*``). The ticket filters are joined by AND too, and
``filter=spam`` with ``requester_id`` and ``updated_since`` gives ``deleted = 0 AND
requester_id = … AND spam = 1 AND updated_at >= …`` (``tickets_controller.rb``
``tickets_filter``/``default_conditions``; the query traces in its channel API test): spam
in the trash is only in ``filter=deleted``. A blocked contact's tickets are listed by
``requester_id``: the requester is looked up among all users, blocked ones too
(``TicketFilterValidation#verify_requester``), and the list filters on the ticket only.

Config: ``base_url`` (``https://{sub}.freshdesk.com`` or its ``/api/v2`` root), ``api_key``
(secret; HTTP Basic with ``X`` as the password).

Writing back: ``PUT contacts/{id}`` (name, e-mail, phone, mobile, address). Erasure of a contact
is ``DELETE contacts/{id}/hard_delete?force=true``: Freshdesk's permanent GDPR deletion, of an
active contact, of one that was only soft-deleted and of a blocked one alike (``force`` does the
soft delete first; unlike ``PUT`` and ``DELETE contacts/{id}``, which answer 405 for a blocked
contact, ``hard_delete`` does not check the state), which also removes the contact's tickets
(trashed and spam ones too) with their conversations. So an erasure deletes a contact only
when each of its tickets goes too (``erased_with_parent``): not while one is kept by law or
outside the request.
A ticket is deleted with ``DELETE tickets/{id}``: Freshdesk moves it to the trash, which it
empties after 30 days; until then it can be restored, and it is still read (in the trash).
A ticket that is in the trash already answers 405 (only ``GET`` allowed): its own view, which
says ``deleted``, tells that apart from a refusal. Either way the erasure says
:attr:`~connectors.base.ErasureOutcome.TRASHED`. The API cannot empty the trash. A ticket
marked as spam also answers 405 to ``DELETE`` (and to ``PUT``: Freshdesk's ``destroy`` and
``update`` only act on tickets neither deleted nor spam), and the public API has no call that
takes a ticket out of spam (``unspam``, ``delete_forever`` and ``empty_spam`` are only in the
web app's private ``/api/_/`` routes): its view saying ``spam`` makes the erasure
:class:`~connectors.errors.NotSupported`, so staff delete it by hand with the instructions of
:meth:`FreshdeskConnector.describe_target`. Conversations cannot be erased on their own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any

import httpx

from .base import (
    BaseConnector,
    Candidate,
    Capability,
    ConfigField,
    CorrectableField,
    Draft,
    ErasureAction,
    ErasureOutcome,
    FieldKind,
    Match,
    Record,
    RecordRef,
    Run,
    read_candidate,
    write_payload,
)
from .errors import Answer, BadResponse, NotSupported, RequestRejected
from .http import HttpClient, HttpSession, RetryPolicy
from .identity import IdentifierKind, email_spellings, phone_spellings, try_normalize
from .pagination import items, link_header_pages
from .parsing import JSONDict, expect_dict, expect_id, expect_list, parse_datetime, pick
from .registry import register
from .urls import api_root, require_safe_scheme, site_root

log = logging.getLogger(__name__)

API_PATH = "/api/v2"
#: Far enough back to cover every ticket; without it Freshdesk lists only 30 days.
UPDATED_SINCE = "2000-01-01T00:00:00Z"
#: Freshdesk's survey scores (``ratings``: ``default_question`` and ``question_{id}``), named.
RATING_SCORES = {
    103: "extremely_happy",
    102: "very_happy",
    101: "happy",
    100: "neutral",
    -101: "unhappy",
    -102: "very_unhappy",
    -103: "extremely_unhappy",
}
TICKET_STATUS = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
TICKET_SOURCE = {1: "email", 2: "portal", 3: "phone", 7: "chat", 9: "feedback_widget"}
TICKET_PRIORITY = {1: "low", 2: "medium", 3: "high", 4: "urgent"}
#: Key added to a candidate's payload when :meth:`FreshdeskConnector.find` tried to read the
#: contact's own view: ``True`` (the payload is that view) or ``False`` (it could not be read).
FULL_VIEW = "__full_view__"
#: The ``deleted`` field of a soft-deleted contact: hidden, but kept and restorable.
CONTACT_DELETED = "restorable"
#: The ``deleted`` field of a ticket in the trash: restorable until Freshdesk empties it.
TICKET_TRASHED = "trash"
#: The ``set_aside`` field of a blocked contact: kept, but Freshdesk no longer takes its mail.
CONTACT_BLOCKED = "blocked"
#: The ``set_aside`` field of a ticket marked as spam: kept, but out of the agents' lists.
TICKET_SPAM = "spam"
#: Why a ticket's erasure is left to staff (:class:`~connectors.errors.NotSupported`): it is
#: marked as spam. Freshdesk's public API answers 405 to deleting (and changing) spam and has
#: no call that takes a ticket out of spam; only Freshdesk's own screens can.
MARKED_SPAM = "marked_spam"
#: Key added to a candidate's payload when :meth:`FreshdeskConnector.find` found the contact
#: in the list of blocked contacts (its row does not say so itself).
FOUND_BLOCKED = "__blocked__"
#: The record type of the customer's addresses among the other e-mail addresses of a contact
#: whose main address is not theirs: only those addresses (see :func:`_identifiers`).
LISTED = "listed_email"

DEFAULT_CATEGORIES = MappingProxyType(
    {
        "contact.*": "customer_account",
        "contact.name": "identity",
        "contact.email": "contact",
        "contact.other_emails": "contact",
        "contact.phone": "contact",
        "contact.mobile": "contact",
        "contact.twitter_id": "contact",
        "contact.facebook_id": "contact",
        "contact.address": "address",
        "ticket.*": "support",
        "conversation.*": "support",
        "satisfaction_rating.*": "support",
        f"{LISTED}.*": "contact",
    }
)


CORRECTABLE = MappingProxyType(
    {
        "contact": MappingProxyType(
            {
                "name": CorrectableField(FieldKind.TEXT, "name", "Full name"),
                "email": CorrectableField(FieldKind.EMAIL, "email", "Primary email"),
                "phone": CorrectableField(FieldKind.PHONE, "phone", "Work phone"),
                "mobile": CorrectableField(FieldKind.PHONE, "mobile", "Mobile phone"),
                "address": CorrectableField(FieldKind.TEXT, "address", "Address"),
            }
        )
    }
)
ERASURE: Mapping[str, ErasureAction] = MappingProxyType(
    {"contact": "delete", "ticket": "delete", "conversation": "none", "satisfaction_rating": "none"}
)


@register
class FreshdeskConnector(BaseConnector):
    """Reads Freshdesk contacts (by e-mail or phone), their tickets and conversations."""

    name = "freshdesk"
    title = "Freshdesk"
    identifier_kinds = frozenset({IdentifierKind.EMAIL, IdentifierKind.PHONE})
    config_schema = (
        ConfigField("base_url", required=True, description="Help desk URL or its /api/v2 root."),
        ConfigField("api_key", required=True, secret=True, description="An agent's API key."),
    )
    default_categories = DEFAULT_CATEGORIES
    capabilities = frozenset({Capability.READ, Capability.CORRECT, Capability.ERASE})
    correctable = CORRECTABLE
    erasure = ERASURE
    record_places = MappingProxyType(
        {
            "contact": "Contacts",
            "ticket": "Tickets",
            "conversation": "Ticket conversations",
            "satisfaction_rating": "Satisfaction survey results",
        }
    )
    # hard_delete of a contact deletes its tickets (with their conversations and ratings)
    erased_with_parent = frozenset({"ticket", "conversation", "satisfaction_rating"})
    field_places = MappingProxyType(
        {
            "contact.other_emails": "Other emails",
            f"{LISTED}.other_emails": "Other emails",
            "ticket.description_text": "Description",
            "satisfaction_rating.feedback": "Feedback",
        }
    )
    found_parts = MappingProxyType({"contact": "contacts", LISTED: "contacts"})

    def make_http(
        self,
        *,
        transport: httpx.BaseTransport | None,
        retry: RetryPolicy | None,
        timeout: httpx.Timeout,
    ) -> HttpClient:
        """HTTP Basic with the API key as user name and ``X`` as password."""
        base = require_safe_scheme(self.name, str(self.config["base_url"]))
        api = api_root(base, API_PATH)
        self.web_url = site_root(api, API_PATH)
        return HttpClient(
            self.name,
            api,
            auth=(str(self.config["api_key"]), "X"),
            timeout=timeout,
            retry=retry,
            transport=transport,
        )

    def find(self, run: Run) -> Iterator[Candidate]:
        """Contacts by ``email=``, ``mobile=`` and ``phone=`` filters, each contact once.

        Freshdesk's filters match the value as it is stored, so each verified number is looked
        up in its usual spellings (:func:`~connectors.identity.phone_spellings`), and each
        address in ASCII and, for an internationalised domain, in Unicode
        (:func:`~connectors.identity.email_spellings`); whether a row found so matches is
        decided by the exact comparison as always.

        The ``email=`` filter also finds a contact by one of its other addresses, but the list
        rows leave ``other_emails`` out: compared on the row alone, the customer's address
        there would be dropped and the source would look complete. So a row is compared on
        the contact's own view (``GET contacts/{id}``) when the list cannot decide: its main
        address is not a verified one although the e-mail filter returned it, or it has no
        main address at all (its other addresses may be someone else's, which keeps a shared
        phone number from matching it). A contact that is not the customer's but lists their
        address among its other ones gives a ``listed_email`` candidate with only that
        address (see the module's notes). The view read here is handed on to :meth:`expand`;
        when it cannot be read, the row is compared as it is and the result says the
        contact's details are missing. A row without a usable id is dropped when it is
        someone else's, and reported missing when it may hold the customer's address.

        Then each filter again with ``state=deleted``, for the soft-deleted contacts the lists
        leave out: compared in the same way, and marked deleted. When these lists fail, the
        result says deleted contacts are missing.
        """
        emails = run.identity.values(IdentifierKind.EMAIL)
        filters = [("email", spelling) for email in emails for spelling in email_spellings(email)]
        for phone in run.identity.values(IdentifierKind.PHONE):
            for spelling in phone_spellings(phone):
                filters += [("mobile", spelling), ("phone", spelling)]
        views: dict[str, JSONDict | None] = {}
        found: set[str] = set()
        for key, value in filters:
            rows = items(link_header_pages(run.http, "contacts", params={key: value}))
            yield from self._candidates(run, key, rows, views, found)
        # Soft-deleted contacts are left out of the lists above, but still held. A failure
        # here leaves the source partial, not failed: the active contacts are complete.
        deleted = run.related(
            "deleted_contacts", partial(self._contacts_in_state, run, filters, "deleted")
        )
        for key, row in deleted:
            yield from self._candidates(run, key, [{**row, "deleted": True}], views, found)
        # Blocked contacts too (and, by Freshdesk's own code, deleted ones once more: those are
        # found above already). A failure here leaves the source partial as well.
        blocked = run.related(
            "blocked_contacts", partial(self._contacts_in_state, run, filters, "blocked")
        )
        for key, row in blocked:
            mark = {} if row.get("deleted") is True else {FOUND_BLOCKED: True}
            yield from self._candidates(run, key, [{**row, **mark}], views, found)

    def _candidates(
        self,
        run: Run,
        key: str,
        rows: Iterable[JSONDict],
        views: dict[str, JSONDict | None],
        found: set[str],
    ) -> Iterator[Candidate]:
        """Candidates of the contact list ``rows`` found by the ``key`` filter, each contact
        once (``found``); a row the list cannot decide is compared on its own view."""
        emails = run.identity.values(IdentifierKind.EMAIL)
        for row in rows:
            main = try_normalize(IdentifierKind.EMAIL, row.get("email"))
            # the row alone cannot tell: its other addresses are only in its own view
            to_view = main is None or (key == "email" and main not in emails)
            contact_id = _contact_id(row)
            if contact_id is None:
                # A row without a usable id: someone else's is dropped; one that may hold the
                # customer's address among its other ones (which only its view, read by the
                # id, shows) is reported missing.
                if to_view:
                    yield Candidate("contact", "", (), {}, unreadable=True, undecided=True)
                else:
                    yield read_candidate("contact", row, _identifiers)
                continue
            if contact_id in found:
                continue  # also found by another filter or spelling
            found.add(contact_id)
            contact = row
            if to_view:
                if contact_id not in views:
                    full = run.related(
                        "contact_details", partial(self._contact_view, run, contact_id)
                    )
                    views[contact_id] = {**full[0], FULL_VIEW: True} if full else None
                contact = views[contact_id] or {**row, FULL_VIEW: False}
            if row.get("deleted") is True:
                contact = {**contact, "deleted": True}  # the view says so too; the list did
            if row.get(FOUND_BLOCKED) is True:
                contact = {**contact, FOUND_BLOCKED: True}  # only the list of blocked ones says so
            candidate = read_candidate(
                "contact", contact, _identifiers, record_id=lambda _, found_id=contact_id: found_id
            )
            yield candidate
            if not candidate.unreadable and run.identity.match(candidate.identifiers) is None:
                yield from self._listed(run, contact_id, contact)

    @staticmethod
    def _listed(run: Run, contact_id: str, contact: JSONDict) -> Iterator[Candidate]:
        """The customer's addresses among the other e-mail addresses of a contact that is not
        theirs (its main address is someone else's): only those, never the contact's name,
        main address, phone numbers or tickets, which may be another person's."""
        verified = set(run.identity.values(IdentifierKind.EMAIL))
        theirs = [
            address
            for address in _other_emails(contact)
            if try_normalize(IdentifierKind.EMAIL, address) in verified
        ]
        if theirs:
            yield Candidate(
                LISTED,
                f"{contact_id}/other_emails",
                tuple((IdentifierKind.EMAIL, address) for address in theirs),
                {
                    "other_emails": theirs,
                    "updated_at": contact.get("updated_at"),
                    "deleted": contact.get("deleted"),
                    FOUND_BLOCKED: contact.get(FOUND_BLOCKED),
                },
            )

    @staticmethod
    def _contacts_in_state(
        run: Run, filters: list[tuple[str, str]], state: str
    ) -> list[tuple[str, JSONDict]]:
        """The contacts each filter finds among the soft-deleted (``state=deleted``) or the
        blocked ones (``state=blocked``), with the filter."""
        return [
            (key, row)
            for key, value in filters
            for row in items(
                link_header_pages(run.http, "contacts", params={key: value, "state": state})
            )
        ]

    @staticmethod
    def _contact_view(run: Run, contact_id: str) -> list[JSONDict]:
        body, _ = run.http.get_json("contacts/{id}", path_params={"id": contact_id})
        return [expect_dict(body, "freshdesk contact")]

    def expand(self, run: Run, match: Match) -> Iterator[Draft]:
        """The contact (read in full), their tickets (also those in the trash) and each
        ticket's conversations.

        The contacts list leaves out a contact's other e-mail addresses and tags; only the
        contact's own view (``GET contacts/{id}``) has them. It is read for the customer's
        contact only, once it matched (unless :meth:`find` read it already); when it fails,
        the list's row is shown and the result says the contact's details are missing.
        The tickets in the trash are a list of their own (``filter=deleted``); when it fails,
        the result says trashed tickets are missing.
        """
        if match.candidate.record_type == LISTED:
            yield from run.each("contacts", [match.candidate], lambda c: [self._listed_draft(c)])
            return
        contact_id = match.candidate.record_id
        raw = match.candidate.raw
        if FULL_VIEW in raw:
            full: list[JSONDict] = [dict(raw)] if raw[FULL_VIEW] else []
        else:
            full = run.related("contact_details", partial(self._contact_view, run, contact_id))
        deleted = raw.get("deleted") is True
        blocked = raw.get(FOUND_BLOCKED) is True
        # the contact that cannot be read is missing; its tickets are still read by the id
        yield from run.each(
            "contacts",
            [dict(full[0] if full else raw)],
            lambda contact: [self._contact(contact, deleted=deleted, blocked=blocked)],
        )
        tickets, trashed, spam = (
            run.only_theirs(
                what,
                run.related(what, partial(self._tickets, run, contact_id, listed=listed)),
                lambda ticket: ticket.get("requester_id"),
                contact_id,
            )
            for what, listed in (
                ("tickets", None),
                ("trashed_tickets", "deleted"),
                ("spam_tickets", "spam"),
            )
        )
        listed = [
            *((t, None) for t in tickets),
            *((t, "deleted") for t in trashed),
            *((t, "spam") for t in spam),
        ]
        seen: set[str] = set()
        theirs: list[tuple[JSONDict, str | None]] = []
        for ticket, where in listed:
            ticket_id = ticket.get("id")
            if isinstance(ticket_id, str | int) and not isinstance(ticket_id, bool):
                if str(ticket_id) in seen:
                    continue  # moved to the trash or to spam between the lists
                seen.add(str(ticket_id))
            theirs.append((ticket, where))
        closed: dict[str, Any] = {}  # ticket id -> when it was closed, of those read
        yield from run.each(
            "tickets", theirs, partial(self._ticket_and_conversations, run, contact_id, closed)
        )
        ratings = run.related("satisfaction_ratings", partial(self._ratings, run, contact_id))
        yield from run.each(
            "satisfaction_ratings",
            run.only_theirs("satisfaction_ratings", ratings, _user_of, contact_id),
            partial(self._rating, contact_id=contact_id, closed=closed),
        )

    def _ticket_and_conversations(
        self,
        run: Run,
        contact_id: str,
        closed_of: dict[str, Any],
        listed: tuple[JSONDict, str | None],
    ) -> Iterator[Draft]:
        """A ticket (as the list it came from says: in the trash, marked as spam), then its
        conversations (each one that cannot be read is reported missing). When the ticket was
        closed goes into ``closed_of``."""
        ticket, where = listed
        draft = self._ticket(ticket, contact_id, trashed=where == "deleted", spam=where == "spam")
        yield draft
        ticket_id = draft.record_id
        conversations = run.related("conversations", partial(self._conversations, run, ticket_id))
        # A message is kept as long as its ticket: counted from the ticket's closing.
        closed = closed_of[ticket_id] = draft.dates.get("closed")
        yield from run.each(
            "conversations",
            conversations,
            lambda conversation: [self._conversation(conversation, ticket_id, closed=closed)],
        )

    def probe(self, run: Run) -> None:
        """Filter contacts on an address nobody has: checks the API key, returns no data."""
        body, _ = run.http.get_json(
            "contacts", params={"email": "healthcheck@invalid.example", "per_page": 1}
        )
        expect_list(body, "freshdesk contacts")

    # -- writing back -------------------------------------------------------------------------

    def describe_target(self, ref: RecordRef, field_name: str | None = None) -> str:
        """A ``listed_email`` record is only addresses among a contact's other ones: staff
        are pointed at those (to change them by hand), never at the whole contact."""
        if ref.record_type == LISTED and field_name is None:
            field_name = "other_emails"
        return super().describe_target(ref, field_name)

    def locate(self, ref: RecordRef) -> list[str]:
        """A ``listed_email`` record is on its contact's page."""
        if ref.record_type == LISTED:
            return ["Contacts", f"#{ref.record_id.partition('/')[0]}"]
        return super().locate(ref)

    def api_path(self, ref: RecordRef) -> str | None:
        """``contacts/{id}``, ``tickets/{id}`` or ``conversations/{id}``; none for a
        satisfaction rating, which the API only lists (``surveys/satisfaction_ratings``)."""
        if ref.record_type == "satisfaction_rating":
            return None
        if ref.record_type == LISTED:
            return f"contacts/{ref.record_id.partition('/')[0]}"
        kind = {"contact": "contacts", "ticket": "tickets"}.get(ref.record_type, "conversations")
        return f"{kind}/{ref.record_id}"

    def read_identifiers(
        self, session: HttpSession, ref: RecordRef
    ) -> list[tuple[IdentifierKind, object]]:
        """A contact's e-mails and phone numbers (a ticket's: its requester's)."""
        contact_id = ref.record_id
        if ref.record_type == "ticket":
            body, _ = session.get_json("tickets/{id}", path_params={"id": contact_id})
            contact_id = str(expect_dict(body, "freshdesk ticket").get("requester_id"))
        body, _ = session.get_json("contacts/{id}", path_params={"id": contact_id})
        return list(_identifiers(expect_dict(body, "freshdesk contact")))

    def write_field(
        self, session: HttpSession, ref: RecordRef, field_name: str, value: Any
    ) -> Mapping[str, Any]:
        """``PUT contacts/{id}`` with only the changed field; the contact it answers with."""
        payload = write_payload(self.correctable[ref.record_type][field_name], value)
        response = session.request(
            "PUT", "contacts/{id}", path_params={"id": ref.record_id}, json=payload, idempotent=True
        )
        body = expect_dict(session.decode(response, "contacts/{id}"), "freshdesk contact")
        return self._contact(body).fields

    def gone_answer(self, answer: Answer) -> bool:
        """Freshdesk's 404 for a record URL: JSON by its content type, with an empty or
        minimal body (the notes: do not rely on it). A page in front of it (HTML, a proxy's
        text) is not."""
        return (
            answer.status == 404
            and answer.json
            and (answer.body is None or isinstance(answer.body, dict))
        )

    def erase_record(
        self, session: HttpSession, ref: RecordRef, action: ErasureAction
    ) -> ErasureOutcome | None:
        """A contact: ``hard_delete?force=true``. A ticket: ``DELETE tickets/{id}`` (to the
        trash; one that is there already is left there).

        :returns: :attr:`~connectors.base.ErasureOutcome.TRASHED` for a ticket.
        """
        path = {"id": ref.record_id}
        if ref.record_type != "ticket":
            # force: soft delete and permanent delete in one, whether or not it was soft-deleted
            session.request(
                "DELETE",
                "contacts/{id}/hard_delete",
                path_params=path,
                params={"force": "true"},
                idempotent=True,
            )
            return None
        try:
            session.request("DELETE", "tickets/{id}", path_params=path, idempotent=True)
        except RequestRejected as error:
            # Freshdesk answers 405 (only GET) for a ticket in the trash, and for spam
            if error.status != 405:
                raise
            view = self._ticket_view(session, ref.record_id)
            if view.get("deleted") is True:
                log.info("freshdesk: the ticket to erase was in the trash already")
            elif view.get("spam") is True:
                # No call of the public API deletes spam or takes it out of spam: by hand.
                raise NotSupported(
                    "freshdesk: a ticket marked as spam cannot be deleted through the API",
                    vendor=self.name,
                    status=error.status,
                    reason=MARKED_SPAM,
                ) from None
            else:
                raise
        return ErasureOutcome.TRASHED

    def awaits_purge(self, record: Record) -> bool:
        """A ticket in the trash: Freshdesk deletes it for good after 30 days."""
        return record.record_type == "ticket" and record.fields.get("deleted") == TICKET_TRASHED

    @staticmethod
    def _ticket_view(session: HttpSession, ticket_id: str) -> JSONDict:
        """The ticket's own view: it says whether the ticket is deleted (in the trash) or
        marked as spam.

        :raises NotFound: the ticket is gone.
        """
        body, _ = session.get_json("tickets/{id}", path_params={"id": ticket_id})
        return expect_dict(body, "freshdesk ticket")

    def _tickets(
        self, run: Run, contact_id: str, *, listed: str | None = None
    ) -> Iterator[JSONDict]:
        """The contact's tickets: the plain list, or with ``filter=`` ``deleted`` (the trash)
        or ``spam``."""
        params = {
            "requester_id": contact_id,
            "updated_since": UPDATED_SINCE,
            "include": "description,stats",
        }
        if listed is not None:
            params["filter"] = listed
        return items(link_header_pages(run.http, "tickets", params=params))

    @staticmethod
    def _ratings(run: Run, contact_id: str) -> Iterator[JSONDict]:
        """The satisfaction ratings listed for ``user_id`` ``contact_id`` (every one since
        :data:`UPDATED_SINCE`)."""
        params = {"user_id": contact_id, "created_since": UPDATED_SINCE}
        return items(link_header_pages(run.http, "surveys/satisfaction_ratings", params=params))

    def _rating(self, raw: JSONDict, *, contact_id: str, closed: dict[str, Any]) -> Iterator[Draft]:
        """A rating: the score for the survey's main question, those for further questions
        and the comment, below its ticket (or the contact, when it names no ticket). It is
        kept as long as its ticket: counted from the ticket's closing, or from its own date
        when that ticket was not read (the survey follows the ticket's resolution)."""
        rating_id = expect_id(raw, "freshdesk satisfaction rating")
        scores = expect_dict(raw.get("ratings") or {}, "freshdesk satisfaction rating scores")
        ticket = raw.get("ticket_id")
        ticket_id = (
            str(ticket) if isinstance(ticket, int) and not isinstance(ticket, bool) else None
        )
        parent = ("ticket", ticket_id) if ticket_id else ("contact", contact_id)
        created = parse_datetime(raw.get("created_at"))
        yield Draft(
            "satisfaction_rating",
            rating_id,
            {
                "rating": _score(scores.get("default_question")),
                "further_ratings": [
                    _score(value) for key, value in scores.items() if key != "default_question"
                ],
                **pick(raw, "feedback"),
            },
            dates={
                "created": created,
                "updated": parse_datetime(raw.get("updated_at")),
                "closed": closed.get(ticket_id or "") or created,
            },
            link=f"{self.web_url}/a/tickets/{ticket_id}"
            if ticket_id
            else f"{self.web_url}/a/contacts/{contact_id}",
            parent=parent,
        )

    def _conversations(self, run: Run, ticket_id: str) -> Iterator[JSONDict]:
        path = f"tickets/{ticket_id}/conversations"
        return items(link_header_pages(run.http, path))

    def _contact(self, raw: JSONDict, *, deleted: bool = False, blocked: bool = False) -> Draft:
        contact_id = expect_id(raw, "freshdesk contact")
        return Draft(
            "contact",
            contact_id,
            {
                **pick(raw, "name", "email", "other_emails", "phone", "mobile", "address"),
                **pick(raw, "twitter_id", "facebook_id", "job_title", "language", "time_zone"),
                **pick(raw, "company_id", "unique_external_id", "custom_fields", "description"),
                **pick(raw, "active", "tags"),
                "deleted": CONTACT_DELETED if deleted or raw.get("deleted") is True else None,
                "set_aside": CONTACT_BLOCKED if blocked else None,
            },
            dates={
                "created": parse_datetime(raw.get("created_at")),
                "updated": parse_datetime(raw.get("updated_at")),
            },
            link=f"{self.web_url}/a/contacts/{contact_id}",
        )

    def _listed_draft(self, candidate: Candidate) -> Draft:
        """Only the customer's addresses, as they are written among the contact's other ones
        (and whether the contact is deleted or blocked, so still held)."""
        raw = candidate.raw
        contact_id = candidate.record_id.partition("/")[0]
        return Draft(
            LISTED,
            candidate.record_id,
            {
                "other_emails": list(raw["other_emails"]),
                "deleted": CONTACT_DELETED if raw.get("deleted") is True else None,
                "set_aside": CONTACT_BLOCKED if raw.get(FOUND_BLOCKED) is True else None,
            },
            dates={"updated": parse_datetime(raw.get("updated_at"))},
            link=f"{self.web_url}/a/contacts/{contact_id}",
        )

    def _ticket(
        self, raw: JSONDict, contact_id: str, *, trashed: bool = False, spam: bool = False
    ) -> Draft:
        ticket_id = expect_id(raw, "freshdesk ticket")
        stats = expect_dict(raw.get("stats") or {}, "freshdesk ticket stats")
        status, source, priority = raw.get("status"), raw.get("source"), raw.get("priority")
        return Draft(
            "ticket",
            ticket_id,
            {
                **pick(raw, "subject", "description_text", "type", "tags"),
                "priority": _named(TICKET_PRIORITY, priority),
                "status": _named(TICKET_STATUS, status),
                "source": _named(TICKET_SOURCE, source),
                **pick(raw, "to_emails", "cc_emails", "custom_fields"),
                "deleted": TICKET_TRASHED if trashed or raw.get("deleted") is True else None,
                # spam in the trash too (filter=deleted lists deleted spam)
                "set_aside": TICKET_SPAM if spam or raw.get("spam") is True else None,
            },
            dates={
                "created": parse_datetime(raw.get("created_at")),
                "updated": parse_datetime(raw.get("updated_at")),
                "closed": parse_datetime(stats.get("closed_at") or stats.get("resolved_at")),
            },
            link=f"{self.web_url}/a/tickets/{ticket_id}",
            parent=("contact", contact_id),
        )

    def _conversation(self, raw: JSONDict, ticket_id: str, closed: Any = None) -> Draft:
        conversation_id = expect_id(raw, "freshdesk conversation")
        attachments = expect_list(raw.get("attachments") or [], "freshdesk attachments")
        return Draft(
            "conversation",
            conversation_id,
            {
                # not bcc_emails: recipients hidden from the customer are other people's
                **pick(raw, "body_text", "from_email", "to_emails", "cc_emails"),
                **pick(raw, "incoming", "private"),
                "attachments": [pick(a, "name", "size") for a in attachments],
            },
            dates={
                "created": parse_datetime(raw.get("created_at")),
                "updated": parse_datetime(raw.get("updated_at")),
                "closed": closed,
            },
            link=f"{self.web_url}/a/tickets/{ticket_id}",
            parent=("ticket", ticket_id),
        )


def _identifiers(contact: Mapping[str, Any]) -> tuple[tuple[IdentifierKind, object], ...]:
    """A contact's main e-mail address, its other addresses and its phone numbers.

    The other addresses are addressees (:attr:`~connectors.identity.IdentifierKind.ADDRESSEE`):
    Freshdesk takes them as the contact's own, but they are added by agents and when contacts
    are merged, and nothing says the person they belong to is the one the contact is about
    (a partner, a colleague whose mail should reach the same ticket). So they make the contact
    someone's only when it has no main address and they are all that person's; otherwise the
    contact is the main address's, and a match on another address alone is only that
    address (a ``listed_email`` record). Like any address on a record, they keep a shared
    phone number from matching it.

    :raises BadResponse: the other addresses are not a list of strings.
    """
    return (
        (IdentifierKind.EMAIL, contact.get("email")),
        *((IdentifierKind.ADDRESSEE, e) for e in _other_emails(contact)),
        (IdentifierKind.PHONE, contact.get("mobile")),
        (IdentifierKind.PHONE, contact.get("phone")),
    )


def _other_emails(contact: Mapping[str, Any]) -> list[str]:
    """A contact's other e-mail addresses (absent in list rows).

    :raises BadResponse: they are not a list of strings.
    """
    other = contact.get("other_emails")
    if other is None:
        return []
    if not isinstance(other, list) or not all(isinstance(e, str) for e in other):
        raise BadResponse("freshdesk contact: other_emails is no list of addresses")
    return other


def _contact_id(row: Mapping[str, Any]) -> str | None:
    """A contact row's id, or ``None`` when it has none that can be used."""
    try:
        return expect_id(dict(row), "freshdesk contact")
    except BadResponse:
        return None


def _user_of(rating: JSONDict) -> object:
    """The user a satisfaction rating names (``user_id``), ``None`` when it names none."""
    return rating.get("user_id")


def _score(value: object) -> object:
    """A survey score by its name (:data:`RATING_SCORES`); other values as they are."""
    if isinstance(value, int) and not isinstance(value, bool):
        return RATING_SCORES.get(value, value)
    return value


def _named(names: dict[int, str], value: object) -> object:
    """Freshdesk's number for a status, source or priority as its name (unknown ones as they
    are)."""
    return names.get(value, value) if isinstance(value, int) else value
