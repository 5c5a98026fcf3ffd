"""The staff request queue and the work on one request (issue #8).

The queue lists requests by deadline with counts at the top, and never shows a customer's
personal data (only references, kinds, channels, dates, statuses and assignees). The request
page's steps are here as functions that change the *current transaction* and flush; the view
commits and only then hands outbox and action ids to the queue.

Status steps (start, ask for information, extend, refuse, close) go through
:mod:`portal.dsr.services`, which records the history, audits and mails the customer in their
language. The steps of the back office itself (assigning, internal notes, viewing customer data,
approving a correction, carrying out an erasure) are audited here, with ids only.

Two staff members may press the same button at the same moment. Every step that changes the
request therefore *claims* it first (:func:`_claim`): a conditional ``UPDATE`` that succeeds only
while the request is still as the step read it (status and ``updated_at``) and moves
``updated_at`` on. The database lets one of two such updates through; the other finds the row
changed and the step stops with :class:`RequestError` ``conflict``, before it did anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, case, false, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from connectors.identity import normalize_email

from .. import retention
from ..audit import record as audit
from ..auth.services import identifier_hash
from ..dsr import erasure
from ..dsr import services as dsr
from ..dsr.services import RequestError
from ..extensions import db
from ..gathering import Snapshot, gather_for, latest
from ..mail import queue_mail
from ..models import (
    ActionKind,
    ActionStatus,
    Customer,
    CustomerIdentifier,
    DataRequest,
    RequestAction,
    RequestChannel,
    RequestEvent,
    RequestKind,
    RequestStatus,
    StaffMember,
    utcnow,
)
from ..paging import Page
from ..policy import current_policy
from ..policy.schema import Policy, Recipient
from ..settings import firm_today
from . import actions

#: Requests due within this many days are highlighted ("due this week").
DUE_SOON_DAYS = 7
#: Requests a page of the queue.
PAGE_SIZE = 50
FINAL_STATUSES = [s.value for s in RequestStatus if s.final]
OPEN_STATUSES = [s.value for s in RequestStatus if not s.final]

#: Assignee filter values besides a staff id. ``nobody`` also selects the requests assigned to
#: a disabled staff member: nobody who can sign in works on them (see :func:`unattended`).
ASSIGNEE_ANYONE = "anyone"
ASSIGNEE_ME = "me"
ASSIGNEE_NOBODY = "nobody"

#: Status filter value: open requests the customer answered since staff last took a step.
STATUS_ANSWERED = "answered"

#: Deadline filter values, as the counts at the top count them: open requests past their
#: deadline, and open ones due within :data:`DUE_SOON_DAYS` (today included).
DUE_OVERDUE = "overdue"
DUE_SOON = "soon"

#: How long back a request received by post, e-mail or phone may be dated.
MAX_RECEIVED_AGE = dsr.MAX_RECEIVED_AGE

#: How staff may have verified the identity of someone who wrote or called.
IDENTITY_METHODS = (
    "known_email",
    "id_document_seen",
    "customer_and_invoice_number",
    "known_in_person",
    "other",
)


# --- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    """What the queue shows: ``status`` is ``open`` (default), ``all`` or one status."""

    kind: str = ""
    status: str = "open"
    assignee: str = ASSIGNEE_ANYONE
    #: ``""`` (any deadline), :data:`DUE_OVERDUE` or :data:`DUE_SOON`; open requests only.
    due: str = ""


@dataclass(frozen=True)
class QueueRow:
    """One request in the list (no personal data)."""

    request: DataRequest
    days_left: int
    assignee: StaffMember | None
    #: The customer answered a question and no staff step followed yet (:func:`answered`).
    answered: bool = False

    @property
    def overdue(self) -> bool:
        return self.request.is_open and self.days_left < 0

    @property
    def due_soon(self) -> bool:
        return self.request.is_open and 0 <= self.days_left <= DUE_SOON_DAYS


@dataclass
class QueueCounts:
    """The numbers at the top of the queue (open requests only, whatever the filters)."""

    open: int = 0
    overdue: int = 0
    due_soon: int = 0
    waiting: int = 0
    #: The customer answered and staff took no step since (:func:`answered`).
    answered: int = 0
    #: Assigned to nobody, or to a staff member who is disabled (:func:`unattended`).
    unassigned: int = 0
    #: Assigned to the staff member :func:`counts` was asked for.
    mine: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def _answered_ids() -> Select[tuple[int]]:
    """Ids of the requests whose latest answer of the customer (``info_added``) is newer than
    the last step any staff member took on them (events are numbered in order)."""
    last_answer = func.max(case((RequestEvent.action == "info_added", RequestEvent.id)))
    last_staff = func.max(case((RequestEvent.actor_type == "staff", RequestEvent.id)))
    return (
        select(RequestEvent.request_id)
        .group_by(RequestEvent.request_id)
        .having(last_answer > func.coalesce(last_staff, 0))
    )


def answered(request: DataRequest) -> RequestEvent | None:
    """The customer's answer that no staff step followed yet, on an open request; else None.

    Any step of staff (a note, assigning, a status step, approving...) counts as having
    seen it."""
    if not request.is_open:
        return None
    for event in sorted(request.events, key=lambda e: e.id, reverse=True):
        if event.actor_type == "staff":
            return None
        if event.action == "info_added":
            return event
    return None


def tell_assignee(request: DataRequest) -> list[int]:
    """Mail the active staff member the request is assigned to that the customer answered a
    question: the reference and a link only (no personal data), in the firm's default
    language. Nobody assigned, nothing sent: the queue and the dashboard show the answer
    (:func:`answered`). Flushes; the caller commits, then enqueues the returned ids."""
    if request.assignee_id is None:
        return []
    member = db.session.get(StaffMember, request.assignee_id)
    if member is None or not member.active:
        return []
    settings = current_app.extensions["portal.settings"]
    row = queue_mail(
        member.email,
        "backoffice/email/answer_received",
        settings.default_locale,
        {
            "request": request,
            "policy": current_policy(),
            "base_url": str(settings.base_url).rstrip("/"),
            "locale": settings.default_locale,
        },
    )
    return [row.id]


def _disabled_staff_ids() -> Select[tuple[int]]:
    return select(StaffMember.id).where(StaffMember.active.is_(False))


def unattended() -> ColumnElement[bool]:
    """Requests nobody who can sign in works on: assigned to nobody, or to a staff member who
    was disabled. They count and filter as "not assigned", so none is stranded."""
    return or_(
        DataRequest.assignee_id.is_(None), DataRequest.assignee_id.in_(_disabled_staff_ids())
    )


def _filtered(filters: QueueFilters, staff_id: int, today: date) -> Select[tuple[DataRequest]]:
    query = select(DataRequest)
    if filters.due == DUE_OVERDUE:
        query = query.where(DataRequest.status.in_(OPEN_STATUSES), DataRequest.deadline < today)
    elif filters.due == DUE_SOON:
        query = query.where(
            DataRequest.status.in_(OPEN_STATUSES),
            DataRequest.deadline >= today,
            DataRequest.deadline <= today + timedelta(days=DUE_SOON_DAYS),
        )
    if filters.status == "open":
        query = query.where(DataRequest.status.in_(OPEN_STATUSES))
    elif filters.status == STATUS_ANSWERED:
        query = query.where(
            DataRequest.status.in_(OPEN_STATUSES), DataRequest.id.in_(_answered_ids())
        )
    elif filters.status in {s.value for s in RequestStatus}:
        query = query.where(DataRequest.status == filters.status)
    if filters.kind in {k.value for k in RequestKind}:
        query = query.where(DataRequest.kind == filters.kind)
    if filters.assignee == ASSIGNEE_ME:
        query = query.where(DataRequest.assignee_id == staff_id)
    elif filters.assignee == ASSIGNEE_NOBODY:
        query = query.where(unattended())
    elif filters.assignee.isdigit():
        query = query.where(DataRequest.assignee_id == int(filters.assignee))
    return query.order_by(DataRequest.deadline, DataRequest.received_on, DataRequest.id)


def queue(
    filters: QueueFilters,
    *,
    staff_id: int,
    today: date | None = None,
    page: int | None = 1,
    page_size: int | None = None,
) -> tuple[list[QueueRow], Page]:
    """One page of the requests the filters select, the earliest deadline first."""
    today = today or firm_today()
    page_size = page_size or PAGE_SIZE
    query = _filtered(filters, staff_id, today)
    total = int(
        db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    )
    shown = Page.of(total, page, page_size)
    staff = {m.id: m for m in db.session.scalars(select(StaffMember))}
    found = list(db.session.scalars(query.offset(shown.offset).limit(page_size)))
    replied = set(
        db.session.scalars(
            _answered_ids().where(RequestEvent.request_id.in_([r.id for r in found]))
        )
    ) if found else set()  # fmt: skip
    rows = [
        QueueRow(r, (r.deadline - today).days, staff.get(r.assignee_id or 0), r.id in replied)
        for r in found
    ]
    return rows, shown


def counts(today: date | None = None, staff_id: int | None = None) -> QueueCounts:
    """How many open requests there are, overdue, due within a week, waiting, answered by the
    customer since the last staff step, not assigned (or assigned to a disabled staff member),
    assigned to ``staff_id``, per kind."""
    today = today or firm_today()
    result = QueueCounts()
    disabled = set(db.session.scalars(_disabled_staff_ids()))
    rows = db.session.execute(
        select(DataRequest.kind, DataRequest.status, DataRequest.deadline, DataRequest.assignee_id)
        .where(DataRequest.status.in_(OPEN_STATUSES))
    ).all()  # fmt: skip
    kinds: Counter[str] = Counter()
    for kind, status, deadline, assignee_id in rows:
        result.open += 1
        kinds[kind] += 1
        days = (deadline - today).days
        if days < 0:
            result.overdue += 1
        elif days <= DUE_SOON_DAYS:
            result.due_soon += 1
        if status == RequestStatus.WAITING_FOR_CUSTOMER.value:
            result.waiting += 1
        if assignee_id is None or assignee_id in disabled:
            result.unassigned += 1
        elif assignee_id == staff_id:
            result.mine += 1
    result.answered = int(
        db.session.scalar(
            select(func.count())
            .select_from(DataRequest)
            .where(DataRequest.status.in_(OPEN_STATUSES), DataRequest.id.in_(_answered_ids()))
        )
        or 0
    )
    order = [k.value for k in RequestKind]
    result.by_kind = {k: kinds[k] for k in order if kinds[k]}
    return result


def staff_members() -> list[StaffMember]:
    """Active staff members, by name (the assignee choices)."""
    return list(
        db.session.scalars(
            select(StaffMember)
            .where(StaffMember.active.is_(True))
            .order_by(StaffMember.display_name, StaffMember.id)
        )
    )


def disabled_assignees() -> list[StaffMember]:
    """Disabled staff members that requests are still assigned to (finished ones too), by
    name: the queue's filter offers them, so their requests can be found."""
    return list(
        db.session.scalars(
            select(StaffMember)
            .where(
                StaffMember.active.is_(False),
                StaffMember.id.in_(select(DataRequest.assignee_id).distinct()),
            )
            .order_by(StaffMember.display_name, StaffMember.id)
        )
    )


def open_assigned_to(member: StaffMember) -> list[DataRequest]:
    """The open requests assigned to ``member``, by deadline."""
    return list(
        db.session.scalars(
            select(DataRequest)
            .where(DataRequest.assignee_id == member.id, DataRequest.status.in_(OPEN_STATUSES))
            .order_by(DataRequest.deadline, DataRequest.id)
        )
    )


def hand_over(
    member: StaffMember, to: StaffMember | None, *, staff_id: int | None
) -> list[DataRequest]:
    """Assign every open request of ``member`` to ``to`` (or to nobody), each as an ordinary
    assignment (history step and audit entry). Used when ``member`` is disabled. Flushes;
    returns the requests handed over.

    :raises RequestError: ``conflict`` when someone changed one of them meanwhile.
    :raises ValueError: when ``to`` is ``member`` or cannot sign in.
    """
    if to is not None and (to.id == member.id or not to.active):
        raise ValueError("hand over to another active staff member, or to nobody")
    moved = open_assigned_to(member)
    for request in moved:
        assign(request, to, staff_id=staff_id)
    return moved


def find(reference: str) -> DataRequest | None:
    """The request with ``reference`` (any customer's: this is the back office)."""
    return db.session.scalars(
        select(DataRequest).where(DataRequest.reference == reference.strip().upper())
    ).one_or_none()


def typed_reference(typed: str) -> str | None:
    """A reference as staff type it (read out on the phone, copied from a letter), written
    the way the portal writes it: spaces left out, capitals, and the ``AVG-`` prefix, also
    when it was typed without its hyphen or left off. ``None`` when nothing was typed.

    Still an exact reference: ``avg 7kq2 m9xp`` is ``AVG-7KQ2M9XP`` and nothing else."""
    text = "".join(typed.split()).upper()
    if not text:
        return None
    prefix = dsr.REFERENCE_PREFIX
    if text.startswith(prefix):
        return text
    bare = prefix.rstrip("-")
    if text.startswith(bare) and len(text) == len(bare) + dsr.REFERENCE_LENGTH:
        return prefix + text[len(bare) :]
    return prefix + text


def customer_of(request: DataRequest) -> Customer | None:
    """The request's customer while the portal knows them."""
    return db.session.get(Customer, request.customer_id) if request.customer_id else None


# --- the request page -----------------------------------------------------------------------


@dataclass(frozen=True)
class ShownIdentifier:
    """A customer's identifier as staff see it."""

    kind: str
    value: str
    #: ``verified``, ``pending`` or ``rejected``.
    status: str

    @property
    def verified(self) -> bool:
        return self.status == "verified"


def identifiers_of(customer: Customer) -> list[ShownIdentifier]:
    """The customer's identifiers, verified ones first."""
    from ..auth.services import identifier_value

    shown = [ShownIdentifier(i.kind, identifier_value(i), i.status) for i in customer.identifiers]
    return sorted(shown, key=lambda i: (not i.verified, i.kind, i.value))


def current_data(
    request: DataRequest, customer: Customer, *, live: bool, staff_id: int
) -> Snapshot | None:
    """The customer's data for the request page: gathered now (``live``) or the held one.

    Every view is audited as ``request.data_viewed`` (ids only). Flushes; the view commits.
    """
    snapshot = gather_for(customer, staff_id=staff_id) if live else latest(customer)
    if snapshot is None:
        return None
    audit(
        "request.data_viewed", actor_type="staff", actor_id=staff_id,
        subject_type="request", subject_id=request.id,
        details={"customer": customer.id, "snapshot": snapshot.id, "live": live},
    )  # fmt: skip
    db.session.flush()
    return snapshot


def concerned_records(request: DataRequest, snapshot: Snapshot) -> list[dict[str, Any]]:
    """The records of the snapshot that the request concerns, in the policy's source order.

    A correction concerns the records of its items; other kinds their scope (sources and
    categories; empty means everything).
    """
    order = {s.key: i for i, s in enumerate(current_policy().sources)}
    if request.kind == RequestKind.CORRECTION.value:
        refs = {
            (str(i.get("source")), str(i.get("record_type")), str(i.get("record_id")))
            for i in dsr.details_of(request).get("items", [])
        }
        records = [r for r in snapshot.records if erasure.record_ref(r) in refs]
    else:
        sources = list(request.scope.get("sources", []))
        categories = list(request.scope.get("categories", []))
        records = [r for r in snapshot.records if erasure.in_scope(r, sources, categories)]
    return sorted(records, key=lambda r: order.get(str(r["source"]), len(order)))


# --- claiming a request for one step --------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """The state a step read the request in (what its checks were made against)."""

    status: str
    updated_at: datetime


def seen(request: DataRequest) -> Seen:
    """The request's state now, before a step checks it."""
    return Seen(request.status, request.updated_at)


def _claim(request: DataRequest, state: Seen) -> None:
    """Claim the request for one step: atomically, only while it is still in ``state``.

    A conditional ``UPDATE ... WHERE status = :seen AND updated_at = :seen`` that moves
    ``updated_at`` on. Of two steps that read the same state, the database lets one update
    through and makes the other wait for it and then find nothing to update (PostgreSQL
    re-checks the row after the first commits; SQLite lets one writer in at a time). Flushes
    first; changes nothing else.

    :raises RequestError: ``conflict`` when someone else changed the request meanwhile.
    """
    now = utcnow()
    result = db.session.execute(
        update(DataRequest)
        .where(
            DataRequest.id == request.id,
            DataRequest.status == state.status,
            DataRequest.updated_at == state.updated_at,
        )
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise RequestError("conflict", "the request was changed by someone else meanwhile")
    set_committed_value(request, "updated_at", now)


def _internal_event(request: DataRequest, action: str, staff_id: int | None) -> None:
    """A history step for staff only (no status change, no message, no audit of its own)."""
    request.events.append(
        RequestEvent(
            action=action, status=None, actor_type="staff" if staff_id else "system",
            actor_id=staff_id, visible_to_customer=False,
        )
    )  # fmt: skip


# --- steps of the back office ---------------------------------------------------------------


def start(request: DataRequest, *, staff_id: int) -> None:
    """Start work on a request just received (once, however many press the button). Flushes.

    Not on a request that waits for the customer: that would silently drop the open question
    (the customer's answer form closes, though their e-mail told them to answer there). Staff
    wait for the answer or withdraw the question (:func:`withdraw_question`). Not on one
    already in progress or extended either (it would lose the extension's status).

    :raises RequestError: ``waiting``, ``started``, ``conflict``, or as
        :func:`portal.dsr.services.start`.
    """
    state = seen(request)
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    _not_waiting(request)
    if request.status_enum is not RequestStatus.RECEIVED:
        raise RequestError("started", f"request is {request.status}")
    _claim(request, state)
    dsr.start(request, staff_id=staff_id)


def _not_waiting(request: DataRequest) -> None:
    """Stop a step that would move on a request while the customer's answer is awaited.

    :raises RequestError: ``waiting``.
    """
    if request.status_enum is RequestStatus.WAITING_FOR_CUSTOMER:
        raise RequestError("waiting", "the customer's answer to a question is awaited")


def withdraw_question(request: DataRequest, *, staff_id: int) -> list[int]:
    """Withdraw the open question to the customer (once): the request goes back to work and
    the customer is told they need not answer. Flushes; returns outbox ids.

    :raises RequestError: ``conflict``, or as :func:`portal.dsr.services.withdraw_question`.
    """
    state = seen(request)
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    _claim(request, state)
    return dsr.withdraw_question(request, staff_id=staff_id)


def record_answer(request: DataRequest, answer: str, *, staff_id: int) -> list[int]:
    """Record the customer's answer that reached the firm by post, e-mail or phone (once):
    the request goes back to work and nothing is mailed. Flushes; returns outbox ids (none).

    :raises RequestError: ``conflict``, or as :func:`portal.dsr.services.record_answer`.
    """
    state = seen(request)
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    _claim(request, state)
    return dsr.record_answer(request, answer, staff_id=staff_id)


def correct_received_on(
    request: DataRequest, received_on: date, reason: str, *, staff_id: int
) -> dsr.ReceivedOnCorrected:
    """Correct the day a request staff entered was received (once, however many press the
    button); the deadline is counted again. Flushes; the caller commits, then hands the
    outbox ids to the queue.

    :raises RequestError: ``conflict``, or as
        :func:`portal.dsr.services.correct_received_on`.
    """
    state = seen(request)
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    _claim(request, state)
    return dsr.correct_received_on(request, received_on, reason, staff_id=staff_id)


def ask_information(request: DataRequest, question: str, *, staff_id: int) -> list[int]:
    """Ask the customer for information (mailed once). Flushes; returns outbox ids.

    :raises RequestError: ``conflict``, or as :func:`portal.dsr.services.ask_information`.
    """
    state = seen(request)
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    _claim(request, state)
    return dsr.ask_information(request, question, staff_id=staff_id)


def extend(request: DataRequest, months: int, reason: str, *, staff_id: int) -> list[int]:
    """Extend the deadline (once). Flushes; returns outbox ids.

    :raises RequestError: ``conflict``, or as :func:`portal.dsr.services.extend`.
    """
    state = seen(request)
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    _claim(request, state)
    return dsr.extend(request, months, reason, staff_id=staff_id)


def refuse(request: DataRequest, reason: str, *, staff_id: int) -> list[int]:
    """Refuse the request (once). Flushes; returns outbox ids. Refusing the last open request
    of a customer who asked to erase everything lets the portal forget them
    (:func:`forget_after_erasure`).

    Not once the work at the sources was started (:func:`carried_out`): the erasure or
    correction was (partly) made, so "we cannot grant your request" would be untrue. Staff
    close the request instead, with a message saying what was and was not done.

    :raises RequestError: ``carried_out``, ``conflict``, or as
        :func:`portal.dsr.services.refuse`.
    """
    state = seen(request)
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    if carried_out(request):
        raise RequestError("carried_out", "the work at the sources was started")
    _claim(request, state)
    outbox = dsr.refuse(request, reason, staff_id=staff_id)
    if request.customer_id is not None:
        forget_after_erasure(request.customer_id, closing=request)
    return outbox


def assign(request: DataRequest, assignee: StaffMember | None, *, staff_id: int | None) -> None:
    """Give the request to ``assignee`` (or to nobody). An internal history step and one audit
    entry, ``request.assignee`` with the new assignee's id. ``staff_id`` is who does it
    (``None``: the command line). Flushes.

    :raises RequestError: ``final`` for a finished request, ``conflict`` when someone else
        changed the request meanwhile.
    """
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    _claim(request, seen(request))
    request.assignee_id = assignee.id if assignee is not None else None
    dsr.change(
        request, "assigned", actor_type="staff" if staff_id is not None else "system",
        actor_id=staff_id, message=assignee.display_name if assignee is not None else None,
        visible=False, notify=False, audit_action="request.assignee",
        audit_details={"assignee": request.assignee_id},
    )  # fmt: skip


def add_note(request: DataRequest, text: str, *, staff_id: int) -> None:
    """An internal note: in the history for staff, never shown or sent to the customer.

    :raises RequestError: ``final`` for a finished request: nothing is added to it any more
        (an anonymised one must stay without personal data).
    """
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    dsr.change(
        request, "note", actor_type="staff", actor_id=staff_id, message=text.strip(),
        visible=False, notify=False,
    )  # fmt: skip


def _start_if_new(request: DataRequest, staff_id: int) -> None:
    # Never from waiting for the customer: the steps that call this refuse to run then.
    if request.status_enum is RequestStatus.RECEIVED:
        dsr.start(request, staff_id=staff_id)


def approve_correction(request: DataRequest, *, staff_id: int) -> list[int]:
    """Write every corrected field back: one action per item with the *new* value. Flushes;
    the caller commits, then :func:`actions.enqueue`\\ s the returned ids.

    Not while a question to the customer is open (``waiting``): their answer may change what
    to correct. Staff wait for it, or withdraw the question first.

    :raises RequestError: not a correction, finished, already approved, ``waiting``, or
        ``conflict`` (someone else approved or changed it at the same moment).
    """
    state = seen(request)
    if request.kind != RequestKind.CORRECTION.value:
        raise RequestError("kind", "not a correction")
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    _not_waiting(request)
    if actions.actions_of(request):
        raise RequestError("approved", "the correction was approved already")
    items = dsr.details_of(request).get("items", [])
    if not items:
        raise RequestError("empty", "nothing to correct")
    _claim(request, state)
    ids = []
    for item in items:
        action = actions.add_correction(
            request,
            actions.CorrectionItem(
                str(item["source"]), str(item["record_type"]), str(item["record_id"]),
                str(item["field"]), item.get("new"),
            ),
        )  # fmt: skip
        ids.append(action.id)
    _internal_event(request, "correction_approved", staff_id)
    _start_if_new(request, staff_id)
    audit(
        "request.correction_approved", actor_type="staff", actor_id=staff_id,
        subject_type="request", subject_id=request.id, details={"actions": ids},
    )  # fmt: skip
    db.session.flush()
    return ids


def _usable(snapshot: Snapshot, sources: Sequence[str]) -> list[str]:
    """Sources (in scope) that did not answer completely: their records were not all seen."""
    return [
        o.key
        for o in snapshot.sources
        if (not sources or o.key in sources)
        and o.status != "complete"
        and not (o.status == "skipped" and o.error_kind == "no_identifier")
    ]


def _above(
    record: Mapping[str, Any], by_ref: Mapping[tuple[str, str, str], Any]
) -> Iterator[tuple[str, str, str]]:
    """The records above ``record`` that the snapshot holds, nearest first (a loop ends it)."""
    seen, parent = set(), record.get("parent")
    while parent:
        ref = erasure.record_ref(parent)
        if ref not in by_ref or ref in seen:
            return
        seen.add(ref)
        yield ref
        parent = by_ref[ref].get("parent")


def _depth(record: Mapping[str, Any], by_ref: Mapping[tuple[str, str, str], Any]) -> int:
    return sum(1 for _ref in _above(record, by_ref))


def _link_parents(
    made: Mapping[tuple[str, str, str], RequestAction],
    by_ref: Mapping[tuple[str, str, str], Any],
) -> None:
    """Name on each action the action on the nearest record above it at the same source.

    A record anonymised (or deleted) by hand is changed only after the actions below it are
    settled (:func:`.actions.unsettled_below`): the source finds the records below through
    it (a help desk user's tickets, through the user's e-mail address), to write them and to
    confirm them by a fresh read. A record without an action of its own (deleted with its
    parent) links those below it to the next one up."""
    for ref, action in made.items():
        action.parent_action_id = None
        for up in _above(by_ref[ref], by_ref):
            if up[0] != ref[0]:
                break  # a source acts on its own records only
            if up in made:
                action.parent_action_id = made[up].id
                break


#: How long after entering an erasure request for a customer of the portal the staff member
#: who entered it must wait before carrying it out themselves (a colleague may at once).
ENTERER_WAITS = timedelta(days=7)


def entered_by(request: DataRequest) -> int | None:
    """The staff member who entered ``request`` (received by post, e-mail or phone); ``None``
    for a request the customer sent in the portal."""
    if request.channel == RequestChannel.PORTAL.value:
        return None
    first = next((e for e in request.events if e.action == "received"), None)
    return first.actor_id if first is not None and first.actor_type == "staff" else None


def erasure_waits_until(
    request: DataRequest, staff_id: int, now: datetime | None = None
) -> datetime | None:
    """When ``staff_id`` may carry out the erasure ``request``, if not yet; else ``None``.

    An erasure cannot be undone, and a request entered by staff did not come from the
    customer's own account: one staff member alone could enter a "letter" in a customer's
    name and erase their data at once. So the one who entered it does not carry it out
    themselves until :data:`ENTERER_WAITS` has passed since they entered it (the customer, who
    got the receipt by e-mail and sees the request in the portal, can withdraw it meanwhile);
    another staff member may at any time. Only for a request linked to a customer of the
    portal: for anyone else nothing is erased through the portal."""
    if entered_by(request) != staff_id or request.customer_id is None:
        return None
    first = next(e for e in request.events if e.action == "received")
    until = first.created_at + ENTERER_WAITS
    return until if (now or utcnow()) < until else None


def carry_out_erasure(
    request: DataRequest, *, staff_id: int, today: date | None = None
) -> list[int]:
    """Erase source by source against the policy: gather afresh, then per record in scope keep
    it (the law requires it, until a date), or delete / anonymise it through the vendor's API
    (or by hand where none allows it). A record whose deletion would take along records that
    stay (kept, or outside the request's scope) is kept with them, or anonymised by hand
    (:func:`portal.dsr.erasure.decide_all`, on all of the customer's records). Children
    before their parents, each linked to the action above it (:func:`_link_parents`), which
    is not done by hand before them. Flushes; the caller commits, then enqueues the returned
    ids (kept records have nothing to run).

    Not while a question to the customer is open (``waiting``): an erasure cannot be undone,
    and their answer may change what to erase. Staff wait for it, or withdraw the question.

    :raises RequestError: not an erasure, finished, ``waiting``, no customer to gather for,
        ``entered_by_you`` (:func:`erasure_waits_until`), already carried out, a source in
        scope that did not answer completely (``incomplete``), or ``conflict`` (someone else
        carried it out or changed it at the same moment).
    """
    state = seen(request)
    if request.kind != RequestKind.ERASURE.value:
        raise RequestError("kind", "not an erasure")
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    _not_waiting(request)
    if carried_out(request):
        raise RequestError("approved", "the erasure was carried out already")
    customer = customer_of(request)
    if customer is None:
        raise RequestError("no_customer", "no customer to gather for")
    if erasure_waits_until(request, staff_id) is not None:
        raise RequestError("entered_by_you", "a colleague carries it out, or wait")
    today = today or firm_today()
    policy = current_policy()
    sources = list(request.scope.get("sources", []))
    categories = list(request.scope.get("categories", []))
    snapshot = gather_for(customer, staff_id=staff_id)
    missing = _usable(snapshot, sources)
    if missing:
        raise RequestError("incomplete", ",".join(missing))
    # Claimed after gathering (which may take seconds), so no lock is held while the sources
    # answer; whoever loses the claim rolls back their snapshot too.
    _claim(request, state)
    action_of = erasure.connector_actions(policy)
    by_ref = {erasure.record_ref(r): r for r in snapshot.records}
    # stable: children before their parents
    records = sorted(snapshot.records, key=lambda r: -_depth(r, by_ref))
    to_run: list[int] = []
    made: dict[tuple[str, str, str], RequestAction] = {}
    kept = with_parent = 0
    # All of the customer's records: deleting one in scope may take along one that is not.
    decided = erasure.decide_all(
        policy, records, today, action_of, erasure.connector_with_parent(policy),
        sources=sources, categories=categories,
        taken=erasure.connector_taken_with_parent(policy),
    )  # fmt: skip
    for record, decision in decided:
        source, record_type, record_id = erasure.record_ref(record)
        if decision.action == "with_parent":
            with_parent += 1  # goes with its parent's deletion: no step of its own
            continue
        if decision.action == "keep":
            # linked too: when its date comes it may be anonymised by hand above others
            made[(source, record_type, record_id)] = actions.add_kept(
                request, source, record_type, record_id,
                until=decision.until, category=decision.category,
                also=erasure.kept_with(record, decision.category), reason=decision.reason,
            )  # fmt: skip
            kept += 1
            continue
        action = actions.add_erasure(
            request, source, record_type, record_id, anonymise=decision.action == "anonymise"
        )
        made[(source, record_type, record_id)] = action
        to_run.append(action.id)
    _link_parents(made, by_ref)
    _internal_event(request, "erasure_started", staff_id)
    _start_if_new(request, staff_id)
    audit(
        "request.erasure_started", actor_type="staff", actor_id=staff_id,
        subject_type="request", subject_id=request.id,
        details={"snapshot": snapshot.id, "actions": to_run, "kept": kept,
                 "with_parent": with_parent},
    )  # fmt: skip
    db.session.flush()
    return to_run


@dataclass(frozen=True)
class KeptGroup:
    """Records of one source kept because of one category (for staff and the customer)."""

    source: str
    category: str
    count: int
    #: The latest date of the group's records; None when one of them has no date yet.
    until: date | None
    #: The other categories these records hold (policy keys), kept with them.
    also: frozenset[str] = frozenset()
    #: Whether the records' dates differ: :attr:`until` is then the latest of them.
    dates_differ: bool = False


def kept_of(request: DataRequest) -> list[KeptGroup]:
    """What an erasure keeps, grouped per source and category (the latest date), with the
    other categories the kept records hold."""
    groups: dict[tuple[str, str], KeptGroup] = {}
    for action in actions.actions_of(request):
        if action.action != ActionKind.KEEP.value:
            continue
        key = (action.source, action.keep_category or "")
        old = groups.get(key)
        until = action.keep_until
        also = frozenset(action.keep_also or ())
        differ = False
        if old is not None:  # one record without a date makes the group's date unknown
            differ = old.dates_differ or old.until != until
            until = None if old.until is None or until is None else max(old.until, until)
            also |= old.also
        groups[key] = KeptGroup(key[0], key[1], (old.count if old else 0) + 1, until, also, differ)
    return list(groups.values())


def kept_line(
    request: DataRequest,
    source_key: str,
    category_key: str,
    until: date | None,
    *,
    also: Iterable[str] = (),
    latest: bool = False,
) -> str:
    """What the customer is told of data an erasure keeps by law, in the current locale:
    which data, where, until when (``latest``: the latest of several dates) and on which
    ground, and which other data (``also``, category keys) the kept records hold: the
    sources keep whole records, so that data stays as long."""
    from ..customer.texts import format_day

    policy = current_policy()
    category = policy.category(category_key)
    ground = erasure.statutory(policy, category) if category else None
    source = next((s.name for s in policy.sources if s.key == source_key), None)
    names_of = {
        "category": category.name.get(request.locale) if category else category_key,
        "source": source.get(request.locale) if source else source_key,
        # the policy's words may end a sentence; the line ends it once
        "ground": ground.get(request.locale).rstrip().rstrip(".") if ground else "-",
    }
    if until is not None and latest:
        line = _(
            "%(category)s in %(source)s: kept until %(date)s at the latest. Ground:"
            " %(ground)s.",
            date=format_day(until), **names_of,
        )  # fmt: skip
    elif until is not None:
        line = _(
            "%(category)s in %(source)s: kept until %(date)s. Ground: %(ground)s.",
            date=format_day(until), **names_of,
        )  # fmt: skip
    else:
        line = _(
            "%(category)s in %(source)s: kept as the law requires; we could not"
            " read from the record until when, and will tell you. Ground:"
            " %(ground)s.",
            **names_of,
        )
    others = kept_also_names(policy, request.locale, set(also) - {category_key})
    if others:
        line += " " + _(
            "The system keeps these records whole, so with them we also keep: %(categories)s.",
            categories=", ".join(others),
        )
    return line


def kept_also_names(policy: Policy, locale: str, keys: Iterable[str]) -> list[str]:
    """The names of the categories ``keys`` in ``locale``, in the policy's order (an unknown
    key as it is, last)."""
    order = {c.key: i for i, c in enumerate(policy.categories)}
    names = []
    for key in sorted(set(keys), key=lambda k: (order.get(k, len(order)), k)):
        category = policy.category(key)
        names.append(category.name.get(locale) if category else key)
    return names


def date_kept(
    request: DataRequest, action: RequestAction, until: date, *, staff_id: int
) -> list[int]:
    """Staff checked until when a record an erasure keeps by law must be kept: record it
    (:func:`portal.backoffice.actions.set_keep_until`) and tell the customer, as the closing
    e-mail promised. Once nothing else is owed to them, the portal forgets a customer who
    asked to erase everything (:func:`forget_after_erasure`). Flushes; returns outbox ids.

    :raises ValueError: as :func:`~portal.backoffice.actions.set_keep_until`.
    """
    actions.set_keep_until(action, until, staff_id=staff_id)
    outbox: list[int] = []
    if action.keep_category is not None:
        with force_locale(request.locale):
            line = kept_line(
                request, action.source, action.keep_category, until, also=action.keep_also or ()
            )
        outbox = dsr.mail_customer(request, "kept_dated", message=line)
    if request.customer_id is not None:
        forget_after_erasure(request.customer_id)
    return outbox


def closing_message(
    request: DataRequest, message: str | None, *, told_recipients: bool = False
) -> str | None:
    """The message of the closing e-mail, in the customer's language. For an erasure it lists
    what was kept: which data, where, on which ground and until which date. When staff told
    the recipients of the data (art. 19), it says so."""
    parts = [message.strip()] if message and message.strip() else []
    kept = kept_of(request) if request.kind == RequestKind.ERASURE.value else []
    if kept:
        with force_locale(request.locale):
            lines = [_("The law requires us to keep some of your data:")]
            lines += [
                "- "
                + kept_line(
                    request, g.source, g.category, g.until, also=g.also, latest=g.dates_differ
                )
                for g in kept
            ]
            if all(g.until is not None for g in kept):
                lines.append(_("After that date we delete it. We use it only for this obligation."))
            else:  # one date is still to be checked: the sentence covers both
                lines.append(
                    _(
                        "We delete it as soon as the law no longer requires us to keep it, and"
                        " use it only for this obligation."
                    )
                )
            parts.append("\n".join(lines))
    if request.kind == RequestKind.CORRECTION.value:
        corrected = _corrected_lines(request)
        if corrected:
            with force_locale(request.locale):
                parts.append("\n".join([_("We corrected:"), *corrected]))
    if request.kind == RequestKind.RESTRICTION.value:
        with force_locale(request.locale):
            parts.append(
                _(
                    "We have restricted the use of your data: we keep it, but do not use it"
                    " until the reason has gone. Before we use it again, we tell you."
                )
            )
    if told_recipients:
        with force_locale(request.locale):
            parts.append(
                _(
                    "We have told the parties who received this data from us of this change,"
                    " as the law requires. You may ask us who they are."
                )
            )
    return "\n\n".join(parts) or None


def _corrected_lines(request: DataRequest) -> list[str]:
    """A line per field a correction request changed at its source (confirmed): which field
    of which record, where; never the values."""
    from ..customer.texts import field_label, record_name, record_type_label

    policy = current_policy()
    names = {s.key: s.name for s in policy.sources}
    systems = {s.key: s.connector for s in policy.sources}
    lines = []
    with force_locale(request.locale):
        for action in actions.actions_of(request):
            if action.action != ActionKind.CORRECT.value or action.field is None:
                continue
            if action.status != ActionStatus.CONFIRMED.value:
                continue
            source = names.get(action.source)
            label = field_label(None, action.field, request.locale, action.record_type)
            record = record_name(
                record_type_label(action.record_type),
                {"record_id": action.record_id, "system": systems.get(action.source)},
            )
            where = source.get(request.locale) if source else action.source
            lines.append(f"- {label} ({where}: {record})")
    return lines


def covers_everything(request: DataRequest) -> bool:
    """Whether an erasure request asked to delete all data (no sources or categories chosen)."""
    return request.erases_everything


#: History steps (internal) that show the work at the sources was started, also when an
#: erasure found nothing to change.
STARTED_EVENTS = frozenset({"erasure_started", "correction_approved"})


def carried_out(request: DataRequest) -> bool:
    """Whether the work at the sources was started: the erasure carried out ("Wissen") or the
    correction approved (it has actions, or the history step of that decision)."""
    if actions.actions_of(request):
        return True
    return any(event.action in STARTED_EVENTS for event in request.events)


def fully_erased(request: DataRequest) -> bool:
    """Whether an erasure was carried out and none of its changes at the sources was cancelled
    (a request closed with an officer's override cancels what was not written yet)."""
    return carried_out(request) and not any(
        a.status == ActionStatus.CANCELLED.value for a in actions.actions_of(request)
    )


def needs_work(request: DataRequest) -> bool:
    """Whether closing as done needs changes at the sources first: an erasure for a customer the
    portal knows (it can erase through the sources), or a correction with fields to correct."""
    if request.kind == RequestKind.ERASURE.value:
        return request.customer_id is not None
    if request.kind == RequestKind.CORRECTION.value:
        return bool(dsr.details_of(request).get("items"))
    return False


def not_done_code(request: DataRequest) -> str | None:
    """Why the request cannot be closed as done yet, as a :class:`RequestError` code:
    ``not_erased`` / ``not_corrected`` (the work was not started), ``unsettled`` (changes at the
    sources not all confirmed), or ``None``."""
    if needs_work(request) and not carried_out(request):
        return "not_erased" if request.kind == RequestKind.ERASURE.value else "not_corrected"
    if request.kind in (RequestKind.ERASURE.value, RequestKind.CORRECTION.value):
        if not actions.all_settled(request):
            return "unsettled"
    return None


def forget_after_erasure(customer_id: int, *, closing: DataRequest | None = None) -> bool:
    """Forget a customer who asked to erase all their data, once nothing is left to finish.

    When they have a *done* erasure of everything that was carried out in full
    (:func:`fully_erased`), and no other request open and no change at a source unsettled
    (:func:`portal.retention.has_unfinished_business`), the portal forgets them and anonymises
    every request of theirs. Call it whenever one of their requests closes (``closing``) or a
    change at a source settles. Flushes.

    :returns: whether the customer was forgotten now.
    """
    erasures = [
        r
        for r in db.session.scalars(
            select(DataRequest).where(
                DataRequest.customer_id == customer_id,
                DataRequest.kind == RequestKind.ERASURE.value,
                DataRequest.status == RequestStatus.DONE.value,
                DataRequest.anonymised_at.is_(None),
            )
        )
        if covers_everything(r) and fully_erased(r)
    ]
    if not erasures:
        return False
    if retention.has_unfinished_business(
        customer_id, except_request_id=closing.id if closing is not None else None
    ):
        return False
    # Every request of theirs, not only the erasures: a correction's old and new values, a
    # question's text, messages. All are finished (nothing else is open); the closing mail of
    # the last one is in the outbox already.
    theirs = list(
        db.session.scalars(
            select(DataRequest).where(
                DataRequest.customer_id == customer_id, DataRequest.anonymised_at.is_(None)
            )
        )
    )
    retention.forget_customer(customer_id, reason="erasure")
    for request in theirs:
        retention.anonymise_request(request)
    db.session.flush()
    return True


@dataclass
class Closed:
    """What closing did: mail to hand the queue, whether the portal forgot the person, and
    if an erasure of everything did not forget them, why (``unfinished``: other requests or
    changes still open, forgotten when those finish; ``not_erased``: closed with an override
    before everything was erased, so the person is kept)."""

    outbox_ids: list[int]
    forgotten: bool = False
    kept: str | None = None


#: Requests that change data others may have received from the firm (art. 19).
TELLS_RECIPIENTS = frozenset(
    {RequestKind.CORRECTION.value, RequestKind.ERASURE.value, RequestKind.RESTRICTION.value}
)


def recipients_to_tell(request: DataRequest, policy: Policy | None = None) -> list[Recipient]:
    """The policy's recipients of the data a correction, erasure or restriction concerns, whom
    the firm must tell of it unless that proves impossible or disproportionate (GDPR art. 19).

    Processors are left out: they work in the firm's own systems on its instructions, where
    the change itself is made. The data concerned is the request's categories; else those of
    its sources; else everything the policy names.
    """
    if request.kind not in TELLS_RECIPIENTS:
        return []
    policy = policy or current_policy()
    scope = request.scope or {}
    categories = set(scope.get("categories") or [])
    if not categories:
        sources = set(scope.get("sources") or [])
        categories = (
            {c for s in policy.sources if s.key in sources for c in s.categories}
            if sources
            else {c.key for c in policy.categories}
        )
    return [r for r in policy.recipients if r.role != "processor" and categories & set(r.receives)]


def close_request(
    request: DataRequest,
    message: str | None,
    *,
    staff: StaffMember,
    override_reason: str | None = None,
    recipients_told: bool = False,
) -> Closed:
    """Close a request as done with a message.

    An erasure (of a customer the portal knows) or a correction closes only once its work was
    started at the sources and every change there is settled; otherwise only with a privacy
    officer's override and a reason (kept as an internal note, audited).

    After an erasure of all data the portal forgets the person and anonymises the request, once
    the closing e-mail is in the outbox, and only when nothing else of theirs is open or
    unsettled: otherwise the history says so and the closing of their last request forgets
    them (:func:`forget_after_erasure`). An erasure closed without erasing anything never
    forgets the person, nor does one whose unwritten changes the override cancelled. Flushes.

    A correction, erasure or restriction that was carried out closes only once staff say they
    told its recipients (``recipients_told``; :func:`recipients_to_tell`, art. 19); the
    closing e-mail then says the customer may ask who they are.

    :raises RequestError: ``not_erased``, ``not_corrected``, ``unsettled`` (no valid override),
        ``recipients`` (not told), ``final`` or ``conflict`` (someone else changed the request
        at the same moment).
    """
    state = seen(request)
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    problem = not_done_code(request)
    overridden = bool(override_reason and override_reason.strip() and staff.is_officer)
    if problem is not None and not overridden:
        messages = {
            "not_erased": "the erasure was not carried out at the sources",
            "not_corrected": "the correction was not approved and written back",
            "unsettled": "changes at the sources are not all confirmed",
        }
        raise RequestError(problem, messages[problem])
    # Nothing carried out (closed by the override) is nothing to tell anyone of.
    to_tell = [] if problem is not None else recipients_to_tell(request)
    if to_tell and not recipients_told:
        raise RequestError("recipients", "the recipients were not told")
    _claim(request, state)
    if to_tell:
        audit(
            "request.recipients_told", actor_type="staff", actor_id=staff.id,
            subject_type="request", subject_id=request.id,
            details={"recipients": [r.key for r in to_tell]},
        )  # fmt: skip
    if problem is not None:
        add_note(request, str(override_reason), staff_id=staff.id)
        audit(
            "request.close_override", actor_type="staff", actor_id=staff.id,
            subject_type="request", subject_id=request.id,
            details={"reason": problem,
                     "unsettled": [a.id for a in actions.actions_of(request)
                                   if not a.status_enum.settled]},
        )  # fmt: skip
    outbox = dsr.close(
        request, closing_message(request, message, told_recipients=bool(to_tell)),
        staff_id=staff.id,
    )  # fmt: skip
    closed = Closed(outbox)
    customer_id = request.customer_id
    if customer_id is not None:
        closed.forgotten = forget_after_erasure(customer_id, closing=request)
        if not closed.forgotten and covers_everything(request):
            closed.kept = "unfinished" if fully_erased(request) else "not_erased"
            action = "forget_postponed" if closed.kept == "unfinished" else "not_forgotten"
            _internal_event(request, action, staff.id)
            audit(
                f"request.{action}", actor_type="staff", actor_id=staff.id,
                subject_type="request", subject_id=request.id,
                details={"customer": customer_id},
            )  # fmt: skip
    db.session.flush()
    return closed


# --- requests received by post, e-mail or phone ---------------------------------------------


def verified_customer(email: str) -> Customer | None:
    """The customer whose *verified* e-mail identifier ``email`` is, if any."""
    try:
        value = normalize_email(email)
    except ValueError:
        return None
    ident = db.session.scalars(
        select(CustomerIdentifier).where(
            CustomerIdentifier.kind == "email",
            CustomerIdentifier.verified_hash == identifier_hash("email", value),
        )
    ).one_or_none()
    return ident.customer if ident is not None else None


def enter_request(
    *,
    kind: RequestKind,
    channel: RequestChannel,
    received_on: date,
    name: str,
    email: str | None,
    address: str | None,
    phone: str | None,
    identity_verification: str,
    identity_note: str | None,
    text: str,
    subject: str | None,
    sources: Sequence[str],
    locale: str,
    staff_id: int,
    idempotency_key: str | None = None,
    purposes: Sequence[str] = (),
) -> dsr.Submitted:
    """Store a request received by post, e-mail or phone. The deadline runs from the day it
    was received. A request from a verified e-mail address of a customer is theirs; one with
    another address becomes the customer's who later proves control of exactly that address
    (:func:`portal.dsr.services.link_entered_requests`). Flushes; the caller commits, then
    hands the receipt (to ``email``, if given) to the queue.

    :param idempotency_key: the form's one-time key. The same form sent twice (double click,
        reload) finds the request it made (``created`` is False) and queues no second receipt,
        whether or not the writer is a customer of the portal.
    """
    if idempotency_key:
        _one_entry_at_a_time(staff_id)
        existing = entered_with(idempotency_key)
        if existing is not None:
            return dsr.Submitted(existing, created=False)
    customer = verified_customer(email) if email else None
    requester = {
        k: v
        for k, v in {
            "name": name, "email": email, "address": address, "phone": phone,
            "identity_note": identity_note,
        }.items()
        if v
    }  # fmt: skip
    details: dict[str, Any] = {"explanation": text, "entered_by_staff": True}
    scope: dict[str, list[str]] = {}
    if kind is RequestKind.QUESTION:
        details = {"subject": subject or "", "question": text, "entered_by_staff": True}
    elif kind in (RequestKind.ERASURE, RequestKind.RESTRICTION):
        details["scope"] = "sources" if sources else "all"
        if sources:
            scope["sources"] = list(sources)
    elif kind in (RequestKind.OBJECTION, RequestKind.WITHDRAW_CONSENT):
        scope["purposes"] = list(purposes)
    result = dsr.submit(
        customer, kind, scope=scope, details=details, locale=locale, received_on=received_on,
        channel=channel, requester=requester, identity_verification=identity_verification,
        actor_type="staff", actor_id=staff_id, idempotency_key=idempotency_key,
    )  # fmt: skip
    if not result.created:
        return result
    if customer is not None:
        audit(
            "request.linked", actor_type="staff", actor_id=staff_id, subject_type="request",
            subject_id=result.request.id, details={"customer": customer.id},
        )  # fmt: skip
    return result


def entered_with(key: str) -> DataRequest | None:
    """The request staff entered with the form key ``key``, if any."""
    return db.session.scalars(
        select(DataRequest)
        .where(
            DataRequest.idempotency_key == key,
            DataRequest.channel != RequestChannel.PORTAL.value,
        )
        .order_by(DataRequest.id)
        .limit(1)
    ).one_or_none()


def _one_entry_at_a_time(staff_id: int) -> None:
    """Serialise entering requests per staff member until the transaction ends, so that of the
    same form sent twice at once the second sees the request the first made.

    The unique constraint on (customer, key) cannot do it: a letter writer without an account
    has no customer, and NULLs are never equal. So: PostgreSQL locks the staff member's row
    (``SELECT ... FOR UPDATE``; the second request waits for the first to commit), and SQLite,
    which ignores ``FOR UPDATE``, lets one writer in at a time once a (no-op) ``UPDATE`` opened
    the write transaction.
    """
    db.session.execute(
        update(DataRequest)
        .where(false())
        .values(status=DataRequest.status)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(select(StaffMember.id).where(StaffMember.id == staff_id).with_for_update())


def action_summary(rows: Sequence[RequestAction]) -> dict[str, int]:
    """How many actions per status."""
    return dict(Counter(a.status for a in rows))
