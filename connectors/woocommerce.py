"""WooCommerce (REST API ``wc/v3``): customer accounts, their orders, guest orders, order notes,
refunds and downloads.

Lookup: ``GET customers?email={addr}&role=all`` (exact at WooCommerce, compared again here), then
``GET orders?customer={id}`` for the account's orders, ``GET orders/{id}/notes`` per order and
``GET orders/{id}/refunds`` per order that lists refunds, ``GET customers/{id}/downloads`` for
the account's downloadable products, and ``GET orders?search={addr}`` for guest orders (a fuzzy
search: each order's own ``billing.email`` must equal the address). An order in someone else's
account billed to the address is the account holder's: it becomes a ``billed_order`` record
with only its number, date and that address (changed by hand by staff). Dates use the ``*_gmt``
fields (UTC without offset).

Both lookups by address compare the stored string (MySQL's, so without regard to case and
accents), and a shop may hold an internationalised domain as the customer typed it
(``jan@bücher.nl``) or in its ASCII form (``jan@xn--bcher-kva.nl``): each is asked in every
spelling of the address (:func:`~connectors.identity.email_spellings`; a plain ASCII address
has one), and what they find is compared exactly after normalisation as always.

Orders in the trash: ``status`` defaults to ``any``, which leaves them out, yet a trashed order
still holds the person's name, addresses and e-mail until it is deleted for good. So both order
lists are asked a second time with ``status=trash`` (``orders?customer={id}&status=trash`` and
``orders?search={addr}&status=trash``; a list with ``any`` in it would be ``any`` again), read
and matched exactly as the first, and the two are merged by order id. A trashed order keeps
``status: "trash"``; its notes are read as any order's. A trash list that fails is reported
missing under the same name as its first list (``orders``, ``guest_orders``). Trashed orders do
not count as the customer's "last order", as in WooCommerce's own ``get_last_order``.

Refunds: a refund (its amount, the reason typed for it, the lines refunded) is a record of its
own below the order (``refund``, id ``{order}/{refund}``), read from the order's refund list,
which follows ``Link: rel="next"``: only for an order whose own ``refunds`` list names some
(or that has no such list), not one request per order. Each refund names its order in
``_links.up``; one naming another order is left out (:meth:`~connectors.base.Run.only_theirs`),
one naming none is not shown and makes the result partial, and an order whose id is not a
number has no refund path made of it (partial too).
``refunded_by`` is not shown:
it is the WordPress user id of the shop's staff member who made the refund, someone else's
detail that says nothing about the customer. A refund is part of the order's books and the
REST API can only create and delete refunds, not change them: deleting one would make the
order look unrefunded, so erasure leaves refunds to staff (``none``). Its amount is in the
``payment`` category, like the order's payment details: money paid back is part of the books,
so a refund is kept by law for as long as the policy keeps payments, with its order.

Downloads: ``GET customers/{id}/downloads`` lists the downloadable products the account may
download (one row per file and order). A ``download`` record (id ``{order}/{download_id}``,
below its order) shows the product, the file's name, the downloads left and until when: not
``download_url`` nor ``file.file``, which are links that work for whoever holds them (the URL
carries the order key and a download key), so showing them would hand out access in every
export and copy of the page. Each row names its order (``order_id``); one naming none of the
account's orders is left out, and when the account's order lists are missing, so are its
downloads. The REST API cannot remove a download permission: staff do (the order's
"Downloadable product permissions", or WordPress's "Erase Personal Data" tool, whose
WooCommerce eraser removes them), so erasure leaves them to staff (``none``).

Config: ``base_url`` (the shop, e.g. ``https://shop.example.nl``, or its ``…/wp-json/wc/v3``
API root; plain HTTP only for localhost), ``consumer_key`` and ``consumer_secret`` (secrets; a
read/write key for corrections and erasure).

Links: an order paid through the Mollie plugin names its Mollie payment in ``transaction_id``
(``tr_…``); the gathering reads that payment from the Mollie connector (:attr:`links`).

Writing back: ``PUT customers/{id}`` (names, e-mail, billing and shipping fields).
Erasure: a customer account is deleted (``DELETE customers/{id}?force=true``; its orders stay,
with their own copies of the addresses, trashed ones too); an order note is deleted
(``DELETE orders/{id}/notes/{note}?force=true``). An order is anonymised by staff
(``none``, :data:`ORDER_BY_HAND`), never through the API: ``PUT orders/{id}`` with ``billing``
or ``shipping`` makes WooCommerce recalculate the order's totals and taxes (``save_object``
calls ``calculate_totals``), at today's rates and, with the address blanked, for the shop's
own country, so an old order's amounts and VAT would be rewritten; and the API cannot clear
the IP address and browser (user agent), which are read-only there. WooCommerce's own eraser
does all of it without recalculating: the order list's bulk action "Remove personal data"
(one order), or WordPress's Tools › Erase Personal Data (every order of an address, when
WooCommerce › Settings › Accounts & Privacy lets it remove order data). It replaces the
addresses, e-mail, phone numbers, IP address, browser and transaction id, unlinks the order
from the account, deletes its notes and marks it ``_anonymized``; the totals stay. An
anonymised order no longer names the customer, so :meth:`find` no longer finds it.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Iterator, Mapping
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
    Link,
    Match,
    Record,
    RecordRef,
    Run,
    read_candidate,
    write_payload,
)
from .errors import Answer, BadResponse, ErrorKind, NotFound, NotSupported, RequestRejected
from .http import HttpClient, HttpSession, RetryPolicy
from .identity import IdentifierKind, email_spellings, try_normalize
from .pagination import items, link_header_pages
from .parsing import (
    JSONDict,
    expect_dict,
    expect_id,
    expect_list,
    parse_datetime,
    pick,
    try_datetime,
)
from .registry import register
from .urls import api_root, require_safe_scheme, site_root

log = logging.getLogger(__name__)

API_PATH = "/wp-json/wc/v3"
#: The end of a refund's ``_links.up``: the order it belongs to.
_ORDER_LINK = re.compile(r"/orders/(\d+)/?$")
#: WooCommerce's codes for "no record with this id" (see :meth:`WooCommerceConnector.gone_answer`).
_INVALID_ID = re.compile(r"wc_user_invalid_id|woocommerce_rest_(?:\w+_)?invalid_id")
ADDRESS_KEYS = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
)

DEFAULT_CATEGORIES = MappingProxyType(
    {
        "customer.*": "customer_account",
        "customer.first_name": "identity",
        "customer.last_name": "identity",
        "customer.email": "contact",
        "customer.billing_email": "contact",
        "customer.billing_phone": "contact",
        "customer.shipping_phone": "contact",
        "customer.billing_address": "address",
        "customer.shipping_address": "address",
        "order.*": "orders",
        "order.billing_address": "address",
        "order.shipping_address": "address",
        "order.billing_email": "contact",
        "order.billing_phone": "contact",
        "order.shipping_phone": "contact",
        "order.payment_method": "payment",
        "order.payment_method_title": "payment",
        "order.transaction_id": "payment",
        "order.customer_ip_address": "technical",
        "order.customer_user_agent": "technical",
        "order_note.*": "orders",
        "refund.*": "orders",
        # money paid back: a payment, kept for the books as the order's payment details are
        "refund.amount": "payment",
        "download.*": "orders",
        "billed_order.*": "orders",
        "billed_order.billing_email": "contact",
    }
)


#: What WordPress's privacy tools write into an erased e-mail field (wp_privacy_anonymize_data).
ERASED_EMAIL = "deleted@site.invalid"
#: ... and into an erased text field (names, address lines, the browser), on an English site.
ERASED_TEXT = "[deleted]"

#: A download's ``downloads_remaining`` when WooCommerce sets no limit (it sends ``""``).
UNLIMITED = "unlimited"
#: A download's ``access_expires`` without an end date (WooCommerce's own word).
NEVER = "never"

#: The order lists' ``status`` for the orders in the trash, which the default ``any`` leaves out.
TRASH = "trash"

#: Where :meth:`WooCommerce.find` hands a guest order's "last order" to :meth:`expand` (a key no
#: WooCommerce payload has).
_LAST_ORDER = "__portal_last_order"

CORRECTABLE = MappingProxyType(
    {
        "customer": MappingProxyType(
            {
                "first_name": CorrectableField(
                    FieldKind.TEXT, "first_name", "Account details › First name"
                ),
                "last_name": CorrectableField(
                    FieldKind.TEXT, "last_name", "Account details › Last name"
                ),
                "email": CorrectableField(FieldKind.EMAIL, "email", "Account details › Email"),
                "billing_email": CorrectableField(
                    FieldKind.EMAIL, "billing.email", "Billing › Email address"
                ),
                "billing_phone": CorrectableField(
                    FieldKind.PHONE, "billing.phone", "Billing › Phone"
                ),
                "shipping_phone": CorrectableField(
                    FieldKind.PHONE, "shipping.phone", "Shipping › Phone"
                ),
                "billing_address": CorrectableField(
                    FieldKind.ADDRESS, "billing", "Billing", ADDRESS_KEYS
                ),
                "shipping_address": CorrectableField(
                    FieldKind.ADDRESS, "shipping", "Shipping", ADDRESS_KEYS
                ),
            }
        )
    }
)

#: Why an order's erasure is left to staff, and how they do it (the portal words the steps):
#: WooCommerce's own eraser, never ``PUT orders/{id}``, which recalculates the order (docstring).
ORDER_BY_HAND = "woo_order_by_hand"

ERASURE: Mapping[str, ErasureAction] = MappingProxyType(
    {
        "customer": "delete",
        # by staff with WooCommerce's own eraser: the API would recalculate it (docstring)
        "order": "none",
        "order_note": "delete",
        # part of the order's books, and the API cannot change one: staff decide (docstring)
        "refund": "none",
        # the API cannot remove a download permission: staff do (docstring)
        "download": "none",
    }
)


@register
class WooCommerceConnector(BaseConnector):
    """Reads a WooCommerce shop's customer account, orders (incl. guest orders) and notes."""

    name = "woocommerce"
    title = "WooCommerce"
    identifier_kinds = frozenset({IdentifierKind.EMAIL})
    config_schema = (
        ConfigField("base_url", required=True, description="Shop URL or its /wp-json/wc/v3 root."),
        ConfigField("consumer_key", required=True, secret=True, description="REST key ck_…"),
        ConfigField("consumer_secret", required=True, secret=True, description="Secret cs_…"),
    )
    default_categories = DEFAULT_CATEGORIES
    capabilities = frozenset({Capability.READ, Capability.CORRECT, Capability.ERASE})
    correctable = CORRECTABLE
    erasure = ERASURE
    erased_by_hand = MappingProxyType({"order": ORDER_BY_HAND})
    anonymised_by_hand = frozenset({"order"})  # WooCommerce's eraser keeps the amounts
    #: What WooCommerce's eraser replaces on an order (and the customer's note): an order
    #: holding any of them is not anonymised, whatever its e-mail address says.
    personal_fields = MappingProxyType(
        {
            "order": frozenset(
                {
                    "billing_address",
                    "billing_email",
                    "billing_phone",
                    "shipping_address",
                    "shipping_phone",
                    "customer_note",
                    "customer_ip_address",
                    "customer_user_agent",
                    "transaction_id",
                }
            )
        }
    )
    #: wp_privacy_anonymize_data's words for an erased e-mail address and text.
    erased_values = frozenset({ERASED_EMAIL, ERASED_TEXT})
    #: An order paid through the Mollie plugin names its Mollie payment (``tr_…``) in
    #: ``transaction_id``. Only the customer's own orders link: a ``billed_order`` is someone
    #: else's order and has no such field. Without the order lists those payments are out of
    #: reach too.
    links = (
        Link(
            "order", "transaction_id", "mollie", "payment", "order_payments",
            hidden_by=("orders", "guest_orders"),
        ),
    )  # fmt: skip
    found_parts = MappingProxyType(
        {"customer": "customers", "order": "guest_orders", "billed_order": "orders"}
    )
    record_places = MappingProxyType(
        {
            "customer": "Customers",
            "order": "Orders",
            "order_note": "Orders",
            "refund": "Orders",
            "download": "Orders",
            "billed_order": "Orders",
        }
    )
    field_places = MappingProxyType(
        {
            "order.billing_address": "Billing",
            "order.shipping_address": "Shipping",
            "order.billing_email": "Billing › Email address",
            "billed_order.billing_email": "Billing › Email address",
            "order.billing_phone": "Billing › Phone",
            "order.shipping_phone": "Shipping › Phone",
            "order.customer_note": "Customer provided note",
            "order.customer_ip_address": "Customer IP (read-only in the API)",
            "order.customer_user_agent": "Customer user agent (read-only in the API)",
            "order_note.note": "Note text",
            "refund.reason": "Reason for refund",
            "download.downloads_remaining": "Downloads remaining",
            "download.access_expires": "Access expires",
        }
    )

    def make_http(
        self,
        *,
        transport: httpx.BaseTransport | None,
        retry: RetryPolicy | None,
        timeout: httpx.Timeout,
    ) -> HttpClient:
        """Basic auth with the consumer key and secret (WooCommerce's HTTPS scheme)."""
        base = require_safe_scheme(self.name, str(self.config["base_url"]))
        self.api_url = api_root(base, API_PATH)
        self.admin_url = site_root(self.api_url, API_PATH) + "/wp-admin"
        return HttpClient(
            self.name,
            self.api_url,
            auth=(str(self.config["consumer_key"]), str(self.config["consumer_secret"])),
            timeout=timeout,
            retry=retry,
            transport=transport,
        )

    def find(self, run: Run) -> Iterator[Candidate]:
        """Customers by exact e-mail, then guest orders by e-mail search (filtered exactly),
        those in the trash too.

        The guest orders are searched first, so that a customer's "last order", which dates the
        account's orders and notes, also counts orders placed as a guest at the address their
        account was found by (and a guest order's counts the orders the search finds billed to
        its address, in an account or not).
        """
        emails = run.identity.values(IdentifierKind.EMAIL)
        searched = {email: self._billed_to(run, email) for email in emails}
        accounts: set[str] = set()  # the customer's own accounts
        for email in emails:
            for customer in self._accounts(run, email):
                last = searched[email][1]
                candidate = read_candidate(
                    "customer",
                    customer,
                    lambda row: ((IdentifierKind.EMAIL, row.get("email")),),
                    raw=lambda row, last=last: {**row, _LAST_ORDER: last},
                )
                if (
                    not candidate.unreadable
                    and run.identity.match(candidate.identifiers) is not None
                ):
                    accounts.add(candidate.record_id)
                yield candidate
        elsewhere: dict[str, bool] = {}  # someone else's account: does it still exist?
        for billed, last_order in searched.values():
            for order, billing in billed:
                if billing is None:
                    # whom it is billed to cannot be read: it may be the customer
                    yield Candidate("order", "", (), {}, unreadable=True, undecided=True)
                    continue
                theirs = ((IdentifierKind.EMAIL, billing.get("email")),)
                account = _account_of(order)
                if account is None:
                    # an account that is no id: the base class drops it unless it is theirs
                    yield Candidate("order", "", theirs, {}, unreadable=True)
                    continue
                # An order in someone else's account billed to this address holds the account
                # holder's data (delivery address, notes): only the address is the customer's.
                # Once that account is deleted, the order's own e-mail decides (as WooCommerce
                # itself has it: it makes such orders guest orders).
                own = account == "0" or account in accounts
                if not own and run.identity.match(theirs) is not None:
                    if account not in elsewhere:
                        elsewhere[account] = self._account_exists(run, account)
                    own = not elsewhere[account]
                yield read_candidate(
                    "order" if own else "billed_order",
                    order,
                    lambda _, theirs=theirs: theirs,
                    raw=lambda row, last=last_order: {**row, _LAST_ORDER: last},
                )

    @staticmethod
    def _accounts(run: Run, email: str) -> Iterator[JSONDict]:
        """The accounts ``customers?email=`` lists for each spelling of ``email``
        (:func:`~connectors.identity.email_spellings`: WooCommerce compares the stored string,
        and a shop may hold a domain in Unicode as the customer typed it); one listed for two
        spellings comes twice, and the base class keeps it once."""
        for spelling in email_spellings(email):
            params = {"email": spelling, "role": "all"}
            yield from items(link_header_pages(run.http, "customers", params=params))

    def _account_exists(self, run: Run, account: str) -> bool:
        """Whether customer ``account`` exists; when that cannot be told (the source failed),
        it is taken to exist and the check is reported missing."""
        exists = run.related("order_accounts", partial(self._lookup_account, run, account))
        return exists != [False]

    @staticmethod
    def _lookup_account(run: Run, account: str) -> list[bool]:
        try:
            run.http.get_json("customers/{id}", path_params={"id": account})
        except NotFound:
            return [False]
        return [True]

    def _billed_to(
        self, run: Run, email: str
    ) -> tuple[list[tuple[JSONDict, JSONDict | None]], Any]:
        """The orders the search finds for ``email`` (in each of its spellings,
        :func:`~connectors.identity.email_spellings`, each order once) with their billing
        (``None`` when it is no object), and the latest date of those billed to exactly this
        address (the search is fuzzy: others' orders never count; only the orders billed to it
        can match)."""
        found = _unique(
            [
                order
                for spelling in email_spellings(email)
                for order in _with_trash(
                    run, "guest_orders", partial(_searched_orders, run.http, spelling)
                )
            ]
        )
        billed = [(order, _billing(order)) for order in found]
        theirs = [
            try_datetime(order.get("date_created_gmt"))
            for order, billing in billed
            if billing is not None
            and try_normalize(IdentifierKind.EMAIL, billing.get("email")) == email
            and order.get("status") != TRASH
        ]
        return billed, max((d for d in theirs if d is not None), default=None)

    def expand(self, run: Run, match: Match) -> Iterator[Draft]:
        """A customer with its orders and their notes, or a guest order with its notes."""
        raw = dict(match.candidate.raw)
        last_order = raw.pop(_LAST_ORDER, None)
        if match.candidate.record_type == "order":
            # one of several orders found by the search: one that cannot be read is missing,
            # the others (and the account) are still shown
            order = partial(self._order, run, parent=None, last_order=last_order)
            yield from run.each("guest_orders", [raw], order)
            return
        if match.candidate.record_type == "billed_order":
            yield from run.each("orders", [raw], lambda row: [self._billed_order(row, last_order)])
            return
        customer_id = match.candidate.record_id
        listed: list[str | None] = []  # the statuses whose order list was read

        def account_orders(status: str | None) -> list[JSONDict]:
            rows = list(_account_orders(run.http, customer_id, status))
            listed.append(status)
            return rows

        orders = run.only_theirs(
            "orders",
            _with_trash(run, "orders", account_orders),
            lambda order: order.get("customer_id"),
            customer_id,
        )
        created = [
            try_datetime(o.get("date_created_gmt")) for o in orders if o.get("status") != TRASH
        ]
        # the latest of the account's orders and those billed to the address as a guest
        last_order = max((d for d in [*created, last_order] if d is not None), default=None)
        # the account that cannot be read is missing; its orders are still read by the id
        yield from run.each("customers", [raw], lambda row: [self._customer(row, last_order)])
        # "24 months after your last order" counts from the customer's last order, for every
        # order and note of theirs, not from each order's own date.
        yield from run.each(
            "orders",
            orders,
            partial(self._order, run, parent=("customer", customer_id), last_order=last_order),
        )
        if len(listed) < 2:
            # which orders are the account's is not known, so neither are its downloads
            kind = next(p.kind for p in reversed(run.missing) if p.what == "orders")
            run.report("downloads", kind)
            return
        rows = run.related("downloads", partial(_downloads, run.http, customer_id))
        downloads = _of_orders(rows, {_id_text(o.get("id")) for o in orders} - {None})
        yield from run.each("downloads", downloads, partial(self._download, last_order=last_order))

    def probe(self, run: Run) -> None:
        """List customers with an address nobody has: checks credentials, returns no data."""
        body, _ = run.http.get_json(
            "customers", params={"email": "healthcheck@invalid.example", "per_page": 1}
        )
        expect_list(body, "woocommerce customers")

    # -- writing back -------------------------------------------------------------------------

    def describe_target(self, ref: RecordRef, field_name: str | None = None) -> str:
        """A ``billed_order`` record is only an address in someone else's record: staff are
        pointed at that address (to erase it by hand), never at the whole record."""
        if ref.record_type == "billed_order" and field_name is None:
            field_name = "billing_email"
        return super().describe_target(ref, field_name)

    def locate(self, ref: RecordRef) -> list[str]:
        """Customers › #id, Orders › #id, Orders › #id › Notes › #note, Orders › #id ›
        Refunds › #refund, or Orders › #id › Downloadable product permissions › the file."""
        order_id, _, child = ref.record_id.partition("/")
        if ref.record_type == "order_note":
            return ["Orders", f"#{order_id}", "Notes", f"#{child}"]
        if ref.record_type == "refund":
            return ["Orders", f"#{order_id}", "Refunds", f"#{child}"]
        if ref.record_type == "download":
            return ["Orders", f"#{order_id}", "Downloadable product permissions", child]
        return super().locate(ref)

    def api_path(self, ref: RecordRef) -> str:
        """``customers/{id}``, ``orders/{id}``, ``orders/{id}/notes/{note}``,
        ``orders/{id}/refunds/{refund}`` or ``orders/{id}`` (a download's order)."""
        order_id, _, child = ref.record_id.partition("/")
        if ref.record_type == "order_note":
            return f"orders/{order_id}/notes/{child}"
        if ref.record_type == "refund":
            return f"orders/{order_id}/refunds/{child}"
        if ref.record_type == "download":
            return f"orders/{order_id}"
        return f"{'customers' if ref.record_type == 'customer' else 'orders'}/{ref.record_id}"

    def read_identifiers(
        self, session: HttpSession, ref: RecordRef
    ) -> list[tuple[IdentifierKind, object]]:
        """A customer's e-mail; an order's billing e-mail and its account's e-mail."""
        if ref.record_type == "customer":
            body, _ = session.get_json("customers/{id}", path_params={"id": ref.record_id})
            return [(IdentifierKind.EMAIL, expect_dict(body, "woocommerce customer").get("email"))]
        order_id = ref.record_id.partition("/")[0]
        body, _ = session.get_json("orders/{id}", path_params={"id": order_id})
        order = expect_dict(body, "woocommerce order")
        if ref.record_type == "order" and _anonymised(order):
            # Erased before: its e-mail is ERASED_EMAIL now, which matches nobody.
            raise NotFound(f"woocommerce: order {order_id} is already anonymised", vendor=self.name)
        billing = expect_dict(order.get("billing") or {}, "woocommerce order billing")
        billed: list[tuple[IdentifierKind, object]] = [(IdentifierKind.EMAIL, billing.get("email"))]
        if ref.record_type == "billed_order" or not order.get("customer_id"):
            return billed  # a guest order (or only its billing address): its e-mail decides
        try:
            body, _ = session.get_json("customers/{id}", path_params={"id": order["customer_id"]})
        except NotFound:
            return billed  # the account was deleted; the order's own e-mail decides
        # an order in an account is the account holder's, whoever it was billed to
        return [(IdentifierKind.EMAIL, expect_dict(body, "woocommerce customer").get("email"))]

    def write_field(
        self, session: HttpSession, ref: RecordRef, field_name: str, value: Any
    ) -> Mapping[str, Any]:
        """``PUT customers/{id}`` with only the changed field; the customer it answers with
        (WordPress ignores a parameter it does not take)."""
        payload = write_payload(self.correctable[ref.record_type][field_name], value)
        response = session.request(
            "PUT",
            "customers/{id}",
            path_params={"id": ref.record_id},
            json=payload,
            idempotent=True,
        )
        body = expect_dict(session.decode(response, "customers/{id}"), "woocommerce customer")
        return self._customer(body, None).fields

    def gone_answer(self, answer: Answer) -> bool:
        """WooCommerce's "invalid id" codes (``wc_user_invalid_id`` for a customer,
        ``woocommerce_rest_{type}_invalid_id`` or the older ``woocommerce_rest_invalid_id``
        for orders and notes); not ``rest_no_route``, which a shop without pretty permalinks
        or with a wrong base URL gives for every path."""
        body = answer.body
        code = body.get("code") if isinstance(body, dict) else None
        return answer.status == 404 and isinstance(code, str) and bool(_INVALID_ID.fullmatch(code))

    def still_personal(self, record: Record) -> list[str]:
        """As always, but an IP address WordPress anonymised (``wp_privacy_anonymize_ip``: the
        last part of an IPv4 address, all but the first 48 bits of an IPv6 one set to 0) is
        no longer the person's."""
        left = super().still_personal(record)
        if "customer_ip_address" in left and _anonymised_ip(
            record.fields.get("customer_ip_address")
        ):
            left.remove("customer_ip_address")
        return left

    def erase_record(self, session: HttpSession, ref: RecordRef, action: ErasureAction) -> None:
        """Delete a customer or an order note (an order is erased by staff: docstring)."""
        if ref.record_type == "customer":
            self._check_orders_stay_theirs(session, ref.record_id)
            session.request(
                "DELETE",
                "customers/{id}",
                path_params={"id": ref.record_id},
                params={"force": "true"},
                idempotent=True,
            )
        elif ref.record_type == "order_note":
            order_id, _, note_id = ref.record_id.partition("/")
            session.request(
                "DELETE",
                "orders/{order}/notes/{note}",
                path_params={"order": order_id, "note": note_id},
                params={"force": "true"},
                idempotent=True,
            )
        else:  # never an order update: WooCommerce would recalculate the order (docstring)
            raise NotSupported(
                f"woocommerce: {ref.record_type} records cannot be erased here",
                vendor=self.name,
                reason=self.erased_by_hand.get(ref.record_type),
            )

    def _check_orders_stay_theirs(self, session: HttpSession, customer_id: str) -> None:
        """Refuse to delete an account that still has orders billed to another address:
        WooCommerce turns an account's orders into guest orders when it is deleted, and those
        would then be that address's to see in full.

        :raises RequestRejected: such an order is kept (staff decide by hand).
        """
        body, _ = session.get_json("customers/{id}", path_params={"id": customer_id})
        own = try_normalize(
            IdentifierKind.EMAIL, expect_dict(body, "woocommerce customer").get("email")
        )
        # WooCommerce makes every order of a deleted account a guest order, trashed ones too.
        orders = [
            *_account_orders(session, customer_id),
            *_account_orders(session, customer_id, TRASH),
        ]
        for order in _unique(orders):
            billing = expect_dict(order.get("billing") or {}, "woocommerce order billing")
            billed = try_normalize(IdentifierKind.EMAIL, billing.get("email"))
            if billed not in (None, own, ERASED_EMAIL) and not _anonymised(order):
                raise RequestRejected(
                    "woocommerce: the account has orders billed to another e-mail address, "
                    "which would become that address's guest orders; erase by hand",
                    vendor=self.name,
                )

    def _customer(self, raw: JSONDict, last_order: Any) -> Draft:
        billing = expect_dict(raw.get("billing") or {}, "woocommerce billing")
        shipping = expect_dict(raw.get("shipping") or {}, "woocommerce shipping")
        customer_id = expect_id(raw, "woocommerce customer")
        return Draft(
            "customer",
            customer_id,
            {
                **pick(raw, "first_name", "last_name", "email", "username", "role"),
                "billing_address": _address(billing),
                "billing_email": billing.get("email"),
                "billing_phone": billing.get("phone"),
                "shipping_address": _address(shipping),
                "shipping_phone": shipping.get("phone"),
                **pick(raw, "is_paying_customer", "avatar_url"),
                "meta_data": _meta(raw),
            },
            dates={
                "created": parse_datetime(raw.get("date_created_gmt")),
                "updated": parse_datetime(raw.get("date_modified_gmt")),
                "last_order": last_order,
            },
            link=f"{self.admin_url}/user-edit.php?user_id={customer_id}",
        )

    def _billed_order(self, raw: JSONDict, last_order: Any) -> Draft:
        """Someone else's order billed to the customer's address: the order's number and date
        and the address itself, nothing of the account holder's."""
        order_id = expect_id(raw, "woocommerce order")
        billing = expect_dict(raw.get("billing") or {}, "woocommerce order billing")
        return Draft(
            "billed_order",
            order_id,
            {**pick(raw, "number"), "billing_email": billing.get("email")},
            dates={
                "created": parse_datetime(raw.get("date_created_gmt")),
                "last_order": last_order,
            },
            link=f"{self.admin_url}/post.php?post={order_id}&action=edit",
        )

    def _order(
        self,
        run: Run,
        raw: JSONDict,
        parent: tuple[str, str] | None,
        last_order: Any = None,
    ) -> Iterator[Draft]:
        """An order, then its notes (each note that cannot be read is reported missing)."""
        order_id = expect_id(raw, "woocommerce order")
        billing = expect_dict(raw.get("billing") or {}, "woocommerce order billing")
        shipping = expect_dict(raw.get("shipping") or {}, "woocommerce order shipping")
        lines = expect_list(raw.get("line_items") or [], "woocommerce line items")
        shipping_lines = expect_list(raw.get("shipping_lines") or [], "woocommerce shipping")
        yield Draft(
            "order",
            order_id,
            {
                **pick(raw, "number", "status", "currency", "total", "total_tax"),
                **pick(raw, "shipping_total", "discount_total", "customer_note"),
                "line_items": [pick(li, "name", "sku", "quantity", "total") for li in lines],
                "shipping_lines": [pick(sl, "method_title", "total") for sl in shipping_lines],
                "billing_address": _address(billing),
                "billing_email": billing.get("email"),
                "billing_phone": billing.get("phone"),
                "shipping_address": _address(shipping),
                "shipping_phone": shipping.get("phone"),
                **pick(raw, "payment_method", "payment_method_title", "transaction_id"),
                **pick(raw, "customer_ip_address", "customer_user_agent", "created_via"),
                "meta_data": _meta(raw),
            },
            dates={
                "created": parse_datetime(raw.get("date_created_gmt")),
                "updated": parse_datetime(raw.get("date_modified_gmt")),
                "paid": parse_datetime(raw.get("date_paid_gmt")),
                "completed": parse_datetime(raw.get("date_completed_gmt")),
                "last_order": last_order,
            },
            link=f"{self.admin_url}/post.php?post={order_id}&action=edit",
            parent=parent,
        )
        notes = run.related(
            "order_notes",
            lambda: expect_list(
                run.http.get_json("orders/{order}/notes", path_params={"order": order_id})[0],
                "woocommerce order notes",
            ),
        )
        yield from run.each(
            "order_notes", notes, partial(self._note, order_id=order_id, last_order=last_order)
        )
        if not _may_have_refunds(raw):
            return
        if _id_text(order_id) != order_id:
            # not an id WooCommerce gives: no path is made of it, and its refunds stay unread
            run.report("refunds", ErrorKind.BAD_DATA)
            return
        refunds = run.only_theirs(
            "refunds",
            run.related("refunds", partial(_refunds, run.http, order_id)),
            _refunded_order,
            order_id,
        )
        yield from run.each(
            "refunds", refunds, partial(self._refund, order_id=order_id, last_order=last_order)
        )

    def _note(self, note: JSONDict, *, order_id: str, last_order: Any) -> Iterator[Draft]:
        yield Draft(
            "order_note",
            f"{order_id}/{expect_id(note, 'woocommerce order note')}",
            pick(note, "note", "author", "customer_note"),
            dates={
                "created": parse_datetime(note.get("date_created_gmt")),
                "last_order": last_order,
            },
            link=f"{self.admin_url}/post.php?post={order_id}&action=edit",
            parent=("order", order_id),
        )

    def _refund(self, refund: JSONDict, *, order_id: str, last_order: Any) -> Iterator[Draft]:
        """A refund of order ``order_id``: its amount, reason and lines (not ``refunded_by``,
        the id of the staff member who made it). It is the customer's only because its order
        is, so it must name that order (``_links.up``): one naming none is not shown
        (:class:`BadResponse`, the list is partial); one naming another order was left out."""
        if _refunded_order(refund) is None:
            raise BadResponse("woocommerce refund: names no order")
        lines = expect_list(refund.get("line_items") or [], "woocommerce refund lines")
        yield Draft(
            "refund",
            f"{order_id}/{expect_id(refund, 'woocommerce refund')}",
            {
                **pick(refund, "amount", "reason"),
                "line_items": [pick(li, "name", "sku", "quantity", "total") for li in lines],
                "meta_data": _meta(refund),
            },
            dates={
                "created": parse_datetime(refund.get("date_created_gmt")),
                "last_order": last_order,
            },
            link=f"{self.admin_url}/post.php?post={order_id}&action=edit",
            parent=("order", order_id),
        )

    def _download(self, row: JSONDict, *, last_order: Any) -> Iterator[Draft]:
        """A file the account may download: product, file name, downloads left and until
        when; never its URLs, which let anyone who holds them download it."""
        order_id = _id_text(row.get("order_id"))
        if order_id is None:  # ``_of_orders`` lets it through to be reported, not shown
            raise BadResponse("woocommerce download: order_id is no order id")
        download_id = row.get("download_id")
        if not isinstance(download_id, str) or not download_id.strip():
            raise BadResponse("woocommerce download: no download_id")
        file = expect_dict(row.get("file") or {}, "woocommerce download file")
        yield Draft(
            "download",
            f"{order_id}/{download_id.strip()}",
            {
                **pick(row, "product_name"),
                "download_name": row.get("download_name") or file.get("name"),
                # "": no limit, which an empty field would hide
                "downloads_remaining": row.get("downloads_remaining") or UNLIMITED,
                "access_expires": _expiry(row.get("access_expires_gmt")),
            },
            dates={"last_order": last_order},
            link=f"{self.admin_url}/post.php?post={order_id}&action=edit",
            parent=("order", order_id),
        )


def _orders(session: HttpSession, params: dict[str, str], status: str | None) -> Iterator[JSONDict]:
    """The orders list for ``params``: those of ``status`` (``trash``), or by default those
    of every status but the trash."""
    return items(
        link_header_pages(
            session, "orders", params={**params, **({"status": status} if status else {})}
        )
    )


def _expiry(value: object) -> str | None:
    """A download's end date (``access_expires_gmt``, UTC without offset) as an ISO moment
    with its offset, or ``never`` (WooCommerce's word for no end date) as it is.

    :raises BadResponse: it is neither.
    """
    if value == NEVER:
        return NEVER
    moment = parse_datetime(value, "woocommerce download access_expires_gmt")
    return moment.isoformat() if moment is not None else None


def _may_have_refunds(order: JSONDict) -> bool:
    """Whether to ask for an order's refund list. WooCommerce lists every refund of an order
    (id, reason, total) in the order's own ``refunds``, so an order whose ``refunds`` is an
    empty list has none, and asking would cost a request per order for nothing; an order
    without that list, or with something else there, is asked."""
    listed = order.get("refunds")
    return not (isinstance(listed, list) and not listed)


def _refunds(session: HttpSession, order_id: str) -> Iterator[JSONDict]:
    """The refunds of order ``order_id`` (a paged list, like every WooCommerce collection)."""
    return items(link_header_pages(session, f"orders/{order_id}/refunds"))


def _refunded_order(refund: JSONDict) -> object:
    """The id of the order a refund names (its ``_links.up``: ``…/orders/{id}``), ``None``
    when it names none, or the link itself when it is no order's."""
    links = refund.get("_links")
    up = links.get("up") if isinstance(links, dict) else None
    if not isinstance(up, list) or not up or not isinstance(up[0], dict):
        return None
    href = up[0].get("href")
    if not isinstance(href, str):
        return None
    match = _ORDER_LINK.search(href)
    return match.group(1) if match else href


def _downloads(session: HttpSession, customer_id: str) -> list[JSONDict]:
    """The account's downloads (``customers/{id}/downloads``: one list, not paged)."""
    body, _ = session.get_json("customers/{id}/downloads", path_params={"id": customer_id})
    return [
        expect_dict(row, "woocommerce download")
        for row in expect_list(body, "woocommerce downloads")
    ]


def _of_orders(rows: list[JSONDict], order_ids: set[str | None]) -> list[JSONDict]:
    """The downloads of ``rows`` that name one of the account's orders, or no usable order
    (those fail to read, and are reported missing); others are left out, logged by count."""
    kept = [row for row in rows if _id_text(row.get("order_id")) in order_ids | {None}]
    if len(kept) < len(rows):
        log.warning(
            "woocommerce: %d downloads named another order, left out", len(rows) - len(kept)
        )
    return kept


def _id_text(value: object) -> str | None:
    """An id (a positive whole number or its text) as text, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    return text if text.isdigit() else None


def _billing(order: JSONDict) -> JSONDict | None:
    """An order's billing details (``{}`` for none), or ``None`` when they are no object."""
    billing = order.get("billing") or {}
    return billing if isinstance(billing, dict) else None


def _account_of(order: JSONDict) -> str | None:
    """The id of the account an order was placed with (``"0"``: a guest order), or ``None``
    when it is no id."""
    account = order.get("customer_id") or 0
    if isinstance(account, bool) or not isinstance(account, int | str):
        return None
    text = str(account).strip()
    return text if text.isdigit() else None


def _account_orders(
    session: HttpSession, customer_id: str, status: str | None = None
) -> Iterator[JSONDict]:
    """The orders of account ``customer_id`` (see :func:`_orders`)."""
    return _orders(session, {"customer": customer_id}, status)


def _searched_orders(
    session: HttpSession, email: str, status: str | None = None
) -> Iterator[JSONDict]:
    """The orders WooCommerce's fuzzy search over names, addresses and e-mail finds for
    ``email`` (see :func:`_orders`): `find` compares each one's billing address exactly."""
    return _orders(session, {"search": email}, status)


def _with_trash(
    run: Run, what: str, load: Callable[[str | None], Iterator[JSONDict]]
) -> list[JSONDict]:
    """The orders ``load`` lists, then those it lists in the trash, each once; either list
    failing is the related list ``what`` missing."""
    return _unique(
        [*run.related(what, partial(load, None)), *run.related(what, partial(load, TRASH))]
    )


def _unique(orders: list[JSONDict]) -> list[JSONDict]:
    """``orders`` without repeats of an id: an order trashed or restored between the reading
    of two lists is in both."""
    seen: set[str] = set()
    unique: list[JSONDict] = []
    for order in orders:
        key = order.get("id")
        if isinstance(key, int | str):
            if str(key) in seen:
                continue
            seen.add(str(key))
        unique.append(order)
    return unique


def _anonymised(order: JSONDict) -> bool:
    meta = order.get("meta_data")
    return isinstance(meta, list) and any(
        isinstance(m, dict) and m.get("key") == "_anonymized" and m.get("value") == "yes"
        for m in meta
    )


def _anonymised_ip(value: object) -> bool:
    """Whether an IP address is one WordPress anonymised (``wp_privacy_anonymize_ip``): an
    IPv4 address ending in 0, an IPv6 address of which only the first 48 bits are left."""
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError:
        return False
    kept_bits = 24 if address.version == 4 else 48
    return int(address) & ((1 << (address.max_prefixlen - kept_bits)) - 1) == 0


def _address(raw: JSONDict) -> dict[str, Any]:
    return {k: raw[k] for k in ADDRESS_KEYS if raw.get(k)}


def _meta(raw: JSONDict) -> list[dict[str, Any]]:
    meta = expect_list(raw.get("meta_data") or [], "woocommerce meta_data")
    # Keys starting with "_" are WordPress-internal, but may still be personal (payment ids).
    return [pick(m, "key", "value") for m in meta]
