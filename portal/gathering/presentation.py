"""Gathered records seen through the firm's policy: per category, with *why*, *how long*
(and the due date where the record's own dates allow it), *who else receives it* and *where it
came from*. Shared by the customer's overview and the export, so both say the same thing."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from functools import cached_property
from typing import Any

import nh3
from flask import has_app_context

from ..policy import Category, Policy, Purpose, Recipient, Retention, Source
from ..settings import firm_zone as settings_firm_zone

#: Element names that make vendor text HTML: what nh3 knows, and what mail clients add.
_HTML_NAMES = frozenset(nh3.ALLOWED_TAGS) | {
    "html", "head", "body", "title", "meta", "link", "style", "script", "font", "o:p",
}  # fmt: skip
_NAMES = "|".join(sorted((re.escape(name) for name in _HTML_NAMES), key=len, reverse=True))
#: A tag of a known element (``<p>``, ``</div>``, ``<br/>``) or a comment or doctype.
_TAG = re.compile(rf"</?(?:{_NAMES})(?=[\s/>])|<!", re.IGNORECASE)
#: A ``<`` that starts no such tag: text such as ``Sanne <sanne@example.nl>`` or ``a < b``.
_STRAY_LT = re.compile(rf"<(?!/?(?:{_NAMES})(?=[\s/>])|!)", re.IGNORECASE)
#: Removes every tag (and the content of script and style); built once, not per value.
_STRIP_TAGS = nh3.Cleaner(tags=set())
_BREAK = re.compile(r"<br\s*/?>|</p\s*>|</div\s*>|</li\s*>|</h[1-6]\s*>|</tr\s*>", re.IGNORECASE)

#: Fields of a record that belong to a category the policy does not define are shown under
#: this key, so nothing gathered is ever hidden from the customer.
OTHER = "other"
#: Records whose every value the vendor left empty have no fields, so no category; they are
#: listed under this key all the same: that the system holds such a record (its type and
#: reference) is the customer's data too. No policy category can take this key (a policy's
#: keys start with a letter: :data:`portal.policy.schema.Key`).
EMPTY = "_empty"


@dataclass(frozen=True)
class RecordPart:
    """The fields of one gathered record that belong to one category."""

    record: Mapping[str, Any]
    fields: Mapping[str, Any]
    due_date: date | None

    @property
    def source(self) -> str:
        return str(self.record["source"])

    @property
    def record_type(self) -> str:
        return str(self.record["record_type"])

    @property
    def record_id(self) -> str:
        return str(self.record["record_id"])

    @property
    def link(self) -> str | None:
        link = self.record.get("link")
        return str(link) if link else None


@dataclass(frozen=True)
class CategoryView:
    """One category of the policy and the customer's data in it."""

    key: str
    category: Category | None
    purposes: tuple[Purpose, ...]
    recipients: tuple[Recipient, ...]
    retention: Retention | None
    sources: tuple[Source, ...]
    parts: tuple[RecordPart, ...] = field(default=())

    @property
    def record_count(self) -> int:
        return len(self.parts)

    @property
    def without_values(self) -> bool:
        """Whether this is the group of records with every value empty (:data:`EMPTY`)."""
        return self.key == EMPTY

    @cached_property
    def due_dates_differ(self) -> bool:
        """Whether records of this category are due on different dates (then shown per record)."""
        return len({p.due_date for p in self.parts}) > 1


def plain_text(value: str) -> str:
    """Vendor text as plain text: HTML (ticket bodies) loses its tags (nh3) but keeps its line
    breaks; a ``<`` that starts no HTML tag (``Sanne <sanne@example.nl>``) is text and stays.
    The result is still untrusted text, escaped wherever it is shown."""
    if not _TAG.search(value):
        return value  # plain text, angle brackets and all
    text = _STRAY_LT.sub("&lt;", _BREAK.sub("\n", value))
    return html.unescape(_STRIP_TAGS.clean(text)).strip()


def firm_zone() -> tzinfo | None:
    """The firm's time zone (:func:`portal.settings.firm_zone`), when an application runs."""
    return settings_firm_zone() if has_app_context() else None


def parse_date(value: str, zone: tzinfo | None) -> date | datetime | None:
    """One ISO date or date-time as a snapshot stores it, or None if unreadable; a moment with
    a UTC offset is put in ``zone`` (the firm's time zone), so its ``.date()`` is the firm's day.
    """
    try:
        if "T" not in value:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None  # an unreadable date computes no due date rather than a wrong one
    if zone is not None and moment.tzinfo is not None:
        try:
            moment = moment.astimezone(zone)
        except OverflowError:  # 9999-12-31T23:59:59+00:00 is past the calendar's end there
            return None
    return moment


def parse_dates(raw: Mapping[str, str], zone: tzinfo | None = None) -> dict[str, date | datetime]:
    """A record's ISO date strings (as stored in a snapshot) back into dates and datetimes.

    A moment with a UTC offset is put in the firm's time zone (``zone``, else
    :func:`firm_zone`), so its ``.date()`` is the day as the firm counts it: a payment at
    23:30 UTC on 31 December was made on New Year's Day in Amsterdam, in the next fiscal year.
    Unreadable dates are left out (:func:`parse_date`).
    """
    zone = zone or firm_zone()
    parsed = {key: parse_date(value, zone) for key, value in raw.items()}
    return {key: value for key, value in parsed.items() if value is not None}


def due_date(policy: Policy, category: Category | None, dates: Mapping[str, str]) -> date | None:
    """When a record of ``category`` with these ``dates`` is due to be removed, if computable."""
    if category is None or category.retention is None:
        return None
    return category.retention.due_date(parse_dates(dates), policy.controller.fiscal_year_end_tuple)


def by_category(policy: Policy, records: Iterable[Mapping[str, Any]]) -> list[CategoryView]:
    """Split every record into its per-category parts, in the policy's category order.

    A part's due date is the one the record was prepared with when it was gathered
    (:mod:`portal.export.prepare`, what the export says too), else worked out from its dates.

    Categories without data are included (the customer sees that nothing is held there);
    data in a category the policy lacks is grouped under :data:`OTHER`. Records without any
    field (every value empty) come last, under :data:`EMPTY`, so every record is listed.
    """
    parts: dict[str, list[RecordPart]] = {c.key: [] for c in policy.categories}
    empty: list[RecordPart] = []
    for record in records:
        if not record["fields"]:
            empty.append(RecordPart(record, {}, None))  # no category, so no rule to date it by
            continue
        fields_by_category: dict[str, dict[str, Any]] = {}
        for name, value in record["fields"].items():
            key = record["categories"].get(name, OTHER)
            if key not in parts:
                key = OTHER
            fields_by_category.setdefault(key, {})[name] = value
        prepared = record.get("due_dates")
        for key, fields in fields_by_category.items():
            if prepared is not None and key in prepared:  # worked out when it was gathered
                day = prepared[key]
                due = date.fromisoformat(day) if day else None
            else:
                due = due_date(policy, policy.category(key), record.get("dates", {}))
            parts.setdefault(key, []).append(RecordPart(record, fields, due))
    views = []
    for key, record_parts in parts.items():
        category = policy.category(key)
        views.append(
            CategoryView(
                key=key,
                category=category,
                purposes=tuple(policy.purposes_of(category)) if category else (),
                recipients=tuple(policy.recipients_of(category)) if category else (),
                retention=category.retention if category else None,
                sources=tuple(policy.sources_of(category)) if category else (),
                parts=tuple(record_parts),
            )
        )
    if empty:
        views.append(
            CategoryView(
                key=EMPTY,
                category=None,
                purposes=(),
                recipients=(),
                retention=None,
                sources=(),
                parts=tuple(empty),
            )
        )
    return views
