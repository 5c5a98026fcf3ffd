"""The customer's overview: which snapshot to show, and how its records are grouped and paged.

Records come from :mod:`portal.gathering`; :func:`portal.gathering.presentation.by_category`
splits them over the policy's categories. Here each category's parts become *entries*: a
record with the records that belong to it (an order with its notes, a ticket with its
messages), sorted per source and newest first, so long lists can be paged without tearing a
ticket from its messages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from functools import cached_property
from typing import Any

from flask_babel import get_locale

from .. import paging
from ..gathering import Snapshot, SourceOutcome
from ..gathering.messages import outcome_text
from ..gathering.presentation import (
    CategoryView,
    RecordPart,
    by_category,
    firm_zone,
    parse_date,
    plain_text,
)
from ..policy import Policy, Source
from .texts import (
    PERSON_TYPES,
    TITLE_FIELDS,
    context_fields,
    field_correctable,
    field_label,
    in_sentence,
    pairs,
    part_labels,
    readable_moment,
    record_name,
    record_type_label,
    shown_record_id,
    speaks_codes,
    value_words,
)

#: Entries per page on a category's own page.
PAGE_SIZE = 20
#: Entries of a category shown on the overview before "show all".
PREVIEW_SIZE = 5
#: Related records (an order's notes, a ticket's messages) shown with a record before "show
#: all"; all of them are on the record's own page, page by page.
CHILDREN_PREVIEW = 10


def display_value(
    value: Any, field: str | None = None, codes: bool = True, part: str | None = None
) -> Any:
    """A field value ready for the template: nested dicts and lists kept (the names inside in
    words, as they mean under ``field``), texts made plain, dates, amounts (the built-in
    connectors' ones) and (with ``codes``) a system's codes in words. ``part`` is the name
    inside a nested value the value is under."""
    if isinstance(value, str):
        words = codes and value_words(value, field, part)
        return words or readable_moment(value) or plain_text(value)
    if codes and (named := pairs(field, value)) is not None:
        return {label: display_value(v, field, codes, "value") for label, v in named.items()}
    if isinstance(value, Mapping):
        labels = part_labels(field, [str(k) for k in value], _locale())
        return {labels[str(k)]: display_value(v, field, codes, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [display_value(v, field, codes, part) for v in value]
    return value


def _locale() -> str:
    return str(get_locale() or "nl")


@dataclass(frozen=True)
class FieldView:
    """One shown field of a record."""

    name: str
    label: str
    value: Any
    correctable: bool


@dataclass
class Entry:
    """One record part shown in a category, with the parts that belong to it."""

    part: RecordPart
    view: CategoryView
    children: list[Entry] = field(default_factory=list)
    #: The firm's time zone, the day of a record's moment is counted in (default: looked up).
    zone: tzinfo | None = None

    @property
    def source(self) -> str:
        return self.part.source

    @property
    def type_label(self) -> str:
        """What the record is, e.g. "Order"."""
        return record_type_label(self.part.record_type)

    @property
    def shown_id(self) -> str:
        """The record's id as the customer reads it (:func:`shown_record_id`)."""
        return shown_record_id(self.part.record)

    @property
    def name(self) -> str:
        """What the record is and its id, e.g. "Order 1042" (:func:`record_name`)."""
        return record_name(self.type_label, self.part.record)

    @property
    def name_in_sentence(self) -> str:
        """:attr:`name` in the middle of a sentence, e.g. "order 1042"."""
        return record_name(in_sentence(self.type_label), self.part.record)

    @property
    def found_through(self) -> tuple[str, str, str] | None:
        """``(source, record type label, record id)`` of the record in another system this one
        was found through (a Mollie payment through its web shop order), else None."""
        parent = self.part.record.get("parent")
        if not parent or str(parent.get("source")) == self.source:
            return None
        kind = record_type_label(str(parent.get("record_type")))
        return str(parent.get("source")), kind, str(parent.get("record_id"))

    @property
    def kept(self) -> bool:
        """Whether the record was read again by id as one the firm keeps by law after an
        erasure, found through no record or identifier of the customer's any more."""
        record = self.part.record
        return not record.get("parent") and record.get("matched", False) is None

    @property
    def title(self) -> str | None:
        """A short name of the record taken from its own fields, e.g. a ticket's subject; none
        when it would only say the record's id again (an order's number)."""
        fields = self.part.record.get("fields", {})
        for name in TITLE_FIELDS:
            value = fields.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool):
                lines = plain_text(str(value)).strip().splitlines()
                if lines:
                    title = lines[0][:80]
                    # not the id again (an order's number; a file's row "werkbonnen:WB-7")
                    record_id = str(self.part.record_id)
                    return None if record_id.rpartition(":")[2] == title else title
        return None

    @cached_property
    def when(self) -> date | None:
        """The record's own date (invoice date, else created), for sorting and showing; read
        once (a list of thousands is sorted by it)."""
        dates = self.part.record.get("dates", {})
        for key in ("invoice_date", "created", "updated"):
            raw = dates.get(key)
            if raw is None:
                continue
            value = parse_date(raw, self.zone or firm_zone())
            if value is not None:
                return value.date() if isinstance(value, datetime) else value
        return None

    @property
    def fields(self) -> list[FieldView]:
        """The part's fields with labels, in the source's order; none for a record whose every
        value is empty (:data:`~portal.gathering.presentation.EMPTY`)."""
        locale = _locale()
        category = self.view.category
        context = context_fields(self.part.record)
        codes = speaks_codes(self.part.record)
        record_type = self.part.record_type
        return [
            FieldView(
                name=name,
                label=field_label(category, name, locale, record_type),
                value=display_value(value, name, codes),
                correctable=field_correctable(category, name, context, record_type),
            )
            for name, value in self.part.fields.items()
        ]


@dataclass(frozen=True)
class Page(paging.Page):
    """One page of a category's entries."""

    entries: Sequence[Entry] = ()


@dataclass
class CategorySection:
    """A category of the policy with the customer's data in it, ready to show."""

    view: CategoryView
    entries: list[Entry]
    #: (source, number of records from it), in the policy's source order.
    by_source: list[tuple[Source | None, str, int]]
    #: Sources that feed this category but did not answer completely.
    incomplete: list[tuple[Source | None, SourceOutcome]]

    @property
    def key(self) -> str:
        return self.view.key

    @property
    def record_count(self) -> int:
        return self.view.record_count

    @property
    def common_due_date(self) -> date | None:
        """The one due date of all records, when they share it."""
        if self.view.parts and not self.view.due_dates_differ:
            return self.view.parts[0].due_date
        return None

    def page(self, number: int, size: int = PAGE_SIZE) -> Page:
        """Entries of page ``number`` (1-based; out-of-range numbers are clamped)."""
        return _page_of(self.entries, number, size)

    def entry(self, source: str, record_type: str, record_id: str) -> Entry | None:
        """The entry (a record with its related records) of this reference, or None."""
        key = (source, record_type, record_id)
        return next((e for e in self.entries if _key(e.part.record) == key), None)


def _page_of(entries: Sequence[Entry], number: int, size: int) -> Page:
    shown = paging.Page.of(len(entries), number, size)
    return Page(
        shown.number, shown.pages, shown.total, size,
        entries=entries[shown.offset : shown.offset + size],
    )  # fmt: skip


def children_page(entry: Entry, number: int, size: int = PAGE_SIZE) -> Page:
    """Page ``number`` of an entry's related records."""
    return _page_of(entry.children, number, size)


@dataclass(frozen=True)
class SourceSummary:
    """How one source answered."""

    source: Source | None
    outcome: SourceOutcome
    text: str

    @property
    def problem(self) -> bool:
        return self.outcome.status != "complete"


@dataclass
class Overview:
    """Everything the overview shows, built from one snapshot."""

    snapshot: Snapshot
    sources: list[SourceSummary]
    categories: list[CategorySection]

    @property
    def problems(self) -> list[SourceSummary]:
        """Sources that failed, were skipped or answered only in part."""
        return [s for s in self.sources if s.problem]

    def category(self, key: str) -> CategorySection | None:
        """The section of category ``key``, or None."""
        return next((c for c in self.categories if c.key == key), None)


def _key(ref: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(ref.get("source")), str(ref.get("record_type")), str(ref.get("record_id")))


def _entries(view: CategoryView, source_order: Mapping[str, int]) -> list[Entry]:
    """The category's parts as entries: a part whose parent record is also in this category
    is shown under it (under the topmost such ancestor), except under a person's own record
    (an order stays an entry of its own, its notes go with it) or a record of another system
    (a payment found through a web shop order stays with its own system's records)."""
    zone = firm_zone()
    entries = {_key(p.record): Entry(p, view, zone=zone) for p in view.parts}

    def root(key: tuple[str, str, str]) -> tuple[str, str, str]:
        seen = {key}
        while True:
            parent = entries[key].part.record.get("parent")
            if (
                not parent
                or _key(parent) not in entries
                or _key(parent) in seen
                or str(parent.get("record_type")) in PERSON_TYPES
                or str(parent.get("source")) != key[0]
            ):
                return key
            key = _key(parent)
            seen.add(key)

    top: list[Entry] = []
    for key, entry in entries.items():
        top_key = root(key)
        if top_key == key:
            top.append(entry)
        else:
            entries[top_key].children.append(entry)
    for entry in top:
        entry.children.sort(key=lambda e: e.when or date.min)
    top.sort(key=lambda e: e.when or date.min, reverse=True)
    top.sort(key=lambda e: source_order.get(e.source, len(source_order)))
    return top


def build_overview(policy: Policy, snapshot: Snapshot) -> Overview:
    """Group a snapshot's records per category, and say per source how it answered."""
    sources = {s.key: s for s in policy.sources}
    order = {s.key: i for i, s in enumerate(policy.sources)}
    outcomes = {o.key: o for o in snapshot.sources}
    summaries = [SourceSummary(sources.get(o.key), o, outcome_text(o)) for o in snapshot.sources]
    sections = []
    for view in by_category(policy, snapshot.records):
        counts = Counter(p.source for p in view.parts)
        by_source = [
            (sources.get(key), key, count)
            for key, count in sorted(counts.items(), key=lambda kv: order.get(kv[0], len(order)))
        ]
        feeding = [s.key for s in view.sources] or list(counts)
        incomplete = [
            (sources.get(key), outcomes[key])
            for key in feeding
            if key in outcomes and outcomes[key].status != "complete"
        ]
        sections.append(CategorySection(view, _entries(view, order), by_source, incomplete))
    return Overview(snapshot, summaries, sections)
