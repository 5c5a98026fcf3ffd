"""What was gathered for a customer: held encrypted, briefly, never as a copy of the sources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class GatheredSnapshot(Base):
    """One gathering's result for one customer, encrypted, with an expiry.

    ``payload_encrypted`` holds the records (personal data) encrypted with the data keys;
    ``summary`` holds only per-source outcomes (status, error kind, counts), which staff pages
    may read.
    """

    __tablename__ = "gathered_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    summary: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    payload_encrypted: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
