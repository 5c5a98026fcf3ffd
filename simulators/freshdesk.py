"""Freshdesk API v2 (``/api/v2``) simulator.

Basic auth with the API key as user name (any password), 401 ``invalid_credentials``;
exact ``email=``/``mobile=``/``phone=`` contact filters (200 ``[]`` when nothing matches);
``per_page`` default 30, maximum 100 (400 above); ``Link: <…>; rel="next"`` only;
``X-RateLimit-Total``/``-Remaining``/``-Used-CurrentRequest`` on every answer; the ticket
list **only covers tickets created in the last 30 days unless ``updated_since`` is sent**,
stops at page 300, and embeds ``requester``/``stats``/``description`` only on ``include=``
(each include costs one more credit). Soft delete, restore and ``hard_delete`` of contacts:
the contact list leaves soft-deleted (and blocked) contacts out unless ``state=deleted`` is
asked, which combines with the other filters, and their rows carry ``"deleted": true``.
A blocked contact (``_state`` ``"blocked"``) is listed only with ``state=blocked``, which also
lists the deleted ones, as Freshdesk's own query does; its own view is served, ``hard_delete``
erases it, a ``PUT`` or plain ``DELETE`` of it answers 405 (only ``GET``). Tickets marked as
spam (``"spam": true``) are listed only with ``filter=spam`` (not those in the trash, which
``filter=deleted`` lists); their view and conversations are served and a ``DELETE`` answers
405.
``DELETE /tickets/{id}`` moves a ticket to the trash: the ticket list leaves it out unless
``filter=deleted`` is asked (on top of the other filters), its own view and conversations are
still served with ``"deleted": true``, a second ``DELETE`` answers 405 (only ``GET``), and
``PUT /tickets/{id}/restore`` brings it back. As Freshdesk's own code does (read in a public
copy of it; see ``connectors/freshdesk.py``).
Satisfaction ratings: ``GET /surveys/satisfaction_ratings`` filtered by ``user_id`` and
``created_since``; a ticket's ratings go when it is deleted for good (``hard_delete`` of its
contact), not when it moves to the trash.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from simulators.base import SimulatorApp
from simulators.world import World, iso_s

__all__ = ["DEFAULT_CREDENTIALS", "FreshdeskSimulator", "create_app"]

PREFIX = "/api/v2"

#: Demo credentials.
DEFAULT_CREDENTIALS: dict[str, str] = {"api_key": "fd_demo_apikey_Xw3Nc8Pq5Lr2Tz7Vb4Hm"}

_LIST_KEYS = (
    "active", "address", "company_id", "description", "email", "id", "job_title", "language",
    "mobile", "name", "phone", "time_zone", "twitter_id", "custom_fields", "facebook_id",
    "created_at", "updated_at", "csat_rating", "preferred_source", "unique_external_id",
)  # fmt: skip
_WRITABLE = {
    "name", "email", "phone", "mobile", "twitter_id", "unique_external_id", "other_emails",
    "company_id", "view_all_tickets", "other_companies", "address", "description",
    "job_title", "language", "time_zone", "tags", "custom_fields",
}  # fmt: skip
_IDENTIFIERS = ("email", "phone", "mobile", "twitter_id", "unique_external_id")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INCLUDES = {"requester", "stats", "description", "company"}
_SEARCH_TERM = re.compile(r"(\w+)\s*:\s*(?:'([^']*)'|(\S+))", re.IGNORECASE)


def _phone_key(value: str | None) -> str:
    return re.sub(r"[\s\-().]", "", value or "")


class FreshdeskSimulator(SimulatorApp):
    """In-memory Freshdesk help desk (contacts, tickets, conversations, satisfaction
    ratings)."""

    vendor = "freshdesk"
    api_prefix = PREFIX
    url_map = Map(
        [
            Rule(f"{PREFIX}/contacts", endpoint="contacts", methods=["GET"]),
            Rule(f"{PREFIX}/contacts/<int:cid>", endpoint="contact", methods=["GET"]),
            Rule(f"{PREFIX}/contacts/<int:cid>", endpoint="contact_update", methods=["PUT"]),
            Rule(f"{PREFIX}/contacts/<int:cid>", endpoint="contact_delete", methods=["DELETE"]),
            Rule(
                f"{PREFIX}/contacts/<int:cid>/hard_delete",
                endpoint="contact_hard_delete",
                methods=["DELETE"],
            ),
            Rule(
                f"{PREFIX}/contacts/<int:cid>/restore", endpoint="contact_restore", methods=["PUT"]
            ),
            Rule(f"{PREFIX}/search/contacts", endpoint="search_contacts", methods=["GET"]),
            Rule(f"{PREFIX}/tickets", endpoint="tickets", methods=["GET"]),
            Rule(f"{PREFIX}/tickets/<int:tid>", endpoint="ticket", methods=["GET"]),
            Rule(f"{PREFIX}/tickets/<int:tid>", endpoint="ticket_delete", methods=["DELETE"]),
            Rule(f"{PREFIX}/tickets/<int:tid>/restore", endpoint="ticket_restore", methods=["PUT"]),
            Rule(
                f"{PREFIX}/tickets/<int:tid>/conversations",
                endpoint="conversations",
                methods=["GET"],
            ),
            Rule(
                f"{PREFIX}/surveys/satisfaction_ratings",
                endpoint="satisfaction_ratings",
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
        rate_limit_total: int = 3000,
        recent_days: int = 30,
        **kwargs: Any,
    ) -> None:
        self.api_key = api_key
        self.rate_limit_total = rate_limit_total
        #: Without ``updated_since`` the ticket list only covers this many days.
        self.recent_days = recent_days
        super().__init__(world, **kwargs)

    def load_state(self, world: World) -> None:
        """Take contacts, tickets, conversations and satisfaction ratings from the world."""
        data = world.freshdesk
        self.contacts: dict[int, dict[str, Any]] = {c["id"]: c for c in data["contacts"]}
        self.tickets: dict[int, dict[str, Any]] = {t["id"]: t for t in data["tickets"]}
        self.conversations: list[dict[str, Any]] = list(data["conversations"])
        self.ratings: list[dict[str, Any]] = list(data["satisfaction_ratings"])
        self.rate_limit_remaining = self.rate_limit_total

    @property
    def credentials(self) -> dict[str, str]:
        """``api_key`` (Basic user name; the password is ignored, ``X`` by convention)."""
        return {"api_key": self.api_key}

    # ------------------------------------------------------------- responses

    def _rate_headers(self, cost: int = 1) -> dict[str, str]:
        self.rate_limit_remaining = max(self.rate_limit_remaining - cost, 0)
        return {
            "X-RateLimit-Total": str(self.rate_limit_total),
            "X-RateLimit-Remaining": str(self.rate_limit_remaining),
            "X-RateLimit-Used-CurrentRequest": str(cost),
        }

    def _ok(self, body: Any, status: int = 200, cost: int = 1, **headers: str) -> Response:
        return self.json(body, status, {**self._rate_headers(cost), **headers})

    def _validation(self, status: int, *errors: dict[str, Any]) -> Response:
        return self._ok({"description": "Validation failed", "errors": list(errors)}, status)

    def _only_get(self, method: str) -> Response:
        """405 with ``Allow: GET``: Freshdesk's answer to a write on a record it only shows
        (a ticket in the trash or marked as spam, a blocked contact)."""
        message = f"{method} method is not allowed. It should be one of these method(s): GET"
        return self._ok({"message": message}, 405, Allow="GET")

    def _not_found(self) -> Response:
        return Response(
            "", status=404, headers=self._rate_headers(), content_type=self.json_content_type
        )

    def authenticate(self, request: Request, endpoint: str) -> Response | None:
        """Basic ``{api_key}:X``."""
        header = request.headers.get("Authorization", "")
        if header[:6].lower() == "basic ":
            try:
                user = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                user = ""
            if user == self.api_key:
                return None
        return self.expired_credentials_response(request)

    def expired_credentials_response(self, request: Request) -> Response:
        """401 ``invalid_credentials``."""
        body = {
            "code": "invalid_credentials",
            "message": "You have to be logged in to perform this action.",
        }
        return self.json(body, 401)

    def rate_limit_response(self, retry_after: int) -> Response:
        """429 with ``Retry-After`` and the rate-limit headers (body undocumented: empty)."""
        return Response(
            "",
            status=429,
            headers={
                "Retry-After": str(retry_after),
                "X-RateLimit-Total": str(self.rate_limit_total),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Used-CurrentRequest": "1",
            },
            content_type=self.json_content_type,
        )

    def server_error_response(self) -> Response:
        """500 with a minimal body."""
        return self.json({"code": "internal_error", "message": "Internal server error"}, 500)

    def unavailable_response(self) -> Response:
        """503 (body undocumented: minimal JSON)."""
        return self.json({"code": "service_unavailable", "message": "Service unavailable"}, 503)

    def no_route_response(self, request: Request) -> Response:
        """404 with an empty body."""
        return Response("", status=404, content_type=self.json_content_type)

    def method_not_allowed_response(self, request: Request, allowed: Sequence[str]) -> Response:
        """405 with ``Allow``."""
        return self.json(
            {"code": "method_not_allowed", "message": "Method not allowed"},
            405,
            {"Allow": ", ".join(allowed)},
        )

    def _paging(self, request: Request, max_page: int | None = None) -> tuple[int, int] | Response:
        values = {}
        for name, default in (("page", 1), ("per_page", 30)):
            raw = request.args.get(name, str(default))
            if not raw.isdigit() or int(raw) < 1:
                return self._validation(
                    400,
                    {
                        "field": name,
                        "message": "It should be a Positive Integer",
                        "code": "invalid_value",
                    },
                )
            values[name] = int(raw)
        if values["per_page"] > 100:
            return self._validation(
                400,
                {
                    "field": "per_page",
                    "message": "It should be a Positive Integer less than or equal to 100",
                    "code": "invalid_value",
                },
            )
        if max_page is not None and values["page"] > max_page:
            return self._validation(
                400,
                {
                    "field": "page",
                    "message": f"You cannot access tickets beyond the {max_page}th page. Please "
                    "provide a smaller page number.",
                    "code": "invalid_value",
                },
            )
        return values["page"], values["per_page"]

    def _page(
        self, request: Request, items: list[Any], page: int, per_page: int, cost: int = 1
    ) -> Response:
        chunk = items[(page - 1) * per_page : page * per_page]
        headers: dict[str, str] = {}
        if page * per_page < len(items):
            url = self.page_url(request, page=page + 1, per_page=per_page)
            headers["Link"] = self.link_header([(url, "next")])
        return self._ok(chunk, 200, cost, **headers)

    # -------------------------------------------------------------- contacts

    @staticmethod
    def _list_view(c: dict[str, Any]) -> dict[str, Any]:
        view = {k: copy.deepcopy(c.get(k)) for k in _LIST_KEYS}
        if c.get("deleted"):
            view["deleted"] = True  # only a deleted contact's row has the key
        return view

    @staticmethod
    def _full_view(c: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in c.items() if not k.startswith("_")}

    def on_contacts(self, request: Request) -> Response:
        """``GET /contacts`` with exact ``email``/``mobile``/``phone``/… filters (a phone
        filter matches the number as stored, spaces and dashes included)."""
        paging = self._paging(request)
        if isinstance(paging, Response):
            return paging
        state = request.args.get("state")
        items = list(self.contacts.values())
        if state:
            if state not in ("blocked", "deleted", "unverified", "verified"):
                return self._validation(
                    400,
                    {
                        "field": "state",
                        "message": "It should be one of these values: "
                        "'blocked,deleted,unverified,verified'",
                        "code": "invalid_value",
                    },
                )
            if state == "deleted":
                items = [c for c in items if c["deleted"]]
            elif state == "blocked":
                # as Freshdesk's own code: blocked or deleted (and not whitelisted)
                items = [c for c in items if c["_state"] == "blocked" or c["deleted"]]
            else:
                items = [c for c in items if not c["deleted"] and c["_state"] == state]
        else:
            items = [c for c in items if not c["deleted"] and c["_state"] != "blocked"]
        email = request.args.get("email")
        if email is not None:
            needle = email.strip().lower()
            items = [
                c
                for c in items
                if (c.get("email") or "").lower() == needle
                or needle in [e.lower() for e in c.get("other_emails") or []]
            ]
        for field in ("mobile", "phone"):
            if field in request.args:
                # the stored string exactly: "+31612345678" does not find "06 12345678"
                needle = request.args[field]
                items = [c for c in items if c.get(field) == needle]
        for field in ("unique_external_id", "company_id"):
            if field in request.args:
                items = [c for c in items if str(c.get(field)) == request.args[field]]
        if "updated_since" in request.args:
            since = self._parse_time(request.args["updated_since"])
            if since is None:
                return self._invalid_time("updated_since")
            items = [c for c in items if c["updated_at"] >= iso_s(since)]
        items.sort(key=lambda c: (c["created_at"], c["id"]))
        return self._page(request, [self._list_view(c) for c in items], *paging)

    def on_contact(self, request: Request, cid: int) -> Response:
        """``GET /contacts/{id}`` (single view, also for soft-deleted contacts)."""
        c = self.contacts.get(cid)
        return self._ok(self._full_view(c)) if c else self._not_found()

    def on_contact_update(self, request: Request, cid: int) -> Response:
        """``PUT /contacts/{id}``; invalid e-mail 400, e-mail of another contact 409."""
        c = self.contacts.get(cid)
        if c is None or c["deleted"]:
            return self._not_found()
        if c["_state"] == "blocked":
            return self._only_get(request.method)
        data = request.get_json(force=True, silent=True)
        if not isinstance(data, dict):
            return self._validation(
                400, {"field": "body", "message": "Invalid JSON body", "code": "invalid_json"}
            )
        unknown = [k for k in data if k not in _WRITABLE]
        if unknown:
            return self._validation(
                400,
                *(
                    {
                        "field": k,
                        "message": "Unexpected/invalid field in request",
                        "code": "invalid_field",
                    }
                    for k in unknown
                ),
            )
        if data.get("email"):
            new = str(data["email"]).strip()
            if not _EMAIL_RE.match(new):
                return self._validation(
                    400,
                    {
                        "field": "email",
                        "message": "It should be in the 'valid email address' format.",
                        "code": "invalid_value",
                    },
                )
            for other in self.contacts.values():
                if other is not c and (other.get("email") or "").lower() == new.lower():
                    return self._validation(
                        409,
                        {
                            "field": "email",
                            "message": "It should be a unique value",
                            "code": "duplicate_value",
                            "additional_info": {"user_id": other["id"]},
                        },
                    )
        merged = {**c, **data}
        if not any(merged.get(k) for k in _IDENTIFIERS):
            return self._validation(
                400,
                {
                    "field": "email",
                    "message": "Please fill at least 1 of email, mobile, phone, twitter_id, "
                    "unique_external_id fields",
                    "code": "missing_field",
                },
            )
        for key, value in data.items():
            if key == "custom_fields" and isinstance(value, dict):
                c["custom_fields"] = {**(c.get("custom_fields") or {}), **value}
            else:
                c[key] = value
        if "name" in data:
            first, _, last = str(data["name"]).partition(" ")
            c["first_name"], c["last_name"] = first, last
        c["updated_at"] = iso_s(self.now())
        return self._ok(self._full_view(c))

    def on_contact_delete(self, request: Request, cid: int) -> Response:
        """``DELETE /contacts/{id}``: soft delete → 204. A contact deleted already, or blocked,
        answers 405 (only ``GET``), as Freshdesk's own tests expect."""
        c = self.contacts.get(cid)
        if c is None:
            return self._not_found()
        if c["_state"] == "blocked" or c["deleted"]:
            return self._only_get(request.method)
        c["deleted"] = True
        c["active"] = False
        c["updated_at"] = iso_s(self.now())
        return Response(status=204, headers=self._rate_headers())

    def on_contact_restore(self, request: Request, cid: int) -> Response:
        """``PUT /contacts/{id}/restore`` → 204."""
        c = self.contacts.get(cid)
        if c is None or not c["deleted"]:
            return self._not_found()
        c["deleted"] = False
        c["updated_at"] = iso_s(self.now())
        return Response(status=204, headers=self._rate_headers())

    def on_contact_hard_delete(self, request: Request, cid: int) -> Response:
        """``DELETE /contacts/{id}/hard_delete[?force=true]`` → 204, permanent.

        Without ``force=true`` the contact must be soft-deleted first (400 otherwise; the
        body text is invented). The contact's tickets and conversations are removed too.
        """
        c = self.contacts.get(cid)
        if c is None:
            return self._not_found()
        force = request.args.get("force", "").lower() == "true"
        if not force and not c["deleted"]:
            return self._validation(
                400,
                {
                    "field": "contact_id",
                    "message": "The contact should be soft deleted before hard delete",
                    "code": "invalid_value",
                },
            )
        del self.contacts[cid]
        doomed = {t["id"] for t in self.tickets.values() if t["requester_id"] == cid}
        for tid in doomed:
            del self.tickets[tid]
        self.conversations = [cv for cv in self.conversations if cv["ticket_id"] not in doomed]
        # a ticket's survey results are destroyed with it (dependent: :destroy)
        self.ratings = [r for r in self.ratings if r["ticket_id"] not in doomed]
        return Response(status=204, headers=self._rate_headers())

    def on_search_contacts(self, request: Request) -> Response:
        """``GET /search/contacts?query="email:'…' OR phone:'…'"`` → ``{results, total}``."""
        raw = request.args.get("query", "")
        if len(raw) < 2 or not (raw.startswith('"') and raw.endswith('"')) or len(raw) > 514:
            return self._validation(
                400,
                {
                    "field": "query",
                    "message": "It should be a valid query string wrapped in double quotes "
                    "with at most 512 characters",
                    "code": "invalid_value",
                },
            )
        try:
            page = int(request.args.get("page", "1"))
        except ValueError:
            page = 0
        if not 1 <= page <= 10:
            return self._validation(
                400,
                {
                    "field": "page",
                    "message": "It should be a Positive Integer less than or equal to 10",
                    "code": "invalid_value",
                },
            )
        query = raw[1:-1]
        terms = [
            (m.group(1).lower(), m.group(2) or m.group(3)) for m in _SEARCH_TERM.finditer(query)
        ]
        use_and = " and " in query.lower()
        items = []
        for c in sorted(self.contacts.values(), key=lambda x: (x["created_at"], x["id"])):
            if c["deleted"]:
                continue
            hits = [self._search_hit(c, field, value) for field, value in terms]
            if hits and (all(hits) if use_and else any(hits)):
                items.append(self._list_view(c))
        chunk = items[(page - 1) * 30 : page * 30]
        return self._ok({"results": chunk, "total": len(items)})

    @staticmethod
    def _search_hit(c: dict[str, Any], field: str, value: str) -> bool:
        value = value.strip()
        if field == "email":
            emails = [c.get("email") or ""] + list(c.get("other_emails") or [])
            return value.lower() in [e.lower() for e in emails]
        if field in ("phone", "mobile"):
            return bool(c.get(field)) and _phone_key(c[field]) == _phone_key(value)
        if field in ("company_id", "language", "time_zone", "twitter_id"):
            return str(c.get(field)) == value
        if field == "tag":
            return value in (c.get("tags") or [])
        custom = c.get("custom_fields") or {}
        if field in custom:
            return str(custom[field]) == value
        return False

    # --------------------------------------------------------------- tickets

    @staticmethod
    def _parse_time(text: str) -> datetime | None:
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt

    def _invalid_time(self, field: str) -> Response:
        return self._validation(
            400,
            {
                "field": field,
                "message": "It should be in the 'combined date and time ISO8601' format",
                "code": "invalid_value",
            },
        )

    def _requester(self, t: dict[str, Any]) -> dict[str, Any] | None:
        c = self.contacts.get(t["requester_id"])
        if c is None:
            return None
        return {k: c.get(k) for k in ("id", "name", "email", "mobile", "phone")}

    def _render_ticket(
        self, t: dict[str, Any], includes: set[str], *, single: bool
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in t.items():
            if key.startswith("_") or (not single and key == "attachments"):
                continue
            if not single and key in ("description", "description_text"):
                if "description" not in includes:
                    continue
            out[key] = copy.deepcopy(value)
        if t.get("_deleted"):
            out["deleted"] = True  # only a trashed ticket has the key
        extra: dict[str, Any] = {}
        if "requester" in includes:
            extra["requester"] = self._requester(t)
        if "stats" in includes:
            extra["stats"] = copy.deepcopy(t.get("_stats"))
        if "company" in includes:
            extra["company"] = None
        # Same key order as the samples: the embeds come before structured_description.
        result: dict[str, Any] = {}
        for key, value in out.items():
            if key == "structured_description":
                result.update(extra)
                extra = {}
            result[key] = value
        result.update(extra)
        return result

    def _includes(self, request: Request, allowed: set[str]) -> set[str] | Response:
        raw = request.args.get("include", "")
        includes = {x.strip() for x in raw.split(",") if x.strip()}
        bad = includes - allowed
        if bad:
            return self._validation(
                400,
                {
                    "field": "include",
                    "message": f"It should be one of these values: '{','.join(sorted(allowed))}'",
                    "code": "invalid_value",
                },
            )
        return includes

    def on_tickets(self, request: Request) -> Response:
        """``GET /tickets`` (30-day window without ``updated_since``; page ≤ 300)."""
        paging = self._paging(request, max_page=300)
        if isinstance(paging, Response):
            return paging
        includes = self._includes(request, _INCLUDES)
        if isinstance(includes, Response):
            return includes
        items = list(self.tickets.values())
        flt = request.args.get("filter")
        if flt == "spam":
            items = [t for t in items if t.get("spam") and not t.get("_deleted")]
        elif flt == "deleted":
            items = [t for t in items if t.get("_deleted")]  # deleted spam too
        else:
            items = [t for t in items if not t.get("spam") and not t.get("_deleted")]
        if "email" in request.args:
            needle = request.args["email"].strip().lower()
            ids = {
                c["id"]
                for c in self.contacts.values()
                if (c.get("email") or "").lower() == needle
                or needle in [e.lower() for e in c.get("other_emails") or []]
            }
            items = [t for t in items if t["requester_id"] in ids]
        if "requester_id" in request.args:
            items = [t for t in items if str(t["requester_id"]) == request.args["requester_id"]]
        if "company_id" in request.args:
            items = [t for t in items if str(t.get("company_id")) == request.args["company_id"]]
        if "updated_since" in request.args:
            since = self._parse_time(request.args["updated_since"])
            if since is None:
                return self._invalid_time("updated_since")
            items = [t for t in items if t["updated_at"] >= iso_s(since)]
        else:
            cutoff = iso_s(self.now() - timedelta(days=self.recent_days))
            items = [t for t in items if t["created_at"] >= cutoff]
        order_by = request.args.get("order_by", "created_at")
        if order_by not in ("created_at", "due_by", "updated_at", "status"):
            return self._validation(
                400,
                {
                    "field": "order_by",
                    "message": "It should be one of these values: "
                    "'created_at,due_by,updated_at,status'",
                    "code": "invalid_value",
                },
            )
        items.sort(
            key=lambda t: (t[order_by], t["id"]),
            reverse=request.args.get("order_type", "desc") != "asc",
        )
        rendered = [self._render_ticket(t, includes, single=False) for t in items]
        return self._page(request, rendered, *paging, cost=1 + len(includes))

    def on_ticket(self, request: Request, tid: int) -> Response:
        """``GET /tickets/{id}`` (``include=conversations,requester,stats,company``), also of
        a ticket in the trash."""
        t = self.tickets.get(tid)
        if t is None:
            return self._not_found()
        includes = self._includes(request, {"conversations", "requester", "stats", "company"})
        if isinstance(includes, Response):
            return includes
        out = self._render_ticket(t, includes, single=True)
        if "conversations" in includes:
            out["conversations"] = [copy.deepcopy(cv) for cv in self._conversations_of(tid)[:10]]
        return self._ok(out, cost=1 + len(includes))

    def on_ticket_delete(self, request: Request, tid: int) -> Response:
        """``DELETE /tickets/{id}`` → 204: the ticket moves to the trash. A ticket in the
        trash (or spam) answers 405 with ``Allow: GET``: it can only be read."""
        t = self.tickets.get(tid)
        if t is None:
            return self._not_found()
        if t.get("_deleted") or t.get("spam"):
            return self._only_get(request.method)
        t["_deleted"] = True
        t["updated_at"] = iso_s(self.now())
        return Response(status=204, headers=self._rate_headers())

    def on_ticket_restore(self, request: Request, tid: int) -> Response:
        """``PUT /tickets/{id}/restore`` → 204."""
        t = self.tickets.get(tid)
        if t is None or not t.get("_deleted"):
            return self._not_found()
        t["_deleted"] = False
        t["updated_at"] = iso_s(self.now())
        return Response(status=204, headers=self._rate_headers())

    def _conversations_of(self, tid: int) -> list[dict[str, Any]]:
        return sorted(
            (cv for cv in self.conversations if cv["ticket_id"] == tid),
            key=lambda cv: (cv["created_at"], cv["id"]),
        )

    def on_conversations(self, request: Request, tid: int) -> Response:
        """``GET /tickets/{id}/conversations`` (paged like every list; a ticket in the trash
        has them too)."""
        if tid not in self.tickets:
            return self._not_found()
        paging = self._paging(request)
        if isinstance(paging, Response):
            return paging
        return self._page(request, copy.deepcopy(self._conversations_of(tid)), *paging)

    def on_satisfaction_ratings(self, request: Request) -> Response:
        """``GET /surveys/satisfaction_ratings`` with ``user_id`` and ``created_since`` (joined
        by AND; a ``user_id`` that is no number, or no user's, is a 400), newest first, paged
        like every list. Without either filter only the last ``recent_days`` days are listed,
        standing in for the default condition Freshdesk's code applies then (its content is
        not known here)."""
        paging = self._paging(request)
        if isinstance(paging, Response):
            return paging
        items = list(self.ratings)
        if "user_id" in request.args:
            raw = request.args["user_id"]
            if not raw.isdigit() or int(raw) < 1:
                return self._validation(
                    400,
                    {
                        "field": "user_id",
                        "message": "It should be a Positive Integer",
                        "code": "invalid_value",
                    },
                )
            if int(raw) not in self.contacts:
                return self._validation(
                    400, {"field": "user_id", "message": "can't be blank", "code": "invalid_value"}
                )
            items = [r for r in items if r["user_id"] == int(raw)]
        if "created_since" in request.args:
            since = self._parse_time(request.args["created_since"])
            if since is None:
                return self._invalid_time("created_since")
            items = [r for r in items if r["created_at"] >= iso_s(since)]
        elif "user_id" not in request.args:
            cutoff = iso_s(self.now() - timedelta(days=self.recent_days))
            items = [r for r in items if r["created_at"] >= cutoff]
        items.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
        return self._page(request, copy.deepcopy(items), *paging)


def create_app(world: World | None = None, **kwargs: Any) -> FreshdeskSimulator:
    """Create a Freshdesk simulator (a WSGI app); ``kwargs`` override the key and options."""
    return FreshdeskSimulator(world, **kwargs)
