"""Exports a customer made of their data: when, which format, which sources answered how.

A row is a receipt, never a copy: it holds no personal data and nothing of the file itself,
only what the customer (and staff) need to see that an export was made and whether every
source was in it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class DataExport(Base):
    """One download of the customer's data (GDPR art. 15(3) copy, art. 20 portability)."""

    __tablename__ = "data_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    #: ``json`` or ``csv`` (the ZIP of CSV files with its README and index.html).
    format: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The version of the export format (see ``portal/export/FORMAT.md``).
    format_version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: When the exported data was gathered from the sources.
    gathered_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    #: Per source: ``{"key", "status", "error_kind"}``; no personal data.
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    #: How many records the export holds.
    record_count: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Whether every source answered completely.
    complete: Mapped[bool] = mapped_column(Boolean, nullable=False)

    def __repr__(self) -> str:
        return f"DataExport(id={self.id}, format={self.format!r})"
