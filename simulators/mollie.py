"""Mollie API v2 (``/v2``) simulator.

``Authorization: Bearer live_…``; 401 problem body otherwise. HAL+JSON with ``_links`` on
every resource; lists use cursor pagination: ``from`` (id of the first item to include),
``limit`` (1–250, default 50), ``sort`` (``desc`` default), ``count`` is the page size and
``_links.next``/``previous`` are ``null`` at the ends. There is no e-mail search.
Deleted customers answer 410; payments stay after the customer is deleted, and their mandates
are revoked and subscriptions canceled. A subscription shows the fields of its state
(``canceledAt`` only once canceled, ``nextPaymentDate`` only while a payment is due);
``DELETE …/subscriptions/{id}`` cancels one (200 with it; 422 if canceled already).
Refunds and chargebacks are listed per payment (``/payments/{id}/refunds``, ``…/chargebacks``,
paged like every list; one by id below them); a payment links to them (``_links.refunds``,
``_links.chargebacks``) only when it has some, and shows ``amountChargedBack`` only when it
was charged back.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from simulators.base import SimulatorApp
from simulators.world import World

__all__ = ["DEFAULT_CREDENTIALS", "MollieSimulator", "create_app"]

PREFIX = "/v2"

#: Demo credentials.
DEFAULT_CREDENTIALS: dict[str, str] = {"api_key": "live_demoKey8cT3vQ9wLm2Xp5Rz7Hn4Bs6Dk"}

_HAL = "application/hal+json"
_DOCS = "https://docs.mollie.com"
_DASHBOARD = "https://my.mollie.com/dashboard/org_13579246"
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LOCALE_RE = re.compile(r"^[a-z]{2}_[A-Z]{2}$")


def _link(href: str, kind: str = _HAL) -> dict[str, str]:
    return {"href": href, "type": kind}


class MollieSimulator(SimulatorApp):
    """In-memory Mollie account (customers, payments with their refunds and chargebacks,
    mandates, subscriptions)."""

    vendor = "mollie"
    api_prefix = PREFIX
    json_content_type = _HAL
    url_map = Map(
        [
            Rule(f"{PREFIX}/customers", endpoint="customers", methods=["GET"]),
            Rule(f"{PREFIX}/customers/<cid>", endpoint="customer", methods=["GET"]),
            Rule(f"{PREFIX}/customers/<cid>", endpoint="customer_update", methods=["PATCH"]),
            Rule(f"{PREFIX}/customers/<cid>", endpoint="customer_delete", methods=["DELETE"]),
            Rule(
                f"{PREFIX}/customers/<cid>/payments", endpoint="customer_payments", methods=["GET"]
            ),
            Rule(f"{PREFIX}/customers/<cid>/mandates", endpoint="mandates", methods=["GET"]),
            Rule(f"{PREFIX}/customers/<cid>/mandates/<mid>", endpoint="mandate", methods=["GET"]),
            Rule(
                f"{PREFIX}/customers/<cid>/mandates/<mid>",
                endpoint="mandate_revoke",
                methods=["DELETE"],
            ),
            Rule(
                f"{PREFIX}/customers/<cid>/subscriptions", endpoint="subscriptions", methods=["GET"]
            ),
            Rule(
                f"{PREFIX}/customers/<cid>/subscriptions/<sid>",
                endpoint="subscription",
                methods=["GET"],
            ),
            Rule(
                f"{PREFIX}/customers/<cid>/subscriptions/<sid>",
                endpoint="subscription_cancel",
                methods=["DELETE"],
            ),
            Rule(f"{PREFIX}/payments", endpoint="payments", methods=["GET"]),
            Rule(f"{PREFIX}/payments/<pid>", endpoint="payment", methods=["GET"]),
            Rule(f"{PREFIX}/payments/<pid>/refunds", endpoint="refunds", methods=["GET"]),
            Rule(f"{PREFIX}/payments/<pid>/refunds/<rid>", endpoint="refund", methods=["GET"]),
            Rule(f"{PREFIX}/payments/<pid>/chargebacks", endpoint="chargebacks", methods=["GET"]),
            Rule(
                f"{PREFIX}/payments/<pid>/chargebacks/<rid>",
                endpoint="chargeback",
                methods=["GET"],
            ),
        ],
        strict_slashes=False,
    )

    def __init__(
        self,
        world: World | None = None,
        *,
        api_key: str = DEFAULT_CREDENTIALS["api_key"],
        **kwargs: Any,
    ) -> None:
        self.api_key = api_key
        super().__init__(world, **kwargs)

    def load_state(self, world: World) -> None:
        """Take customers, payments (with refunds and chargebacks), mandates and subscriptions
        from the world."""
        data = world.mollie
        self.customers: dict[str, dict[str, Any]] = {c["id"]: c for c in data["customers"]}
        self.deleted: set[str] = set()
        self.payments: dict[str, dict[str, Any]] = {p["id"]: p for p in data["payments"]}
        self.mandates: dict[str, dict[str, Any]] = {m["id"]: m for m in data["mandates"]}
        self.subscriptions: dict[str, dict[str, Any]] = {s["id"]: s for s in data["subscriptions"]}
        self.refunds: dict[str, dict[str, Any]] = {r["id"]: r for r in data["refunds"]}
        self.chargebacks: dict[str, dict[str, Any]] = {c["id"]: c for c in data["chargebacks"]}

    @property
    def credentials(self) -> dict[str, str]:
        """``api_key`` (sent as ``Authorization: Bearer …``)."""
        return {"api_key": self.api_key}

    # ------------------------------------------------------------- responses

    def _problem(
        self, status: int, title: str, detail: str, field: str | None = None, doc: str = ""
    ) -> Response:
        body: dict[str, Any] = {"status": status, "title": title, "detail": detail}
        if field:
            body["field"] = field
        body["_links"] = {
            "documentation": _link(doc or f"{_DOCS}/overview/handling-errors", "text/html")
        }
        return self.json(body, status)

    def authenticate(self, request: Request, endpoint: str) -> Response | None:
        """``Authorization: Bearer {api_key}``."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip() == self.api_key:
            return None
        return self.expired_credentials_response(request)

    def expired_credentials_response(self, request: Request) -> Response:
        """401 "Missing authentication, or failed to authenticate"."""
        return self._problem(
            401,
            "Unauthorized Request",
            "Missing authentication, or failed to authenticate",
            doc=f"{_DOCS}/overview/authentication",
        )

    def rate_limit_response(self, retry_after: int) -> Response:
        """429 problem body plus ``Retry-After`` (both unverified for the real API)."""
        response = self._problem(
            429,
            "Too Many Requests",
            "You have made too many requests. Please try again later.",
            doc=f"{_DOCS}/reference/rate-limiting",
        )
        response.headers["Retry-After"] = str(retry_after)
        return response

    def server_error_response(self) -> Response:
        """500 problem body."""
        return self._problem(
            500,
            "Internal Server Error",
            "An internal server error occurred while processing your request.",
        )

    def unavailable_response(self) -> Response:
        """503 problem body ("retry the request at a later time")."""
        return self._problem(
            503,
            "Service Unavailable",
            "The service is temporarily unavailable. Please retry the request at a later time.",
        )

    def no_route_response(self, request: Request) -> Response:
        """404 problem body for an unknown path."""
        return self._problem(404, "Not Found", "The requested resource could not be found.")

    def method_not_allowed_response(self, request: Request, allowed: Sequence[str]) -> Response:
        """405 problem body with ``Allow``."""
        response = self._problem(
            405,
            "Method Not Allowed",
            f"The method {request.method} is not allowed on this resource.",
        )
        response.headers["Allow"] = ", ".join(allowed)
        return response

    # --------------------------------------------------------------- helpers

    def _api(self, request: Request) -> str:
        return request.host_url.rstrip("/") + PREFIX

    def _list(
        self,
        request: Request,
        items: list[dict[str, Any]],
        kind: str,
        path: str,
        render: Any,
        doc: str,
    ) -> Response:
        """Cursor pagination: ``from`` is the id of the first item to include."""
        raw_limit = request.args.get("limit", "50")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 250:
            return self._problem(
                400, "Bad Request", "The limit must be between 1 and 250.", field="limit"
            )
        limit = int(raw_limit)
        sort = request.args.get("sort", "desc")
        if sort not in ("asc", "desc"):
            return self._problem(
                400, "Bad Request", "The sort must be either 'asc' or 'desc'.", field="sort"
            )
        ordered = list(reversed(items)) if sort == "asc" else list(items)
        start = 0
        cursor = request.args.get("from")
        if cursor:
            ids = [x["id"] for x in ordered]
            if cursor not in ids:
                return self._problem(
                    400, "Bad Request", f"Invalid value for 'from': {cursor}.", field="from"
                )
            start = ids.index(cursor)
        chunk = ordered[start : start + limit]
        base = f"{self._api(request)}{path}"

        def href(frm: str | None) -> str:
            params = []
            if frm:
                params.append(f"from={frm}")
            params.append(f"limit={limit}")
            if "sort" in request.args:
                params.append(f"sort={sort}")
            return f"{base}?{'&'.join(params)}"

        nxt = ordered[start + limit]["id"] if start + limit < len(ordered) else None
        prev = ordered[max(start - limit, 0)]["id"] if start > 0 else None
        body = {
            "count": len(chunk),
            "_embedded": {kind: [render(request, x) for x in chunk]},
            "_links": {
                "self": _link(href(cursor)),
                "previous": _link(href(prev)) if prev else None,
                "next": _link(href(nxt)) if nxt else None,
                "documentation": _link(f"{_DOCS}/reference/{doc}", "text/html"),
            },
        }
        return self.json(body)

    def _customer_or_error(self, cid: str) -> dict[str, Any] | Response:
        if cid in self.deleted:
            return self._problem(410, "Gone", "The customer is no longer available")
        c = self.customers.get(cid)
        if c is None:
            return self._problem(404, "Not Found", f"No customer exists with token {cid}.")
        return c

    def _render_customer(self, request: Request, c: dict[str, Any]) -> dict[str, Any]:
        api = self._api(request)
        out = copy.deepcopy(c)
        links: dict[str, Any] = {
            "self": _link(f"{api}/customers/{c['id']}"),
            "dashboard": _link(f"{_DASHBOARD}/customers/{c['id']}", "text/html"),
        }
        if any(m["_customerId"] == c["id"] for m in self.mandates.values()):
            links["mandates"] = _link(f"{api}/customers/{c['id']}/mandates")
        if any(s["customerId"] == c["id"] for s in self.subscriptions.values()):
            links["subscriptions"] = _link(f"{api}/customers/{c['id']}/subscriptions")
        if any(p.get("customerId") == c["id"] for p in self.payments.values()):
            links["payments"] = _link(f"{api}/customers/{c['id']}/payments")
        links["documentation"] = _link(f"{_DOCS}/reference/get-customer", "text/html")
        out["_links"] = links
        return out

    def _render_payment(self, request: Request, p: dict[str, Any]) -> dict[str, Any]:
        api = self._api(request)
        out = copy.deepcopy(p)
        links: dict[str, Any] = {
            "self": _link(f"{api}/payments/{p['id']}"),
            "dashboard": _link(f"{_DASHBOARD}/payments/{p['id']}", "text/html"),
        }
        # only when there are some: Mollie's clients read "has refunds" from the link
        if any(r["paymentId"] == p["id"] for r in self.refunds.values()):
            links["refunds"] = _link(f"{api}/payments/{p['id']}/refunds")
        if any(c["paymentId"] == p["id"] for c in self.chargebacks.values()):
            links["chargebacks"] = _link(f"{api}/payments/{p['id']}/chargebacks")
        if p.get("customerId"):
            links["customer"] = _link(f"{api}/customers/{p['customerId']}")
        if p.get("mandateId") and p.get("customerId"):
            links["mandate"] = _link(f"{api}/customers/{p['customerId']}/mandates/{p['mandateId']}")
        links["documentation"] = _link(f"{_DOCS}/reference/get-payment", "text/html")
        out["_links"] = links
        return out

    def _render_adjustment(self, request: Request, kind: str, x: dict[str, Any]) -> dict[str, Any]:
        """A refund or a chargeback (``kind``: ``refunds``, ``chargebacks``) with its links."""
        api = self._api(request)
        pid = x["paymentId"]
        out = copy.deepcopy(x)
        doc = "get-refund" if kind == "refunds" else "get-chargeback"
        out["_links"] = {
            "self": _link(f"{api}/payments/{pid}/{kind}/{x['id']}"),
            "payment": _link(f"{api}/payments/{pid}"),
            "documentation": _link(f"{_DOCS}/reference/{doc}", "text/html"),
        }
        return out

    def _render_mandate(self, request: Request, m: dict[str, Any]) -> dict[str, Any]:
        api = self._api(request)
        cid = m["_customerId"]
        out = {k: copy.deepcopy(v) for k, v in m.items() if not k.startswith("_")}
        out["_links"] = {
            "self": _link(f"{api}/customers/{cid}/mandates/{m['id']}"),
            "customer": _link(f"{api}/customers/{cid}"),
            "documentation": _link(f"{_DOCS}/reference/get-mandate", "text/html"),
        }
        return out

    def _render_subscription(self, request: Request, s: dict[str, Any]) -> dict[str, Any]:
        """A subscription as Mollie shows it: ``canceledAt`` only once canceled,
        ``nextPaymentDate`` only while a payment is still due; ``mandate`` and ``payments``
        links only when there are such."""
        api = self._api(request)
        cid = s["customerId"]
        out = {k: copy.deepcopy(v) for k, v in s.items() if not k.startswith("_")}
        if out.get("status") == "canceled":
            out.pop("nextPaymentDate", None)
        else:
            out.pop("canceledAt", None)
        links: dict[str, Any] = {
            "self": _link(f"{api}/customers/{cid}/subscriptions/{s['id']}"),
            "customer": _link(f"{api}/customers/{cid}"),
        }
        if s.get("mandateId"):
            links["mandate"] = _link(f"{api}/customers/{cid}/mandates/{s['mandateId']}")
        if any(p.get("subscriptionId") == s["id"] for p in self.payments.values()):
            links["payments"] = _link(f"{api}/customers/{cid}/subscriptions/{s['id']}/payments")
        links["documentation"] = _link(f"{_DOCS}/reference/get-subscription", "text/html")
        out["_links"] = links
        return out

    def _cancel(self, subscription: dict[str, Any]) -> None:
        if subscription["status"] != "canceled":
            subscription["status"] = "canceled"
            subscription["canceledAt"] = self.now().replace(microsecond=0).isoformat()
            subscription.pop("nextPaymentDate", None)

    # -------------------------------------------------------------- customers

    def on_customers(self, request: Request) -> Response:
        """``GET /customers?from=&limit=&sort=`` (no e-mail filter exists)."""
        items = [c for c in self.customers.values() if c["id"] not in self.deleted]
        items.sort(key=lambda c: (c["createdAt"], c["id"]), reverse=True)
        return self._list(
            request, items, "customers", "/customers", self._render_customer, "list-customers"
        )

    def on_customer(self, request: Request, cid: str) -> Response:
        """``GET /customers/{id}`` (404 unknown, 410 deleted)."""
        c = self._customer_or_error(cid)
        if isinstance(c, Response):
            return c
        return self.json(self._render_customer(request, c))

    def on_customer_update(self, request: Request, cid: str) -> Response:
        """``PATCH /customers/{id}``: only ``name``, ``email``, ``locale`` and ``metadata``."""
        c = self._customer_or_error(cid)
        if isinstance(c, Response):
            return c
        data = request.get_json(force=True, silent=True)
        if not isinstance(data, dict):
            return self._problem(
                415, "Unsupported Media Type", "The request body must be JSON or form-encoded."
            )
        if "email" in data and data["email"] is not None:
            if not _EMAIL_RE.match(str(data["email"])):
                return self._problem(
                    422,
                    "Unprocessable Entity",
                    f"The email address '{data['email']}' is invalid",
                    field="email",
                )
        if "locale" in data and data["locale"] is not None:
            if not _LOCALE_RE.match(str(data["locale"])):
                return self._problem(
                    422, "Unprocessable Entity", "The locale is invalid", field="locale"
                )
        for key in ("name", "email", "locale", "metadata"):
            if key in data:
                c[key] = data[key]
        return self.json(self._render_customer(request, c))

    def on_customer_delete(self, request: Request, cid: str) -> Response:
        """``DELETE /customers/{id}`` → 204; cancels mandates and subscriptions, keeps payments."""
        c = self._customer_or_error(cid)
        if isinstance(c, Response):
            return c
        self.deleted.add(cid)
        for mid in [m["id"] for m in self.mandates.values() if m["_customerId"] == cid]:
            del self.mandates[mid]
        for s in self.subscriptions.values():
            if s["customerId"] == cid:
                self._cancel(s)
        return Response(status=204)

    def on_customer_payments(self, request: Request, cid: str) -> Response:
        """``GET /customers/{id}/payments``: only payments created with this ``customerId``."""
        c = self._customer_or_error(cid)
        if isinstance(c, Response):
            return c
        items = [p for p in self.payments.values() if p.get("customerId") == cid]
        items.sort(key=lambda p: (p["createdAt"], p["id"]), reverse=True)
        return self._list(
            request,
            items,
            "payments",
            f"/customers/{cid}/payments",
            self._render_payment,
            "list-customer-payments",
        )

    def on_mandates(self, request: Request, cid: str) -> Response:
        """``GET /customers/{id}/mandates``."""
        c = self._customer_or_error(cid)
        if isinstance(c, Response):
            return c
        items = [m for m in self.mandates.values() if m["_customerId"] == cid]
        items.sort(key=lambda m: (m["createdAt"], m["id"]), reverse=True)
        return self._list(
            request,
            items,
            "mandates",
            f"/customers/{cid}/mandates",
            self._render_mandate,
            "list-mandates",
        )

    def on_mandate(self, request: Request, cid: str, mid: str) -> Response:
        """``GET /customers/{id}/mandates/{mandate}``."""
        c = self._customer_or_error(cid)
        if isinstance(c, Response):
            return c
        m = self.mandates.get(mid)
        if m is None or m["_customerId"] != cid:
            return self._problem(404, "Not Found", f"No mandate exists with token {mid}.")
        return self.json(self._render_mandate(request, m))

    def on_mandate_revoke(self, request: Request, cid: str, mid: str) -> Response:
        """``DELETE /customers/{id}/mandates/{mandate}`` → 204."""
        c = self._customer_or_error(cid)
        if isinstance(c, Response):
            return c
        m = self.mandates.get(mid)
        if m is None or m["_customerId"] != cid:
            return self._problem(404, "Not Found", f"No mandate exists with token {mid}.")
        del self.mandates[mid]
        for s in self.subscriptions.values():
            if s.get("mandateId") == mid:
                self._cancel(s)
        return Response(status=204)

    def on_subscriptions(self, request: Request, cid: str) -> Response:
        """``GET /customers/{id}/subscriptions``."""
        c = self._customer_or_error(cid)
        if isinstance(c, Response):
            return c
        items = [s for s in self.subscriptions.values() if s["customerId"] == cid]
        items.sort(key=lambda s: (s["createdAt"], s["id"]), reverse=True)
        return self._list(
            request,
            items,
            "subscriptions",
            f"/customers/{cid}/subscriptions",
            self._render_subscription,
            "list-subscriptions",
        )

    def _subscription_or_error(self, cid: str, sid: str) -> dict[str, Any] | Response:
        c = self._customer_or_error(cid)
        if isinstance(c, Response):
            return c
        s = self.subscriptions.get(sid)
        if s is None or s["customerId"] != cid:
            return self._problem(404, "Not Found", f"No subscription exists with token {sid}.")
        return s

    def on_subscription(self, request: Request, cid: str, sid: str) -> Response:
        """``GET /customers/{id}/subscriptions/{subscription}``."""
        s = self._subscription_or_error(cid, sid)
        if isinstance(s, Response):
            return s
        return self.json(self._render_subscription(request, s))

    def on_subscription_cancel(self, request: Request, cid: str, sid: str) -> Response:
        """``DELETE /customers/{id}/subscriptions/{subscription}`` → 200 with the canceled
        subscription; one already canceled → 422."""
        s = self._subscription_or_error(cid, sid)
        if isinstance(s, Response):
            return s
        if s["status"] == "canceled":
            return self._problem(
                422, "Unprocessable Entity", "The subscription has been canceled already."
            )
        self._cancel(s)
        return self.json(self._render_subscription(request, s))

    # -------------------------------------------------------------- payments

    def on_payments(self, request: Request) -> Response:
        """``GET /payments`` (all payments of the profile, newest first)."""
        items = sorted(
            self.payments.values(), key=lambda p: (p["createdAt"], p["id"]), reverse=True
        )
        return self._list(
            request, items, "payments", "/payments", self._render_payment, "list-payments"
        )

    def on_payment(self, request: Request, pid: str) -> Response:
        """``GET /payments/{id}``."""
        p = self.payments.get(pid)
        if p is None:
            return self._problem(404, "Not Found", f"No payment exists with token {pid}.")
        return self.json(self._render_payment(request, p))

    def _adjustments(self, request: Request, pid: str, kind: str) -> Response:
        p = self.payments.get(pid)
        if p is None:
            return self._problem(404, "Not Found", f"No payment exists with token {pid}.")
        held = self.refunds if kind == "refunds" else self.chargebacks
        items = [x for x in held.values() if x["paymentId"] == pid]
        items.sort(key=lambda x: (x["createdAt"], x["id"]), reverse=True)
        doc = "list-refunds" if kind == "refunds" else "list-chargebacks"
        return self._list(
            request,
            items,
            kind,
            f"/payments/{pid}/{kind}",
            lambda req, x: self._render_adjustment(req, kind, x),
            doc,
        )

    def _adjustment(self, request: Request, pid: str, kind: str, rid: str) -> Response:
        p = self.payments.get(pid)
        if p is None:
            return self._problem(404, "Not Found", f"No payment exists with token {pid}.")
        held = self.refunds if kind == "refunds" else self.chargebacks
        x = held.get(rid)
        if x is None or x["paymentId"] != pid:
            what = "refund" if kind == "refunds" else "chargeback"
            return self._problem(404, "Not Found", f"No {what} exists with token {rid}.")
        return self.json(self._render_adjustment(request, kind, x))

    def on_refunds(self, request: Request, pid: str) -> Response:
        """``GET /payments/{id}/refunds`` (newest first; 404 for an unknown payment)."""
        return self._adjustments(request, pid, "refunds")

    def on_refund(self, request: Request, pid: str, rid: str) -> Response:
        """``GET /payments/{id}/refunds/{refund}``."""
        return self._adjustment(request, pid, "refunds", rid)

    def on_chargebacks(self, request: Request, pid: str) -> Response:
        """``GET /payments/{id}/chargebacks`` (newest first; 404 for an unknown payment)."""
        return self._adjustments(request, pid, "chargebacks")

    def on_chargeback(self, request: Request, pid: str, rid: str) -> Response:
        """``GET /payments/{id}/chargebacks/{chargeback}``."""
        return self._adjustment(request, pid, "chargebacks", rid)


def create_app(world: World | None = None, **kwargs: Any) -> MollieSimulator:
    """Create a Mollie simulator (a WSGI app); ``kwargs`` override the API key."""
    return MollieSimulator(world, **kwargs)
