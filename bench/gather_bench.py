"""Benchmark: gathering from all five vendor simulators at once versus the slowest one alone.

    .venv/bin/python bench/gather_bench.py [--latency 0.05] [--rounds 3]

Every simulator answers each request after the same fixed delay. The script measures, in the
same run, the time to gather the demo customer from each source alone and from all five
together, and prints:

- ``concurrent / slowest single source``: goal at most 1.3 (sequential gathering would be the
  sum of all sources, printed for comparison);
- per source, the HTTP requests made (one lookup plus one per extra page and related list,
  and, together, one per record read by the id another source's record names: Mollie's
  payments of the guest orders), what they were, and how many were repeated (goal: none).

Gathering together includes the second phase that follows links between the sources (a
WooCommerce order's Mollie payment), which a source alone has no reason to take: it starts
once WooCommerce and Mollie have both answered.

It asserts nothing about time: the ratios are the result.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors import Identity, RetryPolicy, create, gather  # noqa: E402
from simulators import SimulatorGroup, start_all  # noqa: E402

SANNE = "sanne.devries@example.nl"
VENDORS = ("woocommerce", "moneybird", "zammad", "freshdesk", "mollie")


def _config(group: SimulatorGroup, vendor: str) -> dict[str, object]:
    handle = group[vendor]
    config: dict[str, object] = {"base_url": handle.base_url, **handle.credentials}
    config.pop("username", None)
    config.pop("password", None)
    return config


def _run(group: SimulatorGroup, vendors: tuple[str, ...]) -> tuple[float, dict[str, int]]:
    connectors = [
        create(v, _config(group, v), retry=RetryPolicy(attempts=1, sleep=lambda _s: None))
        for v in vendors
    ]
    try:
        start = time.perf_counter()
        result = gather(connectors, Identity.of(emails=[SANNE]), budget=120.0)
        elapsed = time.perf_counter() - start
    finally:
        for connector in connectors:
            connector.close()
    bad = [k for k, r in result.sources.items() if r.status.value != "complete"]
    if bad:
        raise SystemExit(f"sources did not complete: {bad}")
    return elapsed, {k: r.requests for k, r in result.sources.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per answer")
    parser.add_argument("--rounds", type=int, default=3, help="median of this many runs")
    args = parser.parse_args()

    with start_all() as group:
        for vendor in VENDORS:
            group[vendor].set_latency(args.latency)
        single: dict[str, float] = {}
        for vendor in VENDORS:
            single[vendor] = statistics.median(
                _run(group, (vendor,))[0] for _ in range(args.rounds)
            )
        together = []
        for _ in range(args.rounds):
            for vendor in VENDORS:
                group[vendor].clear_requests()
            elapsed, requests = _run(group, VENDORS)
            together.append(elapsed)
        logs = {v: list(group[v].requests) for v in VENDORS}

    concurrent = statistics.median(together)
    slowest_vendor = max(single, key=single.__getitem__)
    slowest = single[slowest_vendor]
    print(f"latency per answer: {args.latency * 1000:.0f} ms, median of {args.rounds} runs")
    for vendor in VENDORS:
        print(f"  {vendor:12s} alone: {single[vendor]:.3f} s")
    print(f"  all five together: {concurrent:.3f} s")
    print(
        f"ratio concurrent / slowest single source ({slowest_vendor}): "
        f"{concurrent / slowest:.2f}  (goal <= 1.30)"
    )
    print(f"ratio sequential sum / slowest single source: {sum(single.values()) / slowest:.2f}")
    print("requests per gathering (last run):")
    for vendor in VENDORS:
        log = logs[vendor]
        keys = Counter((r.method, r.path, r.query_string) for r in log)
        repeated = sum(n - 1 for n in keys.values() if n > 1)
        shapes = Counter(_shape(r.path) for r in log)
        detail = ", ".join(f"{n} x {shape}" for shape, n in shapes.most_common())
        print(f"  {vendor:12s} {len(log):3d} requests, {repeated} repeated: {detail}")
        if requests.get(vendor, len(log)) != len(log):
            print(f"  {vendor:12s} note: the connector counted {requests[vendor]}")


def _shape(path: str) -> str:
    """The path with ids replaced, so requests group by kind (lookup, page, related list)."""
    parts = [
        "{id}" if p.isdigit() or (len(p) > 6 and any(ch.isdigit() for ch in p)) else p
        for p in path.split("/")
    ]
    return "/".join(parts)


if __name__ == "__main__":
    main()
