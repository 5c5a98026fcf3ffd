"""The back-office commands (audit export, retention purge, sources check) and the nightly
purge task."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from portal import audit as audit_module
from portal.audit import GENESIS
from portal.backoffice import health
from portal.backoffice.tasks import purge_portal_data
from portal.extensions import db
from portal.models import AuditEvent, SourceEvent, utcnow
from portal.tasks import huey
from simulators import SimulatorGroup


def _digest(entry: dict[str, Any]) -> str:
    keys = ("created_at", "actor_type", "actor_id", "action", "subject_type", "subject_id",
            "details", "prev_hash")  # fmt: skip
    payload = json.dumps({k: entry[k] for k in keys}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _add(action: str, at: datetime | None = None) -> None:
    original = audit_module.utcnow
    if at is not None:
        audit_module.utcnow = lambda: at  # type: ignore[assignment]
    try:
        audit_module.record(action, actor_type="system", subject_type="request", subject_id=1)
    finally:
        audit_module.utcnow = original  # type: ignore[assignment]
    db.session.commit()


def test_audit_export_json_to_a_file_since_a_date(app: Flask, tmp_path: Path) -> None:
    _add("request.submitted", at=datetime(2026, 1, 10, 12, tzinfo=UTC))
    _add("request.closed", at=datetime(2026, 3, 10, 12, tzinfo=UTC))
    _add("request.reopened")
    out = tmp_path / "audit.json"
    result = app.test_cli_runner().invoke(
        args=["audit", "export", "--format", "json", "--since", "2026-02-01", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text("utf-8"))
    assert [e["action"] for e in document["entries"]] == ["request.closed", "request.reopened"]
    assert all(_digest(e) == e["hash"] for e in document["entries"])
    assert document["entries"][0]["prev_hash"] == _previous_hash(document["entries"][0]["id"])

    full = app.test_cli_runner().invoke(args=["audit", "export"])  # JSON to standard output
    entries = json.loads(full.stdout_bytes)["entries"]
    prev = GENESIS
    for entry in entries:
        assert entry["prev_hash"] == prev and _digest(entry) == entry["hash"]
        prev = entry["hash"]
    assert [e["action"] for e in entries][-1] == "audit.exported"  # the first export, logged
    exports = db.session.scalars(
        sa.select(AuditEvent.details).where(AuditEvent.action == "audit.exported")
    ).all()
    assert [d["via"] for d in exports] == ["cli", "cli"]
    assert exports[0]["filters"] == {"date_from": "2026-02-01"}
    assert exports[0]["entries"] == 2


def _previous_hash(event_id: int) -> str:
    return str(
        db.session.scalar(
            sa.select(AuditEvent.hash)
            .where(AuditEvent.id < event_id)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    )


def test_audit_export_csv_has_a_bom(app: Flask) -> None:
    _add("=cmd|' /C calc'!A0")
    result = app.test_cli_runner().invoke(args=["audit", "export", "--format", "csv"])
    assert result.exit_code == 0
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbf")
    assert ";'=cmd|' /C calc'!A0;" in result.stdout_bytes.decode("utf-8")


def test_retention_purge_dry_run_changes_nothing(app: Flask) -> None:
    old = utcnow() - timedelta(days=4000)
    for _ in range(3):
        db.session.add(SourceEvent(source="webshop", operation="gather", ok=True,
                                   outcome="ok", created_at=old))  # fmt: skip
    db.session.add(SourceEvent(source="webshop", operation="gather", ok=True, outcome="ok"))
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    dry = app.test_cli_runner().invoke(args=["retention", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "source_log: 3" in dry.output and "login_challenges: 0" in dry.output
    assert "nothing changed" in dry.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SourceEvent)) == 4
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before

    real = app.test_cli_runner().invoke(args=["retention", "purge"])
    assert real.exit_code == 0 and "source_log: 3" in real.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SourceEvent)) == 1
    assert db.session.scalars(
        sa.select(AuditEvent.details).where(AuditEvent.action == "retention.purged")
    ).one() == {"source_log": 3}


def test_sources_check_prints_each_state(
    app: Flask, simulators: SimulatorGroup, simulated_connectors: dict[str, object]
) -> None:
    app.extensions["portal.settings"] = app.extensions["portal.settings"].model_copy(
        update={"connectors": simulated_connectors}
    )
    simulators["mollie"].set_fault("expired_credentials")
    runner = app.test_cli_runner()
    for _ in range(health.FLAG_AFTER - 1):
        result = runner.invoke(args=["sources", "check"])
        assert result.exit_code == 0, result.output
    assert "payments: failing" in result.output
    result = runner.invoke(args=["sources", "check"])
    assert result.exit_code == 1
    states = ("ok", "failing", "flagged", "unknown")
    lines = dict(
        line.split(": ", 1)
        for line in result.output.splitlines()
        if ": " in line and line.split(": ", 1)[1].startswith(states)
    )
    assert set(lines) == {"webshop", "invoicing", "helpdesk", "customer-service", "payments",
                          "workshop"}  # fmt: skip
    assert lines["webshop"].startswith("ok;")
    assert lines["payments"].startswith(f"flagged, failed {health.FLAG_AFTER} times in a row")
    assert f"auth ({health.FLAG_AFTER})" in lines["payments"]


def test_the_nightly_purge_is_registered_and_purges(app: Flask) -> None:
    periodic = {task.name: task for task in huey._registry.periodic_tasks}  # noqa: SLF001
    task = periodic["purge_portal_data"]
    day = datetime(2026, 5, 4)
    runs = [
        day + timedelta(minutes=m)
        for m in range(24 * 60)
        if task.validate_datetime(day + timedelta(minutes=m))
    ]
    assert runs == [datetime(2026, 5, 4, 3, 30)]

    db.session.add(SourceEvent(source="webshop", operation="gather", ok=True, outcome="ok",
                               created_at=utcnow() - timedelta(days=4000)))  # fmt: skip
    db.session.commit()
    assert purge_portal_data.call_local() == {"source_log": 1}
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SourceEvent)) == 0
