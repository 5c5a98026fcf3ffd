"""Phone and customer numbers that customers added with a proof which no checker could decide
(:class:`~portal.auth.services.StaffReview`): the list staff check, oldest first, and the
customer's e-mail about staff's decision.

The decisions themselves are :func:`~portal.auth.services.approve_identifier` and
:func:`~portal.auth.services.reject_identifier`, the same verification path as a proof
checker's. Everything here flushes at most; the view commits, then hands the mail to the queue.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .. import crypto
from ..audit import record as audit
from ..auth.services import identifier_value
from ..dsr.services import customer_email
from ..extensions import db
from ..mail import queue_mail
from ..models import AuditEvent, CustomerIdentifier, utcnow
from ..paging import Page
from ..policy import current_policy

PAGE_SIZE = 25

#: The kinds staff check (an e-mail address is verified by its code, never by staff).
KIND_NAMES = {
    "phone": _l("Phone number"),
    "customer_number": _l("Customer number"),
}
PROOF_NAMES = {
    "invoice_number": _l("Invoice number"),
}


@dataclass(frozen=True)
class PendingIdentifier:
    """One row of the list: the identifier, its value and proof (decrypted) and the customer's
    verified e-mail addresses."""

    ident: CustomerIdentifier
    value: str
    proof: str | None
    emails: tuple[str, ...]


def pending_count() -> int:
    """How many numbers wait for staff (the dashboard's count)."""
    query = select(func.count(CustomerIdentifier.id)).where(
        CustomerIdentifier.status == "pending", CustomerIdentifier.kind.in_(list(KIND_NAMES))
    )
    return int(db.session.scalar(query) or 0)


def pending_page(asked: int | None, *, staff_id: int) -> tuple[list[PendingIdentifier], Page]:
    """One page of the numbers to check, the oldest first, decrypted for staff.

    Showing them is audited as ``identifiers.viewed`` (their ids only). Flushes; the view
    commits.
    """
    page = Page.of(pending_count(), asked, PAGE_SIZE)
    idents = list(
        db.session.scalars(
            select(CustomerIdentifier)
            .where(
                CustomerIdentifier.status == "pending",
                CustomerIdentifier.kind.in_(list(KIND_NAMES)),
            )
            .order_by(CustomerIdentifier.created_at, CustomerIdentifier.id)
            .offset(page.offset)
            .limit(PAGE_SIZE)
        )
    )
    emails: dict[int, list[str]] = defaultdict(list)
    if idents:
        for email in db.session.scalars(
            select(CustomerIdentifier)
            .where(
                CustomerIdentifier.customer_id.in_({i.customer_id for i in idents}),
                CustomerIdentifier.kind == "email",
                CustomerIdentifier.status == "verified",
            )
            .order_by(CustomerIdentifier.id)
        ):
            emails[email.customer_id].append(identifier_value(email))
        audit(
            "identifiers.viewed", actor_type="staff", actor_id=staff_id,
            details={"identifiers": [i.id for i in idents], "page": page.number},
        )  # fmt: skip
        db.session.flush()
    rows = [
        PendingIdentifier(
            ident=i,
            value=identifier_value(i),
            proof=crypto.decrypt_text(i.proof_encrypted) if i.proof_encrypted else None,
            emails=tuple(emails[i.customer_id]),
        )
        for i in idents
    ]
    return rows, page


def tell_customer(ident: CustomerIdentifier, approved: bool, reason: str = "") -> list[int]:
    """Queue the e-mail about staff's decision to the customer's first verified address, in
    the language they added the number in. Flushes; returns outbox ids (none without an
    address that fits a mail header)."""
    to = customer_email(ident.customer)
    if to is None:
        return []
    settings = current_app.extensions["portal.settings"]
    template = "auth/email/identifier_approved" if approved else "auth/email/identifier_rejected"
    try:
        row = queue_mail(
            to,
            template,
            ident.locale,
            {
                "kind": ident.kind,
                "added": ident.created_at,
                "reason": reason.strip(),
                "account_url": settings.public_url(url_for("auth.account")),
                "add_url": settings.public_url(url_for("auth.add_identifier")),
                "policy": current_policy(),
            },
        )
    except ValueError:
        return []
    return [row.id]


#: How often the privacy contact is told at most that numbers wait to be checked.
TELL_STAFF_EVERY = timedelta(days=1)


def tell_staff(now: datetime | None = None) -> int | None:
    """Tell the privacy contact that numbers wait to be checked, when a customer added one:
    at most once a day, naming no customer and no number (they are in the back office).
    Returns the outbox id, or None when told within the day, nothing waits or the policy
    names nobody. Flushes; the caller commits, then hands the mail to the queue."""
    from ..reminders import mail_privacy_contact

    now = now or utcnow()
    waiting = pending_count()
    if not waiting:
        return None
    last = db.session.scalar(
        select(func.max(AuditEvent.created_at)).where(AuditEvent.action == "identifiers.staff_told")
    )
    if last is not None and now - last < TELL_STAFF_EVERY:
        return None
    row = mail_privacy_contact("backoffice/email/identifiers_waiting", {"waiting": waiting})
    if row is None:
        return None
    audit("identifiers.staff_told", actor_type="system", details={"waiting": waiting})
    db.session.flush()
    return row.id
