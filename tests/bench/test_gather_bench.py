"""The gathering benchmark keeps running, and gathering never repeats a request."""

from __future__ import annotations

import re
import subprocess
import sys

from portal import PROJECT_ROOT


def test_gather_bench_runs_and_repeats_no_request() -> None:
    result = subprocess.run(
        [sys.executable, "bench/gather_bench.py", "--latency", "0", "--rounds", "1"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ratio concurrent / slowest single source" in result.stdout
    lines = re.findall(r"^\s+(\w+)\s+(\d+) requests, (\d+) repeated", result.stdout, re.M)
    assert {vendor for vendor, _n, _r in lines} == {
        "woocommerce",
        "moneybird",
        "zammad",
        "freshdesk",
        "mollie",
    }
    assert all(repeated == "0" for _v, _n, repeated in lines)
    assert all(int(n) >= 2 for _v, n, _r in lines)  # a lookup plus related lists
