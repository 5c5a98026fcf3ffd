"""The demo customer, created by ``flask --app portal demo load``."""

from __future__ import annotations

from connectors.identity import IdentifierKind

from ..extensions import db
from ..models import Customer
from .services import _find_verified, _mark_verified, _new_identifier

DEMO_EMAIL = "sanne.devries@example.nl"


def ensure_demo_customer(email: str = DEMO_EMAIL) -> bool:
    """Make sure the demo customer exists with her address verified. Returns whether created.

    Idempotent. She could sign in without this (any address can); the row makes the demo's
    audit log and account page look like a returning customer's.
    """
    kind = IdentifierKind.EMAIL.value
    if _find_verified(kind, email) is not None:
        return False
    customer = Customer()
    db.session.add(customer)
    db.session.flush()
    _mark_verified(_new_identifier(customer, kind, email), "demo")
    db.session.commit()
    return True
