"""Passkeys (WebAuthn) as an optional, additional second factor of staff.

A staff member who has set up the authenticator app (TOTP) may add passkeys on the account
page, and then at sign-in, after the password, use a passkey instead of a code. A passkey never
replaces TOTP: enrolment stays mandatory, and a code or a recovery code always works as well.
An officer's reset of the second factor removes the passkeys too.

Verification is done by py_webauthn (``webauthn``). What this module adds:

**Relying party.** The RP ID and the expected origin come from ``base_url``: the RP ID is its
host, the origin its scheme, host and port. WebAuthn needs a secure context and a domain name,
so passkeys are offered only for ``https://<domain>`` or ``http://localhost``; on an IP address
(the demo's ``http://127.0.0.1:5000``) :func:`relying_party` is ``None`` and nothing is shown.

**Challenges.** Kept server-side, one row per staff session and purpose
(:class:`~portal.models.StaffPasskeyChallenge`), valid :data:`CHALLENGE_TTL`. An answer deletes
the row before it is checked, so a challenge is used once, whether the answer is right or not.

**Sign count.** py_webauthn refuses a counter that did not go up (unless the authenticator
keeps none: both zero). The new value is stored with a compare-and-set on the old one, so of two
answers with the same counter only one is accepted.

**Failures at sign-in** count towards the lock-out exactly as a wrong TOTP code does (the same
:func:`auth._register_failure`), and the views share the code rate limits.

Functions flush; the view commits.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .. import crypto
from ..audit import record
from ..extensions import db
from ..models import StaffMember, StaffSession, utcnow
from ..models.staff import StaffPasskey, StaffPasskeyChallenge
from ..policy import current_policy
from ..settings import Settings
from .auth import SignInError, _refuse_if_locked, _register_failure, _signed_in

#: How long a challenge may be answered. The browser is asked to give up after half of it.
CHALLENGE_TTL = timedelta(minutes=5)
BROWSER_TIMEOUT_MS = 150_000
#: More passkeys than this per staff member is refused (one per device is plenty).
MAX_PASSKEYS = 10
MAX_NAME_LENGTH = 60
REGISTER = "register"
SIGN_IN = "sign_in"

_HASH_USER_HANDLE = "staff-webauthn-user"
#: Things that go wrong in a malformed or forged answer; py_webauthn wraps most of them in
#: WebAuthnException, but decoding can also raise these.
_BAD_ANSWER = (WebAuthnException, ValueError, TypeError, KeyError)


class PasskeyError(Exception):
    """Adding a passkey was refused; :attr:`reason` says why (for the message shown)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: the RP ID (a host name), its name, and the expected origin."""

    id: str
    name: str
    origin: str


def relying_party() -> RelyingParty | None:
    """The relying party from ``base_url``, or ``None`` where WebAuthn cannot work (an IP
    address, or plain HTTP on a host other than ``localhost``)."""
    settings: Settings = current_app.extensions["portal.settings"]
    url = settings.base_url
    host = (url.host or "").rstrip(".").lower()
    if not host:
        return None
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return None  # WebAuthn accepts only domain names as RP ID
    local = host == "localhost" or host.endswith(".localhost")
    if url.scheme != "https" and not local:
        return None  # not a secure context: browsers refuse WebAuthn there
    default_port = {"http": 80, "https": 443}[url.scheme]
    port = "" if url.port in (None, default_port) else f":{url.port}"
    return RelyingParty(host, current_policy().controller.name, f"{url.scheme}://{host}{port}")


def available() -> bool:
    """Whether passkeys can be offered on this deployment."""
    return relying_party() is not None


def _relying_party() -> RelyingParty:
    rp = relying_party()
    if rp is None:
        raise PasskeyError("unavailable")
    return rp


def user_handle(member: StaffMember) -> bytes:
    """The WebAuthn user id of ``member``: a keyed hash of the staff id, so it is stable and
    says nothing about the person (never the e-mail address, as the specification asks)."""
    return bytes.fromhex(crypto.keyed_hash(_HASH_USER_HANDLE, str(member.id)))


def passkeys_of(member: StaffMember) -> list[StaffPasskey]:
    """The passkeys of ``member``, oldest first."""
    return list(
        db.session.scalars(
            select(StaffPasskey)
            .where(StaffPasskey.staff_id == member.id)
            .order_by(StaffPasskey.created_at, StaffPasskey.id)
        )
    )


def count_of(member: StaffMember) -> int:
    """How many passkeys ``member`` has."""
    return (
        db.session.scalar(
            select(func.count()).select_from(StaffPasskey).where(StaffPasskey.staff_id == member.id)
        )
        or 0
    )


def _descriptor(passkey: StaffPasskey) -> PublicKeyCredentialDescriptor:
    transports = []
    for value in passkey.transports or []:
        try:
            transports.append(AuthenticatorTransport(value))
        except ValueError:
            continue  # a transport this version of py_webauthn does not know: only a hint
    return PublicKeyCredentialDescriptor(id=passkey.credential_id, transports=transports or None)


# --- challenges ------------------------------------------------------------------------------


def _new_challenge(
    session_row: StaffSession, purpose: str, challenge: bytes, name: str | None = None
) -> None:
    """Store ``challenge`` for this session and purpose, replacing an earlier one; expired
    challenges of any session go as well. Flushes."""
    now = utcnow()
    db.session.execute(
        delete(StaffPasskeyChallenge).where(
            (StaffPasskeyChallenge.expires_at <= now)
            | (
                (StaffPasskeyChallenge.session_id == session_row.id)
                & (StaffPasskeyChallenge.purpose == purpose)
            )
        )
    )
    db.session.add(
        StaffPasskeyChallenge(
            session_id=session_row.id,
            purpose=purpose,
            challenge=challenge,
            passkey_name=name,
            created_at=now,
            expires_at=now + CHALLENGE_TTL,
        )
    )
    db.session.flush()


def _take_challenge(session_row: StaffSession, purpose: str) -> StaffPasskeyChallenge | None:
    """The open challenge of this session and purpose, removed so it cannot be used again;
    ``None`` if there is none, it expired, or a concurrent request took it first."""
    row = db.session.scalars(
        select(StaffPasskeyChallenge)
        .where(
            StaffPasskeyChallenge.session_id == session_row.id,
            StaffPasskeyChallenge.purpose == purpose,
        )
        .order_by(StaffPasskeyChallenge.id.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    taken = db.session.execute(
        delete(StaffPasskeyChallenge).where(StaffPasskeyChallenge.id == row.id)
    )
    db.session.expunge(row)
    if not taken.rowcount:  # type: ignore[attr-defined]
        return None
    if utcnow() >= row.expires_at:
        return None
    return row


# --- adding a passkey ------------------------------------------------------------------------


def registration_options(member: StaffMember, session_row: StaffSession, name: str) -> str:
    """Options for ``navigator.credentials.create()`` (as JSON) to add a passkey called
    ``name``; the challenge is kept for this session. The caller has re-authenticated the
    member (a fresh TOTP code). Flushes.

    :raises PasskeyError: ``unavailable`` (see :func:`relying_party`), ``not_enrolled``
        (TOTP comes first) or ``too_many``.
    """
    rp = _relying_party()
    if not member.totp_enrolled:
        raise PasskeyError("not_enrolled")
    existing = passkeys_of(member)
    if len(existing) >= MAX_PASSKEYS:
        raise PasskeyError("too_many")
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user_handle(member),
        user_name=member.email,
        user_display_name=member.display_name,
        timeout=BROWSER_TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[_descriptor(p) for p in existing],
    )
    _new_challenge(session_row, REGISTER, options.challenge, name.strip()[:MAX_NAME_LENGTH])
    return options_to_json(options)


def register(
    member: StaffMember, session_row: StaffSession, credential: dict[str, Any]
) -> StaffPasskey:
    """Check the browser's answer to :func:`registration_options` and store the passkey.
    Flushes; writes ``staff.passkey_added`` to the audit log.

    :raises PasskeyError: ``unavailable``, ``no_challenge`` (none, used or expired),
        ``invalid`` (wrong origin, RP, challenge, signature, format...), ``duplicate`` or
        ``too_many``.
    """
    rp = _relying_party()
    challenge = _take_challenge(session_row, REGISTER)
    if challenge is None:
        raise PasskeyError("no_challenge")
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge.challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except _BAD_ANSWER:
        raise PasskeyError("invalid") from None
    taken = db.session.scalar(
        select(StaffPasskey.id).where(StaffPasskey.credential_id == verified.credential_id)
    )
    if taken is not None:
        raise PasskeyError("duplicate")
    if count_of(member) >= MAX_PASSKEYS:
        raise PasskeyError("too_many")
    transports = credential.get("response", {}).get("transports")
    passkey = StaffPasskey(
        staff_id=member.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[str(t)[:16] for t in transports][:8] if isinstance(transports, list) else [],
        name=challenge.passkey_name or "Passkey",
        created_at=utcnow(),
    )
    db.session.add(passkey)
    db.session.flush()
    record(
        "staff.passkey_added", actor_type="staff", actor_id=member.id,
        subject_type="staff_member", subject_id=member.id,
        details={"passkey_id": passkey.id, "user_verified": verified.user_verified},
    )  # fmt: skip
    db.session.flush()
    return passkey


def remove(member: StaffMember, passkey_id: int) -> str | None:
    """Remove one of ``member``'s own passkeys. Flushes; writes ``staff.passkey_removed``.

    :returns: the name of the removed passkey, or ``None`` if ``member`` has no passkey with
        this id (someone else's passkey included).
    """
    passkey = db.session.scalars(
        select(StaffPasskey).where(
            StaffPasskey.id == passkey_id, StaffPasskey.staff_id == member.id
        )
    ).one_or_none()
    if passkey is None:
        return None
    name = passkey.name
    db.session.delete(passkey)
    record(
        "staff.passkey_removed", actor_type="staff", actor_id=member.id,
        subject_type="staff_member", subject_id=member.id, details={"passkey_id": passkey_id},
    )  # fmt: skip
    db.session.flush()
    return name


# --- signing in with a passkey ---------------------------------------------------------------


def sign_in_options(member: StaffMember, session_row: StaffSession) -> str:
    """Options for ``navigator.credentials.get()`` (as JSON), allowing only ``member``'s own
    passkeys; the challenge is kept for this (password-only) session. Flushes.

    :raises PasskeyError: ``unavailable``, ``not_enrolled`` or ``none`` (no passkeys).
    """
    rp = _relying_party()
    if not member.totp_enrolled:
        raise PasskeyError("not_enrolled")
    existing = passkeys_of(member)
    if not existing:
        raise PasskeyError("none")
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=BROWSER_TIMEOUT_MS,
        allow_credentials=[_descriptor(p) for p in existing],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _new_challenge(session_row, SIGN_IN, options.challenge)
    return options_to_json(options)


def _credential_id(credential: dict[str, Any]) -> bytes | None:
    raw = credential.get("rawId")
    if not isinstance(raw, str) or len(raw) > 2048:
        return None
    try:
        return base64url_to_bytes(raw)
    except ValueError:
        return None


def complete_with_passkey(
    member: StaffMember, session_row: StaffSession, credential: dict[str, Any]
) -> StaffPasskey:
    """Finish signing in with the browser's answer to :func:`sign_in_options`; renews the
    session as a TOTP code does. Flushes.

    Refused, and counted as a failed attempt like a wrong code: no or a used or expired
    challenge, a passkey that is not ``member``'s, a wrong origin, RP ID or signature, and a
    signature counter that did not go up.

    :raises SignInError: as above, or the account is locked.
    """
    _refuse_if_locked(member, "passkey")
    rp = relying_party()
    challenge = _take_challenge(session_row, SIGN_IN)
    raw_id = _credential_id(credential)
    passkey = None
    if raw_id is not None:
        passkey = db.session.scalars(
            select(StaffPasskey).where(
                StaffPasskey.staff_id == member.id, StaffPasskey.credential_id == raw_id
            )
        ).one_or_none()
    if rp is None or challenge is None or passkey is None or not member.totp_enrolled:
        _register_failure(member, "passkey")
        raise SignInError()
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge.challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except _BAD_ANSWER:
        _register_failure(member, "passkey")
        raise SignInError() from None
    # Compare-and-set: a second answer with the same counter, racing this one, finds it moved.
    moved = db.session.execute(
        update(StaffPasskey)
        .where(StaffPasskey.id == passkey.id, StaffPasskey.sign_count == passkey.sign_count)
        .values(sign_count=verified.new_sign_count, last_used_at=utcnow())
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        _register_failure(member, "passkey")
        raise SignInError()
    db.session.refresh(passkey)
    _signed_in(member, "passkey", passkey_id=passkey.id)
    return passkey
