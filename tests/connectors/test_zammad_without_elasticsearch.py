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
from werkzeug.wrappers import Request, Response

from connectors import ErrorKind, Identity, NotConfigured, RetryPolicy, SourceStatus, create, gather
from simulators import start
from simulators.base import RequestRecord
from simulators.world import PHONE_ONLY_NUMBER, PHONE_ONLY_ZAMMAD_ID

from .scripted import ScriptedServer, json_answer

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


# -- phone numbers: only the search index searches them --------------------------------------

#: Sanne's address and the number of a caller Zammad knows only by phone (user 901).
WITH_PHONE = Identity.of(emails=[SANNE_EMAIL], phones=[PHONE_ONLY_NUMBER])


def _gather_with(
    retry: RetryPolicy, *, elasticsearch: bool, **settings: Any
) -> tuple[Any, list[RequestRecord]]:
    """Gather ``WITH_PHONE`` from a Zammad with or without its index; the source and the
    requests it got."""
    handle = start("zammad", elasticsearch=elasticsearch)
    config = {"base_url": handle.base_url, "token": handle.credentials["token"], **settings}
    try:
        with create("zammad", config, retry=retry) as connector:
            source = gather([connector], WITH_PHONE).sources["zammad"]
        return source, list(handle.requests)
    finally:
        handle.stop()


def _phone_searches(requests: list[RequestRecord]) -> list[RequestRecord]:
    return [
        r
        for r in requests
        if r.path == "/api/v1/users/search"
        and r.query.get("query", "").startswith(("phone:", "mobile:"))
    ]


def test_with_the_index_her_phone_number_is_searched(no_wait: RetryPolicy) -> None:
    source, requests = _gather_with(no_wait, elasticsearch=True)
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    users = {r.record_id for r in source.records if r.record_type == "user"}
    assert users == {"27", str(PHONE_ONLY_ZAMMAD_ID)}
    assert _phone_searches(requests)


def test_without_the_index_her_phone_number_is_said_not_to_be_searched(
    no_wait: RetryPolicy,
) -> None:
    """Without Elasticsearch Zammad cannot search phone numbers: the caller known only by
    her number cannot be found, and the source says so (partial) instead of looking complete.
    The connector finds this out itself, from how Zammad answers a search any index answers."""
    source, requests = _gather_with(no_wait, elasticsearch=False)
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("phone_search", ErrorKind.NOT_SUPPORTED)]
    # what the e-mail address finds is all there
    users = {r.record_id for r in source.records if r.record_type == "user"}
    assert users == {"27"}
    assert len([r for r in source.records if r.record_type == "ticket"]) == 17
    assert _phone_searches(requests) == []  # they would find nothing: not asked


def test_the_setting_says_there_is_no_index(no_wait: RetryPolicy) -> None:
    """``search_index = false``: no check, no phone search, and partial for the numbers."""
    source, requests = _gather_with(no_wait, elasticsearch=True, search_index=False)
    assert [(m.what, m.kind) for m in source.missing] == [("phone_search", ErrorKind.NOT_SUPPORTED)]
    assert _phone_searches(requests) == []
    assert not [r for r in requests if r.path == "/api/v1/users/me"]


def test_the_setting_says_there_is_an_index(no_wait: RetryPolicy) -> None:
    """``search_index = true``: the numbers are searched without the check."""
    source, requests = _gather_with(no_wait, elasticsearch=True, search_index=True)
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    assert str(PHONE_ONLY_ZAMMAD_ID) in {r.record_id for r in source.records}
    assert _phone_searches(requests)
    assert not [r for r in requests if r.path == "/api/v1/users/me"]


def test_without_a_phone_number_nothing_is_checked(no_wait: RetryPolicy) -> None:
    handle = start("zammad", elasticsearch=False)
    config = {"base_url": handle.base_url, "token": handle.credentials["token"]}
    try:
        with create("zammad", config, retry=no_wait) as connector:
            source = gather([connector], SANNE).sources["zammad"]
        assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
        assert handle.request_count("GET", "/api/v1/users/me") == 0
    finally:
        handle.stop()


def test_when_the_check_fails_the_numbers_are_missing_for_that(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if request.path == "/api/v1/users/me":
            return json_answer({"error": "Error ID 1: Please contact your administrator."}, 500)
        return None

    with ScriptedServer("zammad", script) as server, server.connector(no_wait) as connector:
        source = gather([connector], WITH_PHONE).sources["zammad"]
    assert source.status == SourceStatus.PARTIAL
    assert [(m.what, m.kind) for m in source.missing] == [("phone_search", ErrorKind.DOWN)]
    assert {r.record_id for r in source.records if r.record_type == "user"} == {"27"}


@pytest.mark.parametrize("value", ["false", 0, "auto"])
def test_a_setting_that_is_no_yes_or_no_is_refused(value: object) -> None:
    with pytest.raises(NotConfigured, match="search_index.*true or false"):
        create(
            "zammad", {"base_url": "https://desk.example.nl", "token": "t", "search_index": value}
        )
