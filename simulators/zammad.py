"""Zammad REST API (``/api/v1``) simulator.

Auth quirks from the reference: no credentials → **403** "Authentication required"; a wrong
token → 401 "Can't find User for Token"; wrong Basic → 401 "Invalid BasicAuth credentials";
both carry an ``X-Failure`` header. ``users/search`` is fuzzy (``query=email:…`` still
returns both Sannes), but a phone number is stored as typed and ``phone:``/``mobile:``/
``fax:`` only find the spelling searched for (``phone:"+31612345678"`` misses
``06 12345678``; a part of the stored string is found, as by a "contains" search).
Pagination is ``page``/``per_page`` (``limit`` alias) with silent clamping and no Link
header or total. Tickets come from ``tickets/search`` with ``query=customer_id:{id}`` and
``expand=true`` (or ``full=true`` for the assets shape); articles from
``ticket_articles/by_ticket/{id}`` (not paginated). Deletion goes through ``POST
/data_privacy_tasks`` and polling ``GET /data_privacy_tasks/{id}``; ``GET
/data_privacy_tasks`` lists the tasks (paged), and a second task for an object that already has
one that has not failed is refused with 422 (text invented); a task deletes a user (with the
tickets they are the customer of) or one ticket (``"deletable_type": "Ticket"``).
``DELETE /tickets/{id}`` removes a ticket with its articles, and ``DELETE /users/{id}`` a user.

Permissions: the token has those the reference lists for the portal (``ticket.agent``,
``admin.user``, ``admin.data_privacy``; ``permissions=`` sets others). Data privacy tasks need
``admin.data_privacy``; ``DELETE /tickets/{id}`` and ``DELETE /users/{id}`` need full admin
rights (``admin``), so the token gets 403 "Not authorized" there. The Basic login is the
admin's, who may do everything.

Without Elasticsearch (``elasticsearch=False``; it is optional, if highly recommended) Zammad
falls back to SQL: ``users/search`` looks for the whole query as a substring of first name,
last name, e-mail and login (``email:…`` is taken literally and finds nobody, nor does a phone
number), and ``tickets/search?query=`` for a substring of title, number and the articles'
subject, body, from and to (``customer_id:27`` finds nothing). The condition search (``POST
tickets/search`` with ``condition``) is exact either way.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Sequence
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from simulators.base import SimulatorApp, fuzzy_match
from simulators.world import World, iso_ms

__all__ = ["DEFAULT_CREDENTIALS", "ZammadSimulator", "create_app", "mask"]

PREFIX = "/api/v1"

#: Demo credentials: an API token and the admin's Basic login.
DEFAULT_CREDENTIALS: dict[str, str] = {
    "token": "zammad_demo_token_Qm7Xv2Lp9Kc4Rt8Wn1Zs",
    "username": "admin@koffiebar-utrecht.example.nl",
    "password": "demo-password",
}

STATES = {1: "new", 2: "open", 3: "pending reminder", 4: "closed", 5: "merged", 7: "pending close"}
PRIORITIES = {1: "1 low", 2: "2 normal", 3: "3 high"}
GROUPS = {1: "Users", 2: "Service Desk"}
ARTICLE_TYPES = {1: "email", 3: "phone", 5: "web", 10: "note"}
SENDERS = {1: "Agent", 2: "Customer", 3: "System"}

_USER_FIELDS = {
    "firstname", "lastname", "email", "login", "phone", "mobile", "fax", "web", "street",
    "zip", "city", "country", "address", "department", "organization_id", "note", "vip",
    "active",
}  # fmt: skip
_USER_SEARCH_FIELDS = (
    "login", "firstname", "lastname", "email", "phone", "mobile", "note", "address", "city",
    "department",
)  # fmt: skip
_FIELD_RE = re.compile(r'([\w.]+):("[^"]*"|\S+)')
#: The permissions of the portal's token (the reference's list).
TOKEN_PERMISSIONS = frozenset({"ticket.agent", "admin.user", "admin.data_privacy"})
#: The admin's (the Basic login's): ``admin`` covers every ``admin.*``.
ADMIN_PERMISSIONS = frozenset({"admin", "ticket.agent"})
#: What an endpoint needs beyond a valid login.
_NEEDS = {
    "ticket_delete": "admin",
    "user_delete": "admin",
    "dpt_create": "admin.data_privacy",
    "dpt_list": "admin.data_privacy",
    "dpt": "admin.data_privacy",
}
#: Fields holding a phone number as typed: a search finds only the spelling searched for.
_PHONE_FIELDS = frozenset({"phone", "mobile", "fax"})


def mask(text: str) -> str:
    """Mask a value the way data privacy tasks show it (``Sanne`` → ``S*e``)."""

    def word(w: str) -> str:
        if len(w) <= 2:
            return w[:1] + "*" if w else w
        return f"{w[0]}*{w[-1]}"

    if "@" in text:
        local, _, domain = text.partition("@")
        name, dot, tld = domain.rpartition(".")
        return f"{word(local)}@{word(name)}{dot}{tld}" if dot else f"{word(local)}@{word(domain)}"
    return " ".join(word(w) for w in text.split(" "))


class ZammadSimulator(SimulatorApp):
    """In-memory Zammad help desk (users, tickets, articles, data privacy tasks)."""

    vendor = "zammad"
    api_prefix = PREFIX
    url_map = Map(
        [
            Rule(f"{PREFIX}/users", endpoint="users", methods=["GET"]),
            Rule(f"{PREFIX}/users/me", endpoint="me", methods=["GET"]),
            Rule(f"{PREFIX}/users/search", endpoint="users_search", methods=["GET"]),
            Rule(f"{PREFIX}/users/<int:uid>", endpoint="user", methods=["GET"]),
            Rule(f"{PREFIX}/users/<int:uid>", endpoint="user_update", methods=["PUT"]),
            Rule(f"{PREFIX}/users/<int:uid>", endpoint="user_delete", methods=["DELETE"]),
            Rule(f"{PREFIX}/tickets/search", endpoint="tickets_search", methods=["GET", "POST"]),
            Rule(f"{PREFIX}/tickets/<int:tid>", endpoint="ticket", methods=["GET"]),
            Rule(f"{PREFIX}/tickets/<int:tid>", endpoint="ticket_delete", methods=["DELETE"]),
            Rule(
                f"{PREFIX}/ticket_articles/by_ticket/<int:tid>",
                endpoint="articles",
                methods=["GET"],
            ),
            Rule(f"{PREFIX}/data_privacy_tasks", endpoint="dpt_list", methods=["GET"]),
            Rule(f"{PREFIX}/data_privacy_tasks", endpoint="dpt_create", methods=["POST"]),
            Rule(f"{PREFIX}/data_privacy_tasks/<int:task_id>", endpoint="dpt", methods=["GET"]),
        ],
        strict_slashes=False,
    )

    def __init__(
        self,
        world: World | None = None,
        *,
        token: str = DEFAULT_CREDENTIALS["token"],
        username: str = DEFAULT_CREDENTIALS["username"],
        password: str = DEFAULT_CREDENTIALS["password"],
        privacy_task_polls: int = 1,
        elasticsearch: bool = True,
        permissions: frozenset[str] = TOKEN_PERMISSIONS,
        **kwargs: Any,
    ) -> None:
        #: The token's permissions (the Basic login is the admin's: ``ADMIN_PERMISSIONS``).
        self.permissions = frozenset(permissions)
        #: Whether searches go through Elasticsearch; without it, Zammad's SQL fallback.
        self.elasticsearch = elasticsearch
        self.token = token
        self.username = username
        self.password = password
        #: How many ``GET /data_privacy_tasks/{id}`` polls answer "in process" before the
        #: task runs and reports "completed" (0: it completes on the first poll).
        self.privacy_task_polls = privacy_task_polls
        super().__init__(world, **kwargs)

    def load_state(self, world: World) -> None:
        """Take users, tickets and articles from the world."""
        data = world.zammad
        self.users: dict[int, dict[str, Any]] = {u["id"]: u for u in data["users"]}
        self.tickets: dict[int, dict[str, Any]] = {t["id"]: t for t in data["tickets"]}
        self.articles: list[dict[str, Any]] = list(data["articles"])
        self.tasks: dict[int, dict[str, Any]] = {}
        self._task_polls: dict[int, int] = {}
        self._next_task = 9

    @property
    def credentials(self) -> dict[str, str]:
        """``token`` (for ``Authorization: Token token=…``) plus Basic ``username``/``password``."""
        return {"token": self.token, "username": self.username, "password": self.password}

    # ------------------------------------------------------------- responses

    def _err(self, message: str, status: int, failure: bool = False) -> Response:
        headers = {"X-Failure": message} if failure else {}
        return self.json({"error": message, "error_human": message}, status, headers)

    def authenticate(self, request: Request, endpoint: str) -> Response | None:
        """Token, Bearer or Basic; none at all is a 403. Then the permission the endpoint
        needs (:data:`_NEEDS`): without it, 403 "Not authorized"."""
        header = request.headers.get("Authorization", "").strip()
        if not header:
            return self._err("Authentication required", 403, failure=True)
        scheme, _, rest = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "token":
            value = rest.strip()
            if value.startswith("token="):
                value = value[len("token=") :]
            if value.strip('"') == self.token:
                return self._permitted(self.permissions, endpoint)
            return self._err("Can't find User for Token", 401, failure=True)
        if scheme == "bearer":
            if rest.strip() == self.token:
                return self._permitted(self.permissions, endpoint)
            return self._err("Can't find User for Token", 401, failure=True)
        if scheme == "basic":
            try:
                user, _, pw = base64.b64decode(rest.strip()).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, pw = "", ""
            if user == self.username and pw == self.password:
                return self._permitted(ADMIN_PERMISSIONS, endpoint)
            return self._err("Invalid BasicAuth credentials", 401, failure=True)
        return self._err("Authentication required", 403, failure=True)

    def _permitted(self, permissions: frozenset[str], endpoint: str) -> Response | None:
        """``None`` when ``permissions`` hold what ``endpoint`` needs (a permission covers
        those below it: ``admin`` covers ``admin.data_privacy``), else the 403."""
        needed = _NEEDS.get(endpoint)
        if needed is None:
            return None
        parts = needed.split(".")
        if any(".".join(parts[:n]) in permissions for n in range(1, len(parts) + 1)):
            return None
        return self._err("Not authorized", 403, failure=True)

    def expired_credentials_response(self, request: Request) -> Response:
        """401 "Not authorized (token expired)!"."""
        return self._err("Not authorized (token expired)!", 401, failure=True)

    def rate_limit_response(self, retry_after: int) -> Response:
        """Rack::Attack style: 429 ``Retry later`` as plain text, plus ``Retry-After``."""
        return Response(
            "Retry later\n",
            status=429,
            headers={"Retry-After": str(retry_after)},
            content_type="text/plain",
        )

    def server_error_response(self) -> Response:
        """500 with the "Error ID" text non-admins see."""
        return self._err("Error ID 4f2a9c1b: Please contact your administrator.", 500)

    def unavailable_response(self) -> Response:
        """The reverse proxy's 503 page (Zammad itself has no 503): HTML."""
        return Response(
            "<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
            "<center><h1>503 Service Temporarily Unavailable</h1></center>"
            "<hr><center>nginx</center></body></html>",
            status=503,
            content_type="text/html",
        )

    def no_route_response(self, request: Request) -> Response:
        """404 for an unknown route."""
        return self._err(f'No route matches [{request.method}] "{request.path}"', 404)

    def method_not_allowed_response(self, request: Request, allowed: Sequence[str]) -> Response:
        """Rails answers a wrong verb as an unknown route."""
        return self.no_route_response(request)

    def _paging(self, request: Request, default: int, maximum: int) -> tuple[int, int]:
        def num(name: str, fallback: int) -> int:
            try:
                return int(request.args.get(name, fallback))
            except ValueError:
                return fallback

        page = max(num("page", 1), 1)
        per_page = num("per_page", num("limit", default))
        per_page = min(max(per_page, 1), maximum)
        return page, per_page

    # ----------------------------------------------------------------- users

    def _login_of(self, uid: int | None) -> str | None:
        user = self.users.get(uid) if uid is not None else None
        return user["login"] if user else None

    def on_users(self, request: Request) -> Response:
        """``GET /users`` (paged, default 100, max 500)."""
        page, per_page = self._paging(request, 100, 500)
        users = sorted(self.users.values(), key=lambda u: u["id"])
        return self.json(copy.deepcopy(users[(page - 1) * per_page : page * per_page]))

    def on_me(self, request: Request) -> Response:
        """``GET /users/me``: the admin whose token is used."""
        return self.json(copy.deepcopy(self.users.get(3, {})))

    def on_users_search(self, request: Request) -> Response:
        """``GET /users/search?query=`` (fuzzy; ``field:value`` narrows to that field)."""
        page, per_page = self._paging(request, 100, 500)
        query = request.args.get("query", "").strip()
        users = sorted(self.users.values(), key=lambda u: u["id"])
        if query and not self.elasticsearch:
            # the SQL fallback: the query, without "*", as a substring of four columns
            text = query.replace("*", "").lower()
            users = [
                u
                for u in users
                if any(
                    text in str(u.get(f) or "").lower()
                    for f in ("firstname", "lastname", "email", "login")
                )
            ]
        elif query:
            users = [u for u in users if self._user_matches(u, query)]
        return self.json(copy.deepcopy(users[(page - 1) * per_page : page * per_page]))

    @staticmethod
    def _user_matches(user: dict[str, Any], query: str) -> bool:
        terms = _FIELD_RE.findall(query)
        rest = _FIELD_RE.sub(" ", query).strip()
        for fld, value in terms:
            value = value.strip('"')
            values = [str(user.get(fld) or "")] if fld in user else []
            if fld in _PHONE_FIELDS:
                if not value.strip() or not any(value.strip() in v for v in values):
                    return False
            elif not values or not fuzzy_match(value, values):
                return False
        if rest:
            rest = rest.replace("*", "").strip()
            values = [str(user.get(f) or "") for f in _USER_SEARCH_FIELDS]
            return fuzzy_match(rest, values)
        return True

    def _user_404(self, uid: Any) -> Response:
        return self._err(f"Couldn't find User with 'id'={uid}", 404)

    def on_user(self, request: Request, uid: int) -> Response:
        """``GET /users/{id}``."""
        user = self.users.get(uid)
        return self.json(copy.deepcopy(user)) if user else self._user_404(uid)

    def on_user_update(self, request: Request, uid: int) -> Response:
        """``PUT /users/{id}`` with the changed attributes; e-mail collisions give 422."""
        user = self.users.get(uid)
        if user is None:
            return self._user_404(uid)
        data = request.get_json(force=True, silent=True)
        if not isinstance(data, dict):
            return self._err("Invalid JSON body", 422)
        changes = {k: v for k, v in data.items() if k in _USER_FIELDS}
        if "email" in changes and changes["email"]:
            new = str(changes["email"]).strip()
            if "@" not in new:
                return self._err(f"Invalid email '{new}'", 422)
            for other in self.users.values():
                if other is not user and (other.get("email") or "").lower() == new.lower():
                    return self._err(
                        f"Email address '{new}' is already used for another user.", 422
                    )
        user.update(changes)
        user["updated_at"] = iso_ms(self.now())
        return self.json(copy.deepcopy(user))

    def on_user_delete(self, request: Request, uid: int) -> Response:
        """``DELETE /users/{id}`` → 200 ``{}`` (tickets are left behind)."""
        if uid not in self.users:
            return self._user_404(uid)
        del self.users[uid]
        return self.json({})

    # --------------------------------------------------------------- tickets

    def _expand(self, t: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(t)
        org = None
        out.update(
            {
                "referencing_checklists": [],
                "group": GROUPS.get(t["group_id"]),
                "organization": org,
                "ticket_time_accounting": [],
                "state": STATES.get(t["state_id"]),
                "priority": PRIORITIES.get(t["priority_id"]),
                "owner": self._login_of(t["owner_id"]),
                "customer": self._login_of(t["customer_id"]),
                "created_by": self._login_of(t["created_by_id"]),
                "updated_by": self._login_of(t["updated_by_id"]),
                "create_article_type": ARTICLE_TYPES.get(t["create_article_type_id"]),
                "create_article_sender": SENDERS.get(t["create_article_sender_id"]),
            }
        )
        return out

    def _ticket_matches(self, t: dict[str, Any], query: str) -> bool:
        terms = _FIELD_RE.findall(query)
        rest = _FIELD_RE.sub(" ", query).strip()
        for fld, value in terms:
            value = value.strip('"')
            if fld in ("customer_id", "owner_id", "group_id", "state_id", "priority_id"):
                if str(t.get(fld)) != value:
                    return False
            elif fld == "number":
                if t["number"] != value:
                    return False
            elif fld in ("customer.email", "customer.login"):
                user = self.users.get(t["customer_id"]) or {}
                if not fuzzy_match(value, [user.get("email"), user.get("login")]):
                    return False
            elif fld == "state" or fld == "state.name":
                if STATES.get(t["state_id"]) != value:
                    return False
            elif fld in ("title",):
                if not fuzzy_match(value, [t["title"]]):
                    return False
            else:
                return False
        if rest and rest != "*":
            return fuzzy_match(rest, [t["title"], t["number"]])
        return True

    def _ticket_contains(self, t: dict[str, Any], text: str) -> bool:
        """The SQL fallback's ticket search: ``text`` in the title, the number or an article's
        subject, body, from or to (case-insensitive)."""
        text = text.lower()
        values = [t["title"], t["number"]]
        for a in self.articles:
            if a["ticket_id"] == t["id"]:
                values += [a.get(f) for f in ("subject", "body", "from", "to")]
        return any(text in str(v or "").lower() for v in values)

    def on_tickets_search(self, request: Request) -> Response:
        """``GET /tickets/search?query=customer_id:{id}&expand=true`` or condition ``POST``."""
        params: dict[str, Any] = dict(request.args.items())
        tickets = list(self.tickets.values())
        if request.method == "POST":
            body = request.get_json(force=True, silent=True) or {}
            if not isinstance(body, dict):
                return self._err("Invalid JSON body", 422)
            params.update({k: v for k, v in body.items() if k != "condition"})
            for attr, cond in (body.get("condition") or {}).items():
                fld = attr.split(".", 1)[-1]
                op = str(cond.get("operator", "is"))
                raw = cond.get("value")
                values = {str(v) for v in (raw if isinstance(raw, list) else [raw])}
                if op == "is":
                    tickets = [t for t in tickets if str(t.get(fld)) in values]
                elif op == "is not":
                    tickets = [t for t in tickets if str(t.get(fld)) not in values]
                else:
                    return self._err(f"Unsupported operator '{op}'", 422)
        query = str(params.get("query", "")).strip()
        if query and not self.elasticsearch:
            tickets = [t for t in tickets if self._ticket_contains(t, query.replace("*", ""))]
        elif query:
            tickets = [t for t in tickets if self._ticket_matches(t, query)]
        sort_by = str(params.get("sort_by", "created_at"))
        descending = str(params.get("order_by", "desc")) != "asc"
        tickets.sort(key=lambda t: (str(t.get(sort_by)), t["id"]), reverse=descending)

        def num(name: str, fallback: int) -> int:
            try:
                return int(params.get(name, fallback))
            except (TypeError, ValueError):
                return fallback

        page = max(num("page", 1), 1)
        per_page = min(max(num("per_page", num("limit", 50)), 1), 200)
        total = len(tickets)
        chunk = tickets[(page - 1) * per_page : page * per_page]
        if str(params.get("only_total_count", "")).lower() == "true":
            return self.json({"total_count": total})
        if str(params.get("expand", "")).lower() == "true":
            return self.json([self._expand(t) for t in chunk])
        if str(params.get("full", "")).lower() == "true":
            users: dict[str, Any] = {}
            for t in chunk:
                for uid in {t["customer_id"], t["owner_id"]}:
                    if uid in self.users:
                        users[str(uid)] = copy.deepcopy(self.users[uid])
            return self.json(
                {
                    "record_ids": [t["id"] for t in chunk],
                    "assets": {
                        "Ticket": {str(t["id"]): copy.deepcopy(t) for t in chunk},
                        "User": users,
                    },
                    "total_count": total,
                }
            )
        return self.json(copy.deepcopy(chunk))

    def on_ticket(self, request: Request, tid: int) -> Response:
        """``GET /tickets/{id}`` (``expand=true`` adds the resolved names)."""
        t = self.tickets.get(tid)
        if t is None:
            return self._err(f"Couldn't find Ticket with 'id'={tid}", 404)
        if request.args.get("expand", "").lower() == "true":
            return self.json(self._expand(t))
        return self.json(copy.deepcopy(t))

    def on_ticket_delete(self, request: Request, tid: int) -> Response:
        """``DELETE /tickets/{id}`` (admin) → 200 with an empty body; articles go with it."""
        if self.tickets.pop(tid, None) is None:
            return self._err(f"Couldn't find Ticket with 'id'={tid}", 404)
        self.articles = [a for a in self.articles if a["ticket_id"] != tid]
        return Response("", status=200, content_type=self.json_content_type)

    def on_articles(self, request: Request, tid: int) -> Response:
        """``GET /ticket_articles/by_ticket/{id}``: every article, not paginated."""
        if tid not in self.tickets:
            return self._err(f"Couldn't find Ticket with 'id'={tid}", 404)
        out = []
        for a in self.articles:
            if a["ticket_id"] != tid:
                continue
            item = copy.deepcopy(a)
            time_unit = item.pop("time_unit", None)
            item["type"] = ARTICLE_TYPES.get(a["type_id"])
            item["sender"] = SENDERS.get(a["sender_id"])
            item["created_by"] = self._login_of(a["created_by_id"])
            item["updated_by"] = self._login_of(a["updated_by_id"])
            item["time_unit"] = time_unit
            out.append(item)
        out.sort(key=lambda a: a["id"])
        return self.json(out)

    # ----------------------------------------------------- data privacy tasks

    def on_dpt_create(self, request: Request) -> Response:
        """``POST /data_privacy_tasks`` with ``{"deletable_type", "deletable_id"}`` → 201."""
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return self._err("Invalid JSON body", 422)
        kind = body.get("deletable_type", "User")
        try:
            target = int(body["deletable_id"])
        except (KeyError, TypeError, ValueError):
            return self._err("Deletable could not be found", 422)
        now = iso_ms(self.now())
        if kind == "User":
            user = self.users.get(target)
            if user is None:
                return self._err("Deletable could not be found", 422)
            if 1 in user.get("role_ids", []):
                return self._err("It is not possible to delete admins.", 422)
            customer = sorted(
                (t["id"] for t in self.tickets.values() if t["customer_id"] == target),
                reverse=True,
            )
            owner = sorted(
                (t["id"] for t in self.tickets.values() if t["owner_id"] == target), reverse=True
            )
            prefs: dict[str, Any] = {
                "owner_tickets": owner,
                "owner_tickets_count": len(owner),
                "customer_tickets": customer,
                "customer_tickets_count": len(customer),
                "user": {
                    "firstname": mask(user.get("firstname") or ""),
                    "lastname": mask(user.get("lastname") or ""),
                    "email": mask(user.get("email") or ""),
                    "organization": "",
                },
            }
        elif kind == "Ticket":
            ticket = self.tickets.get(target)
            if ticket is None:
                return self._err("Deletable could not be found", 422)
            prefs = {"ticket": {"title": ticket["title"]}}
        else:
            return self._err(f"Invalid deletable_type '{kind}'", 422)
        for other in self.tasks.values():
            if (
                other["deletable_type"] == kind
                and other["deletable_id"] == target
                and other["state"] != "failed"
            ):
                return self._err("This object is already scheduled for deletion.", 422)
        task_id = self._next_task
        self._next_task += 1
        task = {
            "id": task_id,
            "state": "in process",
            "deletable_type": kind,
            "deletable_id": target,
            "preferences": prefs,
            "updated_by_id": 3,
            "created_by_id": 3,
            "created_at": now,
            "updated_at": now,
        }
        self.tasks[task_id] = task
        self._task_polls[task_id] = 0
        return self.json(copy.deepcopy(task), 201)

    def on_dpt_list(self, request: Request) -> Response:
        """``GET /data_privacy_tasks`` (paged like other lists, oldest first)."""
        page, per_page = self._paging(request, 100, 500)
        tasks = sorted(self.tasks.values(), key=lambda t: t["id"])
        return self.json(copy.deepcopy(tasks[(page - 1) * per_page : page * per_page]))

    def on_dpt(self, request: Request, task_id: int) -> Response:
        """``GET /data_privacy_tasks/{id}``: runs the deletion after the configured polls."""
        task = self.tasks.get(task_id)
        if task is None:
            return self._err(f"Couldn't find DataPrivacyTask with 'id'={task_id}", 404)
        if task["state"] != "completed":
            polls = self._task_polls[task_id]
            self._task_polls[task_id] = polls + 1
            if polls >= self.privacy_task_polls:
                self._run_task(task)
        return self.json(copy.deepcopy(task))

    def _run_task(self, task: dict[str, Any]) -> None:
        target = task["deletable_id"]
        if task["deletable_type"] == "User":
            doomed = {t["id"] for t in self.tickets.values() if t["customer_id"] == target}
            self.users.pop(target, None)
        else:
            doomed = {target}
        for tid in doomed:
            self.tickets.pop(tid, None)
        self.articles = [a for a in self.articles if a["ticket_id"] not in doomed]
        task["state"] = "completed"
        task["updated_at"] = iso_ms(self.now())


def create_app(world: World | None = None, **kwargs: Any) -> ZammadSimulator:
    """Create a Zammad simulator (a WSGI app); ``kwargs`` override credentials and options."""
    return ZammadSimulator(world, **kwargs)
