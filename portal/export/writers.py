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
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, islice
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
    "parent_record_source",
    "parent_record_type",
    "parent_record_id",
    "link",
    "categories",
    "due_dates",
)
DATE_PREFIX = "date_"
#: The parent of a record without one: its three parent cells stay empty.
_NO_PARENT: dict[str, Any] = {}
#: What the fields of a record are called when they would collide with a fixed column.
FIELD_PREFIX = "field_"
#: zlib's fastest level: several times faster than the default 6, a little larger.
COMPRESS_LEVEL = 1
README_NAME = "README.txt"
METADATA_NAME = "metadata.json"
INDEX_NAME = "index.html"


#: Characters a spreadsheet may skip before a formula (blanks and control characters) and
#: the full-width forms of the formula characters, which some read as the plain ones (OWASP).
_BLANKS = (
    "".join(chr(c) for c in range(32))
    + " \u00a0\u1680\u2000\u2001\u2002\u2003"
    + ("\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")
)
_FORMULAS = frozenset((*FORMULA_STARTS, "\uff1d", "\uff0b", "\uff0d", "\uff20"))
#: A cell starting with one of these is looked at closer (:func:`neutralise`).
_FORMULA_STARTS = _FORMULAS | frozenset(_BLANKS)
#: Record shapes (field and date names) remembered in the first pass over the records.
_SHAPES_REMEMBERED = 4096
#: Records serialised, or CSV rows written, per batch.
BATCH_SIZE = 512
#: Records in the first chunk of the JSON export (then as many as make about CHUNK_SIZE).
_RECORDS_PER_CHUNK = 64
_EMPTY = (b"",)


def neutralise(text: str) -> str:
    """Make a cell that a spreadsheet could run as a formula plain text (prefix ``'``): one
    that starts with ``= + - @``, a tab or a carriage return, also in their full-width forms
    or after blanks and control characters (``" =1+1"``)."""
    first = text[:1]
    if first not in _FORMULA_STARTS:
        return text
    if first in _FORMULAS or text.lstrip(_BLANKS)[:1] in _FORMULAS:
        return "'" + text
    return text


def cell(value: Any) -> str:
    """A field value as CSV cell text: nested values as JSON, vendor text neutralised."""
    if value.__class__ is str:
        return neutralise(value) if value[:1] in _FORMULA_STARTS else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)  # our own rendering of a number, never a formula
    if isinstance(value, str):
        return neutralise(value)
    return neutralise(orjson.dumps(value).decode())


def _text(value: Any) -> str:
    """A fixed column's cell: the value as text (empty when missing), neutralised."""
    return neutralise(str(value)) if value else ""


def json_chunks(document: ExportDocument) -> Iterator[bytes]:
    """The JSON export (format version 2), in chunks; records one per line.

    The records are prepared when gathered (:mod:`.prepare`): each is serialised by orjson as
    it is, about :data:`CHUNK_SIZE` bytes at a time.
    """
    head = orjson.dumps(document.header())
    lead = head[:-1] + b',"records":[\n'
    dumps = orjson.dumps
    records = document.records
    total = len(records)
    start = 0
    per_chunk = _RECORDS_PER_CHUNK
    while start < total:
        batch = records[start : start + per_chunk]
        start += per_chunk
        if lead:
            chunk = lead + b",\n".join(map(dumps, batch))
            lead = b""
        else:  # the separator in front, without copying the chunk once more
            chunk = b",\n".join(chain(_EMPTY, map(dumps, batch)))
        yield chunk
        # as many records as make about CHUNK_SIZE bytes (small pieces stay in the CPU's cache)
        per_chunk = min(max(per_chunk * CHUNK_SIZE // len(chunk), 16), 1024)
    yield lead + b"\n]}\n" if lead else b"\n]}\n"


@dataclass
class RecordType:
    """One CSV file: the records of one type from one source."""

    source: str
    record_type: str
    fields: dict[str, None] = field(default_factory=dict)
    dates: dict[str, None] = field(default_factory=dict)
    rows: int = 0
    #: Where its records are in the document's records (a few bytes per record).
    positions: array[int] = field(default_factory=lambda: array("L"))
    #: Its file's name in the ZIP, when another type's would be the same (see :attr:`filename`).
    unique_filename: str | None = None

    @property
    def plain_filename(self) -> str:
        """``<source>-<record type>.csv`` in lower case, other characters as ``-``."""
        return re.sub(r"[^a-z0-9_-]+", "-", f"{self.source}-{self.record_type}".lower()) + ".csv"

    @property
    def filename(self) -> str:
        return self.unique_filename or self.plain_filename

    def field_column(self, name: str) -> str:
        return FIELD_PREFIX + name if name in FIXED_COLUMNS else name

    @property
    def columns(self) -> list[str]:
        """The header: the fixed columns, the fields, the dates; each name once (a field named
        like a date column, ``date_created``, or like a prefixed field gets ``_2``)."""
        return unique_names(
            [
                *FIXED_COLUMNS,
                *(self.field_column(name) for name in self.fields),
                *(DATE_PREFIX + key for key in self.dates),
            ]
        )


def unique_names(names: list[str], suffix: str = "_{n}") -> list[str]:
    """``names`` with every repeat given ``suffix`` (``_2``, ``_3``...) to a name not used."""
    given = set(names)
    taken: set[str] = set()
    unique = []
    for name in names:
        candidate, n = name, 2
        while candidate in taken or (candidate != name and candidate in given):
            candidate, n = name + suffix.format(n=n), n + 1
        taken.add(candidate)
        unique.append(candidate)
    return unique


def record_types(records: Iterable[Mapping[str, Any]]) -> list[RecordType]:
    """The first pass: every (source, record type) with its columns, rows and positions."""
    found: dict[tuple[str, str], RecordType] = {}
    shapes: set[tuple[int, tuple[str, ...], tuple[str, ...]]] = set()
    for position, record in enumerate(records):
        key = (str(record["source"]), str(record["record_type"]))
        kind = found.get(key)
        if kind is None:
            kind = found[key] = RecordType(*key)
        fields = tuple(record["fields"])
        dates = tuple(record.get("dates") or ())
        shape = (id(kind), fields, dates)
        if shape not in shapes:  # most records of a type have the same fields
            if len(shapes) >= _SHAPES_REMEMBERED:
                shapes.clear()
            shapes.add(shape)
            kind.fields.update(dict.fromkeys(fields))
            kind.dates.update(dict.fromkeys(dates))
        kind.rows += 1
        kind.positions.append(position)
    kinds = list(found.values())
    # record types that differ only in case or punctuation ("Order", "order") get a file each
    plain = [kind.plain_filename.removesuffix(".csv") for kind in kinds]
    for kind, stem, name in zip(kinds, plain, unique_names(plain, "-{n}"), strict=True):
        if name != stem:
            kind.unique_filename = name + ".csv"
    return kinds


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


def csv_rows(document: ExportDocument, kind: RecordType) -> Iterator[list[str]]:
    """The rows of ``kind``'s CSV file (without the header), one per record.

    A cell is only handed to :func:`cell` when it is no text or its first character could
    start a formula; the ``categories`` and ``due_dates`` cells are remembered per record's
    due dates.
    """
    records = document.records
    starts = _FORMULA_STARTS
    source = neutralise(kind.source)
    record_type = neutralise(kind.record_type)
    names = list(kind.fields)
    date_keys = list(kind.dates)
    #: Per tuple of (category, due date): the categories cell and the due dates cell.
    due_cells: dict[tuple[tuple[str, str | None], ...], tuple[str, str]] = {}
    for record in map(records.__getitem__, kind.positions):
        fields = record["fields"]
        dates = record["dates"]
        dues = tuple(record["due_dates"].items())
        cells = due_cells.get(dues)
        if cells is None:
            if len(due_cells) >= _SHAPES_REMEMBERED:
                due_cells.clear()
            cells = due_cells[dues] = (
                ", ".join([key for key, _day in dues]),
                ", ".join([f"{key}: {day}" for key, day in dues if day]),
            )
        system = record["system"]
        record_id = record["record_id"]
        parent = record["parent"] or _NO_PARENT
        parent_source = parent.get("source")
        parent_type = parent.get("record_type")
        parent_id = parent.get("record_id")
        link = record["link"]
        yield [
            source,
            system if system.__class__ is str and system[:1] not in starts else _text(system),
            record_type,
            record_id if record_id[:1] not in starts else _text(record_id),
            parent_source
            if parent_source.__class__ is str and parent_source[:1] not in starts
            else _text(parent_source),
            parent_type
            if parent_type.__class__ is str and parent_type[:1] not in starts
            else _text(parent_type),
            parent_id
            if parent_id.__class__ is str and parent_id[:1] not in starts
            else _text(parent_id),
            link if link.__class__ is str and link[:1] not in starts else _text(link),
            *cells,
            *[
                value if value.__class__ is str and value[:1] not in starts else cell(value)
                for value in chain(map(fields.get, names), map(dates.get, date_keys))
            ],
        ]


def _zip_info(name: str, moment: datetime, timezone: str, compresslevel: int) -> zipfile.ZipInfo:
    local = moment.astimezone(ZoneInfo(timezone))
    info = zipfile.ZipInfo(name, date_time=local.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = compresslevel  # noqa: SLF001 - ZipInfo.compress_level from 3.13
    info.external_attr = 0o644 << 16
    return info


def zip_chunks(
    document: ExportDocument,
    *,
    readme: Callable[[list[RecordType]], Iterable[str]],
    index_html: Callable[[], Iterable[str]],
    timezone: str = "Europe/Amsterdam",
    compresslevel: int = COMPRESS_LEVEL,
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

        def entry(name: str) -> zipfile.ZipInfo:
            return _zip_info(name, document.exported_at, timezone, compresslevel)

        def member(name: str, encoding: str) -> io.TextIOWrapper:
            # UTF-8 with BOM written as UTF-8 after a BOM: the same bytes, but encoded by the
            # text layer's own fast path rather than a Python codec called on every write.
            bom = encoding == "utf-8-sig"
            text = io.TextIOWrapper(
                zf.open(entry(name), "w"), encoding="utf-8" if bom else encoding, newline=""
            )
            if bom:
                text.write("\ufeff")
            return text

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
        with zf.open(entry(METADATA_NAME), "w") as raw:
            raw.write(orjson.dumps(metadata, option=orjson.OPT_INDENT_2))
        yield sink.take()

        for kind in kinds:
            with member(kind.filename, "utf-8-sig") as text:
                writer = csv.writer(text, delimiter=CSV_DELIMITER, lineterminator="\r\n")
                writer.writerow([neutralise(column) for column in kind.columns])
                rows = csv_rows(document, kind)
                while batch := list(islice(rows, BATCH_SIZE)):
                    writer.writerows(batch)
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
