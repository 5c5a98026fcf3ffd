"""Zammad (REST API v1): users, their tickets and the tickets' articles.

Lookup: ``GET users/search?query=email:{addr}`` and ``?query={addr}`` (fuzzy: tokenised by
Elasticsearch, or, without it, the whole query as a SQL "contains" over names, e-mail and
login, where ``email:…`` finds nobody), so the user's ``email`` is compared exactly here (an
address with an internationalised domain is searched in ASCII and in Unicode, as either may be
stored: :func:`~connectors.identity.email_spellings`); phone
numbers are searched as ``phone:`` and ``mobile:`` in each usual spelling (Zammad keeps them as
typed; only Elasticsearch searches them) and compared after E.164 normalisation. Tickets of a
matched user come from the condition search ``POST tickets/search`` with
``{"condition": {"ticket.customer_id": {"operator": "is", "value": id}}, "expand": true}``
(exact, from the database, with or without Elasticsearch; page/per_page until a short page),
articles from ``GET ticket_articles/by_ticket/{id}`` (not paginated). Internal notes are
included: they are personal data about the customer too.

Without Elasticsearch (optional in Zammad) phone numbers cannot be searched at all: the SQL
fallback looks only in names, e-mail and login. Before searching a customer's phone numbers the
connector checks that the index answers: it searches the token's own user
(``GET users/me``) by the field syntax (``login:"…"``), which only the index finds. Without an
index (or with ``search_index = false``) the numbers are not searched and the result is partial
(``phone_search``, not supported), never silently complete; when the check itself fails, the
same part is missing for that failure.

Config: ``base_url`` (``https://{host}`` or its ``/api/v1`` root), ``token`` (secret; sent as
``Authorization: Token token=…``), ``search_index`` (optional: ``true`` or ``false`` says whether
the help desk has its search index, and skips the check; unset, the connector checks it at each
gathering that has a phone number to search).

Writing back: ``PUT users/{id}`` (names, e-mail, phone numbers, address fields). Erasure of a
user goes through a *data privacy task* (``POST data_privacy_tasks``, needs
``admin.data_privacy``), which deletes the user **and the tickets they are the customer of**;
the task runs in the background, so ``erase`` polls ``GET data_privacy_tasks/{id}`` until it is
completed or the deadline passes. Creating a task is not idempotent: ``erase`` first looks for a
task that already exists for the user (a retried erase resumes polling it). A single ticket is
deleted the same way, by a data privacy task for the ticket (``"deletable_type": "Ticket"``),
which needs only ``admin.data_privacy``; ``DELETE tickets/{id}`` would need full admin rights,
which the portal's token (``ticket.agent``, ``admin.user``, ``admin.data_privacy``) does not
have. Articles cannot be erased on their own (Zammad's article policy); they go with their
ticket. As a user's tickets go with the user (``erased_with_parent``), an erasure deletes a user
only when each of their tickets goes too: not while one is kept by law or outside the request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
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
from .errors import Answer, BadResponse, ErrorKind, NotConfigured, RequestRejected, SourceTimeout
from .http import HttpClient, HttpSession, RetryPolicy
from .identity import IdentifierKind, email_spellings, phone_spellings
from .pagination import items, short_page_pages
from .parsing import JSONDict, expect_dict, expect_id, expect_list, parse_datetime, pick
from .registry import register
from .urls import api_root, require_safe_scheme, site_root

log = logging.getLogger(__name__)

API_PATH = "/api/v1"
#: The part missing when phone numbers cannot be searched (no search index).
PHONE_SEARCH = "phone_search"
#: Zammad caps user search pages at 500 and ticket search pages at 200; stay well below.
PER_PAGE = 100

DEFAULT_CATEGORIES = MappingProxyType(
    {
        "user.*": "customer_account",
        "user.firstname": "identity",
        "user.lastname": "identity",
        "user.email": "contact",
        "user.phone": "contact",
        "user.mobile": "contact",
        "user.fax": "contact",
        "user.web": "contact",
        "user.address": "address",
        "user.street": "address",
        "user.zip": "address",
        "user.city": "address",
        "user.country": "address",
        "ticket.*": "support",
        "article.*": "support",
    }
)


def _text(key: str, label: str, kind: FieldKind = FieldKind.TEXT) -> CorrectableField:
    return CorrectableField(kind, key, label)


CORRECTABLE = MappingProxyType(
    {
        "user": MappingProxyType(
            {
                "firstname": _text("firstname", "First name"),
                "lastname": _text("lastname", "Last name"),
                "email": _text("email", "Email", FieldKind.EMAIL),
                "phone": _text("phone", "Phone", FieldKind.PHONE),
                "mobile": _text("mobile", "Mobile", FieldKind.PHONE),
                "address": _text("address", "Address"),
                "street": _text("street", "Street"),
                "zip": _text("zip", "Zip"),
                "city": _text("city", "City"),
                "country": _text("country", "Country"),
            }
        )
    }
)
ERASURE: Mapping[str, ErasureAction] = MappingProxyType(
    {"user": "delete", "ticket": "delete", "article": "none"}
)


@register
class ZammadConnector(BaseConnector):
    """Reads Zammad users (by e-mail or phone), their tickets and ticket articles."""

    name = "zammad"
    title = "Zammad"
    identifier_kinds = frozenset({IdentifierKind.EMAIL, IdentifierKind.PHONE})
    config_schema = (
        ConfigField("base_url", required=True, description="Help desk URL or its /api/v1 root."),
        ConfigField("token", required=True, secret=True, description="Access token."),
        ConfigField(
            "search_index",
            default=None,
            description="Whether the help desk has its search index (Elasticsearch), without "
            "which Zammad cannot search phone numbers: true or false; unset, it is checked at "
            "each gathering that searches a phone number.",
        ),
    )
    default_categories = DEFAULT_CATEGORIES
    capabilities = frozenset({Capability.READ, Capability.CORRECT, Capability.ERASE})
    correctable = CORRECTABLE
    erasure = ERASURE
    # a data privacy task for a user deletes the tickets they are the customer of
    erased_with_parent = frozenset({"article", "ticket"})
    found_parts = MappingProxyType({"user": "users"})
    # An article is found under its ticket in the UI; its own id is not the ticket's number.
    record_places = MappingProxyType(
        {"user": "Users", "ticket": "Tickets", "article": "Ticket articles"}
    )
    field_places = MappingProxyType(
        {"user.note": "Note", "ticket.title": "Title", "article.body": "Article text"}
    )

    def make_http(
        self,
        *,
        transport: httpx.BaseTransport | None,
        retry: RetryPolicy | None,
        timeout: httpx.Timeout,
    ) -> HttpClient:
        """Token authentication (``Authorization: Token token=…``)."""
        index = self.config["search_index"]
        if index is not None and not isinstance(index, bool):
            raise NotConfigured(
                "zammad: config key 'search_index' must be true or false", vendor=self.name
            )
        base = require_safe_scheme(self.name, str(self.config["base_url"]))
        api = api_root(base, API_PATH)
        self.web_url = site_root(api, API_PATH)
        return HttpClient(
            self.name,
            api,
            headers={"Authorization": f"Token token={self.config['token']}"},
            timeout=timeout,
            retry=retry,
            transport=transport,
        )

    def find(self, run: Run) -> Iterator[Candidate]:
        """Fuzzy user searches by ``email:`` and ``phone:``/``mobile:``, each user once;
        matched exactly later.

        Zammad stores a phone number as it was typed and its search needs the spelling, so
        each verified number is searched in its usual spellings
        (:func:`~connectors.identity.phone_spellings`), if the search index is there to find
        them (:meth:`_phones_searchable`). An e-mail address likewise, in each spelling of its
        domain (:func:`~connectors.identity.email_spellings`).
        """
        # ``email:`` is Elasticsearch's field syntax; without Elasticsearch Zammad looks for the
        # whole query in names, e-mail and login, where only the bare address is found
        queries = [
            query
            for email in run.identity.values(IdentifierKind.EMAIL)
            for spelling in email_spellings(email)
            for query in (f"email:{spelling}", spelling)
        ]
        found: set[str] = set()
        yield from self._users(run, queries, found)
        phones = run.identity.values(IdentifierKind.PHONE)
        if not phones or not self._phones_searchable(run):
            return
        queries = [
            query
            for phone in phones
            for spelling in phone_spellings(phone)
            for query in (f'phone:"{spelling}"', f'mobile:"{spelling}"')
        ]
        yield from self._users(run, queries, found)

    def _users(self, run: Run, queries: list[str], found: set[str]) -> Iterator[Candidate]:
        """The users each of ``queries`` finds, each once (``found``); a row that cannot be
        read is handed on as such (the base class drops it unless it may be theirs)."""
        for query in queries:
            pages = short_page_pages(
                run.http, "users/search", params={"query": query}, per_page=PER_PAGE
            )
            for user in items(pages):
                candidate = read_candidate("user", user, _user_identifiers)
                if candidate.record_id in found:
                    continue  # also found by another search or spelling
                if candidate.record_id:
                    found.add(candidate.record_id)
                yield candidate

    def _phones_searchable(self, run: Run) -> bool:
        """Whether phone numbers can be searched: only Zammad's search index (Elasticsearch)
        searches them. When they cannot be, or whether they can cannot be told, the result
        says so (:data:`PHONE_SEARCH` missing) instead of looking complete."""
        setting = self.config["search_index"]
        if setting is None:
            checked = run.related(PHONE_SEARCH, partial(self._search_index, run))
            if not checked:
                return False  # the check failed: reported missing for its failure
            setting = checked[0]
        if not setting:
            log.info("zammad: no search index, phone numbers not searched")
            run.report(PHONE_SEARCH, ErrorKind.NOT_SUPPORTED)
        return bool(setting)

    @staticmethod
    def _search_index(run: Run) -> list[bool]:
        """Whether Zammad answers searches from its index: the token's own user (``users/me``)
        is searched by the field syntax ``login:"…"``. The index finds it; Zammad's fallback
        without it looks for that text in names, e-mail and login, and finds nobody."""
        body, _ = run.http.get_json("users/me")
        me = expect_dict(body, "zammad user")
        login, me_id = me.get("login"), expect_id(me, "zammad user")
        if not isinstance(login, str) or not login.strip():
            raise BadResponse("zammad: users/me has no login", vendor="zammad")
        quoted = login.replace("\\", "\\\\").replace('"', '\\"')
        body, _ = run.http.get_json(
            "users/search", params={"query": f'login:"{quoted}"', "per_page": PER_PAGE}
        )
        return [any(str(u.get("id")) == me_id for u in expect_list(body, "zammad users"))]

    def expand(self, run: Run, match: Match) -> Iterator[Draft]:
        """The user, their tickets (as customer) and each ticket's articles."""
        user_id = match.candidate.record_id
        # the user that cannot be read is missing; their tickets are still read by the id
        yield from run.each("users", [dict(match.candidate.raw)], lambda raw: [self._user(raw)])
        # Ticket search is fuzzy at some Zammad versions: keep only this customer's tickets.
        tickets = run.only_theirs(
            "tickets",
            run.related("tickets", partial(self._tickets, run, user_id)),
            lambda ticket: ticket.get("customer_id"),
            user_id,
        )
        yield from run.each("tickets", tickets, partial(self._ticket_and_articles, run, user_id))

    def _ticket_and_articles(self, run: Run, user_id: str, ticket: JSONDict) -> Iterator[Draft]:
        """A ticket, then its articles (each one that cannot be read is reported missing)."""
        draft = self._ticket(ticket, user_id)
        yield draft
        ticket_id = draft.record_id
        articles = run.related("ticket_articles", partial(self._articles, run, ticket_id))
        # A message is kept as long as its ticket: counted from the ticket's closing.
        closed = draft.dates.get("closed")
        yield from run.each(
            "ticket_articles",
            articles,
            lambda article: [self._article(article, ticket_id, closed=closed)],
        )

    def probe(self, run: Run) -> None:
        """``GET users/me``: checks the token."""
        body, _ = run.http.get_json("users/me")
        expect_dict(body, "zammad user")

    # -- writing back -------------------------------------------------------------------------

    def api_path(self, ref: RecordRef) -> str:
        """``users/{id}``, ``tickets/{id}`` or ``ticket_articles/{id}``."""
        kind = {"user": "users", "ticket": "tickets"}.get(ref.record_type, "ticket_articles")
        return f"{kind}/{ref.record_id}"

    def read_identifiers(
        self, session: HttpSession, ref: RecordRef
    ) -> list[tuple[IdentifierKind, object]]:
        """A user's e-mail and phone numbers (a ticket's: its customer's)."""
        user_id = ref.record_id
        if ref.record_type == "ticket":
            body, _ = session.get_json("tickets/{id}", path_params={"id": user_id})
            user_id = str(expect_dict(body, "zammad ticket").get("customer_id"))
        body, _ = session.get_json("users/{id}", path_params={"id": user_id})
        return list(_user_identifiers(expect_dict(body, "zammad user")))

    def write_field(
        self, session: HttpSession, ref: RecordRef, field_name: str, value: Any
    ) -> Mapping[str, Any]:
        """``PUT users/{id}`` with only the changed attribute; the user it answers with
        (Zammad ignores an attribute it does not take)."""
        payload = write_payload(self.correctable[ref.record_type][field_name], value)
        response = session.request(
            "PUT", "users/{id}", path_params={"id": ref.record_id}, json=payload, idempotent=True
        )
        return self._user(expect_dict(session.decode(response, "users/{id}"), "zammad user")).fields

    def gone_answer(self, answer: Answer) -> bool:
        """Zammad's (Rails') "Couldn't find User with 'id'=…" answer; not its "No route
        matches" for a path it does not have."""
        body = answer.body
        error = body.get("error") if isinstance(body, dict) else None
        return answer.status == 404 and isinstance(error, str) and error.startswith("Couldn't find")

    def erase_record(self, session: HttpSession, ref: RecordRef, action: ErasureAction) -> None:
        """A user or a ticket through a data privacy task."""
        if ref.record_type == "ticket":
            deletable, path = "Ticket", "tickets/{id}"
        else:
            deletable, path = "User", "users/{id}"
        # Raises NotFound (already gone) before a task is created for a deleted user or ticket.
        session.get_json(path, path_params={"id": ref.record_id})
        task = self._privacy_task(session, deletable, ref.record_id)
        if task is None:
            # Not idempotent: never retried (a lost answer is found by _privacy_task next time).
            response = session.request(
                "POST",
                "data_privacy_tasks",
                json={"deletable_type": deletable, "deletable_id": int(ref.record_id)},
            )
            task = expect_dict(session.decode(response, "data_privacy_tasks"), "zammad task")
        self._await_task(session, expect_id(task, "zammad task"), task)

    def _privacy_task(
        self, session: HttpSession, deletable: str, object_id: str
    ) -> JSONDict | None:
        """An existing, not failed data privacy task for the user or ticket, if any."""
        for task in items(short_page_pages(session, "data_privacy_tasks", per_page=PER_PAGE)):
            if (
                task.get("deletable_type") == deletable
                and str(task.get("deletable_id")) == object_id
                and task.get("state") != "failed"
            ):
                return task
        return None

    def _await_task(self, session: HttpSession, task_id: str, task: JSONDict) -> None:
        """Poll a data privacy task until it is completed.

        :raises SourceTimeout: still in process when the deadline comes (erase again later).
        :raises RequestRejected: the task failed.
        """
        policy = session.client.retry
        polls = 0
        while task.get("state") != "completed":
            if task.get("state") == "failed":
                raise RequestRejected(
                    f"zammad: data privacy task {task_id} failed", vendor=self.name
                )
            polls += 1
            pause = policy.backoff(polls)
            if pause >= session.deadline.remaining():
                raise SourceTimeout(
                    f"zammad: data privacy task {task_id} still in process", vendor=self.name
                )
            policy.sleep(pause)
            body, _ = session.get_json("data_privacy_tasks/{id}", path_params={"id": task_id})
            task = expect_dict(body, "zammad task")

    def _tickets(self, run: Run, user_id: str) -> Iterator[JSONDict]:
        """The user's tickets by the condition search: exact, and answered from the database,
        so also without Elasticsearch (whose SQL fallback would look for the text
        ``customer_id:27`` in titles and messages) and whatever the search index lags."""
        condition = {"ticket.customer_id": {"operator": "is", "value": user_id}}
        search = {"condition": condition, "expand": True}
        return items(short_page_pages(run.http, "tickets/search", search=search, per_page=PER_PAGE))

    def _articles(self, run: Run, ticket_id: str) -> list[JSONDict]:
        body, _ = run.http.get_json(
            "ticket_articles/by_ticket/{ticket}", path_params={"ticket": ticket_id}
        )
        return expect_list(body, "zammad articles")

    def _user(self, raw: JSONDict) -> Draft:
        user_id = expect_id(raw, "zammad user")
        preferences = raw.get("preferences") if isinstance(raw.get("preferences"), dict) else {}
        return Draft(
            "user",
            user_id,
            {
                **pick(raw, "firstname", "lastname", "email", "phone", "mobile", "fax", "web"),
                **pick(raw, "address", "street", "zip", "city", "country"),
                **pick(raw, "login", "department", "organization_id", "note", "vip"),
                **pick(raw, "verified", "active", "last_login"),
                "locale": (preferences or {}).get("locale"),
            },
            dates={
                "created": parse_datetime(raw.get("created_at")),
                "updated": parse_datetime(raw.get("updated_at")),
                "last_login": parse_datetime(raw.get("last_login")),
            },
            link=f"{self.web_url}/#user/profile/{user_id}",
        )

    def _ticket(self, raw: JSONDict, user_id: str) -> Draft:
        ticket_id = expect_id(raw, "zammad ticket")
        return Draft(
            "ticket",
            ticket_id,
            pick(raw, "number", "title", "state", "priority", "group", "owner", "note"),
            dates={
                "created": parse_datetime(raw.get("created_at")),
                "updated": parse_datetime(raw.get("updated_at")),
                "closed": parse_datetime(raw.get("close_at") or raw.get("last_close_at")),
            },
            link=f"{self.web_url}/#ticket/zoom/{ticket_id}",
            parent=("user", user_id),
        )

    def _article(self, raw: JSONDict, ticket_id: str, closed: Any = None) -> Draft:
        article_id = expect_id(raw, "zammad article")
        attachments = expect_list(raw.get("attachments") or [], "zammad attachments")
        return Draft(
            "article",
            article_id,
            {
                **pick(raw, "from", "to", "cc", "subject", "body", "content_type"),
                **pick(raw, "type", "sender", "internal"),
                "attachments": [pick(a, "filename", "size") for a in attachments],
            },
            dates={"created": parse_datetime(raw.get("created_at")), "closed": closed},
            link=f"{self.web_url}/#ticket/zoom/{ticket_id}/{article_id}",
            parent=("ticket", ticket_id),
        )


def _user_identifiers(user: Mapping[str, Any]) -> tuple[tuple[IdentifierKind, object], ...]:
    """A user's e-mail address and phone numbers."""
    return (
        (IdentifierKind.EMAIL, user.get("email")),
        (IdentifierKind.PHONE, user.get("phone")),
        (IdentifierKind.PHONE, user.get("mobile")),
    )
