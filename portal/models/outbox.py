"""Outgoing e-mail, recorded in the same transaction as the action that sends it.

A row is written before anything is sent, so a mail server that is down never loses a message:
the task queue sends it, and the sweeper retries failures with backoff. The message (recipient
and body, which may carry a sign-in code) is stored encrypted, and erased once sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class OutboxMessage(Base):
    """One e-mail to send."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: What kind of mail (``auth.login_code``): no personal data.
    template: Mapped[str] = mapped_column(String(64), nullable=False)
    #: The whole RFC 5322 message, encrypted; ``None`` once sent.
    message_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: ``pending``, ``sent`` or ``failed`` (gave up after too many attempts).
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The class of the last error (``ConnectionRefusedError``): never its message.
    last_error: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"OutboxMessage(id={self.id}, status={self.status!r})"
