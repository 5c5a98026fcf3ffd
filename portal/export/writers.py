"""Streaming writers of the export: JSON, and a ZIP of CSV files with a README and index.html.

Both yield ``bytes`` chunks of about :data:`CHUNK_SIZE` and never hold the whole file: the JSON
is written one record at a time with orjson; the ZIP is written to a non-seekable sink (so
:mod:`zipfile` uses data descriptors) that is emptied after every chunk. A CSV file needs its
columns before its first row, so a first pass over the records collects the columns of each
record type; the records are re-iterable.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from .document import ExportDocument

#: Bytes per chunk handed to the web server.
CHUNK_SIZE = 64 * 1024
#: Dutch Excel's list separator is ``;`` (the comma is the decimal separator there).
CSV_DELIMITER = ";"
#: A cell starting with one of these may be taken as a formula by a spreadsheet (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The fixed columns before a record type's own fields.
FIXED_COLUMNS = (
    "record_source",
    "record_system",
    "record_type",
    "record_id",
    "parent_record_id",
    "link",
    "categories",
    "due_dates",
)
DATE_PREFIX = "date_"
#: What the fields of a record are called when they would collide with a fixed column.
FIELD_PREFIX = "field_"
README_NAME = "README.txt"
METADATA_NAME = "metadata.json"
INDEX_NAME = "index.html"


def neutralise(text: str) -> str:
    """Make a cell that a spreadsheet could run as a formula plain text (prefix ``'``)."""
    if text and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def cell(value: Any) -> str:
    """A field value as CSV cell text: nested values as JSON, vendor text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)  # our own rendering of a number, never a formula
    if isinstance(value, str):
        return neutralise(value)
    return neutralise(orjson.dumps(value).decode())


def json_chunks(document: ExportDocument) -> Iterator[bytes]:
    """The JSON export (format version 1), in chunks; records one per line."""
    head = orjson.dumps(document.header())
    buffer = bytearray(head[:-1])
    buffer += b',"records":['
    separator = b"\n"
    for entry in document.entries():
        buffer += separator
        buffer += orjson.dumps(entry)
        separator = b",\n"
        if len(buffer) >= CHUNK_SIZE:
            yield bytes(buffer)
            buffer.clear()
    buffer += b"\n]}\n"
    yield bytes(buffer)


@dataclass
class RecordType:
    """One CSV file: the records of one type from one source."""

    source: str
    record_type: str
    fields: dict[str, None] = field(default_factory=dict)
    dates: dict[str, None] = field(default_factory=dict)
    rows: int = 0

    @property
    def filename(self) -> str:
        return re.sub(r"[^a-z0-9_-]+", "-", f"{self.source}-{self.record_type}".lower()) + ".csv"

    def field_column(self, name: str) -> str:
        return FIELD_PREFIX + name if name in FIXED_COLUMNS else name

    @property
    def columns(self) -> list[str]:
        return [
            *FIXED_COLUMNS,
            *(self.field_column(name) for name in self.fields),
            *(DATE_PREFIX + key for key in self.dates),
        ]


def record_types(records: Iterable[Mapping[str, Any]]) -> list[RecordType]:
    """The first pass: every (source, record type) with its columns and number of rows."""
    found: dict[tuple[str, str], RecordType] = {}
    for record in records:
        key = (str(record["source"]), str(record["record_type"]))
        kind = found.get(key)
        if kind is None:
            kind = found[key] = RecordType(*key)
        kind.fields.update(dict.fromkeys(record["fields"]))
        kind.dates.update(dict.fromkeys(record.get("dates") or {}))
        kind.rows += 1
    return list(found.values())


class _Sink:
    """A write-only, non-seekable file: what :mod:`zipfile` writes, taken out chunk by chunk."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered here."""

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


def _row(document: ExportDocument, kind: RecordType, record: Mapping[str, Any]) -> list[str]:
    fields = record["fields"]
    dates = record.get("dates") or {}
    parent = record.get("parent") or {}
    groups = document.groups(record)
    due = [(key, document.due_date(key, dates)) for key, _names in groups]
    return [
        neutralise(str(record["source"])),
        neutralise(str(record.get("system") or "")),
        neutralise(str(record["record_type"])),
        neutralise(str(record["record_id"])),
        neutralise(str(parent.get("record_id") or "")),
        neutralise(str(record.get("link") or "")),
        ", ".join(key for key, _names in groups),
        ", ".join(f"{key}: {day}" for key, day in due if day),
        *(cell(fields.get(name)) for name in kind.fields),
        *(cell(dates.get(key)) for key in kind.dates),
    ]


def _zip_info(name: str, moment: datetime, timezone: str) -> zipfile.ZipInfo:
    local = moment.astimezone(ZoneInfo(timezone))
    info = zipfile.ZipInfo(name, date_time=local.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def zip_chunks(
    document: ExportDocument,
    *,
    readme: Callable[[list[RecordType]], Iterable[str]],
    index_html: Callable[[], Iterable[str]],
    timezone: str = "Europe/Amsterdam",
    compresslevel: int = 6,
) -> Iterator[bytes]:
    """The CSV export: a ZIP with README.txt, metadata.json, index.html and one CSV per type.

    :param readme: renders the README from the list of CSV files, as text pieces.
    :param index_html: renders index.html, as text pieces.
    """
    for chunk in _zip_pieces(document, readme, index_html, timezone, compresslevel):
        if chunk:
            yield chunk


def _zip_pieces(
    document: ExportDocument,
    readme: Callable[[list[RecordType]], Iterable[str]],
    index_html: Callable[[], Iterable[str]],
    timezone: str,
    compresslevel: int,
) -> Iterator[bytes]:
    kinds = record_types(document.records)
    sink = _Sink()
    with zipfile.ZipFile(
        sink,  # type: ignore[arg-type]
        "w",
        compression=zipfile.ZIP_DEFLATED,
        compresslevel=compresslevel,
    ) as zf:

        def member(name: str, encoding: str) -> io.TextIOWrapper:
            raw = zf.open(_zip_info(name, document.exported_at, timezone), "w")
            return io.TextIOWrapper(raw, encoding=encoding, newline="")

        with member(README_NAME, "utf-8-sig") as text:
            for piece in readme(kinds):
                text.write(piece.replace("\n", "\r\n"))
        yield sink.take()

        metadata = {
            **document.header(),
            "files": [
                {
                    "name": kind.filename,
                    "source": kind.source,
                    "record_type": kind.record_type,
                    "rows": kind.rows,
                    "columns": kind.columns,
                }
                for kind in kinds
            ],
        }
        with zf.open(_zip_info(METADATA_NAME, document.exported_at, timezone), "w") as raw:
            raw.write(orjson.dumps(metadata, option=orjson.OPT_INDENT_2))
        yield sink.take()

        for kind in kinds:
            with member(kind.filename, "utf-8-sig") as text:
                writer = csv.writer(text, delimiter=CSV_DELIMITER, lineterminator="\r\n")
                writer.writerow([neutralise(column) for column in kind.columns])
                for record in document.records:
                    if record["source"] != kind.source or record["record_type"] != kind.record_type:
                        continue
                    writer.writerow(_row(document, kind, record))
                    if sink.size >= CHUNK_SIZE:
                        yield sink.take()
            yield sink.take()

        with member(INDEX_NAME, "utf-8") as text:
            for piece in index_html():
                text.write(piece)
                if sink.size >= CHUNK_SIZE:
                    yield sink.take()
        yield sink.take()
    yield sink.take()
