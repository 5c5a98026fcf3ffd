"""Staff accounts of the back office (``/beheer``), their recovery codes, passkeys and sessions.

Staff sign in with a password (argon2) *and* a second factor (TOTP, or a single-use recovery
code, or a passkey the member added besides TOTP). Staff sessions are kept apart from customer
sessions: their own table, their own key in the signed cookie, never a Flask-Login user.

Secrets are never stored as such: the password as an argon2 hash, the TOTP secret encrypted
with the data keys, recovery codes and session tokens as keyed hashes. Of a passkey only the
public key is kept.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow


class StaffRole(StrEnum):
    """What a staff member may do."""

    #: The privacy officer: everything, including managing staff and settings.
    OFFICER = "officer"
    #: Handles requests; cannot manage staff or settings.
    AGENT = "agent"


#: The password "hash" of a member whose sign-in secrets were erased (long disabled): no
#: password matches it (:func:`portal.staff.auth.verify_password`).
ERASED_PASSWORD = "!erased"  # noqa: S105 (a marker, not a password)


class StaffMember(Base):
    """A person of the firm who works in the back office."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Normalised: trimmed and lower-case.
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(120), nullable=False)
    #: ``officer`` or ``agent`` (:class:`StaffRole`).
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    #: argon2id hash, rehashed at sign-in when the parameters change.
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    #: Set for a one-time password an officer handed out: it must be changed after sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The TOTP secret (base32), encrypted, once confirmed (a pending one lives on the session:
    #: :attr:`StaffSession.enrol_secret_encrypted`).
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The last TOTP time step that was accepted: a code's step is used once only.
    last_totp_step: Mapped[int | None] = mapped_column(Integer)
    #: Failed password or code attempts since the last success or lock-out.
    failed_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: When the member was disabled (``None`` while active). The retention sweep erases a
    #: disabled member's sign-in secrets after ``portal_retention.disabled_staff``, and their
    #: name and e-mail address once the audit log can no longer name them (``audit_log``).
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the retention sweep removed the name and e-mail address of a long-disabled member;
    #: the row stays (audit entries and requests refer to its number) but names nobody.
    forgotten_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    recovery_codes: Mapped[list[StaffRecoveryCode]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", passive_deletes=True
    )
    passkeys: Mapped[list[StaffPasskey]] = relationship(
        back_populates="staff",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="StaffPasskey.created_at",
    )

    @property
    def is_officer(self) -> bool:
        """Whether this is a privacy officer."""
        return self.role == StaffRole.OFFICER.value

    @property
    def totp_enrolled(self) -> bool:
        """Whether the authenticator app has been set up and confirmed."""
        return self.totp_enrolled_at is not None and self.totp_secret_encrypted is not None

    @property
    def sign_in_erased(self) -> bool:
        """Whether the sign-in secrets were erased (disabled for long): enabling the member
        again takes a new one-time password."""
        return self.password_hash == ERASED_PASSWORD

    def is_locked(self, now: datetime) -> bool:
        """Whether sign-in is blocked after too many failed attempts."""
        return self.locked_until is not None and now < self.locked_until

    def __repr__(self) -> str:
        return f"StaffMember(id={self.id}, role={self.role!r})"


class StaffRecoveryCode(Base):
    """A single-use code for when the authenticator app is lost. Only its keyed hash is kept."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), nullable=False, index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    staff: Mapped[StaffMember] = relationship(back_populates="recovery_codes")

    def __repr__(self) -> str:
        return f"StaffRecoveryCode(id={self.id})"


class StaffSession(Base):
    """A browser in which a staff member signed in. The cookie holds a random token; this row
    holds its keyed hash.

    A session starts after the password, with ``second_factor_at`` empty: it then opens only
    the second-factor step. When the second factor succeeds the session is renewed (a new row
    and token) with ``second_factor_at`` set. Every request checks the row for sign-out, idle
    time and absolute lifetime.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), nullable=False, index=True
    )
    #: When the second factor was passed, and how: ``totp``, ``recovery_code`` or ``passkey``.
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    second_factor_method: Mapped[str | None] = mapped_column(String(16))
    #: While a member who has not enrolled sets up the authenticator app: the TOTP secret this
    #: session showed, encrypted. Each session gets its own, so someone who once saw the
    #: enrolment page does not hold the secret the member confirms later; cleared at confirming.
    enrol_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: ``logout``, ``idle``, ``expired``, ``renewed``, ``disabled``, ``reset``, ``password``.
    end_reason: Mapped[str | None] = mapped_column(String(16))

    staff: Mapped[StaffMember] = relationship()

    def __repr__(self) -> str:
        return f"StaffSession(id={self.id})"


class StaffPasskey(Base):
    """A passkey (WebAuthn public-key credential) a staff member may use instead of a TOTP code
    at sign-in. Optional and in addition to TOTP, which stays enrolled and usable.

    Only the public key is kept; the private key never leaves the authenticator.
    """

    __tablename__ = "staff_passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), nullable=False, index=True
    )
    #: The credential id the authenticator chose (at most 1023 bytes by the specification).
    credential_id: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, unique=True)
    #: The COSE-encoded public key.
    public_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: The authenticator's signature counter (unsigned 32 bits); 0 if it keeps none.
    sign_count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    #: Hints for the browser (``internal``, ``usb``, ``hybrid``...), as the authenticator said.
    transports: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: What the staff member called it ("Work laptop").
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    staff: Mapped[StaffMember] = relationship(back_populates="passkeys")

    def __repr__(self) -> str:
        return f"StaffPasskey(id={self.id})"


class StaffPasskeyChallenge(Base):
    """A WebAuthn challenge handed to one staff session, for adding a passkey or for signing in
    with one. Used once (the row is deleted when an answer comes in) and only until it expires.
    """

    __tablename__ = "staff_passkey_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("staff_sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    #: ``register`` or ``sign_in``.
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    challenge: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: For ``register``: the name the new passkey gets.
    passkey_name: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    def __repr__(self) -> str:
        return f"StaffPasskeyChallenge(id={self.id}, purpose={self.purpose!r})"
