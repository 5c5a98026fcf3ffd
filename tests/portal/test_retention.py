"""The portal keeps its own data only as long as the policy's ``[portal_retention]`` says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from portal import audit, crypto, retention
from portal.auth.services import sign_in_with_verified_email
from portal.dsr import services as dsr
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Customer,
    CustomerIdentifier,
    CustomerSession,
    DataExport,
    DataRequest,
    GatheredSnapshot,
    LoginChallenge,
    OutboxMessage,
    RequestAction,
    RequestEvent,
    RequestKind,
)
from portal.policy.loader import PolicyError, parse_policy
from portal.policy.schema import Period, PortalRetention

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _count(model: type) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def _customer(email: str, last_login: datetime) -> Customer:
    customer = sign_in_with_verified_email(email, "email_code")
    customer.created_at = last_login
    customer.last_login_at = last_login
    db.session.flush()
    return customer


def _challenge(expires: datetime) -> LoginChallenge:
    row = LoginChallenge(
        purpose="login",
        email_hash=crypto.keyed_hash("test", str(expires)),
        email_encrypted=crypto.encrypt("x@example.nl"),
        code_hash="c" * 64,
        link_hash=crypto.keyed_hash("link", str(expires)),
        browser_hash="b" * 64,
        expires_at=expires,
    )
    db.session.add(row)
    return row


def _request(customer: Customer, closed: datetime | None) -> DataRequest:
    submitted = dsr.submit(
        customer, RequestKind.QUESTION, details={"question": "Welke gegevens?"}, locale="nl"
    )
    request = submitted.request
    if closed is not None:
        dsr.close(request, "Beantwoord per e-mail.", staff_id=1)
        request.closed_at = closed
    db.session.flush()
    return request


def test_periods_come_from_the_policy_with_defaults() -> None:
    rules = PortalRetention.model_validate({"sessions": "14 days", "audit_log": "7 years"})
    assert rules.sessions == Period(days=14)
    assert rules.audit_log == Period(years=7)
    assert rules.login_challenges == Period(days=7)  # the default
    assert rules.rejected_identifiers == Period(days=90)
    assert Period(months=1).before(datetime(2026, 3, 31, tzinfo=UTC)) == datetime(
        2026, 2, 28, tzinfo=UTC
    )


def test_a_bad_period_is_a_clear_policy_error(app: Flask) -> None:
    from portal import PROJECT_ROOT
    from portal.policy.loader import load_policy

    path = PROJECT_ROOT / "instance" / "policy.example.toml"
    data = load_policy(path).model_dump(mode="json", exclude_none=True)
    data["portal_retention"] = {"sessions": "a while"}
    with pytest.raises(PolicyError) as info:
        parse_policy(data, Path("policy.toml"))
    assert "portal_retention.sessions" in str(info.value)


def test_expired_tokens_sessions_mail_and_exports_are_purged(app: Flask) -> None:
    with app.app_context():
        customer = _customer("anna@example.nl", NOW - DAY)
        old_challenge = _challenge(NOW - 8 * DAY)
        fresh_challenge = _challenge(NOW - 6 * DAY)
        session = db.session.scalars(sa.select(CustomerSession)).one()
        session.ended_at = NOW - 31 * DAY
        session.expires_at = NOW - 31 * DAY
        kept_session = CustomerSession(
            token_hash="k" * 64, customer_id=customer.id, method="email_code",
            expires_at=NOW + DAY,
        )  # fmt: skip
        db.session.add(kept_session)
        db.session.add_all(
            [
                OutboxMessage(template="t", status="sent", sent_at=NOW - 31 * DAY),
                OutboxMessage(template="t", status="sent", sent_at=NOW - 29 * DAY),
                OutboxMessage(
                    template="t",
                    status="failed",
                    message_encrypted=crypto.encrypt("m"),
                    created_at=NOW - 29 * DAY,
                ),
                # given up a month ago: the address and what it says are not kept for ever
                OutboxMessage(
                    template="t",
                    status="failed",
                    message_encrypted=crypto.encrypt("old"),
                    created_at=NOW - 31 * DAY,
                ),
            ]
        )
        for created in (NOW - 400 * DAY, NOW - 300 * DAY):
            db.session.add(
                DataExport(
                    customer_id=customer.id,
                    created_at=created,
                    format="json",
                    format_version=1,
                    gathered_at=created,
                    sources=[],
                    record_count=0,
                    complete=True,
                )  # fmt: skip
            )
        db.session.commit()
        old_id, fresh_id = old_challenge.id, fresh_challenge.id

        report = retention.purge(NOW)
        db.session.commit()

        assert report.counts["login_challenges"] == 1
        assert report.counts["sessions"] == 1
        assert report.counts["sent_mail"] == 2
        assert report.counts["exports"] == 1
        assert db.session.get(LoginChallenge, old_id) is None
        assert db.session.get(LoginChallenge, fresh_id) is not None
        assert _count(CustomerSession) == 1
        statuses = sorted(db.session.scalars(sa.select(OutboxMessage.status)))
        assert statuses == ["failed", "sent"]  # failed mail stays a month for a retry
        assert [crypto.decrypt(m) for m in db.session.scalars(
            sa.select(OutboxMessage.message_encrypted).where(OutboxMessage.status == "failed")
        )] == [b"m"]  # fmt: skip
        assert _count(DataExport) == 1
        entry = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "retention.purged")
        ).one()
        assert entry.details["sessions"] == 1
        # A second run finds nothing more and writes no entry.
        assert retention.purge(NOW).total == 0


def test_numbers_staff_could_not_accept_go_after_their_period(app: Flask) -> None:
    """A rejected number was never used to find anyone's data: it stays only for the customer
    to see on My account, 90 days from when it was added; a pending one waits for staff."""
    from portal.auth import services as auth

    with app.test_request_context():
        customer = _customer("anna@example.nl", NOW - DAY)
        old = auth.add_identifier(customer, "customer_number", "K-1", "invoice_number", "F-1", "nl")
        young = auth.add_identifier(
            customer, "customer_number", "K-2", "invoice_number", "F-2", "nl"
        )
        waiting = auth.add_identifier(
            customer, "customer_number", "K-3", "invoice_number", "F-3", "nl"
        )
        for ident in (old, young):
            auth.reject_identifier(ident, staff_id=1, reason_given=False)
        old.created_at = NOW - 91 * DAY
        young.created_at = NOW - 89 * DAY
        waiting.created_at = NOW - 400 * DAY
        db.session.commit()
        ids = (old.id, young.id, waiting.id)

        report = retention.purge(NOW)
        db.session.commit()

        assert report.counts["rejected_identifiers"] == 1
        left = set(db.session.scalars(sa.select(CustomerIdentifier.id)))
        assert ids[0] not in left and {ids[1], ids[2]} <= left
        assert db.session.get(Customer, customer.id) is not None


def test_finished_requests_are_anonymised_then_deleted(app: Flask) -> None:
    with app.app_context():
        customer = _customer("bram@example.nl", NOW - DAY)
        old = _request(customer, closed=NOW - 400 * DAY)
        recent = _request(customer, closed=NOW - 100 * DAY)
        still_open = _request(customer, closed=None)
        ancient = _request(customer, closed=NOW - 6 * 365 * DAY)
        db.session.commit()

        retention.purge(NOW)
        db.session.commit()
        db.session.expire_all()

        old_row = db.session.get(DataRequest, old.id)
        assert old_row is not None
        assert old_row.anonymised_at is not None
        assert old_row.details_encrypted is None
        assert old_row.customer_id is None
        assert old_row.kind == "question" and old_row.status == "done"
        messages = db.session.scalars(
            sa.select(RequestEvent.message_encrypted).where(RequestEvent.request_id == old.id)
        ).all()
        assert messages and all(m is None for m in messages)
        for kept in (recent, still_open):
            row = db.session.get(DataRequest, kept.id)
            assert row is not None and row.anonymised_at is None
            assert dsr.details_of(row) == {"question": "Welke gegevens?"}
        assert db.session.get(DataRequest, ancient.id) is None  # past the audit period
        assert _count(RequestEvent) == 2 + 2 + 1  # received and done; the open one: received


def test_inactive_customers_are_forgotten_unless_a_request_is_open(app: Flask) -> None:
    with app.app_context():
        gone = _customer("carla@example.nl", NOW - 600 * DAY)
        waiting = _customer("dirk@example.nl", NOW - 600 * DAY)
        active = _customer("eva@example.nl", NOW - 30 * DAY)
        finished = _request(gone, closed=NOW - 10 * DAY)
        _request(waiting, closed=None)
        db.session.add(
            GatheredSnapshot(
                customer_id=gone.id,
                created_at=NOW,
                expires_at=NOW + DAY,
                summary=[],
                payload_encrypted=crypto.encrypt("[]"),
            )  # fmt: skip
        )
        db.session.commit()
        gone_id = gone.id

        report = retention.purge(NOW)
        db.session.commit()
        db.session.expire_all()

        assert report.counts["customers_forgotten"] == 1
        assert db.session.get(Customer, gone_id) is None
        assert db.session.get(Customer, waiting.id) is not None
        assert db.session.get(Customer, active.id) is not None
        owners = set(db.session.scalars(sa.select(CustomerIdentifier.customer_id)))
        assert owners == {waiting.id, active.id}
        assert _count(GatheredSnapshot) == 0
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(CustomerSession)
                .where(CustomerSession.customer_id == gone_id)
            )
            == 0
        )
        # The finished request stays (within its period), no longer linked to anyone.
        row = db.session.get(DataRequest, finished.id)
        assert row is not None and row.customer_id is None
        entry = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "customer.forgotten")
        ).one()
        assert entry.subject_id == str(gone_id)
        assert "carla" not in str(entry.details)


def _failed_change(request: DataRequest) -> RequestAction:
    action = RequestAction(
        request_id=request.id,
        source="webshop",
        record_type="customer",
        record_id="101",
        field="last_name",
        action="correct",
        value_encrypted=crypto.encrypt('"Bakker"'),
        status="failed",
        last_error="down",
    )
    db.session.add(action)
    db.session.flush()
    return action


def test_an_unsettled_change_keeps_the_request_and_its_customer(app: Flask) -> None:
    """Staff still need what to change where, and confirming it needs the identifiers."""
    with app.app_context():
        customer = _customer("femke@example.nl", NOW - 600 * DAY)
        closed = _request(customer, closed=NOW - 400 * DAY)
        action = _failed_change(closed)
        db.session.commit()
        assert retention.has_unfinished_business(customer.id)

        report = retention.purge(NOW)
        db.session.commit()
        db.session.expire_all()
        assert report.counts.get("customers_forgotten", 0) == 0
        assert db.session.get(Customer, customer.id) is not None
        row = db.session.get(DataRequest, closed.id)
        assert row is not None and row.anonymised_at is None
        assert db.session.get(RequestAction, action.id).value_encrypted is not None

        # Once staff settle it, the next purge anonymises the request and forgets her.
        db.session.get(RequestAction, action.id).status = "confirmed"
        db.session.commit()
        assert not retention.has_unfinished_business(customer.id)
        report = retention.purge(NOW)
        db.session.commit()
        db.session.expire_all()
        assert report.counts["customers_forgotten"] == 1
        assert db.session.get(DataRequest, closed.id).anonymised_at is not None


def test_unfinished_business_counts_other_open_requests_only(app: Flask) -> None:
    with app.app_context():
        customer = _customer("gijs@example.nl", NOW - DAY)
        first = _request(customer, closed=None)
        assert retention.has_unfinished_business(customer.id)
        assert not retention.has_unfinished_business(customer.id, except_request_id=first.id)
        second = _request(customer, closed=None)
        assert retention.has_unfinished_business(customer.id, except_request_id=first.id)
        dsr.close(second, "Beantwoord.", staff_id=1)
        db.session.flush()
        assert not retention.has_unfinished_business(customer.id, except_request_id=first.id)


def test_old_audit_entries_go_and_the_chain_still_verifies(app: Flask) -> None:
    with app.app_context():
        for n in range(4):
            audit.record("test.event", actor_type="system", details={"n": n})
        db.session.commit()
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        for event, age in zip(events, (7 * 365, 6 * 365, 10, 1), strict=True):
            db.session.execute(
                sa.update(AuditEvent)
                .where(AuditEvent.id == event.id)
                .values(created_at=NOW - age * DAY)
            )
        db.session.commit()
        # Re-chain with the back-dated times, as if they had been written then.
        prev = audit.GENESIS
        for event in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)):
            event.prev_hash = prev
            event.hash = audit._digest(event)  # noqa: SLF001 - building a historic chain
            event.seal = audit.seal(event.hash)
            prev = event.hash
        db.session.commit()
        assert list(audit.verify_chain()) == []

        report = retention.purge(NOW)
        db.session.commit()

        assert report.counts["audit_entries"] == 2
        remaining = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.details.get("n") for e in remaining[:2]] == [2, 3]
        assert {e.action for e in remaining[2:]} == {"audit.purged", "retention.purged"}
        assert list(audit.verify_chain()) == []

        # Removing the first remaining entry is still detected.
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == remaining[0].id))
        db.session.commit()
        assert list(audit.verify_chain())


def test_the_chain_start_cannot_be_cut_without_a_purge_entry(app: Flask) -> None:
    with app.app_context():
        for n in range(3):
            audit.record("test.event", actor_type="system", details={"n": n})
        db.session.commit()
        first = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).first()
        assert first is not None
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == first.id))
        db.session.commit()
        breaks = list(audit.verify_chain())
        assert breaks and "removed" in breaks[0].reason


def test_request_dates_survive_anonymisation(app: Flask) -> None:
    """What proves the request was handled stays: reference, kind, received, deadline, closed."""
    with app.app_context():
        customer = _customer("fleur@example.nl", NOW - DAY)
        request = _request(customer, closed=NOW - 400 * DAY)
        before = (request.reference, request.received_on, request.deadline, request.closed_at)
        retention.purge(NOW)
        db.session.commit()
        db.session.expire_all()
        row = db.session.get(DataRequest, request.id)
        assert row is not None
        assert (row.reference, row.received_on, row.deadline, row.closed_at) == before
        assert isinstance(row.received_on, date)
