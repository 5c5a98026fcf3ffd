"""Prepared records and the writers: their shortcuts give what the plain path gives.

Records are prepared once when gathered (:mod:`portal.export.prepare`: due dates remembered per
record shape and day); the plain path is the due date worked out from each record's own dates
(:func:`portal.gathering.presentation.due_date`, what the overview and the erasure use). The
JSON writer writes the prepared records as they are; the CSV ``due_dates`` cell and index.html
(:meth:`HtmlRecords.record` over :meth:`ExportDocument.parts`) must say the same. The records
mix shapes that share field names, dates that cannot be read, and categories counted from
different dates, each several times so the remembered answers are used too.
"""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import jsonschema
import orjson
import pytest
from flask import Flask

from portal.export.document import ExportDocument, build_document
from portal.export.offline import HtmlRecords
from portal.export.prepare import Preparer, from_stored, prepare_records, stored
from portal.export.schema import RECORD_KEYS, json_schema
from portal.export.writers import (
    FIXED_COLUMNS,
    cell,
    csv_rows,
    json_chunks,
    neutralise,
    record_types,
)
from portal.gathering import SourceOutcome
from portal.gathering.presentation import OTHER, due_date
from portal.policy import current_policy
from portal.settings import firm_zone

EMAIL = "sanne.devries@example.nl"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {}


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "source": "webshop",
        "system": "woocommerce",
        "record_type": "order",
        "record_id": "1",
        "link": None,
        "fields": {"number": "1", "total": "9.95", "billing_email": EMAIL},
        "categories": {"number": "orders", "total": "orders", "billing_email": "contact"},
        "dates": {"created": "2020-03-04T10:00:00+00:00"},
        "matched": {"kind": "email", "value": EMAIL},
        "parent": None,
    }
    record.update(changes)
    return record


def _records() -> list[dict[str, Any]]:
    invoice = {"invoice_id": "2019-1", "state": "paid"}
    invoice_categories = {"invoice_id": "invoices", "state": "invoices"}
    kinds = [
        _record(),
        _record(dates={"last_order": "2021-06-30", "created": "2020-03-04T10:00:00"}),
        _record(dates={"last_order": "garbage", "created": "2020-01-01T08:00:00"}),
        _record(dates={"last_order": "2020-01-01X", "created": "2021-05-01"}),
        _record(dates={"created": "2020-13-45T00:00:00"}),
        _record(dates={"created": ""}),
        _record(dates=None, categories=None, link="https://shop.example/o/1?a=1&b=<2>"),
        # the same field names, another mapping; the same names in another order
        _record(categories={"number": "orders", "total": "invoices", "billing_email": "x"}),
        _record(fields={"total": "=1+1", "number": "-2", "billing_email": "@me"}),
        _record(fields={"total": "\t=1+1", "number": "\r=2", "billing_email": "+31 6 1"}),
        _record(
            source="invoicing",
            system="moneybird",
            record_type="invoice",
            record_id=4318772604,
            fields=invoice,
            categories=invoice_categories,
            dates={"invoice_date": "2019-05-02", "created": "2019-05-01T12:00:00Z"},
            parent={"source": "invoicing", "record_type": "contact", "record_id": "+77"},
        ),
        _record(
            source="invoicing",
            record_type="invoice",
            fields=invoice,
            categories=invoice_categories,
            dates={"invoice_date": "20190502", "created": "2019-05-01"},
        ),
        _record(
            source="invoicing",
            record_type="invoice",
            fields=invoice,
            categories=invoice_categories,
            dates={"invoice_date": 20190502, "created": "2019-05-01"},
        ),
        # counted from two different dates: no shortcut by day
        _record(
            record_type="mixed",
            fields={"number": "7", "invoice_id": "2019-2"},
            categories={"number": "orders", "invoice_id": "invoices"},
            dates={"invoice_date": "2019-06-30", "last_order": "2018-01-01"},
        ),
        # forms a shortcut could misread: read in full, as the overview and erasure read them
        *[
            _record(dates={"last_order": last_order, "created": "2020-03-04T10:00:00+00:00"})
            for last_order in (
                "2021-06-30T25:00:00",  # no such hour: counts from created
                "2021-06-30T",
                "2020-01-01T00:30+05:00",  # no seconds: 31 December in Amsterdam
                "2020-01-01T00:30:00+0500",
                "2019-12-31T23:30:00+0000",  # 1 January in Amsterdam
                "2020-01-01T00:10:00+05:30:00",  # an offset with seconds (old local times)
                "2019-12-31T18:30:00.5-05",
                "2020-01-01T10:00:00,5",
                "2020-W01-1",  # an ISO week date: 30 December 2019
                "1930-06-30T23:50:00Z",  # Amsterdam was UTC+0:20 then
            )
        ],
        # every value left empty by the vendor: no fields, still listed
        _record(fields={}, categories={}),
        # moments near midnight UTC: the firm's day (Amsterdam) is the next one
        *[
            _record(
                fields={"number": "8", "payment_method": "ideal"},
                categories={"number": "orders", "payment_method": "payment"},
                dates={"created": created},
            )
            for created in (
                "2023-12-31T23:30:00Z",
                "2023-12-31T23:30:00+00:00",
                "2023-12-31T21:59:59.5+00:00",
                "2023-12-31T18:30:00-05:00",
                "2023-12-31T23:30:00",
                "2024-06-30T22:15:00Z",
            )
        ],
        {
            "source": "helpdesk",
            "record_type": "ticket",
            "record_id": "77",
            "fields": {
                "title": "Lekt & <b>druppelt</b>",
                "body": "<p>Hallo<br>Groet <script>alert(1)</script></p>",
                "lines": [{"a": 1, "b": "<i>x</i>"}, None, True, 2.5],
                "empty": "",
            },
            "categories": {"title": "support", "body": "support", "lines": "support"},
            "dates": {"closed": "2022-02-02T02:02:02", "created": "2022-01-01"},
        },
    ]
    return [copy.deepcopy(kind) for _round in range(3) for kind in kinds]


def _document(records: list[dict[str, Any]]) -> ExportDocument:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    return build_document(
        policy=current_policy(),
        locale="nl",
        exported_at=now,
        gathered_at=now,
        schema_url="http://localhost/export/schema/v2.json",
        identifiers=[{"kind": "email", "value": EMAIL}],
        outcomes=[SourceOutcome("webshop", "woocommerce", "complete", None, None, (), 0, 0.0)],
        records=prepare_records(records, current_policy()),
    )


@pytest.fixture
def document(app: Flask) -> Iterator[ExportDocument]:
    with app.test_request_context():
        yield _document(_records())


def test_the_json_records_are_the_prepared_records(document: ExportDocument) -> None:
    data = b"".join(json_chunks(document))
    lines = data.split(b"\n")
    assert lines[-2:] == [b"]}", b""]
    assert len(lines) == len(document.records) + 3  # head, a line per record, the end
    exported = orjson.loads(data)
    assert exported["records"] == orjson.loads(orjson.dumps(list(document.records)))
    assert all(tuple(record) == RECORD_KEYS for record in exported["records"])
    orders = [r["due_dates"]["orders"] for r in exported["records"][:6]]
    # 24 months after the created date, after the last order; unreadable dates count none
    assert orders == ["2022-03-04", "2023-06-30", "2022-01-01", "2023-05-01", None, None]


def test_prepared_due_dates_are_those_of_each_record_on_its_own(app: Flask) -> None:
    """The shortcuts by shape and day give what each record's own dates give, for every
    category of every record (and a preparer that saw other records first agrees with one
    that sees the record alone)."""
    with app.test_request_context():
        policy = current_policy()
        zone = firm_zone()
        shared = Preparer(policy, zone)
        records = _records()
        for record, prepared in zip(records, map(shared, records), strict=True):
            assert prepared == Preparer(policy, zone)(record)
            dates = prepared["dates"]
            assert all(isinstance(value, str) for value in dates.values())
            assert isinstance(prepared["record_id"], str)
            for key, due in prepared["due_dates"].items():
                expected = due_date(policy, policy.category(key), dates)
                assert due == (expected.isoformat() if expected else None), (key, dates)
            # every field in exactly one category the policy has (or other), in policy order
            assert set(prepared["categories"]) == set(prepared["fields"])
            order = [c.key for c in policy.categories] + [OTHER]
            keys = list(prepared["due_dates"])
            assert keys == sorted(set(prepared["categories"].values()), key=order.index)


def test_the_json_of_every_kind_of_record_is_valid_against_the_schema(app: Flask) -> None:
    schema = json_schema("http://localhost/export/schema/v2.json")
    with app.test_request_context():
        data = orjson.loads(b"".join(json_chunks(_document(_records()))))
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(data)
    assert any(
        r["fields"] == {} and r["categories"] == {} and r["due_dates"] == {}
        for r in data["records"]
    )
    # a category the policy lacks ("x"), or none at all: shown under other
    unknown = next(r for r in data["records"] if r["categories"].get("total") == "invoices")
    assert unknown["categories"]["billing_email"] == OTHER
    assert unknown["due_dates"] == {"orders": "2022-03-04", "invoices": "2027-12-31", OTHER: None}
    unmapped = next(r for r in data["records"] if r["link"])
    assert set(unmapped["categories"].values()) == {OTHER} and unmapped["dates"] == {}
    with pytest.raises(jsonschema.ValidationError):  # version 1 described records otherwise
        jsonschema.validate(data, json_schema("http://localhost/export/schema/v1.json", 1))


def test_due_dates_count_from_the_firms_day(document: ExportDocument) -> None:
    """A payment at 23:30 UTC on New Year's Eve was made on New Year's Day in Amsterdam: it
    is kept seven years after the end of *that* fiscal year. The export (fast paths and all)
    says what the overview and the erasure say."""
    policy = current_policy()
    payment = policy.category("payment")
    due = {
        record["dates"]["created"]: record["due_dates"]["payment"]
        for record in document.records
        if record["fields"].get("payment_method") == "ideal"
    }
    assert due == {
        "2023-12-31T23:30:00Z": "2031-12-31",  # 00:30 on 1 January in Amsterdam
        "2023-12-31T23:30:00+00:00": "2031-12-31",
        "2023-12-31T21:59:59.5+00:00": "2030-12-31",  # 22:59 on 31 December
        "2023-12-31T18:30:00-05:00": "2031-12-31",  # 23:30 UTC, 00:30 in Amsterdam
        "2023-12-31T23:30:00": "2030-12-31",  # no offset: the firm's own time
        "2024-06-30T22:15:00Z": "2031-12-31",
    }
    for created, expected in due.items():
        assert due_date(policy, payment, {"created": created}).isoformat() == expected


def test_records_prepared_without_a_zone_count_in_the_firms(app: Flask) -> None:
    """Without a time zone given, records are prepared in the firm's (as they are marked):
    23:30 UTC on New Year's Eve is New Year's Day in Amsterdam, the next fiscal year."""
    payment = {
        "source": "payments", "system": "mollie", "record_type": "payment",
        "record_id": "tr_1", "link": None, "fields": {"payment_method": "ideal"},
        "categories": {"payment_method": "payment"},
        "dates": {"created": "2023-12-31T23:30:00+00:00"},
        "matched": {"kind": "email", "value": EMAIL}, "parent": None,
    }  # fmt: skip
    with app.test_request_context():
        (prepared,) = prepare_records([payment], current_policy())
    assert prepared["due_dates"]["payment"] == "2031-12-31"


PARENT_KEYS = ("source", "record_type", "record_id")


def test_the_csv_due_dates_are_the_records(document: ExportDocument) -> None:
    for kind in record_types(document.records):
        rows = list(csv_rows(document, kind))
        records = [document.records[i] for i in kind.positions]
        assert len(rows) == len(records)
        for record, row in zip(records, rows, strict=True):
            dues = record["due_dates"]
            expected = ", ".join(f"{key}: {day}" for key, day in dues.items() if day)
            at = FIXED_COLUMNS.index("categories")
            assert row[at : at + 2] == [", ".join(dues), expected]
            parent = record["parent"] or {}
            cells = dict(zip(FIXED_COLUMNS, row, strict=False))
            # vendor text, neutralised like every cell ("+77" is no formula)
            assert [
                cells["parent_record_source"],
                cells["parent_record_type"],
                cells["parent_record_id"],
            ] == [neutralise(str(parent[key])) if parent else "" for key in PARENT_KEYS]
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row
    text = io.StringIO()
    csv.writer(text).writerows(csv_rows(document, record_types(document.records)[0]))
    assert "'=1+1" in text.getvalue() and "'-2" in text.getvalue()
    assert "'\t=1+1" in text.getvalue() and "'\r=2" in text.getvalue()
    assert "'+31 6 1" in text.getvalue()


def test_the_html_tables_are_those_of_each_record_on_its_own(app: Flask) -> None:
    with app.test_request_context():
        document = _document(_records())
        fast = HtmlRecords(document)
        plain = HtmlRecords(_document(_records()))
        for key in document.categories:
            expected = "".join(
                plain.record(key, record, names, due) for record, names, due in document.parts(key)
            )
            assert "".join(fast.section(key)) == expected, key
        support = "".join(fast.section("support"))
    assert "<script" not in support and "&lt;b&gt;" not in support
    assert "Lekt &amp; druppelt" in support  # tags go (nh3), then the rest is escaped


def test_a_stored_snapshot_is_prepared_again_only_when_the_policy_changed(app: Flask) -> None:
    with app.test_request_context():
        policy = current_policy()
        zone = firm_zone()
        raw = _records()
        prepared = prepare_records(raw, policy, zone)
        expected = orjson.loads(orjson.dumps(list(prepared)))
        data = stored(prepared, policy, zone)
        assert list(from_stored(data, policy, zone)) == expected
        assert not from_stored(data, policy, zone).stale
        # stored as prepared: read as it is (a changed due date shows it was not redone)
        marked = orjson.loads(data)
        marked["records"][0]["due_dates"]["orders"] = "2099-01-01"
        assert from_stored(orjson.dumps(marked), policy, zone)[0]["due_dates"]["orders"] == (
            "2099-01-01"
        )
        # another policy (or time zone), or records stored before they were prepared: redone
        changed = policy.model_copy(
            update={"controller": policy.controller.model_copy(update={"fiscal_year_end": "06-30"})}
        )
        again = from_stored(orjson.dumps(marked), changed, zone)
        assert again.stale and again[0]["due_dates"]["orders"] == "2022-03-04"
        other_zone = from_stored(orjson.dumps(marked), policy, UTC)
        assert other_zone.stale and other_zone[0]["due_dates"]["orders"] == "2022-03-04"
        before_preparing = from_stored(orjson.dumps(raw), policy, zone)
        assert before_preparing.stale and list(before_preparing) == expected


def test_index_html_lists_the_records_without_values(app: Flask) -> None:
    """A record whose values the system left all empty is in no category, but it is the
    customer's: index.html lists it (where from and its id), as the CSV files and the JSON do."""
    from portal.export import offline

    records = _records()
    with app.test_request_context():
        page = "".join(offline.index_html(_document(records)))
    section = page[page.index('id="without-values"') :]
    section = section[: section.index("</section>")]
    empty = [r for r in records if not r["fields"]]
    assert len(empty) == 3
    assert section.count("<li>") == len(empty)
    assert all(f" {r['record_id']}</li>" in section for r in empty)
    with app.test_request_context():
        others = [r for r in records if r["fields"]]
        assert 'id="without-values"' not in "".join(offline.index_html(_document(others)))


def test_prepared_records_go_to_the_writers_as_they_are(app: Flask) -> None:
    """A snapshot's records (prepared under this policy) are not copied or prepared again by
    the export; records prepared under another policy, or raw ones, are prepared first."""
    with app.test_request_context():
        policy = current_policy()
        prepared = prepare_records(_records(), policy)
        now = datetime(2026, 11, 24, 12, tzinfo=UTC)

        def document(records: Any, with_policy: Any = policy) -> ExportDocument:
            return build_document(
                policy=with_policy, locale="nl", exported_at=now, gathered_at=now,
                schema_url="http://localhost/export/schema/v2.json", identifiers=[],
                outcomes=[], records=records,
            )  # fmt: skip

        assert document(prepared).records is prepared
        raw = document(_records()).records
        assert list(raw) == list(prepared) and raw is not prepared
        changed = policy.model_copy(
            update={"controller": policy.controller.model_copy(update={"fiscal_year_end": "06-30"})}
        )
        again = document(prepared, changed).records
        assert again is not prepared
        invoice = next(r for r in again if r["record_type"] == "invoice")
        assert invoice["due_dates"]["invoices"] == "2026-06-30"  # fiscal year to 30 June


def _many(n: int) -> list[dict[str, Any]]:
    """``n`` records of a few kinds (orders, invoices, tickets with HTML), each its own id."""
    kinds = [k for k in _records() if k.get("fields")][:12]
    return [
        {**copy.deepcopy(kinds[i % len(kinds)]), "record_id": str(100000 + i)} for i in range(n)
    ]


def _peak_growth(work: Iterator[bytes]) -> int:
    """The most memory draining ``work`` held above what was held before (tracemalloc)."""
    import tracemalloc

    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _chunk in work:
            pass
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_the_writers_memory_stays_flat_however_many_records(app: Flask) -> None:
    """Both writers stream: ten times the records take a few bytes a record more (positions
    per record type and category), never the file. The records themselves are the gathered
    snapshot's, held either way. bench/export_bench.py measures 100,000."""
    from portal.export import offline
    from portal.export.writers import zip_chunks

    grown: dict[str, list[int]] = {"json": [], "zip": []}
    with app.test_request_context():
        for n in (200, 2_000, 20_000):  # the first warms up (templates compiled, imports)
            document = _document(_many(n))
            grown["json"].append(_peak_growth(json_chunks(document)))
            zipped = zip_chunks(
                document,
                readme=lambda kinds, d=document: offline.readme(d, kinds),
                index_html=lambda d=document: offline.index_html(d),
            )
            grown["zip"].append(_peak_growth(zipped))
    for writer, (_warm_up, small, large) in grown.items():
        # 18,000 more records: at most 64 bytes each more, and far below the file's size
        assert large - small < 18_000 * 64, (writer, small, large)
        assert large < 16_000_000, (writer, large)


def test_index_html_reads_codes_only_in_the_built_in_connectors_records(app: Flask) -> None:
    """A ticket's "type" of "phone" is a phone call; a job sheet's "type" column (the firm's
    own file) holding "phone" is the device."""

    def record(system: str, record_id: str) -> dict[str, Any]:
        return {
            "source": "helpdesk" if system == "zammad" else "workshop", "system": system,
            "record_type": "article" if system == "zammad" else "service_job",
            "record_id": record_id, "link": None, "fields": {"type": "phone"},
            "categories": {"type": "support"}, "dates": {},
            "matched": {"kind": "email", "value": EMAIL}, "parent": None,
        }  # fmt: skip

    with app.test_request_context():
        html = "".join(
            HtmlRecords(_document([record("zammad", "1"), record("files", "2")])).section("support")
        )
    ticket, job = html.split("</table>")[:2]
    assert "<td>Telefoongesprek</td>" in ticket
    assert "<td>phone</td>" in job


def test_index_html_names_an_order_note_s_fields_as_they_mean_there(app: Flask) -> None:
    """An order note's ``customer_note`` is whether it was sent to the customer; an order's is
    what the customer wrote. Meta data reads as names in words with their values."""

    def record(record_type: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {
            "source": "webshop", "system": "woocommerce", "record_type": record_type,
            "record_id": record_id, "link": None, "fields": fields,
            "categories": dict.fromkeys(fields, "orders"), "dates": {},
            "matched": {"kind": "email", "value": EMAIL}, "parent": None,
        }  # fmt: skip

    note = record("order_note", "1/2", {"customer_note": False, "author": "system"})
    order = record(
        "order", "1",
        {"customer_note": "Bij de buren", "meta_data": [{"key": "is_vat_exempt", "value": "no"}]},
    )  # fmt: skip
    with app.test_request_context():
        html = "".join(HtmlRecords(_document([note, order])).section("orders"))
    first, second = html.split("</table>")[:2]
    assert '<th scope="row">Aan u gestuurd</th><td>nee</td>' in first
    assert "<td>Het systeem van de webwinkel</td>" in first
    assert '<th scope="row">Opmerking van u</th><td>Bij de buren</td>' in second
    assert "<td>Vrijgesteld van btw: Nee</td>" in second


@pytest.mark.parametrize(
    "text",
    [
        "=1+1", "+31 6", "-5", "@SUM(A1)", "\t=1", "\r=1",
        " =1+1", "\u00a0=1+1", "\n=HYPERLINK(\"x\")", "\x00@x", "\u3000+1",
        "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20x",  # full-width forms
    ],
)  # fmt: skip
def test_a_cell_that_could_become_a_formula_is_text(text: str) -> None:
    assert neutralise(text) == "'" + text
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Sanne", " de Vries", "\u00a0Utrecht", "a=b", "06-1234"])
def test_other_cells_are_left_as_they_are(text: str) -> None:
    assert neutralise(text) == text and cell(text) == text


def test_a_record_kept_by_law_after_an_erasure_says_why_in_index_html_and_the_json(
    app: Flask,
) -> None:
    """A record read again by id because the firm keeps it (``matched`` null, no parent)
    says so in index.html where another says what it was found through; the JSON keeps the
    null, which the schema allows."""
    kept = _record(record_id="2", matched=None)
    own = _record(record_id="3")
    with app.test_request_context():
        document = _document([kept, own])
        html = "".join(HtmlRecords(document).section("orders"))
        exported = orjson.loads(b"".join(json_chunks(document)))
    tables = {table.split("</caption>")[0][-1]: table for table in html.split("</table>")[:2]}
    row = (
        '<th scope="row">Gevonden via</th>'
        "<td>Wat wij na uw verzoek om verwijdering wettelijk moeten bewaren</td>"
    )
    assert row in tables["2"] and "Gevonden via" not in tables["3"]
    matched = {r["record_id"]: r["matched"] for r in exported["records"]}
    assert matched == {"2": None, "3": {"kind": "email", "value": EMAIL}}
    jsonschema.Draft202012Validator(json_schema("http://localhost/export/schema/v2.json")).validate(
        exported
    )
