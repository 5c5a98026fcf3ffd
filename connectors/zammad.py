"""Zammad (REST API v1): users, their tickets and the tickets' articles.

Lookup: ``GET users/search?query=email:{addr}`` and ``?query={addr}`` (fuzzy: tokenised by
Elasticsearch, or, without it, the whole query as a SQL "contains" over names, e-mail and
login, where ``email:…`` finds nobody), so the user's ``email`` is compared exactly here; phone
numbers are searched as ``phone:`` and ``mobile:`` in each usual spelling (Zammad keeps them as
typed; only Elasticsearch searches them) and compared after E.164 normalisation. Tickets of a
matched user come from the condition search ``POST tickets/search`` with
``{"condition": {"ticket.customer_id": {"operator": "is", "value": id}}, "expand": true}``
(exact, from the database, with or without Elasticsearch; page/per_page until a short page),
articles from ``GET ticket_articles/by_ticket/{id}`` (not paginated). Internal notes are
included: they are personal data about the customer too.

Config: ``base_url`` (``https://{host}`` or its ``/api/v1`` root), ``token`` (secret; sent as
``Authorization: Token token=…``).

Writing back: ``PUT users/{id}`` (names, e-mail, phone numbers, address fields). Erasure of a
user goes through a *data privacy task* (``POST data_privacy_tasks``, needs
``admin.data_privacy``), which deletes the user **and the tickets they are the customer of**;
the task runs in the background, so ``erase`` polls ``GET data_privacy_tasks/{id}`` until it is
completed or the deadline passes. Creating a task is not idempotent: ``erase`` first looks for a
task that already exists for the user (a retried erase resumes polling it). A single ticket is
deleted with ``DELETE tickets/{id}``. Articles cannot be erased on their own (Zammad's article
policy); they go with their ticket.
"""

from __future__ import annotations

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
    write_payload,
)
from .errors import Answer, RequestRejected, SourceTimeout
from .http import HttpClient, HttpSession, RetryPolicy
from .identity import IdentifierKind, phone_spellings
from .pagination import items, short_page_pages
from .parsing import JSONDict, expect_dict, expect_id, expect_list, parse_datetime, pick
from .registry import register
from .urls import api_root, require_safe_scheme, site_root

API_PATH = "/api/v1"
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
    )
    default_categories = DEFAULT_CATEGORIES
    capabilities = frozenset({Capability.READ, Capability.CORRECT, Capability.ERASE})
    correctable = CORRECTABLE
    erasure = ERASURE
    erased_with_parent = frozenset({"article"})
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
        (:func:`~connectors.identity.phone_spellings`).
        """
        # ``email:`` is Elasticsearch's field syntax; without Elasticsearch Zammad looks for the
        # whole query in names, e-mail and login, where only the bare address is found
        queries = [
            query
            for email in run.identity.values(IdentifierKind.EMAIL)
            for query in (f"email:{email}", email)
        ]
        for phone in run.identity.values(IdentifierKind.PHONE):
            for spelling in phone_spellings(phone):
                queries += [f'phone:"{spelling}"', f'mobile:"{spelling}"']
        found: set[str] = set()
        for query in queries:
            pages = short_page_pages(
                run.http, "users/search", params={"query": query}, per_page=PER_PAGE
            )
            for user in items(pages):
                user_id = expect_id(user, "zammad user")
                if user_id in found:
                    continue  # also found by another search or spelling
                found.add(user_id)
                yield Candidate(
                    "user",
                    user_id,
                    (
                        (IdentifierKind.EMAIL, user.get("email")),
                        (IdentifierKind.PHONE, user.get("phone")),
                        (IdentifierKind.PHONE, user.get("mobile")),
                    ),
                    user,
                )

    def expand(self, run: Run, match: Match) -> Iterator[Draft]:
        """The user, their tickets (as customer) and each ticket's articles."""
        user_id = match.candidate.record_id
        yield self._user(dict(match.candidate.raw))
        # Ticket search is fuzzy at some Zammad versions: keep only this customer's tickets.
        tickets = [
            ticket
            for ticket in run.related("tickets", partial(self._tickets, run, user_id))
            if str(ticket.get("customer_id")) == user_id
        ]
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
        user = expect_dict(body, "zammad user")
        return [
            (IdentifierKind.EMAIL, user.get("email")),
            (IdentifierKind.PHONE, user.get("phone")),
            (IdentifierKind.PHONE, user.get("mobile")),
        ]

    def write_field(
        self, session: HttpSession, ref: RecordRef, field_name: str, value: Any
    ) -> None:
        """``PUT users/{id}`` with only the changed attribute."""
        payload = write_payload(self.correctable[ref.record_type][field_name], value)
        response = session.request(
            "PUT", "users/{id}", path_params={"id": ref.record_id}, json=payload, idempotent=True
        )
        expect_dict(session.decode(response, "users/{id}"), "zammad user")

    def gone_answer(self, answer: Answer) -> bool:
        """Zammad's (Rails') "Couldn't find User with 'id'=…" answer; not its "No route
        matches" for a path it does not have."""
        body = answer.body
        error = body.get("error") if isinstance(body, dict) else None
        return answer.status == 404 and isinstance(error, str) and error.startswith("Couldn't find")

    def erase_record(self, session: HttpSession, ref: RecordRef, action: ErasureAction) -> None:
        """A user through a data privacy task; a ticket with ``DELETE tickets/{id}``."""
        if ref.record_type == "ticket":
            session.request(
                "DELETE", "tickets/{id}", path_params={"id": ref.record_id}, idempotent=True
            )
            return
        # Raises NotFound (already gone) before a task is created for a deleted user.
        session.get_json("users/{id}", path_params={"id": ref.record_id})
        task = self._privacy_task(session, ref.record_id)
        if task is None:
            # Not idempotent: never retried (a lost answer is found by _privacy_task next time).
            response = session.request(
                "POST",
                "data_privacy_tasks",
                json={"deletable_type": "User", "deletable_id": int(ref.record_id)},
            )
            task = expect_dict(session.decode(response, "data_privacy_tasks"), "zammad task")
        self._await_task(session, expect_id(task, "zammad task"), task)

    def _privacy_task(self, session: HttpSession, user_id: str) -> JSONDict | None:
        """An existing, not failed data privacy task for the user, if any."""
        for task in items(short_page_pages(session, "data_privacy_tasks", per_page=PER_PAGE)):
            if (
                task.get("deletable_type") == "User"
                and str(task.get("deletable_id")) == user_id
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
