"""Data subject requests: submitting, the status machine, messages and the customer's e-mails.

The rules every caller relies on:

* :func:`submit` adds the request, its first history step, the audit entry and the receipt
  e-mail to the *current transaction* and flushes. The caller commits, and only after the
  commit succeeded tells the customer "received" and hands the outbox ids to the queue
  (:func:`portal.tasks.enqueue_mail`). A failed commit therefore leaves no request and no
  confirmation; a committed request always has its receipt in the outbox, which the sweeper
  delivers even if the queue lost the task.
* The same form sent twice (double click, reload, resend) carries the same idempotency key
  and finds the request it already made instead of making a second one.
* Every step (:func:`change`) is a :class:`~portal.models.RequestEvent`, audited, and where
  the customer must know, mailed to them in their language. Extensions and refusals always
  tell them of their right to complain to the supervisory authority and to go to court
  (GDPR art. 12(4)).

Personal data (field values, explanations, reasons) is stored encrypted; task arguments and the
audit log carry ids only.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import false, select, update
from sqlalchemy.exc import IntegrityError

from connectors.identity import IdentifierKind, InvalidIdentifier, normalize_mailbox

from .. import crypto
from ..audit import record as audit
from ..auth.services import identifier_hash, identifier_value
from ..extensions import db
from ..mail import queue_mail
from ..models import (
    Customer,
    DataRequest,
    RequestChannel,
    RequestEvent,
    RequestKind,
    RequestStatus,
    utcnow,
)
from ..policy import current_policy
from ..policy.schema import Policy, Right
from ..settings import firm_today, firm_zone
from .deadlines import MAX_EXTENSION_MONTHS, response_deadline

log = logging.getLogger(__name__)

#: Unambiguous characters for references (no 0/O, 1/I/L).
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_PREFIX = "AVG-"
REFERENCE_LENGTH = 8

#: Which right of the policy offers which kind of request in the portal.
KIND_RIGHT: dict[RequestKind, Right | None] = {
    RequestKind.CORRECTION: Right.RECTIFICATION,
    RequestKind.ERASURE: Right.ERASURE,
    RequestKind.RESTRICTION: Right.RESTRICTION,
    RequestKind.OBJECTION: Right.OBJECTION,
    RequestKind.WITHDRAW_CONSENT: Right.WITHDRAW_CONSENT,
    RequestKind.ACCESS: Right.ACCESS,
    RequestKind.PORTABILITY: Right.PORTABILITY,
    RequestKind.QUESTION: None,  # a question to the privacy contact is always possible
}

#: Kinds a customer submits from the portal (access and portability are the overview and the
#: export; staff enter those for someone who wrote a letter).
PORTAL_KINDS = (
    RequestKind.CORRECTION,
    RequestKind.ERASURE,
    RequestKind.RESTRICTION,
    RequestKind.OBJECTION,
    RequestKind.WITHDRAW_CONSENT,
    RequestKind.QUESTION,
)

#: Which status may follow which. Final statuses have no successors.
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.RECEIVED: frozenset(
        {
            RequestStatus.IN_PROGRESS,
            RequestStatus.EXTENDED,
            RequestStatus.WAITING_FOR_CUSTOMER,
            RequestStatus.DONE,
            RequestStatus.REFUSED,
            RequestStatus.WITHDRAWN,
        }
    ),
    RequestStatus.IN_PROGRESS: frozenset(
        {
            RequestStatus.EXTENDED,
            RequestStatus.WAITING_FOR_CUSTOMER,
            RequestStatus.DONE,
            RequestStatus.REFUSED,
            RequestStatus.WITHDRAWN,
        }
    ),
    RequestStatus.EXTENDED: frozenset(
        {
            RequestStatus.IN_PROGRESS,
            RequestStatus.EXTENDED,
            RequestStatus.WAITING_FOR_CUSTOMER,
            RequestStatus.DONE,
            RequestStatus.REFUSED,
            RequestStatus.WITHDRAWN,
        }
    ),
    RequestStatus.WAITING_FOR_CUSTOMER: frozenset(
        {
            RequestStatus.IN_PROGRESS,
            RequestStatus.EXTENDED,
            RequestStatus.DONE,
            RequestStatus.REFUSED,
            RequestStatus.WITHDRAWN,
        }
    ),
    RequestStatus.DONE: frozenset(),
    RequestStatus.REFUSED: frozenset(),
    RequestStatus.WITHDRAWN: frozenset(),
}

#: Steps after which the customer gets an e-mail, with the template that says it.
NOTIFY_TEMPLATES = {
    "received": "dsr/email/receipt",
    "extended": "dsr/email/extended",
    "info_requested": "dsr/email/info_requested",
    "info_withdrawn": "dsr/email/info_withdrawn",
    "refused": "dsr/email/refused",
    "partly_refused": "dsr/email/partly_refused",  # PARTLY_REFUSED
    "done": "dsr/email/done",
    "withdrawn": "dsr/email/withdrawn",
    "restriction_lifted": "dsr/email/restriction_lifted",
    #: Not a step: the date until which a record an erasure kept must be kept, once staff
    #: checked it (the message is the line saying so).
    "kept_dated": "dsr/email/kept_dated",
    #: Staff corrected the day a request they entered was received, and the deadline moved
    #: (:func:`correct_received_on`; the message is the reason).
    "received_on_corrected": "dsr/email/received_on_corrected",
}


class RequestError(Exception):
    """A step that is not allowed now (e.g. withdrawing a finished request).

    :ivar code: a stable reason (``final``, ``not_waiting``, ``extension``, ``transition``,
        ``conflict``: someone else changed the request at the same moment).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Submitted:
    """What :func:`submit` did: the request, whether it is new, and mail to hand the queue."""

    request: DataRequest
    created: bool
    outbox_ids: list[int] = field(default_factory=list)


# --- reading --------------------------------------------------------------------------------


def new_reference() -> str:
    """A fresh random reference such as ``AVG-7KQ2M9XP``."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return REFERENCE_PREFIX + body


def offered_kinds(policy: Policy) -> list[RequestKind]:
    """The kinds a customer can submit in the portal, as the firm's policy offers them.

    Objection needs a purpose on legitimate interests, withdrawal a purpose on consent.
    """
    offered = set(policy.rights.offered)
    kinds = []
    for kind in PORTAL_KINDS:
        right = KIND_RIGHT[kind]
        if right is not None and right not in offered:
            continue
        if kind is RequestKind.OBJECTION and not objectable_purposes(policy):
            continue
        if kind is RequestKind.WITHDRAW_CONSENT and not consent_purposes(policy):
            continue
        kinds.append(kind)
    return kinds


def objectable_purposes(policy: Policy) -> list[Any]:
    """Purposes on legitimate interests, and direct marketing: those a customer may object to
    (art. 21)."""
    return [p for p in policy.purposes if p.objectable]


def direct_marketing_objected(request: DataRequest, policy: Policy | None = None) -> list[str]:
    """The direct-marketing purposes an objection names: no reason outweighs the customer's,
    so staff stop them and cannot refuse that part of the request (art. 21(3))."""
    if request.kind_enum is not RequestKind.OBJECTION:
        return []
    policy = policy or current_policy()
    named = set((request.scope or {}).get("purposes") or [])
    return [p.key for p in policy.purposes if p.direct_marketing and p.key in named]


def weighed_objected(request: DataRequest, policy: Policy | None = None) -> list[str]:
    """The purposes an objection names that are not direct marketing (legitimate interests):
    staff weigh those, and may refuse them for compelling legitimate grounds (art. 21(1))."""
    if request.kind_enum is not RequestKind.OBJECTION:
        return []
    policy = policy or current_policy()
    named = set((request.scope or {}).get("purposes") or [])
    return [p.key for p in policy.purposes if not p.direct_marketing and p.key in named]


def mixed_objection(request: DataRequest, policy: Policy | None = None) -> bool:
    """Whether an objection names direct marketing *and* other purposes: the direct-marketing
    part takes effect from its receipt, the rest is weighed (art. 21(1) and (3))."""
    policy = policy or current_policy()
    return bool(direct_marketing_objected(request, policy)) and bool(
        weighed_objected(request, policy)
    )


def unconditional(request: DataRequest, policy: Policy | None = None) -> bool:
    """Whether the whole request takes effect as asked, with nothing to weigh: a withdrawal of
    consent (art. 7(3)) or an objection to direct marketing only (art. 21(3)). It applies from
    its receipt, and staff cannot refuse it.

    An objection that also names other purposes is not: its direct-marketing part still
    applies from receipt (:func:`direct_marketing_stopped`), but the rest may be refused
    (:func:`refuse`)."""
    if request.kind_enum is RequestKind.WITHDRAW_CONSENT:
        return True
    policy = policy or current_policy()
    return bool(direct_marketing_objected(request, policy)) and not weighed_objected(
        request, policy
    )


def direct_marketing_stopped(request: DataRequest, policy: Policy | None = None) -> list[str]:
    """The direct-marketing purposes this objection stopped: those it names, from the day of
    receipt, whatever became of the rest of it (also after a partial refusal), unless the
    customer withdrew it. Empty for other requests and once the request was anonymised."""
    if request.status_enum is RequestStatus.WITHDRAWN or request.anonymised_at is not None:
        return []
    return direct_marketing_objected(request, policy)


#: The history step of refusing an objection except for its direct marketing.
PARTLY_REFUSED = "partly_refused"


def partly_refused(request: DataRequest) -> bool:
    """Whether this is an objection refused only in part: its direct-marketing purposes were
    stopped, its other purposes refused (:func:`refuse`)."""
    return request.status_enum is RequestStatus.REFUSED and any(
        e.action == PARTLY_REFUSED for e in request.events
    )


def purpose_names(keys: Iterable[str], locale: str, policy: Policy | None = None) -> list[str]:
    """The names of the purposes ``keys`` in ``locale``, in the order given (unknown keys as
    they are)."""
    policy = policy or current_policy()
    names = []
    for key in keys:
        purpose = policy.purpose(key)
        names.append(purpose.name.get(locale) if purpose is not None else key)
    return names


def consent_purposes(policy: Policy) -> list[Any]:
    """Purposes on consent: those a customer may withdraw consent for (art. 7(3))."""
    return [p for p in policy.purposes if p.consent_withdrawable]


def details_of(request: DataRequest) -> dict[str, Any]:
    """What was asked, decrypted (empty once the request was anonymised)."""
    if request.details_encrypted is None:
        return {}
    data: dict[str, Any] = json.loads(crypto.decrypt_text(request.details_encrypted))
    return data


def requester_of(request: DataRequest) -> dict[str, Any]:
    """Who wrote (for a request entered by staff), decrypted; empty when not stored."""
    if request.requester_encrypted is None:
        return {}
    data: dict[str, Any] = json.loads(crypto.decrypt_text(request.requester_encrypted))
    return data


def message_of(event: RequestEvent) -> str | None:
    """The reason or message of a history step, decrypted."""
    if event.message_encrypted is None:
        return None
    return crypto.decrypt_text(event.message_encrypted)


def requests_of(customer: Customer) -> list[DataRequest]:
    """The customer's requests, newest first."""
    return list(
        db.session.scalars(
            select(DataRequest)
            .where(DataRequest.customer_id == customer.id)
            .order_by(DataRequest.created_at.desc(), DataRequest.id.desc())
        )
    )


def request_of(customer: Customer, reference: str) -> DataRequest | None:
    """The customer's request with ``reference``; ``None`` if it is not theirs (or unknown).

    Every route that takes a reference goes through here: another customer's request is
    indistinguishable from one that does not exist.
    """
    return db.session.scalars(
        select(DataRequest).where(
            DataRequest.reference == reference.strip().upper(),
            DataRequest.customer_id == customer.id,
        )
    ).one_or_none()


def visible_history(request: DataRequest) -> list[RequestEvent]:
    """The steps the customer sees, oldest first."""
    return [event for event in request.events if event.visible_to_customer]


def days_left(request: DataRequest, today: date | None = None) -> int:
    """Days until the deadline (negative when overdue)."""
    return (request.deadline - (today or firm_today())).days


def customer_email(customer: Customer) -> str | None:
    """The address the customer is written to: their first verified e-mail address."""
    for ident in customer.identifiers:
        if ident.kind == "email" and ident.is_verified:
            return identifier_value(ident)
    return None


def _encrypt_json(data: dict[str, Any]) -> bytes:
    return crypto.encrypt(json.dumps(data, ensure_ascii=False, sort_keys=True))


# --- submitting -----------------------------------------------------------------------------


def submit(
    customer: Customer | None,
    kind: RequestKind,
    *,
    scope: dict[str, list[str]] | None = None,
    details: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    locale: str = "nl",
    received_on: date | None = None,
    channel: RequestChannel = RequestChannel.PORTAL,
    requester: dict[str, Any] | None = None,
    identity_verification: str | None = None,
    actor_type: str = "customer",
    actor_id: int | None = None,
) -> Submitted:
    """Store a request with its history, audit entry and receipt e-mail; flush, not commit.

    :param customer: who asks; ``None`` for a letter writer without an account (then
        ``requester`` holds how to reach them).
    :param idempotency_key: the form's one-time key; a second submit with the same key for the
        same customer returns the first request (``created`` is False) and queues nothing.
    :param received_on: the day the firm received it (staff-entered requests); default today.
    :raises IntegrityError: only for database errors other than a duplicate key.
    """
    if customer is not None and idempotency_key:
        existing = _by_key(customer, idempotency_key)
        if existing is not None:
            if asks_the_same(existing, kind, scope or {}, details or {}):
                return Submitted(existing, created=False)
            # The key of a page sent before, now asking something else (the page came back
            # from the browser's history and was changed): a request of its own, never taken
            # for the old one and lost.
            idempotency_key = secrets.token_urlsafe(24)

    received = received_on or firm_today()
    request = DataRequest(
        reference=new_reference(),
        customer_id=customer.id if customer is not None else None,
        kind=kind.value,
        status=RequestStatus.RECEIVED.value,
        channel=channel.value,
        locale="en" if locale.startswith("en") else "nl",
        idempotency_key=idempotency_key or None,
        scope={key: list(values) for key, values in (scope or {}).items()},
        details_encrypted=_encrypt_json(details or {}),
        requester_encrypted=_encrypt_json(requester) if requester else None,
        requester_email_hash=(
            writer_email_hash(str(requester.get("email") or ""))
            if customer is None and requester
            else None
        ),
        identity_verification=identity_verification,
        received_on=received,
        extension_months=0,
        deadline=response_deadline(received),
    )
    _open_outer_transaction()
    try:
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except IntegrityError:
        # The same key sent twice at the same moment (two workers): the first one won.
        if customer is not None and idempotency_key:
            existing = _by_key(customer, idempotency_key)
            if existing is not None:
                return Submitted(existing, created=False)
        raise
    result = Submitted(request, created=True)
    _add_event(request, "received", RequestStatus.RECEIVED, actor_type, actor_id)
    audit(
        "request.submitted", actor_type=actor_type, actor_id=actor_id,
        subject_type="request", subject_id=request.id,
        details={
            "kind": kind.value, "channel": channel.value, "scope": request.scope,
            # the day the deadline runs from (typed by staff for a letter) and that deadline
            "received_on": received.isoformat(), "deadline": request.deadline.isoformat(),
        },
    )  # fmt: skip
    result.outbox_ids += mail_customer(request, "received", customer=customer)
    db.session.flush()
    return result


# --- letter writers who sign in later -------------------------------------------------------


def writer_email_hash(email: str) -> str | None:
    """The hash a request entered for a letter writer is found by when they sign in with
    ``email``: that of the e-mail identifier it would be (:func:`identifier_hash`, same
    normalisation). ``None`` if nobody can sign in with it (not one mailbox,
    :func:`normalize_mailbox`), or if it is empty."""
    if not email.strip():
        return None
    try:
        value = normalize_mailbox(email)
    except InvalidIdentifier:
        return None
    return identifier_hash(IdentifierKind.EMAIL.value, value)


def link_entered_requests(customer: Customer, email: str, *, via: str) -> list[int]:
    """Give ``customer`` the requests staff entered for a letter writer with the e-mail address
    ``email``, now that the customer proved control of it. Flushes; returns the ids linked.

    Only requests with no customer, not anonymised, whose writer's address is exactly this one
    (the same normalisation and keyed hash as an identifier) are linked, each with a
    conditional ``UPDATE`` so that of two sign-ins at once only one links it. Its hash is
    cleared: a linked request is never linked again, not even after the portal forgot the
    customer. An erasure of everything that was carried out is left alone: the writer was told
    it is no longer online, and linking it would make the portal forget the new customer.
    Each link is audited with ids only.

    :param via: how the address was proved, for the audit entry: ``sign_in``, or
        ``address_verified`` (an address added on the account).
    """
    wanted = writer_email_hash(email)
    if wanted is None or customer.id is None:
        return []
    candidates = db.session.scalars(
        select(DataRequest)
        .where(
            DataRequest.requester_email_hash == wanted,
            DataRequest.customer_id.is_(None),
            DataRequest.anonymised_at.is_(None),
        )
        .order_by(DataRequest.id)
    ).all()
    linked: list[int] = []
    for request in candidates:
        if request.erases_everything and request.status == RequestStatus.DONE.value:
            continue
        result = db.session.execute(
            update(DataRequest)
            .where(
                DataRequest.id == request.id,
                DataRequest.customer_id.is_(None),
                DataRequest.anonymised_at.is_(None),
                DataRequest.requester_email_hash == wanted,
            )
            .values(customer_id=customer.id, requester_email_hash=None)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            continue  # linked or anonymised at the same moment
        db.session.refresh(request)
        audit(
            "request.linked", actor_type="customer", actor_id=customer.id,
            subject_type="request", subject_id=request.id,
            details={"customer": customer.id, "via": via},
        )  # fmt: skip
        linked.append(request.id)
    db.session.flush()
    return linked


def index_entered_requests(batch: int = 500) -> int:
    """Set :attr:`DataRequest.requester_email_hash` on requests entered for a letter writer
    before it existed (decrypting who wrote), so that they are linked when the writer signs in.
    Once, after the upgrade; running it again changes nothing. Flushes; returns how many."""
    changed = 0
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(DataRequest)
            .where(
                DataRequest.id > last_id,
                DataRequest.customer_id.is_(None),
                DataRequest.anonymised_at.is_(None),
                DataRequest.requester_email_hash.is_(None),
                DataRequest.requester_encrypted.is_not(None),
                DataRequest.channel != RequestChannel.PORTAL.value,
            )
            .order_by(DataRequest.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        for request in rows:
            last_id = request.id
            wanted = writer_email_hash(str(requester_of(request).get("email") or ""))
            if wanted is not None:
                request.requester_email_hash = wanted
                changed += 1
        db.session.flush()
    return changed


def _open_outer_transaction() -> None:
    """Make sure the database transaction is open before a SAVEPOINT.

    pysqlite opens its transaction only at the first INSERT/UPDATE/DELETE, so on SQLite a
    SAVEPOINT sent first *becomes* the transaction and its RELEASE commits: the request row would
    be stored even if the caller's commit (with its history and receipt) then failed. A no-op
    UPDATE opens the transaction; other databases need nothing.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            update(DataRequest).where(false()).values(status=DataRequest.status),
            execution_options={"synchronize_session": False},
        )


def asks_the_same(
    found: DataRequest, kind: RequestKind, scope: Mapping[str, Any], details: Mapping[str, Any]
) -> bool:
    """Whether ``found`` asks exactly what a request of ``kind`` with ``scope`` and
    ``details`` would (as stored: the same JSON). Not once ``found`` was anonymised: what it
    asked is gone, so nothing can be taken for it."""
    if found.kind != kind.value or found.details_encrypted is None:
        return False
    stored_scope = {key: list(values) for key, values in scope.items()}
    if (found.scope or {}) != stored_scope:
        return False
    as_stored = json.loads(json.dumps(dict(details), ensure_ascii=False, sort_keys=True))
    return details_of(found) == as_stored


def _by_key(customer: Customer, key: str) -> DataRequest | None:
    return db.session.scalars(
        select(DataRequest).where(
            DataRequest.customer_id == customer.id, DataRequest.idempotency_key == key
        )
    ).one_or_none()


# --- steps ----------------------------------------------------------------------------------


def _add_event(
    request: DataRequest,
    action: str,
    status: RequestStatus | None,
    actor_type: str,
    actor_id: int | None,
    message: str | None = None,
    *,
    visible: bool = True,
) -> RequestEvent:
    event = RequestEvent(
        action=action,
        status=status.value if status is not None else None,
        actor_type=actor_type,
        actor_id=actor_id,
        message_encrypted=crypto.encrypt(message) if message else None,
        visible_to_customer=visible,
    )
    request.events.append(event)
    return event


def change(
    request: DataRequest,
    action: str,
    *,
    status: RequestStatus | None = None,
    actor_type: str,
    actor_id: int | None = None,
    message: str | None = None,
    visible: bool = True,
    notify: bool = True,
    audit_details: dict[str, Any] | None = None,
    audit_action: str | None = None,
) -> list[int]:
    """Record a step, move to ``status`` (checked against :data:`TRANSITIONS`), audit it, and
    mail the customer where :data:`NOTIFY_TEMPLATES` says so. Flushes; returns outbox ids.

    :param audit_details: more for the audit entry besides the status (ids and keys only).
    :param audit_action: the audit entry's action, if not ``request.<action>`` (one entry
        either way).

    :raises RequestError: when the request is final or the status may not follow.
    """
    current = request.status_enum
    if status is not None and status is not current:
        if current.final:
            raise RequestError("final", f"request is {current.value}")
        if status not in TRANSITIONS[current]:
            raise RequestError("transition", f"{current.value} -> {status.value}")
        # Compare and set: of two steps on the same request at once (a customer withdrawing
        # while staff close it), only the one that still sees the status it started from wins.
        moved = db.session.execute(
            update(DataRequest)
            .where(DataRequest.id == request.id, DataRequest.status == current.value)
            .values(status=status.value)
            .execution_options(synchronize_session=False)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            raise RequestError("conflict", f"request {request.id} changed meanwhile")
        request.status = status.value
        if status.final:
            request.closed_at = utcnow()
            # Withdrawn, refused or closed: changes at the sources not written yet never will be.
            from ..backoffice.actions import cancel_open_actions

            cancel_open_actions(request)
    elif status is not None and current.final:
        raise RequestError("final", f"request is {current.value}")
    request.updated_at = utcnow()
    _add_event(request, action, status, actor_type, actor_id, message, visible=visible)
    audit(
        audit_action or f"request.{action}", actor_type=actor_type, actor_id=actor_id,
        subject_type="request", subject_id=request.id,
        details={**(audit_details or {}), "status": request.status},
    )  # fmt: skip
    outbox = mail_customer(request, action, message=message) if notify and visible else []
    db.session.flush()
    return outbox


def withdraw(
    request: DataRequest, *, actor_type: str = "customer", actor_id: int | None = None
) -> list[int]:
    """The customer withdraws a request that is not yet finished."""
    if request.status_enum.final:
        raise RequestError("final", "a finished request cannot be withdrawn")
    return change(
        request, "withdrawn", status=RequestStatus.WITHDRAWN, actor_type=actor_type,
        actor_id=actor_id,
    )  # fmt: skip


def status_after_waiting(request: DataRequest) -> RequestStatus:
    """The status a request waiting for the customer goes back to once the wait ends.

    Work on it goes on: ``extended`` when its deadline was extended (before or while it waited:
    :attr:`~portal.models.DataRequest.extension_months` is the record of that, the status only
    shows it), else ``in_progress``, also when the question was asked before work started.
    """
    return RequestStatus.EXTENDED if request.extension_months else RequestStatus.IN_PROGRESS


def add_information(request: DataRequest, text: str, *, actor_id: int | None = None) -> list[int]:
    """The customer answers a request for information; the request goes back to work."""
    if request.status_enum is not RequestStatus.WAITING_FOR_CUSTOMER:
        raise RequestError("not_waiting", "the firm is not waiting for information")
    return change(
        request, "info_added", status=status_after_waiting(request), actor_type="customer",
        actor_id=actor_id, message=text, notify=False,
    )  # fmt: skip


def withdraw_question(request: DataRequest, *, staff_id: int) -> list[int]:
    """Staff no longer need the answer to their open question: the request goes back to work
    (:func:`status_after_waiting`), the history says the question was withdrawn and the
    customer is told they need not answer (the e-mail with the question asked them to).

    :raises RequestError: ``not_waiting`` when no question is open.
    """
    if request.status_enum is not RequestStatus.WAITING_FOR_CUSTOMER:
        raise RequestError("not_waiting", "no question to the customer is open")
    return change(
        request, "info_withdrawn", status=status_after_waiting(request), actor_type="staff",
        actor_id=staff_id,
    )  # fmt: skip


#: The history step of an answer to staff's question that reached the firm by post, e-mail or
#: phone, recorded by staff (the customer's own answer in the portal is ``info_added``).
ANSWER_RECORDED = "info_recorded"


def record_answer(request: DataRequest, text: str, *, staff_id: int) -> list[int]:
    """Staff record the customer's answer to their question that reached the firm outside the
    portal (a letter, an e-mail, a phone call): the request goes back to work
    (:func:`status_after_waiting`), the history holds the answer (the customer sees it as the
    information they sent) and nothing is mailed: they answered. Withdrawing the question
    instead would tell them they need not answer.

    :raises RequestError: ``not_waiting`` when no question is open; ``answer`` without text.
    """
    if request.status_enum is not RequestStatus.WAITING_FOR_CUSTOMER:
        raise RequestError("not_waiting", "no question to the customer is open")
    if not text.strip():
        raise RequestError("answer", "an answer needs its text")
    return change(
        request, ANSWER_RECORDED, status=status_after_waiting(request), actor_type="staff",
        actor_id=staff_id, message=text.strip(), notify=False,
    )  # fmt: skip


def ask_information(request: DataRequest, message: str, *, staff_id: int) -> list[int]:
    """Staff ask the customer for information; the customer is mailed the question."""
    return change(
        request, "info_requested", status=RequestStatus.WAITING_FOR_CUSTOMER,
        actor_type="staff", actor_id=staff_id, message=message,
    )  # fmt: skip


def start(request: DataRequest, *, staff_id: int) -> list[int]:
    """Staff start working on a request."""
    return change(
        request, "status", status=RequestStatus.IN_PROGRESS, actor_type="staff",
        actor_id=staff_id, notify=False,
    )  # fmt: skip


def extension_possible(request: DataRequest, today: date | None = None) -> bool:
    """Whether the deadline may still be extended: within one month of receipt (art. 12(3):
    the customer is told of an extension within that month), and not by two months already."""
    return request.extension_months < MAX_EXTENSION_MONTHS and (
        today or firm_today()
    ) <= response_deadline(request.received_on)


def extend(request: DataRequest, months: int, reason: str, *, staff_id: int) -> list[int]:
    """Extend the deadline to ``months`` further months in all (1 or 2), with a reason.

    The customer is told the new deadline, the reason and their right to complain.

    Art. 12(3) requires the customer to be told of an extension within one month of receipt:
    once the first month is over (:func:`extension_possible`), the deadline cannot be extended
    any more.

    A withdrawal of consent or an objection to direct marketing only (:func:`unconditional`)
    applies from its receipt and is not extended: the use stops now (``unconditional_extension``).
    A mixed objection may be extended for its other purposes; its e-mail says the
    direct-marketing part applies from receipt all the same.

    :raises RequestError: for an extension beyond two months, not beyond the current one,
        without a reason, after the first month (``extension_late``), or of a request that
        takes effect as asked (``unconditional_extension``).
    """
    if unconditional(request):
        raise RequestError("unconditional_extension", "this request applies from its receipt")
    if not reason.strip():
        raise RequestError("extension", "an extension needs a reason")
    if not request.extension_months < months <= MAX_EXTENSION_MONTHS:
        raise RequestError("extension", "extend by one or two further months in all")
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    if not extension_possible(request):
        raise RequestError("extension_late", "the first month after receipt is over")
    request.extension_months = months
    request.deadline = response_deadline(request.received_on, months)
    # A request that waits for the customer keeps waiting: they must still be able to answer.
    waiting = request.status_enum is RequestStatus.WAITING_FOR_CUSTOMER
    return change(
        request, "extended", status=None if waiting else RequestStatus.EXTENDED,
        actor_type="staff", actor_id=staff_id, message=reason.strip(),
        audit_details={"months": months, "deadline": request.deadline.isoformat()},
    )  # fmt: skip


def refuse(request: DataRequest, reason: str, *, staff_id: int) -> list[int]:
    """Refuse a request with the reason; the customer is told it and their right to complain.

    A withdrawal of consent or an objection to direct marketing only cannot be refused
    (:func:`unconditional`). Refusing an objection that also names other purposes
    (:func:`mixed_objection`) refuses only those: the step is ``partly_refused``, the
    direct-marketing purposes stay stopped (:func:`direct_marketing_stopped`), and the
    customer is told both.
    """
    if not reason.strip():
        raise RequestError("refusal", "a refusal needs a reason")
    policy = current_policy()
    if unconditional(request, policy):
        raise RequestError("unconditional", "this request takes effect as asked")
    if mixed_objection(request, policy):
        return change(
            request, PARTLY_REFUSED, status=RequestStatus.REFUSED, actor_type="staff",
            actor_id=staff_id, message=reason.strip(),
            audit_details={
                "refused_purposes": weighed_objected(request, policy),
                "stopped_purposes": direct_marketing_objected(request, policy),
            },
        )  # fmt: skip
    return change(
        request, "refused", status=RequestStatus.REFUSED, actor_type="staff",
        actor_id=staff_id, message=reason.strip(),
    )  # fmt: skip


def close(request: DataRequest, message: str | None = None, *, staff_id: int) -> list[int]:
    """Mark a request done, with an optional message to the customer."""
    return change(
        request, "done", status=RequestStatus.DONE, actor_type="staff", actor_id=staff_id,
        message=(message or "").strip() or None,
    )  # fmt: skip


# --- restrictions (art. 18) -----------------------------------------------------------------


#: The history step that announces the end of a restriction (the customer is told then).
RESTRICTION_LIFTED = "restriction_lifted"

#: Days between telling the customer that a restriction ends and its end. Art. 18(3) has the
#: customer "informed by the controller before the restriction of processing is lifted": the
#: notice gives them time to answer (object, complain, go to court), also by post.
LIFT_NOTICE_DAYS = 14


def restriction_ends_on(request: DataRequest) -> date | None:
    """The day a restriction ends, once staff announced it: :data:`LIFT_NOTICE_DAYS` after the
    day the customer was told. None while no end was announced."""
    for event in request.events:
        if event.action == RESTRICTION_LIFTED:
            # not flushed yet: the e-mail about it is written in the same step, today
            told = (
                event.created_at.astimezone(firm_zone()).date()
                if event.created_at is not None
                else firm_today()
            )
            return told + timedelta(days=LIFT_NOTICE_DAYS)
    return None


def restriction_in_force(request: DataRequest, today: date | None = None) -> bool:
    """Whether this is a restriction that staff carried out (closed as done) and that has not
    ended: the data it covers is kept but not used (art. 18(2)). One whose end was announced
    stays in force until the day it ends (:func:`restriction_ends_on`)."""
    if not (
        request.kind == RequestKind.RESTRICTION.value
        and request.status == RequestStatus.DONE.value
        and request.anonymised_at is None
    ):
        return False
    ends = restriction_ends_on(request)
    return ends is None or (today or firm_today()) < ends


def restriction_end_announced(request: DataRequest) -> bool:
    """Whether a restriction is still in force but its end was announced to the customer."""
    return restriction_in_force(request) and restriction_ends_on(request) is not None


def restrictions_in_force(customer_id: int | None = None) -> list[DataRequest]:
    """The restrictions in force, of one customer or of everyone, oldest first."""
    query = select(DataRequest).where(
        DataRequest.kind == RequestKind.RESTRICTION.value,
        DataRequest.status == RequestStatus.DONE.value,
        DataRequest.anonymised_at.is_(None),
    )
    if customer_id is not None:
        query = query.where(DataRequest.customer_id == customer_id)
    found = db.session.scalars(query.order_by(DataRequest.closed_at, DataRequest.id))
    return [r for r in found if restriction_in_force(r)]


def lift_restriction(request: DataRequest, reason: str, *, staff_id: int) -> list[int]:
    """Announce the end of a restriction in force: the customer is told now, with the reason
    and the day it ends, :data:`LIFT_NOTICE_DAYS` from today (art. 18(3): before it is
    lifted). Until that day the restriction stays in force.

    :raises RequestError: ``not_restricted`` (no restriction in force), ``lift_announced``
        (its end was announced already), ``lift_reason``.
    """
    if not restriction_in_force(request):
        raise RequestError("not_restricted", "no restriction in force")
    if restriction_ends_on(request) is not None:
        raise RequestError("lift_announced", "the end of this restriction was announced")
    if not reason.strip():
        raise RequestError("lift_reason", "lifting a restriction needs a reason")
    return change(
        request, RESTRICTION_LIFTED, actor_type="staff", actor_id=staff_id,
        message=reason.strip(),
        audit_details={"ends_on": (firm_today() + timedelta(days=LIFT_NOTICE_DAYS)).isoformat()},
    )  # fmt: skip


# --- correcting the day of receipt ---------------------------------------------------------

#: How long before the day it was entered a request received by post, e-mail or phone may be
#: dated (the entry form's limit, and a correction's).
MAX_RECEIVED_AGE = timedelta(days=92)

#: The history step of staff correcting the day a request they entered was received.
RECEIVED_ON_CORRECTED = "received_on_corrected"


def entered_on(request: DataRequest) -> date:
    """The day (firm's time zone) the request was stored: the day staff entered it."""
    if request.created_at is None:  # not flushed yet
        return firm_today()
    return request.created_at.astimezone(firm_zone()).date()


def received_on_bounds(request: DataRequest) -> tuple[date, date]:
    """The first and the last day a request staff entered may be dated as received: not
    after the day it was entered (nor in the future), and at most :data:`MAX_RECEIVED_AGE`
    before that day, as the entry form allowed when it was entered."""
    latest = min(entered_on(request), firm_today())
    return entered_on(request) - MAX_RECEIVED_AGE, latest


def timely_extension_months(request: DataRequest, received_on: date) -> int:
    """The further months of the request's extension that count when it was received on
    ``received_on``: art. 12(3) requires the customer to be told of an extension within one
    month of receipt, so an extension told after that month (:func:`extension_possible`
    counted it from the day recorded then) does not count.

    An extension step does not hold its months. A request is extended at most twice, each
    time further, so two steps were one month and then two; one step was the months now
    recorded. An extension that stopped counting never counts again (never a later deadline
    than the law's).
    """
    told = sorted(
        event.created_at.astimezone(firm_zone()).date()
        for event in request.events
        if event.action == "extended" and event.created_at is not None
    )
    first_month_end = response_deadline(received_on)
    in_time = sum(1 for day in told if day <= first_month_end)
    if in_time == len(told):
        return request.extension_months
    return min(request.extension_months, in_time)


@dataclass(frozen=True)
class ReceivedOnCorrected:
    """What :func:`correct_received_on` did: the day and deadline before, the further months
    of the extension before and after, and mail to hand the queue."""

    received_on_before: date
    deadline_before: date
    extension_months_before: int
    extension_months: int
    outbox_ids: list[int]

    @property
    def extension_dropped(self) -> bool:
        """Whether (part of) the extension stopped counting (:func:`timely_extension_months`)."""
        return self.extension_months < self.extension_months_before


def correct_received_on(
    request: DataRequest, received_on: date, reason: str, *, staff_id: int
) -> ReceivedOnCorrected:
    """Correct the day a request staff entered (a letter, an e-mail, a call) was received, with
    the reason; the deadline is counted again from it (:func:`response_deadline`), with the
    extension as far as it was told in time (:func:`timely_extension_months`). A visible
    history step holds the reason; the audit entry the days before and after (no personal
    data). When the deadline moved, the customer is mailed the new one in their language
    (none for a letter writer without e-mail: staff tell them). Flushes.

    A request the customer sent in the portal was received at the moment they sent it: its day
    is exact and never corrected.

    :raises RequestError: ``portal_received`` (sent in the portal), ``final``,
        ``received_reason`` (no reason), ``received_range`` (outside
        :func:`received_on_bounds`), ``received_same`` (the day it has already).
    """
    if request.channel == RequestChannel.PORTAL.value:
        raise RequestError("portal_received", "a request sent in the portal has its exact day")
    if request.status_enum.final:
        raise RequestError("final", f"request is {request.status}")
    if not reason.strip():
        raise RequestError("received_reason", "a correction of the date received needs a reason")
    earliest, latest = received_on_bounds(request)
    if not earliest <= received_on <= latest:
        raise RequestError("received_range", "the date received is out of range")
    if received_on == request.received_on:
        raise RequestError("received_same", "the request has this date received already")
    received_before, deadline_before = request.received_on, request.deadline
    months_before = request.extension_months
    request.received_on = received_on
    request.extension_months = timely_extension_months(request, received_on)
    request.deadline = response_deadline(received_on, request.extension_months)
    # "Extended" no longer says what holds once no extension counts.
    status = (
        RequestStatus.IN_PROGRESS
        if request.status_enum is RequestStatus.EXTENDED and not request.extension_months
        else None
    )
    outbox = change(
        request, RECEIVED_ON_CORRECTED, status=status, actor_type="staff", actor_id=staff_id,
        message=reason.strip(), notify=request.deadline != deadline_before,
        audit_details={
            "received_on_before": received_before.isoformat(),
            "received_on": received_on.isoformat(),
            "deadline_before": deadline_before.isoformat(),
            "deadline": request.deadline.isoformat(),
            "extension_months_before": months_before,
            "extension_months": request.extension_months,
        },
    )  # fmt: skip
    return ReceivedOnCorrected(
        received_before, deadline_before, months_before, request.extension_months, outbox
    )


# --- e-mail ---------------------------------------------------------------------------------


def recipient_of(request: DataRequest, customer: Customer | None = None) -> str | None:
    """The address to write to about ``request``: the customer's, or the letter writer's."""
    customer = customer or (
        db.session.get(Customer, request.customer_id) if request.customer_id else None
    )
    if customer is not None:
        address = customer_email(customer)
        if address:
            return address
    email = requester_of(request).get("email")
    return str(email) if email else None


def mail_customer(
    request: DataRequest,
    action: str,
    *,
    customer: Customer | None = None,
    message: str | None = None,
) -> list[int]:
    """Queue the e-mail :data:`NOTIFY_TEMPLATES` names for ``action`` to the requester, in
    the request's language; none for a letter writer without e-mail, or an address that fits
    no mail header (staff answer another way). Flushes; returns outbox ids."""
    template = NOTIFY_TEMPLATES.get(action)
    if template is None:
        return []
    to = recipient_of(request, customer)
    if to is None:
        return []  # a letter writer without e-mail is answered by post, by staff
    try:
        row = queue_mail(
            to,
            template,
            request.locale,
            {
                "request": request,
                "details": details_of(request),
                "message": message,
                "policy": current_policy(),
                "base_url": current_app.extensions["portal.settings"].base_url,
            },
        )
    except ValueError:
        # An address that fits no mail header (one verified before addresses were checked
        # strictly): the request is stored all the same, and staff answer another way.
        log.warning("request %s: no mail sent, its address fits no mail header", request.id)
        return []
    return [row.id]


# --- deadlines ------------------------------------------------------------------------------


def open_requests_due(today: date, within_days: int) -> Sequence[DataRequest]:
    """Open requests whose deadline is within ``within_days`` of ``today`` (or past)."""
    return db.session.scalars(
        select(DataRequest)
        .where(
            DataRequest.status.not_in([s.value for s in RequestStatus if s.final]),
            DataRequest.deadline <= today + timedelta(days=within_days),
        )
        .order_by(DataRequest.deadline, DataRequest.id)
    ).all()


def kinds_summary(requests: Iterable[DataRequest]) -> dict[str, int]:
    """How many requests of each kind (for counts at the top of lists)."""
    counts: dict[str, int] = {}
    for request in requests:
        counts[request.kind] = counts.get(request.kind, 0) + 1
    return counts
