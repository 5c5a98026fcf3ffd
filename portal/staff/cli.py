"""``flask --app portal staff ...``: create the first privacy officer, and look after staff
accounts from the command line (list, disable, enable, change the role, reset the second factor,
unlock)."""

from __future__ import annotations

import sys

import click
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask.cli import AppGroup

from ..extensions import db
from ..models import StaffMember, StaffRole, utcnow
from . import auth

staff_cli = AppGroup("staff", help="Staff accounts of the back office (/beheer).")

_PASSWORD_RULES = (
    f"at least {auth.MIN_PASSWORD_LENGTH} characters, not containing the part of the e-mail"
    " address before the @"
)


def _member(email: str) -> StaffMember:
    member = auth.find_by_email(email)
    if member is None:
        raise click.ClickException("no staff member with that e-mail address")
    return member


@staff_cli.command("create")
@click.option("--email", required=True, help="E-mail address: the sign-in name.")
@click.option("--name", required=True, help="Name shown in the back office.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in StaffRole]),
    default=StaffRole.OFFICER.value,
    show_default=True,
    help="officer: everything; agent: handles requests only.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking.",
)
def staff_create(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Create a staff member (the first privacy officer, for instance). They set up an
    authenticator app at their first sign-in at /beheer/inloggen."""
    # What can be wrong with the address or name is said before the password is asked.
    try:
        validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise click.ClickException("give a valid e-mail address, like name@firm.nl") from None
    if not name.strip():
        raise click.ClickException("give a name")
    if auth.find_by_email(email) is not None:
        raise click.ClickException("a staff member with that e-mail address exists")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            f"Password ({_PASSWORD_RULES})", hide_input=True, confirmation_prompt=True
        )
    problem = auth.password_problem(password, email)
    if problem is not None:
        raise click.ClickException(f"password refused: it needs {_PASSWORD_RULES}")
    try:
        member = auth.create_staff(email, name, role, password)
    except auth.StaffExists:
        raise click.ClickException("a staff member with that e-mail address exists") from None
    db.session.commit()
    click.echo(
        f"staff member {member.id} created ({member.role}); sign in at /beheer/inloggen and "
        "set up an authenticator app"
    )


@staff_cli.command("list")
def staff_list() -> None:
    """List every staff member."""
    now = utcnow()
    members = (
        db.session.query(StaffMember)
        .filter(StaffMember.forgotten_at.is_(None))
        .order_by(StaffMember.id)
        .all()
    )
    if not members:
        click.echo("no staff members; create one with: flask --app portal staff create")
        return
    for m in members:
        flags = [
            "active" if m.active else "disabled",
            "2fa" if m.totp_enrolled else "no-2fa",
        ]
        if m.is_locked(now):
            flags.append("locked")
        if m.sign_in_erased:
            flags.append("sign-in-erased")
        elif m.must_change_password:
            flags.append("one-time-password")
        click.echo(f"{m.id}\t{m.email}\t{m.display_name}\t{m.role}\t{','.join(flags)}")


@staff_cli.command("disable")
@click.argument("email")
@click.option(
    "--reassign-to",
    metavar="EMAIL",
    default=None,
    help="Give EMAIL's open requests to this active staff member (default: to nobody).",
)
def staff_disable(email: str, reassign_to: str | None) -> None:
    """Stop EMAIL from signing in; their sessions end. Their open requests are assigned to
    nobody, or to --reassign-to, in the same step."""
    from ..backoffice import queue
    from ..dsr.services import RequestError

    member = _member(email)
    to = _member(reassign_to) if reassign_to is not None else None
    if to is not None and (to.id == member.id or not to.active):
        raise click.ClickException("--reassign-to must be another active staff member")
    try:
        auth.set_active(member, False)
        moved = queue.hand_over(member, to, staff_id=None)
    except auth.LastOfficer:
        db.session.rollback()
        raise click.ClickException(
            "this is the last active privacy officer; make someone else an officer first"
        ) from None
    except RequestError:
        db.session.rollback()
        raise click.ClickException(
            "one of their requests was changed at the same moment; nothing done, try again"
        ) from None
    db.session.commit()
    click.echo(f"staff member {member.id} disabled")
    if moved:
        whom = f"staff member {to.id}" if to is not None else "nobody"
        click.echo(f"{len(moved)} open request(s) now assigned to {whom}")


@staff_cli.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice([r.value for r in StaffRole]))
def staff_role(email: str, role: str) -> None:
    """Make EMAIL a privacy officer or an agent. The last active officer cannot be demoted."""
    member = _member(email)
    try:
        changed = auth.set_role(member, role)
    except auth.LastOfficer:
        raise click.ClickException(
            "this is the last active privacy officer; make someone else an officer first"
        ) from None
    db.session.commit()
    if changed:
        click.echo(f"staff member {member.id} is now {member.role}")
    else:
        click.echo(f"staff member {member.id} already is {member.role}; nothing changed")


@staff_cli.command("enable")
@click.argument("email")
def staff_enable(email: str) -> None:
    """Let a disabled staff member EMAIL sign in again."""
    member = _member(email)
    if member.forgotten_at is not None:
        raise click.ClickException("this staff member was forgotten and cannot be enabled")
    auth.set_active(member, True)
    password = None
    if member.sign_in_erased:
        password = auth.new_one_time_password()
        auth.set_one_time_password(member, password, None)
    db.session.commit()
    click.echo(f"staff member {member.id} enabled")
    if password is not None:
        click.echo(
            "their password and authenticator app were erased while they were disabled; they"
            f" sign in with this one-time password and set up an authenticator app: {password}"
        )


@staff_cli.command("reset-2fa")
@click.argument("email")
def staff_reset_2fa(email: str) -> None:
    """Forget EMAIL's authenticator app, recovery codes and passkeys; they set it up again."""
    member = _member(email)
    auth.reset_second_factor(member)
    db.session.commit()
    click.echo(f"staff member {member.id}: second factor reset; they enrol at the next sign-in")


@staff_cli.command("unlock")
@click.argument("email")
def staff_unlock(email: str) -> None:
    """Lift EMAIL's lock-out after too many failed attempts."""
    member = _member(email)
    auth.unlock(member)
    db.session.commit()
    click.echo(f"staff member {member.id} unlocked")


@staff_cli.command("demo-code")
@click.argument("email", required=False)
def staff_demo_code(email: str | None) -> None:
    """Print the current sign-in code of the demo privacy officer (demo installations only).

    Refuses for any other account (EMAIL, if given, must be the demo officer's)."""
    from .demo import DEMO_STAFF_EMAIL, DemoRefused, demo_code

    if email is not None and auth.normalise_email(email) != DEMO_STAFF_EMAIL:
        raise click.ClickException("demo-code prints codes of the demo staff account only")
    settings = current_app.extensions["portal.settings"]
    try:
        code, seconds = demo_code(settings.environment)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(code)
    click.echo(f"(valid for about {seconds} more seconds; each code works once)", err=True)
