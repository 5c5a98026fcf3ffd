"""MoneyBird API v2 simulator (``/api/v2/{administration_id}/{resource}.json``).

Bearer-token auth (401 ``{"error": ...}``), 18-digit string ids, a fuzzy ``query=`` contact
search that returns near matches, exact lookup by customer number, plain JSON arrays with
``Link`` ``rel="next"``/``rel="prev"`` and no total, and sales invoices filtered with
``filter=contact_id:{id},state:all,period:…``. Contact people (``contact_people`` of a
contact) are searched by ``query=`` too, and read, changed and deleted under
``contacts/{id}/contact_people/{id}.json``.

Estimates (``estimates.json``, filtered like sales invoices, with the same default period
by ``estimate_date``; read and deleted under ``estimates/{id}.json``) and recurring sales
invoices (``recurring_sales_invoices.json?filter=contact_id:{id}``, every one whether active
or not) embed their contact like invoices do.

Unverified in the reference (and therefore configurable here): the default ``per_page``
(50), the default invoice period when ``period`` is left out (``"this_year"``, pass
``default_invoice_period=None`` for none), and that deleting a contact with invoices is
refused with 422.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from simulators.base import SimulatorApp, fuzzy_match
from simulators.world import ADMINISTRATION_ID, World, iso_ms

__all__ = ["DEFAULT_CREDENTIALS", "MoneyBirdSimulator", "create_app"]

PREFIX = "/api/v2"

#: Demo credentials.
DEFAULT_CREDENTIALS: dict[str, str] = {
    "token": "mb_demo_token_7Hc2Lq9Xw4Rt1Vz8Ns3Kp6Yd",
    "administration_id": ADMINISTRATION_ID,
}

#: What ``PATCH contacts/{id}.json`` changes (the reference's writable fields). Not ``email``
#: nor ``attention``: MoneyBird stopped taking them (changelog 2016-03-10). Like any attribute
#: it does not take, Rails drops them without a word: 200 with the contact unchanged.
_WRITABLE = {
    "company_name", "firstname", "lastname", "address1", "address2", "zipcode", "city",
    "country", "phone", "customer_id", "tax_number", "chamber_of_commerce", "bank_account",
    "send_invoices_to_attention", "send_invoices_to_email", "send_estimates_to_attention",
    "send_estimates_to_email", "sepa_active", "sepa_iban", "sepa_iban_account_name",
    "sepa_bic", "sepa_mandate_id", "sepa_mandate_date", "sepa_sequence_type",
    "delivery_method", "email_ubl", "invoice_workflow_id", "estimate_workflow_id",
    "si_identifier", "si_identifier_type", "direct_debit",
}  # fmt: skip
#: What ``PATCH contacts/{id}/contact_people/{id}.json`` changes.
_PERSON_WRITABLE = {"firstname", "lastname", "phone", "email", "department"}
_EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_STATES = {
    "all", "draft", "open", "scheduled", "pending_payment", "late", "reminded", "paid",
    "uncollectible",
}  # fmt: skip
_ESTIMATE_STATES = {
    "all", "draft", "open", "late", "accepted", "rejected", "billed", "archived",
}  # fmt: skip
_SEARCH_FIELDS = (
    "firstname", "lastname", "company_name", "attention", "email", "send_invoices_to_email",
    "send_estimates_to_email", "phone", "address1", "address2", "zipcode", "city",
    "customer_id", "tax_number", "chamber_of_commerce",
)  # fmt: skip


class MoneyBirdSimulator(SimulatorApp):
    """In-memory MoneyBird administration (contacts and sales invoices)."""

    vendor = "moneybird"
    api_prefix = PREFIX
    url_map = Map(
        [
            Rule(f"{PREFIX}/administrations.json", endpoint="administrations", methods=["GET"]),
            Rule(f"{PREFIX}/<adm>/contacts.json", endpoint="contacts", methods=["GET"]),
            Rule(f"{PREFIX}/<adm>/contacts/filter.json", endpoint="filter", methods=["GET"]),
            Rule(
                f"{PREFIX}/<adm>/contacts/customer_id/<nr>.json",
                endpoint="by_customer_id",
                methods=["GET"],
            ),
            Rule(f"{PREFIX}/<adm>/contacts/<cid>.json", endpoint="contact", methods=["GET"]),
            Rule(
                f"{PREFIX}/<adm>/contacts/<cid>.json",
                endpoint="contact_update",
                methods=["PATCH", "PUT"],
            ),
            Rule(
                f"{PREFIX}/<adm>/contacts/<cid>.json", endpoint="contact_delete", methods=["DELETE"]
            ),
            Rule(
                f"{PREFIX}/<adm>/contacts/<cid>/notes.json", endpoint="add_note", methods=["POST"]
            ),
            Rule(
                f"{PREFIX}/<adm>/contacts/<cid>/archive.json",
                endpoint="contact_archive",
                methods=["PATCH"],
            ),
            Rule(
                f"{PREFIX}/<adm>/contacts/<cid>/contact_people/<pid>.json",
                endpoint="person",
                methods=["GET"],
            ),
            Rule(
                f"{PREFIX}/<adm>/contacts/<cid>/contact_people/<pid>.json",
                endpoint="person_update",
                methods=["PATCH", "PUT"],
            ),
            Rule(
                f"{PREFIX}/<adm>/contacts/<cid>/contact_people/<pid>.json",
                endpoint="person_delete",
                methods=["DELETE"],
            ),
            Rule(f"{PREFIX}/<adm>/sales_invoices.json", endpoint="invoices", methods=["GET"]),
            Rule(f"{PREFIX}/<adm>/sales_invoices/<iid>.json", endpoint="invoice", methods=["GET"]),
            Rule(f"{PREFIX}/<adm>/estimates.json", endpoint="estimates", methods=["GET"]),
            Rule(f"{PREFIX}/<adm>/estimates/<eid>.json", endpoint="estimate", methods=["GET"]),
            Rule(
                f"{PREFIX}/<adm>/estimates/<eid>.json",
                endpoint="estimate_delete",
                methods=["DELETE"],
            ),
            Rule(
                f"{PREFIX}/<adm>/recurring_sales_invoices.json",
                endpoint="recurring_invoices",
                methods=["GET"],
            ),
            Rule(
                f"{PREFIX}/<adm>/recurring_sales_invoices/<rid>.json",
                endpoint="recurring_invoice",
                methods=["GET"],
            ),
        ],
        strict_slashes=False,
    )

    def __init__(
        self,
        world: World | None = None,
        *,
        token: str = DEFAULT_CREDENTIALS["token"],
        administration_id: str = ADMINISTRATION_ID,
        default_per_page: int = 50,
        default_invoice_period: str | None = "this_year",
        **kwargs: Any,
    ) -> None:
        self.token = token
        self.administration_id = administration_id
        self.default_per_page = default_per_page
        self.default_invoice_period = default_invoice_period
        self._id_seq = 431877262000000000
        super().__init__(world, **kwargs)

    def load_state(self, world: World) -> None:
        """Take contacts, sales invoices, estimates and recurring sales invoices from the
        world."""
        data = world.moneybird
        self.contacts: dict[str, dict[str, Any]] = {c["id"]: c for c in data["contacts"]}
        self.invoices: list[dict[str, Any]] = list(data["sales_invoices"])
        self.estimates: list[dict[str, Any]] = list(data.get("estimates", []))
        self.recurring: list[dict[str, Any]] = list(data.get("recurring_sales_invoices", []))

    @property
    def credentials(self) -> dict[str, str]:
        """``token`` and ``administration_id``."""
        return {"token": self.token, "administration_id": self.administration_id}

    # ------------------------------------------------------------- responses

    def authenticate(self, request: Request, endpoint: str) -> Response | None:
        """``Authorization: Bearer {token}``; otherwise 401."""
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or value.strip() != self.token:
            return self.expired_credentials_response(request)
        return None

    def expired_credentials_response(self, request: Request) -> Response:
        """401 ``{"error": "Token is invalid or expired"}`` (text unverified)."""
        return self.json({"error": "Token is invalid or expired"}, 401)

    def rate_limit_response(self, retry_after: int) -> Response:
        """429 with ``Retry-After`` (body text unverified)."""
        return self.json({"error": "Too many requests"}, 429, {"Retry-After": str(retry_after)})

    def server_error_response(self) -> Response:
        """500 ``{"error": ...}``."""
        return self.json({"error": "Internal server error"}, 500)

    def no_route_response(self, request: Request) -> Response:
        """404 ``{"error": "record not found"}``."""
        return self.json({"error": "record not found"}, 404)

    def method_not_allowed_response(self, request: Request, allowed: Sequence[str]) -> Response:
        """405 ``{"error": "Method not allowed"}``."""
        return self.json(
            {"error": "Method not allowed"}, 405, headers={"Allow": ", ".join(allowed)}
        )

    def _not_found(self) -> Response:
        return self.json({"error": "record not found"}, 404)

    def _paged(self, request: Request, items: list[Any]) -> Response:
        try:
            page = max(int(request.args.get("page", 1)), 1)
            per_page = int(request.args.get("per_page", self.default_per_page))
        except ValueError:
            return self.json({"error": "Invalid page or per_page"}, 400)
        per_page = min(max(per_page, 1), 100)
        chunk = items[(page - 1) * per_page : page * per_page]
        pages = math.ceil(len(items) / per_page)
        links = []
        if page < pages:
            links.append((self.page_url(request, page=page + 1, per_page=per_page), "next"))
        if page > 1:
            links.append((self.page_url(request, page=page - 1, per_page=per_page), "prev"))
        headers = {"Link": self.link_header(links)} if links else {}
        return self.json(chunk, 200, headers)

    def _check_adm(self, adm: str) -> Response | None:
        return None if adm == self.administration_id else self._not_found()

    @staticmethod
    def _list_view(c: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(c)
        out.pop("events", None)
        return out

    def _next_id(self) -> str:
        self._id_seq += 7919
        return str(self._id_seq)

    # -------------------------------------------------------------- contacts

    def on_administrations(self, request: Request) -> Response:
        """``GET /administrations.json``."""
        return self.json(
            [
                {
                    "id": self.administration_id,
                    "name": "Koffiebar Utrecht B.V.",
                    "language": "nl",
                    "currency": "EUR",
                    "country": "NL",
                    "time_zone": "Europe/Amsterdam",
                }
            ]
        )

    def on_contacts(self, request: Request, adm: str) -> Response:
        """``GET /contacts.json?query=``: full-text search that returns near matches.

        Archived contacts are left out unless ``include_archived=true`` (MoneyBird's list
        parameter; a lookup by id or customer number still finds them)."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        items = sorted(self.contacts.values(), key=lambda c: int(c["id"]))
        if request.args.get("include_archived", "").lower() not in ("true", "1"):
            items = [c for c in items if not c.get("archived")]
        query = request.args.get("query", "").strip()
        if query:
            items = [c for c in items if fuzzy_match(query, self._search_values(c))]
        return self._paged(request, [self._list_view(c) for c in items])

    @staticmethod
    def _search_values(c: dict[str, Any]) -> list[str]:
        values = [str(c.get(f) or "") for f in _SEARCH_FIELDS]
        for person in c.get("contact_people", []):
            values.extend(
                str(person.get(f) or "") for f in ("firstname", "lastname", "email", "phone")
            )
        return values

    def on_filter(self, request: Request, adm: str) -> Response:
        """``GET /contacts/filter.json?filter=first_name:…,last_name:…,created_after:…``."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        items = sorted(self.contacts.values(), key=lambda c: int(c["id"]))
        for key, value in self._parse_filter(request.args.get("filter", "")).items():
            if key == "first_name":
                items = [c for c in items if c["firstname"].lower() == value.lower()]
            elif key == "last_name":
                items = [c for c in items if c["lastname"].lower() == value.lower()]
            elif key == "created_after":
                items = [c for c in items if c["created_at"] > value]
            elif key == "updated_after":
                items = [c for c in items if c["updated_at"] > value]
            else:
                return self.json({"error": f"Unknown filter key {key}"}, 400)
        return self._paged(request, [self._list_view(c) for c in items])

    def on_by_customer_id(self, request: Request, adm: str, nr: str) -> Response:
        """``GET /contacts/customer_id/{nr}.json``: exact, one contact or 404."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        for c in self.contacts.values():
            if c["customer_id"] == nr:
                return self.json(copy.deepcopy(c))
        return self._not_found()

    def on_contact(self, request: Request, adm: str, cid: str) -> Response:
        """``GET /contacts/{id}.json`` (with notes, contact people and events)."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        c = self.contacts.get(cid)
        return self.json(copy.deepcopy(c)) if c else self._not_found()

    def on_contact_update(self, request: Request, adm: str, cid: str) -> Response:
        """``PATCH /contacts/{id}.json`` with ``{"contact": {...}}``."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        c = self.contacts.get(cid)
        if c is None:
            return self._not_found()
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("contact"), dict):
            return self.json({"error": "param is missing or the value is empty: contact"}, 400)
        changes = {k: v for k, v in body["contact"].items() if k in _WRITABLE}
        merged = {**c, **changes}
        if not any(
            (merged.get(f) or "").strip() for f in ("firstname", "lastname", "company_name")
        ):
            return self.json(
                {
                    "error": {
                        "firstname": ["is required"],
                        "lastname": ["is required"],
                        "company_name": ["is required"],
                    }
                },
                422,
            )
        bad_emails = {
            key: ["is invalid"]
            for key in ("send_invoices_to_email", "send_estimates_to_email")
            if changes.get(key)
            # The send-to fields may list several addresses, separated by commas.
            and not all(_EMAIL_RE.match(a.strip()) for a in str(changes[key]).split(","))
        }
        if bad_emails:
            return self.json({"error": bad_emails}, 422)
        if "customer_id" in changes:
            if any(
                o["customer_id"] == changes["customer_id"]
                for o in self.contacts.values()
                if o is not c
            ):
                return self.json({"error": {"customer_id": ["is already taken"]}}, 422)
        c.update(changes)
        now = self.now()
        c["updated_at"] = iso_ms(now)
        c["version"] = int(now.timestamp())
        c.setdefault("events", []).append(
            {
                "administration_id": self.administration_id,
                "user_id": "431877250570217472",
                "action": "contact_updated",
                "link_entity_id": None,
                "link_entity_type": None,
                "data": {},
                "created_at": iso_ms(now),
                "updated_at": iso_ms(now),
            }
        )
        return self.json(copy.deepcopy(c))

    def on_contact_archive(self, request: Request, adm: str, cid: str) -> Response:
        """``PATCH /contacts/{id}/archive.json`` (changelog 2025-05-08): the contact is kept,
        with ``archived: true``, and left out of the contact list from then on (the answer's
        shape is unverified: the contact)."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        c = self.contacts.get(cid)
        if c is None:
            return self._not_found()
        c["archived"] = True
        now = self.now()
        c["updated_at"] = iso_ms(now)
        c["version"] = int(now.timestamp())
        return self.json(copy.deepcopy(c))

    def on_contact_delete(self, request: Request, adm: str, cid: str) -> Response:
        """``DELETE /contacts/{id}.json``: 204, or 422 when invoices, estimates or recurring
        sales invoices refer to it (unverified)."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        if cid not in self.contacts:
            return self._not_found()
        if any(
            doc["contact_id"] == cid for doc in (*self.invoices, *self.estimates, *self.recurring)
        ):
            return self.json(
                {
                    "error": "Contact has documents and cannot be deleted",
                    "symbolic": {"contact": "has_documents"},
                },
                422,
            )
        del self.contacts[cid]
        return Response(status=204)

    def _person(self, adm: str, cid: str, pid: str) -> dict[str, Any] | Response:
        """The contact person ``pid`` of contact ``cid``, or the error response."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        contact = self.contacts.get(cid)
        for person in contact.get("contact_people", []) if contact else []:
            if person["id"] == pid:
                return person
        return self._not_found()

    def on_person(self, request: Request, adm: str, cid: str, pid: str) -> Response:
        """``GET /contacts/{contact_id}/contact_people/{id}.json``."""
        person = self._person(adm, cid, pid)
        return person if isinstance(person, Response) else self.json(copy.deepcopy(person))

    def on_person_update(self, request: Request, adm: str, cid: str, pid: str) -> Response:
        """``PATCH /contacts/{contact_id}/contact_people/{id}.json`` with
        ``{"contact_person": {...}}``; a person keeps a first or a last name."""
        person = self._person(adm, cid, pid)
        if isinstance(person, Response):
            return person
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("contact_person"), dict):
            return self.json(
                {"error": "param is missing or the value is empty: contact_person"}, 400
            )
        changes = {k: v for k, v in body["contact_person"].items() if k in _PERSON_WRITABLE}
        merged = {**person, **changes}
        if not any((merged.get(f) or "").strip() for f in ("firstname", "lastname")):
            return self.json(
                {"error": {"firstname": ["is required"], "lastname": ["is required"]}}, 422
            )
        if changes.get("email") and not _EMAIL_RE.match(str(changes["email"]).strip()):
            return self.json({"error": {"email": ["is invalid"]}}, 422)
        person.update(changes)
        now = self.now()
        person["updated_at"] = iso_ms(now)
        person["version"] = int(now.timestamp())
        return self.json(copy.deepcopy(person))

    def on_person_delete(self, request: Request, adm: str, cid: str, pid: str) -> Response:
        """``DELETE /contacts/{contact_id}/contact_people/{id}.json``: 204."""
        person = self._person(adm, cid, pid)
        if isinstance(person, Response):
            return person
        self.contacts[cid]["contact_people"].remove(person)
        return Response(status=204)

    def on_add_note(self, request: Request, adm: str, cid: str) -> Response:
        """``POST /contacts/{id}/notes.json`` with ``{"note": {"note": "...", "todo": false}}``."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        c = self.contacts.get(cid)
        if c is None:
            return self._not_found()
        body = request.get_json(force=True, silent=True)
        note = body.get("note") if isinstance(body, dict) else None
        if not isinstance(note, dict) or not str(note.get("note", "")).strip():
            return self.json({"error": "Note is required", "symbolic": {"note": "required"}}, 422)
        now = iso_ms(self.now())
        record: dict[str, Any] = {
            "id": self._next_id(),
            "administration_id": self.administration_id,
            "entity_id": cid,
            "entity_type": "Contact",
            "user_id": "431877250570217472",
            "assignee_id": None,
            "todo": bool(note.get("todo", False)),
            "note": str(note["note"]),
            "completed_at": None,
            "completed_by_id": None,
            "todo_type": None,
            "data": {},
            "created_at": now,
            "updated_at": now,
        }
        c.setdefault("notes", []).append(record)
        return self.json(record, 201)

    # -------------------------------------------------------------- invoices

    @staticmethod
    def _parse_filter(text: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in text.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition(":")
            out[key.strip()] = value.strip() if sep else ""
        return out

    def _period(self, value: str) -> tuple[date, date] | None:
        today = self.now().date()
        year, month = today.year, today.month
        quarter_start = (month - 1) // 3 * 3 + 1

        def month_span(y: int, m: int) -> tuple[date, date]:
            first = date(y, m, 1)
            nxt = date(y + (m == 12), m % 12 + 1, 1)
            return first, nxt - timedelta(days=1)

        if value == "this_year":
            return date(year, 1, 1), date(year, 12, 31)
        if value == "prev_year":
            return date(year - 1, 1, 1), date(year - 1, 12, 31)
        if value == "next_year":
            return date(year + 1, 1, 1), date(year + 1, 12, 31)
        if value == "this_month":
            return month_span(year, month)
        if value == "prev_month":
            return month_span(year - (month == 1), (month - 2) % 12 + 1)
        if value == "next_month":
            return month_span(year + (month == 12), month % 12 + 1)
        if value in ("this_quarter", "prev_quarter", "next_quarter"):
            shift = {"this_quarter": 0, "prev_quarter": -3, "next_quarter": 3}[value]
            m0 = quarter_start + shift
            y0 = year + (m0 - 1) // 12
            m0 = (m0 - 1) % 12 + 1
            first = date(y0, m0, 1)
            return first, month_span(y0, m0 + 2)[1]
        if ".." in value:
            lo, _, hi = value.partition("..")
            try:
                return (
                    date(int(lo[:4]), int(lo[4:6]), int(lo[6:8])),
                    date(int(hi[:4]), int(hi[4:6]), int(hi[6:8])),
                )
            except ValueError:
                return None
        return None

    def _render_invoice(self, inv: dict[str, Any]) -> dict[str, Any]:
        """A sales invoice, estimate or recurring sales invoice with its contact embedded."""
        out = copy.deepcopy(inv)
        contact = self.contacts.get(inv["contact_id"])
        embedded = self._list_view(contact) if contact else None
        if embedded is not None:
            embedded["notes"] = []
        # Keep the sample's key order: contact comes right after contact_id.
        ordered: dict[str, Any] = {}
        for key, value in out.items():
            ordered[key] = value
            if key == "contact_id":
                ordered["contact"] = embedded
        return ordered

    def on_invoices(self, request: Request, adm: str) -> Response:
        """``GET /sales_invoices.json?filter=contact_id:{id},state:all,period:…``."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        flt = self._parse_filter(request.args.get("filter", ""))
        items = list(self.invoices)
        known = {
            "state", "period", "reference", "contact_id", "recurring_sales_invoice_id",
            "workflow_id", "created_after", "updated_after",
        }  # fmt: skip
        for key in flt:
            if key not in known:
                return self.json({"error": f"Filter key '{key}' is invalid"}, 400)
        found = self._documents(items, flt, _STATES, ("contact_id", "reference"), "invoice_date")
        if isinstance(found, Response):
            return found
        return self._paged(request, [self._render_invoice(i) for i in found])

    def _documents(
        self,
        items: list[dict[str, Any]],
        flt: dict[str, str],
        states_known: set[str] | frozenset[str],
        equal_keys: tuple[str, ...],
        day_key: str,
    ) -> list[dict[str, Any]] | Response:
        """``items`` (invoices or estimates) that pass the filter's state, ``equal_keys``,
        ``created_after``/``updated_after`` and period (by ``day_key``; this year when the
        period is left out, as MoneyBird does), or the 400 MoneyBird answers a bad one with."""
        states = set(flt.get("state", "all").split("|"))
        if not states <= states_known:
            return self.json({"error": "Filter state is invalid"}, 400)
        if "all" not in states:
            items = [i for i in items if i["state"] in states]
        for key in equal_keys:
            if key in flt:
                items = [i for i in items if i[key] == flt[key]]
        if "created_after" in flt:
            items = [i for i in items if i["created_at"] > flt["created_after"]]
        if "updated_after" in flt:
            items = [i for i in items if i["updated_at"] > flt["updated_after"]]
        period_text = flt.get("period", self.default_invoice_period or "")
        if period_text:
            span = self._period(period_text)
            if span is None:
                return self.json({"error": "Filter period is invalid"}, 400)
            lo, hi = span
            items = [i for i in items if lo <= date.fromisoformat(i[day_key]) <= hi]
        return items

    def on_invoice(self, request: Request, adm: str, iid: str) -> Response:
        """``GET /sales_invoices/{id}.json``."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        for inv in self.invoices:
            if inv["id"] == iid:
                return self.json(self._render_invoice(inv))
        return self._not_found()

    # ------------------------------------------------------------- estimates

    def on_estimates(self, request: Request, adm: str) -> Response:
        """``GET /estimates.json?filter=contact_id:{id},state:all,period:…``: like sales
        invoices, the period (by ``estimate_date``) defaults to this year when left out."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        flt = self._parse_filter(request.args.get("filter", ""))
        known = {
            "state", "period", "reference", "contact_id", "workflow_id", "created_after",
            "updated_after",
        }  # fmt: skip
        if unknown := set(flt) - known:
            return self.json({"error": f"Filter key '{sorted(unknown)[0]}' is invalid"}, 400)
        found = self._documents(
            list(self.estimates),
            flt,
            _ESTIMATE_STATES,
            ("contact_id", "reference", "workflow_id"),
            "estimate_date",
        )
        if isinstance(found, Response):
            return found
        items = found
        items.sort(key=lambda e: (e["estimate_date"], e["id"]), reverse=True)
        return self._paged(request, [self._render_invoice(e) for e in items])

    def _find(self, rows: list[dict[str, Any]], adm: str, doc_id: str) -> dict[str, Any] | Response:
        if (bad := self._check_adm(adm)) is not None:
            return bad
        return next((row for row in rows if row["id"] == doc_id), None) or self._not_found()

    def on_estimate(self, request: Request, adm: str, eid: str) -> Response:
        """``GET /estimates/{id}.json``."""
        found = self._find(self.estimates, adm, eid)
        return found if isinstance(found, Response) else self.json(self._render_invoice(found))

    def on_estimate_delete(self, request: Request, adm: str, eid: str) -> Response:
        """``DELETE /estimates/{id}.json``: 204."""
        found = self._find(self.estimates, adm, eid)
        if isinstance(found, Response):
            return found
        self.estimates.remove(found)
        return Response(status=204)

    # ----------------------------------------------------- recurring invoices

    def on_recurring_invoices(self, request: Request, adm: str) -> Response:
        """``GET /recurring_sales_invoices.json?filter=contact_id:{id}``: active and
        deactivated ones alike (which filter keys MoneyBird takes here is unverified)."""
        if (bad := self._check_adm(adm)) is not None:
            return bad
        flt = self._parse_filter(request.args.get("filter", ""))
        if unknown := set(flt) - {"contact_id", "created_after", "updated_after"}:
            return self.json({"error": f"Filter key '{sorted(unknown)[0]}' is invalid"}, 400)
        items = list(self.recurring)
        if "contact_id" in flt:
            items = [r for r in items if r["contact_id"] == flt["contact_id"]]
        if "created_after" in flt:
            items = [r for r in items if r["created_at"] > flt["created_after"]]
        if "updated_after" in flt:
            items = [r for r in items if r["updated_at"] > flt["updated_after"]]
        return self._paged(request, [self._render_invoice(r) for r in items])

    def on_recurring_invoice(self, request: Request, adm: str, rid: str) -> Response:
        """``GET /recurring_sales_invoices/{id}.json``."""
        found = self._find(self.recurring, adm, rid)
        return found if isinstance(found, Response) else self.json(self._render_invoice(found))


def create_app(world: World | None = None, **kwargs: Any) -> MoneyBirdSimulator:
    """Create a MoneyBird simulator (a WSGI app); ``kwargs`` override token and defaults."""
    return MoneyBirdSimulator(world, **kwargs)
