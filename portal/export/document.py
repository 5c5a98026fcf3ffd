"""What an export holds, built once per download and shared by every format.

:class:`ExportDocument` holds the parts that are small (the controller, the subject's verified
identifiers, per source its status and reason, per category the purposes, legal basis,
retention and recipients), already in the export's language, and the records as the snapshot
holds them. Records are never copied: :meth:`ExportDocument.entries` enriches them one at a
time, so a writer that streams the entries keeps memory flat however many there are.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from math import ceil
from typing import Any

import orjson
from flask_babel import gettext as _

from ..gathering import SourceOutcome
from ..gathering.messages import outcome_text
from ..gathering.presentation import OTHER, firm_zone, parse_dates
from ..policy import Category, Policy, Retention
from ..policy.schema import START_DATE_KEYS
from ..policy.texts import ROLES, legal_basis_label, retention_text
from .schema import FORMAT_NAME, FORMAT_VERSION

#: Distinct days (and record shapes with due dates) remembered while exporting.
_DUE_CACHE_SIZE = 16384
_UNKNOWN = object()
#: :func:`day_key` of a record without any of the dates its due dates count from (longer than
#: any key made from a date).
NO_DAY = "(no date at all)"
#: What a date-time with a UTC offset of zero ends with.
_UTC_ENDINGS = ("Z", "+00:00", "-00:00")


def same_day_hours(zone: tzinfo | None) -> tuple[str, str]:
    """The UTC hours (``"HH"`` from, ``"HH"`` before) in which a UTC time falls on the same
    calendar day in ``zone`` all year round: ``("00", "22")`` for Amsterdam (UTC+1, +2)."""
    if zone is None:
        return "00", "24"
    offsets = [
        (zone.utcoffset(datetime(2026, month, 15, 12)) or timedelta()).total_seconds() / 3600
        for month in range(1, 13)
    ]
    start = max(0, ceil(-min(offsets)))
    end = 24 - max(0, ceil(max(offsets)))
    return f"{start:02d}", f"{end:02d}"


def firm_day_at_start(raw: str, hours: tuple[str, str]) -> bool:
    """Whether the first ten characters of an ISO date or date-time are its day as the firm
    counts it: a date, a date-time without an offset (the firm's own time), or a UTC time in
    ``hours`` (:func:`same_day_hours`). A UTC time near midnight, or another offset, is put in
    the firm's time zone by :func:`firm_day`.
    """
    if len(raw) <= 10:
        return True
    if raw.endswith(_UTC_ENDINGS):
        return hours[0] <= raw[11:13] < hours[1]
    return not (len(raw) >= 25 and raw[-6] in "+-" and raw[-3] == ":")


def iso_duration(retention: Retention | None) -> str | None:
    """The retention period as an ISO 8601 duration (``P7Y``), or None without a period."""
    if retention is None or retention.period is None:
        return None
    period = retention.period
    parts = [(period.years, "Y"), (period.months, "M"), (period.days, "D")]
    text = "".join(f"{n}{unit}" for n, unit in parts if n)
    return f"P{text or '0D'}"


def retention_rule(retention: Retention | None) -> dict[str, Any]:
    """The machine-readable retention rule of a category."""
    if retention is None:
        return {"kind": "undecided", "period": None, "starts": None}
    return {
        "kind": retention.kind,
        "period": iso_duration(retention),
        "starts": retention.starts.value if retention.starts else None,
    }


@dataclass(frozen=True)
class SourceInfo:
    """One source's outcome, with its name and the reason in the export's language."""

    key: str
    name: str
    system: str | None
    status: str
    error_kind: str | None
    reason: str
    missing: tuple[tuple[str, str], ...]
    records: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "system": self.system,
            "status": self.status,
            "error_kind": self.error_kind,
            "reason": self.reason,
            "missing": [{"what": what, "kind": kind} for what, kind in self.missing],
            "records": self.records,
        }


@dataclass(frozen=True)
class CategoryInfo:
    """A category with everything GDPR art. 15(1) asks to tell about it, in words."""

    key: str
    category: Category | None
    name: str
    description: str | None
    purposes: tuple[dict[str, Any], ...]
    retention: dict[str, Any]
    recipients: tuple[dict[str, Any], ...]
    sources: tuple[str, ...]
    #: What every record part of this category repeats: references to the above.
    reference: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "special": bool(self.category and self.category.special),
            "purposes": list(self.purposes),
            "retention": self.retention,
            "recipients": list(self.recipients),
            "sources": list(self.sources),
        }


def _category_info(policy: Policy, key: str, locale: str) -> CategoryInfo:
    category = policy.category(key)
    if category is None:
        return CategoryInfo(
            key=key,
            category=None,
            name=_("Other data"),
            description=_("Data that our privacy statement does not place in a category."),
            purposes=(),
            retention={**retention_rule(None), "text": retention_text(None), "ground": None},
            recipients=(),
            sources=(),
            reference={
                "purposes": [],
                "legal_bases": [],
                "retention": retention_rule(None),
                "recipients": [],
            },
        )
    purposes = tuple(
        {
            "key": p.key,
            "name": p.name.get(locale),
            "description": p.description.get(locale) if p.description else None,
            "legal_basis": p.legal_basis.value,
            "legal_basis_article": p.legal_basis.article,
            "legal_basis_text": legal_basis_label(p.legal_basis),
            "legitimate_interest": (
                p.legitimate_interest.get(locale) if p.legitimate_interest else None
            ),
            "obligation": p.obligation.get(locale) if p.obligation else None,
        }
        for p in policy.purposes_of(category)
    )
    recipients = tuple(
        {
            "key": r.key,
            "name": r.name,
            "role": r.role,
            "role_text": str(ROLES[r.role]) if r.role else None,
            "country": r.country,
            "purpose": r.purpose.get(locale) if r.purpose else None,
            "safeguards": r.safeguards.get(locale) if r.safeguards else None,
        }
        for r in policy.recipients_of(category)
    )
    rule = retention_rule(category.retention)
    ground = category.retention.ground if category.retention else None
    return CategoryInfo(
        key=key,
        category=category,
        name=category.name.get(locale),
        description=category.description.get(locale) if category.description else None,
        purposes=purposes,
        retention={
            **rule,
            "text": retention_text(category.retention),
            "ground": ground.get(locale) if ground else None,
        },
        recipients=recipients,
        sources=tuple(s.key for s in policy.sources_of(category)),
        reference={
            "purposes": [p["key"] for p in purposes],
            "legal_bases": sorted({p["legal_basis"] for p in purposes}),
            "retention": rule,
            "recipients": [r["key"] for r in recipients],
        },
    )


def _controller(policy: Policy) -> dict[str, Any]:
    c = policy.controller
    contact = c.privacy_contact
    return {
        "name": c.name,
        "trade_names": list(c.trade_names),
        "kvk_number": c.kvk_number,
        "address": c.address.model_dump() if c.address else None,
        "contact_email": c.contact_email,
        "phone": c.phone,
        "website": c.website,
        "privacy_contact": (
            {
                "name": contact.name,
                "email": contact.email,
                "phone": contact.phone,
                "is_dpo": contact.is_dpo,
            }
            if contact
            else None
        ),
    }


def firm_day(raw: str, hours: tuple[str, str], zone: tzinfo | None) -> str | None:
    """The firm's day (``YYYY-MM-DD``) of an ISO date or date-time, or None if unreadable.

    The first ten characters where :func:`firm_day_at_start` says so (not checked further);
    else the moment is read and put in the firm's time zone ``zone``.
    """
    if len(raw) <= 10 or firm_day_at_start(raw, hours):
        return raw[:10]
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None or zone is None:
        return raw[:10]
    return moment.astimezone(zone).date().isoformat()


def day_key(
    plan: RecordPlan,
    dates: Mapping[str, Any],
    hours: tuple[str, str] = ("00", "24"),
    zone: tzinfo | None = None,
) -> str | None:
    """What the due dates of a record of ``plan`` with these ``dates`` depend on, as a key.

    With :attr:`RecordPlan.by_day`, the first eleven characters of the first of its
    :attr:`~RecordPlan.date_keys` present (the day, and ``T`` for a date-time), or
    :data:`NO_DAY` when none is; None when the due dates depend on more than one day, the
    date is no text or cannot be read. A date-time whose first ten characters are not the
    firm's day (:func:`firm_day_at_start` with ``hours``, :attr:`ExportDocument.day_hours`)
    has the firm's day (in ``zone``) and ``T`` as its key. What is remembered under a key is
    only trusted where :meth:`ExportDocument.dues_on_day` says the key alone decides the due
    dates.
    """
    if not plan.by_day:
        return None
    for name in plan.date_keys:
        raw = dates.get(name)
        if raw is not None:
            if raw.__class__ is not str:
                return None
            if len(raw) <= 10 or firm_day_at_start(raw, hours):
                return raw[:11]
            return local_key(raw, hours, zone)
    return NO_DAY


def local_key(raw: str, hours: tuple[str, str], zone: tzinfo | None) -> str | None:
    """:func:`day_key` of a date-time whose first ten characters are not the firm's day."""
    day = firm_day(raw, hours, zone)
    return None if day is None else day + "T"


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True, eq=False)
class RecordPlan:
    """What every record with the same field names and category mapping shares.

    Worked out once per shape of record (:meth:`ExportDocument.plan`), so that writing a
    record costs little more than copying its values.
    """

    #: (category key, field names) in the policy's category order.
    groups: tuple[tuple[str, list[str]], ...]
    #: The category keys, in the order of ``groups``.
    keys: tuple[str, ...]
    #: The category keys, comma-separated (the CSV ``categories`` column).
    keys_text: str
    #: Per group: the JSON of its ``categories[]`` entry up to the due date's value.
    json_heads: tuple[bytes, ...]
    #: The field names per category key (the groups as a dict).
    names: dict[str, list[str]]
    #: The record dates every due date of this shape is counted from (the first one present
    #: counts), when its categories with a computable due date share them; empty when none has
    #: one. With ``by_day`` the due dates depend on that one day only.
    date_keys: tuple[str, ...] = ()
    by_day: bool = True
    #: With ``by_day``: per :func:`day_key`, what a writer made of the due dates of that day (the
    #: ``categories`` JSON, the CSV ``due_dates`` cell), filled as records are written.
    by_day_json: dict[str | None, orjson.Fragment] = field(default_factory=dict)
    by_day_text: dict[str | None, str] = field(default_factory=dict)


#: What :attr:`ExportDocument.shapes` holds per field names.
Shape = tuple[
    Mapping[str, Any],
    RecordPlan,
    tuple[str, ...] | None,
    dict[str | None, orjson.Fragment],
    dict[str | None, str],
]


@dataclass
class ExportDocument:
    """One export: the small, translated parts, and the records to stream.

    Build it with :func:`build_document` inside a request (texts are translated then);
    :meth:`entries` and :meth:`parts` need no request and may run while the response streams.
    """

    policy: Policy
    locale: str
    exported_at: datetime
    gathered_at: datetime
    schema_url: str
    controller: dict[str, Any]
    authority: dict[str, Any] | None
    identifiers: list[dict[str, str]]
    sources: tuple[SourceInfo, ...]
    categories: dict[str, CategoryInfo]
    #: The snapshot's records: re-iterable, read once per pass, never copied.
    records: Sequence[Mapping[str, Any]]
    _plans: dict[tuple[Any, ...], RecordPlan] = field(default_factory=dict)
    #: Per category: the record dates its due date is counted from (None: not computable).
    _start_keys: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    #: Per category: due date by the day (``YYYY-MM-DD``) it is counted from.
    _due: dict[str, dict[str, str | None]] = field(default_factory=dict)
    #: The ``categories`` JSON by (record plan, due dates).
    _categories_json: dict[tuple[Any, ...], orjson.Fragment] = field(default_factory=dict)
    #: Per field names (in order), of the last record with them: its category mapping, plan,
    #: and the plan's ``date_keys`` (None unless ``by_day``), ``by_day_json`` and
    #: ``by_day_text``, unpacked for the writers.
    shapes: dict[tuple[str, ...], Shape] = field(default_factory=dict)
    _fiscal_year_end: tuple[int, int] = (12, 31)
    #: :func:`same_day_hours` of the firm's time zone (see :func:`firm_day_at_start`).
    day_hours: tuple[str, str] = ("00", "24")
    #: The firm's time zone (None outside an application: UTC days).
    zone: tzinfo | None = None

    def __post_init__(self) -> None:
        self._fiscal_year_end = self.policy.controller.fiscal_year_end_tuple
        self.zone = firm_zone()
        self.day_hours = same_day_hours(self.zone)
        for key, info in self.categories.items():
            retention = info.category.retention if info.category else None
            computable = retention is not None and retention.computable
            self._start_keys[key] = (
                START_DATE_KEYS[retention.starts]
                if computable and retention is not None and retention.starts
                else None
            )
            self._due[key] = {}

    @property
    def complete(self) -> bool:
        """Whether every source answered completely."""
        return all(s.status == "complete" for s in self.sources)

    @property
    def source_names(self) -> dict[str, str]:
        return {s.key: s.name for s in self.sources}

    def header(self) -> dict[str, Any]:
        """Everything but the records, in the order of the JSON format."""
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "schema": self.schema_url,
            "exported_at": _timestamp(self.exported_at),
            "gathered_at": _timestamp(self.gathered_at),
            "language": self.locale,
            "complete": self.complete,
            "controller": self.controller,
            "supervisory_authority": self.authority,
            "subject": {"identifiers": self.identifiers},
            "sources": [s.as_dict() for s in self.sources],
            "categories": [c.as_dict() for c in self.categories.values()],
        }

    def shape(self, record: Mapping[str, Any]) -> RecordPlan:
        """The same as :meth:`plan`, quicker for records shaped like the one before them.

        Looks the plan up by the field names alone and only checks the category mapping (the
        writers inline this; see :attr:`shapes`).
        """
        mapping = record.get("categories") or {}
        names = tuple(record["fields"])
        found = self.shapes.get(names)
        if found is not None and found[0] == mapping:
            return found[1]
        return self.remember_shape(record, names)[1]

    def remember_shape(self, record: Mapping[str, Any], names: tuple[str, ...]) -> Shape:
        """Note the record's plan in :attr:`shapes` under its field names; return the entry."""
        plan = self.plan(record)
        if len(self.shapes) >= _DUE_CACHE_SIZE:
            self.shapes.clear()
        found = self.shapes[names] = (
            dict(record.get("categories") or {}),
            plan,
            plan.date_keys if plan.by_day else None,
            plan.by_day_json,
            plan.by_day_text,
        )
        return found

    def plan(self, record: Mapping[str, Any]) -> RecordPlan:
        """The record's :class:`RecordPlan` (shared by every record of the same shape)."""
        fields = record["fields"]
        mapping = record.get("categories") or {}
        cache_key = (tuple(fields), tuple(mapping.items()))
        found = self._plans.get(cache_key)
        if found is None:
            by_key: dict[str, list[str]] = {}
            for name in fields:
                key = mapping.get(name, OTHER)
                by_key.setdefault(key if key in self.categories else OTHER, []).append(name)
            order = list(self.categories)
            groups = tuple(sorted(by_key.items(), key=lambda item: order.index(item[0])))
            chains = {start_keys for key, _names in groups if (start_keys := self._start_keys[key])}
            found = self._plans[cache_key] = RecordPlan(
                groups=groups,
                keys=tuple(key for key, _names in groups),
                keys_text=", ".join(key for key, _names in groups),
                json_heads=tuple(
                    orjson.dumps(
                        {"category": key, "fields": names, **self.categories[key].reference}
                    )[:-1]
                    + b',"due_date":'
                    for key, names in groups
                ),
                names=dict(groups),
                date_keys=next(iter(chains)) if len(chains) == 1 else (),
                by_day=len(chains) <= 1,
            )
        return found

    def groups(self, record: Mapping[str, Any]) -> tuple[tuple[str, list[str]], ...]:
        """The record's fields per category key, in the policy's category order."""
        return self.plan(record).groups

    def due_date(self, key: str, dates: Mapping[str, Any]) -> str | None:
        """When the record's part in category ``key`` is due to be removed (ISO date).

        Remembered per category and calendar day: the day is the first ten characters of the
        ISO date or date-time the count starts from (as :meth:`Record.to_dict
        <connectors.base.Record.to_dict>` writes them), so each distinct day is computed once.
        """
        start_keys = self._start_keys[key]
        if not start_keys:
            return None
        for name in start_keys:
            raw = dates.get(name)
            if raw is not None:
                break
        else:
            return None
        if raw.__class__ is not str or not (len(raw) == 10 or raw[10:11] == "T"):
            return self._due_slowly(key, dates)
        day = raw[:10] if firm_day_at_start(raw, self.day_hours) else None
        if day is None:
            day = firm_day(raw, self.day_hours, self.zone)
            if day is None:
                return self._due_slowly(key, dates)
        memo = self._due[key]
        found = memo.get(day, _UNKNOWN)
        if found is _UNKNOWN:
            try:
                date.fromisoformat(day)
            except ValueError:  # unreadable: the next date key may count
                return self._due_slowly(key, dates)
            if len(memo) >= _DUE_CACHE_SIZE:
                memo.clear()
            found = memo[day] = self._due_on(key, name, day)
        return found  # type: ignore[return-value]

    def _due_on(self, key: str, name: str, day: str) -> str | None:
        """The due date in category ``key`` counted from date ``name`` on ``day`` (valid ISO)."""
        category = self.categories[key].category
        if category is None or category.retention is None:
            return None
        start = {name: date.fromisoformat(day)}
        due = category.retention.due_date(start, self._fiscal_year_end)
        return due.isoformat() if due else None

    def _due_slowly(self, key: str, dates: Mapping[str, Any]) -> str | None:
        category = self.categories[key].category
        if category is None or category.retention is None:
            return None
        day = category.retention.due_date(parse_dates(dates, self.zone), self._fiscal_year_end)
        return day.isoformat() if day else None

    def due_dates(self, plan: RecordPlan, dates: Mapping[str, Any]) -> tuple[str | None, ...]:
        """The due date of each of the record's groups (see :meth:`due_date`)."""
        due = self.due_date
        return tuple([due(key, dates) for key in plan.keys])

    def categories_json(self, plan: RecordPlan, dates: Mapping[str, Any]) -> orjson.Fragment:
        """The record's ``categories`` array as JSON (what :meth:`entries` holds, serialised).

        Remembered per record shape and due dates: records of one shape due on the same days
        share it.
        """
        return self._categories_fragment(plan, self.due_dates(plan, dates))

    def _categories_fragment(
        self, plan: RecordPlan, dues: tuple[str | None, ...]
    ) -> orjson.Fragment:
        cache_key = (plan, dues)
        found = self._categories_json.get(cache_key)
        if found is None:
            parts = [
                head + (b'"%s"}' % day.encode() if day else b"null}")
                for head, day in zip(plan.json_heads, dues, strict=True)
            ]
            if len(self._categories_json) >= _DUE_CACHE_SIZE:
                self._categories_json.clear()
            found = self._categories_json[cache_key] = orjson.Fragment(
                b"[" + b",".join(parts) + b"]"
            )
        return found

    def dues_on_day(self, plan: RecordPlan, key: str | None) -> tuple[str | None, ...] | None:
        """The due dates of a record of ``plan`` with :func:`day_key` ``key`` (what
        :meth:`due_dates` gives), or None when they are not a matter of that key alone.

        They are when the plan's due dates depend on one day (or none) and the key is an ISO
        date or the start of a date-time: :meth:`due_date` counts from its first ten characters.
        """
        if key is None:
            return None
        if key == NO_DAY:
            return (None,) * len(plan.keys)
        if not (len(key) == 10 or key[10:] == "T"):
            return None
        day = key[:10]
        dues: list[str | None] = []
        for category in plan.keys:
            start_keys = self._start_keys[category]
            if not start_keys:
                dues.append(None)
                continue
            memo = self._due[category]
            found = memo.get(day, _UNKNOWN)
            if found is _UNKNOWN:
                try:
                    date.fromisoformat(day)
                except ValueError:
                    return None
                if len(memo) >= _DUE_CACHE_SIZE:
                    memo.clear()
                found = memo[day] = self._due_on(category, start_keys[0], day)
            dues.append(found)  # type: ignore[arg-type]
        if len(plan.by_day_json) >= _DUE_CACHE_SIZE or len(plan.by_day_text) >= _DUE_CACHE_SIZE:
            plan.by_day_json.clear()
            plan.by_day_text.clear()
        return tuple(dues)

    def categories_json_by_day(
        self, plan: RecordPlan, dates: Mapping[str, Any], key: str | None
    ) -> orjson.Fragment:
        """:meth:`categories_json`, remembered in the plan by ``key`` (:func:`day_key`) when
        :meth:`dues_on_day` allows: what a writer calls when the key is not there yet."""
        dues = self.dues_on_day(plan, key)
        if dues is None:
            return self.categories_json(plan, dates)
        found = plan.by_day_json[key] = self._categories_fragment(plan, dues)
        return found

    def due_text(self, plan: RecordPlan, dues: tuple[str | None, ...]) -> str:
        """The due dates as the CSV ``due_dates`` cell: ``orders: 2027-01-01, ...``."""
        if not any(dues):
            return ""
        return ", ".join([f"{key}: {day}" for key, day in zip(plan.keys, dues, strict=True) if day])

    def due_text_by_day(self, plan: RecordPlan, dates: Mapping[str, Any], key: str | None) -> str:
        """:meth:`due_text` of the record's due dates, remembered in the plan by ``key``
        (:func:`day_key`) when :meth:`dues_on_day` allows."""
        dues = self.dues_on_day(plan, key)
        if dues is None:
            return self.due_text(plan, self.due_dates(plan, dates))
        found = plan.by_day_text[key] = self.due_text(plan, dues)
        return found

    def entries(self) -> Iterator[dict[str, Any]]:
        """Each record as the JSON format has it, one at a time (the fields are not copied)."""
        for record in self.records:
            dates = record.get("dates") or {}
            yield {
                "source": record["source"],
                "system": record.get("system"),
                "record_type": record["record_type"],
                "record_id": str(record["record_id"]),
                "parent": record.get("parent"),
                "link": record.get("link"),
                "matched": record.get("matched"),
                "fields": record["fields"],
                "dates": dates,
                "categories": [
                    {
                        "category": key,
                        "fields": names,
                        **self.categories[key].reference,
                        "due_date": self.due_date(key, dates),
                    }
                    for key, names in self.groups(record)
                ],
            }

    def part_indexes(self) -> dict[str, array[int]]:
        """Per category key, the positions in :attr:`records` of the records with fields there.

        One pass over the records; a few bytes per record part.
        """
        found: dict[str, array[int]] = {key: array("L") for key in self.categories}
        shape = self.shape
        appends: dict[RecordPlan, list[Callable[[int], None]]] = {}
        for index, record in enumerate(self.records):
            plan = shape(record)
            to = appends.get(plan)
            if to is None:
                to = appends[plan] = [found[key].append for key in plan.keys]
            for append in to:
                append(index)
        return found

    def parts(self, key: str) -> Iterator[tuple[Mapping[str, Any], list[str], str | None]]:
        """Every record with fields in category ``key``: (record, field names, due date)."""
        for record in self.records:
            for group_key, names in self.groups(record):
                if group_key == key:
                    yield record, names, self.due_date(key, record.get("dates") or {})


def build_document(
    *,
    policy: Policy,
    locale: str,
    exported_at: datetime,
    gathered_at: datetime,
    schema_url: str,
    identifiers: list[dict[str, str]],
    outcomes: Sequence[SourceOutcome],
    records: Sequence[Mapping[str, Any]],
) -> ExportDocument:
    """Put an export together; call inside a request so texts are in the customer's language."""
    names = {s.key: s.name.get(locale) for s in policy.sources}
    sources = tuple(
        SourceInfo(
            key=o.key,
            name=names.get(o.key, o.key),
            system=o.system,
            status=o.status,
            error_kind=o.error_kind,
            reason=outcome_text(o),
            missing=o.missing,
            records=o.records,
        )
        for o in outcomes
    )
    categories = {c.key: _category_info(policy, c.key, locale) for c in policy.categories}
    categories[OTHER] = _category_info(policy, OTHER, locale)
    authority = policy.supervisory_authority
    return ExportDocument(
        policy=policy,
        locale=locale,
        exported_at=exported_at,
        gathered_at=gathered_at,
        schema_url=schema_url,
        controller=_controller(policy),
        authority=authority.model_dump() if authority else None,
        identifiers=identifiers,
        sources=sources,
        categories=categories,
        records=records,
    )


def day_of(value: date | datetime) -> date:
    """The calendar day of a date or datetime."""
    return value.date() if isinstance(value, datetime) else value
