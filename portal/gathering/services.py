"""Gathering a customer's data live from every source, and holding the result briefly.

The result is encrypted at rest with the data keys and expires after ``gathered_ttl_minutes``;
a scheduled job purges expired snapshots. Only one snapshot per customer exists at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from connectors import gather
from connectors.gather import GatherResult

from .. import audit
from ..auth.services import verified_identity
from ..crypto import decrypt, encrypt
from ..extensions import db
from ..models import Customer
from ..models.base import utcnow
from ..models.gathering import GatheredSnapshot
from ..policy import current_policy
from ..retention import kept_for
from ..settings import firm_zone
from .sources import build_sources


@dataclass(frozen=True)
class SourceOutcome:
    """What one source contributed: no personal data, safe for staff pages and the audit log."""

    key: str
    system: str | None
    status: str
    error_kind: str | None
    retry_after: float | None
    missing: tuple[tuple[str, str], ...]
    records: int
    elapsed: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "system": self.system,
            "status": self.status,
            "error_kind": self.error_kind,
            "retry_after": self.retry_after,
            "missing": [list(part) for part in self.missing],
            "records": self.records,
            "elapsed": round(self.elapsed, 3),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceOutcome:
        return cls(
            key=data["key"],
            system=data.get("system"),
            status=data["status"],
            error_kind=data.get("error_kind"),
            retry_after=data.get("retry_after"),
            missing=tuple((str(w), str(k)) for w, k in data.get("missing", [])),
            records=int(data.get("records", 0)),
            elapsed=float(data.get("elapsed", 0.0)),
        )


@dataclass(frozen=True)
class Snapshot:
    """A decrypted gathering: when, per-source outcomes, and the records as plain dicts,
    prepared for the export (:mod:`portal.export.prepare`: with their due dates)."""

    id: int
    gathered_at: datetime
    expires_at: datetime
    sources: tuple[SourceOutcome, ...]
    records: tuple[dict[str, Any], ...]
    #: Stored under another policy or time zone (or before records were prepared): its
    #: records were prepared again when read; :func:`latest` gathers anew instead.
    stale: bool = False

    @property
    def complete(self) -> bool:
        """Whether every configured source answered completely."""
        return all(s.status == "complete" for s in self.sources)


def _outcomes(result: GatherResult) -> list[SourceOutcome]:
    return [
        SourceOutcome(
            key=key,
            system=r.system,
            status=r.status.value,
            error_kind=r.error_kind.value if r.error_kind else None,
            retry_after=r.retry_after,
            missing=tuple((m.what, m.kind.value) for m in r.missing),
            records=len(r.records),
            elapsed=r.elapsed,
        )
        for key, r in result.sources.items()
    ]


def _answered(outcome: SourceOutcome) -> bool:
    """Whether the source itself answered (for its health), even with nothing to search by."""
    if outcome.status in ("complete", "partial"):
        return True
    return outcome.status == "skipped" and outcome.error_kind == "no_identifier"


def gather_for(customer: Customer, *, staff_id: int | None = None) -> Snapshot:
    """Gather live from every source of the policy and store the result encrypted, with the
    records the firm keeps for the customer by law after an erasure
    (:func:`~portal.retention.kept_for`).

    Never raises for a failing source: its outcome says what is missing and why. The audit
    log names who asked: the customer, or the staff member ``staff_id``.
    """
    settings = current_app.extensions["portal.settings"]
    built = build_sources(current_policy(), settings.connectors, Path(current_app.instance_path))
    try:
        result = gather(
            list(built.connectors.values()),
            verified_identity(customer),
            budget=settings.gather_budget_seconds,
            unavailable=built.unavailable,
            kept=kept_for(customer.id),
        )
    finally:
        built.close()
    from ..export.prepare import prepare_records, stored  # the export imports this module

    policy = current_policy()
    order = {s.key: i for i, s in enumerate(policy.sources)}
    outcomes = sorted(_outcomes(result), key=lambda o: order.get(o.key, len(order)))
    zone = firm_zone()
    records = prepare_records((r.to_dict() for r in result.records), policy, zone)
    now = utcnow()
    db.session.execute(delete(GatheredSnapshot).where(GatheredSnapshot.customer_id == customer.id))
    row = GatheredSnapshot(
        customer_id=customer.id,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.gathered_ttl_minutes),
        summary=[o.as_dict() for o in outcomes],
        payload_encrypted=encrypt(stored(records, policy, zone)),
    )
    db.session.add(row)
    from ..backoffice import health  # the back office imports this module

    for outcome in outcomes:
        health.record(
            outcome.key, "gather", ok=_answered(outcome),
            outcome=outcome.status, error_kind=outcome.error_kind, elapsed=outcome.elapsed,
        )  # fmt: skip
    db.session.flush()
    audit.record(
        "data.gathered",
        actor_type="customer" if staff_id is None else "staff",
        actor_id=customer.id if staff_id is None else staff_id,
        subject_type="snapshot",
        subject_id=row.id,
        details={
            "customer": customer.id,
            "sources": {o.key: o.status for o in outcomes},
            "records": len(records),
        },
    )
    return _decode(row)


def _decode(row: GatheredSnapshot) -> Snapshot:
    from ..export.prepare import from_stored

    records = from_stored(decrypt(row.payload_encrypted), current_policy(), firm_zone())
    return Snapshot(
        id=row.id,
        gathered_at=row.created_at,
        expires_at=row.expires_at,
        sources=tuple(SourceOutcome.from_dict(s) for s in row.summary),
        records=records,
        stale=records.stale,
    )


def latest(customer: Customer) -> Snapshot | None:
    """The customer's unexpired snapshot, decrypted, or None (also when it is stale: stored
    under another policy or time zone, so gathered again by :func:`current_or_gather`)."""
    row = db.session.scalars(
        select(GatheredSnapshot)
        .where(GatheredSnapshot.customer_id == customer.id, GatheredSnapshot.expires_at > utcnow())
        .order_by(GatheredSnapshot.created_at.desc())
        .limit(1)
    ).first()
    snapshot = _decode(row) if row else None
    return None if snapshot is None or snapshot.stale else snapshot


def current_or_gather(customer: Customer) -> Snapshot:
    """The customer's unexpired snapshot, or a live gathering if there is none. Flushes; the
    caller commits, so the gathering is kept for the next page view."""
    return latest(customer) or gather_for(customer)


def purge_expired(now: datetime | None = None) -> int:
    """Delete every expired snapshot; returns how many. Run by a scheduled job."""
    result = db.session.execute(
        delete(GatheredSnapshot).where(GatheredSnapshot.expires_at <= (now or utcnow()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
