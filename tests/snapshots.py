"""A gathering held for a customer as the portal stores one, for tests that need records (or
source outcomes) the simulators do not give."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from flask import Flask

from portal import crypto
from portal.export.prepare import prepare_records, stored
from portal.extensions import db
from portal.gathering import SourceOutcome
from portal.models import GatheredSnapshot
from portal.models.base import utcnow
from portal.policy import current_policy
from portal.settings import firm_zone


def hold_snapshot(
    app: Flask,
    customer_id: int,
    records: list[dict[str, Any]],
    outcomes: Sequence[SourceOutcome] | None = None,
) -> None:
    """Store ``records`` as the customer's current gathering, as :func:`gather_for` would;
    by default one complete web shop answered with all of them."""
    now = utcnow()
    if outcomes is None:
        outcomes = [
            SourceOutcome("webshop", "woocommerce", "complete", None, None, (), len(records), 0.1)
        ]
    with app.app_context():
        policy, zone = current_policy(), firm_zone()
        db.session.add(
            GatheredSnapshot(
                customer_id=customer_id,
                created_at=now,
                expires_at=now + timedelta(hours=1),
                summary=[outcome.as_dict() for outcome in outcomes],
                # prepared as gather_for stores them (a raw list would be stale: gathered anew)
                payload_encrypted=crypto.encrypt(
                    stored(prepare_records(records, policy, zone), policy, zone)
                ),
            )
        )
        db.session.commit()
