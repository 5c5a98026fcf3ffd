"""Work at the sources that requests lead to, and how the sources have been answering.

A :class:`RequestAction` is one thing to do at one source for one request: write a corrected
value back, delete or anonymise a record, or keep it (the law requires it) until a date. Rows
are written in the same transaction as the staff decision that makes them, so a worker that
dies mid-job loses nothing: the sweeper (:func:`portal.backoffice.actions.sweep`) queues
whatever is due again. Nothing is marked done that the source did not confirm, or that staff did
not confirm by hand. Nothing is written for a request that is final: its open actions are
cancelled (:func:`portal.backoffice.actions.cancel_open_actions`).

A :class:`SourceEvent` is one answer (or failure) of a source: gathering, a health check or a
write. It holds no personal data: the source key, the operation, the error kind, timings.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    and_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .requests import DataRequest


class ActionKind(StrEnum):
    """What an action does at the source."""

    CORRECT = "correct"
    DELETE = "delete"
    ANONYMISE = "anonymise"
    #: The law requires the firm to keep the record until ``keep_until``.
    KEEP = "keep"


class ActionStatus(StrEnum):
    """Where an action stands."""

    #: Written; waits for the queue (or for its next attempt after a failure).
    PENDING = "pending"
    #: Taken by a worker.
    RUNNING = "running"
    #: The source accepted it; waiting for a fresh gathering to confirm it.
    DONE = "done"
    #: A fresh gathering shows the change (or the record gone), or staff confirmed by hand.
    CONFIRMED = "confirmed"
    #: No API allows it: staff must do it by hand (``instructions``) and confirm. Also a
    #: ``done`` change that fresh reads did not confirm in time: staff check it by hand.
    MANUAL = "manual"
    #: Failed; retried automatically while ``next_attempt_at`` is set, else by staff.
    FAILED = "failed"
    #: Nothing to do (a kept record; staff decided not to).
    SKIPPED = "skipped"
    #: Not carried out: the request became final (withdrawn, refused or closed) first.
    #: ``last_error`` says why (``request_withdrawn`` ...); nothing was written at the source.
    CANCELLED = "cancelled"

    @property
    def settled(self) -> bool:
        """Whether nothing more needs doing."""
        return self in (ActionStatus.CONFIRMED, ActionStatus.SKIPPED, ActionStatus.CANCELLED)

    @property
    def cancellable(self) -> bool:
        """Whether the action may still be written to its source (cancelled when the request
        becomes final). A ``running`` one is being written; a ``done`` one was written."""
        return self in (ActionStatus.PENDING, ActionStatus.FAILED, ActionStatus.MANUAL)


class RequestAction(Base):
    """One change at one source for one request."""

    __tablename__ = "request_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("data_requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    #: The policy source key, and the record there.
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    record_type: Mapped[str] = mapped_column(String(64), nullable=False)
    record_id: Mapped[str] = mapped_column(String(128), nullable=False)
    #: The field a correction writes (``None`` for erasure).
    field: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The corrected value (JSON), encrypted; erased once confirmed.
    value_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: The :class:`connectors.errors.ErrorKind` of the last failure; never a message. Also
    #: ``unconfirmed`` (written, but fresh reads did not show it), for a cancelled action
    #: ``request_<status>`` (the request's final status), and for a kept record ``takes_along``
    #: (kept with records below it: anonymised by hand when its date comes, never deleted).
    last_error: Mapped[str | None] = mapped_column(String(32))
    #: When the sweeper tries again; ``None`` when it will not (staff must retry).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: For a kept record: until when, and the category whose retention rule keeps it.
    keep_until: Mapped[date | None] = mapped_column(Date)
    keep_category: Mapped[str | None] = mapped_column(String(64))
    #: For a kept record: the other categories it holds (policy keys, sorted), kept with it
    #: as the source keeps the whole record; the customer is told. ``None`` for a record kept
    #: before this was recorded.
    keep_also: Mapped[list[str] | None] = mapped_column(JSON)
    #: For an erasure: the action of the same request on the nearest record above this one at
    #: the same source (a help desk user above its tickets), if there is one. Staff do not
    #: change that record by hand while this action is unsettled, as the source finds this
    #: record through it (``unsettled_below`` in :mod:`portal.backoffice.actions`). ``None``
    #: for an action made before this was recorded.
    parent_action_id: Mapped[int | None] = mapped_column(
        ForeignKey("request_actions.id", ondelete="SET NULL")
    )
    #: Where to make the change by hand (vendor UI path and API path; no values).
    instructions: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The staff member who confirmed a manual change (``None`` when a gathering confirmed).
    confirmed_by: Mapped[int | None] = mapped_column(Integer)

    request: Mapped[DataRequest] = relationship()

    @hybrid_property
    def follow_up(self) -> bool:
        """A kept record whose retention has ended: to delete now, whatever the state of the
        request it was kept for (:func:`portal.retention.due_kept`). Also a SQL condition."""
        return self.keep_until is not None and self.action != ActionKind.KEEP.value

    @follow_up.inplace.expression
    @classmethod
    def _follow_up_expression(cls) -> ColumnElement[bool]:
        return and_(cls.keep_until.is_not(None), cls.action != ActionKind.KEEP.value)

    @property
    def status_enum(self) -> ActionStatus:
        return ActionStatus(self.status)

    def __repr__(self) -> str:
        return f"RequestAction(id={self.id}, action={self.action!r}, status={self.status!r})"


class SourceEvent(Base):
    """One answer or failure of a source. No personal data."""

    __tablename__ = "source_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    #: ``gather``, ``check`` or ``write``.
    operation: Mapped[str] = mapped_column(String(16), nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    #: ``complete``/``partial``/``failed``/``skipped`` for a gathering; else ``ok``/``failed``.
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    elapsed_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, nullable=False, index=True
    )

    def __repr__(self) -> str:
        return f"SourceEvent(id={self.id}, source={self.source!r}, ok={self.ok})"
