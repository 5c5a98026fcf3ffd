"""Command-line tasks: ``flask --app portal <group> <command>``. Start-up never does these."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import migrate
from .i18n import compile_catalogues

if TYPE_CHECKING:
    from .audit import Anchor

db_cli = AppGroup("db", help="Database migrations.")
policy_cli = AppGroup("policy", help="The firm's privacy policy file.")
demo_cli = AppGroup("demo", help="The demo installation.")
i18n_cli = AppGroup("i18n", help="Translations.")
audit_cli = AppGroup("audit", help="The audit log.")
keys_cli = AppGroup("keys", help="The data keys that encrypt personal data at rest.")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt everything stored under the newest data key (the first in data_keys)."""
    from .crypto import rotate_all
    from .extensions import db

    changed = rotate_all()
    db.session.commit()
    click.echo(f"re-encrypted {changed} values under the newest data key")


@keys_cli.command("new")
def keys_new() -> None:
    """Print a fresh data key to put in front of data_keys."""
    from .crypto import new_data_key

    click.echo(new_data_key())


mail_cli = AppGroup("mail", help="Outgoing e-mail.")

#: The demo customer whose data the vendor simulators hold (documented in README.md).
DEMO_CUSTOMER_EMAIL = "sanne.devries@example.nl"


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest). Safe to run again."""
    migrate.upgrade(current_app._get_current_object(), revision)  # type: ignore[attr-defined]
    click.echo("database is up to date")


@db_cli.command("check")
def db_check() -> None:
    """Fail if the models need a migration that does not exist yet."""
    migrate.check(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo("models and migrations agree")


def run_policy_check(path: Path) -> int:
    """Print the findings for one policy file; the exit status is 1 if any is an error."""
    from .policy import PolicyError
    from .policy.check import check_file

    try:
        findings = check_file(path)
    except PolicyError as exc:
        click.echo(str(exc), err=True)
        return 2
    if not findings:
        click.echo(f"{path}: no findings")
        return 0
    for finding in findings:
        click.echo(f"{path}: {finding.severity}: {finding.key}: {finding.message} [{finding.code}]")
    errors = sum(1 for f in findings if f.severity == "error")
    click.echo(f"{len(findings)} findings, {errors} errors")
    return 1 if errors else 0


@policy_cli.command("check")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
def policy_check(file: Path | None) -> None:
    """Report what GDPR art. 13/14 requires that FILE (default: the instance policy) lacks."""
    if file is None:
        settings = current_app.extensions["portal.settings"]
        file = Path(current_app.instance_path) / settings.policy_file
    sys.exit(run_policy_check(file))


@demo_cli.command("load")
def demo_load() -> None:
    """Load the demo data (demo files, and the demo accounts once they exist). Idempotent."""
    from . import PROJECT_ROOT

    instance = Path(current_app.instance_path)
    demo_source = PROJECT_ROOT / "instance" / "demo"
    if demo_source.is_dir() and demo_source.resolve() != (instance / "demo").resolve():
        shutil.copytree(demo_source, instance / "demo", dirs_exist_ok=True)
    from .auth.demo import ensure_demo_customer

    created = ensure_demo_customer(DEMO_CUSTOMER_EMAIL)
    click.echo(
        f"demo customer {'created' if created else 'present'}: sign in as {DEMO_CUSTOMER_EMAIL}"
    )
    from .staff.demo import DEMO_STAFF_EMAIL, DemoRefused, ensure_demo_staff

    try:
        staff_created = ensure_demo_staff(current_app.extensions["portal.settings"].environment)
    except DemoRefused as exc:
        click.echo(f"no demo staff account: {exc}")
    else:
        click.echo(
            f"demo staff account {'created' if staff_created else 'present'}: sign in at "
            f"/beheer/inloggen as {DEMO_STAFF_EMAIL} (see README.md)"
        )
    click.echo("demo data loaded")


@i18n_cli.command("compile")
def i18n_compile() -> None:
    """Compile the translation catalogues that changed."""
    for path in compile_catalogues():
        click.echo(f"compiled {path}")


def _anchors(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
    """An ``--anchor`` option's text read as an :class:`~portal.audit.Anchor` (or several)."""
    from .audit import Anchor

    try:
        if isinstance(value, tuple):
            return tuple(Anchor.parse(text) for text in value)
        return Anchor.parse(value) if value else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@audit_cli.command("verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    callback=_anchors,
    metavar="NUMBER:HASH",
    help="An entry's number and hash kept outside the database (the weekly e-mail): it must "
    "still be in the log with that hash. May be given more than once.",
)
def audit_verify(anchors: tuple[Anchor, ...]) -> None:
    """Prove the audit log's hash chain is intact; exit status 1 if it is not."""
    from .audit import UNSEALED, head, verify_chain

    breaks = list(verify_chain(anchors=anchors))
    for brk in breaks:
        click.echo(f"audit entry {brk.event_id}: {brk.reason}", err=True)
    if any(brk.reason.startswith(UNSEALED) for brk in breaks):
        click.echo(
            "an installation upgraded from before seals: seal its old entries once with "
            "'audit seal --anchor NUMBER:HASH' (the newest weekly anchor); otherwise the seals "
            "were removed: investigate",
            err=True,
        )
    if breaks:
        sys.exit(1)
    newest = head()
    click.echo("audit log chain intact" + (f"; {len(anchors)} anchor(s) hold" if anchors else ""))
    if newest is not None:
        click.echo(f"newest entry: {newest} (keep it to check against later: --anchor {newest})")


@audit_cli.command("seal")
@click.option(
    "--anchor",
    callback=_anchors,
    metavar="NUMBER:HASH",
    help="The newest anchor from the weekly e-mail: the log must still hold with it "
    "(required once the log has been anchored).",
)
def audit_seal(anchor: Anchor | None) -> None:
    """Seal the entries written before sealing existed (once, after upgrading)."""
    from .audit import SealRefused, seal_unsealed
    from .extensions import db

    try:
        count = seal_unsealed(anchor)
    except SealRefused as exc:
        db.session.rollback()
        click.echo(f"not sealed: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"sealed {count} audit entries" if count else "every audit entry is sealed")


@mail_cli.command("sweep")
def mail_sweep() -> None:
    """Send every outbox message that is due now (what the queue's sweeper does every minute)."""
    from .mail import sweep

    click.echo(f"{sweep()} messages sent")


@mail_cli.command("status")
def mail_status() -> None:
    """Count the outbox: pending, due now, and failed (exit status 1 if any failed)."""
    from .mail import queue_status

    status = queue_status()
    click.echo(f"pending: {status.pending} (due now: {status.due})")
    click.echo(f"failed: {status.failed}")
    if status.failed:
        click.echo("fix the cause (see the log), then: flask --app portal mail retry-failed")
        sys.exit(1)


@mail_cli.command("retry-failed")
def mail_retry_failed() -> None:
    """Put every failed message back in line and hand it to the queue."""
    from .extensions import db
    from .mail import retry_failed
    from .tasks import enqueue_mail

    ids = retry_failed()
    db.session.commit()
    for outbox_id in ids:
        enqueue_mail(outbox_id)
    click.echo(f"{len(ids)} failed messages queued again")


requests_cli = AppGroup("requests", help="Data subject requests.")


@requests_cli.command("remind")
def requests_remind() -> None:
    """E-mail the privacy contact the open requests near their deadline now (once a day)."""
    from .reminders import run

    result = run()
    messages = {
        "sent": f"reminder queued for the privacy contact: {result.due} requests due",
        "nothing_due": "no open request is near its deadline",
        "already_reminded": f"already reminded today of these {result.due} requests",
        "no_contact": "the policy names no privacy contact or contact e-mail: nothing sent",
    }
    click.echo(messages[result.outcome])
    if result.outcome == "no_contact":
        sys.exit(1)


@requests_cli.command("index-writers")
def requests_index_writers() -> None:
    """Once after upgrading: make requests entered for letter writers before December 2026
    findable by their writer's e-mail address, so they are linked when the writer signs in."""
    from .dsr.services import index_entered_requests
    from .extensions import db

    changed = index_entered_requests()
    db.session.commit()
    click.echo(f"{changed} requests can now be linked when their writer signs in")


def init_app(app: Flask) -> None:
    """Register the command groups."""
    for group in (db_cli, policy_cli, demo_cli, i18n_cli, audit_cli, mail_cli, keys_cli):
        app.cli.add_command(group)
    from .backoffice.cli import init_app as init_backoffice_commands
    from .staff.cli import staff_cli

    app.cli.add_command(staff_cli)
    init_backoffice_commands(app)
    app.cli.add_command(requests_cli)
