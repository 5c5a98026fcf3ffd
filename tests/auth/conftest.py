"""Fixtures for the sign-in tests: a real SMTP server (aiosmtpd), and settings that use it."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient

CODE_RE = re.compile(r"\b(\d{6})\b")
LINK_RE = re.compile(r"(https?://\S+/inloggen/link/[A-Za-z0-9_\-]+)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Collect:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        with self.box.lock:
            self.box.messages.append(message)
        return "250 OK"


class Mailbox:
    """An SMTP server on 127.0.0.1:``port`` that keeps every message it receives."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until ``count`` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")

    def last(self) -> EmailMessage:
        """The newest message (waits for at least one)."""
        return self.wait_for(1)[-1]

    @staticmethod
    def text_of(message: EmailMessage) -> str:
        """The plain-text body."""
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    @staticmethod
    def html_of(message: EmailMessage) -> str:
        """The HTML body."""
        part = message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    @classmethod
    def code_in(cls, message: EmailMessage) -> str:
        """The 6-digit code in a sign-in e-mail."""
        match = CODE_RE.search(cls.text_of(message))
        assert match, "no code in the e-mail"
        return match.group(1)

    @classmethod
    def link_in(cls, message: EmailMessage) -> str:
        """The sign-in link in a sign-in e-mail."""
        match = LINK_RE.search(cls.text_of(message))
        assert match, "no link in the e-mail"
        return match.group(1)


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A running SMTP server; stopped after the test."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def smtp_overrides(mailbox: Mailbox) -> dict[str, object]:
    """Settings that send mail, without TLS, to the test SMTP server, with roomy rate limits."""
    return {
        "mail_transport": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": mailbox.port,
        "smtp_security": "none",
        "smtp_timeout": 5,
        "login_rate_per_ip": "1000 per minute",
        "login_rate_per_address": "1000 per minute",
        "code_rate_per_ip": "1000 per minute",
        "code_rate_per_address": "1000 per minute",
    }


class Forms:
    """Submits forms the way a browser does: GET the page, take its CSRF token, POST."""

    def token(self, client: FlaskClient, path: str) -> str:
        """The CSRF token of the form on ``path``."""
        html = client.get(path).get_data(as_text=True)
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, client: FlaskClient, page: str, action: str | None = None, **data: str) -> Any:
        """POST ``data`` to ``action`` (default ``page``) with the token from ``page``."""
        token = self.token(client, page)
        return client.post(action or page, data={"csrf_token": token, **data})


@pytest.fixture
def browser_client(app: Flask) -> FlaskClient:
    """A test client that, like a browser, keeps no request context between requests.

    pytest-flask's ``client`` keeps the last request's context pushed (``with client:``) and
    pushes one for the whole test, so a second client's requests would share the first one's
    ``g`` (Flask-Login's user, Flask-WTF's CSRF token). Tests with several browsers use this.
    """
    return app.test_client()


@pytest.fixture
def forms() -> Forms:
    """Form-submitting helper."""
    return Forms()
