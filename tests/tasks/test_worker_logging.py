"""The queue worker as operators start it (``huey_consumer portal.worker.huey``) writes each
log line once: huey adds a handler of its own to its logger, next to the portal's on the root."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from flask import Flask

from portal import PROJECT_ROOT

from .conftest import worker_env


def test_the_consumer_logs_each_line_once(
    app: Flask, base_settings: dict[str, object], tmp_path: Path
) -> None:
    env = worker_env({**base_settings, "task_queue": "sqlite"}, Path(app.instance_path))
    consumer = Path(sys.executable).with_name("huey_consumer")
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(consumer), "portal.worker.huey", "-w", "1", "-k", "thread", "-n"],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while "consumer started" not in log.read_text().lower():
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    lines = [line for line in log.read_text().splitlines() if "consumer started" in line.lower()]
    assert len(lines) == 1, lines
