"""The demo privacy officer, created by ``flask --app portal demo load`` (documented in
README.md). Its password and TOTP secret are fixed and public: only ever in a demo."""

from __future__ import annotations

import pyotp

from .. import crypto
from ..extensions import db
from ..models import StaffRole, utcnow
from . import auth

DEMO_STAFF_EMAIL = "privacy@demo.example.nl"
DEMO_STAFF_NAME = "Demo privacyfunctionaris"
DEMO_STAFF_PASSWORD = "demo-beheer-wachtwoord"  # noqa: S105 - public, documented, demo only
#: Base32; add it to an authenticator app, or print the code with ``staff demo-code``.
DEMO_TOTP_SECRET = "DEMOBEHEERPORTAALGEHEIM234567ABC"  # noqa: S105 - public, demo only


class DemoRefused(Exception):
    """Not a demo installation, or the demo account is not (or no longer) as documented."""


def ensure_demo_staff(environment: str) -> bool:
    """Make sure the demo privacy officer exists, enrolled with the fixed secret. Returns
    whether it was created. Idempotent; refuses outside the demo environment."""
    if environment != "demo":
        raise DemoRefused("the demo staff account exists only in environment 'demo'")
    if auth.find_by_email(DEMO_STAFF_EMAIL) is not None:
        return False
    member = auth.create_staff(
        DEMO_STAFF_EMAIL, DEMO_STAFF_NAME, StaffRole.OFFICER.value, DEMO_STAFF_PASSWORD
    )
    member.totp_secret_encrypted = crypto.encrypt(DEMO_TOTP_SECRET)
    member.totp_enrolled_at = utcnow()
    auth.new_recovery_codes(member)  # not shown: the demo signs in with demo-code
    db.session.commit()
    return True


def demo_code(environment: str) -> tuple[str, int]:
    """The demo officer's current TOTP code and how many seconds it stays current.

    :raises DemoRefused: outside environment ``demo``, or if the demo account is missing or
        no longer uses the fixed demo secret.
    """
    if environment != "demo":
        raise DemoRefused("demo-code works only in environment 'demo'")
    member = auth.find_by_email(DEMO_STAFF_EMAIL)
    if member is None or not member.totp_enrolled:
        raise DemoRefused("no enrolled demo staff account; run: flask --app portal demo load")
    if auth.totp_secret(member) != DEMO_TOTP_SECRET:
        raise DemoRefused("the demo staff account no longer uses the demo secret")
    totp = pyotp.TOTP(DEMO_TOTP_SECRET)
    now = utcnow()
    left = totp.interval - int(now.timestamp()) % totp.interval
    return totp.at(now), left
