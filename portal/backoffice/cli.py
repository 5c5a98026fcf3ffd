"""Back-office commands: ``flask --app portal audit export``, ``retention purge`` and
``sources check``. Registered by :func:`init_app` (called from :func:`portal.cli.init_app`)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

retention_cli = AppGroup("retention", help="The portal's own retention of its data.")
sources_cli = AppGroup("sources", help="The sources the portal gathers from.")

#: The steps of :func:`portal.retention.purge`, in its order, for the report.
PURGE_STEPS = (
    "login_challenges",
    "sessions",
    "sent_mail",
    "exports",
    "rejected_identifiers",
    "kept_records_due",
    "customers_forgotten",
    "requests_anonymised",
    "requests_deleted",
    "audit_entries",
    "staff_secrets",
    "staff_forgotten",
    "source_log",
    "files_record_ids",
)


@click.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="json", show_default=True
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only entries from this day on (YYYY-MM-DD, Dutch time).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file (default: standard output).",
)
def audit_export(fmt: str, since: datetime | None, output: Path | None) -> None:
    """Export the audit log (CSV, or JSON with the hashes to verify it again); logged too."""
    from ..audit import record as audit
    from ..extensions import db
    from ..models import utcnow
    from .audit_views import AuditCriteria, count_entries, csv_chunks, json_chunks, last_id

    criteria = AuditCriteria(date_from=since.date() if since else None)
    through_id = last_id()
    count = count_entries(criteria, through_id)
    audit(
        "audit.exported", actor_type="system",
        details={"format": fmt, "entries": count, "through_id": through_id, "via": "cli",
                 "filters": criteria.as_args()},
    )  # fmt: skip
    db.session.commit()
    now = utcnow()
    chunks = (
        csv_chunks(criteria, through_id) if fmt == "csv" else json_chunks(criteria, through_id, now)
    )
    if output is None:
        stream = sys.stdout.buffer
        for chunk in chunks:
            stream.write(chunk)
        stream.flush()
        return
    with output.open("wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
    click.echo(f"exported {count} audit entries to {output}", err=True)


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would go, and change nothing.")
def retention_purge(dry_run: bool) -> None:
    """Delete or anonymise what the policy's [portal_retention] periods no longer allow."""
    from ..extensions import db
    from ..retention import purge

    report = purge()
    for step in PURGE_STEPS:
        click.echo(f"{step}: {report.counts.get(step, 0)}")
    for step, count in sorted(report.counts.items()):
        if step not in PURGE_STEPS:
            click.echo(f"{step}: {count}")
    if dry_run:
        db.session.rollback()
        click.echo(f"dry run: {report.total} rows would be removed or anonymised; nothing changed")
    else:
        from ..tasks import enqueue_mail

        db.session.commit()
        for outbox_id in report.outbox:
            enqueue_mail(outbox_id)
        click.echo(f"{report.total} rows removed or anonymised")


@sources_cli.command("check")
def sources_check() -> None:
    """Ask every source whether it answers; print each state (exit status 1 if one is flagged)."""
    from .health import check_all

    items = check_all()
    for item in items:
        line = f"{item.key}: {item.state}"
        if item.failures_in_a_row:
            line += f", failed {item.failures_in_a_row} times in a row"
        if item.write_failures_in_a_row:
            line += f", writing failed {item.write_failures_in_a_row} times in a row"
        if item.recent_failures:
            kinds = ", ".join(
                f"{kind} ({count})" for kind, count in sorted(item.recent_failures.items())
            )
            line += f"; recent failures: {kinds}"
        last = item.last_success.isoformat() if item.last_success else "never"
        click.echo(f"{line}; last success: {last}")
    if any(item.flagged for item in items):
        sys.exit(1)


def init_app(app: Flask) -> None:
    """Add ``audit export`` to the ``audit`` group and the ``retention`` and ``sources`` groups."""
    from ..cli import audit_cli

    audit_cli.add_command(audit_export)
    app.cli.add_command(retention_cli)
    app.cli.add_command(sources_cli)
