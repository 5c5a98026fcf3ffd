"""Mollie (API v2): customers, their payments (with refunds and chargebacks), mandates and
subscriptions.

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

Refunds and chargebacks are listed per payment only (``GET payments/{id}/refunds``,
``…/chargebacks``, each paged by cursor), so they are asked for only for a payment that shows
it has some, never once per payment: refunds when the payment links to them
(``_links.refunds``, present only when refunds exist: Mollie's own clients read ``hasRefunds``
from it) or its ``amountRefunded`` is not zero; chargebacks when it links to them
(``_links.chargebacks``) or has an ``amountChargedBack`` (present only when not zero). A refund
carries its own description (free text the firm typed), amount, status and date; a chargeback
the bank's reason (code and description) and its dates. Each is the customer's only because
its payment is (the payment is its parent), so it must name that payment (``paymentId`` or
``_links.payment``): a row naming another payment is left out, one naming none (or the two
disagreeing) is not shown and makes the result partial, as does a list that cannot be read
(``refunds``, ``chargebacks``). The payments of guest orders read by id (below) have theirs
read the same way. Neither has a dashboard page of its own; they link to their payment's.

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
them, and payments with their refunds and chargebacks as financial records with the bank
details they carry, and its API deletes none of them. So they are left to staff (``"none"``),
not counted as erased with the customer. As deleting the customer ends them
(``ended_with_parent``), an erasure deletes the customer only when it erases each of their
subscriptions and mandates too: not while one is kept by law or outside the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
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
    read_candidate,
    write_payload,
)
from .errors import Answer, BadResponse, ErrorKind
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
        # money paid back on a payment, and a payment the bank reversed: part of the payment
        "refund.*": "payment",
        "chargeback.*": "payment",
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
    {
        "customer": "delete",
        "payment": "none",
        "mandate": "none",
        "subscription": "none",
        # financial records kept with their payment; Mollie's API deletes none of them
        "refund": "none",
        "chargeback": "none",
    }
)


@register
class MollieConnector(BaseConnector):
    """Reads Mollie customers (by exact e-mail), their payments (with the refunds and
    chargebacks of those that have any), mandates and subscriptions."""

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
    # DELETE customers/{id} cancels their subscriptions and revokes their mandates
    ended_with_parent = frozenset({"subscription", "mandate"})
    found_parts = MappingProxyType({"customer": "customers"})
    record_places = MappingProxyType(
        {
            "customer": "Customers",
            "payment": "Payments",
            "mandate": "Customers › Mandates",
            "subscription": "Customers › Subscriptions",
            "refund": "Payments › Refunds",
            "chargeback": "Payments › Chargebacks",
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
        """The customer, their payments (each followed by its refunds and chargebacks), their
        mandates and their subscriptions."""
        customer_id = match.candidate.record_id
        raw = dict(match.candidate.raw)
        # the customer that cannot be read is missing; their payments are still read by the id
        yield from run.each("customers", [raw], lambda row: [_customer(row, customer_id)])
        parent = ("customer", customer_id)
        payments = run.only_theirs(
            "payments",
            run.related("payments", partial(self._list, run, customer_id, "payments")),
            lambda payment: payment.get("customerId"),
            customer_id,
        )
        for payment in payments:
            drafts = list(run.each("payments", [payment], lambda row: [self._payment(row, parent)]))
            if drafts:  # a payment that cannot be read has no refunds shown under it
                yield from drafts
                yield from self._adjustments(run, payment, drafts[0])
        mandates = run.only_theirs(
            "mandates",
            run.related("mandates", partial(self._list, run, customer_id, "mandates")),
            _linked_customer,
            customer_id,
        )
        yield from run.each("mandates", mandates, lambda mandate: [self._mandate(mandate, parent)])
        subscriptions = run.only_theirs(
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
        """``GET payments/{id}``: one payment named by a record elsewhere (a shop's order),
        then its refunds and chargebacks, if it has any."""
        body, _ = run.http.get_json("payments/{id}", path_params={"id": record_id})
        payment = expect_dict(body, "mollie payment")
        if expect_id(payment, "mollie payment") != record_id:
            raise BadResponse(
                "mollie: GET payments/{id}: another payment answered", vendor=self.name
            )
        draft = self._payment(payment, parent=None)
        yield draft
        yield from self._adjustments(run, payment, draft)

    def probe(self, run: Run) -> None:
        """``GET customers?limit=1``: checks the API key."""
        body, _ = run.http.get_json("customers", params={"limit": 1})
        expect_dict(body, "mollie customers")

    # -- writing back -------------------------------------------------------------------------

    def api_path(self, ref: RecordRef) -> str | None:
        """``customers/{id}`` or ``payments/{id}``; ``None`` for a mandate or a subscription,
        whose path (``customers/{customer}/mandates/{id}``) needs the customer's id as well,
        and for a refund or a chargeback (``payments/{payment}/refunds/{id}``) likewise."""
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
    ) -> Mapping[str, Any]:
        """``PATCH customers/{id}`` with only the changed field; the customer it answers with
        (Mollie ignores a field it does not take)."""
        payload = write_payload(self.correctable[ref.record_type][field_name], value)
        response = session.request(
            "PATCH",
            "customers/{id}",
            path_params={"id": ref.record_id},
            json=payload,
            idempotent=True,
        )
        body = expect_dict(session.decode(response, "customers/{id}"), "mollie customer")
        return _customer(body, ref.record_id).fields

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
        return _listed(run, f"customers/{customer_id}/{what}", what)

    def _adjustments(self, run: Run, raw: JSONDict, payment: Draft) -> Iterator[Draft]:
        """The refunds and the chargebacks of the payment ``raw`` (read as ``payment``), each
        list asked for only when the payment shows it has some (:func:`_has`); rows naming
        another payment are left out."""
        payment_id = payment.record_id
        parent = ("payment", payment_id)
        refunds = _has(raw, "refunds", "amountRefunded")
        chargebacks = _has(raw, "chargebacks", "amountChargedBack")
        if (refunds or chargebacks) and not PAYMENT_ID.fullmatch(payment_id):
            # not an id Mollie gives: no path is made of it, and its lists stay unread
            for what, wanted in (("refunds", refunds), ("chargebacks", chargebacks)):
                if wanted:
                    run.report(what, ErrorKind.BAD_DATA)
            return
        for what, wanted, read in (
            ("refunds", refunds, self._refund),
            ("chargebacks", chargebacks, self._chargeback),
        ):
            if not wanted:
                continue
            rows = run.related(what, partial(_listed, run, f"payments/{payment_id}/{what}", what))
            yield from run.each(
                what,
                run.only_theirs(what, rows, _payment_of, payment_id),
                lambda row, read=read: [read(row, parent, payment.link)],
            )

    def _refund(self, raw: JSONDict, parent: tuple[str, str], payment_page: str | None) -> Draft:
        """A refund that names the payment it belongs to (else :class:`BadResponse`)."""
        if _payment_of(raw) is None:
            raise BadResponse("mollie: a refund names no payment", vendor=self.name)
        return Draft(
            "refund",
            expect_id(raw, "mollie refund"),
            {
                "amount": _money(raw.get("amount")),
                **pick(raw, "description", "status", "metadata", "paymentId"),
            },
            dates={"created": parse_datetime(raw.get("createdAt"))},
            link=_dashboard(raw) or payment_page,
            parent=parent,
        )

    def _chargeback(
        self, raw: JSONDict, parent: tuple[str, str], payment_page: str | None
    ) -> Draft:
        """A chargeback that names the payment it belongs to (else :class:`BadResponse`), with
        the reason the bank gave (Mollie gives one for direct debits only)."""
        if _payment_of(raw) is None:
            raise BadResponse("mollie: a chargeback names no payment", vendor=self.name)
        reason = raw.get("reason")
        if reason is not None:
            reason = expect_dict(reason, "mollie chargeback reason")
        return Draft(
            "chargeback",
            expect_id(raw, "mollie chargeback"),
            {
                "amount": _money(raw.get("amount")),
                "bank_reason_code": reason.get("code") if reason else None,
                "bank_reason": reason.get("description") if reason else None,
                **pick(raw, "paymentId"),
            },
            dates={
                "created": parse_datetime(raw.get("createdAt")),
                "reversed": parse_datetime(raw.get("reversedAt")),
            },
            link=_dashboard(raw) or payment_page,
            parent=parent,
        )

    def _payment(self, raw: JSONDict, parent: tuple[str, str] | None) -> Draft:
        details = raw.get("details")
        return Draft(
            "payment",
            expect_id(raw, "mollie payment"),
            {
                "amount": _money(raw.get("amount")),
                "amount_refunded": _money(raw.get("amountRefunded")),
                "amount_charged_back": _money(raw.get("amountChargedBack")),
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


def _customer(raw: JSONDict, customer_id: str) -> Draft:
    return Draft(
        "customer",
        customer_id,
        pick(raw, "name", "email", "locale", "metadata", "mode"),
        dates={"created": parse_datetime(raw.get("createdAt"))},
        link=_dashboard(raw),
    )


def _listed(run: Run, path: str, what: str) -> Iterator[JSONDict]:
    """The rows of the list at ``path`` (embedded as ``what``), paged by cursor."""
    return items(cursor_pages(run.http, path, embedded=what, params={"limit": PAGE_LIMIT}))


def _money(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    amount = expect_dict(value, "mollie amount")
    return f"{amount.get('value')} {amount.get('currency')}"


def _has(payment: JSONDict, what: str, amount: str) -> bool:
    """Whether a payment shows it has ``what`` (refunds, chargebacks): it links to them (Mollie
    gives the link only then) or its ``amount`` (``amountRefunded``, ``amountChargedBack``) is
    not zero. An amount that cannot be read may be any: the list is asked for."""
    links = payment.get("_links")
    if isinstance(links, dict) and links.get(what) is not None:
        return True
    money = payment.get(amount)
    if money is None:
        return False
    value = money.get("value") if isinstance(money, dict) else None
    try:
        return Decimal(str(value)) != 0
    except InvalidOperation:
        return True


def _linked_id(raw: JSONDict, link: str, collection: str) -> object:
    """The id ``raw``'s ``_links[link]`` points at (``…/{collection}/{id}``), or ``None``
    without that link. A link of another shape names no id (``""``)."""
    links = raw.get("_links")
    target = links.get(link) if isinstance(links, dict) else None
    if not isinstance(target, dict):
        return None
    href = target.get("href")
    if not isinstance(href, str):
        return ""
    try:
        path = urlsplit(href).path.rstrip("/")
    except ValueError:
        return ""
    head, _, found = path.rpartition("/")
    return found if head.endswith(f"/{collection}") else ""


def _linked_customer(raw: JSONDict) -> object:
    """The customer id a mandate's ``_links.customer`` points at (``…/customers/{id}``), or
    ``None`` without that link. A link of another shape names no id (``""``)."""
    return _linked_id(raw, "customer", "customers")


def _subscription_customer(raw: JSONDict) -> object:
    """The customer a subscription names: its ``customerId`` and ``_links.customer`` (either
    may be left out, not both); ``""`` (no one's) when the two disagree, ``None`` without
    either."""
    return _named(raw.get("customerId"), _linked_customer(raw))


def _payment_of(raw: JSONDict) -> object:
    """The payment a refund or a chargeback names: its ``paymentId`` and ``_links.payment``
    (``…/payments/{id}``), as :func:`_subscription_customer`."""
    return _named(raw.get("paymentId"), _linked_id(raw, "payment", "payments"))


def _named(named: object, linked: object) -> object:
    """The owner a row names by field (``named``) and by link (``linked``): either alone, or
    ``""`` (no one's) when the two disagree; ``None`` without either."""
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
