"""Changes at the sources: corrections written back and records erased, from the task queue.

The life of an action (:class:`~portal.models.RequestAction`):

1. Staff approve a correction or an erasure; :func:`add_correction` / :func:`add_erasure` /
   :func:`add_kept` write the actions in the same transaction as that decision. After the
   commit the caller hands their ids to the queue (:func:`enqueue`).
2. :func:`run` (a queue task) writes through the source's connector, with the customer's
   verified identity so the connector re-reads the record and refuses if it no longer matches.
   Where the connector cannot do it (no API), the action becomes ``manual`` with exact
   instructions for staff (:meth:`~connectors.base.BaseConnector.describe_target`). A change
   staff make by hand to a record waits until the actions below it (a help desk user's ticket
   deletions) are settled: the source finds those records through it (:func:`unsettled_below`).
3. The change is then confirmed by reading that record again (:func:`confirm`): the new value
   is there, or the record is gone. Only then is the action ``confirmed``; a manual action is
   confirmed by the staff member who made the change. Reads that do not confirm it are repeated
   ever further apart for :data:`CONFIRM_WINDOW`; then the action becomes ``manual`` for staff
   to check (``last_error`` says why), and staff may confirm a ``done`` action by hand.
4. A failure that may pass (source down, timeout, rate limit) is retried with backoff; one that
   will not (refused, credentials, the record no longer matching, a bug: ``internal``) waits
   for staff to retry. :func:`sweep` re-queues whatever is due, including work a killed worker
   left ``running``.
5. Nothing is written for a request that is final (withdrawn, refused, closed): :func:`run`
   claims an action only while its request is open, and the request's open actions are
   ``cancelled`` (:func:`cancel_open_actions` when it becomes final; :func:`sweep` as the
   safety net). A change already written (``done``) cannot be taken back and is still confirmed.

Task arguments are action ids only; the corrected value is stored encrypted and erased once
the change is confirmed.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
from flask import current_app
from sqlalchemy import ColumnElement, and_, exists, or_, select

from connectors.base import (
    IDENTIFIER_FIELDS,
    BaseConnector,
    Record,
    RecordRef,
    same_value,
)
from connectors.errors import ConnectorError, ErrorKind, NotSupported
from connectors.http import Deadline
from connectors.identity import (
    DEFAULT_REGION,
    Identifier,
    IdentifierKind,
    Identity,
    InvalidIdentifier,
    try_normalize,
)

from .. import crypto
from ..audit import record as audit
from ..auth.services import verified_identity
from ..dsr.erasure import TAKES_ALONG
from ..extensions import db
from ..gathering.sources import build_sources
from ..models import (
    ActionKind,
    ActionStatus,
    Customer,
    DataRequest,
    GatheredSnapshot,
    RequestAction,
    RequestStatus,
    utcnow,
)
from ..policy import current_policy
from ..settings import firm_today
from . import health

log = logging.getLogger(__name__)

#: Automatic attempts for failures that may pass; after that staff retry by hand.
MAX_ATTEMPTS = 6
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=2)
#: A ``running`` action older than this was left by a worker that died.
STALE_RUNNING = timedelta(minutes=10)
#: How long one write (with its re-read) may take.
WRITE_BUDGET = 30.0
#: Failures worth trying again by themselves.
TRANSIENT = frozenset({ErrorKind.DOWN, ErrorKind.TIMEOUT, ErrorKind.RATE_LIMITED})
#: A written change is read back right away, then ever further apart (the time since it was
#: written, at least :data:`BACKOFF_BASE`: 1, 2, 4 ... minutes, about nine reads in all); when
#: it is still not confirmed after this long it goes to staff (``manual``).
CONFIRM_WINDOW = timedelta(hours=2)
#: ``last_error`` of a written change that fresh reads did not show.
UNCONFIRMED = "unconfirmed"
#: Request statuses after which nothing is written at the sources any more.
FINAL_REQUEST = tuple(status.value for status in RequestStatus if status.final)
#: Action statuses that are cancelled when their request becomes final.
CANCELLABLE = tuple(status.value for status in ActionStatus if status.cancellable)


@dataclass(frozen=True)
class CorrectionItem:
    """One corrected field of one record."""

    source: str
    record_type: str
    record_id: str
    field: str
    value: Any


# --- creating -------------------------------------------------------------------------------


def _new(request: DataRequest, source: str, record_type: str, record_id: str, **values: Any):
    action = RequestAction(
        request_id=request.id,
        source=source,
        record_type=record_type,
        record_id=str(record_id),
        **values,
    )
    db.session.add(action)
    return action


def add_correction(request: DataRequest, item: CorrectionItem) -> RequestAction:
    """A correction to write back. Flushes; the caller commits and :func:`enqueue`\\ s it."""
    action = _new(
        request, item.source, item.record_type, item.record_id,
        field=item.field, action=ActionKind.CORRECT.value,
        value_encrypted=crypto.encrypt(json.dumps(item.value, ensure_ascii=False)),
        status=ActionStatus.PENDING.value, next_attempt_at=utcnow(),
    )  # fmt: skip
    db.session.flush()
    return action


def add_erasure(
    request: DataRequest, source: str, record_type: str, record_id: str, *, anonymise: bool
) -> RequestAction:
    """A record to delete (or anonymise) at its source. Flushes."""
    kind = ActionKind.ANONYMISE if anonymise else ActionKind.DELETE
    action = _new(
        request, source, record_type, record_id, action=kind.value,
        status=ActionStatus.PENDING.value, next_attempt_at=utcnow(),
    )  # fmt: skip
    db.session.flush()
    return action


def add_kept(
    request: DataRequest,
    source: str,
    record_type: str,
    record_id: str,
    *,
    until: date | None,
    category: str | None,
    also: Iterable[str] = (),
    reason: str | None = None,
) -> RequestAction:
    """A record the law requires the firm to keep because of ``category``: nothing to do
    until ``until``. ``also`` are the other categories the record holds, kept with it.
    ``reason`` :data:`~portal.dsr.erasure.TAKES_ALONG`: kept because deleting it would take
    along records below it that stay (kept in ``last_error``, which a kept row has no other
    use for); when its date comes it is anonymised by hand, never deleted. Flushes."""
    action = _new(
        request, source, record_type, record_id, action=ActionKind.KEEP.value,
        status=ActionStatus.SKIPPED.value, keep_until=until, keep_category=category,
        keep_also=sorted(set(also) - {category}), last_error=reason,
    )  # fmt: skip
    db.session.flush()
    return action


def actions_of(request: DataRequest) -> list[RequestAction]:
    """A request's actions in the order they were made."""
    return list(
        db.session.scalars(
            select(RequestAction)
            .where(RequestAction.request_id == request.id)
            .order_by(RequestAction.id)
        )
    )


def value_of(action: RequestAction) -> Any:
    """The corrected value of a correction (``None`` once erased after confirmation)."""
    if action.value_encrypted is None:
        return None
    return json.loads(crypto.decrypt_text(action.value_encrypted))


def all_settled(request: DataRequest) -> bool:
    """Whether every action of the request is confirmed or has nothing to do."""
    return all(a.status_enum.settled for a in actions_of(request))


def enqueue(action_ids: Iterable[int]) -> None:
    """Hand committed actions to the queue. Never raises: the sweeper is the safety net."""
    from .tasks import run_action

    for action_id in action_ids:
        try:
            run_action(action_id)
        except Exception:  # noqa: BLE001 - a broken queue must not break the page
            log.exception("could not enqueue action %s; the sweeper will", action_id)


# --- running --------------------------------------------------------------------------------


def _connector(source: str) -> tuple[BaseConnector | None, ErrorKind | None, Any]:
    settings = current_app.extensions["portal.settings"]
    policy = current_policy()
    only = [s for s in policy.sources if s.key == source]
    if not only:
        return None, ErrorKind.NOT_CONFIGURED, None
    built = build_sources(
        policy.model_copy(update={"sources": tuple(only)}),
        settings.connectors,
        Path(current_app.instance_path),
    )
    connector = built.connectors.get(source)
    return connector, built.unavailable.get(source), built


def _identity(request: DataRequest) -> Identity | None:
    customer = db.session.get(Customer, request.customer_id) if request.customer_id else None
    return verified_identity(customer) if customer is not None else None


def _with_new_value(
    action: RequestAction, connector: BaseConnector, identity: Identity
) -> Identity:
    """``identity`` plus the new values of the corrections of an identifier (an e-mail address
    or phone number) that the action's request makes to the action's record, else ``identity``
    itself.

    Once such a correction is written, the record no longer shows the old value, so it is
    matched on the old identifiers or the new value: still exactly (the base class's rule), and
    only ever to read or rewrite this one record, whose field is set to that value anyway. The
    other corrections of the same record in the same request count too: after the e-mail
    address is written, the name is written to (and confirmed on) a record that only the new
    address still matches.
    """
    siblings = _same_record(action)
    if action.action == ActionKind.CORRECT.value and action not in siblings:
        siblings.append(action)
    extra: set[Identifier] = set()
    for other in siblings:
        if other.field is None:
            continue
        spec = connector.correctable_fields(other.record_type).get(other.field)
        kind = IDENTIFIER_FIELDS.get(spec.kind) if spec is not None else None
        value = value_of(other)
        if kind is None or not isinstance(value, str):
            continue
        try:
            extra.add(Identifier(kind, value))
        except (InvalidIdentifier, ValueError):
            continue
    return Identity(identity.identifiers | extra) if extra else identity


def _ref(action: RequestAction) -> RecordRef:
    return RecordRef(action.source, action.record_type, action.record_id)


def _backoff(attempts: int) -> timedelta:
    delay = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    return delay * (1 + random.random() / 5)  # noqa: S311 - jitter, not security


#: Failures that are the source's answer about one record, not the source failing.
RECORD_ANSWERS = frozenset({ErrorKind.REJECTED.value, ErrorKind.MISMATCH.value})


def _fail(action: RequestAction, kind: ErrorKind, retry_after: float | None = None) -> None:
    """Mark ``action`` failed; one that may pass is tried again after the backoff, and not
    before the ``retry_after`` seconds the source asked us to wait (a 429's or 503's
    ``Retry-After``: asking earlier only uses up one of the :data:`MAX_ATTEMPTS`)."""
    action.status = ActionStatus.FAILED.value
    action.last_error = kind.value
    retry = kind in TRANSIENT and action.attempts < MAX_ATTEMPTS
    delay = _backoff(action.attempts)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    action.next_attempt_at = utcnow() + delay if retry else None
    if not retry:
        log.error(
            "action %s at %s failed (%s); staff must retry", action.id, action.source, kind.value
        )


def _request_open() -> ColumnElement[bool]:
    """EXISTS: the action's request is not final (correlated to ``request_actions``)."""
    return exists().where(
        DataRequest.id == RequestAction.request_id, DataRequest.status.not_in(FINAL_REQUEST)
    )


def _may_run() -> ColumnElement[bool]:
    """The action may be carried out: its request is open, or it is the deletion of a kept
    record whose retention ended (owed whatever became of the request)."""
    return or_(_request_open(), RequestAction.follow_up)


def _cancel(action: RequestAction, request_status: str) -> bool:
    """Cancel ``action`` if it is still open; conditional, so a worker's claim wins a race.

    The corrected value is erased: it was never written and never will be.
    """
    reason = f"request_{request_status}"
    cancelled = db.session.execute(
        RequestAction.__table__.update()
        .where(
            RequestAction.id == action.id,
            RequestAction.status.in_(CANCELLABLE),
            # a kept record due for deletion is owed whatever became of its request
            RequestAction.keep_until.is_(None),
        )
        .values(
            status=ActionStatus.CANCELLED.value, last_error=reason, next_attempt_at=None,
            value_encrypted=None, updated_at=utcnow(),
        )
    ).rowcount  # type: ignore[attr-defined]  # fmt: skip
    if cancelled:
        audit(
            "action.cancelled", actor_type="system", subject_type="request",
            subject_id=action.request_id,
            details={"action": action.id, "kind": action.action, "source": action.source,
                     "reason": reason},
        )  # fmt: skip
        log.info("action %s at %s cancelled (%s)", action.id, action.source, reason)
    db.session.expire(action)
    return bool(cancelled)


def cancel_open_actions(request: DataRequest) -> int:
    """Cancel the request's actions that were not written yet; call it when it becomes final.

    Marks its ``pending``, ``failed`` and ``manual`` actions ``cancelled`` (``last_error``
    ``request_<status>``, e.g. ``request_withdrawn``) and erases their corrected values, so no
    worker, sweeper or staff retry writes them. A ``running`` one is left to its worker, which
    writes nothing once the request is final, or cancels it when it fails; a ``done`` one was
    written already and is still confirmed. Call it after setting the final status, in the
    same transaction (before that, the reason is ``request_closed``). Flushes; the caller
    commits. Returns how many were cancelled.
    """
    status = request.status if request.status_enum.final else "closed"
    count = 0
    for action in actions_of(request):
        if action.status_enum.cancellable and _cancel(action, status):
            count += 1
    # New addresses kept for a record's other corrections (:func:`_drop_written_values`).
    db.session.execute(
        RequestAction.__table__.update()
        .where(
            RequestAction.request_id == request.id,
            RequestAction.status == ActionStatus.CONFIRMED.value,
        )
        .values(value_encrypted=None)
    )
    db.session.flush()
    return count


def run(action_id: int) -> str:
    """Carry out one action (the queue task's body). Commits. Returns the resulting status.

    The claim (and its attempt) is committed before the source is called, and only while the
    request is open. An unexpected exception marks the action ``failed`` (``internal``) for
    staff to retry instead of leaving it ``running``.
    """
    now = utcnow()
    claimed = db.session.execute(
        RequestAction.__table__.update()
        .where(
            RequestAction.id == action_id,
            RequestAction.status.in_([ActionStatus.PENDING.value, ActionStatus.FAILED.value]),
            or_(RequestAction.next_attempt_at.is_(None), RequestAction.next_attempt_at <= now),
            _may_run(),
        )
        .values(
            status=ActionStatus.RUNNING.value,
            updated_at=now,
            attempts=RequestAction.__table__.c.attempts + 1,
        )
    )
    db.session.commit()
    action = db.session.get(RequestAction, action_id)
    if action is None:
        return "missing"
    if not claimed.rowcount:  # type: ignore[attr-defined]
        if action.status == ActionStatus.DONE.value:
            return confirm(action)
        if action.status_enum.cancellable and action.request.status_enum.final:
            _cancel(action, action.request.status)
            db.session.commit()
        return action.status  # someone else has it, nothing is due, or cancelled
    try:
        _carry_out(action)
    except Exception as exc:  # noqa: BLE001 - never leave it running; staff see it
        return _internal_error(action_id, exc)
    if action.status_enum.cancellable and action.request.status_enum.final:
        # The request became final while the source was called, and nothing was written.
        _cancel(action, action.request.status)
        db.session.commit()
    if action.status == ActionStatus.DONE.value:
        return confirm(action)
    return action.status


def _carry_out(action: RequestAction) -> None:
    """Write a claimed action to its source and record the outcome. Commits."""
    request = action.request
    identity = _identity(request)
    started = time.monotonic()
    connector, unavailable, built = _connector(action.source)
    try:
        if connector is None:
            _fail(action, unavailable or ErrorKind.NOT_CONFIGURED)
        elif _would_delete(action, connector):
            # Anonymised by hand, as deleting it would take along records that stay (see
            # portal.dsr.erasure.decide_all): never handed to an API that deletes it. A record
            # its API cannot erase at all has its connector's own steps, where it has some.
            _manual(action, connector, _by_hand_reason(action, connector) or TAKES_ALONG)
        elif identity is None or not identity.identifiers:
            # Nobody to check the record against (a letter writer without an account): a
            # person must look.
            _manual(action, connector)
        else:
            _write(action, connector, identity)
    finally:
        if built is not None:
            built.close()
    action.updated_at = utcnow()
    failed = action.status == ActionStatus.FAILED.value
    # A refusal of this one record (a 422, a 403 on it) or a record that is no longer the
    # customer's is the source answering as it should: not a sign the source is failing.
    source_failed = failed and action.last_error not in RECORD_ANSWERS
    health.record(
        action.source, "write", ok=not source_failed,
        outcome="failed" if source_failed else "ok",
        error_kind=action.last_error if source_failed else None,
        elapsed=time.monotonic() - started,
    )  # fmt: skip
    audit(
        f"action.{action.status}", actor_type="system", subject_type="request",
        subject_id=request.id,
        details={"action": action.id, "kind": action.action, "source": action.source,
                 "error": action.last_error if action.status == "failed" else None},
    )  # fmt: skip
    db.session.commit()


def _where(exc: BaseException) -> str:
    """Where an exception was raised (file:line), without its message: no personal data."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno}"


def _internal_error(action_id: int, exc: Exception) -> str:
    """Mark a claimed action ``failed`` (``internal``, no automatic retry). Commits."""
    log.error(
        "action %s: unexpected %s at %s; marked failed, staff must retry",
        action_id, type(exc).__name__, _where(exc),
    )  # fmt: skip
    db.session.rollback()
    action = db.session.get(RequestAction, action_id)
    if action is None:
        return "missing"
    action.status = ActionStatus.FAILED.value
    action.last_error = ErrorKind.INTERNAL.value
    action.next_attempt_at = None
    action.updated_at = utcnow()
    health.record(
        action.source, "write", ok=False, outcome="failed", error_kind=ErrorKind.INTERNAL.value
    )
    audit(
        "action.failed", actor_type="system", subject_type="request",
        subject_id=action.request_id,
        details={"action": action.id, "kind": action.action, "source": action.source,
                 "error": ErrorKind.INTERNAL.value},
    )  # fmt: skip
    db.session.commit()
    return action.status


def describe_follow_ups(due: Iterable[RequestAction]) -> None:
    """Set where staff find each kept record now due for deletion (for the step by hand): its
    source's own words for the place, else the source, kind and id. One connector per source."""
    by_source: dict[str, list[RequestAction]] = {}
    for action in due:
        by_source.setdefault(action.source, []).append(action)
    for source, some in by_source.items():
        connector, _unavailable, built = _connector(source)
        try:
            for action in some:
                action.instructions = _place_of(action, connector)
        finally:
            if built is not None:
                built.close()


def _place_of(action: RequestAction, connector: BaseConnector | None) -> str:
    if connector is not None:
        try:
            return connector.describe_target(_ref(action))
        except Exception:  # noqa: BLE001 - the plain reference below is enough to act on
            log.warning("no description of a kept record at %s", action.source)
    return f"{action.source} › {action.record_type} #{action.record_id}"


def _would_delete(action: RequestAction, connector: BaseConnector) -> bool:
    """Whether ``action`` is to anonymise a record that its connector erases otherwise (it
    deletes it, or cannot): staff anonymise it by hand."""
    return (
        action.action == ActionKind.ANONYMISE.value
        and connector.erasure_action(action.record_type) != "anonymise"
    )


def _by_hand_reason(action: RequestAction, connector: BaseConnector) -> str | None:
    """The connector's own reason, with its steps, for a record its API cannot erase."""
    if connector.erasure_action(action.record_type) != "none":
        return None
    return connector.erased_by_hand.get(action.record_type)


def _manual(action: RequestAction, connector: BaseConnector, reason: str | None = None) -> None:
    """Left to staff, with where the record is; ``reason`` says why when the system's API
    cannot do it for this record only (shown in words: :data:`.health.FAILURE_KINDS`)."""
    action.status = ActionStatus.MANUAL.value
    action.next_attempt_at = None
    action.last_error = reason
    action.instructions = connector.describe_target(_ref(action), action.field)


def _write(action: RequestAction, connector: BaseConnector, identity: Identity) -> None:
    ref = _ref(action)
    deadline = Deadline(WRITE_BUDGET)
    try:
        if action.action == ActionKind.CORRECT.value:
            assert action.field is not None
            # A retry after the value was written (a worker that died) finds the new value.
            connector.apply_correction(
                ref, action.field, value_of(action),
                identity=_with_new_value(action, connector, identity), deadline=deadline,
            )  # fmt: skip
        else:
            connector.erase(ref, identity=identity, deadline=deadline)
    except NotSupported as exc:
        _manual(action, connector, exc.reason)
        return
    except ConnectorError as exc:
        # a 429's (or a 503's) Retry-After: the source said when to come back
        _fail(action, exc.kind, getattr(exc, "retry_after", None))
        return
    action.status = ActionStatus.DONE.value
    action.done_at = utcnow()
    action.last_error = None
    action.next_attempt_at = None


def confirm(action: RequestAction) -> str:
    """Read the record again and confirm a ``done`` action. Commits; returns the status.

    A correction is confirmed when the record shows the new value (the record is matched on
    the customer's verified identifiers or, for a corrected e-mail address or phone number, the
    new value); an erasure when the record no longer appears for the customer (deleted, or
    anonymised so it holds none of their identifiers, nor any personal field its connector
    knows of: :meth:`~connectors.base.BaseConnector.still_personal`). When a read does not
    confirm it (the source cannot be read, or does not show the change yet) the action stays
    ``done`` and is read again later, ever further apart; after :data:`CONFIRM_WINDOW` it goes
    to staff.
    """
    if action.status != ActionStatus.DONE.value:
        return action.status
    identity = _identity(action.request)
    if identity is None or not identity.identifiers:
        # Nothing to read the source with, now or later: a person must look.
        return _unconfirmed(action, ErrorKind.NO_IDENTIFIER.value, None, give_up=True)
    connector, unavailable, built = _connector(action.source)
    if connector is None:
        return _unconfirmed(action, (unavailable or ErrorKind.NOT_CONFIGURED).value, None)
    try:
        lookup = _with_new_value(action, connector, identity)
        result = connector.fetch(lookup, deadline=Deadline(WRITE_BUDGET))
    except ConnectorError as exc:
        return _unconfirmed(action, exc.kind.value, connector)
    except Exception as exc:  # noqa: BLE001 - a connector bug must not stop the confirming
        log.error(
            "action %s: unexpected %s at %s while confirming",
            action.id, type(exc).__name__, _where(exc),
        )  # fmt: skip
        return _unconfirmed(action, ErrorKind.INTERNAL.value, connector)
    finally:
        if built is not None:
            built.close()
    record = _find(result.records, action)
    if record is None and result.missing:
        # It may be in a list that could not be read: cannot tell.
        return _unconfirmed(action, result.missing[0].kind.value, connector)
    if action.action == ActionKind.CORRECT.value:
        assert action.field is not None
        spec = connector.correctable_fields(action.record_type).get(action.field)
        confirmed = record is not None and same_value(
            record.fields.get(action.field), value_of(action), spec.kind if spec else None
        )
    elif action.action == ActionKind.ANONYMISE.value:
        # The record may stay (an order for the books), but nothing of theirs: not their
        # e-mail address or phone number, nor any other personal field the connector knows of
        # (an order's IP address, browser, delivery note).
        confirmed = record is None or (
            not _holds_identifier(record.fields, identity) and not connector.still_personal(record)
        )
    else:
        # A record in the vendor's trash is erased as far as its API allows; the vendor
        # empties the trash itself (the customer's overview says so meanwhile).
        confirmed = record is None or connector.awaits_purge(record)
    if not confirmed:
        return _unconfirmed(action, UNCONFIRMED, connector)
    _settle(action, staff_id=None)
    # The customer's held data is out of date now: the next view gathers afresh.
    if action.request.customer_id is not None:
        db.session.execute(
            GatheredSnapshot.__table__.delete().where(
                GatheredSnapshot.customer_id == action.request.customer_id
            )
        )
    db.session.commit()
    return action.status


def _find(records: Iterable[Record], action: RequestAction) -> Record | None:
    return next(
        (
            r
            for r in records
            if r.ref.record_type == action.record_type and r.ref.record_id == action.record_id
        ),
        None,
    )


def _unconfirmed(
    action: RequestAction, reason: str, connector: BaseConnector | None, *, give_up: bool = False
) -> str:
    """A read did not confirm a ``done`` action: read again later, or hand it to staff once
    :data:`CONFIRM_WINDOW` has passed since it was written. Commits; returns the status."""
    now = utcnow()
    written = action.done_at or action.updated_at or now
    since = now - written
    if not give_up and since < CONFIRM_WINDOW:
        action.next_attempt_at = now + max(BACKOFF_BASE, since)
        action.last_error = reason[:32]  # staff see why it waits, and when it is read again
        db.session.commit()
        return action.status
    action.status = ActionStatus.MANUAL.value
    action.last_error = reason[:32]
    action.next_attempt_at = None
    action.updated_at = now
    if connector is not None:
        action.instructions = connector.describe_target(_ref(action), action.field)
    log.warning(
        "action %s at %s written but not confirmed (%s); staff must check",
        action.id, action.source, reason,
    )  # fmt: skip
    audit(
        "action.unconfirmed", actor_type="system", subject_type="request",
        subject_id=action.request_id,
        details={"action": action.id, "kind": action.action, "source": action.source,
                 "reason": reason},
    )  # fmt: skip
    db.session.commit()
    return action.status


def _strings(value: Any) -> Iterator[str]:
    """Every scalar in a record's fields (nested mappings and lists too), as text."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item)
    else:
        yield str(value)


def _text_holds(text: str, identifier: Identifier) -> bool:
    """Whether a vendor value is, or contains, ``identifier`` once normalised like it."""
    if try_normalize(identifier.kind, text) == identifier.value:
        return True
    if identifier.kind is IdentifierKind.EMAIL:
        return identifier.value in text.lower()  # also inside a note or an address line
    if identifier.kind is IdentifierKind.PHONE:
        return any(
            phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
            == identifier.value
            for m in phonenumbers.PhoneNumberMatcher(
                text, DEFAULT_REGION, leniency=phonenumbers.Leniency.POSSIBLE
            )
        )
    return re.search(rf"(?<![\w-]){re.escape(identifier.value)}(?![\w-])", text) is not None


def _holds_identifier(fields: Any, identity: Identity) -> bool:
    """Whether a record still holds one of the customer's identifiers, in any format the
    vendor writes it (``06-12345678`` is ``+31612345678``; ``Sanne@X.nl`` is ``sanne@x.nl``)."""
    return any(
        _text_holds(text, identifier)
        for text in _strings(fields)
        for identifier in identity.identifiers
    )


def _settle(action: RequestAction, *, staff_id: int | None) -> None:
    action.status = ActionStatus.CONFIRMED.value
    action.confirmed_at = utcnow()
    action.confirmed_by = staff_id
    action.next_attempt_at = None
    _drop_written_values(action)
    if action.follow_up and action.request.anonymised_at is not None:
        # the request was anonymised while this was owed: now nothing is left to find
        from ..retention import ANONYMISED_RECORD

        action.record_id = ANONYMISED_RECORD
        action.instructions = None
    audit(
        "action.confirmed", actor_type="staff" if staff_id else "system", actor_id=staff_id,
        subject_type="request", subject_id=action.request_id,
        details={"action": action.id, "kind": action.action, "source": action.source},
    )  # fmt: skip


def _same_record(action: RequestAction) -> list[RequestAction]:
    """The corrections the action's request makes to the action's record (the action too)."""
    return list(
        db.session.scalars(
            select(RequestAction).where(
                RequestAction.request_id == action.request_id,
                RequestAction.action == ActionKind.CORRECT.value,
                RequestAction.source == action.source,
                RequestAction.record_type == action.record_type,
                RequestAction.record_id == action.record_id,
            )
        )
    )


def _drop_written_values(action: RequestAction) -> None:
    """Erase the corrected value of a settled action: the source holds it now.

    Except while another correction of the same record in the same request is still to be
    written: a new e-mail address or phone number is how that record is found then
    (:func:`_with_new_value`), so the record's values (encrypted) go together with the last of
    its corrections, or with the request when it becomes final (:func:`cancel_open_actions`).
    """
    if action.action != ActionKind.CORRECT.value:
        action.value_encrypted = None
        return
    db.session.flush()
    siblings = _same_record(action)
    if all(other.status_enum.settled for other in siblings):
        for other in siblings:
            other.value_encrypted = None


class WaitsForBelow(ValueError):
    """A change staff would make by hand waits for the actions below it (:attr:`count`)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} actions below it are not settled")
        self.count = count


#: Statuses of an action that staff carry out by hand (a ``done`` one was written already).
BY_HAND = (ActionStatus.MANUAL.value, ActionStatus.FAILED.value)


def unsettled_below(rows: Iterable[RequestAction]) -> dict[int, int]:
    """Per action of ``rows`` (one request's) that staff would carry out by hand now, how many
    actions below it (:attr:`~portal.models.RequestAction.parent_action_id`, its children
    and theirs) are not settled yet; only those with any.

    Its change waits for them: anonymising a help desk user by hand first would leave the
    deletions of its tickets, which the source finds through the user's e-mail address, to
    fail as no longer the customer's (``mismatch``), or unconfirmable by a fresh read; so
    would deleting it, which takes them along. Once each below is confirmed, skipped or
    cancelled (or, failed for good, confirmed by staff), it is carried out as any other."""
    every = list(rows)
    children: dict[int, list[RequestAction]] = {}
    for row in every:
        if row.parent_action_id is not None:
            children.setdefault(row.parent_action_id, []).append(row)
    waiting: dict[int, int] = {}
    for row in every:
        if row.status not in BY_HAND:
            continue
        count, seen, todo = 0, {row.id}, list(children.get(row.id, ()))
        while todo:
            below = todo.pop()
            if below.id in seen:
                continue
            seen.add(below.id)
            count += not below.status_enum.settled
            todo.extend(children.get(below.id, ()))
        if count:
            waiting[row.id] = count
    return waiting


def confirm_by_hand(action: RequestAction, *, staff_id: int) -> None:
    """Staff made (or checked) the change themselves: a ``manual`` or ``failed`` action, or a
    ``done`` one that fresh reads have not confirmed yet. Flushes.

    :raises WaitsForBelow: a ``manual`` or ``failed`` one while actions below it are not
        settled (:func:`unsettled_below`): staff make that change after them.
    :raises ValueError: for another status.
    """
    if action.status not in (*BY_HAND, ActionStatus.DONE.value):
        raise ValueError(f"action is {action.status}")
    waiting = unsettled_below(actions_of(action.request)).get(action.id)
    if waiting:
        raise WaitsForBelow(waiting)
    _settle(action, staff_id=staff_id)
    db.session.flush()


def set_keep_until(
    action: RequestAction, until: date, *, staff_id: int, today: date | None = None
) -> None:
    """Staff checked until when a record kept by law must be kept (its date could not be read
    from the record): from then on it becomes a step to delete it like any other
    (:func:`portal.retention.due_kept`), also on a finished request. Flushes.

    Not a day before ``today``: the customer is told it is kept until that day. A record whose
    retention has ended is kept until today, and becomes a step to delete it tomorrow.

    :raises ValueError: for an action that is no kept record without a date, or a day in the
        past.
    """
    if (
        action.action != ActionKind.KEEP.value
        or action.status != ActionStatus.SKIPPED.value
        or action.keep_until is not None
    ):
        raise ValueError("not a kept record without a date")
    if until < (today or firm_today()):
        raise ValueError("a kept record is not kept until a day in the past")
    action.keep_until = until
    action.updated_at = utcnow()
    audit(
        "action.keep_until_set", actor_type="staff", actor_id=staff_id, subject_type="request",
        subject_id=action.request_id, details={"action": action.id, "until": until.isoformat()},
    )  # fmt: skip
    db.session.flush()


def retry(action: RequestAction, *, staff_id: int) -> None:
    """Put a failed (or manual) action back in the queue. Flushes; caller commits, enqueues.

    :raises ValueError: for another status, or when the request is final (nothing is written
        for it any more).
    """
    if action.status not in (ActionStatus.FAILED.value, ActionStatus.MANUAL.value):
        raise ValueError(f"action is {action.status}")
    if action.request.status_enum.final and not action.follow_up:
        raise ValueError(f"request is {action.request.status}")
    action.status = ActionStatus.PENDING.value
    action.next_attempt_at = utcnow()
    audit(
        "action.retried", actor_type="staff", actor_id=staff_id, subject_type="request",
        subject_id=action.request_id, details={"action": action.id},
    )  # fmt: skip
    db.session.flush()


def sweep(now: datetime | None = None) -> int:
    """Queue every action that is due again, take back ones a dead worker left running, and
    cancel the open actions of requests that are final.

    Returns how many were queued.
    """
    now = now or utcnow()
    stale = db.session.scalars(
        select(RequestAction).where(
            RequestAction.status == ActionStatus.RUNNING.value,
            RequestAction.updated_at <= now - STALE_RUNNING,
        )
    ).all()
    for action in stale:
        if action.attempts >= MAX_ATTEMPTS:
            # Taken up again and again and never finished: something kills it; staff look.
            action.status = ActionStatus.FAILED.value
            action.last_error = ErrorKind.INTERNAL.value
            action.next_attempt_at = None
            log.error("action %s at %s never finished; staff must retry", action.id, action.source)
        else:
            action.status = ActionStatus.PENDING.value
            action.next_attempt_at = now
    db.session.commit()
    final = db.session.execute(
        select(RequestAction, DataRequest.status)
        .join(DataRequest, DataRequest.id == RequestAction.request_id)
        .where(RequestAction.status.in_(CANCELLABLE), DataRequest.status.in_(FINAL_REQUEST))
    ).all()
    for action, request_status in final:
        _cancel(action, request_status)
    db.session.commit()
    due = list(
        db.session.scalars(
            select(RequestAction.id).where(
                RequestAction.status.in_(
                    [ActionStatus.PENDING.value, ActionStatus.FAILED.value, ActionStatus.DONE.value]
                ),
                or_(
                    and_(
                        RequestAction.status == ActionStatus.DONE.value,
                        or_(
                            RequestAction.next_attempt_at.is_(None),
                            RequestAction.next_attempt_at <= now,
                        ),
                    ),
                    and_(
                        RequestAction.status != ActionStatus.DONE.value,
                        RequestAction.next_attempt_at.is_not(None),
                        RequestAction.next_attempt_at <= now,
                        _may_run(),
                    ),
                ),
            )
        )
    )
    enqueue(due)
    return len(due)
