"""Changes at the sources, carried out from the queue against the vendor simulators over HTTP:
written, confirmed by a fresh read, retried when a source is down or slow, left to staff with
exact instructions where no API allows it, and never marked done when they were not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask

from portal.auth.services import sign_in_with_verified_email, verified_identity
from portal.backoffice import actions, health
from portal.dsr import services as dsr
from portal.extensions import db
from portal.gathering import gather_for
from portal.models import (
    ActionStatus,
    AuditEvent,
    Customer,
    DataRequest,
    GatheredSnapshot,
    RequestAction,
    RequestKind,
    SourceEvent,
    utcnow,
)
from simulators import SimulatorGroup

SANNE = "sanne.devries@example.nl"


@pytest.fixture
def settings_overrides(simulated_connectors: dict[str, object]) -> dict[str, object]:
    return {"connectors": simulated_connectors, "gather_budget_seconds": 10.0}


@pytest.fixture(autouse=True)
def _fresh_simulators(simulators: SimulatorGroup) -> Iterator[None]:
    """Writes change a simulator's data: every test starts from the demo world."""
    yield
    for vendor in ("woocommerce", "moneybird", "zammad", "freshdesk", "mollie"):
        simulators[vendor].reset()


@pytest.fixture
def sanne(app: Flask) -> Customer:
    customer = sign_in_with_verified_email(SANNE, "test")
    db.session.commit()
    return customer


def _request(customer: Customer, kind: RequestKind = RequestKind.CORRECTION) -> DataRequest:
    request = dsr.submit(customer, kind, details={}, locale="nl").request
    db.session.commit()
    return request


def _record(customer: Customer, source: str, record_type: str) -> dict[str, Any]:
    snapshot = gather_for(customer)
    db.session.commit()
    return next(
        r for r in snapshot.records if r["source"] == source and r["record_type"] == record_type
    )


def _account_order(customer: Customer) -> dict[str, Any]:
    """One of the orders in the customer's shop account."""
    snapshot = gather_for(customer)
    db.session.commit()
    return next(
        r
        for r in snapshot.records
        if r["source"] == "webshop" and r["record_type"] == "order" and r.get("parent")
    )


def _fetch_fields(source: str, record_type: str, record_id: str, customer: Customer) -> Any:
    connector, _, built = actions._connector(source)  # noqa: SLF001 - the same build path
    assert connector is not None
    try:
        result = connector.fetch(verified_identity(customer))
    finally:
        built.close()
    for record in result.records:
        if (record.record_type, record.record_id) == (record_type, record_id):
            return record.fields
    return None


def test_a_correction_is_written_back_and_confirmed_by_a_fresh_read(
    app: Flask, sanne: Customer
) -> None:
    record = _record(sanne, "webshop", "customer")
    request = _request(sanne)
    action = actions.add_correction(
        request,
        actions.CorrectionItem("webshop", "customer", record["record_id"], "last_name", "Bakker"),
    )
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GatheredSnapshot)) == 1

    status = actions.run(action.id)

    assert status == ActionStatus.CONFIRMED.value
    db.session.refresh(action)
    assert action.confirmed_at is not None and action.confirmed_by is None
    assert action.value_encrypted is None  # the source holds the value now, the portal not
    fields = _fetch_fields("webshop", "customer", record["record_id"], sanne)
    assert fields["last_name"] == "Bakker"
    # The customer's held data was stale, so it is dropped: the next view gathers afresh.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GatheredSnapshot)) == 0
    actions_done = db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.action.like("action.%"))
        .order_by(AuditEvent.id)
    ).all()
    assert actions_done == ["action.done", "action.confirmed"]
    assert "Bakker" not in str(db.session.scalars(sa.select(AuditEvent.details)).all())
    write = db.session.scalars(sa.select(SourceEvent).where(SourceEvent.operation == "write")).one()
    assert write.ok and write.source == "webshop"


def test_an_erasure_deletes_and_is_confirmed_when_the_record_is_gone(
    app: Flask, sanne: Customer
) -> None:
    record = _record(sanne, "payments", "customer")
    request = _request(sanne, RequestKind.ERASURE)
    action = actions.add_erasure(
        request, "payments", "customer", record["record_id"], anonymise=False
    )
    db.session.commit()

    assert actions.run(action.id) == ActionStatus.CONFIRMED.value
    assert _fetch_fields("payments", "customer", record["record_id"], sanne) is None


def test_a_ticket_erased_to_the_vendor_s_trash_is_confirmed(app: Flask, sanne: Customer) -> None:
    """Freshdesk's API can only move a ticket to the trash, which Freshdesk empties after 30
    days. Read again, the ticket is still there, marked as in the trash: erased as far as
    the API allows, so confirmed, not left to staff after the confirming window."""
    record = _record(sanne, "customer-service", "ticket")
    assert record["fields"].get("deleted") is None
    request = _request(sanne, RequestKind.ERASURE)
    action = actions.add_erasure(
        request, "customer-service", "ticket", record["record_id"], anonymise=False
    )
    db.session.commit()

    assert actions.run(action.id) == ActionStatus.CONFIRMED.value
    fields = _fetch_fields("customer-service", "ticket", record["record_id"], sanne)
    assert fields is not None and fields["deleted"] == "trash"


def test_a_spam_ticket_the_vendor_s_api_cannot_delete_goes_to_staff_with_instructions(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    """Freshdesk's API answers 405 to deleting a ticket marked as spam and cannot take it out
    of spam: the erasure is never reported done, it goes to staff with the steps by hand."""
    record = _record(sanne, "customer-service", "ticket")
    simulators["freshdesk"].app.tickets[int(record["record_id"])]["spam"] = True
    request = _request(sanne, RequestKind.ERASURE)
    action = actions.add_erasure(
        request, "customer-service", "ticket", record["record_id"], anonymise=False
    )
    db.session.commit()

    assert actions.run(action.id) == ActionStatus.MANUAL.value
    db.session.refresh(action)
    assert action.done_at is None and action.confirmed_at is None
    assert action.instructions is not None
    assert f"Tickets › #{record['record_id']}" in action.instructions
    assert SANNE not in action.instructions
    assert action.last_error == "marked_spam"  # why, shown to staff in their language
    assert "spamweergave" in str(health.FAILURE_KINDS[action.last_error])  # Dutch first
    fields = _fetch_fields("customer-service", "ticket", record["record_id"], sanne)
    assert fields is not None and fields["set_aside"] == "spam"


@pytest.mark.parametrize("anonymise", [False, True], ids=["by-hand", "written-before"])
def test_an_order_goes_to_staff_with_woocommerces_eraser_and_is_never_updated(
    app: Flask, sanne: Customer, simulators: SimulatorGroup, anonymise: bool
) -> None:
    """``PUT orders/{id}`` with billing or shipping makes WooCommerce recalculate the order's
    totals and VAT: an order is erased by staff (an action from before, an anonymisation, too),
    with the steps in their language, and nothing is written to the shop."""
    record = _account_order(sanne)
    shop = simulators["woocommerce"]
    order = shop.app.orders[int(record["record_id"])]  # type: ignore[attr-defined]
    totals = (order["total"], order["total_tax"])
    shop.clear_requests()
    request = _request(sanne, RequestKind.ERASURE)
    action = actions.add_erasure(
        request, "webshop", "order", record["record_id"], anonymise=anonymise
    )
    db.session.commit()

    assert actions.run(action.id) == ActionStatus.MANUAL.value
    db.session.refresh(action)
    assert action.done_at is None and action.confirmed_at is None
    assert action.instructions is not None
    assert f"Orders › #{record['record_id']}" in action.instructions
    assert action.last_error == "woo_order_by_hand"
    assert "WooCommerce" in str(health.FAILURE_KINDS[action.last_error])  # the steps, worded
    assert [r for r in shop.requests if r.method != "GET"] == []
    assert (order["total"], order["total_tax"]) == totals
    assert not actions.all_settled(request)

    # Staff use WooCommerce's eraser, then say so.
    shop.app.remove_personal_data(int(record["record_id"]))  # type: ignore[attr-defined]
    assert _fetch_fields("webshop", "order", record["record_id"], sanne) is None
    actions.confirm_by_hand(action, staff_id=3)
    db.session.commit()
    assert action.status == ActionStatus.CONFIRMED.value and actions.all_settled(request)
    assert (order["total"], order["total_tax"]) == totals


def test_an_anonymisation_that_left_the_ip_address_and_browser_is_not_confirmed(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    """An order anonymised through the API (as the portal once did) holds neither her e-mail
    address nor her phone number, yet still her IP address, browser and payment: not
    anonymised. Once WooCommerce's eraser has run, it is."""
    order_id = _account_order(sanne)["record_id"]
    shop = simulators["woocommerce"]
    blank = dict.fromkeys(("first_name", "last_name", "address_1", "city", "postcode"), "")
    written = httpx.put(
        f"{shop.base_url}/orders/{order_id}",
        auth=(shop.credentials["consumer_key"], shop.credentials["consumer_secret"]),
        json={
            "billing": {**blank, "country": "", "email": "deleted@site.invalid", "phone": ""},
            "shipping": {**blank, "country": "", "phone": ""},
            "customer_note": "",
            "meta_data": [{"key": "_anonymized", "value": "yes"}],
        },
    )
    assert written.status_code == 200
    fields = _fetch_fields("webshop", "order", order_id, sanne)
    assert fields is not None and SANNE not in str(fields)  # still in her account
    assert fields["customer_ip_address"] and fields["customer_user_agent"]
    request = _request(sanne, RequestKind.ERASURE)
    action = actions.add_erasure(request, "webshop", "order", order_id, anonymise=True)
    action.status = ActionStatus.DONE.value
    action.done_at = utcnow()
    db.session.commit()

    assert actions.confirm(action) == ActionStatus.DONE.value
    assert action.last_error == actions.UNCONFIRMED

    shop.app.remove_personal_data(int(order_id))  # type: ignore[attr-defined]
    assert actions.confirm(action) == ActionStatus.CONFIRMED.value


def test_a_vendor_that_refuses_is_failed_and_waits_for_staff(app: Flask, sanne: Customer) -> None:
    """MoneyBird refuses to delete a contact that invoices refer to."""
    record = _record(sanne, "invoicing", "contact")
    request = _request(sanne, RequestKind.ERASURE)
    action = actions.add_erasure(
        request, "invoicing", "contact", record["record_id"], anonymise=False
    )
    db.session.commit()

    assert actions.run(action.id) == ActionStatus.FAILED.value
    db.session.refresh(action)
    assert action.last_error == "rejected"
    assert action.next_attempt_at is None  # not retried by itself: a person must look
    assert action.attempts == 1
    assert _fetch_fields("invoicing", "contact", record["record_id"], sanne) is not None
    assert actions.sweep() == 0

    actions.retry(action, staff_id=7)
    db.session.commit()
    assert action.status == ActionStatus.PENDING.value


def _correction(
    sanne: Customer, source: str, record_type: str, field: str, value: str
) -> tuple[RequestAction, dict[str, Any]]:
    """A correction of Sanne's ``record_type`` record at ``source`` (committed, not run), and
    that record as gathered."""
    record = _record(sanne, source, record_type)
    action = actions.add_correction(
        _request(sanne),
        actions.CorrectionItem(source, record_type, record["record_id"], field, value),
    )
    db.session.commit()
    return action, record


def test_a_field_no_api_can_write_goes_to_staff_by_hand(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    """MoneyBird no longer takes a contact's own e-mail address (changelog 2016-03-10): the
    correction is not sent, staff change it by hand, told where."""
    action, record = _correction(sanne, "invoicing", "contact", "email", "sanne.nieuw@example.nl")
    assert actions.run(action.id) == ActionStatus.MANUAL.value
    db.session.refresh(action)
    assert action.done_at is None and action.last_error is None
    assert action.instructions == (
        f"MoneyBird › Contacts › #{record['record_id']} › E-mail address "
        f"(API: contacts/{record['record_id']}.json)"
    )
    assert not [r for r in simulators["moneybird"].requests if r.method == "PATCH"]


def test_a_write_the_vendor_answers_without_the_new_value_is_not_done(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    """Zammad answers 200 with the user as it was (it dropped the attribute): not done, and
    staff are told why and where to change it."""
    action, record = _correction(sanne, "helpdesk", "user", "phone", "+31 6 12121212")
    zammad: Any = simulators["zammad"].app
    zammad.on_user_update = lambda request, **values: zammad.on_user(request, **values)
    try:
        assert actions.run(action.id) == ActionStatus.MANUAL.value
    finally:
        del zammad.on_user_update
    db.session.refresh(action)
    assert action.done_at is None and action.confirmed_at is None
    assert action.last_error == "not_written"
    assert action.instructions and "Phone" in action.instructions
    assert action.last_error in health.FAILURE_KINDS  # why, shown to staff in words
    fields = _fetch_fields("helpdesk", "user", record["record_id"], sanne)
    assert fields.get("phone") != "+31 6 12121212"


def _rate_limited_phone_correction(
    sanne: Customer, simulators: SimulatorGroup, retry_after: int
) -> tuple[RequestAction, Any]:
    """A MoneyBird correction run while MoneyBird answers 429 with ``retry_after``: the
    action (failed) and when it was run."""
    action, _ = _correction(sanne, "invoicing", "contact", "phone", "06 12121212")
    simulators["moneybird"].set_fault("rate_limit", retry_after=retry_after)
    try:
        started = utcnow()
        assert actions.run(action.id) == ActionStatus.FAILED.value
    finally:
        simulators["moneybird"].clear_fault()
    db.session.refresh(action)
    assert action.last_error == "rate_limited"
    assert action.next_attempt_at is not None
    return action, started


def test_a_rate_limited_write_is_not_tried_again_before_retry_after(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    """MoneyBird's 429 asks to wait (its window is five minutes): the next attempt waits at
    least that long, not the first minute of the backoff."""
    action, started = _rate_limited_phone_correction(sanne, simulators, 300)
    assert action.next_attempt_at >= started + timedelta(seconds=300)
    assert action.next_attempt_at < started + timedelta(seconds=300) + actions.BACKOFF_BASE


def test_a_short_retry_after_does_not_shorten_the_backoff(
    app: Flask, sanne: Customer, simulators: SimulatorGroup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(actions, "WRITE_BUDGET", 1.0)  # a 2-second wait does not fit in it
    action, started = _rate_limited_phone_correction(sanne, simulators, 2)
    assert action.next_attempt_at >= started + actions.BACKOFF_BASE


def test_a_vendor_refusing_one_record_is_no_credentials_failure(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    """WooCommerce's 403 ``woocommerce_rest_cannot_edit`` (the key's user may not edit this
    account): the action fails as refused, and the source's health shows no credentials
    failure."""
    action, record = _correction(sanne, "webshop", "customer", "email", "sanne.nieuw@example.nl")
    simulators["woocommerce"].app.customers[int(record["record_id"])]["role"] = "shop_manager"
    assert actions.run(action.id) == ActionStatus.FAILED.value
    db.session.refresh(action)
    assert action.last_error == "rejected"
    assert action.next_attempt_at is None
    webshop = {item.key: item for item in health.overview()}["webshop"]
    assert webshop.last_error_kind is None  # the shop answered: no failure of the source
    assert "auth" not in webshop.recent_failures
    assert webshop.cause != "credentials"


def test_a_source_that_times_out_is_retried_with_backoff_then_succeeds(
    app: Flask, sanne: Customer, simulators: SimulatorGroup, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = _record(sanne, "helpdesk", "user")
    request = _request(sanne)
    action = actions.add_correction(
        request,
        actions.CorrectionItem("helpdesk", "user", record["record_id"], "phone", "+31 6 12121212"),
    )
    db.session.commit()
    monkeypatch.setattr(actions, "WRITE_BUDGET", 1.0)
    simulators["zammad"].set_fault("slow", delay=3.0)

    assert actions.run(action.id) == ActionStatus.FAILED.value
    db.session.refresh(action)
    assert action.last_error == "timeout"
    assert action.next_attempt_at is not None
    assert action.next_attempt_at > utcnow()
    assert actions.sweep() == 0  # not due yet

    simulators["zammad"].clear_fault()
    monkeypatch.setattr(actions, "WRITE_BUDGET", 30.0)
    # Time passes until it is due; the sweeper queues it (the queue runs in-process here).
    action.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert actions.sweep() == 1
    db.session.expire_all()
    action = db.session.get(RequestAction, action.id)
    assert action is not None
    assert action.status == ActionStatus.CONFIRMED.value
    assert action.attempts == 2
    fields = _fetch_fields("helpdesk", "user", record["record_id"], sanne)
    assert fields["phone"] == "+31 6 12121212"


def test_transient_failures_stop_retrying_after_the_maximum(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    record = _record(sanne, "payments", "customer")
    request = _request(sanne)
    action = actions.add_correction(
        request,
        actions.CorrectionItem("payments", "customer", record["record_id"], "name", "S. Bakker"),
    )
    action.attempts = actions.MAX_ATTEMPTS - 1
    db.session.commit()
    simulators["mollie"].set_fault("down")
    try:
        assert actions.run(action.id) == ActionStatus.FAILED.value
    finally:
        simulators["mollie"].clear_fault()
    db.session.refresh(action)
    assert action.last_error == "down"
    assert action.next_attempt_at is None  # reported for staff, never dropped
    assert action.status == ActionStatus.FAILED.value


def test_where_no_api_allows_it_staff_get_exact_instructions(app: Flask, sanne: Customer) -> None:
    record = _record(sanne, "workshop", "service_job")
    request = _request(sanne, RequestKind.ERASURE)
    action = actions.add_erasure(
        request, "workshop", "service_job", record["record_id"], anonymise=False
    )
    db.session.commit()

    assert actions.run(action.id) == ActionStatus.MANUAL.value
    db.session.refresh(action)
    assert action.instructions and "werkbonnen" in action.instructions
    assert SANNE not in action.instructions
    assert not actions.all_settled(request)

    actions.confirm_by_hand(action, staff_id=3)
    db.session.commit()
    assert action.status == ActionStatus.CONFIRMED.value and action.confirmed_by == 3
    assert actions.all_settled(request)


def test_a_record_that_no_longer_matches_is_not_touched(app: Flask, sanne: Customer) -> None:
    """The customer's verified identity is checked at the source again before writing."""
    record = _record(sanne, "webshop", "customer")
    request = _request(sanne)
    other = sign_in_with_verified_email("sanne.de.vries@example.nl", "test")
    db.session.commit()
    request.customer_id = other.id  # as if the request were someone else's
    action = actions.add_correction(
        request,
        actions.CorrectionItem("webshop", "customer", record["record_id"], "last_name", "X"),
    )
    db.session.commit()

    assert actions.run(action.id) == ActionStatus.FAILED.value
    db.session.refresh(action)
    assert action.last_error == "mismatch"
    assert _fetch_fields("webshop", "customer", record["record_id"], sanne)["last_name"] != "X"


def test_work_left_running_by_a_killed_worker_is_taken_up_again(
    app: Flask, sanne: Customer
) -> None:
    record = _record(sanne, "customer-service", "contact")
    request = _request(sanne)
    action = actions.add_correction(
        request,
        actions.CorrectionItem(
            "customer-service", "contact", record["record_id"], "name", "Sanne Bakker"
        ),
    )
    db.session.commit()
    # A worker claimed it and died: the row says running, nothing was written.
    action.status = ActionStatus.RUNNING.value
    action.updated_at = utcnow() - actions.STALE_RUNNING - timedelta(minutes=1)
    db.session.commit()
    assert actions.run(action.id) == ActionStatus.RUNNING.value  # a second worker leaves it

    assert actions.sweep() == 1
    db.session.expire_all()
    action = db.session.get(RequestAction, action.id)
    assert action is not None and action.status == ActionStatus.CONFIRMED.value
    fields = _fetch_fields("customer-service", "contact", record["record_id"], sanne)
    assert fields["name"] == "Sanne Bakker"


def test_kept_records_are_recorded_with_their_date(app: Flask, sanne: Customer) -> None:
    record = _record(sanne, "invoicing", "invoice")
    request = _request(sanne, RequestKind.ERASURE)
    due = utcnow().date() + timedelta(days=2000)
    kept = actions.add_kept(
        request, "invoicing", "invoice", record["record_id"], until=due, category="invoices"
    )
    db.session.commit()
    assert kept.status == ActionStatus.SKIPPED.value and kept.keep_until == due
    assert actions.all_settled(request)
    assert actions.run(kept.id) == ActionStatus.SKIPPED.value  # nothing is ever sent


def test_health_records_gathering_and_flags_a_source_that_keeps_failing(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    gather_for(sanne)
    db.session.commit()
    items = {item.key: item for item in health.overview()}
    assert items["webshop"].state == "ok" and items["webshop"].last_success is not None

    simulators["mollie"].set_fault("expired_credentials")
    try:
        for _ in range(health.FLAG_AFTER):
            items = {item.key: item for item in health.check_all()}
    finally:
        simulators["mollie"].clear_fault()
    assert items["payments"].flagged
    assert items["payments"].recent_failures == {"auth": health.FLAG_AFTER}
    assert not items["webshop"].flagged
    flagged = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "source.flagged")
    ).all()
    assert [e.subject_id for e in flagged] == ["payments"]  # mailed once, not three times

    # One success ends the flag.
    items = {item.key: item for item in health.check_all()}
    assert items["payments"].state == "ok"


def test_a_source_whose_writes_keep_failing_is_flagged_though_reads_succeed(
    app: Flask, sanne: Customer
) -> None:
    """A key that may read but not write: every gathering succeeds, every change fails. The
    successful reads must not hide the failing writes."""
    for _ in range(health.FLAG_AFTER):
        health.record("payments", "gather", ok=True, outcome="complete")
        health.record("payments", "write", ok=False, outcome="failed", error_kind="auth")
        health.record("payments", "check", ok=True, outcome="ok")
    db.session.commit()

    items = {item.key: item for item in health.overview()}

    payments = items["payments"]
    assert (payments.failures_in_a_row, payments.write_failures_in_a_row) == (
        0,
        health.FLAG_AFTER,
    )
    assert payments.flagged and payments.state == "flagged"
    assert health.notify_flagged(list(items.values())) is not None
    flagged = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "source.flagged")
    ).all()
    assert [e.subject_id for e in flagged] == ["payments"]

    # One write that succeeds ends it.
    health.record("payments", "write", ok=True, outcome="ok")
    db.session.commit()
    assert not {item.key: item for item in health.overview()}["payments"].flagged


def test_a_user_kept_with_a_kept_ticket_is_anonymised_by_hand_when_its_date_comes(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    """A help desk user kept only because a ticket below it is kept (deleting the user would
    delete the ticket): when the user's date comes first (staff dated it alone), the step is
    to anonymise it by hand, and pressing "Try again" never runs the API that deletes it with
    the ticket the law still keeps."""
    from datetime import UTC, datetime

    from portal import retention
    from portal.dsr.erasure import TAKES_ALONG
    from portal.models import RequestStatus
    from portal.settings import firm_today

    ticket = _record(sanne, "helpdesk", "ticket")
    user = ticket["parent"]
    request = _request(sanne, RequestKind.ERASURE)
    kept_ticket = actions.add_kept(
        request, "helpdesk", "ticket", ticket["record_id"], until=None, category="invoices",
        reason=TAKES_ALONG,
    )  # fmt: skip
    kept_user = actions.add_kept(
        request, "helpdesk", user["record_type"], user["record_id"], until=None,
        category="invoices", reason=TAKES_ALONG,
    )  # fmt: skip
    request.status = RequestStatus.DONE.value
    db.session.commit()
    actions.set_keep_until(kept_user, firm_today(), staff_id=1)
    db.session.commit()

    assert retention.due_kept(now=datetime.now(UTC) + timedelta(days=1)) == 1
    db.session.commit()
    db.session.refresh(kept_user)
    assert (kept_user.action, kept_user.status) == ("anonymise", "manual")
    assert kept_user.last_error == TAKES_ALONG  # staff are told not to delete it, and why
    assert kept_user.instructions
    db.session.refresh(kept_ticket)
    assert (kept_ticket.action, kept_ticket.status) == ("keep", "skipped")

    actions.retry(kept_user, staff_id=1)
    db.session.commit()
    assert actions.run(kept_user.id) == ActionStatus.MANUAL.value
    zammad: Any = simulators["zammad"].app
    assert int(ticket["record_id"]) in zammad.tickets  # the ticket the law keeps is still there
    assert int(user["record_id"]) in zammad.users


def test_a_kept_user_due_with_its_kept_tickets_is_anonymised_only_after_they_are_deleted(
    app: Flask, sanne: Customer
) -> None:
    """A help desk user kept with a ticket (and the ticket with a message below it) until the
    same day: when that day has passed all three become steps by hand. The user is anonymised
    (and the ticket deleted) only after everything below it is done, as the help desk finds
    those records through the user; confirming it before is refused, and says how many
    wait."""
    from datetime import UTC, date, datetime

    from portal import retention
    from portal.dsr.erasure import TAKES_ALONG
    from portal.models import RequestStatus

    ticket = _record(sanne, "helpdesk", "ticket")
    user = ticket["parent"]
    request = _request(sanne, RequestKind.ERASURE)
    until = date(2020, 12, 31)
    kept_user = actions.add_kept(
        request, "helpdesk", user["record_type"], user["record_id"], until=until,
        category="invoices", reason=TAKES_ALONG,
    )  # fmt: skip
    kept_ticket = actions.add_kept(
        request, "helpdesk", "ticket", ticket["record_id"], until=until, category="invoices",
        reason=TAKES_ALONG,
    )  # fmt: skip
    kept_article = actions.add_kept(
        request, "helpdesk", "article", "999", until=until, category="invoices"
    )
    kept_ticket.parent_action_id = kept_user.id
    kept_article.parent_action_id = kept_ticket.id
    request.status = RequestStatus.DONE.value
    db.session.commit()
    assert actions.unsettled_below(actions.actions_of(request)) == {}  # kept: nothing to do

    assert retention.due_kept(now=datetime.now(UTC)) == 3
    db.session.commit()
    assert actions.unsettled_below(actions.actions_of(request)) == {
        kept_user.id: 2,
        kept_ticket.id: 1,
    }
    for early in (kept_user, kept_ticket):
        with pytest.raises(actions.WaitsForBelow):
            actions.confirm_by_hand(early, staff_id=1)
        assert early.status == ActionStatus.MANUAL.value
    actions.confirm_by_hand(kept_article, staff_id=1)
    with pytest.raises(actions.WaitsForBelow) as waits:
        actions.confirm_by_hand(kept_user, staff_id=1)
    assert waits.value.count == 1
    actions.confirm_by_hand(kept_ticket, staff_id=1)
    actions.confirm_by_hand(kept_user, staff_id=1)
    db.session.commit()
    assert kept_user.status == ActionStatus.CONFIRMED.value and kept_user.confirmed_by == 1


def test_a_record_the_source_refuses_fails_but_does_not_flag_the_source(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    """WooCommerce answers 403 ``woocommerce_rest_cannot_edit`` for one account (a shop
    manager's): that change fails as refused, for staff, but the shop itself works, so however
    many such refusals come in a row the source is not flagged nor the privacy contact mailed."""
    shop = simulators["woocommerce"].app
    for _ in range(health.FLAG_AFTER + 1):
        action, record = _correction(
            sanne, "webshop", "customer", "email", "sanne.nieuw@example.nl"
        )
        shop.customers[int(record["record_id"])]["role"] = "shop_manager"
        assert actions.run(action.id) == ActionStatus.FAILED.value
        db.session.refresh(action)
        assert action.last_error == "rejected" and action.next_attempt_at is None
    webshop = {item.key: item for item in health.overview()}["webshop"]
    assert webshop.write_failures_in_a_row == 0 and not webshop.flagged
    # a real write failure still counts
    health.record("webshop", "write", ok=False, outcome="failed", error_kind="auth")
    db.session.commit()
    assert {i.key: i for i in health.overview()}["webshop"].write_failures_in_a_row == 1
