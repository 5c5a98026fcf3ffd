"""Writing and verifying the hash-chained audit log.

Every entry's hash covers its content and the previous entry's hash, so editing or deleting a
row breaks the chain from there on, which :func:`verify_chain` detects. Entries hold references
(ids, keys, formats), never copies of personal data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from .extensions import db
from .models import AuditEvent, utcnow

GENESIS = "0" * 64
#: The PostgreSQL advisory lock that writers of the chain take (any fixed 64-bit number).
CHAIN_LOCK = 0x61756469745F6C67  # "audit_lg"


def _digest(event: AuditEvent) -> str:
    payload = json.dumps(
        {
            "created_at": event.created_at.isoformat(),
            "actor_type": event.actor_type,
            "actor_id": event.actor_id,
            "action": event.action,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "details": event.details,
            "prev_hash": event.prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    action: str,
    *,
    actor_type: str,
    actor_id: str | int | None = None,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an entry in the current transaction (the caller commits).

    On PostgreSQL, writers take a transaction-level advisory lock first, so they chain one
    after the other: the second waits until the first commits, then reads the entry the first
    added as its predecessor. (``SELECT ... FOR UPDATE`` of the newest row is not enough: the
    waiting writer gets the row it locked, which is no longer the newest, and both entries
    would chain onto the same predecessor.) SQLite lets one writer at a time anyway.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK)))
    last = db.session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    event = AuditEvent(
        created_at=utcnow().replace(microsecond=0),
        actor_type=actor_type,
        actor_id=None if actor_id is None else str(actor_id),
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        details=details or {},
        prev_hash=last or GENESIS,
    )
    event.hash = _digest(event)
    db.session.add(event)
    db.session.flush()
    return event


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain is broken and why."""

    event_id: int
    reason: str


def verify_chain(batch: int = 1000) -> Iterator[ChainBreak]:
    """Yield every place where the stored chain does not hold.

    The chain starts at the genesis hash, or, after old entries were purged
    (:mod:`portal.retention`), at the hash of the last purged entry that an ``audit.purged``
    entry further on records.
    """
    prev = GENESIS
    first = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id).limit(1)).first()
    if first is not None and first.prev_hash != GENESIS:
        anchors = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "audit.purged")
        ).all()
        if any(event.details.get("last_hash") == first.prev_hash for event in anchors):
            prev = first.prev_hash
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return
        for event in rows:
            if event.prev_hash != prev:
                yield ChainBreak(
                    event.id, "previous hash does not match (row removed or reordered)"
                )
            if _digest(event) != event.hash:
                yield ChainBreak(event.id, "content does not match its hash (row edited)")
            prev = event.hash
            last_id = event.id
