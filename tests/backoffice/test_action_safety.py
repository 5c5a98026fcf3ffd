"""Changes at the sources that must not happen, or must not hang: nothing is written for a
request that was withdrawn, refused or closed; a corrected e-mail address is still confirmed;
confirming gives up after a while and hands the change to staff; a bug marks the change failed
instead of leaving it running; and an anonymised record that still holds the customer's phone
number in another format is not confirmed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from connectors import create
from connectors.base import BaseConnector, FetchResult, Record, RecordRef
from connectors.http import RequestStats
from connectors.identity import Identifier, IdentifierKind, Identity
from portal.auth.services import sign_in_with_verified_email, verified_identity
from portal.backoffice import actions
from portal.dsr import services as dsr
from portal.extensions import db
from portal.gathering import gather_for
from portal.models import (
    ActionStatus,
    AuditEvent,
    Customer,
    DataRequest,
    RequestAction,
    RequestKind,
    RequestStatus,
    SourceEvent,
    utcnow,
)
from simulators import SimulatorGroup

SANNE = "sanne.devries@example.nl"
NEW_EMAIL = "sanne.bakker@example.nl"


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


def _record_id(customer: Customer, source: str, record_type: str) -> str:
    snapshot = gather_for(customer)
    db.session.commit()
    return str(
        next(
            r["record_id"]
            for r in snapshot.records
            if r["source"] == source and r["record_type"] == record_type
        )
    )


def _correction(
    request: DataRequest, source: str, record_type: str, record_id: str, field: str, value: Any
) -> RequestAction:
    action = actions.add_correction(
        request, actions.CorrectionItem(source, record_type, record_id, field, value)
    )
    db.session.commit()
    return action


def _vendor_fields(source: str, record_type: str, record_id: str, *emails: str) -> Any:
    """The record as the vendor holds it now, looked up by any of ``emails``."""
    connector, _, built = actions._connector(source)  # noqa: SLF001 - the same build path
    assert connector is not None
    try:
        result = connector.fetch(Identity(Identifier("email", e) for e in emails or (SANNE,)))
    finally:
        built.close()
    for record in result.records:
        if (record.record_type, record.record_id) == (record_type, record_id):
            return record.fields
    return None


def _fresh(action: RequestAction) -> RequestAction:
    db.session.expire_all()
    found = db.session.get(RequestAction, action.id)
    assert found is not None
    return found


def _audit_actions() -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.like("action.%"))
            .order_by(AuditEvent.id)
        )
    )


# --- a final request writes nothing ---------------------------------------------------------


def test_a_withdrawn_correction_waiting_for_its_retry_is_never_written(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    record_id = _record_id(sanne, "payments", "customer")
    request = _request(sanne)
    action = _correction(request, "payments", "customer", record_id, "name", "S. Bakker")
    simulators["mollie"].set_fault("down")
    try:
        assert actions.run(action.id) == ActionStatus.FAILED.value
    finally:
        simulators["mollie"].clear_fault()
    action = _fresh(action)
    assert action.next_attempt_at is not None  # waits for its automatic retry

    dsr.withdraw(request, actor_id=sanne.id)
    db.session.commit()
    action = _fresh(action)
    assert action.status == ActionStatus.CANCELLED.value  # at once, by the withdrawal
    assert action.next_attempt_at is None
    # Even if its retry time had stayed: the sweeper queues nothing.
    action.next_attempt_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert actions.sweep() == 0

    action = _fresh(action)
    assert action.status == ActionStatus.CANCELLED.value
    assert action.last_error == "request_withdrawn"
    assert action.value_encrypted is None  # never written: the portal need not keep it
    assert _vendor_fields("payments", "customer", record_id)["name"] != "S. Bakker"
    assert "action.cancelled" in _audit_actions()
    assert actions.all_settled(request)
    # A queued task that still arrives writes nothing either.
    assert actions.run(action.id) == ActionStatus.CANCELLED.value
    with pytest.raises(ValueError):
        actions.retry(action, staff_id=1)


@pytest.mark.parametrize("step", ["withdraw", "refuse", "close"])
def test_a_request_that_becomes_final_cancels_its_unwritten_changes_at_once(
    app: Flask, sanne: Customer, step: str
) -> None:
    request = _request(sanne)
    pending = _correction(request, "payments", "customer", "cst_x", "name", "S. Bakker")
    db.session.commit()
    if step == "withdraw":
        dsr.withdraw(request, actor_id=sanne.id)
    elif step == "refuse":
        dsr.refuse(request, "Niet te herleiden tot u", staff_id=1)
    else:
        dsr.close(request, staff_id=1)
    db.session.commit()
    action = _fresh(pending)
    assert action.status == ActionStatus.CANCELLED.value
    assert action.last_error == f"request_{_fresh_request(request).status}"
    assert action.value_encrypted is None


def _fresh_request(request: DataRequest) -> DataRequest:
    found = db.session.get(DataRequest, request.id)
    assert found is not None
    return found


@pytest.mark.parametrize("final", [RequestStatus.REFUSED, RequestStatus.DONE])
def test_run_claims_nothing_for_a_final_request(
    app: Flask, sanne: Customer, simulators: SimulatorGroup, final: RequestStatus
) -> None:
    """Even when nobody cancelled the actions: the claim itself requires an open request."""
    record_id = _record_id(sanne, "payments", "customer")
    request = _request(sanne)
    action = _correction(request, "payments", "customer", record_id, "name", "S. Bakker")
    request.status = final.value  # as if closed without cancelling its actions
    db.session.commit()
    simulators["mollie"].clear_requests()

    assert actions.run(action.id) == ActionStatus.CANCELLED.value

    action = _fresh(action)
    assert action.last_error == f"request_{final.value}"
    assert action.attempts == 0
    assert simulators["mollie"].request_count() == 0  # the vendor was not even asked
    assert _vendor_fields("payments", "customer", record_id)["name"] != "S. Bakker"


def test_cancel_open_actions_cancels_only_what_was_not_written(app: Flask, sanne: Customer) -> None:
    request = _request(sanne, RequestKind.ERASURE)
    made = {
        status: actions.add_erasure(request, "webshop", "order", f"9{i}", anonymise=True)
        for i, status in enumerate(
            [
                ActionStatus.PENDING,
                ActionStatus.FAILED,
                ActionStatus.MANUAL,
                ActionStatus.RUNNING,
                ActionStatus.DONE,
                ActionStatus.CONFIRMED,
            ]
        )
    }
    for status, action in made.items():
        action.status = status.value
    kept = actions.add_kept(request, "invoicing", "invoice", "1", until=None, category="invoices")
    request.status = RequestStatus.WITHDRAWN.value

    assert actions.cancel_open_actions(request) == 3
    db.session.commit()

    after = {status: _fresh(action).status for status, action in made.items()}
    assert after == {
        ActionStatus.PENDING: "cancelled",
        ActionStatus.FAILED: "cancelled",
        ActionStatus.MANUAL: "cancelled",
        ActionStatus.RUNNING: "running",  # its worker writes nothing now (see above)
        ActionStatus.DONE: "done",  # written: it cannot be taken back, and is confirmed
        ActionStatus.CONFIRMED: "confirmed",
    }
    assert _fresh(kept).status == ActionStatus.SKIPPED.value
    assert _audit_actions().count("action.cancelled") == 3
    assert actions.cancel_open_actions(request) == 0  # twice is harmless


def test_a_request_that_becomes_final_while_its_change_fails_is_cancelled(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    record_id = _record_id(sanne, "payments", "customer")
    request = _request(sanne)
    action = _correction(request, "payments", "customer", record_id, "name", "S. Bakker")
    simulators["mollie"].set_fault("down")

    def withdraw_meanwhile(*args: Any, **kwargs: Any) -> None:
        # The customer withdraws (another process) while the worker waits for the vendor.
        db.session.execute(
            sa.update(DataRequest)
            .where(DataRequest.id == request.id)
            .values(status=RequestStatus.WITHDRAWN.value)
        )
        return original(*args, **kwargs)

    original = actions._write  # noqa: SLF001
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(actions, "_write", withdraw_meanwhile)
            assert actions.run(action.id) == ActionStatus.CANCELLED.value
    finally:
        simulators["mollie"].clear_fault()
    assert _fresh(action).last_error == "request_withdrawn"


def test_the_sweeper_cancels_work_a_dead_worker_left_for_a_final_request(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    record_id = _record_id(sanne, "payments", "customer")
    request = _request(sanne)
    action = _correction(request, "payments", "customer", record_id, "name", "S. Bakker")
    action.status = ActionStatus.RUNNING.value
    action.updated_at = utcnow() - actions.STALE_RUNNING - timedelta(minutes=1)
    request.status = RequestStatus.REFUSED.value
    db.session.commit()

    assert actions.sweep() == 0
    assert _fresh(action).status == ActionStatus.CANCELLED.value
    assert _vendor_fields("payments", "customer", record_id)["name"] != "S. Bakker"


# --- confirming -----------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "vendor"), [("webshop", "woocommerce"), ("payments", "mollie")])
def test_a_corrected_email_address_is_confirmed(
    app: Flask, sanne: Customer, source: str, vendor: str
) -> None:
    """The record no longer shows the old address the customer's identity holds: it is
    matched on the new one, exactly, and confirmed."""
    record_id = _record_id(sanne, source, "customer")
    request = _request(sanne)
    action = _correction(request, source, "customer", record_id, "email", NEW_EMAIL)

    assert actions.run(action.id) == ActionStatus.CONFIRMED.value

    assert _vendor_fields(source, "customer", record_id, NEW_EMAIL)["email"] == NEW_EMAIL
    assert _vendor_fields(source, "customer", record_id, SANNE) is None
    # The customer's verified identity still holds the old address only.
    assert verified_identity(sanne).values(IdentifierKind.EMAIL) == [SANNE]


@pytest.mark.parametrize(("source", "name_field"), [("webshop", "last_name"), ("payments", "name")])
def test_a_second_correction_of_a_record_whose_address_changed_is_written_too(
    app: Flask, sanne: Customer, source: str, name_field: str
) -> None:
    """Two fields of one record in one request, the e-mail address first: once it is written,
    only the new address still matches the record, and the other change goes there too."""
    record_id = _record_id(sanne, source, "customer")
    request = _request(sanne)
    email = _correction(request, source, "customer", record_id, "email", NEW_EMAIL)
    name = _correction(request, source, "customer", record_id, name_field, "Bakker")

    assert actions.run(email.id) == ActionStatus.CONFIRMED.value
    # The new address is how the record is found now: kept (encrypted) for the name.
    assert actions.value_of(_fresh(email)) == NEW_EMAIL
    assert actions.run(name.id) == ActionStatus.CONFIRMED.value

    fields = _vendor_fields(source, "customer", record_id, NEW_EMAIL)
    assert (fields["email"], fields[name_field]) == (NEW_EMAIL, "Bakker")
    # Both written and confirmed: the portal keeps neither value.
    assert (_fresh(email).value_encrypted, _fresh(name).value_encrypted) == (None, None)


def test_a_kept_new_address_goes_when_the_request_becomes_final(
    app: Flask, sanne: Customer
) -> None:
    record_id = _record_id(sanne, "payments", "customer")
    request = _request(sanne)
    email = _correction(request, "payments", "customer", record_id, "email", NEW_EMAIL)
    _correction(request, "payments", "customer", record_id, "name", "Bakker")
    assert actions.run(email.id) == ActionStatus.CONFIRMED.value
    assert _fresh(email).value_encrypted is not None

    dsr.withdraw(request, actor_id=sanne.id)
    db.session.commit()

    assert _fresh(email).value_encrypted is None


def test_another_requests_new_address_does_not_widen_the_match(app: Flask, sanne: Customer) -> None:
    """Only corrections of the same record in the same request count: an address another
    request wrote does not let this one reach a record that no longer matches her."""
    record_id = _record_id(sanne, "payments", "customer")
    first = _request(sanne)
    email = _correction(first, "payments", "customer", record_id, "email", NEW_EMAIL)
    assert actions.run(email.id) == ActionStatus.CONFIRMED.value
    second = _request(sanne)
    name = _correction(second, "payments", "customer", record_id, "name", "Bakker")

    assert actions.run(name.id) == ActionStatus.FAILED.value
    assert _fresh(name).last_error == "mismatch"
    assert _vendor_fields("payments", "customer", record_id, NEW_EMAIL)["name"] != "Bakker"


def test_a_record_that_matches_neither_address_is_not_confirmed(
    app: Flask, sanne: Customer
) -> None:
    """Exact matching still holds: after the write the record moved to a third address."""
    record_id = _record_id(sanne, "payments", "customer")
    request = _request(sanne)
    action = _correction(request, "payments", "customer", record_id, "email", NEW_EMAIL)
    connector, _, built = actions._connector("payments")  # noqa: SLF001
    assert connector is not None
    original = actions._write  # noqa: SLF001

    def write_then_someone_else(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        connector.apply_correction(
            RecordRef("payments", "customer", record_id), "email", "iemand@example.nl"
        )

    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(actions, "_write", write_then_someone_else)
            assert actions.run(action.id) == ActionStatus.DONE.value
    finally:
        built.close()
    action = _fresh(action)
    assert action.next_attempt_at is not None and action.next_attempt_at > utcnow()


def test_confirming_gives_up_after_the_window_and_staff_check_by_hand(
    app: Flask, sanne: Customer
) -> None:
    record_id = _record_id(sanne, "webshop", "customer")
    request = _request(sanne)
    action = _correction(request, "webshop", "customer", record_id, "last_name", "Bakker")
    # The vendor said yes but does not show it (yet): as if written, without writing.
    action.status = ActionStatus.DONE.value
    action.done_at = utcnow()
    db.session.commit()

    assert actions.confirm(action) == ActionStatus.DONE.value
    first = _fresh(action).next_attempt_at
    assert first is not None
    assert _fresh(action).last_error == actions.UNCONFIRMED  # staff see why it still waits
    assert actions.BACKOFF_BASE - timedelta(seconds=5) < first - utcnow() <= actions.BACKOFF_BASE
    assert actions.sweep() == 0  # not due yet

    # Ever further apart: an hour after the write, the next read is an hour later.
    action = _fresh(action)
    action.done_at = utcnow() - timedelta(hours=1)
    action.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert actions.sweep() == 1
    action = _fresh(action)
    assert action.status == ActionStatus.DONE.value
    assert action.next_attempt_at is not None
    assert action.next_attempt_at - utcnow() > timedelta(minutes=55)

    # Past the window: staff check it.
    action.done_at = utcnow() - actions.CONFIRM_WINDOW - timedelta(minutes=1)
    action.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert actions.sweep() == 1
    action = _fresh(action)
    assert action.status == ActionStatus.MANUAL.value
    assert action.last_error == actions.UNCONFIRMED
    assert action.next_attempt_at is None
    assert action.instructions and "Bakker" not in action.instructions
    assert "action.unconfirmed" in _audit_actions()
    assert actions.sweep() == 0  # no more reads

    actions.confirm_by_hand(action, staff_id=4)
    db.session.commit()
    assert _fresh(action).status == ActionStatus.CONFIRMED.value


def test_a_source_that_cannot_be_read_goes_to_staff_after_the_window(
    app: Flask, sanne: Customer, simulators: SimulatorGroup
) -> None:
    record_id = _record_id(sanne, "payments", "customer")
    request = _request(sanne)
    action = _correction(request, "payments", "customer", record_id, "name", "S. Bakker")
    action.status = ActionStatus.DONE.value
    action.done_at = utcnow() - actions.CONFIRM_WINDOW
    db.session.commit()
    simulators["mollie"].set_fault("down")
    try:
        assert actions.confirm(action) == ActionStatus.MANUAL.value
    finally:
        simulators["mollie"].clear_fault()
    assert _fresh(action).last_error == "down"


def test_staff_may_confirm_a_done_change_by_hand(app: Flask, sanne: Customer) -> None:
    request = _request(sanne)
    action = _correction(request, "webshop", "customer", "1", "last_name", "Bakker")
    action.status = ActionStatus.DONE.value
    db.session.commit()

    actions.confirm_by_hand(action, staff_id=2)
    db.session.commit()
    action = _fresh(action)
    assert action.status == ActionStatus.CONFIRMED.value and action.confirmed_by == 2
    assert action.value_encrypted is None
    with pytest.raises(ValueError):
        actions.confirm_by_hand(action, staff_id=2)  # not twice


# --- a bug ----------------------------------------------------------------------------------


def test_an_unexpected_exception_marks_the_change_failed_not_running(
    app: Flask,
    sanne: Customer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    record_id = _record_id(sanne, "payments", "customer")
    request = _request(sanne)
    action = _correction(request, "payments", "customer", record_id, "name", "S. Bakker")

    def boom(self: BaseConnector, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"bug while writing for {SANNE}")

    connector, _, built = actions._connector("payments")  # noqa: SLF001
    built.close()
    monkeypatch.setattr(type(connector), "apply_correction", boom)

    with caplog.at_level(logging.INFO):
        assert actions.run(action.id) == ActionStatus.FAILED.value

    action = _fresh(action)
    assert action.last_error == "internal"
    assert action.next_attempt_at is None  # not retried by itself: staff look
    assert action.attempts == 1  # committed with the claim, not rolled back
    assert "RuntimeError" in caplog.text
    assert SANNE not in caplog.text and "S. Bakker" not in caplog.text
    event = db.session.scalars(sa.select(SourceEvent).where(SourceEvent.operation == "write")).one()
    assert not event.ok and event.error_kind == "internal"
    assert _audit_actions() == ["action.failed"]
    assert actions.sweep() == 0

    monkeypatch.undo()
    actions.retry(action, staff_id=1)
    db.session.commit()
    assert actions.run(action.id) == ActionStatus.CONFIRMED.value
    assert _fresh(action).attempts == 2


def test_work_that_never_finishes_stops_being_taken_up(app: Flask, sanne: Customer) -> None:
    request = _request(sanne)
    action = _correction(request, "payments", "customer", "1", "name", "S. Bakker")
    action.status = ActionStatus.RUNNING.value
    action.attempts = actions.MAX_ATTEMPTS
    action.updated_at = utcnow() - actions.STALE_RUNNING - timedelta(minutes=1)
    db.session.commit()

    assert actions.sweep() == 0
    action = _fresh(action)
    assert action.status == ActionStatus.FAILED.value and action.last_error == "internal"
    assert action.next_attempt_at is None


# --- identifiers in the vendor's format -----------------------------------------------------

PHONE = Identity.of(emails=[SANNE], phones=["+31612345678"])


@pytest.mark.parametrize(
    "fields",
    [
        {"billing_phone": "06-12345678"},
        {"billing_phone": "+31 6 12345678"},
        {"billing_phone": "0031 (0)6 1234 5678"},
        {"shipping": {"phone": "06 12 34 56 78"}},
        {"notes": ["Bel haar op 06-12345678 na vijven"]},
        {"billing_email": " Sanne.DeVries@Example.NL "},
        {"note": "Mail naar SANNE.DEVRIES@example.nl"},
    ],
)
def test_an_identifier_in_any_format_is_still_held(fields: dict[str, Any]) -> None:
    assert actions._holds_identifier(fields, PHONE)  # noqa: SLF001


@pytest.mark.parametrize(
    "fields",
    [
        {"billing_phone": "06-12345679"},
        {"billing_phone": "+32 6 12345678"},
        {"billing_email": "deleted@site.invalid", "total": "12345678"},
        {"note": "Order 9612345678", "date": "2024-06-12"},
        {},
    ],
)
def test_other_values_are_not_the_customers(fields: dict[str, Any]) -> None:
    assert not actions._holds_identifier(fields, PHONE)  # noqa: SLF001


def test_an_anonymised_record_that_still_holds_their_phone_is_not_confirmed(
    app: Flask, sanne: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = _request(sanne, RequestKind.ERASURE)
    action = actions.add_erasure(request, "webshop", "order", "501", anonymise=True)
    action.status = ActionStatus.DONE.value
    action.done_at = utcnow()
    db.session.commit()
    left: dict[str, Any] = {
        "billing_email": "deleted@site.invalid",
        "billing_phone": "06-12345678",
        "billing_address": {"first_name": "[deleted]", "city": ""},
        "customer_ip_address": "203.0.113.17",
        "customer_user_agent": "Mozilla/5.0 (Macintosh)",
        "total": "115.93",
        "payment_method": "mollie_wc_gateway_ideal",
    }
    shop = create("woocommerce", {"base_url": "http://localhost", "consumer_key": "ck_x",
                                  "consumer_secret": "cs_x"})  # fmt: skip

    class Source:
        def fetch(self, identity: Identity, **kwargs: Any) -> FetchResult:
            record = Record(
                "webshop", "woocommerce", "order", "501", None, dict(left), {}, {},
                next(iter(identity.identifiers)),
            )  # fmt: skip
            return FetchResult((record,), (), RequestStats())

        def still_personal(self, record: Record) -> list[str]:
            return shop.still_personal(record)

        def describe_target(self, ref: RecordRef, field: str | None = None) -> str:
            return "WooCommerce › Orders › #501"

    monkeypatch.setattr(actions, "_connector", lambda source: (Source(), None, None))
    monkeypatch.setattr(actions, "_identity", lambda request: PHONE)

    try:
        assert actions.confirm(action) == ActionStatus.DONE.value
        left["billing_phone"] = ""
        # no identifier of theirs left, but their IP address and browser: not anonymised
        assert actions.confirm(_fresh(action)) == ActionStatus.DONE.value
        left["customer_user_agent"] = "[deleted]"  # as WordPress's eraser writes it
        assert actions.confirm(_fresh(action)) == ActionStatus.DONE.value
        left["customer_ip_address"] = "203.0.113.0"  # wp_privacy_anonymize_ip
        assert actions.confirm(_fresh(action)) == ActionStatus.CONFIRMED.value
    finally:
        shop.close()


@pytest.mark.parametrize(
    ("current", "wanted", "field"),
    [("+31612345678", "06 1234 5678", "billing_phone"), ("sanne@x.nl", " Sanne@X.nl", "email")],
)
def test_a_vendor_that_writes_an_identifier_its_own_way_still_confirms(
    current: str, wanted: str, field: str
) -> None:
    from connectors.base import FieldKind, same_value  # confirm's comparison (and the write's)

    kind = FieldKind.PHONE if "phone" in field else FieldKind.EMAIL
    assert same_value(current, wanted, kind)
    assert not same_value(current, wanted, None)  # text stays exact
