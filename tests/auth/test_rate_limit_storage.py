"""The rate limits' storage holds no personal data: in production it is Redis, shared by the
web workers, and neither a client's IP address nor an e-mail address is in its keys (both are
counted by keyed hashes)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import limiter

REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (see tests/auth/conftest.py)."""


@pytest.fixture
def store() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis server at 127.0.0.1:6379")
    yield client
    client.close()


@pytest.fixture
def settings_overrides(smtp_overrides: dict[str, object], store: redis.Redis) -> dict[str, object]:
    return {**smtp_overrides, "redis_url": REDIS_URL, "task_queue": "immediate"}


def test_redis_keys_name_no_ip_address_nor_e_mail_address(
    app: Flask, forms: Any, mailbox: Any, store: redis.Redis
) -> None:
    assert "redis" in type(limiter.storage).__name__.lower()
    ip = f"203.0.113.{random.randint(1, 254)}"  # noqa: S311 - a test address, not a secret
    ipv6 = f"2001:db8:{random.randint(1, 0xFFFF):x}:1::5"  # noqa: S311
    email = f"limit-{random.randint(1, 10**9)}@example.nl"  # noqa: S311
    for address in (ip, ipv6):
        client: FlaskClient = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        assert forms.post(client, "/inloggen", email=email).status_code == 303
    keys = [k.decode() for k in store.scan_iter(match="*", count=1000)]
    assert keys, "the limits counted nothing in Redis"
    for key in keys:
        assert ip not in key and email not in key and email.split("@")[0] not in key
        assert "2001:db8" not in key and "203.0.113." not in key
    # the per-IP limits are there, under a keyed hash
    assert any("/ip:" in key for key in keys), keys
