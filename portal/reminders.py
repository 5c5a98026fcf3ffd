"""Deadline reminders: the firm's privacy contact hears of open requests near their deadline.

:func:`remind_deadlines` looks for open requests whose legal deadline is at most
``reminder_days`` away (or has passed) and puts *one* e-mail to the privacy contact in the
outbox, listing them by reference, kind, status, deadline and days left. It names no customer
and shows nothing they asked: the contact opens the request in the back office for that.

It is idempotent per day (the firm's local day): every listed request gets
:attr:`~portal.models.DataRequest.reminded_on` set, and a second run on the same day sends
nothing unless a request became due since. The next day, requests that are still due are
listed again. The queue runs it daily (:func:`portal.tasks.remind_deadlines`);
``flask --app portal requests remind`` runs it now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .extensions import db
from .kinds import STAFF_KIND_NAMES
from .mail import queue_mail
from .models import DataRequest, OutboxMessage, RequestEvent
from .policy import current_policy
from .policy.schema import Policy
from .settings import Settings, firm_today

logger = logging.getLogger(__name__)

TEMPLATE = "reminders/email/deadline"

#: How each status is named in the reminder (only open ones are ever listed).
STATUS_LABELS = {
    "received": _l("Received"),
    "in_progress": _l("In progress"),
    "extended": _l("Deadline extended"),
    "waiting_for_customer": _l("Waiting for the customer"),
}


@dataclass(frozen=True)
class Reminder:
    """What :func:`remind_deadlines` did.

    :ivar outcome: ``sent`` (queued), ``nothing_due``, ``already_reminded`` or ``no_contact``.
    :ivar due: how many open requests are due (listed in the mail when one is sent).
    :ivar outbox_id: the queued e-mail, to hand to the queue after the commit.
    """

    outcome: str
    due: int
    outbox_id: int | None = None


def _settings() -> Settings:
    settings: Settings = current_app.extensions["portal.settings"]
    return settings


def privacy_contact_address(policy: Policy) -> str | None:
    """Where reminders go: the privacy contact's address, else the firm's contact address."""
    controller = policy.controller
    if controller.privacy_contact is not None:
        return str(controller.privacy_contact.email)
    if controller.contact_email:
        return str(controller.contact_email)
    return None


def mail_privacy_contact(template: str, context: dict[str, Any]) -> OutboxMessage | None:
    """Queue ``template`` to the privacy contact (:func:`privacy_contact_address`) in the
    firm's default language, with the policy and the portal's address in its context; None
    when the policy names nobody to write to. Flushes; the caller commits and enqueues."""
    policy = current_policy()
    to = privacy_contact_address(policy)
    if to is None:
        return None
    settings = _settings()
    return queue_mail(
        to,
        template,
        settings.default_locale,
        {
            **context,
            "policy": policy,
            "base_url": str(settings.base_url).rstrip("/"),
            "locale": settings.default_locale,
        },
    )


def _due_requests(today: date, within_days: int) -> list[DataRequest]:
    """Open requests due within ``within_days``, locked (PostgreSQL) so that two runs at the
    same moment do not both send: the second waits and then sees ``reminded_on``."""
    from .dsr.services import open_requests_due

    ids = [request.id for request in open_requests_due(today, within_days)]
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(DataRequest)
            .where(DataRequest.id.in_(ids))
            .order_by(DataRequest.deadline, DataRequest.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _item(request: DataRequest, today: date) -> dict[str, Any]:
    return {
        "reference": request.reference,
        "kind": STAFF_KIND_NAMES.get(request.kind, request.kind),
        "status": STATUS_LABELS.get(request.status, request.status),
        "deadline": request.deadline,
        "days_left": (request.deadline - today).days,
    }


def remind_deadlines(today: date | None = None) -> Reminder:
    """Queue today's reminder to the privacy contact, if any request is due and not yet
    reminded today. Adds to the current transaction and flushes; the caller commits and then
    hands :attr:`Reminder.outbox_id` to the queue (see :func:`run`)."""
    settings = _settings()
    today = today or firm_today()
    due = _due_requests(today, settings.reminder_days)
    if not due:
        return Reminder("nothing_due", 0)
    if all(request.reminded_on == today for request in due):
        return Reminder("already_reminded", len(due))
    row = mail_privacy_contact(
        TEMPLATE,
        {
            "items": [_item(request, today) for request in due],
            "overdue": sum(1 for request in due if request.deadline < today),
            "within_days": settings.reminder_days,
            "today": today,
        },
    )
    if row is None:
        logger.warning(
            "deadline reminder not sent: %s requests are due, but the policy names no privacy "
            "contact or contact e-mail address",
            len(due),
        )
        return Reminder("no_contact", len(due))
    for request in due:
        request.reminded_on = today
        request.events.append(
            RequestEvent(action="reminder", actor_type="system", visible_to_customer=False)
        )
    db.session.flush()
    logger.info("deadline reminder queued as mail %s: %s requests due", row.id, len(due))
    return Reminder("sent", len(due), row.id)


def run(today: date | None = None) -> Reminder:
    """:func:`remind_deadlines`, committed, and its e-mail handed to the queue."""
    from .tasks import enqueue_mail

    try:
        result = remind_deadlines(today)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if result.outbox_id is not None:
        enqueue_mail(result.outbox_id)
    return result
