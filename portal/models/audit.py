"""The append-only audit log: every entry chained to the previous one by a hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """One thing that happened, by whom, to what. Holds references, never personal data."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    #: ``customer``, ``staff`` or ``system``.
    actor_type: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(64))
    #: Dotted verb, e.g. ``auth.login``, ``request.submitted``, ``export.downloaded``.
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    #: Non-personal details: ids, formats, source keys, counts.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    #: HMAC-SHA256 of ``hash`` under the application's secret (:func:`portal.audit.seal`):
    #: without that key, nobody with only database access can write an entry that verifies.
    #: Empty only on entries written before sealing existed, until ``flask audit seal``.
    seal: Mapped[str | None] = mapped_column(String(64))
