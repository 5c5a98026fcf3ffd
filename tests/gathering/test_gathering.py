"""The portal gathers a customer's data live from every source of the policy, over real HTTP
against the vendor simulators, and holds the result encrypted and briefly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask_babel import refresh

from portal.auth.services import sign_in_with_verified_email
from portal.extensions import db
from portal.gathering import build_sources, gather_for, latest, purge_expired, source_config
from portal.gathering.messages import outcome_text
from portal.models import GatheredSnapshot
from portal.models.base import utcnow
from portal.policy import current_policy
from simulators import SimulatorGroup

from ..conftest import SIMULATED_SOURCES

SANNE = "sanne.devries@example.nl"
NEAR_MISSES = ("sanne.de.vries@example.nl", "sanne.devries+shop@example.nl", "Groningen")


@pytest.fixture
def settings_overrides(simulated_connectors: dict[str, object]) -> dict[str, object]:
    return {"connectors": simulated_connectors, "gather_budget_seconds": 10.0}


def _sanne(app: Flask):  # type: ignore[no-untyped-def]
    with app.test_request_context():
        customer = sign_in_with_verified_email(SANNE, method="test")
        db.session.commit()
        return customer.id


def _gather(app: Flask):  # type: ignore[no-untyped-def]
    from portal.models import Customer

    customer_id = _sanne(app)
    with app.test_request_context():
        snapshot = gather_for(db.session.get(Customer, customer_id))
        db.session.commit()
        return snapshot


def test_gathers_from_every_source_and_nothing_of_anyone_else(app: Flask) -> None:
    snapshot = _gather(app)
    statuses = {s.key: s.status for s in snapshot.sources}
    assert statuses == {**dict.fromkeys(SIMULATED_SOURCES, "complete"), "workshop": "complete"}
    by_source = {key: [r for r in snapshot.records if r["source"] == key] for key in statuses}
    assert all(by_source.values()), "every source holds data of the demo customer"
    # the firm's own file: only Sanne's two job sheets (case differs in one), not the others
    assert sorted(r["record_id"] for r in by_source["workshop"]) == [
        "werkbonnen:WB-2026-0113",
        "werkbonnen:WB-2026-0302",
    ]
    for record in snapshot.records:
        assert record["matched"]["value"] == SANNE
        text = str(record["fields"])
        for other in NEAR_MISSES:
            assert other not in text


def test_categories_come_from_the_policy_mapping(app: Flask) -> None:
    snapshot = _gather(app)
    with app.app_context():
        known = {c.key for c in current_policy().categories}
    for record in snapshot.records:
        assert set(record["categories"].values()) <= known | {"customer_account"}
    job = next(r for r in snapshot.records if r["source"] == "workshop")
    assert job["categories"]["email"] == "contact"
    assert job["categories"]["apparaat"] == "service_jobs"


def test_stored_encrypted_with_an_expiry(app: Flask) -> None:
    _gather(app)
    with app.app_context():
        row = db.session.scalars(sa.select(GatheredSnapshot)).one()
        assert SANNE.encode() not in row.payload_encrypted
        assert b"Oudegracht" not in row.payload_encrypted
        assert "sanne" not in str(row.summary).lower()
        ttl = app.extensions["portal.settings"].gathered_ttl_minutes
        assert row.expires_at - row.created_at == timedelta(minutes=ttl)


def test_a_new_gathering_replaces_the_old_and_expired_data_is_purged(app: Flask) -> None:
    _gather(app)
    _gather(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(GatheredSnapshot)) == 1
        assert purge_expired() == 0
    with time_machine.travel(utcnow() + timedelta(hours=1)):
        with app.app_context():
            from portal.models import Customer

            customer = db.session.scalars(sa.select(Customer)).one()
            assert latest(customer) is None
            assert purge_expired() == 1
            db.session.commit()
            assert db.session.scalar(sa.select(sa.func.count()).select_from(GatheredSnapshot)) == 0


def test_a_source_that_is_down_gives_a_partial_result_that_says_so(
    app: Flask, simulators: SimulatorGroup
) -> None:
    simulators["zammad"].set_fault("down")
    simulators["mollie"].set_fault("expired_credentials")
    snapshot = _gather(app)
    outcome = {s.key: s for s in snapshot.sources}
    assert outcome["helpdesk"].status == "failed"
    assert outcome["helpdesk"].error_kind == "down"
    assert outcome["payments"].error_kind == "auth"
    assert outcome["webshop"].status == "complete"
    assert not snapshot.complete
    assert not [r for r in snapshot.records if r["source"] in ("helpdesk", "payments")]
    with app.test_request_context():
        assert "niet bereikbaar" in outcome_text(outcome["helpdesk"])
    with app.test_request_context(headers={"Cookie": "portal_lang=en"}):
        refresh()  # the locale is cached per app context, which pytest-flask keeps pushed
        assert "could not be reached" in outcome_text(outcome["helpdesk"])


def test_a_source_without_settings_is_reported_not_configured(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        built = build_sources(current_policy(), {}, tmp_path)
        try:
            assert set(built.unavailable) == set(SIMULATED_SOURCES)
            assert set(built.connectors) == {"workshop"}
        finally:
            built.close()


def test_file_paths_are_inside_the_instance_folder(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        workshop = next(s for s in current_policy().sources if s.key == "workshop")
        config = source_config(workshop, {}, tmp_path)
    assert config["sources"][0]["path"] == str(tmp_path / "demo" / "werkbonnen.csv")


def test_a_gathering_stored_under_another_policy_is_gathered_again(app: Flask) -> None:
    """Records are prepared (due dates worked out) when gathered, under the policy of that
    moment. After the firm changes its policy, a held gathering is stale: the next page view
    gathers anew rather than show due dates or categories of the old policy."""
    from portal import crypto
    from portal.gathering import current_or_gather
    from portal.models import Customer

    first = _gather(app)
    assert not first.stale and all("due_dates" in r for r in first.records)
    with app.test_request_context():
        customer = db.session.scalars(sa.select(Customer)).one()
        assert latest(customer) is not None
        row = db.session.scalars(sa.select(GatheredSnapshot)).one()
        stored = orjson.loads(crypto.decrypt(row.payload_encrypted))
        stored["prepared"] = "a fingerprint of another policy"
        row.payload_encrypted = crypto.encrypt(orjson.dumps(stored))
        db.session.commit()
        assert latest(customer) is None  # held, but stale
        again = current_or_gather(customer)
        db.session.commit()
        assert again.gathered_at > first.gathered_at and not again.stale
        assert latest(customer) is not None
