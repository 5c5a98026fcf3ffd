"""Exporting a customer's data: which snapshot, the export's parts, and the receipt.

Each download is recorded (:class:`~portal.models.DataExport`: when, which format, which
sources answered how; no personal data, no copy of the file) and written to the audit log.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import select

from .. import audit
from ..auth.services import identifier_value
from ..extensions import db
from ..gathering import Snapshot
from ..models import Customer, DataExport
from ..policy import Policy
from ..settings import firm_zone
from .document import ExportDocument, build_document
from .schema import FORMAT_VERSION

#: The formats a customer can download.
FORMATS = ("json", "csv")
#: Legal forms left out of the firm's name in a file name.
_LEGAL_FORMS = re.compile(r"[\s,]+(b\.?\s?v\.?|n\.?\s?v\.?|v\.?o\.?f\.?|c\.?v\.?)\s*$", re.I)


def verified_identifiers(customer: Customer) -> list[dict[str, str]]:
    """The customer's verified identifiers as ``{"kind", "value"}``, decrypted for the export."""
    return [
        {"kind": ident.kind, "value": identifier_value(ident)}
        for ident in customer.identifiers
        if ident.is_verified
    ]


def document_for(
    customer: Customer,
    snapshot: Snapshot,
    policy: Policy,
    *,
    locale: str,
    schema_url: str,
    now: datetime,
) -> ExportDocument:
    """Everything the export holds, in the customer's language (call inside a request)."""
    return build_document(
        policy=policy,
        locale=locale,
        exported_at=now,
        gathered_at=snapshot.gathered_at,
        schema_url=schema_url,
        identifiers=verified_identifiers(customer),
        outcomes=snapshot.sources,
        records=snapshot.records,
    )


def record_export(customer: Customer, snapshot: Snapshot, fmt: str, now: datetime) -> DataExport:
    """Write the receipt of an export and its audit entry. Flushes; the caller commits.

    :raises ValueError: for an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    row = DataExport(
        customer_id=customer.id,
        created_at=now,
        format=fmt,
        format_version=FORMAT_VERSION,
        gathered_at=snapshot.gathered_at,
        sources=[
            {"key": s.key, "status": s.status, "error_kind": s.error_kind} for s in snapshot.sources
        ],
        record_count=len(snapshot.records),
        complete=snapshot.complete,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "export.downloaded",
        actor_type="customer",
        actor_id=customer.id,
        subject_type="export",
        subject_id=row.id,
        details={
            "export_id": row.id,
            "format": fmt,
            "format_version": FORMAT_VERSION,
            "sources": {s.key: s.status for s in snapshot.sources},
            "records": len(snapshot.records),
        },
    )
    return row


def recent_exports(customer: Customer, limit: int = 10) -> list[DataExport]:
    """The customer's latest exports, newest first (for a "your exports" list)."""
    return list(
        db.session.scalars(
            select(DataExport)
            .where(DataExport.customer_id == customer.id)
            .order_by(DataExport.created_at.desc(), DataExport.id.desc())
            .limit(limit)
        )
    )


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by hyphens: ``IT Diensten`` -> ``it-diensten``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "export"


def filename(policy: Policy, now: datetime, extension: str, locale: str) -> str:
    """E.g. ``voorbeeld-it-diensten-gegevens-2026-11-24.json`` (the firm's day, legal form off)."""
    day = now.astimezone(firm_zone()).date().isoformat()
    firm = slugify(_LEGAL_FORMS.sub("", policy.controller.name))
    word = "data" if locale.startswith("en") else "gegevens"
    return f"{firm}-{word}-{day}.{extension}"
