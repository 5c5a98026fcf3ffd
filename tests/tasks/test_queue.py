"""Background work on a real task queue, on SQLite and on Redis storage, with real consumers:
a request's receipt is sent by a worker; a worker killed mid-job loses the job but not the
mail (the outbox and the sweeper run it again to completion); failed mail is retried with
backoff, then reported, and can be put back in line; the periodic tasks are registered."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import time_machine
from flask import Flask
from huey.consumer import Consumer
from huey.storage import SqliteStorage
from sqlalchemy import select, update

from portal import tasks
from portal.auth.services import sign_in_with_verified_email
from portal.dsr import services
from portal.extensions import db
from portal.mail import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    _claim,
    deliver,
    queue_mail,
    queue_status,
    sweep,
)
from portal.models import OutboxMessage, RequestKind, utcnow
from portal.policy import current_policy
from portal.tasks import enqueue_mail, huey

from .conftest import Mailbox, StallingGate, WorkerProcess, worker_env

REDIS_URL = "redis://127.0.0.1:6379/15"
SANNE = "sanne.devries@example.nl"


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["sqlite", "redis"])
def queue_mode(request: pytest.FixtureRequest) -> str:
    if request.param == "redis" and not _redis_available():
        pytest.skip("no Redis server at 127.0.0.1:6379")
    mode: str = request.param
    return mode


@pytest.fixture
def queue_overrides(queue_mode: str) -> dict[str, object]:
    overrides: dict[str, object] = {"task_queue": queue_mode}
    if queue_mode == "redis":
        overrides["redis_url"] = REDIS_URL
    return overrides


@pytest.fixture
def settings_overrides(
    smtp_overrides: dict[str, object], queue_overrides: dict[str, object]
) -> dict[str, object]:
    return {**smtp_overrides, **queue_overrides}


@pytest.fixture(autouse=True)
def _separate_queue(app: Flask) -> Iterator[str]:
    """Each test its own queue name: a job left over by another run is never picked up."""
    original = huey.name
    huey.name = f"portal-test-{uuid.uuid4().hex[:8]}"
    huey.storage = huey.create_storage()
    yield huey.name
    huey.flush()
    huey.name = original


def _worker(*, periodic: bool = False) -> Consumer:
    consumer = huey.create_consumer(
        workers=1, worker_type="thread", periodic=periodic, initial_delay=0.05, max_delay=0.5
    )
    consumer.start()
    return consumer


def _outbox(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def _queue_login_mail(app: Flask, to: str = SANNE, *, enqueue: bool = True) -> int:
    """An outbox row as the sign-in page makes it, committed and handed to the queue."""
    with app.test_request_context():
        row = queue_mail(
            to,
            "auth/email/login_code",
            "nl",
            {"code": "123456", "link": "http://x/inloggen/link/t", "minutes": 15,
             "policy": current_policy()},
        )  # fmt: skip
        db.session.commit()
        outbox_id = row.id
        if enqueue:
            enqueue_mail(outbox_id)
    return outbox_id


def _queue_approval_mail(app: Flask, to: str = SANNE) -> int:
    """An outbox row that is still worth sending days later: a customer number confirmed."""
    with app.test_request_context():
        row = queue_mail(
            to,
            "auth/email/identifier_approved",
            "en",
            {"kind": "customer_number", "added": utcnow(), "account_url": "http://x/account",
             "policy": current_policy()},
        )  # fmt: skip
        db.session.commit()
        return row.id


def _give_up(app: Flask) -> None:
    """Let the sweeper try every pending message until it gives up (the server stays down)."""
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(MAX_ATTEMPTS + 2):  # two sweeps more than it takes to give up
            rows = [r for r in _outbox(app) if r.status == "pending"]
            if not rows:
                return
            due = min(r.next_attempt_at for r in rows)
            traveller.move_to(max(due, utcnow()) + timedelta(seconds=1))
            with app.app_context():
                tasks.sweep_outbox.call_local()


# --- (a) a request's receipt, sent by the worker --------------------------------------------


def test_request_receipt_is_sent_by_a_queue_worker(app: Flask, mailbox: Mailbox) -> None:
    with app.test_request_context():
        customer = sign_in_with_verified_email(SANNE, method="test")
        submitted = services.submit(
            customer,
            RequestKind.QUESTION,
            details={"subject": "Nieuwsbrief", "question": "Waarom krijg ik deze?"},
            idempotency_key=uuid.uuid4().hex,
        )
        db.session.commit()
        reference = submitted.request.reference
        for outbox_id in submitted.outbox_ids:
            enqueue_mail(outbox_id)
    assert len(submitted.outbox_ids) == 1, "the receipt is in the outbox with the request"
    [task] = huey.pending()  # queued, not sent in the request; the task carries the id only
    assert task.args == (submitted.outbox_ids[0],) and not task.kwargs
    assert mailbox.messages == []
    consumer = _worker()
    try:
        message = mailbox.wait_for(1)[-1]
    finally:
        consumer.stop(graceful=True)
    assert message["To"] == SANNE
    assert reference in mailbox.text_of(message)
    assert [row.status for row in _outbox(app)] == ["sent"]


def test_the_web_process_and_the_worker_share_one_queue(app: Flask, queue_mode: str) -> None:
    if queue_mode == "sqlite":
        assert isinstance(huey.storage, SqliteStorage)
        assert Path(huey.storage.filename) == Path(app.instance_path) / "huey.db"
    assert not huey.immediate


# --- (b) a worker killed mid-job --------------------------------------------------------------


def test_a_worker_killed_mid_job_loses_no_mail(
    app: Flask,
    base_settings: dict[str, object],
    settings_overrides: dict[str, object],
    mailbox: Mailbox,
    stalling_gate: StallingGate,
    _separate_queue: str,
) -> None:
    settings = {**base_settings, **settings_overrides}
    settings.update(smtp_port=stalling_gate.port, smtp_timeout=60)
    env = worker_env(settings, Path(app.instance_path))

    first = WorkerProcess(env, _separate_queue, periodic=False)
    try:
        outbox_id = _queue_login_mail(app)
        stalling_gate.wait_for_connection()  # the job runs, and hangs on the mail server
        first.kill()
    finally:
        first.stop()
    assert len(huey) == 0  # the queue gave the job away: Huey does not acknowledge tasks
    [row] = _outbox(app)
    assert row.id == outbox_id
    assert (row.status, row.sent_at) == ("pending", None)  # not sent, not lost
    assert row.message_encrypted is not None
    assert mailbox.messages == []
    # The dead worker had claimed it: no one else takes it until its lease has run out.
    assert row.attempts == 1
    assert row.next_attempt_at > utcnow() + CLAIM_LEASE - timedelta(minutes=1)
    with app.app_context():  # the lease runs out
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()

    stalling_gate.stall = False  # the mail server answers again
    second = WorkerProcess(env, _separate_queue, periodic=True)  # its sweeper re-queues
    try:
        [message] = mailbox.wait_for(1, timeout=30)
        time.sleep(1.5)  # room for a second delivery, which must not come
    finally:
        second.stop()
    assert len(mailbox.messages) == 1
    assert message["To"] == SANNE and mailbox.code_in(message) == "123456"
    [row] = _outbox(app)
    assert (row.status, row.attempts, row.message_encrypted) == ("sent", 2, None)


def test_a_message_another_worker_claimed_is_not_sent_twice(app: Flask, mailbox: Mailbox) -> None:
    """The task and the sweeper (or two sweepers) reach the same message: one sends it."""
    outbox_id = _queue_login_mail(app, enqueue=False)
    with app.app_context():
        assert _claim(outbox_id)  # a first worker takes it and is now sending
        assert not _claim(outbox_id)
        assert deliver(outbox_id) is False  # a second worker leaves it alone
        assert sweep() == 0
    assert mailbox.messages == []
    [row] = _outbox(app)
    assert (row.status, row.attempts) == ("pending", 1)
    with app.app_context():  # once the first worker's lease has run out, it is due again
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert sweep() == 1
        assert deliver(outbox_id) is True  # already sent: reported as sent, not sent again
    assert len(mailbox.wait_for(1)) == 1
    time.sleep(0.3)
    assert len(mailbox.messages) == 1


# --- (c) retries with backoff, failure reported, retried on demand ----------------------------


@pytest.fixture
def smtp_down(mailbox: Mailbox) -> Mailbox:
    mailbox.stop()
    return mailbox


def test_mail_is_retried_with_growing_backoff_until_the_server_is_back(
    app: Flask, smtp_down: Mailbox
) -> None:
    _queue_login_mail(app)
    consumer = _worker()
    try:
        deadline = time.monotonic() + 10
        while not _outbox(app)[0].attempts and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        consumer.stop(graceful=True)
    [row] = _outbox(app)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "ConnectionRefusedError")

    waits = []
    with time_machine.travel(row.next_attempt_at - timedelta(seconds=1), tick=False) as traveller:
        with app.app_context():
            assert tasks.sweep_outbox.call_local() == 0  # not due yet: nothing happens
        assert _outbox(app)[0].attempts == 1
        for attempt in range(2, 6):
            before = _outbox(app)[0]
            traveller.move_to(before.next_attempt_at + timedelta(seconds=1))
            with app.app_context():
                assert tasks.sweep_outbox.call_local() == 0
            after = _outbox(app)[0]
            assert (after.status, after.attempts) == ("pending", attempt)
            waits.append(after.next_attempt_at - datetime.now(UTC))
        assert all(later > earlier for earlier, later in zip(waits, waits[1:], strict=False))
        assert waits[-1] >= timedelta(minutes=8)  # 30 s doubled four times, plus jitter

        smtp_down.start()  # the server is back
        traveller.move_to(_outbox(app)[0].next_attempt_at + timedelta(seconds=1))
        with app.app_context():
            assert tasks.sweep_outbox.call_local() == 1
    [row] = _outbox(app)
    assert (row.status, row.attempts, row.message_encrypted) == ("sent", 6, None)
    assert len(smtp_down.wait_for(1)) == 1


def test_failed_mail_is_reported_and_can_be_retried(
    app: Flask, smtp_down: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    outbox_id = _queue_approval_mail(app)  # not handed to the queue: the sweeper alone
    _give_up(app)
    [row] = _outbox(app)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert row.message_encrypted is not None  # kept: failed, never dropped
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == [
        f"mail {outbox_id} (auth.email.identifier_approved) failed after {MAX_ATTEMPTS} "
        "attempts, last error ConnectionRefusedError; kept for 'flask --app portal mail "
        "retry-failed'"
    ]
    assert SANNE not in caplog.text

    with app.app_context():
        status = queue_status()
    assert (status.pending, status.due, status.failed) == (0, 0, 1)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail", "status"])
    assert result.exit_code == 1
    assert "pending: 0 (due now: 0)\nfailed: 1\n" in result.output

    smtp_down.start()  # the cause is fixed
    result = runner.invoke(args=["mail", "retry-failed"])
    assert result.exit_code == 0, result.output
    assert "1 failed messages queued again" in result.output
    [row] = _outbox(app)
    assert (row.status, row.attempts) == ("pending", 0)
    assert len(huey) == 1  # handed to the queue, and a worker sends it
    consumer = _worker()
    try:
        [message] = smtp_down.wait_for(1)
    finally:
        consumer.stop(graceful=True)
    assert message["Subject"] == "Your customer number is confirmed"
    assert _outbox(app)[0].status == "sent"
    assert runner.invoke(args=["mail", "status"]).exit_code == 0


def test_a_sign_in_code_that_could_not_be_sent_is_not_kept_nor_sent_later(
    app: Flask, smtp_down: Mailbox
) -> None:
    """Its code expires within minutes: given up, its content (the address, the code) is
    erased at once, and retrying the failed mail later does not send it."""
    _queue_login_mail(app, enqueue=False)
    _give_up(app)
    [row] = _outbox(app)
    assert (row.status, row.message_encrypted) == ("failed", None)
    smtp_down.start()
    result = app.test_cli_runner().invoke(args=["mail", "retry-failed"])
    assert result.exit_code == 0, result.output
    assert _outbox(app)[0].status == "failed" and len(huey) == 0


def test_an_unexpected_error_is_retried_and_logged_too(
    app: Flask, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    outbox_id = _queue_login_mail(app)
    with app.app_context():
        row = db.session.get(OutboxMessage, outbox_id)
        assert row is not None
        row.message_encrypted = b"not a fernet token"  # e.g. its data key was dropped
        db.session.commit()
    consumer = _worker()
    try:
        deadline = time.monotonic() + 10
        while not _outbox(app)[0].attempts and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        consumer.stop(graceful=True)
    [row] = _outbox(app)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "InvalidToken")
    assert f"mail {outbox_id} not sent (attempt 1): unexpected InvalidToken" in caplog.text
    assert mailbox.messages == []


# --- (e) the periodic tasks -------------------------------------------------------------------


def _minutes_of_a_day() -> list[datetime]:
    start = datetime(2026, 11, 24)
    return [start + timedelta(minutes=m) for m in range(24 * 60)]


def test_periodic_tasks_are_registered_with_their_schedules(queue_mode: str) -> None:
    periodic = {task.name: task for task in huey._registry.periodic_tasks}  # noqa: SLF001
    assert {"sweep_outbox", "purge_gathered", "remind_deadlines", "anchor_audit_log"} <= set(
        periodic
    )
    anchor = periodic["anchor_audit_log"]
    monday = datetime(2026, 11, 23, 6, 0)  # a Monday
    week = [monday + timedelta(minutes=m) for m in range(7 * 24 * 60)]
    assert [t for t in week if anchor.validate_datetime(t)] == [monday]  # once a week

    def runs(name: str) -> list[datetime]:
        return [t for t in _minutes_of_a_day() if periodic[name].validate_datetime(t)]

    assert len(runs("sweep_outbox")) == 24 * 60  # every minute
    assert [t.minute for t in runs("purge_gathered")[:3]] == [0, 5, 10]
    assert len(runs("purge_gathered")) == 24 * 12
    reminders = runs("remind_deadlines")
    assert [t.hour for t in reminders] == list(range(7, 17))  # hourly from 07:00 UTC ...
    assert {t.minute for t in reminders} == {0}  # ... on the hour; one mail a day at most


@pytest.mark.parametrize(
    "to",
    [
        "=?utf-8?q?mallory=40evil.example?=,sanne.devries@example.nl",
        "mallory@evil.example, sanne.devries@example.nl",
        "Mallory <mallory@evil.example>",
    ],
)
def test_a_message_goes_to_one_mailbox_or_is_not_made(app: Flask, to: str) -> None:
    """Whatever passed the checks before it, the "To" header never names a second mailbox."""
    with pytest.raises(ValueError, match="addr_spec"):
        _queue_login_mail(app, to, enqueue=False)
    assert _outbox(app) == []
    _queue_login_mail(app, "sanne.devries@example.nl", enqueue=False)
    assert len(_outbox(app)) == 1
