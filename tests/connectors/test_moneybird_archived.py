"""MoneyBird contacts that were archived, over real HTTP against the simulator.

MoneyBird's contact list (``GET contacts.json``) leaves archived contacts out unless
``include_archived=true`` is sent, yet an archived contact (a former customer, often just
the one who asks what is still held) keeps its name, address, bank details and invoices.
The tests archive contacts as a bookkeeper would (``PATCH contacts/{id}/archive.json``) and
read the administration as a gathering does.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from connectors import Identity, RetryPolicy, SourceStatus, gather
from simulators import start
from simulators.runner import SimulatorHandle

from .over_http import connect

SANNE = "sanne.devries@example.nl"
SANNE_ID = "431877251120719881"
#: The other Sanne de Vries (Groningen), whom every fuzzy search finds too.
OTHER_SANNE_ID = "431877251294783498"


@pytest.fixture
def books() -> Iterator[SimulatorHandle]:
    """A MoneyBird simulator of its own (contacts get archived)."""
    handle = start("moneybird")
    try:
        yield handle
    finally:
        handle.stop()


def archive(handle: SimulatorHandle, contact_id: str) -> None:
    """Archive a contact over the API, as the bookkeeper does."""
    creds = handle.credentials
    answer = httpx.patch(
        f"{handle.base_url}/{creds['administration_id']}/contacts/{contact_id}/archive.json",
        headers={"Authorization": f"Bearer {creds['token']}"},
    )
    assert answer.status_code == 200 and answer.json()["archived"] is True


def test_an_archived_contact_is_still_found_with_its_invoices(
    books: SimulatorHandle, no_wait: RetryPolicy
) -> None:
    archive(books, SANNE_ID)
    archive(books, OTHER_SANNE_ID)
    with connect(books, no_wait) as connector:
        result = gather([connector], Identity.of(emails=[SANNE]))
    source = result.sources["moneybird"]
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    contacts = [r for r in source.records if r.record_type == "contact"]
    assert [(r.record_id, r.fields.get("archived")) for r in contacts] == [(SANNE_ID, True)]
    invoices = [r for r in source.records if r.record_type == "invoice"]
    assert len(invoices) == 9
    assert {r.parent.record_id for r in invoices if r.parent} == {SANNE_ID}
    # the other Sanne, archived as well, is found by the fuzzy search and dropped
    assert OTHER_SANNE_ID not in {r.record_id for r in source.records}
    assert source.dropped >= 1
    searches = [r for r in books.requests if r.path.endswith("/contacts.json")]
    assert searches and all(r.query.get("include_archived") == "true" for r in searches)
