"""Customers, their verified identifiers, sign-in challenges and server-side sessions.

Who is a customer: *anyone who proved control of an e-mail address*. Any address may ask for a
sign-in code, and the answer never depends on whether the firm knows it; the customer row is
created on the first verified sign-in. What a customer then sees is only what the connectors
find for their verified identifiers, so signing in with an address the firm does not know shows
an empty data view, and reveals nothing.

No column holds personal data in the clear: identifiers and addresses are encrypted with the
data keys (:mod:`portal.crypto`) and found by a keyed hash; codes, link tokens and session ids
are stored only as keyed hashes.
"""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow


class Customer(UserMixin, Base):
    """A person who signed in at least once. Holds no personal data itself."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    #: The current sign-in and the one before it, shown on the account page.
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_method: Mapped[str | None] = mapped_column(String(32))
    previous_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_login_method: Mapped[str | None] = mapped_column(String(32))

    identifiers: Mapped[list[CustomerIdentifier]] = relationship(
        back_populates="customer", order_by="CustomerIdentifier.id", cascade="all, delete-orphan"
    )

    def get_id(self) -> str | None:
        """Flask-Login keeps the *session* token in the cookie, never the customer id.

        The token is set on the instance by :func:`portal.auth.services.start_session` and by
        the user loader; it is the random id of a ``customer_sessions`` row, checked on every
        request, so ending that row ends the session everywhere.
        """
        token: str | None = self.__dict__.get("_session_token")
        return token

    def __repr__(self) -> str:
        return f"Customer(id={self.id})"


class CustomerIdentifier(Base):
    """An e-mail address, phone number or customer number of a customer.

    Only a verified identifier counts: connectors match on verified ones, never on pending.
    """

    __tablename__ = "customer_identifiers"
    __table_args__ = (UniqueConstraint("customer_id", "kind", "lookup_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    #: ``email``, ``phone`` or ``customer_number`` (:class:`connectors.identity.IdentifierKind`).
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    #: Keyed hash of kind and normalised value, to find the row.
    lookup_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    #: Set to ``lookup_hash`` once verified: unique, so a verified identifier has one owner.
    verified_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The normalised value, encrypted with the data keys.
    value_encrypted: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: ``pending``, ``verified`` or ``rejected``.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    #: How it was verified: ``email_code``, ``email_link``, ``oidc``, ``staff``, a proof kind.
    verified_by: Mapped[str | None] = mapped_column(String(32))
    #: The kind of proof offered (e.g. ``invoice_number``), and the proof, encrypted.
    proof_kind: Mapped[str | None] = mapped_column(String(32))
    proof_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The language the customer added it in: staff's decision is mailed in it.
    locale: Mapped[str] = mapped_column(
        String(8), nullable=False, default="nl", server_default="nl"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship(back_populates="identifiers")

    @property
    def is_verified(self) -> bool:
        """Whether this identifier counts."""
        return self.status == "verified"

    def __repr__(self) -> str:
        return f"CustomerIdentifier(id={self.id}, kind={self.kind!r}, status={self.status!r})"


class LoginChallenge(Base):
    """One request for a one-time code: by e-mail to sign in, or to verify an added address.

    The code and the link token are stored as keyed hashes; the challenge is bound to the
    browser that asked by the hash of a random nonce kept in that browser's signed session
    cookie. It dies when used, when it expires, after too many wrong codes, or when a newer
    challenge for the same address (or the same browser) is made.
    """

    __tablename__ = "login_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``login`` or ``verify_email`` (an address a signed-in customer adds).
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    #: Keyed hash of the normalised address: finds older challenges to invalidate.
    email_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    email_encrypted: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    link_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    #: For ``verify_email``: who adds the address, and the pending identifier row.
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    identifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_identifiers.id", ondelete="CASCADE")
    )
    locale: Mapped[str] = mapped_column(String(8), nullable=False, default="nl")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Set when a newer challenge replaced this one, or too many wrong codes were entered.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"LoginChallenge(id={self.id}, purpose={self.purpose!r})"


class CustomerSession(Base):
    """A signed-in browser. The cookie holds a random token; this row holds its keyed hash.

    Every request checks the row: ended, idle for too long or past its absolute lifetime means
    signed out. Signing out ends the row, so a copied cookie stops working too.
    """

    __tablename__ = "customer_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    #: How the customer signed in: ``email_code``, ``email_link``, ``oidc``...
    method: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: ``logout``, ``idle``, ``expired``, ``replaced``.
    end_reason: Mapped[str | None] = mapped_column(String(16))

    customer: Mapped[Customer] = relationship()

    def __repr__(self) -> str:
        return f"CustomerSession(id={self.id})"
