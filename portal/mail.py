"""Outgoing e-mail: rendered, recorded in the outbox, then sent by the task queue.

:func:`queue_mail` renders a message (plain text and HTML, in the customer's language) and adds
an encrypted :class:`~portal.models.OutboxMessage` to the current transaction. After the caller
commits, :func:`portal.tasks.enqueue_mail` hands the row's *id* to the queue, whose task calls
:func:`deliver`. A failure is recorded with a time for the next attempt; the periodic sweeper
(:func:`sweep`) retries with exponential backoff, so a mail server that is down delays a
message but never loses it, and never shows the customer an error. After :data:`MAX_ATTEMPTS`
a message is ``failed``: that is logged as an error, counted by :func:`queue_status`
(``flask --app portal mail status``) and kept, encrypted, until :func:`retry_failed`
(``flask --app portal mail retry-failed``) puts it back in line.

Transports: ``file`` writes ``.eml`` files into ``instance/<mail_outbox>/`` and shows the
subject and body in the terminal (the demo's way in); ``smtp`` sends with STARTTLS or TLS.
"""

from __future__ import annotations

import random
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import click
from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import func, select, update

from . import crypto
from .extensions import db
from .models import OutboxMessage, utcnow
from .settings import Settings

#: After this many failed attempts a message is marked ``failed`` (about a day of retries).
MAX_ATTEMPTS = 12
#: Backoff: 30 s, 1 min, 2 min ... capped at one hour, with up to 20 % jitter.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)

ERRORS_TO_RETRY = (OSError, smtplib.SMTPException)


def _settings() -> Settings:
    settings: Settings = current_app.extensions["portal.settings"]
    return settings


def render_message(to: str, template: str, locale: str, context: dict[str, Any]) -> EmailMessage:
    """Render ``templates/<template>.txt`` and ``.html`` (subject from the ``subject`` block).

    The text template's first line is the subject, followed by an empty line and the body.
    """
    with force_locale(locale):
        text = render_template(f"{template}.txt", **context)
        html = render_template(f"{template}.html", **context)
    subject, _, body = text.partition("\n\n")
    settings = _settings()
    message = EmailMessage()
    message["Subject"] = subject.strip()
    message["From"] = str(settings.mail_from)
    # One mailbox and nothing else: a list of addresses, a name or an encoded word would
    # make the header send the mail (a sign-in code) to more than the address meant.
    message["To"] = Address(addr_spec=to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=str(settings.mail_from).rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body.strip() + "\n")
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = locale  # after the body: set_content drops Content-* headers
    return message


def queue_mail(to: str, template: str, locale: str, context: dict[str, Any]) -> OutboxMessage:
    """Render a message and add it to the outbox in the current transaction (flushed).

    The caller commits, then calls :func:`portal.tasks.enqueue_mail` with the row's id.
    """
    message = render_message(to, template, locale, context)
    row = OutboxMessage(
        template=template.replace("/", ".")[:64],
        message_encrypted=crypto.encrypt(message.as_bytes(policy=SMTP_POLICY)),
        status="pending",
        next_attempt_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    return row


def _send_file(raw: bytes, row: OutboxMessage) -> None:
    settings = _settings()
    folder = Path(current_app.instance_path) / settings.mail_outbox
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{utcnow():%Y%m%d-%H%M%S}-{row.id}.eml"
    path.write_bytes(raw)
    parsed = BytesParser(policy=SMTP_POLICY).parsebytes(raw)
    text_part = parsed.get_body(preferencelist=("plain",))
    body = text_part.get_content() if text_part is not None else ""  # type: ignore[attr-defined]
    # The demo's way in: the terminal shows the mail (not the logs, which are redacted).
    lines = [f"--- e-mail written to {path}", f"    Subject: {parsed['Subject']}"]
    lines += [f"    {line}" for line in body.strip().splitlines()]
    click.echo("\n".join(lines), err=True)


def _send_smtp(raw: bytes) -> None:
    settings = _settings()
    parsed = BytesParser(policy=SMTP_POLICY).parsebytes(raw)
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_username and settings.smtp_password is not None:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(parsed)


#: How long a worker owns a message it claimed; if it dies while sending, the sweeper tries
#: again after this (the mail may then go out twice, never zero times).
CLAIM_LEASE = timedelta(minutes=5)


def _claim(outbox_id: int) -> bool:
    """Take a due message for this worker, atomically, on every database.

    One conditional UPDATE moves ``next_attempt_at`` past the lease and counts the attempt, and
    is committed before sending: a second worker (the task and the sweeper, or two sweepers)
    finds nothing due and leaves it alone. ``SELECT ... FOR UPDATE`` alone would not do: SQLite
    ignores it.
    """
    now = utcnow()
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + CLAIM_LEASE, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def deliver(outbox_id: int) -> bool:
    """Send one outbox message if it is due and no other worker has it; record the outcome.

    :returns: whether the message is sent (now or before). A failure never raises: it is
        recorded, with the next attempt time, for the sweeper.
    """
    if not _claim(outbox_id):
        status = db.session.scalar(
            select(OutboxMessage.status).where(OutboxMessage.id == outbox_id)
        )
        db.session.rollback()
        return status == "sent"
    row = db.session.get(OutboxMessage, outbox_id)
    if row is None or row.message_encrypted is None:
        db.session.rollback()
        return False
    try:
        raw = crypto.decrypt(row.message_encrypted)
        if _settings().mail_transport == "smtp":
            _send_smtp(raw)
        else:
            _send_file(raw, row)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
        _record_failure(row, exc)
        return False
    row.status = "sent"
    row.sent_at = utcnow()
    row.message_encrypted = None  # the code in it is no one's business any more
    row.last_error = None
    db.session.commit()
    current_app.logger.info("mail %s sent (%s)", row.id, row.template)
    return True


#: Messages whose content is worthless once they could not be sent in time: a sign-in code or
#: link, or a code to confirm an address, expires within minutes. When one is given up, its
#: content is erased at once rather than kept for :func:`retry_failed`.
EXPIRING_TEMPLATES = frozenset({"auth.email.login_code", "auth.email.verify_email"})


def _record_failure(row: OutboxMessage, exc: Exception) -> None:
    """Record a failed attempt and when to try again; give up after :data:`MAX_ATTEMPTS`.

    Only the error's class is stored and logged: its message may name the recipient.
    """
    row.last_error = type(exc).__name__[:64]
    row.next_attempt_at = utcnow() + backoff(row.attempts)
    expected = isinstance(exc, ERRORS_TO_RETRY)
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
        if row.template in EXPIRING_TEMPLATES:
            row.message_encrypted = None  # its code has expired: never worth sending later
        current_app.logger.error(
            "mail %s (%s) failed after %s attempts, last error %s; kept for "
            "'flask --app portal mail retry-failed'",
            row.id, row.template, row.attempts, row.last_error,
        )  # fmt: skip
    elif expected:
        current_app.logger.warning(
            "mail %s not sent (attempt %s): %s", row.id, row.attempts, row.last_error
        )
    else:
        current_app.logger.error(
            "mail %s not sent (attempt %s): unexpected %s", row.id, row.attempts, row.last_error
        )
    db.session.commit()


@dataclass(frozen=True)
class QueueStatus:
    """Counts of the outbox for the back office: nothing here is personal data."""

    #: Waiting to be sent (first try or a retry).
    pending: int
    #: Of those, due now: more than a few means no worker is running.
    due: int
    #: Given up after :data:`MAX_ATTEMPTS`; need :func:`retry_failed` once the cause is fixed.
    failed: int


def queue_status() -> QueueStatus:
    """How many messages are pending, due and failed."""
    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    due = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= utcnow())
    )
    return QueueStatus(
        pending=int(counts.get("pending", 0)),
        due=int(due or 0),
        failed=int(counts.get("failed", 0)),
    )


def retry_failed() -> list[int]:
    """Put every failed message back in line, with a fresh count of attempts; flushes.

    The caller commits and hands the ids to the queue (or leaves them to the sweeper).
    """
    ids = list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "failed", OutboxMessage.message_encrypted.is_not(None))
            .order_by(OutboxMessage.id)
        )
    )
    if ids:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(status="pending", attempts=0, next_attempt_at=utcnow()),
            execution_options={"synchronize_session": "fetch"},
        )
        db.session.flush()
    return ids


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: exponential, capped, with jitter."""
    delay = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)
    return delay * (1 + random.random() * 0.2)  # noqa: S311 - jitter, not security


def due_ids(limit: int = 100) -> list[int]:
    """Ids of pending messages whose next attempt is due, oldest first."""
    return list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= utcnow())
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def sweep(limit: int = 100) -> int:
    """Try every due message once. Returns how many were sent."""
    ids = due_ids(limit)
    db.session.rollback()
    return sum(1 for outbox_id in ids if deliver(outbox_id))
