"""Command line entry point: run all five simulators on fixed ports until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from simulators.runner import DEFAULT_PORTS, VENDORS, start_all
from simulators.world import DEMO_SEED, build_world

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulators",
        description="Serve the WooCommerce, MoneyBird, Zammad, Freshdesk and Mollie "
        "simulators on 127.0.0.1 for the privacy-portal demo.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port-offset",
        type=int,
        default=0,
        help="add this to every default port (5101-5105)",
    )
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="seed of the demo world")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="delay every answer by this many seconds"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run all five simulators until Ctrl-C (or SIGTERM); return the exit status."""
    args = _parser().parse_args(argv)
    ports = {vendor: port + args.port_offset for vendor, port in DEFAULT_PORTS.items()}
    stop = threading.Event()

    def _terminate(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        group = start_all(ports, host=args.host, world=build_world(args.seed))
    except OSError as exc:
        print(f"could not start the simulators: {exc}", file=sys.stderr)
        return 1
    with group:
        for vendor in VENDORS:
            handle = group[vendor]
            if args.latency:
                handle.set_latency(args.latency)
            print(f"{vendor:<12} {handle.base_url}", flush=True)
        print(
            "demo credentials: see simulators/README.md; "
            "fault control: POST <root>/__simulator__/fault; Ctrl-C to stop",
            flush=True,
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0
