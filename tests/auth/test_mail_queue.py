"""Sign-in mail goes through a real task queue, as in production: a Huey consumer takes the
job from SQLite or Redis storage and sends it; a job waiting while no worker runs is sent
once a (new) worker starts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from huey.consumer import Consumer

from portal.tasks import huey

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["sqlite", "redis"])
def queue_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "redis" and not _redis_available():
        pytest.skip("no Redis server at 127.0.0.1:6379")
    yield request.param
    huey.flush()


@pytest.fixture
def settings_overrides(smtp_overrides: dict[str, object], queue_mode: str) -> dict[str, object]:
    overrides = {**smtp_overrides, "task_queue": queue_mode}
    if queue_mode == "redis":
        overrides["redis_url"] = REDIS_URL
    return overrides


@pytest.fixture(autouse=True)
def _separate_queue(app: Flask) -> Iterator[None]:
    # each test its own queue name, so a left-over job of another run is never picked up
    original = huey.name
    huey.name = f"portal-test-{uuid.uuid4().hex[:8]}"
    huey.storage = huey.create_storage()
    yield
    huey.flush()
    huey.name = original


def _worker() -> Consumer:
    consumer = huey.create_consumer(workers=1, worker_type="thread", periodic=False)
    consumer.start()
    return consumer


def test_sign_in_mail_is_sent_by_a_queue_worker(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    assert forms.post(client, "/inloggen", email="sanne.devries@example.nl").status_code == 303
    assert len(huey) == 1  # queued, not sent inside the request
    assert mailbox.messages == []
    consumer = _worker()
    try:
        message = mailbox.wait_for(1, timeout=10)[-1]
    finally:
        consumer.stop(graceful=True)
    assert message["To"] == "sanne.devries@example.nl"
    assert len(mailbox.code_in(message)) == 6


def test_a_job_waiting_for_a_worker_survives_a_restart(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    first = _worker()
    first.stop(graceful=True)  # the worker goes away ...
    forms.post(client, "/inloggen", email="sanne.devries@example.nl")
    huey.storage = huey.create_storage()  # ... the process restarts with fresh connections
    assert len(huey) == 1
    second = _worker()
    try:
        assert len(mailbox.wait_for(1, timeout=10)) == 1
    finally:
        second.stop(graceful=True)
