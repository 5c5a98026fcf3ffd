"""Vendor connectors over real HTTP against the local vendor simulators.

Uses ``simulators.runner.start(vendor)`` when the runner exists; until then each simulator's
WSGI app is served on 127.0.0.1 by werkzeug in a thread. Vendors whose simulator is not there
yet are skipped.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors import ErrorKind, Identity, RetryPolicy, SourceStatus, create, gather
from connectors.base import BaseConnector
from simulators.world import PHONE_ONLY_FRESHDESK_ID, PHONE_ONLY_NUMBER, PHONE_ONLY_ZAMMAD_ID

SANNE = "sanne.devries@example.nl"
VENDORS = ["woocommerce", "moneybird", "zammad", "freshdesk", "mollie"]


class Served:
    """A simulator served over HTTP: ``base_url``, ``credentials``, ``app``."""

    def __init__(self, vendor: str) -> None:
        from werkzeug.serving import make_server

        module = importlib.import_module(f"simulators.{vendor}")
        self.app = module.create_app()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_port}{self.app.api_prefix}"
        self.credentials = self.app.credentials

    def set_fault(self, mode: str, **kwargs: Any) -> None:
        self.app.set_fault(mode, **kwargs)

    def request_count(self) -> int:
        return self.app.request_count()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture(params=VENDORS)
def simulator(request: pytest.FixtureRequest) -> Iterator[Any]:
    vendor = request.param
    try:
        importlib.import_module(f"simulators.{vendor}")
    except ImportError:
        pytest.skip(f"no {vendor} simulator yet")
    try:
        runner = importlib.import_module("simulators.runner")
    except ImportError:
        served = Served(vendor)
        served.vendor = vendor  # type: ignore[attr-defined]
        yield served
        served.stop()
        return
    handle = runner.start(vendor)
    handle.vendor = vendor
    try:
        yield handle
    finally:
        handle.stop()


def config_for(handle: Any) -> dict[str, Any]:
    creds = dict(handle.credentials)
    vendor, base = handle.vendor, handle.base_url
    if vendor == "woocommerce":
        return {"base_url": base, **{k: creds[k] for k in ("consumer_key", "consumer_secret")}}
    if vendor == "moneybird":
        root = base.rsplit("/api/", 1)[0]
        return {
            "base_url": base,
            "web_url": root,
            "token": creds["token"],
            "administration_id": creds["administration_id"],
        }
    if vendor == "zammad":
        return {"base_url": base, "token": creds["token"]}
    if vendor == "freshdesk":
        return {"base_url": base, "api_key": creds.get("api_key") or next(iter(creds.values()))}
    return {"base_url": base, "api_key": creds.get("api_key") or next(iter(creds.values()))}


def connector_for(handle: Any, retry: RetryPolicy) -> BaseConnector:
    return create(handle.vendor, config_for(handle), retry=retry)


def test_finds_sanne_and_nobody_else(simulator: Any, no_wait: RetryPolicy) -> None:
    with connector_for(simulator, no_wait) as connector:
        result = connector.fetch(Identity.of(emails=[SANNE]))
    assert result.records, "the data subject has data in every system"
    assert all(r.matched.value == SANNE for r in result.records)
    top = [r for r in result.records if r.parent is None]
    for record in top:
        emails = {
            str(v).strip().lower()
            for k, v in record.fields.items()
            if "email" in k.lower() and isinstance(v, str)
        }
        assert SANNE in emails
    assert result.stats.duplicates == 0
    assert result.stats.requests == simulator.request_count()
    for record in result.records:
        assert set(record.categories) == set(record.fields)


def test_a_freshdesk_contact_holds_what_only_its_own_view_gives(no_wait: RetryPolicy) -> None:
    handle = importlib.import_module("simulators.runner").start("freshdesk")
    handle.vendor = "freshdesk"
    try:
        with connector_for(handle, no_wait) as connector:
            result = connector.fetch(Identity.of(emails=[SANNE]))
    finally:
        handle.stop()
    contact = next(r for r in result.records if r.record_type == "contact")
    assert contact.fields["other_emails"] == ["s.devries.werk@example.nl"]
    assert contact.fields["tags"] == ["abonnement"]
    assert result.missing == ()


@pytest.fixture
def freshdesk_sim() -> Iterator[Any]:
    """A fresh Freshdesk simulator of its own (its data may be changed)."""
    handle = importlib.import_module("simulators.runner").start("freshdesk")
    handle.vendor = "freshdesk"
    try:
        yield handle
    finally:
        handle.stop()


def test_a_freshdesk_contact_found_by_its_other_address_shows_only_that_address(
    freshdesk_sim: Any, no_wait: RetryPolicy
) -> None:
    """Freshdesk's ``email=`` filter finds a contact by one of its other addresses, whose list
    row does not carry them: the contact is compared on its own view, not dropped. Its main
    address is not verified, so nothing says it is the same person's (an agent may have added
    a partner's address): only that address is shown, not the contact's name, main address,
    phone numbers or tickets."""
    second = "s.devries.werk@example.nl"
    with connector_for(freshdesk_sim, no_wait) as connector:
        result = connector.fetch(Identity.of(emails=[second]))
    assert [(r.record_type, r.record_id) for r in result.records] == [
        ("listed_email", "80012345671/other_emails")
    ]
    listed = result.records[0]
    assert listed.fields == {"other_emails": [second]}
    assert listed.matched.value == second and listed.categories == {"other_emails": "contact"}
    assert listed.link is not None and listed.link.endswith("/a/contacts/80012345671")
    assert (result.dropped, result.missing) == (1, ())  # the contact itself
    # the contact's own view, read to compare it, is not read a second time
    assert result.stats.duplicates == 0
    assert freshdesk_sim.request_count("GET", "/api/v2/contacts/80012345671") == 1
    assert freshdesk_sim.request_count("GET", "/api/v2/tickets") == 0


def test_a_freshdesk_contact_whose_main_address_is_verified_too_is_shown_whole(
    freshdesk_sim: Any, no_wait: RetryPolicy
) -> None:
    """With its main address verified as well, the contact is the customer's: shown in full,
    with its tickets, and without a second record for the other address."""
    second = "s.devries.werk@example.nl"
    with connector_for(freshdesk_sim, no_wait) as connector:
        result = connector.fetch(Identity.of(emails=[SANNE, second]))
    contact = next(r for r in result.records if r.record_type == "contact")
    assert contact.record_id == "80012345671" and contact.fields["email"] == SANNE
    assert contact.fields["other_emails"] == [second]
    assert [r for r in result.records if r.record_type == "ticket"]
    assert not [r for r in result.records if r.record_type == "listed_email"]
    assert (result.dropped, result.missing) == (0, ())


def test_her_address_on_someone_else_s_freshdesk_contact_shows_none_of_theirs(
    freshdesk_sim: Any, no_wait: RetryPolicy
) -> None:
    """Kees's contact lists an address of Sanne's among its other addresses (he shares her
    phone number too). Signed in with both her addresses, Sanne sees her own contact whole and
    of Kees's only her address there: not his name, his address, his number or his tickets."""
    auth = (freshdesk_sim.credentials["api_key"], "X")
    kees, private = "80012345764", "s.devries.prive@example.nl"
    listed = httpx.put(
        f"{freshdesk_sim.base_url}/contacts/{kees}", json={"other_emails": [private]}, auth=auth
    )
    assert listed.status_code == 200
    kees_contact = listed.json()
    with connector_for(freshdesk_sim, no_wait) as connector:
        result = connector.fetch(Identity.of(emails=[SANNE, private], phones=["+31612345678"]))
    by_ref = {(r.record_type, r.record_id): r for r in result.records}
    assert by_ref[("listed_email", f"{kees}/other_emails")].fields == {"other_emails": [private]}
    assert by_ref[("contact", "80012345671")].fields["email"] == SANNE
    assert not [r for r in result.records if r.record_id == kees]
    assert not [r for r in result.records if r.parent and r.parent.record_id == kees]
    shown = json.dumps([r.to_dict() for r in result.records])
    assert kees_contact["email"] not in shown and kees_contact["name"] not in shown


def test_a_freshdesk_contact_whose_every_address_is_hers_is_shown_whole(
    freshdesk_sim: Any, no_wait: RetryPolicy
) -> None:
    """Without a main address, a contact whose other addresses are all the customer's names
    nobody else: it is hers, whole."""
    auth = (freshdesk_sim.credentials["api_key"], "X")
    caller, own = "80012345733", "daan.prive@example.nl"
    changed = httpx.put(
        f"{freshdesk_sim.base_url}/contacts/{caller}",
        json={"email": None, "other_emails": [own]},
        auth=auth,
    )
    assert changed.status_code == 200
    with connector_for(freshdesk_sim, no_wait) as connector:
        result = connector.fetch(Identity.of(emails=[own]))
    contact = next(r for r in result.records if r.record_type == "contact")
    assert contact.record_id == caller and contact.fields["other_emails"] == [own]
    assert not [r for r in result.records if r.record_type == "listed_email"]


def test_a_freshdesk_contact_found_by_phone_with_someone_else_s_address_is_not_matched(
    freshdesk_sim: Any, no_wait: RetryPolicy
) -> None:
    """A contact without a main address whose other address is someone else's is not the
    phone holder's: the list row alone would have matched on the number."""
    auth = (freshdesk_sim.credentials["api_key"], "X")
    kees = "80012345702"
    changed = httpx.put(
        f"{freshdesk_sim.base_url}/contacts/{kees}",
        json={"email": None, "other_emails": ["kees@example.nl"], "mobile": "+31699990000"},
        auth=auth,
    )
    assert changed.status_code == 200
    with connector_for(freshdesk_sim, no_wait) as connector:
        result = connector.fetch(Identity.of(phones=["06-99990000"]))
        assert result.records == () and result.dropped == 1 and result.missing == ()
        # without the other address it is the phone holder's contact
        httpx.put(f"{freshdesk_sim.base_url}/contacts/{kees}", json={"other_emails": []}, auth=auth)
        found = connector.fetch(Identity.of(phones=["06-99990000"]))
    assert [r.record_id for r in found.records if r.record_type == "contact"] == [kees]


@pytest.mark.parametrize(
    ("vendor", "caller"), [("freshdesk", PHONE_ONLY_FRESHDESK_ID), ("zammad", PHONE_ONLY_ZAMMAD_ID)]
)
def test_a_caller_without_an_e_mail_address_is_found_by_a_national_spelling(
    no_wait: RetryPolicy, vendor: str, caller: int
) -> None:
    """Freshdesk's phone filters and Zammad's phone search match the number as stored, here
    "06 13572468" and "06-13572468": a record without an e-mail address, which only the
    verified number can find. Each usual spelling is looked up, a handful of requests per
    number. Sanne's number finds Sanne's own record in its spelling too, and the household
    number of Kees: neither is matched by the number (both name an e-mail address), and
    Kees's shows it is someone else's too."""
    handle = importlib.import_module("simulators.runner").start(vendor)
    handle.vendor = vendor
    identity = Identity.of(phones=[PHONE_ONLY_NUMBER, "+31612345678"])
    try:
        with connector_for(handle, no_wait) as connector:
            result = connector.fetch(identity)
    finally:
        handle.stop()
    top = [r for r in result.records if r.parent is None]
    assert [(r.record_id, r.matched.value) for r in top] == [(str(caller), PHONE_ONLY_NUMBER)]
    assert result.records == tuple(top)  # she has no tickets
    kees, sanne = ("80012345764", "80012345671") if vendor == "freshdesk" else ("45", "27")
    assert result.dropped == 2 and {kees, sanne}.isdisjoint(r.record_id for r in result.records)
    # two fields, five spellings, two numbers; then her tickets. Freshdesk also reads her
    # contact's own view (without a main address the row cannot decide), asks each search
    # again for soft-deleted contacts (state=deleted) and for blocked ones (state=blocked),
    # both of which its plain list leaves out, and lists her tickets in the trash and her
    # tickets marked as spam (filter=deleted, filter=spam), also left out of the plain list,
    # and her satisfaction ratings. Zammad first checks that its search index answers
    # (users/me, one search), without which phone numbers cannot be searched.
    searches = 2 * 5 * 2
    expected = 3 * searches + 5 if vendor == "freshdesk" else searches + 2 + 1
    assert result.stats.requests == expected
    assert result.stats.duplicates == 0


def test_near_identical_people_are_not_found(simulator: Any, no_wait: RetryPolicy) -> None:
    with connector_for(simulator, no_wait) as connector:
        result = connector.fetch(Identity.of(emails=["sanne.devries@example.n"]))
    assert result.records == ()


@pytest.mark.parametrize(
    ("mode", "kwargs", "kind"),
    [
        ("server_error", {}, ErrorKind.DOWN),
        ("malformed", {}, ErrorKind.BAD_DATA),
        ("expired_credentials", {}, ErrorKind.AUTH),
        ("rate_limit", {"retry_after": 60}, ErrorKind.RATE_LIMITED),
        (
            "rate_limit",
            {"retry_after": 60, "retry_after_format": "http-date"},
            ErrorKind.RATE_LIMITED,
        ),
        ("unavailable", {"retry_after": 60}, ErrorKind.DOWN),
        ("unavailable", {"retry_after": 60, "retry_after_format": "http-date"}, ErrorKind.DOWN),
        ("html_page", {}, ErrorKind.BAD_DATA),
        ("cut_off", {}, ErrorKind.DOWN),
        ("slow", {"delay": 2.0}, ErrorKind.TIMEOUT),
    ],
)
def test_faults_fail_the_source_with_a_kind(
    simulator: Any, no_wait: RetryPolicy, mode: str, kwargs: dict[str, Any], kind: ErrorKind
) -> None:
    simulator.set_fault(mode, **kwargs)
    with connector_for(simulator, no_wait) as connector:
        result = gather([connector], Identity.of(emails=[SANNE]), budget=1.5)
    source = result.sources[simulator.vendor]
    assert (source.status, source.error_kind) == (SourceStatus.FAILED, kind)
    assert source.records == ()
    if mode in ("rate_limit", "unavailable"):
        # beyond the budget: not waited for, and said (an HTTP date to the second)
        assert source.retry_after is not None and 57 <= source.retry_after <= 60


@pytest.mark.parametrize("mode", ["rate_limit", "unavailable"])
@pytest.mark.parametrize("retry_after_format", ["seconds", "http-date"])
def test_a_wait_asked_for_within_the_budget_is_waited_for(
    simulator: Any, no_wait: RetryPolicy, sleeps: list[float], mode: str, retry_after_format: str
) -> None:
    """A 429 or a 503 whose ``Retry-After`` (seconds or an HTTP date) fits the budget is
    waited for, then the source is read in full."""
    with connector_for(simulator, no_wait) as connector:
        expected = connector.fetch(Identity.of(emails=[SANNE]))
        simulator.set_fault(mode, count=1, retry_after=3, retry_after_format=retry_after_format)
        result = gather([connector], Identity.of(emails=[SANNE]), budget=20.0)
    source = result.sources[simulator.vendor]
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    assert {r.ref for r in source.records} == {r.ref for r in expected.records}
    assert len(sleeps) == 1 and 1.0 < sleeps[0] <= 3.0
    assert source.attempts == source.requests + 1


def test_an_answer_cut_off_mid_body_is_asked_for_again(
    simulator: Any, no_wait: RetryPolicy
) -> None:
    """A connection that breaks mid-answer is a network error: a read is asked again, and
    the source read in full."""
    with connector_for(simulator, no_wait) as connector:
        expected = connector.fetch(Identity.of(emails=[SANNE]))
        simulator.set_fault("cut_off", count=1)
        result = gather([connector], Identity.of(emails=[SANNE]))
    source = result.sources[simulator.vendor]
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    assert {r.ref for r in source.records} == {r.ref for r in expected.records}
    assert source.attempts == source.requests + 1


def test_health_check(simulator: Any, no_wait: RetryPolicy) -> None:
    with connector_for(simulator, no_wait) as connector:
        assert connector.check().ok


@pytest.mark.parametrize(
    ("vendor", "child", "parent", "date_key"),
    [
        ("woocommerce", "order", "customer", "last_order"),
        ("woocommerce", "order_note", "customer", "last_order"),
        ("zammad", "article", "ticket", "closed"),
        ("freshdesk", "conversation", "ticket", "closed"),
    ],
)
def test_records_carry_the_date_their_retention_counts_from(
    no_wait: RetryPolicy, vendor: str, child: str, parent: str, date_key: str
) -> None:
    """An order is kept 24 months after the customer's *last* order, a message as long as its
    ticket: each record carries that date, so its due date is right on its own."""
    served = Served(vendor)
    served.vendor = vendor  # type: ignore[attr-defined]
    try:
        with connector_for(served, no_wait) as connector:
            result = connector.fetch(Identity.of(emails=[SANNE]))
    finally:
        served.stop()
    records = {(r.record_type, r.record_id): r for r in result.records}

    def order_of(record: Any) -> Any:
        while record.record_type != "order":
            record = records[(record.parent.record_type, record.parent.record_id)]
        return record

    children = [r for r in result.records if r.record_type == child]
    assert children
    for record in children:
        if vendor == "woocommerce":
            # Her last order, whether in her account or as a guest at her address.
            assert order_of(record).record_type == "order"
            expected = max(r.dates["created"] for r in result.records if r.record_type == "order")
        else:
            ticket = records[(record.parent.record_type, record.parent.record_id)]
            assert ticket.record_type == parent
            expected = ticket.dates.get(date_key)
        assert record.dates.get(date_key) == expected, (record.record_type, record.record_id)
    assert any(r.dates.get(date_key) for r in children)
