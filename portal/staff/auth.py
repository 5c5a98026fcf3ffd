"""Staff sign-in: passwords, TOTP, recovery codes, lock-out and server-side sessions.

Views call these; these flush, the view commits (except :func:`load_session`, which commits its
own small write before the view runs, as the customer's does).

**Password.** argon2id (argon2-cffi's defaults), rehashed at sign-in when the parameters
change. An unknown or disabled address is verified against a dummy hash so the answer takes as
long as for a real account, and every failure gets the same message.

**Second factor.** TOTP (RFC 6238, 30-second steps, 6 digits), one step either side accepted;
the step of an accepted code is stored and no code of that step or an earlier one works again.
Or one of ten single-use recovery codes, stored as keyed hashes. Or, for a member who added
one, a passkey (see :mod:`.passkeys`); TOTP enrolment stays mandatory all the same.

**Lock-out.** :data:`MAX_FAILURES` failed passwords, codes or passkey answers in a row lock the
account for :data:`LOCK_MINUTES` minutes; a complete sign-in resets the count. A browser where
the member completed both steps before (:mod:`.known_browser`) is, while signing in, neither
held by the lock nor counted towards it, and leaves it alone: the lock is about the other
browsers, so a stranger who knows the address cannot keep the member out. Unlocking also
clears the account's shared rate-limit budgets (:func:`clear_shared_limits`).

**Sessions.** A random token in the signed cookie under :data:`SESSION_KEY` (never Flask-Login's
key, which is the customer's), its keyed hash a ``staff_sessions`` row. After the password the
session opens only the second-factor step; after the second factor it is renewed (new token,
new row). Idle :data:`IDLE` and absolute :data:`MAX_AGE` limits; signing out ends the row.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, g, session
from limits import parse_many
from sqlalchemy import delete, func, or_, select, update

from .. import crypto
from ..audit import record
from ..extensions import db, limiter
from ..models import StaffMember, StaffRecoveryCode, StaffRole, StaffSession, utcnow
from ..models.staff import ERASED_PASSWORD, StaffPasskey
from ..security import renew_csrf_token
from . import known_browser

#: Key of the staff session token in the signed cookie (the customer's is Flask-Login's).
SESSION_KEY = "staff_session"
MAX_FAILURES = 5
LOCK_MINUTES = 15
IDLE = timedelta(minutes=30)
MAX_AGE = timedelta(hours=12)
#: A session that has only passed the password must finish the second factor within this.
PENDING_MAX_AGE = timedelta(minutes=15)
TOUCH_INTERVAL = timedelta(seconds=60)
RECOVERY_CODE_COUNT = 10
MIN_PASSWORD_LENGTH = 12
#: Recovery codes and one-time passwords: lower-case letters and digits that cannot be confused.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"

_HASH_SESSION = "staff-session"
_HASH_RECOVERY = "staff-recovery"
_HASH_EMAIL = "staff-email"
#: Scopes of the rate limits on the password step and on the code steps (:mod:`.views`); the
#: per-account limits are ``<scope>-account``.
LOGIN_SCOPE = "staff-login"
CODE_SCOPE = "staff-code"

logger = logging.getLogger(__name__)


class PasswordProblem(StrEnum):
    """Why a new password is refused."""

    TOO_SHORT = "too_short"
    CONTAINS_EMAIL = "contains_email"


class SignInError(Exception):
    """The password or code was refused. Deliberately carries no reason: one message for all."""


@dataclass(frozen=True)
class SecondFactorResult:
    """How the second factor was passed; for a recovery code, how many are left."""

    method: str
    recovery_codes_left: int | None = None


def normalise_email(value: str) -> str:
    """Trimmed and lower-case."""
    return value.strip().lower()


# --- passwords -----------------------------------------------------------------------------


def hasher() -> PasswordHasher:
    """The password hasher: argon2id with argon2-cffi's current recommended parameters."""
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return hasher().hash(password)


def password_problem(password: str, email: str) -> PasswordProblem | None:
    """Why ``password`` is too weak for the account ``email``, or ``None``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return PasswordProblem.TOO_SHORT
    local = normalise_email(email).split("@", 1)[0]
    if len(local) >= 3 and local in password.lower():
        return PasswordProblem.CONTAINS_EMAIL
    return None


def verify_password(member: StaffMember | None, password: str) -> bool:
    """Whether ``password`` is ``member``'s; rehashes it when the parameters changed.

    For ``member=None`` a dummy hash is verified, so an unknown address costs the same time.
    """
    ph = hasher()
    usable = member is not None and member.password_hash != ERASED_PASSWORD
    stored = member.password_hash if member is not None and usable else _dummy_hash()
    try:
        ph.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if member is None or not usable:
        return False
    if ph.check_needs_rehash(stored):
        member.password_hash = ph.hash(password)
    return True


def new_one_time_password() -> str:
    """A random password an officer hands to a new colleague: 4 groups of 4 (about 79 bits)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


# --- failures and lock-out ------------------------------------------------------------------


def _register_failure(member: StaffMember, what: str) -> None:
    """Count a failed password or code; lock the account at :data:`MAX_FAILURES`. Flushes.

    A sign-in step from a browser known for the member is only audited: its own rate-limit
    budgets hold it (:func:`_known_sign_in`)."""
    if _known_sign_in(member):
        record(
            "staff.login_failed", actor_type="staff", actor_id=member.id,
            subject_type="staff_member", subject_id=member.id,
            details={"step": what, "known_browser": True},
        )  # fmt: skip
        db.session.flush()
        return
    db.session.execute(
        update(StaffMember)
        .where(StaffMember.id == member.id)
        .values(failed_attempts=StaffMember.failed_attempts + 1)
    )
    db.session.refresh(member)
    record(
        "staff.login_failed", actor_type="staff", actor_id=member.id,
        subject_type="staff_member", subject_id=member.id, details={"step": what},
    )  # fmt: skip
    if member.failed_attempts >= MAX_FAILURES:
        member.failed_attempts = 0
        member.locked_until = utcnow() + timedelta(minutes=LOCK_MINUTES)
        record(
            "staff.locked", actor_type="system", subject_type="staff_member",
            subject_id=member.id, details={"minutes": LOCK_MINUTES},
        )  # fmt: skip
    db.session.flush()


def _known_sign_in(member: StaffMember) -> bool:
    """Whether this is a sign-in step (no fully signed-in session yet) from a browser known for
    ``member``: such a step neither counts towards the lock-out nor is held by it.

    Re-authentication inside a signed-in session (a fresh code for a sensitive action, the
    current password to change it) is not exempt: it counts and is held as before, so a
    session someone else took over cannot guess codes beyond the lock-out."""
    row: StaffSession | None = g.get("staff_session")
    if row is not None and row.second_factor_at is not None:
        return False
    return known_browser.knows(member.id)


def unlock(member: StaffMember, actor_id: int | None = None) -> None:
    """Lift a lock-out, reset the count of failures and clear the account's shared rate-limit
    budgets (else the member would still be refused, by the limiter). Flushes."""
    member.locked_until = None
    member.failed_attempts = 0
    clear_shared_limits(member)
    _record_change("staff.unlocked", member, actor_id)


def address_rate_key(email: str) -> str:
    """The shared per-account rate-limit key of the sign-in page for a typed address (a keyed
    hash, never the address)."""
    return "staff-addr:" + crypto.keyed_hash(_HASH_EMAIL, normalise_email(email))


def member_rate_key(staff_id: int | None) -> str:
    """The shared per-account rate-limit key of the code steps for a session's staff id."""
    return f"staff-id:{staff_id}"


def clear_shared_limits(member: StaffMember) -> None:
    """Empty the shared per-account budgets of ``member``: of the password step (under the
    hash of their address) and of the code steps (under their id), every limit of each. The
    budgets of browsers known for the member are their own and stay.

    The keys are those Flask-Limiter counts under: ``[prefix, key, scope]`` per limit item. A
    storage that cannot be reached is logged, not raised: the lock-out is lifted all the same.
    """
    settings = current_app.extensions["portal.settings"]
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    budgets = (
        (settings.login_rate_per_address, address_rate_key(member.email), LOGIN_SCOPE),
        (settings.code_rate_per_address, member_rate_key(member.id), CODE_SCOPE),
    )
    try:
        strategy = limiter.limiter
        for limits, key, scope in budgets:
            for item in parse_many(limits):
                strategy.clear(item, *([prefix] if prefix else []), key, f"{scope}-account")
    except Exception:  # noqa: BLE001 - the storage's own errors vary (Redis, memory)
        logger.warning("could not clear the shared rate-limit budgets of a staff account")


# --- step 1: the password --------------------------------------------------------------------


def find_by_email(email: str) -> StaffMember | None:
    """The staff member with this address (normalised), if any."""
    return db.session.scalars(
        select(StaffMember).where(StaffMember.email == normalise_email(email))
    ).one_or_none()


def _demo_outside_demo(member: StaffMember) -> bool:
    """Whether ``member`` is the demo officer, whose password and TOTP secret are public, on an
    installation that is not a demo (one where ``demo load`` ran before it went live)."""
    from .demo import DEMO_STAFF_EMAIL  # the demo module builds on this one

    environment = current_app.extensions["portal.settings"].environment
    return member.email == DEMO_STAFF_EMAIL and environment != "demo"


def sign_in_with_password(email: str, password: str) -> StaffMember:
    """Check the password and start a session that opens only the second-factor step.

    :raises SignInError: for an unknown, disabled or locked account, or a wrong password,
        all alike (the same work is done in each case).
    """
    member = find_by_email(email)
    demo_elsewhere = member is not None and _demo_outside_demo(member)
    usable = member is not None and member.active and not demo_elsewhere
    ok = verify_password(member if usable else None, password)
    if member is None or not usable:
        reason = "unknown" if member is None else "demo_only" if demo_elsewhere else "inactive"
        record(
            "staff.login_failed", actor_type="staff",
            actor_id=member.id if member is not None else None,
            details={"step": "password", "reason": reason},
        )  # fmt: skip
        db.session.flush()
        raise SignInError()
    _refuse_if_locked(member, "password")
    if not ok:
        _register_failure(member, "password")
        raise SignInError()
    record(
        "staff.password_verified", actor_type="staff", actor_id=member.id,
        subject_type="staff_member", subject_id=member.id,
    )  # fmt: skip
    _start_session(member, second_factor=None)
    return member


# --- step 2: TOTP and recovery codes ---------------------------------------------------------


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def totp_secret(member: StaffMember) -> str | None:
    """The decrypted TOTP secret of the member's authenticator app."""
    if member.totp_secret_encrypted is None:
        return None
    return crypto.decrypt_text(member.totp_secret_encrypted)


def provisioning_uri(member: StaffMember, secret: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=member.email, issuer_name=issuer)


def normalise_code(value: str) -> str:
    """Digits only: people type ``123 456`` too."""
    return "".join(c for c in value if c.isdigit())


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (one either side of now) whose code is ``code``, or ``None``."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    found = None
    for step in (current - 1, current, current + 1):
        # Compare every candidate, in constant time, whatever matched before.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def _use_totp(member: StaffMember, code: str, secret: str | None = None) -> bool:
    """Whether ``code`` is valid now (for ``secret``, default the member's) and its step was
    not used before; marks it used."""
    secret = secret if secret is not None else totp_secret(member)
    digits = normalise_code(code)
    if secret is None or len(digits) != 6:
        return False
    step = _matching_step(secret, digits, utcnow())
    if step is None:
        return False
    # Atomic: of two requests with the same code, only one moves the step forward.
    moved = db.session.execute(
        update(StaffMember)
        .where(
            StaffMember.id == member.id,
            or_(StaffMember.last_totp_step.is_(None), StaffMember.last_totp_step < step),
        )
        .values(last_totp_step=step)
    )
    db.session.refresh(member)
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def recovery_code_hash(member_id: int, code: str) -> str:
    """Keyed hash of a normalised recovery code of staff member ``member_id``."""
    normal = "".join(c for c in code.lower() if c.isalnum())
    return crypto.keyed_hash(f"{_HASH_RECOVERY}:{member_id}", normal)


def recovery_codes_left(member: StaffMember) -> int:
    """How many unused recovery codes the staff member has."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(StaffRecoveryCode)
            .where(StaffRecoveryCode.staff_id == member.id, StaffRecoveryCode.used_at.is_(None))
        )
        or 0
    )


def _use_recovery_code(member: StaffMember, code: str) -> bool:
    used = db.session.execute(
        update(StaffRecoveryCode)
        .where(
            StaffRecoveryCode.staff_id == member.id,
            StaffRecoveryCode.code_hash == recovery_code_hash(member.id, code),
            StaffRecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return bool(used.rowcount)  # type: ignore[attr-defined]


def new_recovery_codes(member: StaffMember) -> list[str]:
    """Replace all recovery codes with :data:`RECOVERY_CODE_COUNT` new ones. Flushes.

    Returns the codes in the clear: show them once; only their hashes are kept.
    """
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == member.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        code = f"{raw[:5]}-{raw[5:]}"
        codes.append(code)
        db.session.add(
            StaffRecoveryCode(staff_id=member.id, code_hash=recovery_code_hash(member.id, code))
        )
    record(
        "staff.recovery_codes_generated", actor_type="staff", actor_id=member.id,
        subject_type="staff_member", subject_id=member.id, details={"count": len(codes)},
    )  # fmt: skip
    db.session.flush()
    return codes


def _refuse_if_locked(member: StaffMember, step: str) -> None:
    """Refuse (audited) while the account is locked, except from a browser known for it."""
    if member.is_locked(utcnow()) and not _known_sign_in(member):
        record(
            "staff.login_failed", actor_type="staff", actor_id=member.id,
            subject_type="staff_member", subject_id=member.id,
            details={"step": step, "reason": "locked"},
        )  # fmt: skip
        db.session.flush()
        raise SignInError()


def check_totp(member: StaffMember, code: str, step: str = "totp") -> None:
    """Check a TOTP code of an enrolled member (for a sensitive action), counting failures.

    :raises SignInError: wrong, reused, or the account is locked.
    """
    _refuse_if_locked(member, step)
    if not member.totp_enrolled or not _use_totp(member, code):
        _register_failure(member, step)
        raise SignInError()


def complete_second_factor(member: StaffMember, code: str, recovery: bool) -> SecondFactorResult:
    """Finish signing in with a TOTP code or a recovery code; renews the session. Flushes.

    :raises SignInError: wrong or reused code, or the account is locked.
    """
    method = "recovery_code" if recovery else "totp"
    if recovery:
        _refuse_if_locked(member, method)
        if not member.totp_enrolled or not _use_recovery_code(member, code):
            _register_failure(member, method)
            raise SignInError()
        left = recovery_codes_left(member)
        record(
            "staff.recovery_code_used", actor_type="staff", actor_id=member.id,
            subject_type="staff_member", subject_id=member.id, details={"left": left},
        )  # fmt: skip
        result = SecondFactorResult(method, left)
    else:
        check_totp(member, code, method)
        result = SecondFactorResult(method)
    _signed_in(member, method)
    return result


def start_enrolment(member: StaffMember, pending: StaffSession) -> str:
    """The TOTP secret to show a member who has not enrolled, in the session ``pending`` (which
    has passed only the password): made for this session the first time, the same on a reload.
    Another browser gets another secret. Flushes.
    """
    if member.totp_enrolled:
        raise ValueError("already enrolled")
    if pending.staff_id != member.id or pending.second_factor_at is not None:
        raise ValueError("not this member's pending session")
    if pending.enrol_secret_encrypted is not None:
        return crypto.decrypt_text(pending.enrol_secret_encrypted)
    secret = new_totp_secret()
    pending.enrol_secret_encrypted = crypto.encrypt(secret)
    db.session.flush()
    return secret


def confirm_enrolment(member: StaffMember, pending: StaffSession, code: str) -> list[str]:
    """Confirm the authenticator app with its first code, for the secret the session
    ``pending`` showed (:func:`start_enrolment`); sign in; make recovery codes.

    :raises SignInError: the code is wrong or this session showed no secret (counted), or the
        account is locked.
    :returns: the new recovery codes, to show once.
    """
    _refuse_if_locked(member, "enrol")
    encrypted = pending.enrol_secret_encrypted if pending.staff_id == member.id else None
    secret = crypto.decrypt_text(encrypted) if encrypted is not None else None
    if member.totp_enrolled or secret is None or not _use_totp(member, code, secret):
        _register_failure(member, "enrol")
        raise SignInError()
    # Atomic: of two browsers confirming their own secrets at once, only one enrols.
    enrolled = db.session.execute(
        update(StaffMember)
        .where(StaffMember.id == member.id, StaffMember.totp_enrolled_at.is_(None))
        .values(totp_secret_encrypted=encrypted, totp_enrolled_at=utcnow())
    )
    db.session.refresh(member)
    if not enrolled.rowcount:  # type: ignore[attr-defined]
        raise SignInError()
    pending.enrol_secret_encrypted = None
    record(
        "staff.totp_enrolled", actor_type="staff", actor_id=member.id,
        subject_type="staff_member", subject_id=member.id,
    )  # fmt: skip
    codes = new_recovery_codes(member)
    _signed_in(member, "totp")
    return codes


def _signed_in(member: StaffMember, method: str, **details: int) -> None:
    """Both steps done: a fully signed-in session, and this browser becomes known for the
    member (the cookie goes out with the response). From a browser that was known already, the
    count and lock of the other browsers stay as they are."""
    if not _known_sign_in(member):
        member.failed_attempts = 0
        member.locked_until = None
    member.last_login_at = utcnow()
    known_browser.remember_after_request(member.id)
    _start_session(member, second_factor=method)
    record(
        "staff.login", actor_type="staff", actor_id=member.id,
        subject_type="staff_member", subject_id=member.id, details={"method": method, **details},
    )  # fmt: skip
    db.session.flush()


# --- sessions --------------------------------------------------------------------------------


def _start_session(member: StaffMember, second_factor: str | None) -> str:
    """End this browser's staff session, if any, and start a new one with a new CSRF secret
    (nothing handed out before the password or the second factor works after it). Flushes."""
    end_current_session("renewed")
    renew_csrf_token()
    now = utcnow()
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        token_hash=crypto.keyed_hash(_HASH_SESSION, token),
        staff_id=member.id,
        second_factor_at=now if second_factor else None,
        second_factor_method=second_factor,
        created_at=now,
        last_seen_at=now,
        expires_at=now + (MAX_AGE if second_factor else PENDING_MAX_AGE),
    )
    db.session.add(row)
    db.session.flush()
    session[SESSION_KEY] = {"token": token, "id": member.id}
    g.staff_session = row
    g.staff = member
    return token


def load_session() -> tuple[StaffSession | None, str | None]:
    """This browser's staff session if it is alive; else why not (``None`` if there is none).

    Commits its own small write (``last_seen_at`` at most once a minute, or ending the
    session), so it must run before the view changes anything.

    :returns: ``(row, None)``, or ``(None, reason)`` with reason ``None``, ``ended``,
        ``idle``, ``expired`` or ``disabled``.
    """
    data = session.get(SESSION_KEY)
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str):
        return None, None
    row = db.session.scalars(
        select(StaffSession).where(
            StaffSession.token_hash == crypto.keyed_hash(_HASH_SESSION, token)
        )
    ).one_or_none()
    if row is None or row.ended_at is not None:
        return None, "ended"
    now = utcnow()
    reason = None
    if now >= row.expires_at:
        reason = "expired"
    elif now - row.last_seen_at >= IDLE:
        reason = "idle"
    elif not row.staff.active:
        reason = "disabled"
    if reason is not None:
        row.ended_at = now
        row.end_reason = reason
        db.session.commit()
        return None, reason
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        db.session.commit()
    return row, None


def end_current_session(reason: str = "logout") -> None:
    """End this browser's staff session (if any) and forget its token. Flushes."""
    row: StaffSession | None = g.pop("staff_session", None)
    g.pop("staff", None)
    session.pop(SESSION_KEY, None)
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        row.end_reason = reason
        if reason == "logout":
            record(
                "staff.logout", actor_type="staff", actor_id=row.staff_id,
                subject_type="staff_member", subject_id=row.staff_id,
            )  # fmt: skip
        db.session.flush()


def end_sessions(member: StaffMember, reason: str, keep: StaffSession | None = None) -> int:
    """End every open session of ``member`` (except ``keep``). Flushes; returns how many."""
    query = update(StaffSession).where(
        StaffSession.staff_id == member.id, StaffSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(StaffSession.id != keep.id)
    ended = db.session.execute(query.values(ended_at=utcnow(), end_reason=reason))
    db.session.flush()
    return int(ended.rowcount)  # type: ignore[attr-defined]


# --- managing staff --------------------------------------------------------------------------


class StaffExists(Exception):
    """A staff member with this e-mail address already exists."""


class LastOfficer(Exception):
    """The step would leave no active privacy officer, so nobody could manage staff."""


def _record_change(
    action: str, member: StaffMember, actor_id: int | None, **details: str | int | bool
) -> None:
    record(
        action, actor_type="staff" if actor_id is not None else "system", actor_id=actor_id,
        subject_type="staff_member", subject_id=member.id,
        details={**details, **({} if actor_id is not None else {"via": "cli"})},
    )  # fmt: skip
    db.session.flush()


def create_staff(
    email: str,
    name: str,
    role: str,
    password: str,
    actor_id: int | None = None,
    must_change_password: bool = False,
) -> StaffMember:
    """Add a staff member, who enrols an authenticator app at the first sign-in. Flushes.

    :raises StaffExists: if the address is taken.
    :raises ValueError: for an unknown role or a weak password.
    """
    role = StaffRole(role).value
    email = normalise_email(email)
    if password_problem(password, email) is not None:
        raise ValueError("weak password")
    if find_by_email(email) is not None:
        raise StaffExists()
    now = utcnow()
    member = StaffMember(
        email=email,
        display_name=name.strip(),
        role=role,
        password_hash=hash_password(password),
        must_change_password=must_change_password,
        password_changed_at=None if must_change_password else now,
        created_at=now,
        active=True,
        failed_attempts=0,
    )
    db.session.add(member)
    db.session.flush()
    _record_change("staff.created", member, actor_id, role=role)
    return member


def set_active(member: StaffMember, active: bool, actor_id: int | None = None) -> None:
    """Disable (ends every session) or enable a staff member. Flushes.

    :raises LastOfficer: when this would disable the last active privacy officer (nobody
        could manage staff any more).
    """
    if (
        not active
        and member.active
        and member.role == StaffRole.OFFICER.value
        and officers_left(excluding=member) == 0
    ):
        raise LastOfficer()
    if active and member.forgotten_at is not None:
        raise ValueError("a forgotten staff member cannot be enabled")
    if member.active != active:
        member.disabled_at = None if active else utcnow()
    member.active = active
    if not active:
        end_sessions(member, "disabled")
    _record_change("staff.enabled" if active else "staff.disabled", member, actor_id)


def erase_disabled_secrets(cutoff: datetime) -> int:
    """Erase the sign-in secrets of members disabled at ``cutoff`` or before: password hash,
    authenticator secret, recovery codes and passkeys (sessions ended when they were
    disabled). Enabling them again then takes a new one-time password, and they set up an
    authenticator app again. Flushes; returns how many members."""
    members = db.session.scalars(
        select(StaffMember).where(
            StaffMember.active.is_(False),
            StaffMember.disabled_at <= cutoff,
            StaffMember.password_hash != ERASED_PASSWORD,
        )
    ).all()
    for member in members:
        member.password_hash = ERASED_PASSWORD
        member.must_change_password = True
        member.failed_attempts = 0
        member.locked_until = None
        _drop_second_factor(member)
        end_sessions(member, "disabled")
    db.session.flush()
    return len(members)


def forget_disabled(cutoff: datetime) -> int:
    """Remove the name and e-mail address of members disabled at ``cutoff`` or before (the
    audit log holds nothing of theirs any more when ``cutoff`` is its own limit). The row
    stays, naming nobody: requests and the remaining records refer to its number. Their
    secrets are erased first. Flushes; returns how many members."""
    erase_disabled_secrets(cutoff)
    members = db.session.scalars(
        select(StaffMember).where(
            StaffMember.active.is_(False),
            StaffMember.disabled_at <= cutoff,
            StaffMember.forgotten_at.is_(None),
        )
    ).all()
    for member in members:
        member.email = f"staff-{member.id}@forgotten.invalid"
        member.display_name = f"#{member.id}"
        member.forgotten_at = utcnow()
    db.session.flush()
    return len(members)


def set_role(member: StaffMember, role: str, actor_id: int | None = None) -> bool:
    """Make ``member`` a privacy officer or an agent; audited as ``staff.role_changed`` with
    both roles. Takes effect at the member's next page (each page reads the role afresh), so
    their sessions stay. Flushes. Returns whether the role changed.

    :raises ValueError: for an unknown role.
    :raises LastOfficer: when this would demote the last active privacy officer.
    """
    new = StaffRole(role).value
    previous = member.role
    if new == previous:
        return False
    if (
        previous == StaffRole.OFFICER.value
        and member.active
        and officers_left(excluding=member) == 0
    ):
        raise LastOfficer()
    member.role = new
    _record_change("staff.role_changed", member, actor_id, role=new, previous=previous)
    return True


def _drop_second_factor(member: StaffMember) -> None:
    """Forget the authenticator app, recovery codes and passkeys of ``member``."""
    member.totp_secret_encrypted = None
    member.totp_enrolled_at = None
    member.last_totp_step = None
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == member.id))
    db.session.execute(delete(StaffPasskey).where(StaffPasskey.staff_id == member.id))


def reset_second_factor(
    member: StaffMember, actor_id: int | None = None, one_time_password: str | None = None
) -> None:
    """Forget the authenticator app, recovery codes and passkeys (a lost phone may hold a
    passkey too); the member enrols again at the next sign-in. Ends every session of the
    member. Flushes.

    With ``one_time_password`` (an officer's reset) the password is replaced too, as by
    :func:`set_one_time_password`: a lost phone may come with a known password, and whoever
    signs in first after the reset enrols their own authenticator app.
    """
    _drop_second_factor(member)
    end_sessions(member, "reset")
    _record_change("staff.second_factor_reset", member, actor_id)
    if one_time_password is not None:
        set_one_time_password(member, one_time_password, actor_id)


def change_password(member: StaffMember, current: str, new: str) -> None:
    """Change one's own password. Every session of the member ends, this browser's too, which
    gets a new one (new token and CSRF secret; the same second factor and end of lifetime): a
    stolen cookie of this browser stops working as well. Flushes.

    :raises SignInError: the current password is wrong (counted as a failure).
    :raises ValueError: the new password is too weak.
    """
    if password_problem(new, member.email) is not None:
        raise ValueError("weak password")
    _refuse_if_locked(member, "password_change")
    if not verify_password(member, current):
        _register_failure(member, "password_change")
        raise SignInError()
    member.password_hash = hash_password(new)
    member.must_change_password = False
    member.password_changed_at = utcnow()
    old: StaffSession | None = g.get("staff_session")
    end_sessions(member, "password")
    if old is not None:
        db.session.refresh(old)
        _start_session(member, second_factor=old.second_factor_method)
        row: StaffSession = g.staff_session
        row.second_factor_at = old.second_factor_at
        row.expires_at = old.expires_at
    _record_change("staff.password_changed", member, member.id)


def set_one_time_password(member: StaffMember, password: str, actor_id: int | None) -> None:
    """Give ``member`` a new one-time password an officer hands over; it must be changed after
    sign-in. Ends every session of the member and lifts a lock-out. Flushes."""
    member.password_hash = hash_password(password)
    member.must_change_password = True
    member.password_changed_at = None
    member.failed_attempts = 0
    member.locked_until = None
    end_sessions(member, "password")
    _record_change("staff.password_reset", member, actor_id)


def officers_left(excluding: StaffMember) -> int:
    """How many other active privacy officers there are."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(StaffMember)
            .where(
                StaffMember.role == StaffRole.OFFICER.value,
                StaffMember.active.is_(True),
                StaffMember.id != excluding.id,
            )
        )
        or 0
    )
