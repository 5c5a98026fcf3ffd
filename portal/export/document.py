"""What an export holds, built once per download and shared by every format.

:class:`ExportDocument` holds the parts that are small (the controller, the subject's verified
identifiers, per source its status and reason, per category the purposes, legal basis,
retention and recipients), already in the export's language, and the records as the snapshot
holds them, prepared when they were gathered (:mod:`.prepare`: ids as text, every field in a
category, the due dates worked out). Records are never copied: a writer streams them, so memory
stays flat however many there are.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from ..gathering import SourceOutcome
from ..gathering.messages import outcome_text
from ..gathering.presentation import OTHER
from ..policy import Category, Policy, Retention
from ..policy.texts import ROLES, legal_basis_label, retention_text
from .prepare import is_prepared, prepare_records
from .schema import FORMAT_NAME, FORMAT_VERSION

#: Record shapes remembered by :meth:`ExportDocument.groups`.
_SHAPES_REMEMBERED = 4096


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
            "name": r.name.get(locale),
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


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass
class ExportDocument:
    """One export: the small, translated parts, and the prepared records to stream.

    Build it with :func:`build_document` inside a request (texts are translated then); the
    writers need no request and may run while the response streams.
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
    #: The snapshot's records, prepared (:mod:`.prepare`): re-iterable, read once per pass,
    #: never copied.
    records: Sequence[Mapping[str, Any]]
    #: Per field names, of the last record with them: its category mapping and its field
    #: names per category (see :meth:`groups`).
    _groups: dict[tuple[str, ...], tuple[Mapping[str, str], dict[str, list[str]]]] = field(
        default_factory=dict
    )

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

    def groups(self, record: Mapping[str, Any]) -> dict[str, list[str]]:
        """The record's field names per category key (its ``due_dates`` order: the policy's).

        Remembered by field names; the category mapping is only compared.
        """
        mapping = record["categories"]
        names = tuple(record["fields"])
        found = self._groups.get(names)
        if found is None or found[0] != mapping:
            by_key: dict[str, list[str]] = {key: [] for key in record["due_dates"]}
            for name in names:
                by_key[mapping[name]].append(name)
            if len(self._groups) >= _SHAPES_REMEMBERED:
                self._groups.clear()
            found = self._groups[names] = (mapping, by_key)
        return found[1]

    def part_indexes(self) -> dict[str, array[int]]:
        """Per category key, the positions in :attr:`records` of the records with fields there.

        One pass over the records; a few bytes per record part.
        """
        found: dict[str, array[int]] = {key: array("L") for key in self.categories}
        for index, record in enumerate(self.records):
            for key in record["due_dates"]:
                found[key].append(index)
        return found

    def positions_without_fields(self) -> array[int]:
        """The positions in :attr:`records` of the records that hold no values (the system
        left every field empty): in no category, still the customer's."""
        return array("L", [i for i, record in enumerate(self.records) if not record["fields"]])

    def parts(self, key: str) -> Iterator[tuple[Mapping[str, Any], list[str], str | None]]:
        """Every record with fields in category ``key``: (record, field names, due date)."""
        for record in self.records:
            dues = record["due_dates"]
            if key in dues:
                yield record, self.groups(record)[key], dues[key]


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
        records=records if is_prepared(records, policy) else prepare_records(records, policy),
    )
