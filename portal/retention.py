"""The portal's own retention: it keeps its data only as long as the policy says.

:func:`purge` runs every night from the task queue (and on demand with
``flask --app portal retention purge``). The periods come from the policy's
``[portal_retention]`` section (:class:`portal.policy.schema.PortalRetention`); each runs from
the moment the data stopped being needed:

============================  ==================================================================
sign-in codes and links       deleted ``login_challenges`` after they expired
sessions                      deleted ``sessions`` after they ended or expired
sent e-mail                   the row deleted ``sent_mail`` after it was sent (content is
                              erased at sending already); failed mail stays until handled
export receipts               deleted ``exports`` after the download
finished requests             anonymised ``finished_requests`` after closing: what was asked,
                              who wrote, the messages and the link to the customer go; kind,
                              dates and outcome stay as proof the request was handled; the
                              anonymised row is deleted after ``audit_log``
kept records                  a record an erasure had to keep (by law, until a date) becomes
                              a step for staff when that date has passed: delete it at its
                              source, as the customer was told; its reference is kept (even in
                              an anonymised request) until that step is confirmed
erased customers              forgotten once their erasure of everything is done and nothing
                              else of theirs is open (the back office does it at closing)
inactive customers            forgotten after ``inactive_customers`` without a sign-in, unless
                              a request of theirs is still open: identifiers, sessions, held
                              data and export receipts are deleted with them
source answers                deleted after ``source_log`` (no personal data anyway)
audit entries                 deleted after ``audit_log``; a ``audit.purged`` entry records the
                              hash of the last deleted entry, so the chain stays verifiable
============================  ==================================================================
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update

from .audit import record as audit
from .extensions import db
from .models import (
    ActionKind,
    ActionStatus,
    AuditEvent,
    Customer,
    CustomerIdentifier,
    CustomerSession,
    DataExport,
    DataRequest,
    GatheredSnapshot,
    LoginChallenge,
    OutboxMessage,
    RequestAction,
    RequestEvent,
    RequestStatus,
    SourceEvent,
    StaffSession,
    utcnow,
)
from .policy import current_policy
from .policy.schema import PortalRetention
from .staff import auth as staff_auth

log = logging.getLogger(__name__)

FINAL_STATUSES = [status.value for status in RequestStatus if status.final]


@dataclass
class PurgeReport:
    """How many rows each step removed or anonymised (no personal data)."""

    counts: dict[str, int] = field(default_factory=dict)
    #: Messages queued to the privacy contact: the caller hands them to the queue after commit.
    outbox: list[int] = field(default_factory=list)

    def add(self, what: str, count: int) -> None:
        if count:
            self.counts[what] = self.counts.get(what, 0) + count

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _rowcount(result: Any) -> int:
    count = getattr(result, "rowcount", 0)
    return int(count) if count and count > 0 else 0


def purge(now: datetime | None = None, rules: PortalRetention | None = None) -> PurgeReport:
    """Apply every retention rule once, in the current transaction (the caller commits)."""
    now = now or utcnow()
    rules = rules or current_policy().portal_retention
    report = PurgeReport()
    from .gathering.record_ids import pseudonymise_files_ids

    report.add("files_record_ids", pseudonymise_files_ids())
    report.add("login_challenges", _purge_challenges(rules.login_challenges.before(now)))
    report.add("sessions", _purge_sessions(rules.sessions.before(now)))
    report.add("sent_mail", _purge_sent_mail(rules.sent_mail.before(now)))
    report.add("exports", _purge_exports(rules.exports.before(now)))
    report.add("rejected_identifiers", _purge_rejected(rules.rejected_identifiers.before(now)))
    report.add("kept_records_due", due_kept(now, outbox=report.outbox))
    report.add("customers_erased", _forget_erased())
    report.add("customers_forgotten", _forget_inactive(rules.inactive_customers.before(now)))
    report.add(
        "requests_anonymised", anonymise_finished(rules.finished_requests.before(now), now=now)
    )
    report.add("requests_deleted", _delete_old_requests(rules.audit_log.before(now)))
    report.add("audit_entries", _purge_audit(rules.audit_log.before(now)))
    report.add("staff_secrets", staff_auth.erase_disabled_secrets(rules.disabled_staff.before(now)))
    report.add("staff_forgotten", staff_auth.forget_disabled(rules.audit_log.before(now)))
    report.add("source_log", _purge_source_log(rules.source_log.before(now)))
    if report.total:
        audit("retention.purged", actor_type="system", details=dict(report.counts))
    db.session.flush()
    return report


def _purge_challenges(cutoff: datetime) -> int:
    return _rowcount(
        db.session.execute(delete(LoginChallenge).where(LoginChallenge.expires_at <= cutoff))
    )


def _purge_sessions(cutoff: datetime) -> int:
    total = 0
    for model in (CustomerSession, StaffSession):
        total += _rowcount(
            db.session.execute(
                delete(model).where(
                    or_(
                        and_(model.ended_at.is_not(None), model.ended_at <= cutoff),
                        model.expires_at <= cutoff,
                    )
                )
            )
        )
    return total


def _purge_sent_mail(cutoff: datetime) -> int:
    """Sent messages (their content was erased when sent) and messages given up that long
    ago: a message that could not be sent in the period is not sent any more, and its
    content (the address, what it says) is not kept for ever."""
    return _rowcount(
        db.session.execute(
            delete(OutboxMessage).where(
                or_(
                    and_(OutboxMessage.status == "sent", OutboxMessage.sent_at <= cutoff),
                    and_(OutboxMessage.status == "failed", OutboxMessage.created_at <= cutoff),
                )
            )
        )
    )


def _purge_rejected(cutoff: datetime) -> int:
    """Numbers staff could not accept: never used to find anyone's data, so kept only for the
    customer to see what became of them."""
    return _rowcount(
        db.session.execute(
            delete(CustomerIdentifier).where(
                CustomerIdentifier.status == "rejected", CustomerIdentifier.created_at <= cutoff
            )
        )
    )


def _purge_exports(cutoff: datetime) -> int:
    return _rowcount(db.session.execute(delete(DataExport).where(DataExport.created_at <= cutoff)))


def _settled_actions() -> list[str]:
    return [status.value for status in ActionStatus if status.settled]


def _unsettled_action_of(request_id: Any) -> Any:
    """EXISTS: a change at a source for this request that is not confirmed or dropped yet."""
    return exists().where(
        RequestAction.request_id == request_id, RequestAction.status.not_in(_settled_actions())
    )


def has_unfinished_business(customer_id: int, *, except_request_id: int | None = None) -> bool:
    """Whether the portal still needs to know this customer to finish something for them.

    True while another request of theirs is open (its answer must reach them; a correction
    needs their identity to be written back), any change at a source for one of their
    requests is not settled (confirming it reads the source with their identifiers), or an
    erasure of theirs keeps a record by law until a date staff must still check (the closing
    e-mail promised to tell them that date).
    """
    other_open = select(DataRequest.id).where(
        DataRequest.customer_id == customer_id, DataRequest.status.not_in(FINAL_STATUSES)
    )
    if except_request_id is not None:
        other_open = other_open.where(DataRequest.id != except_request_id)
    unsettled = select(DataRequest.id).where(
        DataRequest.customer_id == customer_id, _unsettled_action_of(DataRequest.id)
    )
    undated = (
        select(RequestAction.id)
        .join(DataRequest, RequestAction.request_id == DataRequest.id)
        .where(DataRequest.customer_id == customer_id, _undated_kept())
    )
    return bool(db.session.scalar(select(exists(other_open) | exists(unsettled) | exists(undated))))


def _forget_erased() -> int:
    """Forget customers whose erasure of everything is done, once nothing else is open.

    The back office forgets them when their last request closes; this catches the rest (a
    request withdrawn by the customer, a change at a source settled after closing).
    """
    from .backoffice.queue import forget_after_erasure  # the back office imports this module

    ids = set(
        db.session.scalars(
            select(DataRequest.customer_id).where(
                DataRequest.customer_id.is_not(None),
                DataRequest.kind == "erasure",
                DataRequest.status == RequestStatus.DONE.value,
                DataRequest.anonymised_at.is_(None),
            )
        )
    )
    return sum(1 for customer_id in sorted(ids) if forget_after_erasure(customer_id))


def _forget_inactive(cutoff: datetime) -> int:
    """Delete customers without a sign-in since ``cutoff`` and with nothing left to finish."""
    unfinished = exists().where(
        DataRequest.customer_id == Customer.id,
        or_(DataRequest.status.not_in(FINAL_STATUSES), _unsettled_action_of(DataRequest.id)),
    )
    last_seen = func.coalesce(Customer.last_login_at, Customer.created_at)
    ids = list(db.session.scalars(select(Customer.id).where(last_seen <= cutoff, ~unfinished)))
    for customer_id in ids:
        forget_customer(customer_id, reason="inactive")
    return len(ids)


def forget_customer(customer_id: int, *, reason: str) -> None:
    """Delete a customer and everything the portal holds about them, except their requests.

    The requests stay (their link to the customer removed) as proof they were handled; they
    are anonymised by :func:`anonymise_finished` once their own period has passed, or at once
    by the caller after an erasure. Flushes.
    """
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        return
    db.session.execute(
        update(DataRequest).where(DataRequest.customer_id == customer_id).values(customer_id=None)
    )
    # Explicitly, not by ON DELETE CASCADE: SQLite enforces foreign keys only when asked to.
    for model in (CustomerSession, LoginChallenge, GatheredSnapshot, DataExport):
        db.session.execute(delete(model).where(model.customer_id == customer_id))
    db.session.delete(customer)  # its identifiers go with it (ORM cascade)
    audit(
        "customer.forgotten", actor_type="system", subject_type="customer",
        subject_id=customer_id, details={"reason": reason},
    )  # fmt: skip
    db.session.flush()


#: What an anonymised request's changes keep of the record they concerned.
ANONYMISED_RECORD = "-"


def _owed() -> Any:
    """A record kept by law that must still be deleted when its date comes (or whose date
    staff must still check), or such a deletion not confirmed yet: its reference stays. Only
    for an erasure that was done (the customer was told); not for one withdrawn or refused."""
    done = select(DataRequest.id).where(DataRequest.status == RequestStatus.DONE.value)
    return and_(RequestAction.request_id.in_(done), _still_kept())


def _still_kept() -> Any:
    """A record an erasure kept by law that is still kept: waiting for its date, or its
    deletion once the date came not confirmed yet."""
    return and_(
        RequestAction.record_id != ANONYMISED_RECORD,
        or_(
            and_(
                RequestAction.action == ActionKind.KEEP.value,
                RequestAction.status == ActionStatus.SKIPPED.value,
            ),
            and_(RequestAction.follow_up, RequestAction.status.not_in(_settled_actions())),
        ),
    )


def kept_for(customer_id: int) -> dict[str, list[tuple[str, str]]]:
    """The records the firm still keeps by law after the customer's erasures, per source:
    ``(record_type, record_id)``. They are the customer's data while kept, also when what led
    to them was anonymised (the order that named a payment), so the overview reads them by
    id (:func:`connectors.gather.gather`'s ``kept``)."""
    rows = db.session.execute(
        select(RequestAction.source, RequestAction.record_type, RequestAction.record_id)
        .join(DataRequest, DataRequest.id == RequestAction.request_id)
        .where(DataRequest.customer_id == customer_id, _still_kept())
        .order_by(RequestAction.id)
    ).all()
    kept: dict[str, list[tuple[str, str]]] = {}
    for source, record_type, record_id in rows:
        pair = (record_type, record_id)
        if pair not in kept.setdefault(source, []):
            kept[source].append(pair)
    return kept


def anonymise_request(request: DataRequest, now: datetime | None = None) -> None:
    """Remove the personal data of one request; keep kind, dates, status and its history steps.

    A record kept by law keeps its reference (where, which record) until it is deleted when
    its retention ends (:func:`due_kept`): without it, nobody could delete it then.
    """
    request.details_encrypted = None
    request.requester_encrypted = None
    request.requester_email_hash = None
    request.idempotency_key = None
    request.customer_id = None
    request.anonymised_at = now or utcnow()
    db.session.execute(
        update(RequestEvent)
        .where(RequestEvent.request_id == request.id)
        .values(message_encrypted=None)
    )
    # A record's id can be personal (a file keyed on its e-mail column: "klanten:a@b.nl"), and
    # so can the instructions that name it: what stays is where and what was done, and when.
    db.session.execute(
        update(RequestAction)
        .where(RequestAction.request_id == request.id, ~_owed())
        .values(value_encrypted=None, record_id=ANONYMISED_RECORD, instructions=None)
    )
    db.session.execute(
        update(RequestAction)
        .where(RequestAction.request_id == request.id, _owed())
        .values(value_encrypted=None)
    )


def anonymise_finished(cutoff: datetime, now: datetime | None = None) -> int:
    """Anonymise every finished request closed at or before ``cutoff`` with nothing unsettled."""
    rows = db.session.scalars(
        select(DataRequest).where(
            DataRequest.status.in_(FINAL_STATUSES),
            DataRequest.closed_at <= cutoff,
            DataRequest.anonymised_at.is_(None),
            # staff still need what to change where (a failed or by-hand change)
            ~_unsettled_action_of(DataRequest.id),
        )
    ).all()
    for request in rows:
        anonymise_request(request, now)
    return len(rows)


def _delete_old_requests(cutoff: datetime) -> int:
    owed = exists().where(RequestAction.request_id == DataRequest.id, _owed())
    ids = list(
        db.session.scalars(
            select(DataRequest.id).where(
                DataRequest.anonymised_at.is_not(None), DataRequest.closed_at <= cutoff, ~owed
            )
        )
    )
    if not ids:
        return 0
    db.session.execute(delete(RequestEvent).where(RequestEvent.request_id.in_(ids)))
    db.session.execute(delete(RequestAction).where(RequestAction.request_id.in_(ids)))
    db.session.execute(delete(DataRequest).where(DataRequest.id.in_(ids)))
    return len(ids)


def due_kept(now: datetime | None = None, *, outbox: list[int] | None = None) -> int:
    """Turn every kept record whose retention has ended (``keep_until`` before the firm's
    today) into a step for staff: delete (or anonymise, as its source does) the record at its
    source, named exactly, as the customer was told. The privacy contact is told by e-mail.
    Returns how many became due; the mail's outbox id is added to ``outbox``. Flushes; the
    caller commits, then hands the mail to the queue."""
    from .backoffice.actions import describe_follow_ups
    from .dsr.erasure import TAKES_ALONG, connector_actions
    from .reminders import mail_privacy_contact
    from .settings import firm_zone

    today = (now or utcnow()).astimezone(firm_zone()).date()
    due = db.session.scalars(
        select(RequestAction)
        .join(DataRequest, DataRequest.id == RequestAction.request_id)
        .where(
            RequestAction.action == ActionKind.KEEP.value,
            RequestAction.status == ActionStatus.SKIPPED.value,
            RequestAction.keep_until.is_not(None),
            RequestAction.keep_until < today,
            RequestAction.record_id != ANONYMISED_RECORD,
            # what the customer was told at the end of an erasure; not one withdrawn or
            # refused (nothing was promised there)
            DataRequest.status == RequestStatus.DONE.value,
        )
        .order_by(RequestAction.request_id, RequestAction.id)
        .with_for_update(of=RequestAction, skip_locked=True)  # two runs at once: one takes it
    ).all()
    if not due:
        return 0
    action_of = connector_actions(current_policy())
    for action in due:
        kind = action_of(action.source, action.record_type)
        # Kept with records below it that its deletion would take along: anonymised by
        # staff (the step says why, and runs no API that deletes it), never deleted.
        takes_along = action.last_error == TAKES_ALONG
        action.action = (
            ActionKind.ANONYMISE.value
            if kind == "anonymise" or takes_along
            else ActionKind.DELETE.value
        )
        action.status = ActionStatus.MANUAL.value
        action.next_attempt_at = None
        action.updated_at = now or utcnow()
    describe_follow_ups(due)
    references = Counter(action.request.reference for action in due)
    audit(
        "retention.kept_due", actor_type="system",
        details={"actions": [a.id for a in due], "requests": sorted(references)},
    )  # fmt: skip
    row = mail_privacy_contact(
        "backoffice/email/kept_due", {"requests": sorted(references.items()), "count": len(due)}
    )
    if row is None:
        log.warning("kept records are due for deletion, but the policy names nobody to tell")
    elif outbox is not None:
        outbox.append(row.id)
    db.session.flush()
    return len(due)


def deletions_due_by_request() -> list[tuple[str, int]]:
    """Per request reference, how many deletions of kept records (:func:`due_kept`) are not
    settled yet (for the back office's dashboard)."""
    return _count_by_request(
        RequestAction.follow_up, RequestAction.status.not_in(_settled_actions())
    )


def _undated_kept() -> Any:
    """A record a done erasure keeps by law until a date that could not be read from it:
    staff date it (and the customer is told)."""
    return and_(
        _owed(), RequestAction.action == ActionKind.KEEP.value, RequestAction.keep_until.is_(None)
    )


def undated_by_request() -> list[tuple[str, int]]:
    """Per request reference, how many records a done erasure keeps by law until a date that
    could not be read from them (staff date them)."""
    return _count_by_request(_undated_kept())


def _count_by_request(*where: Any) -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(DataRequest.reference, func.count())
        .join(RequestAction, RequestAction.request_id == DataRequest.id)
        .where(*where)
        .group_by(DataRequest.reference)
        .order_by(DataRequest.reference)
    ).all()
    return [(reference, int(count)) for reference, count in rows]


def _purge_source_log(cutoff: datetime) -> int:
    return _rowcount(
        db.session.execute(delete(SourceEvent).where(SourceEvent.created_at <= cutoff))
    )


def _purge_audit(cutoff: datetime) -> int:
    """Delete audit entries older than ``cutoff`` and chain an ``audit.purged`` entry that
    records the hash of the last one deleted: the check then starts from that hash."""
    last = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash)
        .where(AuditEvent.created_at <= cutoff)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).one_or_none()
    if last is None:
        return 0
    result = db.session.execute(delete(AuditEvent).where(AuditEvent.id <= last.id))
    audit(
        "audit.purged", actor_type="system",
        details={"through_id": last.id, "last_hash": last.hash},
    )  # fmt: skip
    return _rowcount(result)
