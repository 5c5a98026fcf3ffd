"""Benchmark: the export's streaming writers on many synthetic records.

    .venv/bin/python bench/export_bench.py [--records 100000] [--rounds 3]

Exports N synthetic records (orders, order notes, invoices, tickets with an HTML body) of one
person through the real writers, JSON and the ZIP of CSV files with README and index.html, and
prints for each, measured in the same run:

- ``peak memory growth``: the most memory the writer held above what the records already take
  (tracemalloc, in a separate pass from the timing); goal under 64 MB, whatever N is;
- ``throughput / orjson alone``: records per second of the writer divided by records per second
  of serialising the same records with ``orjson.dumps`` and nothing else; goal at least 0.5.

The writers get the records as a snapshot holds them: prepared once when they are gathered
(``portal.export.prepare``: due dates worked out, ids as text, every field in a category). That
step is timed too and printed on its own line, with the same ratio: it runs once per gathering,
not per download.

Every time is the shortest of ``--rounds`` runs (the floors' too), which keeps the ratios
steadier on a shared machine. It asserts nothing about time: the ratios are the result.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import sys
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402

from portal import PROJECT_ROOT, create_app  # noqa: E402
from portal.export import offline  # noqa: E402
from portal.export.document import ExportDocument, build_document  # noqa: E402
from portal.export.prepare import Prepared, prepare_records  # noqa: E402
from portal.export.writers import (  # noqa: E402
    COMPRESS_LEVEL,
    csv_rows,
    json_chunks,
    record_types,
    zip_chunks,
)
from portal.gathering import SourceOutcome  # noqa: E402
from portal.policy import current_policy  # noqa: E402

EMAIL = "sanne.devries@example.nl"
MEMORY_GOAL_MB = 64
RATIO_GOAL = 0.5


def synthetic_records(n: int) -> list[dict[str, Any]]:
    """``n`` records shaped like what the connectors gather, of four kinds."""
    start = datetime(2019, 1, 1, tzinfo=UTC)
    records = []
    for i in range(n):
        created = (start + timedelta(hours=7 * i % 60000)).isoformat()
        kind = i % 4
        if kind == 0:
            record = {
                "source": "webshop",
                "system": "woocommerce",
                "record_type": "order",
                "record_id": str(10000 + i),
                "fields": {
                    "number": str(10000 + i),
                    "status": "completed",
                    "total": f"{i % 500}.95",
                    "line_items": [{"name": "Espressomachine", "quantity": 1, "total": "99.0"}],
                    "billing_address": {"address_1": "Oudegracht 112", "city": "Utrecht"},
                    "billing_email": EMAIL,
                },
                "categories": {
                    "number": "orders",
                    "status": "orders",
                    "total": "orders",
                    "line_items": "orders",
                    "billing_address": "address",
                    "billing_email": "contact",
                },
                "dates": {"created": created, "last_order": created},
            }
        elif kind == 1:
            record = {
                "source": "webshop",
                "system": "woocommerce",
                "record_type": "order_note",
                "record_id": f"{10000 + i - 1}/{i}",
                "fields": {"note": f"Bestelling {i} verzonden met PostNL.", "author": "system"},
                "categories": {"note": "orders", "author": "orders"},
                "dates": {"created": created},
            }
        elif kind == 2:
            record = {
                "source": "invoicing",
                "system": "moneybird",
                "record_type": "invoice",
                "record_id": str(4318772604000 + i),
                "fields": {
                    "invoice_id": f"2019-{i:06d}",
                    "state": "paid",
                    "total_price_incl_tax": "119.79",
                    "lines": [{"description": "Onderhoud", "price": "99.0"}],
                },
                "categories": {
                    "invoice_id": "invoices",
                    "state": "invoices",
                    "total_price_incl_tax": "invoices",
                    "lines": "invoices",
                },
                "dates": {"invoice_date": created[:10], "created": created},
            }
        else:
            record = {
                "source": "helpdesk",
                "system": "zammad",
                "record_type": "article",
                "record_id": str(500 + i),
                "fields": {
                    "subject": "Machine lekt",
                    "body": "<p>De machine lekt weer.<br>Groet,<br>Sanne</p>",
                    "from": f"Sanne de Vries <{EMAIL}>",
                },
                "categories": {"subject": "support", "body": "support", "from": "support"},
                "dates": {"created": created},
            }
        record.update(link=None, matched={"kind": "email", "value": EMAIL}, parent=None)
        records.append(record)
    return records


def _document(records: Sequence[dict[str, Any]]) -> ExportDocument:
    outcomes = [
        SourceOutcome(key, system, "complete", None, None, (), 0, 0.0)
        for key, system in (("webshop", "woocommerce"), ("invoicing", "moneybird"))
    ] + [SourceOutcome("helpdesk", "zammad", "failed", "down", None, (), 0, 0.0)]
    now = datetime.now(UTC)
    return build_document(
        policy=current_policy(),
        locale="nl",
        exported_at=now,
        gathered_at=now,
        schema_url="http://127.0.0.1:5000/export/schema/v2.json",
        identifiers=[{"kind": "email", "value": EMAIL}],
        outcomes=outcomes,
        records=records,
    )


def _zip(document: ExportDocument) -> Iterable[bytes]:
    return zip_chunks(
        document,
        readme=lambda kinds: offline.readme(document, kinds),
        index_html=lambda: offline.index_html(document),
    )


def _drain(chunks: Iterable[bytes]) -> int:
    size = 0
    for chunk in chunks:
        size += len(chunk)
    return size


def _timed(work: Callable[[], int], rounds: int = 1) -> tuple[float, int]:
    """The shortest time of ``rounds`` runs of ``work``, and what it returned."""
    best = float("inf")
    size = 0
    for _round in range(rounds):
        started = time.perf_counter()
        size = work()
        best = min(best, time.perf_counter() - started)
    return best, size


def _peak_mb(work: Callable[[], int]) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 1e6


def run(n: int, rounds: int = 3) -> dict[str, dict[str, float]]:
    """Measure preparing the records and both writers on ``n`` records; the figures per step."""
    raw = synthetic_records(n)
    prepared: list[Prepared] = []

    def prepare() -> int:
        prepared[:] = [prepare_records(raw, current_policy())]
        return len(prepared[0])

    prepare_time, _count = _timed(prepare, rounds)
    records = prepared[0]  # as a snapshot holds them: prepared, with their fingerprint

    def baseline() -> int:
        return sum(len(orjson.dumps(r)) for r in records)

    orjson_time, orjson_size = _timed(baseline, rounds)
    results: dict[str, dict[str, float]] = {}
    for name, make in (("json", json_chunks), ("csv zip", _zip)):
        elapsed, size = _timed(lambda make=make: _drain(make(_document(records))), rounds)
        peak = _peak_mb(lambda make=make: _drain(make(_document(records))))
        results[name] = {
            "seconds": elapsed,
            "bytes": size,
            "peak_mb": peak,
            "ratio": orjson_time / elapsed,
        }
    print(
        f"{n} synthetic records; orjson alone: {orjson_time:.3f} s, {orjson_size / 1e6:.1f} MB; "
        f"preparing them (once per gathering): {prepare_time:.3f} s, "
        f"ratio {orjson_time / prepare_time:.2f}"
    )
    for name, r in results.items():
        print(
            f"  {name:8} {r['seconds']:.3f} s, {r['bytes'] / 1e6:.1f} MB written; "
            f"peak memory growth {r['peak_mb']:.1f} MB (goal < {MEMORY_GOAL_MB}); "
            f"throughput / orjson alone {r['ratio']:.2f} (goal >= {RATIO_GOAL})"
        )
    libraries_time = _libraries_alone(_document(records), rounds)
    print(
        f"  (the csv module and zlib alone, on the CSV rows made beforehand, without index.html: "
        f"{libraries_time:.3f} s, ratio {orjson_time / libraries_time:.2f})"
    )
    results["prepare"] = {"seconds": prepare_time, "ratio": orjson_time / prepare_time}
    results["libraries"] = {"seconds": libraries_time, "ratio": orjson_time / libraries_time}
    return results


def _libraries_alone(document: ExportDocument, rounds: int) -> float:
    """The shortest time the ``csv`` module and zlib (the ZIP's level) take to write and
    compress the CSV files' rows, made beforehand: a floor under the CSV ZIP's time that no
    Python of ours is in."""
    tables = [list(csv_rows(document, kind)) for kind in record_types(document.records)]

    def write() -> int:
        size = 0
        for rows in tables:
            text = io.StringIO()
            csv.writer(text, delimiter=";", lineterminator="\r\n").writerows(rows)
            packer = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -15)
            data = text.getvalue().encode()
            zlib.crc32(data)  # the ZIP's checksum of each file
            size += len(packer.compress(data)) + len(packer.flush())
        return size

    return _timed(write, rounds)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="runs per timing (the best counts)")
    args = parser.parse_args()
    instance = Path(tempfile.mkdtemp(prefix="export-bench-"))
    try:
        shutil.copyfile(PROJECT_ROOT / "instance" / "policy.example.toml", instance / "policy.toml")
        app = create_app(
            {"environment": "test", "database_url": f"sqlite:///{instance / 'bench.db'}"},
            instance_path=instance,
        )
        with app.test_request_context():
            run(args.records, max(args.rounds, 1))
    finally:
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
