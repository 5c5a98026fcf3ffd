"""A Zammad without Elasticsearch, over real HTTP against the simulator.

Elasticsearch is optional in Zammad ("highly recommended"). Without it, ``users/search`` and
``tickets/search?query=`` fall back to SQL and look for the whole query as a substring:
``email:sanne.devries@example.nl`` and ``customer_id:27`` are taken literally and find
nothing, so the customer's user and tickets were silently missing while the source said it
was complete. The bare address and the condition search find them either way.
"""

from __future__ import annotations

from typing import Any

import pytest

from connectors import Identity, RetryPolicy, SourceStatus, create, gather
from simulators import start

SANNE_EMAIL = "sanne.devries@example.nl"
SANNE = Identity.of(emails=[SANNE_EMAIL])


def _gather(elasticsearch: bool, retry: RetryPolicy) -> Any:
    handle = start("zammad", elasticsearch=elasticsearch)
    config = {"base_url": handle.base_url, "token": handle.credentials["token"]}
    try:
        with create("zammad", config, retry=retry) as connector:
            return gather([connector], SANNE).sources["zammad"]
    finally:
        handle.stop()


@pytest.mark.parametrize("elasticsearch", [True, False])
def test_her_user_tickets_and_messages_are_found_with_or_without_elasticsearch(
    no_wait: RetryPolicy, elasticsearch: bool
) -> None:
    source = _gather(elasticsearch, no_wait)
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    users = [r for r in source.records if r.record_type == "user"]
    assert [(u.record_id, u.fields["email"]) for u in users] == [("27", SANNE_EMAIL)]
    tickets = [r for r in source.records if r.record_type == "ticket"]
    assert len(tickets) == 17
    assert {r.parent.record_id for r in tickets if r.parent} == {"27"}
    assert [r for r in source.records if r.record_type == "article"]


def test_without_elasticsearch_the_same_records_are_found(no_wait: RetryPolicy) -> None:
    with_index = _gather(True, no_wait)
    without = _gather(False, no_wait)
    assert {r.ref for r in without.records} == {r.ref for r in with_index.records}
    assert without.dropped >= 1  # the near matches of the "contains" search are dropped
