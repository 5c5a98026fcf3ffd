"""The firm's own files: CSV and XLSX files and SQL databases (a table or a query).

Each entry of the ``sources`` config list maps one file, sheet, table or query to records::

    [[connectors.files.sources]]
    name = "klanten"                     # label; record ids are "klanten:<id>"
    kind = "csv"                         # csv | xlsx | sql
    path = "/srv/data/klanten.csv"       # csv/xlsx; for sql: url = "postgresql+psycopg://…"
    # table = "customers"  or  query = "SELECT …"   (sql), sheet = "Blad1" (xlsx, optional)
    delimiter = ";"                      # csv, default ","
    record_type = "customer"
    id_column = "Klantnummer"            # optional; default: the row number (see below)
    identifiers = { email = "E-mail", phone = "Telefoon", customer_number = "Klantnummer" }
    categories = { Naam = "identity", Adres = "address" }   # column -> category
    default_category = "customer_account"
    dates = { "Aangemaakt" = "created", "Laatste bestelling" = "last_order" }
    timezone = "Europe/Amsterdam"        # for timestamps without an offset

Rows are read and compared *exactly* like vendor records: a row is returned only if one of its
identifier columns equals a verified identifier after normalisation. SQL sources are reached
through SQLAlchemy; the URL is a secret (it may hold a password) and never logged.

The connector never writes: corrections and erasure in the firm's own files are done by hand,
and :meth:`FilesConnector.describe_target` says which file, sheet or table, row and column.

A record's id is ``<name>:<value of id_column>``, kept by the portal for years (the changes it
owes, a record kept by law). When ``id_column`` is one of the source's ``identifiers`` (an
e-mail address, phone number or customer number) that value would be personal data in the
clear, so the id is a pseudonym instead: ``<name>:h-`` and the first
:data:`PSEUDONYM_LENGTH` hex digits of an HMAC-SHA256 of the source's name, the kind and the
value as the file holds it (:func:`pseudonymous_id`), under the connector's
``record_id_key``. The same row gets the same id at every gathering, and without the key
nobody can get the value back or test a guess. The portal derives the key
from its secret (:func:`portal.gathering.sources.source_config`); a connector built without
one refuses such a source (:class:`NotConfigured`) rather than put the value in the id.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import sqlalchemy as sa

from .base import (
    PATH_SEPARATOR,
    BaseConnector,
    Candidate,
    CategoryMap,
    ConfigField,
    Draft,
    Match,
    RecordRef,
    Run,
)
from .errors import (
    BadResponse,
    ConnectorError,
    NotConfigured,
    SourceTimeout,
    SourceUnavailable,
)
from .http import HttpClient, RetryPolicy
from .identity import IdentifierKind
from .registry import register

#: Hex digits of the HMAC a pseudonymous row id keeps (80 bits: two values of one file meeting
#: is out of reach).
PSEUDONYM_LENGTH = 20
#: A pseudonymous row id, the part after ``<name>:``.
PSEUDONYM = re.compile(rf"h-[0-9a-f]{{{PSEUDONYM_LENGTH}}}")
#: How :meth:`FilesConnector.describe_target` names the identifier a row is keyed on.
KIND_WORDS = {
    IdentifierKind.EMAIL: "e-mail address",
    IdentifierKind.PHONE: "phone number",
    IdentifierKind.CUSTOMER_NUMBER: "customer number",
    IdentifierKind.ADDRESSEE: "e-mail address",
}
DATE_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S")
SOURCE_KEYS = frozenset(
    {
        "name",
        "kind",
        "path",
        "url",
        "table",
        "query",
        "sheet",
        "delimiter",
        "encoding",
        "record_type",
        "id_column",
        "identifiers",
        "categories",
        "default_category",
        "dates",
        "timezone",
    }
)


@dataclass(frozen=True)
class FileSource:
    """One configured file, sheet, table or query (validated)."""

    name: str
    kind: str
    record_type: str
    identifiers: Mapping[IdentifierKind, str]
    id_column: str | None
    categories: Mapping[str, str]
    default_category: str
    dates: Mapping[str, str]
    timezone: ZoneInfo
    path: Path | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None
    sheet: str | None = None
    delimiter: str = ","
    encoding: str = "utf-8-sig"

    @property
    def id_kind(self) -> IdentifierKind | None:
        """The identifier kind of the ``id_column`` when it is an identifier column (its ids
        are pseudonyms), else ``None``. Of a column named for two kinds, the first by name."""
        kinds = sorted(k for k, column in self.identifiers.items() if column == self.id_column)
        return kinds[0] if self.id_column and kinds else None

    @property
    def keyed_row(self) -> str | None:
        """How staff find a row whose id is a pseudonym (of :attr:`id_kind`), without its
        value: ``row whose column 'E-mail' holds the customer's e-mail address``."""
        if self.id_kind is None:
            return None
        return (
            f"row whose column {self.id_column!r} holds the customer's {KIND_WORDS[self.id_kind]}"
        )


def pseudonymous_id(key: str, source: str, kind: IdentifierKind, value: object) -> str:
    """The pseudonymous row id of a row of ``source`` whose identifier column of ``kind``
    holds ``value``: ``h-`` and the start of an HMAC-SHA256 of the source, the kind and the
    value as the file holds it (trimmed), keyed with ``key``.

    Not normalised: two rows of one customer written otherwise (``Jan@X.nl`` and
    ``jan@x.nl``, ``0612345678`` and ``+31612345678``) are two records, and must keep two
    ids (records with one id are one record); and a clear id stored before the pseudonyms
    held the value as the file did, so it turns into the same pseudonym."""
    text = "" if value is None else str(value).strip()
    message = "\x00".join((source, kind.value, text)).encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
    return f"h-{digest[:PSEUDONYM_LENGTH]}"


def is_pseudonymous(record_id: str) -> bool:
    """Whether ``record_id`` (``<name>:<row id>``) is a pseudonymous row id."""
    return PSEUDONYM.fullmatch(record_id.partition(":")[2]) is not None


def parse_source(index: int, raw: object) -> FileSource:
    """Validate one ``sources`` entry.

    :raises NotConfigured: naming the entry and key, never a value.
    """
    where = f"files: sources[{index}]"
    if not isinstance(raw, Mapping):
        raise NotConfigured(f"{where} must be a table", vendor="files")
    unknown = sorted(set(raw) - SOURCE_KEYS)
    if unknown:
        raise NotConfigured(f"{where}: unknown keys {unknown}", vendor="files")

    def text(key: str, default: str | None = None) -> str | None:
        value = raw.get(key, default)
        if value is not None and (not isinstance(value, str) or not value):
            raise NotConfigured(f"{where}: {key!r} must be a non-empty string", vendor="files")
        return value

    def mapping(key: str) -> dict[str, str]:
        value = raw.get(key, {})
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise NotConfigured(f"{where}: {key!r} must map strings to strings", vendor="files")
        return dict(value)

    kind = text("kind")
    if kind not in ("csv", "xlsx", "sql"):
        raise NotConfigured(f"{where}: 'kind' must be csv, xlsx or sql", vendor="files")
    name, record_type = text("name"), text("record_type")
    if name is None or record_type is None:
        raise NotConfigured(f"{where}: 'name' and 'record_type' are required", vendor="files")
    try:
        identifiers = {IdentifierKind(k): v for k, v in mapping("identifiers").items()}
    except ValueError:
        raise NotConfigured(f"{where}: unknown identifier kind", vendor="files") from None
    if not identifiers:
        raise NotConfigured(f"{where}: 'identifiers' must name a column", vendor="files")
    try:
        timezone = ZoneInfo(text("timezone", "Europe/Amsterdam") or "Europe/Amsterdam")
    except (ZoneInfoNotFoundError, ValueError):
        raise NotConfigured(f"{where}: unknown 'timezone'", vendor="files") from None
    path = text("path")
    url, table, query = text("url"), text("table"), text("query")
    if kind in ("csv", "xlsx") and path is None:
        raise NotConfigured(f"{where}: 'path' is required for {kind}", vendor="files")
    if kind == "sql" and (url is None or (table is None) == (query is None)):
        raise NotConfigured(f"{where}: sql needs 'url' and one of 'table'/'query'", vendor="files")
    return FileSource(
        name=name,
        kind=kind,
        record_type=record_type,
        identifiers=MappingProxyType(identifiers),
        id_column=text("id_column"),
        categories=MappingProxyType(mapping("categories")),
        default_category=text("default_category", "customer_account") or "customer_account",
        dates=MappingProxyType(mapping("dates")),
        timezone=timezone,
        path=Path(path) if path else None,
        url=url,
        table=table,
        query=query,
        sheet=text("sheet"),
        delimiter=text("delimiter", ",") or ",",
        encoding=text("encoding", "utf-8-sig") or "utf-8-sig",
    )


@register
class FilesConnector(BaseConnector):
    """Reads the firm's own CSV/XLSX files and SQL tables, matching rows exactly."""

    name = "files"
    title = "Files"
    identifier_kinds = frozenset(
        {IdentifierKind.EMAIL, IdentifierKind.PHONE, IdentifierKind.CUSTOMER_NUMBER}
    )
    config_schema = (
        ConfigField(
            "sources",
            required=True,
            secret=True,  # SQL URLs may carry passwords
            description="List of file/table mappings (see the module docs).",
        ),
        ConfigField(
            "record_id_key",
            secret=True,
            description="Key of the pseudonymous ids of rows keyed on an identifier column; "
            "set by the portal.",
        ),
    )

    def make_http(
        self,
        *,
        transport: httpx.BaseTransport | None,
        retry: RetryPolicy | None,
        timeout: httpx.Timeout,
    ) -> HttpClient | None:
        """No HTTP: parse the sources and prepare one SQLAlchemy engine per database URL."""
        raw_sources = self.config["sources"]
        if not isinstance(raw_sources, Sequence) or isinstance(raw_sources, str) or not raw_sources:
            raise NotConfigured("files: 'sources' must be a non-empty list", vendor=self.name)
        self.sources = [parse_source(i, raw) for i, raw in enumerate(raw_sources)]
        key = self.config["record_id_key"]
        self._id_key: str | None = key if isinstance(key, str) and key else None
        for source in self.sources:
            if source.id_kind is not None and self._id_key is None:
                # never the clear value as the id: a record id is stored for years
                raise NotConfigured(
                    f"files: source {source.name!r} is keyed on an identifier column and "
                    "needs 'record_id_key'",
                    vendor=self.name,
                )
        defaults: dict[str, str] = {}
        for source in self.sources:
            defaults.setdefault(f"{source.record_type}.*", source.default_category)
            for column, category in source.categories.items():
                defaults[f"{source.record_type}.{column}"] = category
        self.categories = CategoryMap(
            defaults, self.config["categories"], self.config["category_keys"]
        )
        self._engines: dict[str, sa.Engine] = {}
        for source in self.sources:
            if source.url is not None and source.url not in self._engines:
                try:
                    self._engines[source.url] = sa.create_engine(source.url)
                except (sa.exc.ArgumentError, ImportError):
                    raise NotConfigured(
                        f"files: source {source.name!r} has an unusable database URL",
                        vendor=self.name,
                    ) from None
        # Identities are verified per call; identifier kinds depend on configured columns.
        return None

    def can_search(self, identity: Any) -> bool:
        """Whether a configured identifier column fits one of the identity's kinds."""
        kinds = {kind for source in self.sources for kind in source.identifiers}
        return bool(identity.kinds & kinds)

    def find(self, run: Run) -> Iterator[Candidate]:
        """Every row of every source, with its identifier columns; matched exactly later."""
        for source in self.sources:
            for number, row in enumerate(self._rows(source), start=1):
                if number % 500 == 0 and run.deadline.expired:
                    raise SourceTimeout("files: time budget used up", vendor=self.name)
                row_id = self._row_id(source, row, number)
                yield Candidate(
                    source.record_type,
                    f"{source.name}:{row_id}",
                    tuple((kind, row.get(column)) for kind, column in source.identifiers.items()),
                    {"__source__": source, "row": row},
                )

    def expand(self, run: Run, match: Match) -> Iterator[Draft]:
        """One record per matching row: its columns as fields, date columns as dates."""
        source = match.candidate.raw["__source__"]
        row: dict[str, Any] = match.candidate.raw["row"]
        fields = {column: _plain(value) for column, value in row.items()}
        dates = {
            key: _to_date(row.get(column), column, source.timezone)
            for column, key in source.dates.items()
        }
        yield Draft(match.candidate.record_type, match.candidate.record_id, fields, dates)

    def probe(self, run: Run) -> None:
        """Open each source and read its first row."""
        for source in self.sources:
            next(iter(self._rows(source)), None)

    def describe_target(self, ref: RecordRef, field_name: str | None = None) -> str:
        """Which file (sheet) or table, which row and which column hold the value.

        E.g. ``Files › klanten › CSV file /srv/data/klanten.csv › row where column
        'Ordernummer' = 1042 › column 'Telefoon'``. Database URLs are never shown, and a row
        keyed on an identifier column (its id a pseudonym) is described without its value, by
        where it is in the file now: ``data row 3 (counted from 1 below the header), whose column
        'Klantnummer' holds the customer's customer number``.
        """
        self._check_source(ref)
        name, _, row_id = ref.record_id.partition(":")
        source = next((s for s in self.sources if s.name == name), None)
        if source is None:
            return PATH_SEPARATOR.join([self.title, name, f"record {ref.record_id}"])
        parts = [self.title, source.name]
        if source.kind == "sql":
            parts.append(
                f"database table {source.table}" if source.table else "rows of the source's query"
            )
        else:
            parts.append(f"{source.kind.upper()} file {source.path}")
            if source.sheet:
                parts.append(f"sheet {source.sheet}")
        if source.keyed_row is not None:
            place = self._place(source, row_id) if PSEUDONYM.fullmatch(row_id) else None
            parts.append(
                source.keyed_row
                if place is None
                else f"{place}, " + source.keyed_row.removeprefix("row ")
            )
        elif source.id_column:
            parts.append(f"row where column {source.id_column!r} = {row_id}")
        else:
            place = self._place(source, row_id)
            parts.append(
                place
                if place is not None
                else f"data row {row_id} (counted from 1 below the header, empty rows not counted)"
            )
        if field_name is not None:
            parts.append(f"column {field_name!r}")
        return PATH_SEPARATOR.join(parts)

    def close(self) -> None:
        """Dispose of the database engines."""
        for engine in self._engines.values():
            engine.dispose()

    def _place(self, source: FileSource, row_id: str) -> str | None:
        """Where in its file the row whose id is ``row_id`` is now, as staff find it: the
        line of a CSV file (as a text editor counts them, the header line 1), the row of a
        sheet (as the spreadsheet numbers them). Empty lines and rows count, though a
        gathering skips them. Staff cannot look a pseudonym's value up (the customer may be
        long forgotten when a kept record's date comes). ``None`` for a table (its rows have
        no order), for a row that is not there, or a file that cannot be read now."""
        if source.kind == "sql":
            return None
        try:
            for number, (position, row) in enumerate(self._placed_rows(source), start=1):
                if str(self._row_id(source, row, number)) == row_id:
                    if source.kind == "csv":
                        return f"line {position} of the file (the header is line 1)"
                    return f"row {position} of the sheet"
        except ConnectorError:
            return None
        return None

    def _row_id(self, source: FileSource, row: Mapping[str, Any], number: int) -> object:
        """The id of a row within its source: the ``id_column``'s value, a pseudonym of it
        when that is an identifier column, or else the row number."""
        if not source.id_column:
            return number
        if source.id_kind is not None:
            assert self._id_key is not None  # refused in make_http otherwise
            return pseudonymous_id(
                self._id_key, source.name, source.id_kind, row.get(source.id_column)
            )
        return row.get(source.id_column)

    def _rows(self, source: FileSource) -> Iterator[dict[str, Any]]:
        for _position, row in self._placed_rows(source):
            yield row

    def _placed_rows(self, source: FileSource) -> Iterator[tuple[int | None, dict[str, Any]]]:
        """The rows of ``source`` that hold anything, each with where it is: its (last) line
        in a CSV file, its row in a sheet, ``None`` in a table."""
        try:
            if source.kind == "csv":
                yield from self._csv_rows(source)
            elif source.kind == "xlsx":
                yield from self._xlsx_rows(source)
            else:
                yield from self._sql_rows(source)
        except OSError:
            raise SourceUnavailable(
                f"files: source {source.name!r} cannot be read", vendor=self.name
            ) from None
        except (ValueError, UnicodeDecodeError):
            raise BadResponse(
                f"files: source {source.name!r} holds an unreadable value", vendor=self.name
            ) from None
        except sa.exc.SQLAlchemyError as error:
            raise SourceUnavailable(
                f"files: source {source.name!r}: database error {type(error).__name__}",
                vendor=self.name,
            ) from None

    def _csv_rows(self, source: FileSource) -> Iterator[tuple[int | None, dict[str, Any]]]:
        assert source.path is not None
        with source.path.open(newline="", encoding=source.encoding) as handle:
            reader = csv.DictReader(handle, delimiter=source.delimiter)
            self._check_columns(source, reader.fieldnames or [])
            for row in reader:
                yield reader.line_num, {k: v for k, v in row.items() if k is not None}

    def _xlsx_rows(self, source: FileSource) -> Iterator[tuple[int | None, dict[str, Any]]]:
        import openpyxl  # type: ignore[import-untyped]  # no stubs installed

        assert source.path is not None
        try:
            workbook = openpyxl.load_workbook(source.path, read_only=True, data_only=True)
        except (ValueError, KeyError, openpyxl.utils.exceptions.InvalidFileException):
            raise BadResponse(f"files: source {source.name!r} is not an XLSX file") from None
        try:
            if source.sheet is not None and source.sheet not in workbook.sheetnames:
                raise NotConfigured(f"files: source {source.name!r}: no such sheet")
            sheet = workbook[source.sheet] if source.sheet else workbook.worksheets[0]
            rows = sheet.iter_rows(values_only=True)
            header = [str(c) if c is not None else "" for c in next(rows, ())]
            self._check_columns(source, header)
            for position, values in enumerate(rows, start=2):  # the header is row 1
                if all(v is None for v in values):
                    continue
                yield position, {h: v for h, v in zip(header, values, strict=False) if h}
        finally:
            workbook.close()

    def _sql_rows(self, source: FileSource) -> Iterator[tuple[int | None, dict[str, Any]]]:
        assert source.url is not None
        engine = self._engines[source.url]
        if source.table is not None:
            # Raw column values (no type processors): a firm's table may hold dates that
            # SQLAlchemy's DATE type cannot read; _to_date handles the usual spellings.
            statement: sa.Executable = sa.select(sa.literal_column("*")).select_from(
                sa.table(source.table)
            )
        else:
            assert source.query is not None
            statement = sa.text(source.query)
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True).execute(statement)
            columns = list(result.keys())
            self._check_columns(source, columns)
            for row in result:
                yield None, dict(zip(columns, row, strict=True))

    def _check_columns(self, source: FileSource, columns: Sequence[str]) -> None:
        needed = set(source.identifiers.values()) | set(source.dates)
        if source.id_column:
            needed.add(source.id_column)
        if needed - set(columns):
            raise NotConfigured(
                f"files: source {source.name!r} lacks configured columns "
                f"{sorted(needed - set(columns))}",
                vendor=self.name,
            )


def _plain(value: Any) -> Any:
    """Cell values as JSON-friendly values."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip()
    return value


def _to_date(value: Any, column: str, zone: ZoneInfo) -> datetime | date | None:
    """A cell as an aware datetime or a date; naive timestamps are in the source's zone."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
            for fmt in DATE_FORMATS:
                try:
                    parsed = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if parsed is None:
            raise BadResponse(f"files: column {column!r} holds a value that is not a date")
        if len(text) <= 10:
            return parsed.date()
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    raise BadResponse(f"files: column {column!r} holds a value that is not a date")
