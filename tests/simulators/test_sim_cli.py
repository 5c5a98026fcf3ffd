"""``python -m simulators`` starts all five on fixed ports and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import httpx

from simulators import DEFAULT_PORTS, VENDORS


def _free_block() -> int:
    """An offset whose five demo ports are currently free."""
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + 4 > 65535:
            continue
        ok = True
        for port in range(base, base + 5):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base - DEFAULT_PORTS["woocommerce"]
    raise RuntimeError("no free block of five ports")


def test_cli_serves_all_five_and_stops() -> None:
    offset = _free_block()
    with subprocess.Popen(
        [sys.executable, "-m", "simulators", "--port-offset", str(offset)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        try:
            lines = [proc.stdout.readline().strip() for _ in VENDORS]
            footer = proc.stdout.readline()
            assert "see simulators/README.md" in footer
            for vendor, line in zip(VENDORS, lines, strict=True):
                name, url = line.split()
                assert name == vendor
                assert url.startswith(f"http://127.0.0.1:{DEFAULT_PORTS[vendor] + offset}/")
            info = httpx.get(lines[-1].split()[1].rsplit("/v2", 1)[0] + "/__simulator__").json()
            assert info["vendor"] == "mollie"
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
