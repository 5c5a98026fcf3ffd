"""Fixtures for the task queue tests: the real SMTP server of the sign-in tests, an SMTP server
that hangs, a queue worker in a process of its own, and data subject requests to remind of."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask

from portal import PROJECT_ROOT
from portal.dsr import services
from portal.extensions import db
from portal.models import DataRequest, RequestChannel, RequestKind

from ..auth.conftest import Mailbox, free_port, mailbox, smtp_overrides

__all__ = ["Mailbox", "free_port", "mailbox", "smtp_overrides"]

WORKER_SCRIPT = Path(__file__).with_name("worker_process.py")


class StallingGate:
    """A TCP server in front of the :class:`Mailbox`.

    While :attr:`stall` is set it accepts connections and says nothing, like an SMTP server that
    hangs (a job talking to it blocks until its timeout); otherwise it passes the bytes through
    to the mailbox.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.stall = True
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.accepted += 1
            if self.stall:
                self._held.append(conn)
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for src, dst in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def wait_for_connection(self, timeout: float = 30.0) -> None:
        """Wait until a client connected (and hangs, while stalling)."""
        deadline = time.monotonic() + timeout
        while self.accepted == 0:
            if time.monotonic() > deadline:
                raise AssertionError("no SMTP connection to the stalling server")
            time.sleep(0.05)

    def close(self) -> None:
        self._server.close()
        for conn in self._held:
            conn.close()


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Replaces pytest-flask's: no context stays pushed, so a test can use several apps (and
    the CLI runs in the context of the app it is invoked on)."""


@pytest.fixture
def stalling_gate(mailbox: Mailbox) -> Iterator[StallingGate]:
    gate = StallingGate(mailbox.port)
    yield gate
    gate.close()


class WorkerProcess:
    """``huey``'s consumer for the portal, in a process of its own (see worker_process.py)."""

    def __init__(self, env: dict[str, str], queue_name: str, *, periodic: bool) -> None:
        args = [sys.executable, str(WORKER_SCRIPT), queue_name]
        if not periodic:
            args.append("--no-periodic")
        self.proc = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no chance to finish the job, as when a machine dies."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_env(settings: dict[str, object], instance: Path) -> dict[str, str]:
    """The environment that gives a worker process the same settings as the test's app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env["PORTAL_INSTANCE_PATH"] = str(instance)
    for name, value in settings.items():
        if isinstance(value, dict | list):
            env[f"PORTAL_{name.upper()}"] = json.dumps(value)
        elif isinstance(value, bool):
            env[f"PORTAL_{name.upper()}"] = "true" if value else "false"
        else:
            env[f"PORTAL_{name.upper()}"] = str(value)
    return env


def letter_request(
    app: Flask,
    received_on: date,
    kind: RequestKind = RequestKind.QUESTION,
    details: dict[str, str] | None = None,
) -> str:
    """A request a letter writer sent (entered by staff, no e-mail to anyone); its reference."""
    with app.test_request_context():
        submitted = services.submit(
            None,
            kind,
            details=details or {"question": "Welke gegevens hebt u van mij?"},
            received_on=received_on,
            channel=RequestChannel.POST,
            requester={"name": "Sanne de Vries", "address": "Dorpsstraat 1, Utrecht"},
            identity_verification="letter",
            actor_type="staff",
            actor_id=1,
        )
        db.session.commit()
        reference: str = submitted.request.reference
    return reference


def request_by_reference(reference: str) -> DataRequest:
    """Read inside an app context."""
    return db.session.query(DataRequest).filter_by(reference=reference).one()
