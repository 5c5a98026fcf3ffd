"""The export benchmark keeps running (with few records; no timed assertions)."""

from __future__ import annotations

import re
import subprocess
import sys

from portal import PROJECT_ROOT


def test_export_bench_runs() -> None:
    result = subprocess.run(
        [sys.executable, "bench/export_bench.py", "--records", "400"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for writer in ("json", "csv zip"):
        line = re.search(
            rf"^\s+{writer}\s+.*peak memory growth ([\d.]+) MB.*orjson alone ([\d.]+)",
            result.stdout,
            re.M,
        )
        assert line, result.stdout
