"""Data subject requests (GDPR art. 15-22, 7(3)) and their history.

A request is stored, with its receipt e-mail in the outbox, in one transaction *before* the
customer is told it was received (:func:`portal.dsr.services.submit`). What the customer asked
(field values, explanations, a question) is personal data and is stored encrypted; the columns
in the clear hold only what the queue sorts and filters on: the kind, the status, the scope by
policy keys (sources, categories, purposes) and the dates.

Every change of status and every message between customer and firm is a
:class:`RequestEvent`, so the history shown to the customer and to staff is the table itself.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow


class RequestKind(StrEnum):
    """What the data subject asks for."""

    #: Art. 15: access (and a copy). In the portal the overview and export answer this; staff
    #: enter it for someone who wrote a letter.
    ACCESS = "access"
    #: Art. 16: correct one or more fields.
    CORRECTION = "correction"
    #: Art. 17: erase all data, or that of some sources or categories.
    ERASURE = "erasure"
    #: Art. 18: restrict processing.
    RESTRICTION = "restriction"
    #: Art. 21: object to processing on legitimate interests.
    OBJECTION = "objection"
    #: Art. 7(3): withdraw consent for a consent-based purpose.
    WITHDRAW_CONSENT = "withdraw_consent"
    #: Art. 20: data portability (a copy in a machine-readable form, entered by staff).
    PORTABILITY = "portability"
    #: A free question to the privacy contact.
    QUESTION = "question"


class RequestStatus(StrEnum):
    """Where a request stands. ``done``, ``refused`` and ``withdrawn`` are final."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    EXTENDED = "extended"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"
    DONE = "done"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"

    @property
    def final(self) -> bool:
        """Whether nothing more happens to the request."""
        return self in (RequestStatus.DONE, RequestStatus.REFUSED, RequestStatus.WITHDRAWN)


class RequestChannel(StrEnum):
    """How the request reached the firm."""

    PORTAL = "portal"
    EMAIL = "email"
    POST = "post"
    PHONE = "phone"


class DataRequest(Base):
    """One data subject request."""

    __tablename__ = "data_requests"
    __table_args__ = (UniqueConstraint("customer_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: What the customer and staff quote: ``AVG-`` and eight unambiguous characters. Random,
    #: so a reference says nothing about how many requests the firm has.
    reference: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    #: The customer, while the portal knows them; ``None`` after the portal forgot them (the
    #: request stays, anonymised, as proof that it was handled) or for a letter writer who has
    #: no account.
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False, default="portal")
    #: The language the customer is written to in (``nl`` or ``en``).
    locale: Mapped[str] = mapped_column(String(8), nullable=False, default="nl")
    #: The form's one-time key: a resent form finds the request it already made.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    #: Policy keys the request concerns: ``{"sources": [...], "categories": [...],
    #: "purposes": [...]}``; empty lists mean everything. No personal data.
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    #: What was asked (field values, explanations, the question), JSON, encrypted.
    details_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: For a request entered by staff: who wrote and how to reach them (JSON, encrypted), and
    #: how their identity was verified.
    requester_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: For a request entered by staff for someone without an account: the keyed hash of the
    #: writer's normalised e-mail address (as ``CustomerIdentifier.lookup_hash``), so that the
    #: request is found and linked when they prove control of that address. Cleared once it
    #: is linked, and when the request is anonymised.
    requester_email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    identity_verification: Mapped[str | None] = mapped_column(String(32))
    #: The day the firm received the request: the deadline runs from here (art. 12(3)).
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    #: 0, 1 or 2 further months (art. 12(3)).
    extension_months: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: The last day of the legal deadline (kept in step with ``received_on`` and the extension).
    deadline: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    #: The staff member handling it.
    assignee_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the last deadline reminder went to the privacy contact.
    reminded_on: Mapped[date | None] = mapped_column(Date)
    #: When the personal data of this request was removed (after its retention, or after an
    #: erasure was carried out); the row then only proves that the request was handled.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request",
        order_by="RequestEvent.id",
        cascade="all, delete-orphan",
    )

    @property
    def status_enum(self) -> RequestStatus:
        return RequestStatus(self.status)

    @property
    def kind_enum(self) -> RequestKind:
        return RequestKind(self.kind)

    @property
    def is_open(self) -> bool:
        """Whether the request still needs work (or the customer's answer)."""
        return not self.status_enum.final

    @property
    def erases_everything(self) -> bool:
        """Whether this is an erasure of all data (no sources or categories chosen): once it is
        carried out the portal forgets the customer, and this request's page with them."""
        scope = self.scope or {}
        return (
            self.kind == RequestKind.ERASURE.value
            and not scope.get("sources")
            and not scope.get("categories")
        )

    def __repr__(self) -> str:
        return f"DataRequest(id={self.id}, kind={self.kind!r}, status={self.status!r})"


class RequestEvent(Base):
    """One step in a request's history: a status change, a message, an extension."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("data_requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    #: ``received``, ``status``, ``extended``, ``info_requested``, ``info_added``,
    #: ``withdrawn``, ``refused``, ``done``, ``assigned``, ``note``, ``reminder``...
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    #: The status after this step (``None`` when the status did not change).
    status: Mapped[str | None] = mapped_column(String(32))
    #: ``customer``, ``staff`` or ``system``, and the staff id where it was staff.
    actor_type: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    #: A reason or message (may hold personal data), encrypted.
    message_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Whether the customer sees this step in their history (internal notes are not shown).
    visible_to_customer: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    request: Mapped[DataRequest] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return f"RequestEvent(id={self.id}, action={self.action!r})"
