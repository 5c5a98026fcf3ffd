"""MoneyBird (API v2): contacts and their sales invoices, estimates and recurring invoices.

Lookup: ``GET contacts.json?query={e-mail or phone}&include_archived=true`` is a fuzzy
full-text search (a phone number is searched in each of its usual spellings, an e-mail address
with an internationalised domain in ASCII and in Unicode: both are stored as typed; archived
contacts, which the list leaves out by default, are asked for too), so each contact's e-mail
fields (``email``, ``send_invoices_to_email``, ``send_estimates_to_email``), phone and customer
number are compared exactly here. A customer number is looked up exactly
with ``GET contacts/customer_id/{number}.json``. For each matched contact, its invoices come
from ``GET sales_invoices.json?filter=contact_id:{id},state:all,period:…``, its estimates
(quotes) from ``GET estimates.json`` with the same filter, and its recurring sales invoices
from ``GET recurring_sales_invoices.json?filter=contact_id:{id}`` (which other filter keys
MoneyBird takes there is unverified). Each embeds the contact, which is not shown again; a
row that names another contact is left out (a filter MoneyBird ignored), and a list that
cannot be read makes the source partial.

A company contact's *contact people* (``contact_people``) are people of their own: each is
matched on its own e-mail and phone and becomes a ``contact_person`` record (id
``{contact id}/{person id}``) that names the company. A matched contact lists none of its
contact people: a colleague's name, e-mail and phone are not the customer's data. A person
matched only as a contact person sees their own entry, not the company's account or invoices.
A person's phone counts only when nobody else on the contact has the same number (the
company's switchboard is nobody's own). That ``query=`` searches contact people too, and that
``DELETE`` answers at ``contacts/{id}/contact_people/{id}.json`` (only ``PATCH`` is confirmed
there), are unverified; the simulator behaves so.

The addresses invoices and quotes are sent to (``send_invoices_to_email``,
``send_estimates_to_email``, several may be separated by commas) identify the contact only
when it has no e-mail address of its own and they are all one address. Otherwise each address
there but the contact's own may be someone else's (a partner who pays, a bookkeeper): per
delivery field, the customer's addresses there become a ``recipient`` record with only those
addresses (and the company's name), never the contact's data. Staff change those by hand.

Config: ``administration_id``, ``token`` (secret), ``base_url`` (default
``https://moneybird.com/api/v2``; the administration id is appended), ``web_url`` (default
``https://moneybird.com``, for links back to contacts).

Writing back: ``PATCH contacts/{id}.json`` with ``{"contact": {…}}`` (names, the addresses
invoices and quotes are sent to, phone, address); ``PATCH contacts/{id}/contact_people/{id}.json``
with ``{"contact_person": {…}}`` (names, e-mail, phone, department). A contact's own ``email``
and ``attention`` cannot be written: MoneyBird stopped taking them in 2016 (its changelog of
2016-03-10; the reference's list of writable fields leaves them out) and drops them from a
``PATCH`` without a word, so staff change them by hand. They are not mapped onto
``send_invoices_to_email`` / ``send_estimates_to_email``: those are other fields, shown and
corrected as such (who gets the invoices may be someone else). Each write's answer (the whole
contact or contact person) must show the new value, else it did not happen. Erasure:
``DELETE contacts/{id}.json``; MoneyBird refuses (422) while invoices or other documents refer
to the contact, which surfaces as ``REJECTED``; so an erasure deletes a contact only when its
documents go too, and keeps it with an invoice kept by law (``refuse_parent_deletion``). A
contact person is deleted with ``DELETE contacts/{id}/contact_people/{id}.json``, and goes
with its contact. Invoices are never erased: they are
accounting records the firm must keep (7-year fiscal retention duty). An estimate (a quote)
is no accounting record: it is deleted with ``DELETE estimates/{id}.json`` unless the firm's
policy keeps its category by law (the portal decides that per record). A recurring sales
invoice is never erased here: it is the running agreement the customer is billed by, and
deleting it would silently stop (or lose track of) a contract; by default it counts as
invoicing data (kept by law as long as it bills and for as long as its last invoice), and
ending the agreement is staff's decision, taken in MoneyBird by hand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import date
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
    FieldKind,
    Match,
    RecordRef,
    Run,
    read_candidate,
    write_payload,
)
from .errors import Answer, BadResponse, NotConfigured, NotFound, RequestRejected
from .http import HttpClient, HttpSession, RetryPolicy
from .identity import IdentifierKind, email_spellings, phone_spellings, try_normalize
from .pagination import items, link_header_pages
from .parsing import (
    JSONDict,
    expect_dict,
    expect_id,
    expect_list,
    parse_date,
    parse_datetime,
    pick,
    try_date,
)
from .registry import register
from .urls import require_safe_scheme

DEFAULT_CATEGORIES = MappingProxyType(
    {
        "contact.*": "customer_account",
        "contact.firstname": "identity",
        "contact.lastname": "identity",
        "contact.attention": "identity",
        "contact.address": "address",
        "contact.email": "contact",
        "contact.phone": "contact",
        "contact.send_invoices_to_email": "contact",
        "contact.send_estimates_to_email": "contact",
        "contact.bank_account": "payment",
        "contact.sepa_active": "payment",
        "contact.sepa_iban": "payment",
        "contact.sepa_iban_account_name": "payment",
        "contact.sepa_bic": "payment",
        "contact.sepa_mandate_id": "payment",
        "contact.sepa_mandate_date": "payment",
        "contact_person.*": "customer_account",
        "contact_person.firstname": "identity",
        "contact_person.lastname": "identity",
        "contact_person.email": "contact",
        "contact_person.phone": "contact",
        "recipient.*": "contact",
        "recipient.company_name": "customer_account",
        "invoice.*": "invoices",
        "invoice.payments": "payment",
        # a quote is no invoice (no fiscal retention): it belongs with what the customer
        # ordered or was offered
        "estimate.*": "orders",
        # the agreement the invoices it makes are billed by
        "recurring_invoice.*": "invoices",
    }
)


#: The parts of a contact's ``address`` field (top-level attributes at MoneyBird).
ADDRESS_PARTS = ("address1", "address2", "zipcode", "city", "country")

CORRECTABLE = MappingProxyType(
    {
        "contact": MappingProxyType(
            {
                "firstname": CorrectableField(FieldKind.TEXT, "firstname", "First name"),
                "lastname": CorrectableField(FieldKind.TEXT, "lastname", "Last name"),
                "company_name": CorrectableField(FieldKind.TEXT, "company_name", "Company name"),
                # not `email` nor `attention`: MoneyBird no longer takes them (module docstring)
                "send_invoices_to_email": CorrectableField(
                    FieldKind.EMAIL, "send_invoices_to_email", "Invoices › Send to e-mail address"
                ),
                "send_estimates_to_email": CorrectableField(
                    FieldKind.EMAIL,
                    "send_estimates_to_email",
                    "Estimates › Send to e-mail address",
                ),
                "phone": CorrectableField(FieldKind.PHONE, "phone", "Phone number"),
                "address": CorrectableField(FieldKind.ADDRESS, "", "Address", ADDRESS_PARTS),
            }
        ),
        "contact_person": MappingProxyType(
            {
                "firstname": CorrectableField(FieldKind.TEXT, "firstname", "First name"),
                "lastname": CorrectableField(FieldKind.TEXT, "lastname", "Last name"),
                "email": CorrectableField(FieldKind.EMAIL, "email", "E-mail address"),
                "phone": CorrectableField(FieldKind.PHONE, "phone", "Phone number"),
                "department": CorrectableField(FieldKind.TEXT, "department", "Department"),
            }
        ),
    }
)
ERASURE: Mapping[str, ErasureAction] = MappingProxyType(
    {
        "contact": "delete",
        "contact_person": "delete",
        "invoice": "none",
        "estimate": "delete",
        "recurring_invoice": "none",
    }
)

#: A record's identifying values, as :class:`Candidate` holds them.
Identifiers = tuple[tuple[IdentifierKind, object], ...]
#: The contact fields its invoices and quotes are e-mailed to (one address, or several
#: separated by commas).
DELIVERY_FIELDS = ("send_invoices_to_email", "send_estimates_to_email")
#: A contact person, under their contact.
PERSON_PATH = "contacts/{cid}/contact_people/{pid}.json"

#: Every invoice date MoneyBird can hold (it started in 2008).
ALL_PERIODS = "20000101..20991231"

#: The documents of a contact besides itself: record type -> API resource (also the name of
#: its list when it cannot be read).
DOCUMENTS = MappingProxyType(
    {
        "invoice": "sales_invoices",
        "estimate": "estimates",
        "recurring_invoice": "recurring_sales_invoices",
    }
)


@register
class MoneyBirdConnector(BaseConnector):
    """Reads MoneyBird contacts (by e-mail, phone or customer number) and their invoices."""

    name = "moneybird"
    title = "MoneyBird"
    identifier_kinds = frozenset(
        {IdentifierKind.EMAIL, IdentifierKind.PHONE, IdentifierKind.CUSTOMER_NUMBER}
    )
    config_schema = (
        ConfigField("administration_id", required=True, description="The administration's id."),
        ConfigField("token", required=True, secret=True, description="API token (Bearer)."),
        ConfigField("base_url", default="https://moneybird.com/api/v2", description="API root."),
        ConfigField("web_url", default="https://moneybird.com", description="Web app root."),
    )
    default_categories = DEFAULT_CATEGORIES
    capabilities = frozenset({Capability.READ, Capability.CORRECT, Capability.ERASE})
    correctable = CORRECTABLE
    erasure = ERASURE
    #: A contact's contact people are part of it: they go when it is deleted.
    erased_with_parent = frozenset({"contact_person"})
    #: MoneyBird refuses (422) to delete a contact while documents refer to it: an invoice
    #: kept by law keeps its contact, until the same date.
    refuse_parent_deletion = frozenset(DOCUMENTS)
    found_parts = MappingProxyType(
        {"contact": "contacts", "contact_person": "contacts", "recipient": "contacts"}
    )
    record_places = MappingProxyType(
        {
            "contact": "Contacts",
            "contact_person": "Contact persons",
            "invoice": "Sales invoices",
            "estimate": "Estimates",
            "recurring_invoice": "Recurring sales invoices",
        }
    )
    field_places = MappingProxyType(
        {
            "contact.email": "E-mail address",
            "contact.attention": "Attention",
            "contact.notes": "Notes",
            "contact.sepa_iban": "Direct debit › IBAN",
            "contact.bank_account": "Bank account",
            "recipient.send_invoices_to_email": "Invoices › Send to e-mail address",
            "recipient.send_estimates_to_email": "Estimates › Send to e-mail address",
        }
    )
    context_fields = MappingProxyType(
        {
            "contact_person": frozenset({"company_name"}),
            "recipient": frozenset({"company_name"}),
        }
    )

    def make_http(
        self,
        *,
        transport: httpx.BaseTransport | None,
        retry: RetryPolicy | None,
        timeout: httpx.Timeout,
    ) -> HttpClient:
        """Bearer token; the administration id is part of the base URL."""
        administration = str(self.config["administration_id"]).strip()
        if not administration.isdigit():
            raise NotConfigured("moneybird: 'administration_id' must be numeric", vendor=self.name)
        base = require_safe_scheme(self.name, str(self.config["base_url"]))
        self.web_url = require_safe_scheme(self.name, str(self.config["web_url"]))
        self.administration = administration
        return HttpClient(
            self.name,
            f"{base}/{administration}",
            headers={"Authorization": f"Bearer {self.config['token']}"},
            timeout=timeout,
            retry=retry,
            transport=transport,
        )

    def find(self, run: Run) -> Iterator[Candidate]:
        """Fuzzy ``query=`` by each spelling of an e-mail address (an internationalised domain
        in ASCII and in Unicode, :func:`~connectors.identity.email_spellings`) and of a phone
        number (MoneyBird keeps both as typed, and whether its search finds one spelling by
        another is not known); exact lookup by customer number."""
        queries = [
            spelling
            for email in run.identity.values(IdentifierKind.EMAIL)
            for spelling in email_spellings(email)
        ]
        for phone in run.identity.values(IdentifierKind.PHONE):
            queries += phone_spellings(phone)
        for query in queries:
            # The contact list leaves archived contacts out unless asked: a former customer's
            # contact is often archived, and it still holds their data and invoices.
            params = {"query": query, "include_archived": "true"}
            pages = link_header_pages(run.http, "contacts.json", params=params)
            for contact in items(pages):
                yield from self._candidates(run, contact)
        for number in run.identity.values(IdentifierKind.CUSTOMER_NUMBER):
            try:
                body, _ = run.http.get_json(
                    "contacts/customer_id/{number}.json", path_params={"number": number}
                )
            except NotFound:
                continue
            yield from self._candidates(run, expect_dict(body, "moneybird contact"))

    def expand(self, run: Run, match: Match) -> Iterator[Draft]:
        """The contact, then its sales invoices (all states), estimates (all states) and
        recurring sales invoices; or one contact person, or one address the contact's
        invoices or quotes are sent to."""
        if match.candidate.record_type == "contact_person":
            yield from run.each("contacts", [match.candidate], lambda c: [self._person(c)])
            return
        if match.candidate.record_type == "recipient":
            yield from run.each("contacts", [match.candidate], lambda c: [self._recipient(c)])
            return
        contact_id = match.candidate.record_id
        invoices = self._documents(run, "invoice", contact_id)
        estimates = self._documents(run, "estimate", contact_id)
        recurring = self._documents(run, "recurring_invoice", contact_id)
        invoice_dates = [try_date(i.get("invoice_date")) for i in invoices]
        last_invoice = max((d for d in invoice_dates if d is not None), default=None)
        # the contact that cannot be read is missing; its invoices are still read by the id
        yield from run.each(
            "contacts",
            [dict(match.candidate.raw)],
            lambda raw: [self._contact(raw, last_invoice)],
        )
        yield from run.each(
            "sales_invoices", invoices, lambda invoice: [self._invoice(invoice, contact_id)]
        )
        yield from run.each(
            "estimates",
            estimates,
            lambda estimate: [self._estimate(estimate, contact_id, last_invoice)],
        )
        # the dates of the invoices each recurring sales invoice made
        made_by: dict[str, list[date]] = {}
        for invoice, day in zip(invoices, invoice_dates, strict=True):
            maker = invoice.get("recurring_sales_invoice_id")
            if maker is not None and day is not None:
                made_by.setdefault(str(maker), []).append(day)
        yield from run.each(
            "recurring_sales_invoices",
            recurring,
            lambda row: [self._recurring(row, contact_id, made_by)],
        )

    def probe(self, run: Run) -> None:
        """Search contacts for a string nobody has: checks token and administration."""
        body, _ = run.http.get_json(
            "contacts.json", params={"query": "healthcheck-invalid", "per_page": 1}
        )
        expect_list(body, "moneybird contacts")

    # -- writing back -------------------------------------------------------------------------

    def describe_target(self, ref: RecordRef, field_name: str | None = None) -> str:
        """A ``recipient`` record is only an address in someone else's record: staff are
        pointed at that address (to erase it by hand), never at the whole record."""
        if ref.record_type == "recipient" and field_name is None:
            field_name = ref.record_id.partition("/")[2]  # {contact id}/{delivery field}
        return super().describe_target(ref, field_name)

    def locate(self, ref: RecordRef) -> list[str]:
        """A contact person is found on its contact's page."""
        if ref.record_type == "contact_person":
            contact_id, person_id = _person_ids(ref)
            return ["Contacts", f"#{contact_id}", "Contact persons", f"#{person_id}"]
        if ref.record_type == "recipient":
            return ["Contacts", f"#{_contact_of(ref.record_id)}"]
        return super().locate(ref)

    def api_path(self, ref: RecordRef) -> str:
        """``contacts/{id}.json``, ``contacts/{id}/contact_people/{id}.json`` or
        ``sales_invoices/{id}.json``."""
        if ref.record_type == "contact_person":
            contact_id, person_id = _person_ids(ref)
            return f"contacts/{contact_id}/contact_people/{person_id}.json"
        if ref.record_type == "recipient":
            return f"contacts/{_contact_of(ref.record_id)}.json"
        kind = DOCUMENTS.get(ref.record_type, "contacts")
        return f"{kind}/{ref.record_id}.json"

    def read_identifiers(
        self, session: HttpSession, ref: RecordRef
    ) -> tuple[tuple[IdentifierKind, object], ...]:
        """A contact's e-mail fields, phone and customer number (an invoice's, estimate's or
        recurring sales invoice's: its contact's); a contact person's own e-mail and phone."""
        contact_id = ref.record_id
        if ref.record_type == "contact_person":
            contact_id, person_id = _person_ids(ref)
            body, _ = session.get_json("contacts/{id}.json", path_params={"id": contact_id})
            for person, identifiers in _people(expect_dict(body, "moneybird contact")):
                if str(person.get("id")) == person_id:
                    return identifiers
            raise NotFound("moneybird: the contact person is gone", vendor=self.name)
        if ref.record_type in DOCUMENTS:
            resource = DOCUMENTS[ref.record_type]
            body, _ = session.get_json(f"{resource}/{{id}}.json", path_params={"id": contact_id})
            contact_id = str(expect_dict(body, f"moneybird {ref.record_type}").get("contact_id"))
        body, _ = session.get_json("contacts/{id}.json", path_params={"id": contact_id})
        return _contact_identifiers(expect_dict(body, "moneybird contact"))

    def write_field(
        self, session: HttpSession, ref: RecordRef, field_name: str, value: Any
    ) -> Mapping[str, Any]:
        """``PATCH contacts/{id}.json`` with ``{"contact": {<changed attributes>}}``, or a
        contact person's with ``{"contact_person": {…}}``; the fields of the contact (or
        person) it answers with (MoneyBird drops an attribute it does not take)."""
        payload = write_payload(self.correctable[ref.record_type][field_name], value)
        if ref.record_type == "contact_person":
            contact_id, person_id = _person_ids(ref)
            response = session.request(
                "PATCH",
                PERSON_PATH,
                path_params={"cid": contact_id, "pid": person_id},
                json={"contact_person": payload},
                idempotent=True,
            )
            body = expect_dict(session.decode(response, PERSON_PATH), "moneybird contact person")
            return _person_fields(body)
        response = session.request(
            "PATCH",
            "contacts/{id}.json",
            path_params={"id": ref.record_id},
            json={"contact": payload},
            idempotent=True,
        )
        body = expect_dict(session.decode(response, "contacts/{id}.json"), "moneybird contact")
        return self._contact(body, None).fields

    def gone_answer(self, answer: Answer) -> bool:
        """MoneyBird's 404 ``{"error": …}`` (the notes: shape assumed, unverified). A wrong
        administration id answers the same way; a page in front of MoneyBird does not."""
        body = answer.body
        return answer.status == 404 and isinstance(body, dict) and "error" in body

    def erase_record(self, session: HttpSession, ref: RecordRef, action: ErasureAction) -> None:
        """``DELETE contacts/{id}.json`` (422 from MoneyBird while documents refer to it),
        ``DELETE contacts/{id}/contact_people/{id}.json`` or ``DELETE estimates/{id}.json``."""
        if ref.record_type == "estimate":
            session.request(
                "DELETE", "estimates/{id}.json", path_params={"id": ref.record_id}, idempotent=True
            )
            return
        if ref.record_type == "contact_person":
            contact_id, person_id = _person_ids(ref)
            try:
                session.request(
                    "DELETE",
                    PERSON_PATH,
                    path_params={"cid": contact_id, "pid": person_id},
                    idempotent=True,
                )
            except NotFound:
                # That MoneyBird routes this DELETE is unverified: a 404 is "already gone" only
                # when the contact no longer lists the person (its own 404 says it is gone too)
                body, _ = session.get_json("contacts/{id}.json", path_params={"id": contact_id})
                people = expect_list(
                    expect_dict(body, "moneybird contact").get("contact_people") or [],
                    "moneybird contact people",
                )
                if any(str(p.get("id")) == person_id for p in people if isinstance(p, dict)):
                    raise RequestRejected(
                        "moneybird: the contact person could not be deleted through the API; "
                        "remove them from the contact by hand",
                        vendor=self.name,
                    ) from None
                raise
            return
        # Deleting a contact deletes its contact people: people of their own, whose entries
        # must not go on someone else's request. The customer's own entry is erased before
        # the contact (children first), so any left belong to others.
        body, _ = session.get_json("contacts/{id}.json", path_params={"id": ref.record_id})
        contact = expect_dict(body, "moneybird contact")
        if expect_list(contact.get("contact_people") or [], "moneybird contact people"):
            raise RequestRejected(
                "moneybird: the contact has contact people of its own; remove or move them "
                "first, by hand",
                vendor=self.name,
            )
        session.request(
            "DELETE", "contacts/{id}.json", path_params={"id": ref.record_id}, idempotent=True
        )

    def _documents(self, run: Run, record_type: str, contact_id: str) -> list[JSONDict]:
        """The contact's sales invoices, estimates or recurring sales invoices; only those
        that name no other contact (a filter MoneyBird ignored would hand over everyone's)."""
        resource = DOCUMENTS[record_type]
        # Without an explicit period MoneyBird may filter invoices and estimates by a default
        # period (e.g. this year), which would silently drop older ones; ask for every year
        # MoneyBird can hold, in every state. Recurring sales invoices have no date to filter.
        filters = f"contact_id:{contact_id}"
        if record_type != "recurring_invoice":
            filters += f",state:all,period:{ALL_PERIODS}"
        rows = run.related(
            resource,
            lambda: items(
                link_header_pages(run.http, f"{resource}.json", params={"filter": filters})
            ),
        )
        return run.only_theirs(resource, rows, lambda row: row.get("contact_id"), contact_id)

    def _candidates(self, run: Run, contact: JSONDict) -> Iterator[Candidate]:
        """The contact, then each of its contact people, each with its own identifiers; and,
        unless the contact itself is the customer's, the addresses its invoices and quotes are
        sent to besides its own."""
        own = self._candidate(contact)
        yield own
        contact_id = own.record_id
        matched = None if own.unreadable else run.identity.match(own.identifiers)
        # the customer's own contact (a phone may yet prove shared: see contests)
        theirs = matched is not None and matched.kind is not IdentifierKind.PHONE
        try:
            people = list(_people(contact))
        except BadResponse:
            if not theirs:
                # who its contact people are cannot be read: one may be the customer
                yield Candidate("contact_person", "", (), {}, unreadable=True, undecided=True)
            people = []
        for person, identifiers in people:
            yield read_candidate(
                "contact_person",
                person,
                lambda _, found=identifiers: found,
                record_id=partial(_person_id, contact_id),
                raw=lambda row: {**row, "company_name": contact.get("company_name")},
            )
        if theirs:
            return
        verified = set(run.identity.values(IdentifierKind.EMAIL))
        by_field: dict[str, list[str]] = {}
        for field_name, address in _recipients(contact):
            if try_normalize(IdentifierKind.EMAIL, address) in verified:
                by_field.setdefault(field_name, []).append(address)
        for field_name, addresses in by_field.items():
            found = tuple((IdentifierKind.EMAIL, address) for address in addresses)
            if own.unreadable:
                yield Candidate("recipient", "", found, {}, unreadable=True)
                continue
            # one record per field, with each of the customer's addresses there (only theirs)
            yield Candidate(
                "recipient",
                f"{contact_id}/{field_name}",
                found,
                {
                    field_name: ", ".join(addresses),
                    "company_name": contact.get("company_name"),
                    "updated_at": contact.get("updated_at"),
                },
            )

    def _recipient(self, candidate: Candidate) -> Draft:
        """Only the address itself (and a company's name): the contact is someone else's."""
        raw = candidate.raw
        return Draft(
            "recipient",
            candidate.record_id,
            pick(raw, *DELIVERY_FIELDS, "company_name"),
            dates={"updated": parse_datetime(raw.get("updated_at"))},
            link=self._contact_url(_contact_of(candidate.record_id)),
        )

    def _person(self, candidate: Candidate) -> Draft:
        raw = candidate.raw
        contact_id = _contact_of(candidate.record_id)
        return Draft(
            "contact_person",
            candidate.record_id,
            {**_person_fields(raw), **pick(raw, "company_name")},
            dates={
                "created": parse_datetime(raw.get("created_at")),
                "updated": parse_datetime(raw.get("updated_at")),
            },
            link=self._contact_url(contact_id),
            parent=("contact", contact_id),
        )

    def _contact_url(self, contact_id: str) -> str:
        """The contact's page in MoneyBird (its contact people are shown there too)."""
        return f"{self.web_url}/{self.administration}/contacts/{contact_id}"

    def _candidate(self, contact: JSONDict) -> Candidate:
        """The contact, identified by its e-mail address, customer number and phone; by the
        address its invoices and quotes are sent to only when it has no e-mail address of its
        own and they all go to that one address (several may be different people's: the
        customer, a partner who pays, a bookkeeper). Otherwise those addresses are addressees:
        they identify nobody, and keep the phone from matching on its own."""
        return read_candidate(
            "contact",
            contact,
            _contact_identifiers,
            record_id=lambda row: expect_id(dict(row), "moneybird contact"),
        )

    def _contact(self, raw: JSONDict, last_invoice: date | None) -> Draft:
        contact_id = expect_id(raw, "moneybird contact")
        notes = expect_list(raw.get("notes") or [], "moneybird notes")
        address = pick(raw, "address1", "address2", "zipcode", "city", "country")
        return Draft(
            "contact",
            contact_id,
            {
                **pick(raw, "company_name", "firstname", "lastname", "attention"),
                "address": {k: v for k, v in address.items() if v},
                **pick(raw, "email", "phone", "send_invoices_to_email", "send_estimates_to_email"),
                **pick(raw, "customer_id", "tax_number", "chamber_of_commerce", "delivery_method"),
                **pick(raw, "bank_account", "sepa_active", "sepa_iban", "sepa_iban_account_name"),
                **pick(raw, "sepa_bic", "sepa_mandate_id", "sepa_mandate_date", "archived"),
                "notes": [pick(n, "note", "created_at") for n in notes],
            },
            dates={
                "created": parse_datetime(raw.get("created_at")),
                "updated": parse_datetime(raw.get("updated_at")),
                "last_invoice": last_invoice,
            },
            link=self._contact_url(contact_id),
        )

    def _invoice(self, raw: JSONDict, contact_id: str) -> Draft:
        invoice_id = expect_id(raw, "moneybird invoice")
        details = expect_list(raw.get("details") or [], "moneybird invoice details")
        payments = expect_list(raw.get("payments") or [], "moneybird invoice payments")
        return Draft(
            "invoice",
            invoice_id,
            {
                **pick(raw, "invoice_id", "state", "reference", "currency", "language"),
                **pick(raw, "total_price_excl_tax", "total_price_incl_tax", "total_paid"),
                **pick(raw, "total_unpaid", "payment_reference", "due_date", "reminder_count"),
                "lines": [pick(d, "description", "amount", "price", "period") for d in details],
                "payments": [pick(p, "payment_date", "price") for p in payments],
            },
            dates={
                "invoice_date": parse_date(raw.get("invoice_date")),
                "due_date": parse_date(raw.get("due_date")),
                "paid": parse_datetime(raw.get("paid_at")),
                "created": parse_datetime(raw.get("created_at")),
                "updated": parse_datetime(raw.get("updated_at")),
            },
            link=self._document_url(raw, "sales_invoices", invoice_id),
            parent=("contact", contact_id),
        )

    def _document_url(self, raw: JSONDict, resource: str, document_id: str) -> str:
        """The document's own ``url`` when it is a web address, else its page in MoneyBird."""
        url = raw.get("url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return url
        return f"{self.web_url}/{self.administration}/{resource}/{document_id}"

    def _estimate(self, raw: JSONDict, contact_id: str, last_invoice: date | None) -> Draft:
        """A quote. Its retention counts from the customer's last purchase (their last
        invoice, or this quote when it is later), as a quote is kept with what was ordered."""
        estimate_id = expect_id(raw, "moneybird estimate")
        details = expect_list(raw.get("details") or [], "moneybird estimate details")
        notes = expect_list(raw.get("notes") or [], "moneybird estimate notes")
        created = parse_datetime(raw.get("created_at"))
        estimate_date = parse_date(raw.get("estimate_date"))
        own = estimate_date or (created.date() if created is not None else None)
        last = max((d for d in (last_invoice, own) if d is not None), default=None)
        return Draft(
            "estimate",
            estimate_id,
            {
                **pick(raw, "estimate_id", "state", "reference", "currency", "language"),
                **pick(raw, "estimate_date"),
                "valid_until": raw.get("due_date"),
                **pick(raw, "pre_text", "post_text"),
                **pick(raw, "total_price_excl_tax", "total_price_incl_tax"),
                **pick(raw, "accepted_at", "rejected_at"),
                "lines": [pick(d, "description", "amount", "price", "period") for d in details],
                "notes": [pick(n, "note", "created_at") for n in notes],
            },
            dates={
                "estimate_date": estimate_date,
                "last_order": last,
                "created": created,
                "updated": parse_datetime(raw.get("updated_at")),
            },
            link=self._document_url(raw, "estimates", estimate_id),
            parent=("contact", contact_id),
        )

    def _recurring(
        self, raw: JSONDict, contact_id: str, made_by: Mapping[str, list[date]]
    ) -> Draft:
        """A recurring sales invoice: the running agreement the customer is billed by.

        Its ``invoice_date`` (the date fiscal retention counts from) is that of the last
        invoice it made, or, while it is active, of the next one it will make: it is kept as
        long as it bills, and then as long as its last invoice.
        """
        recurring_id = expect_id(raw, "moneybird recurring sales invoice")
        details = expect_list(raw.get("details") or [], "moneybird recurring invoice details")
        notes = expect_list(raw.get("notes") or [], "moneybird recurring invoice notes")
        next_date = parse_date(raw.get("invoice_date"))
        active = raw.get("active")
        if active is None:
            active = raw.get("state") == "active"  # (which of the two MoneyBird sends: unverified)
        elif not isinstance(active, bool):
            raise BadResponse("moneybird recurring sales invoice: 'active' is no boolean")
        made = list(made_by.get(recurring_id, []))
        if active and next_date is not None:
            made.append(next_date)
        return Draft(
            "recurring_invoice",
            recurring_id,
            {
                **pick(raw, "reference", "active", "frequency", "frequency_type", "start_date"),
                "next_invoice_date": raw.get("invoice_date") if active else None,
                **pick(raw, "last_date", "desired_count", "auto_send", "currency", "language"),
                **pick(raw, "total_price_excl_tax", "total_price_incl_tax"),
                "lines": [pick(d, "description", "amount", "price", "period") for d in details],
                "notes": [pick(n, "note", "created_at") for n in notes],
            },
            dates={
                "invoice_date": max(made, default=None),
                "created": parse_datetime(raw.get("created_at")),
                "updated": parse_datetime(raw.get("updated_at")),
            },
            link=self._document_url({}, "recurring_sales_invoices", recurring_id),
            parent=("contact", contact_id),
        )


def _contact_identifiers(contact: Mapping[str, Any]) -> Identifiers:
    """See :meth:`MoneyBirdConnector._candidate`."""
    identifiers: Identifiers = (
        (IdentifierKind.EMAIL, contact.get("email")),
        (IdentifierKind.CUSTOMER_NUMBER, contact.get("customer_id")),
        (IdentifierKind.PHONE, contact.get("phone")),
    )
    delivery = _delivery_addresses(contact)
    if try_normalize(IdentifierKind.EMAIL, contact.get("email")) is None and len(delivery) == 1:
        identifiers += ((IdentifierKind.EMAIL, next(iter(delivery.values()))),)
    else:
        # addresses that do not say whose the contact is: they match nobody, but a phone
        # number (a household's, a firm's) must not pull in a contact whose mail goes to
        # someone else
        identifiers += tuple((IdentifierKind.ADDRESSEE, a) for a in delivery.values())
    return identifiers


def _person_fields(person: JSONDict) -> JSONDict:
    """A contact person's own fields."""
    return pick(person, "firstname", "lastname", "email", "phone", "department")


def _person_id(contact_id: str, person: Mapping[str, Any]) -> str:
    """A contact person's record id, ``{contact id}/{person id}``.

    :raises BadResponse: the contact's or the person's id cannot be read.
    """
    if not contact_id:
        raise BadResponse("moneybird contact: missing or invalid 'id'")
    return f"{contact_id}/{expect_id(dict(person), 'moneybird contact person')}"


def _contact_of(record_id: str) -> str:
    """The contact's id in a contact person's or recipient's id (``{contact id}/…``)."""
    return record_id.partition("/")[0]


def _person_ids(ref: RecordRef) -> tuple[str, str]:
    """The contact's and the person's id of a ``contact_person`` record."""
    contact_id, _, person_id = ref.record_id.partition("/")
    if not contact_id or not person_id:
        raise ValueError(f"moneybird: not a contact person's id: {ref.record_id!r}")
    return contact_id, person_id


def _people(contact: JSONDict) -> Iterator[tuple[JSONDict, Identifiers]]:
    """Each contact person of ``contact`` with the values that identify them: their e-mail,
    and their phone unless the company or a colleague has the same number (the switchboard is
    nobody's own number: it would pull a colleague's entry in)."""
    people = [
        expect_dict(person, "moneybird contact person")
        for person in expect_list(contact.get("contact_people") or [], "moneybird contact people")
    ]
    phones = Counter(
        try_normalize(IdentifierKind.PHONE, holder.get("phone")) for holder in (contact, *people)
    )
    for person in people:
        phone = try_normalize(IdentifierKind.PHONE, person.get("phone"))
        identifiers: Identifiers = ((IdentifierKind.EMAIL, person.get("email")),)
        if phone is not None and phones[phone] == 1:
            identifiers += ((IdentifierKind.PHONE, person.get("phone")),)
        yield person, identifiers


def _addresses(value: object) -> list[str]:
    """The addresses in a delivery field (several may be separated by commas)."""
    return [a.strip() for a in value.split(",") if a.strip()] if isinstance(value, str) else []


def _delivery_addresses(contact: JSONDict) -> dict[str, str]:
    """The distinct addresses in the delivery fields: normalised -> as written first."""
    found: dict[str, str] = {}
    for field_name in DELIVERY_FIELDS:
        for address in _addresses(contact.get(field_name)):
            normal = try_normalize(IdentifierKind.EMAIL, address)
            if normal is not None:
                found.setdefault(normal, address)
    return found


def _recipients(contact: JSONDict) -> Iterator[tuple[str, str]]:
    """(delivery field, address) for each address there that does not identify the contact
    itself: every one but its own e-mail address (or, without one, every one unless they
    are all the same)."""
    own = try_normalize(IdentifierKind.EMAIL, contact.get("email"))
    if own is None and len(_delivery_addresses(contact)) == 1:
        return  # the one address identifies the contact itself
    for field_name in DELIVERY_FIELDS:
        for address in _addresses(contact.get(field_name)):
            found = try_normalize(IdentifierKind.EMAIL, address)
            if found is not None and found != own:
                yield field_name, address
