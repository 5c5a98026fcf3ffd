"""Freshdesk (API v2): contacts, their tickets and the tickets' conversations.

Lookup: ``GET contacts?email={addr}`` (exact at Freshdesk on the main and the other addresses,
compared again here; a row found by another address is compared on the contact's own view, as
the list leaves ``other_emails`` out), ``GET contacts?mobile={number}`` and ``?phone={number}``
for each usual spelling of a verified number (the filters match the stored string exactly).
Each of these is asked again with ``state=deleted``: the list leaves soft-deleted contacts out
(and blocked ones), but a deleted contact is only hidden, can be restored and still holds the
person's data. The same exact comparison decides whether such a contact is the customer's.
Tickets of a matched contact: ``GET tickets?requester_id={id}&updated_since=2000-01-01T00:00:00Z``
(without ``updated_since`` Freshdesk only returns the last 30 days), and the same with
``filter=deleted`` for the tickets in the trash, which the plain list leaves out; conversations
per ticket (trashed ones too) from ``GET tickets/{id}/conversations``. All lists follow
``Link: rel="next"``. A deleted contact is shown with ``deleted: "restorable"``, a ticket in
the trash with ``deleted: "trash"``. When the lists of deleted contacts or of trashed tickets
cannot be read, the result is partial (``deleted_contacts``, ``trashed_tickets``).

How sure we are: Freshdesk's reference was not available. That ``state=deleted`` is one more
condition on top of ``email=``/``mobile=``/``phone=`` (and ``filter=deleted`` on top of
``requester_id`` and ``updated_since``), that the list rows of both carry ``"deleted": true``,
that a deleted contact's tickets are listed by ``requester_id`` and that a trashed ticket's
own view and conversations are served, was read in a public copy of Freshdesk's server code
(``api_contacts_controller.rb``, ``tickets_controller.rb``, ``ticket_concern.rb``), not tried
against a live help desk: *unverified*. The trash also holds deleted spam tickets; spam that is
not deleted (``filter=spam``) is not read.

Config: ``base_url`` (``https://{sub}.freshdesk.com`` or its ``/api/v2`` root), ``api_key``
(secret; HTTP Basic with ``X`` as the password).

Writing back: ``PUT contacts/{id}`` (name, e-mail, phone, mobile, address). Erasure of a contact
is ``DELETE contacts/{id}/hard_delete?force=true``: Freshdesk's permanent GDPR deletion, of an
active contact and of one that was only soft-deleted alike (``force`` does the soft delete
first), which also removes the contact's tickets (trashed ones too) with their conversations.
A ticket is deleted with ``DELETE tickets/{id}``: Freshdesk moves it to the trash, which it
empties after 30 days; until then it can be restored, and it is still read (in the trash).
A ticket that is in the trash already answers 405 (only ``GET`` allowed): its own view, which
says ``deleted``, tells that apart from a refusal. Either way the erasure says
:attr:`~connectors.base.ErasureOutcome.TRASHED`. The API cannot empty the trash. Conversations
cannot be erased on their own.
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
    write_payload,
)
from .errors import Answer, RequestRejected
from .http import HttpClient, HttpSession, RetryPolicy
from .identity import IdentifierKind, phone_spellings, try_normalize
from .pagination import items, link_header_pages
from .parsing import JSONDict, expect_dict, expect_id, expect_list, parse_datetime, pick
from .registry import register
from .urls import api_root, require_safe_scheme, site_root

log = logging.getLogger(__name__)

API_PATH = "/api/v2"
#: Far enough back to cover every ticket; without it Freshdesk lists only 30 days.
UPDATED_SINCE = "2000-01-01T00:00:00Z"
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
    {"contact": "delete", "ticket": "delete", "conversation": "none"}
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
        {"contact": "Contacts", "ticket": "Tickets", "conversation": "Ticket conversations"}
    )
    erased_with_parent = frozenset({"conversation"})
    field_places = MappingProxyType(
        {"contact.other_emails": "Other emails", "ticket.description_text": "Description"}
    )

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

        Freshdesk's phone filters match the number as it is stored, so each verified number
        is looked up in its usual spellings (:func:`~connectors.identity.phone_spellings`);
        whether a row found so matches is decided by the exact comparison as always.

        The ``email=`` filter also finds a contact by one of its other addresses, but the list
        rows leave ``other_emails`` out: compared on the row alone, the customer's own contact
        found by her second address would be dropped and the source would look complete.
        So a row is compared on the contact's own view (``GET contacts/{id}``) when the list
        cannot decide: its main address is not a verified one although the e-mail filter
        returned it, or it has no main address at all (its other addresses may be someone
        else's, which keeps a shared phone number from matching it). The view read here is
        handed on to :meth:`expand`; when it cannot be read, the row is compared as it is and
        the result says the contact's details are missing.

        Then each filter again with ``state=deleted``, for the soft-deleted contacts the lists
        leave out: compared in the same way, and marked deleted. When these lists fail, the
        result says deleted contacts are missing.
        """
        emails = run.identity.values(IdentifierKind.EMAIL)
        filters = [("email", email) for email in emails]
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
        deleted = run.related("deleted_contacts", partial(self._deleted_contacts, run, filters))
        for key, row in deleted:
            yield from self._candidates(run, key, [{**row, "deleted": True}], views, found)

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
            contact_id = expect_id(row, "freshdesk contact")
            if contact_id in found:
                continue  # also found by another filter or spelling
            found.add(contact_id)
            contact = row
            main = try_normalize(IdentifierKind.EMAIL, row.get("email"))
            if main is None or (key == "email" and main not in emails):
                if contact_id not in views:
                    full = run.related(
                        "contact_details", partial(self._contact_view, run, contact_id)
                    )
                    views[contact_id] = {**full[0], FULL_VIEW: True} if full else None
                contact = views[contact_id] or {**row, FULL_VIEW: False}
            if row.get("deleted") is True:
                contact = {**contact, "deleted": True}  # the view says so too; the list did
            yield Candidate("contact", contact_id, _identifiers(contact), contact)

    @staticmethod
    def _deleted_contacts(run: Run, filters: list[tuple[str, str]]) -> list[tuple[str, JSONDict]]:
        """The soft-deleted contacts each filter finds (``state=deleted``), with the filter."""
        return [
            (key, row)
            for key, value in filters
            for row in items(
                link_header_pages(run.http, "contacts", params={key: value, "state": "deleted"})
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
        contact_id = match.candidate.record_id
        raw = match.candidate.raw
        if FULL_VIEW in raw:
            full: list[JSONDict] = [dict(raw)] if raw[FULL_VIEW] else []
        else:
            full = run.related("contact_details", partial(self._contact_view, run, contact_id))
        deleted = raw.get("deleted") is True
        yield self._contact(dict(full[0] if full else raw), deleted=deleted)
        tickets = run.related("tickets", partial(self._tickets, run, contact_id))
        trashed = run.related(
            "trashed_tickets", partial(self._tickets, run, contact_id, trashed=True)
        )
        seen: set[str] = set()
        for ticket, in_trash in [*((t, False) for t in tickets), *((t, True) for t in trashed)]:
            ticket_id = expect_id(ticket, "freshdesk ticket")
            if str(ticket.get("requester_id")) != contact_id:
                continue  # defensive: a list filtered by requester must only hold theirs
            if ticket_id in seen:
                continue  # moved to the trash between the two lists
            seen.add(ticket_id)
            draft = self._ticket(ticket, contact_id, trashed=in_trash)
            yield draft
            conversations = run.related(
                "conversations", partial(self._conversations, run, ticket_id)
            )
            for conversation in conversations:
                # A message is kept as long as its ticket: counted from the ticket's closing.
                yield self._conversation(conversation, ticket_id, closed=draft.dates.get("closed"))

    def probe(self, run: Run) -> None:
        """Filter contacts on an address nobody has: checks the API key, returns no data."""
        body, _ = run.http.get_json(
            "contacts", params={"email": "healthcheck@invalid.example", "per_page": 1}
        )
        expect_list(body, "freshdesk contacts")

    # -- writing back -------------------------------------------------------------------------

    def api_path(self, ref: RecordRef) -> str:
        """``contacts/{id}``, ``tickets/{id}`` or ``conversations/{id}``."""
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
    ) -> None:
        """``PUT contacts/{id}`` with only the changed field."""
        payload = write_payload(self.correctable[ref.record_type][field_name], value)
        response = session.request(
            "PUT", "contacts/{id}", path_params={"id": ref.record_id}, json=payload, idempotent=True
        )
        expect_dict(session.decode(response, "contacts/{id}"), "freshdesk contact")

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
            if error.status != 405 or not self._in_trash(session, ref.record_id):
                raise
            log.info("freshdesk: the ticket to erase was in the trash already")
        return ErasureOutcome.TRASHED

    def awaits_purge(self, record: Record) -> bool:
        """A ticket in the trash: Freshdesk deletes it for good after 30 days."""
        return record.record_type == "ticket" and record.fields.get("deleted") == TICKET_TRASHED

    @staticmethod
    def _in_trash(session: HttpSession, ticket_id: str) -> bool:
        """Whether the ticket's own view says it is deleted (in the trash).

        :raises NotFound: the ticket is gone.
        """
        body, _ = session.get_json("tickets/{id}", path_params={"id": ticket_id})
        return expect_dict(body, "freshdesk ticket").get("deleted") is True

    def _tickets(self, run: Run, contact_id: str, *, trashed: bool = False) -> Iterator[JSONDict]:
        params = {
            "requester_id": contact_id,
            "updated_since": UPDATED_SINCE,
            "include": "description,stats",
        }
        if trashed:
            params["filter"] = "deleted"
        return items(link_header_pages(run.http, "tickets", params=params))

    def _conversations(self, run: Run, ticket_id: str) -> Iterator[JSONDict]:
        path = f"tickets/{ticket_id}/conversations"
        return items(link_header_pages(run.http, path))

    def _contact(self, raw: JSONDict, *, deleted: bool = False) -> Draft:
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
            },
            dates={
                "created": parse_datetime(raw.get("created_at")),
                "updated": parse_datetime(raw.get("updated_at")),
            },
            link=f"{self.web_url}/a/contacts/{contact_id}",
        )

    def _ticket(self, raw: JSONDict, contact_id: str, *, trashed: bool = False) -> Draft:
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


def _identifiers(contact: JSONDict) -> tuple[tuple[IdentifierKind, object], ...]:
    """A contact's e-mail addresses (main and other) and phone numbers."""
    other = contact.get("other_emails")
    return (
        (IdentifierKind.EMAIL, contact.get("email")),
        *((IdentifierKind.EMAIL, e) for e in (other if isinstance(other, list) else [])),
        (IdentifierKind.PHONE, contact.get("mobile")),
        (IdentifierKind.PHONE, contact.get("phone")),
    )


def _named(names: dict[int, str], value: object) -> object:
    """Freshdesk's number for a status, source or priority as its name (unknown ones as they
    are)."""
    return names.get(value, value) if isinstance(value, int) else value
