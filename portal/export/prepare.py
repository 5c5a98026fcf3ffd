"""Records made ready once, when they are gathered: what the JSON export writes as it is.

A gathered record (:meth:`connectors.base.Record.to_dict`) is prepared in the worker or request
that gathers it, before the snapshot is stored: its keys in the export's order, its id as
text, every field mapped to a category the policy has (:data:`OTHER` for the rest), and per
category it has fields in the date that part is due to be removed (``due_dates``), counted as
the firm counts (retention rule, fiscal year, the firm's day). The overview, both exports and
every later download of the same gathering then read the due dates instead of working them out
per record each time, and the JSON writer serialises the records as they are.

A snapshot stores the :func:`fingerprint` of the policy and time zone it was prepared with; a
snapshot prepared under another policy (or written before records were prepared) is prepared
again when it is read and marked stale (:func:`from_stored`), and the customer's data is then
gathered anew (:func:`portal.gathering.latest`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from math import ceil
from typing import Any

import orjson

from ..gathering.presentation import OTHER, firm_zone, parse_date, parse_dates
from ..policy import Policy
from ..policy.schema import START_DATE_KEYS

#: The version of what :func:`prepare_records` makes (part of the :func:`fingerprint`): a
#: change to what a record is prepared into, or to how its due dates are counted, bumps it.
PREPARED_VERSION = 3
#: Distinct record shapes and days remembered while preparing.
_CACHE_SIZE = 16384
_UNKNOWN = object()
#: :func:`day_key` of a record without any of the dates its due dates count from (longer than
#: any key made from a date).
NO_DAY = "(no date at all)"
#: An ISO date, or a date-time without an offset (the firm's own time) with a valid time of
#: day and nothing after it: its first ten characters are its day, as the firm counts it.
_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}(?:T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?)?")
#: The same for a UTC date-time (``Z`` or a zero offset).
_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-]00:00)")
#: The years :func:`same_day_hours` looks at (the zone's offsets may differ outside them).
_YEARS = ("1970", "2037")


def same_day_hours(zone: tzinfo | None) -> tuple[str, str]:
    """The UTC hours (``"HH"`` from, ``"HH"`` before) in which a UTC time of the years
    1970-2037 falls on the same calendar day in ``zone``: ``("00", "22")`` for Amsterdam
    (UTC+1, +2)."""
    if zone is None:
        return "00", "24"
    offsets = [
        (zone.utcoffset(datetime(year, month, 15, 12)) or timedelta()).total_seconds() / 3600
        for year in range(int(_YEARS[0]), int(_YEARS[1]) + 1)
        for month in range(1, 13)
    ]
    start = max(0, ceil(-min(offsets)))
    end = 24 - max(0, ceil(max(offsets)))
    return f"{start:02d}", f"{end:02d}"


def firm_day_at_start(raw: str, hours: tuple[str, str]) -> bool:
    """Whether the first ten characters of an ISO date or date-time are certainly its day as
    the firm counts it: a date or a date-time without an offset (the firm's own time) in the
    plain form, or a UTC time in ``hours`` (:func:`same_day_hours`). Anything else (another
    offset, a UTC time near midnight, other forms, text that is no date) is read in full by
    :func:`firm_day`. The day itself is not checked here (``2020-13-45`` passes).
    """
    if _LOCAL.fullmatch(raw):
        return True
    if _UTC.fullmatch(raw):
        return hours[0] <= raw[11:13] < hours[1] and _YEARS[0] <= raw[:4] <= _YEARS[1]
    return False


def firm_day(raw: str, hours: tuple[str, str], zone: tzinfo | None) -> str | None:
    """The firm's day (``YYYY-MM-DD``) of an ISO date or date-time, or None if unreadable.

    Read by :func:`~portal.gathering.presentation.parse_date`, as the overview's and the
    erasure's due dates read it; the first ten characters where :func:`firm_day_at_start`
    says so.
    """
    if firm_day_at_start(raw, hours):
        return raw[:10]
    moment = parse_date(raw, zone)
    if moment is None:
        return None
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


#: Per policy object: the policy, the zone and their fingerprint (a policy is loaded once).
_FINGERPRINTS: dict[int, tuple[Policy, str, str]] = {}


def fingerprint(policy: Policy, zone: tzinfo | None) -> str:
    """What prepared records depend on: the policy, the firm's time zone, this code's version."""
    found = _FINGERPRINTS.get(id(policy))
    if found is not None and found[0] is policy and found[1] == str(zone):
        return found[2]
    digest = hashlib.sha256(policy.model_dump_json().encode())
    digest.update(f"|{zone}|{PREPARED_VERSION}".encode())
    if len(_FINGERPRINTS) >= 16:
        _FINGERPRINTS.clear()
    _FINGERPRINTS[id(policy)] = (policy, str(zone), digest.hexdigest())
    return digest.hexdigest()


class Prepared(tuple[dict[str, Any], ...]):
    """Prepared records, with the :func:`fingerprint` they were prepared under and whether
    they were prepared again when read (``stale``: stored under another policy or zone)."""

    fingerprint: str
    stale: bool

    def __new__(
        cls, records: Iterable[dict[str, Any]], fingerprint: str, *, stale: bool = False
    ) -> Prepared:
        made = super().__new__(cls, records)
        made.fingerprint = fingerprint
        made.stale = stale
        return made


def stored(records: Sequence[Mapping[str, Any]], policy: Policy, zone: tzinfo | None) -> bytes:
    """The prepared ``records`` as a snapshot stores them (JSON, with their fingerprint)."""
    return orjson.dumps({"prepared": fingerprint(policy, zone), "records": list(records)})


def from_stored(data: bytes, policy: Policy, zone: tzinfo | None) -> Prepared:
    """The records of a stored snapshot; prepared again (and marked ``stale``) when the
    policy, the time zone or this code changed since, or when they were stored before records
    were prepared. Fields in a category the newer policy added stay under other then: a stale
    snapshot is gathered again where it can be (:func:`portal.gathering.latest`)."""
    loaded = orjson.loads(data)
    current = fingerprint(policy, zone)
    if isinstance(loaded, dict):
        if loaded.get("prepared") == current:
            return Prepared(loaded["records"], current)
        loaded = loaded["records"]
    return Prepared(map(Preparer(policy, zone), loaded), current, stale=True)


@dataclass(eq=False)
class _Plan:
    """What every record with the same field names and category mapping shares."""

    #: Every field name to a category key the policy has (or :data:`OTHER`), in field order.
    mapping: dict[str, str]
    #: The categories the record has fields in, in the policy's order.
    keys: tuple[str, ...]
    #: The record dates all its computable due dates count from (the first one present
    #: counts), when they share them; then (``by_day``) they depend on that one day only.
    date_keys: tuple[str, ...]
    by_day: bool
    #: Per :meth:`Preparer.day_key`: the due dates of that day.
    dues_by_day: dict[str, dict[str, str | None]] = field(default_factory=dict)


class Preparer:
    """Prepares records under one policy and time zone, remembering what records share.

    Records of the same shape share their category mapping; records of one shape counted from
    the same day share their due dates, so a day's due dates are computed once.
    """

    def __init__(self, policy: Policy, zone: tzinfo | None = None) -> None:
        self.policy = policy
        #: The firm's time zone (by default the running application's; None outside one).
        self.zone = zone if zone is not None else firm_zone()
        self.hours = same_day_hours(self.zone)
        self.order = [c.key for c in policy.categories] + [OTHER]
        self._fiscal_year_end = policy.controller.fiscal_year_end_tuple
        self._retention = {c.key: c.retention for c in policy.categories}
        #: Per category: the record dates its due date is counted from (None: not computable).
        self._start_keys: dict[str, tuple[str, ...] | None] = {OTHER: None}
        for category in policy.categories:
            retention = category.retention
            computable = retention is not None and retention.computable
            self._start_keys[category.key] = (
                START_DATE_KEYS[retention.starts]
                if computable and retention is not None and retention.starts is not None
                else None
            )
        self._plans: dict[tuple[Any, ...], _Plan] = {}
        #: Per category: due date by the day (``YYYY-MM-DD``) it is counted from.
        self._due: dict[str, dict[str, str | None]] = {key: {} for key in self.order}

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record prepared (a new dict; the fields are shared, not copied)."""
        fields = record.get("fields") or {}
        raw_dates = record.get("dates") or {}
        dates = (
            raw_dates
            if all(value.__class__ is str for value in raw_dates.values())
            else {k: str(v) for k, v in raw_dates.items() if v is not None}
        )
        plan = self._plan(fields, record.get("categories") or {})
        parent = record.get("parent")
        if parent is not None and parent.get("record_id").__class__ is not str:
            parent = {**parent, "record_id": str(parent.get("record_id"))}
        record_id = record["record_id"]
        return {
            "source": str(record["source"]),
            "system": record.get("system"),
            "record_type": str(record["record_type"]),
            "record_id": record_id if record_id.__class__ is str else str(record_id),
            "parent": parent,
            "link": record.get("link"),
            "matched": record.get("matched"),
            "fields": fields,
            "dates": dates,
            "categories": dict(plan.mapping),
            "due_dates": dict(self._dues(plan, dates)),
        }

    def _plan(self, fields: Mapping[str, Any], mapping: Mapping[str, Any]) -> _Plan:
        cache_key = (tuple(fields), tuple(mapping.items()))
        found = self._plans.get(cache_key)
        if found is None:
            known = self._start_keys
            normal = {}
            for name in fields:
                key = mapping.get(name, OTHER)
                normal[name] = key if key.__class__ is str and key in known else OTHER
            keys = tuple(key for key in self.order if key in normal.values())
            chains = {start for key in keys if (start := self._start_keys[key])}
            if len(self._plans) >= _CACHE_SIZE:
                self._plans.clear()
            found = self._plans[cache_key] = _Plan(
                mapping=normal,
                keys=keys,
                date_keys=next(iter(chains)) if len(chains) == 1 else (),
                by_day=len(chains) <= 1,
            )
        return found

    def day_key(self, plan: _Plan, dates: Mapping[str, str]) -> str | None:
        """What the due dates of a record of ``plan`` with these ``dates`` depend on, as a key.

        The firm's day of the first of the plan's date keys present (:func:`firm_day`), with
        ``T`` after it for a date-time; :data:`NO_DAY` when none is present; None when the due
        dates depend on more than one date, or the date cannot be read (then they are worked out
        for the record alone, and the next date key may count).
        """
        if not plan.by_day:
            return None
        for name in plan.date_keys:
            raw = dates.get(name)
            if raw is not None:
                day = firm_day(raw, self.hours, self.zone)
                if day is None:
                    return None
                try:
                    date.fromisoformat(day)
                except ValueError:  # e.g. 2020-13-45
                    return None
                return day + ("T" if "T" in raw else "")
        return NO_DAY

    def _dues(self, plan: _Plan, dates: Mapping[str, str]) -> dict[str, str | None]:
        if not plan.by_day:
            return {category: self._due_slowly(category, dates) for category in plan.keys}
        # The common case first: the first date present is an ISO date, or a date-time on the
        # firm's day, already remembered under its first eleven characters.
        raw = None
        for name in plan.date_keys:
            raw = dates.get(name)
            if raw is not None:
                break
        if raw is None:
            found = plan.dues_by_day.get(NO_DAY)
        elif firm_day_at_start(raw, self.hours):
            found = plan.dues_by_day.get(raw[:11])
        else:
            found = None
        if found is not None:
            return found
        key = self.day_key(plan, dates)
        if key is None:
            return {category: self._due_slowly(category, dates) for category in plan.keys}
        found = plan.dues_by_day.get(key)
        if found is None:
            if len(plan.dues_by_day) >= _CACHE_SIZE:
                plan.dues_by_day.clear()
            found = plan.dues_by_day[key] = {
                category: (
                    None
                    if key == NO_DAY or not self._start_keys[category]
                    else self._due_on(category, key[:10])
                )
                for category in plan.keys
            }
        return found

    def _due_on(self, category: str, day: str) -> str | None:
        """The due date in ``category`` counted from its first start date, on ``day``."""
        memo = self._due[category]
        found = memo.get(day, _UNKNOWN)
        if found is _UNKNOWN:
            retention = self._retention[category]
            start_keys = self._start_keys[category]
            due = (
                retention.due_date({start_keys[0]: date.fromisoformat(day)}, self._fiscal_year_end)
                if retention is not None and start_keys
                else None
            )
            if len(memo) >= _CACHE_SIZE:
                memo.clear()
            found = memo[day] = due.isoformat() if due else None
        return found  # type: ignore[return-value]

    def _due_slowly(self, category: str, dates: Mapping[str, str]) -> str | None:
        """The due date worked out from the record's dates alone (no shortcut)."""
        retention = self._retention.get(category)
        if retention is None:
            return None
        due = retention.due_date(parse_dates(dates, self.zone), self._fiscal_year_end)
        return due.isoformat() if due else None


def prepare_records(
    records: Iterable[Mapping[str, Any]], policy: Policy, zone: tzinfo | None = None
) -> Prepared:
    """Every record prepared (see :class:`Preparer`); ``zone`` defaults to the firm's."""
    preparer = Preparer(policy, zone)
    return Prepared(map(preparer, records), fingerprint(policy, preparer.zone))


def is_prepared(records: Sequence[Mapping[str, Any]], policy: Policy) -> bool:
    """Whether ``records`` were prepared (:func:`prepare_records`, :func:`from_stored`) under
    ``policy`` and the firm's time zone."""
    return isinstance(records, Prepared) and records.fingerprint == fingerprint(policy, firm_zone())
