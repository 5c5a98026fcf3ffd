"""Sign-in and identifier actions. Views call these; these flush, the view commits.

**Who is a customer.** Anyone who proves control of an e-mail address. Asking for a code does
exactly the same work for every address (no customer look-up at all): a challenge row, an
outbox row, one e-mail. The customer row is found or created only after the code or link is
verified, by :func:`sign_in_with_verified_email`. What a customer sees is what the connectors
find for their *verified* identifiers, so an address the firm does not know signs in to an
empty view, and an attacker learns nothing from the answer or its timing.

**Challenges.** A 6-digit code and a link token, stored as keyed hashes, valid for
``login_code_minutes``, single use, bound to the browser that asked (the hash of a random nonce
kept in its signed session cookie), revoked by a newer challenge for the same address, and dead
after ``login_code_attempts`` wrong codes.

**Sessions.** A random token lives in the signed cookie (as Flask-Login's user id); its keyed
hash is a ``customer_sessions`` row, checked on every request for logout, idle time and absolute
lifetime.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Protocol

from flask import current_app, g, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from connectors.identity import (
    Identifier,
    IdentifierKind,
    Identity,
    InvalidIdentifier,
    normalize,
    normalize_email,
    normalize_mailbox,
)

from .. import crypto
from ..audit import record
from ..extensions import db
from ..mail import queue_mail
from ..models import (
    Customer,
    CustomerIdentifier,
    CustomerSession,
    LoginChallenge,
    OutboxMessage,
    utcnow,
)
from ..models.gathering import GatheredSnapshot
from ..settings import Settings

__all__ = [
    "ChallengeError",
    "ChallengeProblem",
    "DecisionError",
    "InvalidIdentifier",
    "add_identifier",
    "approve_identifier",
    "complete_email_verification",
    "end_current_session",
    "load_session",
    "redeem_code",
    "redeem_link",
    "reject_identifier",
    "request_email_verification",
    "request_login_code",
    "sign_in_with_verified_email",
    "start_session",
    "verified_identity",
]

#: Session keys of a pending sign-in, and of a pending address verification.
LOGIN_ATTEMPT = "login_attempt"
VERIFY_ATTEMPT = "verify_attempt"
#: ``last_seen_at`` is written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(seconds=60)
CODE_DIGITS = 6

_HASH_EMAIL = "email"
_HASH_LINK = "login-link"
_HASH_BROWSER = "login-browser"
_HASH_SESSION = "customer-session"


def _settings() -> Settings:
    settings: Settings = current_app.extensions["portal.settings"]
    return settings


def email_hash(email: str) -> str:
    """Keyed hash of a normalised address (challenges, identifiers, rate-limit keys)."""
    return crypto.keyed_hash(_HASH_EMAIL, email)


def identifier_hash(kind: str, value: str) -> str:
    """Keyed hash of a normalised identifier of ``kind``."""
    return crypto.keyed_hash(f"identifier:{kind}", value)


def _code_hash(browser_hash: str, code: str) -> str:
    return crypto.keyed_hash(f"login-code:{browser_hash}", code)


# --- challenges ----------------------------------------------------------------------------


class ChallengeProblem(StrEnum):
    """Why a code or link did not work. Each has its own message in the views."""

    MISSING = "missing"  # no challenge in this browser / unknown link
    OTHER_BROWSER = "other_browser"
    EXPIRED = "expired"
    USED = "used"
    REPLACED = "replaced"
    LOCKED = "locked"  # too many wrong codes
    WRONG = "wrong"


class ChallengeError(Exception):
    """A code or link was refused; ``problem`` says why, ``attempts_left`` for a wrong code."""

    def __init__(self, problem: ChallengeProblem, attempts_left: int = 0) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.attempts_left = attempts_left


@dataclass(frozen=True)
class IssuedChallenge:
    """What the view keeps in the browser's session, and the outbox row to enqueue."""

    challenge_id: int
    nonce: str
    address_hash: str
    outbox_id: int


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def normalise_code(value: str) -> str:
    """Digits only: customers type ``123 456`` or ``123-456`` too."""
    return "".join(c for c in value if c.isdigit())


def _issue(
    purpose: str,
    email: str,
    locale: str,
    template: str,
    link_endpoint: str | None,
    customer: Customer | None = None,
    identifier: CustomerIdentifier | None = None,
    replacing: tuple[int, str] | None = None,
) -> IssuedChallenge:
    """Create a challenge for ``email`` and queue the e-mail.

    It replaces only this browser's earlier attempt (``replacing``: its id and nonce, from the
    session), never another browser's: anyone may ask for a code for any address, and that
    must not stop the code its owner is about to type from working. Each code works only in
    the browser that asked anyway.
    """
    settings = _settings()
    now = utcnow()
    address_hash = email_hash(email)
    if replacing is not None:
        try:
            earlier = _challenge_for_browser(*replacing)
        except ChallengeError:
            earlier = None
        if earlier is not None and earlier.used_at is None and earlier.revoked_at is None:
            earlier.revoked_at = now
    nonce = secrets.token_urlsafe(32)
    browser_hash = crypto.keyed_hash(_HASH_BROWSER, nonce)
    code = _new_code()
    token = secrets.token_urlsafe(32)
    challenge = LoginChallenge(
        purpose=purpose,
        email_hash=address_hash,
        email_encrypted=crypto.encrypt(email),
        code_hash=_code_hash(browser_hash, code),
        link_hash=crypto.keyed_hash(_HASH_LINK, token),
        browser_hash=browser_hash,
        customer_id=customer.id if customer else None,
        identifier_id=identifier.id if identifier else None,
        locale=locale,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.login_code_minutes),
    )
    db.session.add(challenge)
    db.session.flush()
    link = None
    if link_endpoint is not None:
        link = settings.public_url(current_app.url_for(link_endpoint, token=token, _external=False))
    outbox: OutboxMessage = queue_mail(
        email,
        template,
        locale,
        {"code": code, "link": link, "minutes": settings.login_code_minutes},
    )
    return IssuedChallenge(challenge.id, nonce, address_hash, outbox.id)


def request_login_code(
    email: str, locale: str, replacing: tuple[int, str] | None = None
) -> IssuedChallenge:
    """Start a sign-in for ``email``: the same work whether or not anyone knows the address.
    ``replacing``: this browser's earlier attempt (id, nonce), whose code stops working.

    :raises InvalidIdentifier: if ``email`` is not one mailbox (:func:`normalize_mailbox`).
    """
    return _issue(
        "login", normalize_mailbox(email), locale, "auth/email/login_code", "auth.link",
        replacing=replacing,
    )  # fmt: skip


def resend_login_code(challenge_id: int, nonce: str, locale: str) -> IssuedChallenge:
    """A new code for the address of this browser's current sign-in attempt.

    :raises ChallengeError: ``MISSING`` or ``OTHER_BROWSER`` if there is no such attempt.
    """
    challenge = _challenge_for_browser(challenge_id, nonce)
    email = crypto.decrypt_text(challenge.email_encrypted)
    return request_login_code(email, locale, replacing=(challenge_id, nonce))


def challenge_email(challenge_id: int, nonce: str) -> str:
    """The address of this browser's attempt (to show "we sent a code to ...").

    :raises ChallengeError: ``MISSING`` or ``OTHER_BROWSER``.
    """
    return crypto.decrypt_text(_challenge_for_browser(challenge_id, nonce).email_encrypted)


def _challenge_for_browser(challenge_id: int, nonce: str) -> LoginChallenge:
    challenge = db.session.get(LoginChallenge, challenge_id)
    if challenge is None:
        raise ChallengeError(ChallengeProblem.MISSING)
    if not crypto.same_hash(challenge.browser_hash, _HASH_BROWSER, nonce):
        raise ChallengeError(ChallengeProblem.OTHER_BROWSER)
    return challenge


def _check_alive(challenge: LoginChallenge) -> None:
    if challenge.used_at is not None:
        raise ChallengeError(ChallengeProblem.USED)
    if challenge.failed_attempts >= _settings().login_code_attempts:
        raise ChallengeError(ChallengeProblem.LOCKED)
    if challenge.revoked_at is not None:
        raise ChallengeError(ChallengeProblem.REPLACED)
    if utcnow() >= challenge.expires_at:
        raise ChallengeError(ChallengeProblem.EXPIRED)


def redeem_code(challenge_id: int, nonce: str, code: str, purpose: str) -> LoginChallenge:
    """Use a code typed in the browser that asked for it. Marks the challenge used.

    A wrong code is counted (atomically); after ``login_code_attempts`` the challenge is dead.

    :raises ChallengeError: why the code was refused.
    """
    challenge = _challenge_for_browser(challenge_id, nonce)
    db.session.refresh(challenge, with_for_update=True)
    if challenge.purpose != purpose:
        raise ChallengeError(ChallengeProblem.MISSING)
    _check_alive(challenge)
    if not crypto.same_hash(
        challenge.code_hash, f"login-code:{challenge.browser_hash}", normalise_code(code)
    ):
        db.session.execute(
            update(LoginChallenge)
            .where(LoginChallenge.id == challenge.id)
            .values(failed_attempts=LoginChallenge.failed_attempts + 1)
        )
        db.session.refresh(challenge)
        left = max(_settings().login_code_attempts - challenge.failed_attempts, 0)
        raise ChallengeError(ChallengeProblem.WRONG if left else ChallengeProblem.LOCKED, left)
    challenge.used_at = utcnow()
    db.session.flush()
    return challenge


def link_problem(token: str, nonce: str | None) -> ChallengeProblem | None:
    """Whether a sign-in link would work in this browser, without using it (for the GET)."""
    try:
        _link_challenge(token, nonce)
    except ChallengeError as exc:
        return exc.problem
    return None


def _link_challenge(token: str, nonce: str | None) -> LoginChallenge:
    challenge = db.session.scalars(
        select(LoginChallenge).where(
            LoginChallenge.link_hash == crypto.keyed_hash(_HASH_LINK, token),
            LoginChallenge.purpose == "login",
        )
    ).one_or_none()
    if challenge is None:
        raise ChallengeError(ChallengeProblem.MISSING)
    _check_alive(challenge)
    if nonce is None or not crypto.same_hash(challenge.browser_hash, _HASH_BROWSER, nonce):
        raise ChallengeError(ChallengeProblem.OTHER_BROWSER)
    return challenge


def redeem_link(token: str, nonce: str | None) -> LoginChallenge:
    """Use a sign-in link (on the button's POST) in the browser that asked. Marks it used.

    :raises ChallengeError: why the link was refused.
    """
    challenge = _link_challenge(token, nonce)
    db.session.refresh(challenge, with_for_update=True)
    _check_alive(challenge)
    challenge.used_at = utcnow()
    db.session.flush()
    return challenge


def complete_login(challenge: LoginChallenge, method: str) -> Customer:
    """Sign in with the address a redeemed login challenge proved."""
    return sign_in_with_verified_email(crypto.decrypt_text(challenge.email_encrypted), method)


# --- customers and sessions ----------------------------------------------------------------


def _find_verified(kind: str, value: str) -> CustomerIdentifier | None:
    return db.session.scalars(
        select(CustomerIdentifier).where(
            CustomerIdentifier.kind == kind,
            CustomerIdentifier.verified_hash == identifier_hash(kind, value),
        )
    ).one_or_none()


def _mark_verified(ident: CustomerIdentifier, method: str) -> None:
    """Mark ``ident`` verified by ``method``, and drop the customer's held gathering: it was
    searched without this identifier, and the overview and downloads would otherwise leave
    its data out while the export lists it among the identifiers searched by."""
    ident.status = "verified"
    ident.verified_hash = ident.lookup_hash
    ident.verified_by = method
    ident.verified_at = utcnow()
    ident.proof_encrypted = None  # needed only to decide
    customer_id = ident.customer_id if ident.customer_id is not None else ident.customer.id
    if customer_id is not None:
        db.session.execute(
            delete(GatheredSnapshot).where(GatheredSnapshot.customer_id == customer_id)
        )


def sign_in_with_verified_email(email: str, method: str) -> Customer:
    """Sign the browser in as the owner of ``email``, an address whose control was just proved.

    This is the one entry point for every way of proving an address: the e-mail code and link
    here, and OpenID Connect (``method="oidc"``) where the provider vouches for a verified
    address. It finds the customer whose verified identifier the address is, or creates one
    with the address as its first verified identifier; links the requests staff entered for a
    letter writer with this address; renews the session (a fresh server-side session and
    cookie, pre-login session data dropped); remembers the previous sign-in; and writes an
    ``auth.login`` audit entry. It flushes; the caller commits.

    :param email: the address (normalised here: trimmed and lower-cased).
    :param method: how it was proved: ``email_code``, ``email_link``, ``oidc``, ...
    :raises InvalidIdentifier: if ``email`` is not shaped like an address (no code is sent
        here: the address was proved by a code, or by the identity provider).
    """
    value = normalize_email(email)
    ident = _find_verified(IdentifierKind.EMAIL.value, value)
    if ident is None:
        customer = Customer()
        db.session.add(customer)
        db.session.flush()
        ident = _new_identifier(customer, IdentifierKind.EMAIL.value, value)
        _mark_verified(ident, method)
        db.session.flush()
        record(
            "customer.created", actor_type="customer", actor_id=customer.id,
            subject_type="customer", subject_id=customer.id,
        )  # fmt: skip
    else:
        customer = ident.customer
    _link_entered_requests(customer, value, "sign_in")
    start_session(customer, method)
    return customer


def _link_entered_requests(customer: Customer, email: str, via: str) -> None:
    """Requests staff entered for a letter writer with ``email`` become ``customer``'s, now
    that they proved control of it (:func:`portal.dsr.services.link_entered_requests`)."""
    from ..dsr.services import link_entered_requests  # the requests area imports this module

    link_entered_requests(customer, email, via=via)


def start_session(customer: Customer, method: str) -> str:
    """Renew the session and sign ``customer`` in through Flask-Login. Flushes.

    Any session this browser had is ended server-side and its cookie data dropped, so nothing
    set before the sign-in (fixation) survives it. Returns the new session token.
    """
    settings = _settings()
    end_current_session("replaced")
    clear_cookie_session()
    now = utcnow()
    token = secrets.token_urlsafe(32)
    row = CustomerSession(
        token_hash=crypto.keyed_hash(_HASH_SESSION, token),
        customer_id=customer.id,
        method=method[:32],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_max_hours),
    )
    db.session.add(row)
    customer.previous_login_at = customer.last_login_at
    customer.previous_login_method = customer.last_login_method
    customer.last_login_at = now
    customer.last_login_method = method[:32]
    db.session.flush()
    customer.__dict__["_session_token"] = token
    login_user(customer)
    g.customer_session = row
    record(
        "auth.login", actor_type="customer", actor_id=customer.id,
        subject_type="customer", subject_id=customer.id, details={"method": method},
    )  # fmt: skip
    return token


def clear_cookie_session() -> None:
    """Drop all this browser's cookie session holds, except a staff member's back-office
    session: signing in or out as a customer in the same browser leaves that as it is. It is
    only a token that the staff side checks server-side on every request (and ends itself), so
    keeping it lets nothing set before a customer's sign-in survive into the customer's
    session."""
    from ..staff.auth import SESSION_KEY as STAFF_SESSION_KEY

    staff = session.get(STAFF_SESSION_KEY)
    session.clear()
    if staff is not None:
        session[STAFF_SESSION_KEY] = staff


def load_session(token: str) -> tuple[Customer | None, str | None]:
    """The customer of a session token if the session is alive; else why not.

    Commits its own small write (``last_seen_at`` at most once a minute, or ending the session),
    so it must run before a view changes anything: :mod:`portal.auth` loads it first thing.

    :returns: ``(customer, None)``, or ``(None, reason)`` with reason ``ended``, ``idle`` or
        ``expired``.
    """
    settings = _settings()
    row = db.session.scalars(
        select(CustomerSession).where(
            CustomerSession.token_hash == crypto.keyed_hash(_HASH_SESSION, token)
        )
    ).one_or_none()
    if row is None or row.ended_at is not None:
        return None, "ended"
    now = utcnow()
    reason = None
    if now >= row.expires_at:
        reason = "expired"
    elif now - row.last_seen_at >= timedelta(minutes=settings.session_idle_minutes):
        reason = "idle"
    if reason is not None:
        row.ended_at = now
        row.end_reason = reason
        db.session.commit()
        return None, reason
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        db.session.commit()
    customer = row.customer
    customer.__dict__["_session_token"] = token
    g.customer_session = row
    return customer, None


def end_current_session(reason: str = "logout") -> None:
    """End this browser's server-side session (if any) and sign out of Flask-Login. Flushes.

    Signing out (``reason="logout"``) also deletes the data gathered for the customer: it was
    held only so that their pages and downloads need not ask every source again.
    """
    row: CustomerSession | None = g.pop("customer_session", None)
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        row.end_reason = reason
        if reason == "logout":
            db.session.execute(
                delete(GatheredSnapshot).where(GatheredSnapshot.customer_id == row.customer_id)
            )
            record(
                "auth.logout", actor_type="customer", actor_id=row.customer_id,
                subject_type="customer", subject_id=row.customer_id,
            )  # fmt: skip
        db.session.flush()
    logout_user()


def current_session() -> CustomerSession | None:
    """The server-side session row of the signed-in browser."""
    row: CustomerSession | None = g.get("customer_session")
    return row


# --- identifiers ---------------------------------------------------------------------------


class ProofStatus(StrEnum):
    """What a proof checker concluded."""

    VERIFIED = "verified"
    REJECTED = "rejected"
    NEEDS_STAFF = "needs_staff"


class ProofChecker(Protocol):
    """Checks a proof that a phone or customer number belongs to the customer.

    For instance: the number of an invoice the firm sent to them, looked up through the
    connectors. Registered in ``app.extensions["portal.proof_checkers"]`` by proof kind.
    """

    def check(self, kind: str, value: str, proof: str, customer: Customer) -> ProofStatus:
        """Return whether ``proof`` shows that ``value`` (normalised) is ``customer``'s."""
        ...


class StaffReview:
    """The default checker: staff confirm the identifier; until then it stays pending."""

    def check(self, kind: str, value: str, proof: str, customer: Customer) -> ProofStatus:
        """Leave the decision to staff."""
        return ProofStatus.NEEDS_STAFF


#: Proof kinds customers can offer for a phone or customer number.
PROOF_KINDS = ("invoice_number",)


def _new_identifier(customer: Customer, kind: str, value: str) -> CustomerIdentifier:
    ident = CustomerIdentifier(
        customer=customer,
        kind=kind,
        lookup_hash=identifier_hash(kind, value),
        value_encrypted=crypto.encrypt(value),
        status="pending",
    )
    db.session.add(ident)
    return ident


def _existing(customer: Customer, kind: str, value: str) -> CustomerIdentifier | None:
    return db.session.scalars(
        select(CustomerIdentifier).where(
            CustomerIdentifier.customer_id == customer.id,
            CustomerIdentifier.kind == kind,
            CustomerIdentifier.lookup_hash == identifier_hash(kind, value),
        )
    ).one_or_none()


class IdentifierTaken(Exception):
    """The identifier is already verified for this or another customer."""


def add_identifier(
    customer: Customer,
    kind: str,
    value: str,
    proof_kind: str | None = None,
    proof: str = "",
    locale: str = "nl",
) -> CustomerIdentifier:
    """Add a phone or customer number as *pending*, with a proof for the checker. Flushes.

    E-mail addresses go through :func:`request_email_verification` instead. One that was not
    accepted before is pending again, with the new proof: that is how a customer tries again.
    ``locale`` is the language staff's decision is mailed in.

    :raises InvalidIdentifier: if the value is not valid for ``kind``.
    :raises IdentifierTaken: if this customer already has it verified.
    """
    if kind == IdentifierKind.EMAIL.value:
        raise ValueError("e-mail addresses are verified by code")
    normalised = normalize(kind, value)
    ident = _existing(customer, kind, normalised) or _new_identifier(customer, kind, normalised)
    if ident.is_verified:
        raise IdentifierTaken()
    ident.status = "pending"
    ident.locale = "en" if locale.startswith("en") else "nl"
    ident.proof_kind = proof_kind
    ident.proof_encrypted = crypto.encrypt(proof.strip()) if proof.strip() else None
    db.session.flush()
    checkers: dict[str, ProofChecker] = current_app.extensions.get("portal.proof_checkers", {})
    checker = checkers.get(proof_kind or "", StaffReview())
    outcome = checker.check(kind, normalised, proof.strip(), customer)
    if outcome is ProofStatus.VERIFIED and _find_verified(kind, normalised) is None:
        _mark_verified(ident, proof_kind or "proof")
    elif outcome is ProofStatus.REJECTED:
        ident.status = "rejected"
    record(
        "identifier.added", actor_type="customer", actor_id=customer.id,
        subject_type="customer_identifier", subject_id=ident.id,
        details={"kind": kind, "status": ident.status},
    )  # fmt: skip
    db.session.flush()
    return ident


class DecisionError(Exception):
    """Staff's decision on a pending identifier was not carried out; ``code`` says why:
    ``decided`` (approved or rejected already, by someone else or a second submission),
    ``taken`` (verified for another customer) or ``kind`` (an e-mail address, which only its
    code verifies)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _claim_pending(ident: CustomerIdentifier, status: str) -> None:
    """Move ``ident`` from pending to ``status`` atomically: a conditional ``UPDATE`` that only
    one of two concurrent decisions gets through (the other finds nothing to update).

    :raises DecisionError: ``decided`` if it is no longer pending.
    """
    result = db.session.execute(
        update(CustomerIdentifier)
        .where(CustomerIdentifier.id == ident.id, CustomerIdentifier.status == "pending")
        # the proof was for this decision only: not kept after it
        .values(status=status, proof_encrypted=None)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        db.session.refresh(ident)
        raise DecisionError("decided")
    set_committed_value(ident, "status", status)
    set_committed_value(ident, "proof_encrypted", None)


def _check_decidable(ident: CustomerIdentifier) -> None:
    if ident.kind == IdentifierKind.EMAIL.value:
        raise DecisionError("kind")
    if ident.status != "pending":
        raise DecisionError("decided")


def approve_identifier(ident: CustomerIdentifier, *, staff_id: int) -> None:
    """Staff checked the proof: verify the phone or customer number, exactly as a proof
    checker would (:func:`_mark_verified`, ``verified_by="staff"``). Flushes; the caller
    commits, or rolls back on an error.

    :raises DecisionError: ``decided``, ``kind``, or ``taken`` if another customer has it
        verified (a verified identifier has one owner).
    """
    _check_decidable(ident)
    if _find_verified(ident.kind, identifier_value(ident)) is not None:
        raise DecisionError("taken")
    _claim_pending(ident, "verified")
    _mark_verified(ident, "staff")
    try:
        db.session.flush()
    except IntegrityError:
        # another customer's identifier was verified between the check and the flush
        raise DecisionError("taken") from None
    record(
        "identifier.verified", actor_type="staff", actor_id=staff_id,
        subject_type="customer_identifier", subject_id=ident.id,
        details={"kind": ident.kind, "customer": ident.customer_id},
    )  # fmt: skip
    db.session.flush()


def reject_identifier(ident: CustomerIdentifier, *, staff_id: int, reason_given: bool) -> None:
    """Staff could not accept the proof: the identifier is rejected and never used. Flushes.
    Whether staff gave the customer a reason is logged, not the reason.

    :raises DecisionError: ``decided`` or ``kind``.
    """
    _check_decidable(ident)
    _claim_pending(ident, "rejected")
    record(
        "identifier.rejected", actor_type="staff", actor_id=staff_id,
        subject_type="customer_identifier", subject_id=ident.id,
        details={"kind": ident.kind, "customer": ident.customer_id,
                 "reason_given": reason_given},
    )  # fmt: skip
    db.session.flush()


def request_email_verification(
    customer: Customer, email: str, locale: str, replacing: tuple[int, str] | None = None
) -> tuple[CustomerIdentifier, IssuedChallenge]:
    """Add another address as pending and send a code to it. Flushes.

    :raises InvalidIdentifier: if it is not one mailbox (:func:`normalize_mailbox`).
    :raises IdentifierTaken: if this customer already has it verified.
    """
    value = normalize_mailbox(email)
    kind = IdentifierKind.EMAIL.value
    ident = _existing(customer, kind, value) or _new_identifier(customer, kind, value)
    if ident.is_verified:
        raise IdentifierTaken()
    db.session.flush()
    issued = _issue(
        "verify_email", value, locale, "auth/email/verify_email", None, customer, ident,
        replacing=replacing,
    )  # fmt: skip
    return ident, issued


def complete_email_verification(
    customer: Customer, challenge_id: int, nonce: str, code: str
) -> CustomerIdentifier:
    """Verify an added address with the code sent to it. Flushes.

    :raises ChallengeError: why the code was refused.
    :raises IdentifierTaken: if another customer has meanwhile verified the address.
    """
    challenge = redeem_code(challenge_id, nonce, code, "verify_email")
    if challenge.customer_id != customer.id or challenge.identifier_id is None:
        raise ChallengeError(ChallengeProblem.MISSING)
    ident = db.session.get(CustomerIdentifier, challenge.identifier_id)
    if ident is None:
        raise ChallengeError(ChallengeProblem.MISSING)
    value = crypto.decrypt_text(ident.value_encrypted)
    if _find_verified(ident.kind, value) is not None:
        raise IdentifierTaken()
    _mark_verified(ident, "email_code")
    record(
        "identifier.verified", actor_type="customer", actor_id=customer.id,
        subject_type="customer_identifier", subject_id=ident.id, details={"kind": ident.kind},
    )  # fmt: skip
    db.session.flush()
    _link_entered_requests(customer, value, "address_verified")
    return ident


def identifier_value(ident: CustomerIdentifier) -> str:
    """The decrypted, normalised value of an identifier (to show it to its owner)."""
    return crypto.decrypt_text(ident.value_encrypted)


def verified_identity(customer: Customer) -> Identity:
    """The customer's verified identifiers: the only keys the connectors may match on."""
    return Identity(
        Identifier(IdentifierKind(i.kind), identifier_value(i))
        for i in customer.identifiers
        if i.is_verified
    )
