"""Mollie (API v2): customers, their payments, mandates and subscriptions.

Mollie has **no customer search** (``GET customers`` only takes ``from``/``limit``), so this
connector is the documented exception to "never download a whole customer list": it pages
through ``GET customers?limit=250`` by cursor (``_links.next``) once per fetch and compares each
customer's ``email`` exactly. Several Mollie customers may share one e-mail; all are returned.
Payments, mandates and subscriptions come from ``GET customers/{id}/payments``, ``…/mandates``
and ``…/subscriptions`` (each paged by cursor); a row naming another customer is left out. A
subscription (amount, interval, description, mandate, next payment date, webhook, metadata)
must name its customer (``customerId`` or ``_links.customer``): one naming none, or the two
disagreeing, is not shown as theirs and makes the result partial. Subscriptions carry no
dashboard link of their own; they are linked to their customer's page in the dashboard, where
Mollie lists them.

Refunds and chargebacks (``GET payments/{id}/refunds``, ``…/chargebacks``) are not read yet:
Mollie lists them per payment only (a request for each payment that has any), so a refund's
own description and a chargeback's reason are not shown; the payment says how much of it was
refunded (``amount_refunded``).

Payments made without a customer object (a web shop's guest checkout) cannot be reached this
way: they are reached through the record that names them, by id (``GET payments/{id}``,
:meth:`MollieConnector.read_linked`). A WooCommerce order paid through Mollie names its payment
in ``transaction_id`` (:data:`connectors.woocommerce.WooCommerceConnector.links`); the gathering
asks this connector for the ids its customers' payments did not already include. Such a payment
is the customer's because the order is, and has the order as its parent. A payment id Mollie
answers 404/410 for may still be held where this key cannot read it (another website profile,
test mode): the result says payments of orders are missing.

Config: ``api_key`` (secret; ``live_…``/``test_…``, sent as Bearer), ``base_url`` (default
``https://api.mollie.com/v2``).

Writing back: ``PATCH customers/{id}`` (only ``name`` and ``email`` are personal and writable).
Erasure: ``DELETE customers/{id}``. Mollie then also cancels the customer's mandates and
subscriptions (no more payments are collected), but cancelling deletes neither: Mollie keeps
them, and payments as financial records with the bank details they carry, and its API deletes
none of the three. So they are left to staff (``"none"``), not counted as erased with the
customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

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
    only_theirs,
    read_candidate,
    write_payload,
)
from .errors import Answer, BadResponse
from .http import HttpClient, HttpSession, RetryPolicy
from .identity import IdentifierKind
from .pagination import cursor_pages, items
from .parsing import JSONDict, expect_dict, expect_id, parse_date, parse_datetime, pick
from .registry import register
from .urls import require_safe_scheme

#: Mollie's maximum page size.
PAGE_LIMIT = 250
#: A Mollie payment id (``tr_`` and letters and digits): the only shape read by id.
PAYMENT_ID = re.compile(r"tr_[A-Za-z0-9]+")

DEFAULT_CATEGORIES = MappingProxyType(
    {
        "customer.*": "customer_account",
        "customer.name": "identity",
        "customer.email": "contact",
        "payment.*": "payment",
        "payment.billing_email": "contact",
        "mandate.*": "payment",
        # a subscription is an agreement to collect payments: all of it, like a mandate
        "subscription.*": "payment",
    }
)


CORRECTABLE = MappingProxyType(
    {
        "customer": MappingProxyType(
            {
                "name": CorrectableField(FieldKind.TEXT, "name", "Name"),
                "email": CorrectableField(FieldKind.EMAIL, "email", "Email"),
            }
        )
    }
)
ERASURE: Mapping[str, ErasureAction] = MappingProxyType(
    {"customer": "delete", "payment": "none", "mandate": "none", "subscription": "none"}
)


@register
class MollieConnector(BaseConnector):
    """Reads Mollie customers (by exact e-mail), their payments, mandates and subscriptions."""

    name = "mollie"
    title = "Mollie"
    identifier_kinds = frozenset({IdentifierKind.EMAIL})
    config_schema = (
        ConfigField("api_key", required=True, secret=True, description="API key live_/test_…"),
        ConfigField("base_url", default="https://api.mollie.com/v2", description="API root."),
    )
    default_categories = DEFAULT_CATEGORIES
    capabilities = frozenset({Capability.READ, Capability.CORRECT, Capability.ERASE})
    correctable = CORRECTABLE
    erasure = ERASURE
    found_parts = MappingProxyType({"customer": "customers"})
    record_places = MappingProxyType(
        {
            "customer": "Customers",
            "payment": "Payments",
            "mandate": "Customers › Mandates",
            "subscription": "Customers › Subscriptions",
        }
    )
    field_places = MappingProxyType(
        {"payment.details": "Payment details (from the bank)", "mandate.details": "Details"}
    )
    linkable = MappingProxyType({"payment": PAYMENT_ID})

    def make_http(
        self,
        *,
        transport: httpx.BaseTransport | None,
        retry: RetryPolicy | None,
        timeout: httpx.Timeout,
    ) -> HttpClient:
        """Bearer API key."""
        base = require_safe_scheme(self.name, str(self.config["base_url"]))
        return HttpClient(
            self.name,
            base,
            headers={"Authorization": f"Bearer {self.config['api_key']}"},
            timeout=timeout,
            retry=retry,
            transport=transport,
        )

    def find(self, run: Run) -> Iterator[Candidate]:
        """Every customer (one pass through the list); the base class keeps exact matches."""
        pages = cursor_pages(
            run.http, "customers", embedded="customers", params={"limit": PAGE_LIMIT}
        )
        for customer in items(pages):
            # everyone's customers: one of theirs that cannot be read is dropped unread
            yield read_candidate(
                "customer", customer, lambda row: ((IdentifierKind.EMAIL, row.get("email")),)
            )

    def expand(self, run: Run, match: Match) -> Iterator[Draft]:
        """The customer, their payments, their mandates and their subscriptions."""
        customer_id = match.candidate.record_id
        raw = dict(match.candidate.raw)
        # the customer that cannot be read is missing; their payments are still read by the id
        yield from run.each(
            "customers",
            [raw],
            lambda row: [
                Draft(
                    "customer",
                    customer_id,
                    pick(row, "name", "email", "locale", "metadata", "mode"),
                    dates={"created": parse_datetime(row.get("createdAt"))},
                    link=_dashboard(row),
                )
            ],
        )
        parent = ("customer", customer_id)
        payments = only_theirs(
            self.name,
            "payments",
            run.related("payments", partial(self._list, run, customer_id, "payments")),
            lambda payment: payment.get("customerId"),
            customer_id,
        )
        yield from run.each("payments", payments, lambda payment: [self._payment(payment, parent)])
        mandates = only_theirs(
            self.name,
            "mandates",
            run.related("mandates", partial(self._list, run, customer_id, "mandates")),
            _linked_customer,
            customer_id,
        )
        yield from run.each("mandates", mandates, lambda mandate: [self._mandate(mandate, parent)])
        subscriptions = only_theirs(
            self.name,
            "subscriptions",
            run.related("subscriptions", partial(self._list, run, customer_id, "subscriptions")),
            _subscription_customer,
            customer_id,
        )
        customer_page = _dashboard(raw)
        yield from run.each(
            "subscriptions",
            subscriptions,
            lambda sub: [self._subscription(sub, parent, customer_page)],
        )

    def read_linked(self, run: Run, record_type: str, record_id: str) -> Iterator[Draft]:
        """``GET payments/{id}``: one payment named by a record elsewhere (a shop's order)."""
        body, _ = run.http.get_json("payments/{id}", path_params={"id": record_id})
        payment = expect_dict(body, "mollie payment")
        if expect_id(payment, "mollie payment") != record_id:
            raise BadResponse(
                "mollie: GET payments/{id}: another payment answered", vendor=self.name
            )
        yield self._payment(payment, parent=None)

    def probe(self, run: Run) -> None:
        """``GET customers?limit=1``: checks the API key."""
        body, _ = run.http.get_json("customers", params={"limit": 1})
        expect_dict(body, "mollie customers")

    # -- writing back -------------------------------------------------------------------------

    def api_path(self, ref: RecordRef) -> str | None:
        """``customers/{id}`` or ``payments/{id}``; ``None`` for a mandate or a subscription,
        whose path (``customers/{customer}/mandates/{id}``) needs the customer's id as well."""
        kind = {"customer": "customers", "payment": "payments"}.get(ref.record_type)
        return f"{kind}/{ref.record_id}" if kind else None

    def read_identifiers(
        self, session: HttpSession, ref: RecordRef
    ) -> list[tuple[IdentifierKind, object]]:
        """A customer's e-mail (404 and 410 for a deleted customer both raise NotFound)."""
        body, _ = session.get_json("customers/{id}", path_params={"id": ref.record_id})
        return [(IdentifierKind.EMAIL, expect_dict(body, "mollie customer").get("email"))]

    def write_field(
        self, session: HttpSession, ref: RecordRef, field_name: str, value: Any
    ) -> None:
        """``PATCH customers/{id}`` with only the changed field."""
        payload = write_payload(self.correctable[ref.record_type][field_name], value)
        response = session.request(
            "PATCH",
            "customers/{id}",
            path_params={"id": ref.record_id},
            json=payload,
            idempotent=True,
        )
        expect_dict(session.decode(response, "customers/{id}"), "mollie customer")

    def gone_answer(self, answer: Answer) -> bool:
        """Mollie's problem object for its own 404 (unknown id) or 410 (deleted): JSON whose
        ``status`` is the answer's; a page from something in front of Mollie is not."""
        body = answer.body
        return answer.json and isinstance(body, dict) and body.get("status") == answer.status

    def erase_record(self, session: HttpSession, ref: RecordRef, action: ErasureAction) -> None:
        """``DELETE customers/{id}`` → 204."""
        session.request(
            "DELETE", "customers/{id}", path_params={"id": ref.record_id}, idempotent=True
        )

    def _list(self, run: Run, customer_id: str, what: str) -> Iterator[JSONDict]:
        path = f"customers/{customer_id}/{what}"
        return items(cursor_pages(run.http, path, embedded=what, params={"limit": PAGE_LIMIT}))

    def _payment(self, raw: JSONDict, parent: tuple[str, str] | None) -> Draft:
        details = raw.get("details")
        return Draft(
            "payment",
            expect_id(raw, "mollie payment"),
            {
                "amount": _money(raw.get("amount")),
                "amount_refunded": _money(raw.get("amountRefunded")),
                **pick(raw, "description", "method", "status", "sequenceType", "metadata"),
                **pick(raw, "mandateId", "subscriptionId", "countryCode", "locale"),
                "details": details if isinstance(details, dict) else None,
                "billing_email": raw.get("billingEmail"),
            },
            dates={
                "created": parse_datetime(raw.get("createdAt")),
                "paid": parse_datetime(raw.get("paidAt")),
                "expired": parse_datetime(raw.get("expiredAt")),
                "failed": parse_datetime(raw.get("failedAt")),
                "canceled": parse_datetime(raw.get("canceledAt")),
            },
            link=_dashboard(raw),
            parent=parent,
        )

    def _mandate(self, raw: JSONDict, parent: tuple[str, str]) -> Draft:
        details = raw.get("details")
        return Draft(
            "mandate",
            expect_id(raw, "mollie mandate"),
            {
                **pick(raw, "method", "status", "mandateReference", "signatureDate"),
                "details": details if isinstance(details, dict) else None,
            },
            dates={
                "created": parse_datetime(raw.get("createdAt")),
                "signed": parse_date(raw.get("signatureDate")),
            },
            link=_dashboard(raw),
            parent=parent,
        )

    def _subscription(
        self, raw: JSONDict, parent: tuple[str, str], customer_page: str | None
    ) -> Draft:
        """A subscription that names the customer it belongs to (else :class:`BadResponse`:
        one whose owner it does not say is not shown as theirs)."""
        if _subscription_customer(raw) is None:
            raise BadResponse("mollie: a subscription names no customer", vendor=self.name)
        return Draft(
            "subscription",
            expect_id(raw, "mollie subscription"),
            {
                "amount": _money(raw.get("amount")),
                **pick(raw, "description", "status", "interval", "times", "timesRemaining"),
                **pick(raw, "startDate", "nextPaymentDate", "method", "mandateId", "metadata"),
                **pick(raw, "mode"),
                "webhook_url": raw.get("webhookUrl"),
            },
            dates={
                "created": parse_datetime(raw.get("createdAt")),
                "canceled": parse_datetime(raw.get("canceledAt")),
            },
            link=_dashboard(raw) or customer_page,
            parent=parent,
        )


def _money(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    amount = expect_dict(value, "mollie amount")
    return f"{amount.get('value')} {amount.get('currency')}"


def _linked_customer(raw: JSONDict) -> object:
    """The customer id a mandate's ``_links.customer`` points at (``…/customers/{id}``), or
    ``None`` without that link. A link of another shape names no id (``""``)."""
    links = raw.get("_links")
    customer = links.get("customer") if isinstance(links, dict) else None
    if not isinstance(customer, dict):
        return None
    href = customer.get("href")
    if not isinstance(href, str):
        return ""
    try:
        path = urlsplit(href).path.rstrip("/")
    except ValueError:
        return ""
    head, _, customer_id = path.rpartition("/")
    return customer_id if head.endswith("/customers") else ""


def _subscription_customer(raw: JSONDict) -> object:
    """The customer a subscription names: its ``customerId`` and ``_links.customer`` (either
    may be left out, not both); ``""`` (no one's) when the two disagree, ``None`` without
    either."""
    named = raw.get("customerId")
    linked = _linked_customer(raw)
    if named is None:
        return linked
    if linked is not None and linked != named:
        return ""
    return named


def _dashboard(raw: JSONDict) -> str | None:
    links = raw.get("_links")
    if isinstance(links, dict) and isinstance(links.get("dashboard"), dict):
        href = links["dashboard"].get("href")
        return href if isinstance(href, str) else None
    return None
