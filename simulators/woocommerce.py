"""WooCommerce REST API (``/wp-json/wc/v3``) simulator.

Behaviour copied from the reference notes: Basic auth with ``ck_…:cs_…`` (or the
``consumer_key``/``consumer_secret`` query parameters, checked first); an unknown key is
treated as an anonymous user and fails the permission check with 401
``woocommerce_rest_cannot_view``; a wrong secret gives ``woocommerce_rest_authentication_error``;
``email=`` is exact, ``search=`` is a ``*term*`` wildcard over login, e-mail, URL and display
name, both compared as MySQL's collation (``utf8mb4_unicode_520_ci``, WordPress's default)
compares: without regard to case or accents (``jan@bücher.nl`` equals ``JAN@bucher.nl``, not
``jan@xn--bcher-kva.nl``, the same mailbox in punycode; so does the check that an account's
new e-mail is not taken, and the orders' ``search=``); the customer list only shows
``role=customer`` unless ``role=all``; ``X-WP-Total``/``X-WP-TotalPages`` and a ``Link``
header with only ``prev``/``next``; ``per_page`` above 100 gives 400 ``rest_invalid_param``;
deleting needs ``force=true`` (else 501). The simulator accepts Basic auth over plain HTTP
(it stands in for an HTTPS shop).

Orders in the trash: ``GET orders`` hides them unless ``status`` asks for ``trash`` (``trash``
alone, or a list of statuses with it); ``status=any``, the default, hides them, and so does any
list with ``any`` in it (WooCommerce's ``any`` wins over the rest of the list). Everything else
treats a trashed order as an order: ``GET orders/{id}``, its notes, and ``PUT orders/{id}``
(WooCommerce's update loads the order whatever its status and saves it; it stays in the trash).

Writes: ``PUT customers/{id}`` and ``PUT orders/{id}`` (billing, shipping, customer note,
meta data; a malformed non-empty ``billing.email`` is a 400 ``rest_invalid_param`` as WordPress's
schema validation gives it). An order update that holds ``billing`` or ``shipping`` recalculates
the order's taxes and totals, as WooCommerce's ``save_object`` does (``calculate_totals(true)``
whenever the request has ``billing``, ``shipping`` or any line list): at the shop's rates of
today (:data:`TAX_RATES`, per line, rounded per line) for the order's tax location, its
shipping country, else its billing country, else the shop's own (:data:`BASE_COUNTRY`); so
blanking an order's addresses taxes it as a sale in the shop's country. Staff's own eraser in
WordPress, which no REST route offers, is :meth:`WooCommerceSimulator.remove_personal_data`.
``DELETE customers/{id}?force=true``, ``DELETE orders/{id}`` (to the
trash; 410 ``woocommerce_rest_already_trashed`` when it is there already; ``force=true`` deletes
it for good, with its notes, refunds and download permissions) and ``DELETE
orders/{id}/notes/{note}?force=true`` (notes cannot be trashed: 501 without ``force``).

Refunds: ``GET orders/{id}/refunds`` (paged; each names its order in ``_links.up``). Downloads:
``GET customers/{id}/downloads`` (one list; a deleted account's cannot be listed).
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import math
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from simulators.base import SimulatorApp
from simulators.world import World, wc_dates

__all__ = ["DEFAULT_CREDENTIALS", "WooCommerceSimulator", "create_app"]

PREFIX = "/wp-json/wc/v3"

#: Demo credentials (a read/write key and a read-only key).
DEFAULT_CREDENTIALS: dict[str, str] = {
    "consumer_key": "ck_demo_5f2b8c1e9a7d4b3c6e0f1a2b3c4d5e6f7a8b9c0d",
    "consumer_secret": "cs_demo_0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c",
    "readonly_consumer_key": "ck_demo_readonly_1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c",
    "readonly_consumer_secret": "cs_demo_readonly_5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a",
}

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: The shop's standard tax rates today (percent) by country, as ``calculate_totals`` charges an
#: order recalculated now: not the rates the order was placed at (the Dutch low rate went from
#: 6% to 9% in 2019; a sale to another EU country is taxed at that country's rate).
TAX_RATES: dict[str, Decimal] = {
    "NL": Decimal(21),
    "BE": Decimal(21),
    "DE": Decimal(19),
    "FR": Decimal(20),
}
#: The shop's own country: the tax location of an order without a country.
BASE_COUNTRY = "NL"
#: What WordPress writes in place of erased text, and e-mail (``wp_privacy_anonymize_data``).
ERASED_TEXT = "[deleted]"
ERASED_EMAIL = "deleted@site.invalid"


def collate(text: str) -> str:
    """``text`` as MySQL's accent- and case-insensitive collation compares it (close enough):
    accents dropped, then case-folded. Two strings are equal to WordPress's queries when their
    collated forms are."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_WRITE_METHODS = {"PUT", "POST", "PATCH", "DELETE"}
_BASIC_REALM = (
    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer '
    'secret in the password field."'
)
_PERMISSION_ERRORS = {
    "customers": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "orders": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "order_notes": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "order_refunds": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "customer_downloads": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "customer": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "order": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "customer_update": (
        "woocommerce_rest_cannot_edit",
        "Sorry, you are not allowed to edit this resource.",
    ),
    "customer_delete": (
        "woocommerce_rest_cannot_delete",
        "Sorry, you are not allowed to delete this resource.",
    ),
    "order_update": (
        "woocommerce_rest_cannot_edit",
        "Sorry, you are not allowed to edit this resource.",
    ),
    "order_delete": (
        "woocommerce_rest_cannot_delete",
        "Sorry, you are not allowed to delete this resource.",
    ),
    "order_note_delete": (
        "woocommerce_rest_cannot_delete",
        "Sorry, you are not allowed to delete this resource.",
    ),
}
#: The order statuses of a shop without status plugins (``wc_get_order_statuses`` without the
#: ``wc-`` prefix, plus ``auto-draft``): what ``status`` may say, besides ``any`` and ``trash``.
ORDER_STATUSES = (
    "auto-draft",
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
_SERVER_ERROR_HTML = (
    "<!DOCTYPE html><html><head><title>WordPress &rsaquo; Error</title></head><body>"
    "<p>There has been a critical error on this website.</p></body></html>"
)
#: WordPress's own maintenance page (``wp_maintenance()`` while updating plugins or core):
#: 503 with ``Retry-After``.
_MAINTENANCE_HTML = (
    "<!DOCTYPE html><html><head><title>Maintenance</title></head><body>"
    "<h1>Briefly unavailable for scheduled maintenance. Check back in a minute.</h1>"
    "</body></html>"
)
_RATE_LIMIT_HTML = (
    "<!DOCTYPE html><html><head><title>429 Too Many Requests</title></head><body>"
    "<h1>Too Many Requests</h1><p>Your request has been rate limited by the host.</p>"
    "</body></html>"
)


class WooCommerceSimulator(SimulatorApp):
    """In-memory WooCommerce shop (customers, orders, order notes, refunds, downloads)."""

    vendor = "woocommerce"
    api_prefix = PREFIX
    json_content_type = "application/json; charset=UTF-8"
    url_map = Map(
        [
            Rule(f"{PREFIX}/customers", endpoint="customers", methods=["GET"]),
            Rule(f"{PREFIX}/customers/<int:cid>", endpoint="customer", methods=["GET"]),
            Rule(
                f"{PREFIX}/customers/<int:cid>",
                endpoint="customer_update",
                methods=["PUT", "POST", "PATCH"],
            ),
            Rule(f"{PREFIX}/customers/<int:cid>", endpoint="customer_delete", methods=["DELETE"]),
            Rule(f"{PREFIX}/orders", endpoint="orders", methods=["GET"]),
            Rule(f"{PREFIX}/orders/<int:oid>", endpoint="order", methods=["GET"]),
            Rule(
                f"{PREFIX}/orders/<int:oid>",
                endpoint="order_update",
                methods=["PUT", "POST", "PATCH"],
            ),
            Rule(f"{PREFIX}/orders/<int:oid>", endpoint="order_delete", methods=["DELETE"]),
            Rule(f"{PREFIX}/orders/<int:oid>/notes", endpoint="order_notes", methods=["GET"]),
            Rule(
                f"{PREFIX}/orders/<int:oid>/notes/<int:nid>",
                endpoint="order_note_delete",
                methods=["DELETE"],
            ),
            Rule(f"{PREFIX}/orders/<int:oid>/refunds", endpoint="order_refunds", methods=["GET"]),
            Rule(
                f"{PREFIX}/customers/<int:cid>/downloads",
                endpoint="customer_downloads",
                methods=["GET"],
            ),
        ],
        strict_slashes=False,
    )

    def __init__(
        self,
        world: World | None = None,
        *,
        consumer_key: str = DEFAULT_CREDENTIALS["consumer_key"],
        consumer_secret: str = DEFAULT_CREDENTIALS["consumer_secret"],
        readonly_consumer_key: str = DEFAULT_CREDENTIALS["readonly_consumer_key"],
        readonly_consumer_secret: str = DEFAULT_CREDENTIALS["readonly_consumer_secret"],
        **kwargs: Any,
    ) -> None:
        self.keys: dict[str, tuple[str, str]] = {
            consumer_key: (consumer_secret, "read_write"),
            readonly_consumer_key: (readonly_consumer_secret, "read"),
        }
        self._credentials = {"consumer_key": consumer_key, "consumer_secret": consumer_secret}
        self.readonly_credentials = {
            "consumer_key": readonly_consumer_key,
            "consumer_secret": readonly_consumer_secret,
        }
        super().__init__(world, **kwargs)

    # ------------------------------------------------------------------ state

    def load_state(self, world: World) -> None:
        """Take customers, orders, order notes, refunds and download permissions from the
        world."""
        data = world.woocommerce
        self.customers: dict[int, dict[str, Any]] = {c["id"]: c for c in data["customers"]}
        self.orders: dict[int, dict[str, Any]] = {o["id"]: o for o in data["orders"]}
        self.order_notes: dict[int, list[dict[str, Any]]] = dict(data["order_notes"])
        self.refunds: dict[int, list[dict[str, Any]]] = dict(data["refunds"])
        #: customer id -> download permissions (WooCommerce keeps them per user and order)
        self.downloads: dict[int, list[dict[str, Any]]] = dict(data["downloads"])
        #: the shop's tax rates today (tests change them as a shop's rates change)
        self.tax_rates: dict[str, Decimal] = dict(TAX_RATES)

    @property
    def credentials(self) -> dict[str, str]:
        """``consumer_key`` and ``consumer_secret`` of the read/write demo key."""
        return dict(self._credentials)

    # ------------------------------------------------------------------- auth

    @staticmethod
    def _error(code: str, message: str, status: int, **extra: Any) -> dict[str, Any]:
        return {"code": code, "message": message, "data": {"status": status, **extra}}

    def _permission_error(self, endpoint: str) -> Response:
        code, message = _PERMISSION_ERRORS.get(endpoint, _PERMISSION_ERRORS["customers"])
        return self.json(self._error(code, message, 401), 401)

    def authenticate(self, request: Request, endpoint: str) -> Response | None:
        """Apply WooCommerce's key checks (query parameters first, then Basic)."""
        key = request.args.get("consumer_key", "")
        secret = request.args.get("consumer_secret", "")
        via_basic = False
        if not (key and secret):
            key, secret = "", ""
            header = request.headers.get("Authorization", "")
            if header[:6].lower() == "basic ":
                try:
                    decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    decoded = ""
                key, _, secret = decoded.partition(":")
                via_basic = True
        if not key or not secret or key not in self.keys:
            return self._permission_error(endpoint)  # anonymous user
        expected, permission = self.keys[key]
        headers = {"WWW-Authenticate": _BASIC_REALM} if via_basic else {}
        if secret != expected:
            body = self._error(
                "woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401
            )
            return self.json(body, 401, headers)
        if request.method in _WRITE_METHODS and permission == "read":
            body = self._error(
                "woocommerce_rest_authentication_error",
                "The API key provided does not have write permissions.",
                401,
            )
            return self.json(body, 401, headers)
        return None

    def expired_credentials_response(self, request: Request) -> Response:
        """A revoked key is an unknown key: 401 ``woocommerce_rest_cannot_view``."""
        try:
            endpoint, _ = self.url_map.bind_to_environ(request.environ).match()
        except HTTPException:  # unknown route or method: fall back to the list text
            endpoint = "customers"
        return self._permission_error(str(endpoint))

    def rate_limit_response(self, retry_after: int) -> Response:
        """Hosts/WAFs answer 429 with an HTML page and ``Retry-After``."""
        return Response(
            _RATE_LIMIT_HTML,
            status=429,
            headers={"Retry-After": str(retry_after)},
            content_type="text/html; charset=UTF-8",
        )

    def unavailable_response(self) -> Response:
        """WordPress in maintenance mode: 503 with its HTML page."""
        return Response(_MAINTENANCE_HTML, status=503, content_type="text/html; charset=UTF-8")

    def server_error_response(self) -> Response:
        """A PHP fatal error: 500 with WordPress's HTML error page."""
        return Response(_SERVER_ERROR_HTML, status=500, content_type="text/html; charset=UTF-8")

    def no_route_response(self, request: Request) -> Response:
        """404 ``rest_no_route``."""
        body = self._error(
            "rest_no_route", "No route was found matching the URL and request method.", 404
        )
        return self.json(body, 404)

    def method_not_allowed_response(self, request: Request, allowed: Sequence[str]) -> Response:
        """WordPress answers a wrong method on a known path with ``rest_no_route`` too."""
        return self.no_route_response(request)

    # --------------------------------------------------------------- helpers

    def _invalid_param(self, name: str, message: str) -> Response:
        body = self._error(
            "rest_invalid_param",
            f"Invalid parameter(s): {name}",
            400,
            params={name: message},
            details={name: {"code": "rest_out_of_bounds", "message": message, "data": None}},
        )
        return self.json(body, 400)

    def _paging(self, request: Request) -> tuple[int, int, int] | Response:
        values: dict[str, int] = {}
        for name, default, low, high in (
            ("page", 1, 1, None),
            ("per_page", 10, 1, 100),
            ("offset", 0, 0, None),
        ):
            raw = request.args.get(name)
            if raw is None or raw == "":
                values[name] = default
                continue
            try:
                value = int(raw)
            except ValueError:
                return self._invalid_param(name, f"{name} is not of type integer.")
            if value < low or (high is not None and value > high):
                if high is None:
                    msg = f"{name} must be greater than or equal to {low}"
                else:
                    msg = f"{name} must be between {low} (inclusive) and {high} (inclusive)"
                return self._invalid_param(name, msg)
            values[name] = value
        return values["page"], values["per_page"], values["offset"]

    def _collection(
        self, request: Request, items: list[dict[str, Any]], page: int, per_page: int, offset: int
    ) -> Response:
        total = len(items)
        start = offset if "offset" in request.args else (page - 1) * per_page
        chunk = items[start : start + per_page]
        total_pages = math.ceil(total / per_page) if total else 0
        if "offset" in request.args:
            page = start // per_page + 1
        headers = {
            "X-WP-Total": str(total),
            "X-WP-TotalPages": str(total_pages),
            "Allow": "GET, POST",
        }
        links = []
        if page > 1 and total_pages:
            links.append((self.page_url(request, page=min(page - 1, total_pages)), "prev"))
        if page < total_pages:
            links.append((self.page_url(request, page=page + 1), "next"))
        if links:
            headers["Link"] = self.link_header(links)
        return self.json(chunk, 200, headers)

    def _api(self, request: Request) -> str:
        return request.host_url.rstrip("/") + PREFIX

    def _render_customer(self, request: Request, c: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(c)
        api = self._api(request)
        out["_links"] = {
            "self": [{"href": f"{api}/customers/{c['id']}"}],
            "collection": [{"href": f"{api}/customers"}],
        }
        return out

    def _render_order(self, request: Request, o: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(o)
        api = self._api(request)
        links: dict[str, Any] = {
            "self": [{"href": f"{api}/orders/{o['id']}"}],
            "collection": [{"href": f"{api}/orders"}],
        }
        if o.get("customer_id"):
            links["customer"] = [{"href": f"{api}/customers/{o['customer_id']}"}]
        out["_links"] = links
        return out

    def _customer_404(self) -> Response:
        return self.json(self._error("wc_user_invalid_id", "Invalid user ID.", 404), 404)

    def _touch(self, c: dict[str, Any]) -> None:
        c["date_modified"], c["date_modified_gmt"] = wc_dates(self.now())

    # ------------------------------------------------------------- customers

    def on_customers(self, request: Request) -> Response:
        """``GET /customers`` with ``email``, ``search``, ``role``, paging and ordering."""
        paging = self._paging(request)
        if isinstance(paging, Response):
            return paging
        items = list(self.customers.values())
        role = request.args.get("role", "customer")
        if role != "all":
            items = [c for c in items if c["role"] == role]
        email = request.args.get("email")
        if email:
            items = [c for c in items if collate(c["email"]) == collate(email.strip())]
        search = collate(request.args.get("search", "").strip())
        if search:
            items = [
                c
                for c in items
                if any(
                    search in collate(v or "")
                    for v in (
                        c["username"],
                        c["email"],
                        f"{c['first_name']} {c['last_name']}",
                        c.get("url", ""),
                    )
                )
            ]
        include = request.args.get("include")
        if include:
            wanted = {int(x) for x in include.split(",") if x.strip().isdigit()}
            items = [c for c in items if c["id"] in wanted]
        orderby = request.args.get("orderby", "id")
        keyfuncs: dict[str, Any] = {
            "id": lambda c: c["id"],
            "include": lambda c: c["id"],
            "name": lambda c: (f"{c['first_name']} {c['last_name']}".lower(), c["id"]),
            "registered_date": lambda c: (c["date_created_gmt"], c["id"]),
        }
        if orderby not in keyfuncs:
            return self._invalid_param(
                "orderby", "orderby is not one of id, include, name, and registered_date."
            )
        items.sort(key=keyfuncs[orderby], reverse=request.args.get("order", "asc") == "desc")
        rendered = [self._render_customer(request, c) for c in items]
        return self._collection(request, rendered, *paging)

    def on_customer(self, request: Request, cid: int) -> Response:
        """``GET /customers/{id}``."""
        c = self.customers.get(cid)
        if c is None:
            return self._customer_404()
        return self.json(self._render_customer(request, c))

    def on_customer_update(self, request: Request, cid: int) -> Response:
        """``PUT /customers/{id}``: names, e-mail, billing, shipping and meta_data."""
        c = self.customers.get(cid)
        if c is None:
            return self._customer_404()
        data = request.get_json(force=True, silent=True)
        if not isinstance(data, dict):
            data = {k: v for k, v in request.form.items()}
        if "username" in data and data["username"] != c["username"]:
            body = self._error(
                "woocommerce_rest_customer_invalid_argument", "Username isn't editable.", 400
            )
            return self.json(body, 400)
        if "email" in data:
            new = str(data["email"]).strip()
            taken = any(
                collate(o["email"]) == collate(new) for o in self.customers.values() if o is not c
            )
            if not _EMAIL_RE.match(new) or taken:
                body = self._error(
                    "woocommerce_rest_customer_invalid_email", "Email address is invalid.", 400
                )
                return self.json(body, 400)
            if c["role"] not in ("customer", "subscriber") and new != c["email"]:
                body = self._error(
                    "woocommerce_rest_cannot_edit",
                    "Sorry, you are not allowed to edit this resource.",
                    403,
                )
                return self.json(body, 403)
            c["email"] = new
        invalid = self._invalid_billing_email(data)
        if invalid is not None:
            return invalid
        for field in ("first_name", "last_name"):
            if field in data:
                c[field] = str(data[field])
        self._update_sections(c, data)
        self._update_meta(c, data, cid * 100)
        self._touch(c)
        return self.json(self._render_customer(request, c))

    def _invalid_billing_email(self, data: dict[str, Any]) -> Response | None:
        """WordPress's schema check of ``billing.email`` (``format: email``; empty is allowed)."""
        billing = data.get("billing")
        if not isinstance(billing, dict) or not billing.get("email"):
            return None
        if _EMAIL_RE.match(str(billing["email"]).strip()):
            return None
        body = self._error(
            "rest_invalid_param",
            "Invalid parameter(s): billing",
            400,
            params={"billing": "billing[email] is not a valid email address."},
            details={
                "billing": {
                    "code": "rest_invalid_email",
                    "message": "Invalid email address.",
                    "data": None,
                }
            },
        )
        return self.json(body, 400)

    @staticmethod
    def _update_sections(target: dict[str, Any], data: dict[str, Any]) -> None:
        for section in ("billing", "shipping"):
            if isinstance(data.get(section), dict):
                for key, value in data[section].items():
                    if key in target[section]:
                        target[section][key] = "" if value is None else str(value).strip()

    @staticmethod
    def _update_meta(target: dict[str, Any], data: dict[str, Any], id_base: int) -> None:
        if not isinstance(data.get("meta_data"), list):
            return
        next_id = max((m["id"] for m in target["meta_data"]), default=id_base) + 1
        for entry in data["meta_data"]:
            if not isinstance(entry, dict) or "key" not in entry:
                continue
            existing = next(
                (m for m in target["meta_data"] if m["id"] == entry.get("id")), None
            ) or next((m for m in target["meta_data"] if m["key"] == entry["key"]), None)
            if existing:
                existing["value"] = entry.get("value")
            else:
                target["meta_data"].append(
                    {"id": next_id, "key": entry["key"], "value": entry.get("value")}
                )
                next_id += 1

    def on_customer_delete(self, request: Request, cid: int) -> Response:
        """``DELETE /customers/{id}?force=true``; without ``force`` the answer is 501."""
        c = self.customers.get(cid)
        if c is None:
            return self._customer_404()
        if request.args.get("force", "").lower() not in ("true", "1"):
            body = self._error(
                "woocommerce_rest_trash_not_supported", "Customers do not support trashing.", 501
            )
            return self.json(body, 501)
        rendered = self._render_customer(request, c)
        del self.customers[cid]
        # WooCommerce's wc_reset_order_customer_id_on_deleted_user: the account's orders
        # become guest orders.
        for order in self.orders.values():
            if order["customer_id"] == cid:
                order["customer_id"] = 0
        return self.json(rendered)

    # ---------------------------------------------------------------- orders

    @staticmethod
    def _order_index(o: dict[str, Any]) -> str:
        parts: list[str] = [str(o["id"]), o["number"]]
        for section in ("billing", "shipping"):
            parts.extend(str(v) for v in o[section].values())
        parts.extend(li["name"] for li in o["line_items"])
        return collate(" ".join(parts))

    def on_orders(self, request: Request) -> Response:
        """``GET /orders`` with ``customer``, ``search``, ``status``, paging and ordering."""
        paging = self._paging(request)
        if isinstance(paging, Response):
            return paging
        statuses = self._statuses(request)
        if isinstance(statuses, Response):
            return statuses
        items = list(self.orders.values())
        if statuses is None:  # ``any``: every status but the trash
            items = [o for o in items if o["status"] != "trash"]
        else:
            items = [o for o in items if o["status"] in statuses]
        if "customer" in request.args:
            try:
                customer = int(request.args["customer"])
            except ValueError:
                return self._invalid_param("customer", "customer is not of type integer.")
            items = [o for o in items if o["customer_id"] == customer]
        search = collate(request.args.get("search", "").strip())
        if search:
            items = [o for o in items if search in self._order_index(o)]
        for param, cmp in (("after", 1), ("before", -1)):
            if param in request.args:
                try:
                    bound = datetime.fromisoformat(request.args[param].replace("Z", ""))
                except ValueError:
                    return self._invalid_param(param, f"Invalid date for {param}.")
                bound_text = bound.replace(tzinfo=None).isoformat()
                items = [
                    o
                    for o in items
                    if (
                        o["date_created"] > bound_text
                        if cmp > 0
                        else o["date_created"] < bound_text
                    )
                ]
        orderby = request.args.get("orderby", "date")
        keyfuncs: dict[str, Any] = {
            "date": lambda o: (o["date_created_gmt"], o["id"]),
            "id": lambda o: o["id"],
            "include": lambda o: o["id"],
            "modified": lambda o: (o["date_modified_gmt"], o["id"]),
            "title": lambda o: o["id"],
            "slug": lambda o: o["id"],
        }
        if orderby not in keyfuncs:
            return self._invalid_param(
                "orderby", "orderby is not one of date, id, include, title, slug, and modified."
            )
        items.sort(key=keyfuncs[orderby], reverse=request.args.get("order", "desc") != "asc")
        rendered = [self._render_order(request, o) for o in items]
        return self._collection(request, rendered, *paging)

    def _statuses(self, request: Request) -> set[str] | None | Response:
        """The statuses ``status`` asks for (``status=a,b`` or ``status[]=a&status[]=b``), or
        ``None`` for ``any``: WooCommerce turns a list with ``any`` in it into ``any``, which
        leaves the trash out. An unknown status is a 400 ``rest_invalid_param``."""
        raw = [*request.args.getlist("status"), *request.args.getlist("status[]")] or ["any"]
        wanted = {part.strip() for value in raw for part in value.split(",")}
        unknown = sorted(wanted - {"any", "trash", *ORDER_STATUSES})
        if unknown:
            allowed = ", ".join(("any", "trash", *ORDER_STATUSES))
            return self._invalid_param("status", f"status[0] is not one of {allowed}.")
        return None if "any" in wanted else wanted

    def _order_404(self) -> Response:
        body = self._error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        return self.json(body, 404)

    def on_order(self, request: Request, oid: int) -> Response:
        """``GET /orders/{id}``."""
        o = self.orders.get(oid)
        if o is None:
            return self._order_404()
        return self.json(self._render_order(request, o))

    def on_order_update(self, request: Request, oid: int) -> Response:
        """``PUT /orders/{id}``: billing, shipping, customer note, status and meta_data.

        An update that holds ``billing`` or ``shipping`` (whatever is in them) recalculates
        the order's taxes and totals at today's rates for its new tax location
        (:meth:`_recalculate`), as WooCommerce's ``save_object`` does: the amounts of an old
        order change when the rates did, or when its country is blanked. An update of only
        the note, status or meta data leaves them. An order in the trash is updated like any
        other and stays there (WooCommerce's ``update_item`` loads it with ``wc_get_order``,
        which does not look at the status; ``trash`` is no status a PUT may set).
        """
        o = self.orders.get(oid)
        if o is None:
            return self._order_404()
        data = request.get_json(force=True, silent=True)
        if not isinstance(data, dict):
            data = {k: v for k, v in request.form.items()}
        invalid = self._invalid_billing_email(data)
        if invalid is not None:
            return invalid
        # Every check before any change: a refused update changes nothing.
        if "status" in data and str(data["status"]) not in ORDER_STATUSES:
            allowed = ", ".join(ORDER_STATUSES)
            return self._invalid_param("status", f"status is not one of {allowed}.")
        if "customer_id" in data:
            try:
                customer = int(data["customer_id"])
            except (TypeError, ValueError):
                return self._invalid_param("customer_id", "customer_id is not of type integer.")
            if customer and customer not in self.customers:
                body = self._error(
                    "woocommerce_rest_invalid_customer_id", "Customer ID is invalid.", 400
                )
                return self.json(body, 400)
            o["customer_id"] = customer
        if "customer_note" in data:
            o["customer_note"] = str(data["customer_note"] or "")
        if "status" in data:
            o["status"] = str(data["status"])
        self._update_sections(o, data)
        self._update_meta(o, data, oid * 100)
        if "billing" in data or "shipping" in data:
            self._recalculate(o)
        o["date_modified"], o["date_modified_gmt"] = wc_dates(self.now())
        return self.json(self._render_order(request, o))

    def _recalculate(self, o: dict[str, Any]) -> None:
        """``calculate_totals(true)``, simply: each line's and shipping line's tax at the
        standard rate of today for the order's tax location (shipping country, else billing
        country, else :data:`BASE_COUNTRY`), rounded per line; then the order's tax lines,
        tax totals and total (line totals, shipping and fees, plus their taxes)."""
        country = o["shipping"].get("country") or o["billing"].get("country") or BASE_COUNTRY
        rate = self.tax_rates.get(country, Decimal(0))

        def tax(amount: object) -> Decimal:
            return (Decimal(str(amount or 0)) * rate / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)

        cart_tax = shipping_tax = net = Decimal(0)
        for line in o["line_items"]:
            line["subtotal_tax"] = str(tax(line["subtotal"]))
            line["total_tax"] = str(tax(line["total"]))
            line["taxes"] = [
                {"id": 1, "total": line["total_tax"], "subtotal": line["subtotal_tax"]}
            ]
            cart_tax += Decimal(line["total_tax"])
            net += Decimal(line["total"])
        for line in [*o["shipping_lines"], *o.get("fee_lines", [])]:
            line["total_tax"] = str(tax(line["total"]))
            line["taxes"] = [{"id": 1, "total": line["total_tax"], "subtotal": ""}]
            net += Decimal(line["total"])
        for line in o["shipping_lines"]:
            shipping_tax += Decimal(line["total_tax"])
        fee_tax = sum((Decimal(f["total_tax"]) for f in o.get("fee_lines", [])), Decimal(0))
        cart_tax += fee_tax  # WooCommerce counts fee taxes in the cart tax
        percent = int(rate) if rate == rate.to_integral() else float(rate)
        first = o["tax_lines"][0] if o["tax_lines"] else {"id": o["id"] * 10 + 4, "meta_data": []}
        if first.get("rate_percent") != percent or not str(first.get("rate_code")).startswith(
            f"{country}-"
        ):  # another rate than the order's: WooCommerce's rate for that country
            first = {**first, "rate_code": f"{country}-TAX-1", "label": f"{rate.normalize():f}%"}
        o["tax_lines"] = (
            [
                {
                    **first,
                    "compound": False,
                    "tax_total": str(cart_tax),
                    "shipping_tax_total": str(shipping_tax),
                    "rate_percent": percent,
                }
            ]
            if rate
            else []
        )
        o["cart_tax"] = str(cart_tax)
        o["shipping_tax"] = str(shipping_tax)
        o["total_tax"] = str(cart_tax + shipping_tax)
        o["total"] = str(net + cart_tax + shipping_tax)

    def remove_personal_data(self, oid: int) -> None:
        """What staff do by hand in WordPress, which no REST route offers: WooCommerce's order
        bulk action "Remove personal data" (or Tools › Erase Personal Data for the order's
        e-mail address), ``WC_Privacy_Erasers::remove_order_personal_data``.

        Each filled address part, name and the browser becomes ``[deleted]``, the e-mail
        ``deleted@site.invalid``, phones, state, country and transaction id empty, the IP
        address loses its last part (``wp_privacy_anonymize_ip``); the order leaves its
        account (``customer_id`` 0), is marked ``_anonymized``, its notes are deleted and one
        "Personal data removed." is added. The totals stay: nothing is recalculated.
        """
        o = self.orders[oid]
        for section in ("billing", "shipping"):
            for key, value in o[section].items():
                if not value:
                    continue
                if key == "email":
                    o[section][key] = ERASED_EMAIL
                elif key in ("phone", "state", "country"):
                    o[section][key] = ""
                else:
                    o[section][key] = ERASED_TEXT
        if o.get("customer_user_agent"):
            o["customer_user_agent"] = ERASED_TEXT
        if o.get("customer_ip_address"):
            o["customer_ip_address"] = _anonymize_ip(o["customer_ip_address"])
        o["transaction_id"] = ""
        o["customer_id"] = 0
        self._update_meta(o, {"meta_data": [{"key": "_anonymized", "value": "yes"}]}, oid * 100)
        now = self.now()
        notes = self.order_notes.get(oid, [])
        local, gmt = wc_dates(now)
        self.order_notes[oid] = [
            {
                "id": max((n["id"] for n in notes), default=oid * 10) + 1,
                "author": "system",
                "date_created": local,
                "date_created_gmt": gmt,
                "note": "Personal data removed.",
                "customer_note": False,
            }
        ]
        o["date_modified"], o["date_modified_gmt"] = local, gmt

    def on_order_delete(self, request: Request, oid: int) -> Response:
        """``DELETE /orders/{id}``: to the trash (410 ``woocommerce_rest_already_trashed`` if it
        is there already); with ``force=true`` deleted for good, notes and all. The answer is
        the order as it was before."""
        o = self.orders.get(oid)
        if o is None:
            return self._order_404()
        rendered = self._render_order(request, o)
        if request.args.get("force", "").lower() in ("true", "1"):
            del self.orders[oid]
            self.order_notes.pop(oid, None)
            self.refunds.pop(oid, None)  # child posts of the order
            for cid, permissions in self.downloads.items():  # the order's download permissions
                self.downloads[cid] = [d for d in permissions if d["order_id"] != oid]
            return self.json(rendered)
        if o["status"] == "trash":
            body = self._error(
                "woocommerce_rest_already_trashed",
                "The shop_order has already been deleted.",
                410,
            )
            return self.json(body, 410)
        o["status"] = "trash"
        o["date_modified"], o["date_modified_gmt"] = wc_dates(self.now())
        return self.json(rendered)

    def on_order_note_delete(self, request: Request, oid: int, nid: int) -> Response:
        """``DELETE /orders/{id}/notes/{note}?force=true`` (501 without ``force``)."""
        if oid not in self.orders:
            body = self._error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
            return self.json(body, 404)
        notes = self.order_notes.get(oid, [])
        note = next((n for n in notes if n["id"] == nid), None)
        if note is None:
            body = self._error("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
            return self.json(body, 404)
        if request.args.get("force", "").lower() not in ("true", "1"):
            body = self._error(
                "woocommerce_rest_trash_not_supported",
                "The order note does not support trashing.",
                501,
            )
            return self.json(body, 501)
        self.order_notes[oid] = [n for n in notes if n["id"] != nid]
        return self.json(copy.deepcopy(note))

    def on_order_notes(self, request: Request, oid: int) -> Response:
        """``GET /orders/{id}/notes`` (not paginated; ``type`` = any|customer|internal)."""
        if oid not in self.orders:
            body = self._error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
            return self.json(body, 404)
        notes = copy.deepcopy(self.order_notes.get(oid, []))
        kind = request.args.get("type", "any")
        if kind == "customer":
            notes = [n for n in notes if n["customer_note"]]
        elif kind == "internal":
            notes = [n for n in notes if not n["customer_note"]]
        api = self._api(request)
        for n in notes:
            n["_links"] = {
                "self": [{"href": f"{api}/orders/{oid}/notes/{n['id']}"}],
                "collection": [{"href": f"{api}/orders/{oid}/notes"}],
                "up": [{"href": f"{api}/orders/{oid}"}],
            }
        return self.json(notes)

    def on_order_refunds(self, request: Request, oid: int) -> Response:
        """``GET /orders/{id}/refunds``: paged like every collection (``X-WP-Total``,
        ``Link``); each refund names its order in ``_links.up``."""
        if oid not in self.orders:
            body = self._error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
            return self.json(body, 404)
        paging = self._paging(request)
        if isinstance(paging, Response):
            return paging
        api = self._api(request)
        refunds = sorted(
            copy.deepcopy(self.refunds.get(oid, [])),
            key=lambda r: (r["date_created_gmt"], r["id"]),
            reverse=True,
        )
        for r in refunds:
            r["_links"] = {
                "self": [{"href": f"{api}/orders/{oid}/refunds/{r['id']}"}],
                "collection": [{"href": f"{api}/orders/{oid}/refunds"}],
                "up": [{"href": f"{api}/orders/{oid}"}],
            }
        return self._collection(request, refunds, *paging)

    def on_customer_downloads(self, request: Request, cid: int) -> Response:
        """``GET /customers/{id}/downloads``: the account's download permissions (not paged;
        ``access_expires`` is ``never`` for no end date)."""
        if cid not in self.customers:
            return self._customer_404()
        api = self._api(request)
        rows = copy.deepcopy(self.downloads.get(cid, []))
        for d in rows:
            d["_links"] = {
                "collection": [{"href": f"{api}/customers/{cid}/downloads"}],
                "product": [{"href": f"{api}/products/{d['product_id']}"}],
                "order": [{"href": f"{api}/orders/{d['order_id']}"}],
            }
        return self.json(rows)


def _anonymize_ip(value: str) -> str:
    """``wp_privacy_anonymize_ip``: an IPv4 address with its last part 0, an IPv6 address
    with all but its first 48 bits 0; anything else ``0.0.0.0``."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return str(ipaddress.IPv4Address(0))
    kept = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{kept}", strict=False)
    return str(network.network_address)


def create_app(world: World | None = None, **kwargs: Any) -> WooCommerceSimulator:
    """Create a WooCommerce simulator (a WSGI app); ``kwargs`` override the demo credentials."""
    return WooCommerceSimulator(world, **kwargs)
