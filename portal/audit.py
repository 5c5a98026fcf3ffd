"""Writing and verifying the hash-chained audit log.

Every entry's hash covers its content and the previous entry's hash, so editing or deleting a
row breaks the chain from there on, which :func:`verify_chain` detects. Entries hold references
(ids, keys, formats), never copies of personal data.

A chain alone cannot show that someone with write access to the database rewrote an entry and
computed every hash after it again. So each entry is also *sealed*: an HMAC of its hash under
the application's secret key, which is not in the database (:func:`seal`). Rewriting an entry
then needs the key as well; an entry without a valid seal is a break.

Nor can a chain show that its newest entries were cut off. An *anchor* (an entry's number and
hash, kept outside the database: the weekly e-mail to the privacy contact, :func:`mail_anchor`)
can: checked against it (``flask audit verify --anchor``), the entry must still be there with
the same hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from .crypto import keyed_hash
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


def seal(entry_hash: str) -> str:
    """An entry's seal: HMAC-SHA256 of its hash under the application's secret key."""
    return keyed_hash("audit.seal", entry_hash)


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
    event.seal = seal(event.hash)
    db.session.add(event)
    db.session.flush()
    return event


@dataclass(frozen=True)
class ChainBreak:
    """Where the chain is broken and why."""

    event_id: int
    reason: str


#: Why an anchor does not hold (a :class:`ChainBreak` reason starts with it).
ANCHOR_BROKEN = "anchor"
#: An entry without a seal (a :class:`ChainBreak` reason starts with it).
UNSEALED = "not sealed"
_ANCHOR_RE = re.compile(r"^\s*(?:no\.?\s*)?(\d+)\s*[:/ ]\s*([0-9a-fA-F]{64})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Anchor:
    """An entry's number and hash, kept outside the database to check the log against."""

    event_id: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """``"1234:9f86d0…"`` (the number, a colon and the 64 hex digits).

        :raises ValueError: for anything else.
        """
        found = _ANCHOR_RE.match(text or "")
        if found is None:
            raise ValueError("an anchor is the entry's number, a colon and its 64-digit hash")
        return cls(int(found.group(1)), found.group(2).lower())

    def __str__(self) -> str:
        return f"{self.event_id}:{self.hash}"


def head() -> Anchor | None:
    """The newest entry as an anchor (None while the log is empty)."""
    row = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return Anchor(row[0], row[1]) if row is not None else None


def verify_chain(
    batch: int = 1000, anchor: Anchor | None = None, anchors: Sequence[Anchor] = ()
) -> Iterator[ChainBreak]:
    """Yield every place where the stored chain does not hold.

    The chain starts at the genesis hash, or, after old entries were purged
    (:mod:`portal.retention`), at the hash of the last purged entry that an ``audit.purged``
    entry further on records. With an ``anchor`` (or several, ``anchors``), its entry must be
    there with its hash (unless it was older than everything and purged since). One pass over
    the log, however many anchors.
    """
    kept = {a.event_id: a for a in (*anchors, *([anchor] if anchor else []))}
    prev = GENESIS
    first = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id).limit(1)).first()
    if first is not None and first.prev_hash != GENESIS:
        anchors = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "audit.purged")
        ).all()
        if any(event.details.get("last_hash") == first.prev_hash for event in anchors):
            prev = first.prev_hash
    #: The log starts after entries that retention purged, as an ``audit.purged`` entry says.
    purged_start = prev != GENESIS
    first_id = first.id if first is not None else 0
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            break
        for event in rows:
            held = kept.get(event.id)
            if held is not None and event.hash != held.hash:
                yield ChainBreak(
                    event.id, f"{ANCHOR_BROKEN}: its hash is not the anchor's (rewritten since)"
                )
            if event.prev_hash != prev:
                yield ChainBreak(
                    event.id, "previous hash does not match (row removed or reordered)"
                )
            if _digest(event) != event.hash:
                yield ChainBreak(event.id, "content does not match its hash (row edited)")
            if event.seal is None:
                yield ChainBreak(
                    event.id, f"{UNSEALED}: written before sealing, or its seal removed"
                )
            elif not hmac.compare_digest(event.seal.encode(), seal(event.hash).encode()):
                yield ChainBreak(
                    event.id, "seal does not match (written or rewritten without the key)"
                )
            prev = event.hash
            last_id = event.id
    for held in kept.values():
        purged = purged_start and held.event_id < first_id
        if not purged and db.session.get(AuditEvent, held.event_id) is None:
            yield ChainBreak(
                held.event_id,
                f"{ANCHOR_BROKEN}: the entry is gone (the log was cut off or rows removed)",
            )


def mail_anchor() -> int | None:
    """E-mail the privacy contact the newest entry as an anchor, kept outside the database.

    Logged as ``audit.anchored``. Flushes; the caller commits and hands the returned outbox id
    to the queue (None: an empty log, or no privacy contact in the policy).
    """
    from .reminders import mail_privacy_contact

    anchor = head()
    if anchor is None:
        return None
    row = mail_privacy_contact("backoffice/email/audit_anchor", {"anchor": anchor})
    if row is None:
        return None
    record(
        "audit.anchored", actor_type="system",
        details={"through_id": anchor.event_id, "hash": anchor.hash},
    )  # fmt: skip
    return row.id


class SealRefused(Exception):
    """:func:`seal_unsealed` will not seal: the message says why."""


def seal_unsealed(anchor: Anchor | None, batch: int = 1000) -> int:
    """Seal the entries written before sealing existed, once, after upgrading; returns how
    many. Flushes; the caller commits.

    Only an unbroken run of unsealed entries at the start of the log is sealed, only once (an
    ``audit.sealed`` entry says it was done), and only when the chain holds with ``anchor``
    (the newest weekly anchor, kept outside the database): an unsealed entry after a sealed
    one, or a whole log without seals after sealing was done, had its seals removed, and
    sealing would hide what was rewritten. ``anchor`` may be None only for a log that was
    never anchored (no ``audit.anchored`` entry).

    :raises SealRefused: when any of that does not hold.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK)))

    def logged(action: str) -> bool:
        return (
            db.session.scalars(select(AuditEvent.id).where(AuditEvent.action == action)).first()
            is not None
        )

    if anchor is None and logged("audit.anchored"):
        raise SealRefused(
            "this log has been anchored: give the newest anchor from the weekly e-mail "
            "(--anchor NUMBER:HASH), so that a rewritten log is not sealed"
        )
    if logged("audit.sealed"):
        raise SealRefused(
            "this log was sealed before: entries without a seal now had their seals removed; "
            "investigate, do not seal"
        )
    sealed_seen = False
    unsealed: list[int] = []
    last_id = 0
    while rows := db.session.scalars(
        select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
    ).all():
        for event in rows:
            if event.seal is not None:
                sealed_seen = True
            elif sealed_seen:
                raise SealRefused(
                    f"entry {event.id} has no seal but comes after sealed entries: its seal "
                    "was removed or it was written without the key; investigate, do not seal"
                )
            else:
                unsealed.append(event.id)
            last_id = event.id
    broken = [b for b in verify_chain(batch, anchor=anchor) if not b.reason.startswith(UNSEALED)]
    if broken:
        raise SealRefused(f"the chain is broken at entry {broken[0].event_id}: {broken[0].reason}")
    for start in range(0, len(unsealed), batch):
        for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.id.in_(unsealed[start : start + batch]))
        ):
            event.seal = seal(event.hash)
    if unsealed:
        record("audit.sealed", actor_type="system", details={"entries": len(unsealed)})
    db.session.flush()
    return len(unsealed)
