"""Rows of the firm's own files keyed on the customer's identifier (their customer number or
e-mail address): the portal keeps their ids for years (the changes it owes, a record kept by
law), so it keeps a pseudonym, never the identifier, also for ids it stored in the clear
before (:mod:`portal.gathering.record_ids`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from connectors.files import is_pseudonymous
from portal import retention
from portal.backoffice import actions, queue
from portal.customer.texts import record_name, shown_record_id
from portal.dsr import services as dsr
from portal.extensions import db
from portal.gathering import gather_for
from portal.models import (
    ActionStatus,
    Customer,
    RequestAction,
    RequestKind,
    RequestStatus,
    utcnow,
)

from .test_actions import _fresh_simulators, sanne  # noqa: F401 - shared fixtures

SANNE = "sanne.devries@example.nl"
#: Her customer number in the firm's customer file (the file's id column).
NUMBER = "K-1042"
CLEAR = (NUMBER.lower(), "sanne.devries", "612345678")


@pytest.fixture
def klanten(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("files") / "klanten.csv"
    path.write_text(
        "klantnummer;naam;email;telefoon\n"
        f"{NUMBER};Sanne de Vries;{SANNE};+31612345678\n"
        "K-1057;Sanne de Vries;sanne.de.vries@example.nl;+31698765432\n"
    )
    return path


@pytest.fixture
def settings_overrides(simulated_connectors: dict[str, object], klanten: Path) -> dict[str, Any]:
    """The workshop source reads a customer file keyed on the customer number, and a list of
    contacts keyed on the e-mail address."""

    def entry(name: str, id_column: str) -> dict[str, Any]:
        return {
            "name": name, "kind": "csv", "path": str(klanten), "delimiter": ";",
            "record_type": "service_job", "id_column": id_column,
            "identifiers": {"email": "email", "customer_number": "klantnummer"},
            "categories": {"naam": "identity", "email": "contact"},
            "default_category": "service_jobs",
        }  # fmt: skip

    workshop = {"sources": [entry("klanten", "klantnummer"), entry("contacten", "email")]}
    return {
        "connectors": {**simulated_connectors, "workshop": workshop},
        "gather_budget_seconds": 10.0,
    }


def _workshop_ids(customer: Customer) -> dict[str, str]:
    """The ids a gathering gives her workshop records, by file."""
    snapshot = gather_for(customer)
    db.session.commit()
    return {
        r["record_id"].partition(":")[0]: r["record_id"]
        for r in snapshot.records
        if r["source"] == "workshop"
    }


def _stored_text() -> str:
    """Every value of every request action, as one text."""
    rows = db.session.execute(sa.select(RequestAction.__table__)).all()
    return repr([tuple(row) for row in rows]).lower()


def test_an_erasure_with_a_kept_row_stores_no_identifier(
    app: Flask,
    sanne: Customer,  # noqa: F811 - the imported fixture
) -> None:
    ids = _workshop_ids(sanne)
    assert set(ids) == {"klanten", "contacten"} and all(map(is_pseudonymous, ids.values()))
    request = dsr.submit(sanne, RequestKind.ERASURE, details={"scope": "all"}, locale="nl").request
    db.session.commit()

    queued = queue.carry_out_erasure(request, staff_id=1)
    db.session.commit()
    for action_id in queued:
        actions.run(action_id)
    workshop = [a for a in actions.actions_of(request) if a.source == "workshop"]
    assert {a.record_id for a in workshop} == set(ids.values())
    assert all(a.status == ActionStatus.MANUAL.value and a.instructions for a in workshop)
    assert any("holds the customer's customer number" in (a.instructions or "") for a in workshop)
    # one of the rows is kept by law; when its date comes, staff are told where it is
    kept = actions.add_kept(
        request, "workshop", "service_job", ids["klanten"], until=None, category="service_jobs"
    )
    kept.keep_until = utcnow().date() - timedelta(days=1)
    request.status = RequestStatus.DONE.value
    db.session.commit()
    assert retention.due_kept(now=datetime.now(UTC) + timedelta(days=1)) == 1
    db.session.commit()
    assert kept.status == ActionStatus.MANUAL.value and kept.instructions
    assert (
        "line 2 of the file (the header is line 1), whose column 'klantnummer' holds the "
        "customer's customer number" in kept.instructions
    )

    stored = _stored_text()
    assert not [value for value in CLEAR if value in stored]


def test_ids_stored_in_the_clear_before_are_rewritten_by_the_sweep(
    app: Flask,
    sanne: Customer,  # noqa: F811 - the imported fixture
) -> None:
    """Changes owed from before the pseudonyms name the row by its value: the retention sweep
    gives them the id a gathering finds the row by now, and drops the value from the
    instructions."""
    ids = _workshop_ids(sanne)
    request = dsr.submit(sanne, RequestKind.ERASURE, details={"scope": "all"}, locale="nl").request
    db.session.commit()
    old_kept = actions.add_kept(
        request, "workshop", "service_job", f"klanten:{NUMBER}", until=None, category="service_jobs"
    )
    old_kept.instructions = (
        f"Files › klanten › CSV file x.csv › row where column 'klantnummer' = {NUMBER}"
    )
    spelled = actions.add_erasure(
        request, "workshop", "service_job", "contacten:Sanne.DeVries@Example.NL", anonymise=False
    )
    spelled.instructions = "workshop › service_job #contacten:Sanne.DeVries@Example.NL"
    current = actions.add_erasure(
        request, "workshop", "service_job", ids["klanten"], anonymise=False
    )
    other = actions.add_erasure(request, "webshop", "customer", "klanten:K-1042", anonymise=False)
    db.session.commit()

    report = retention.purge()
    db.session.commit()

    assert report.counts["files_record_ids"] == 2
    assert old_kept.record_id == ids["klanten"]  # the kept row is found again
    assert old_kept.instructions == (
        "Files › klanten › CSV file x.csv › row whose column 'klantnummer' holds the "
        "customer's customer number"
    )
    # the value as the file held it: another spelling is another row's pseudonym
    assert is_pseudonymous(spelled.record_id) and spelled.record_id != ids["contacten"]
    assert spelled.instructions == f"workshop › service_job #{spelled.record_id}"
    assert current.record_id == ids["klanten"]
    assert other.record_id == "klanten:K-1042"  # another connector's id: not the files'
    assert retention.purge().counts.get("files_record_ids") is None  # done once
    stored = _stored_text().replace("klanten:k-1042", "")  # the webshop's own id
    assert not [value for value in CLEAR if value in stored]


def test_the_customer_reads_no_pseudonym() -> None:
    keyed = {"system": "files", "record_id": "klanten:h-0123456789abcdef0123"}
    assert shown_record_id(keyed) == ""
    assert record_name("Werkbon", keyed) == "Werkbon"
    readable = {"system": "files", "record_id": "werkbonnen:WB-2026-0302"}
    assert record_name("Werkbon", readable) == "Werkbon WB-2026-0302"
    # a vendor's id that happens to look like one is still shown
    vendor = {"system": "zammad", "record_id": "h-0123456789abcdef0123"}
    assert shown_record_id(vendor) == "h-0123456789abcdef0123"
