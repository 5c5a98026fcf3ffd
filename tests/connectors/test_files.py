"""The files connector on CSV, XLSX and SQLite files the tests create."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import orjson
import pytest
import sqlalchemy as sa

from connectors import ErrorKind, Identity, NotConfigured, SourceStatus, create, gather
from connectors.files import is_pseudonymous, pseudonymous_id
from connectors.identity import IdentifierKind

#: The key of pseudonymous row ids (the portal derives one per source from its secret).
KEY = "test-record-id-key"

ROWS = [
    # near-identical people at one company address, one sharing a phone number
    (
        "1042",
        "Sanne de Vries",
        "sanne.devries@example.nl",
        "+31 6 12345678",
        "Oudegracht 112",
        "2024-03-14",
    ),
    (
        "1057",
        "Sanne de Vries",
        "sanne.de.vries@example.nl",
        "06-98765432",
        "Oudegracht 112",
        "2024-06-30",
    ),
    (
        "1058",
        "S. de Vries",
        "sanne.devries+shop@example.nl",
        "06-12345678",
        "Oudegracht 112",
        "01-07-2024",
    ),
    ("1060", "Daan Jansen", "", "06-55555555", "Oudegracht 112", "2024-09-01 10:15"),
]
HEADER = ["Klantnummer", "Naam", "E-mail", "Telefoon", "Adres", "Aangemaakt"]


def source(kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "klanten",
        "kind": kind,
        "record_type": "customer",
        "id_column": "Klantnummer",
        "identifiers": {"email": "E-mail", "phone": "Telefoon", "customer_number": "Klantnummer"},
        "categories": {
            "Naam": "identity",
            "E-mail": "contact",
            "Telefoon": "contact",
            "Adres": "address",
        },
        "dates": {"Aangemaakt": "created"},
        **extra,
    }


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "klanten.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    return path


@pytest.fixture
def xlsx_file(tmp_path: Path) -> Path:
    path = tmp_path / "klanten.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Klanten"
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append([*row[:5], datetime(2024, 3, 14, 9, 12) if row[0] == "1042" else row[5]])
    workbook.save(path)
    workbook.close()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE klanten (nr TEXT, naam TEXT, email TEXT, telefoon TEXT,"
                " adres TEXT, aangemaakt DATE)"
            )
        )
        for row in ROWS:
            conn.execute(
                sa.text("INSERT INTO klanten VALUES (:a, :b, :c, :d, :e, :f)"),
                dict(zip("abcdef", row, strict=True)),
            )
    engine.dispose()
    return url


def files(*entries: dict[str, Any], key: str | None = KEY) -> dict[str, Any]:
    """The connector's config for ``entries``, with the key of pseudonymous row ids."""
    return {"sources": list(entries), **({"record_id_key": key} if key else {})}


def row(number: str) -> str:
    """The id of the row with customer number ``number`` (the id column is an identifier)."""
    return f"klanten:{pseudonymous_id(KEY, 'klanten', IdentifierKind.CUSTOMER_NUMBER, number)}"


def ids(identity: Identity, config: dict[str, Any]) -> list[str]:
    with create("files", config) as connector:
        return [r.record_id for r in connector.fetch(identity).records]


def test_csv_matches_exactly(csv_file: Path) -> None:
    config = files(source("csv", path=str(csv_file), delimiter=";"))
    assert ids(Identity.of(emails=["Sanne.DeVries@example.nl"]), config) == [row("1042")]
    assert ids(Identity.of(customer_numbers=["1057 "]), config) == [row("1057")]
    assert ids(Identity.of(emails=["nobody@example.nl"]), config) == []


def test_csv_shared_phone_only_reaches_rows_without_another_email(csv_file: Path) -> None:
    config = files(source("csv", path=str(csv_file), delimiter=";"))
    # Rows that name an e-mail address the customer did not verify are not reached by phone:
    # 1058 shares Sanne's number but is someone else (a plus-tagged address).
    assert ids(Identity.of(phones=["+31612345678"]), config) == []
    both = Identity.of(emails=["sanne.devries@example.nl"], phones=["+31612345678"])
    assert ids(both, config) == [row("1042")]
    # Daan's row has no e-mail: his verified phone finds it.
    assert ids(Identity.of(phones=["0655555555"]), config) == [row("1060")]


def test_csv_record_shape(csv_file: Path) -> None:
    config = files(source("csv", path=str(csv_file), delimiter=";"))
    with create("files", config) as connector:
        record = connector.fetch(Identity.of(emails=["sanne.devries@example.nl"])).records[0]
    assert record.fields["Adres"] == "Oudegracht 112"
    assert record.categories == {
        "Klantnummer": "customer_account",
        "Naam": "identity",
        "E-mail": "contact",
        "Telefoon": "contact",
        "Adres": "address",
        "Aangemaakt": "customer_account",
    }
    assert record.dates == {"created": date(2024, 3, 14)}
    assert record.system == "files" and record.record_type == "customer"


def test_xlsx_with_datetime_cells(xlsx_file: Path) -> None:
    config = files(source("xlsx", path=str(xlsx_file), sheet="Klanten"))
    with create("files", config) as connector:
        records = connector.fetch(Identity.of(emails=["sanne.devries@example.nl"])).records
    assert [r.record_id for r in records] == [row("1042")]
    created = records[0].dates["created"]
    assert isinstance(created, datetime) and created.tzinfo is not None
    assert created.utcoffset() is not None and created.hour == 9


def test_sqlite_table_and_query(sqlite_url: str) -> None:
    base = source(
        "sql",
        url=sqlite_url,
        table="klanten",
        id_column="nr",
        identifiers={"email": "email", "phone": "telefoon", "customer_number": "nr"},
        dates={"aangemaakt": "created"},
        categories={},
    )
    identity = Identity.of(emails=["sanne.devries@example.nl"])
    assert ids(identity, files(base)) == [row("1042")]
    query = {**base, "query": "SELECT * FROM klanten WHERE adres LIKE 'Oude%'"}
    del query["table"]
    assert ids(identity, files(query)) == [row("1042")]


def test_missing_file_fails_as_down_and_missing_column_as_not_configured(
    tmp_path: Path, csv_file: Path
) -> None:
    gone = create("files", files(source("csv", path=str(tmp_path / "gone.csv"))))
    wrong = create("files", files(source("csv", path=str(csv_file))))  # wrong delimiter
    with gone, wrong:
        result = gather([gone, wrong], Identity.of(emails=["sanne.devries@example.nl"]))
    # Both instances are called "files"; the later result wins in the mapping.
    assert result.sources["files"].status == SourceStatus.FAILED
    with create("files", files(source("csv", path=str(tmp_path / "gone.csv")))) as c:
        assert c.check().error_kind == ErrorKind.DOWN
    with create("files", files(source("csv", path=str(csv_file)))) as c:
        assert c.check().error_kind == ErrorKind.NOT_CONFIGURED


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "pdf"},
        {"identifiers": {}},
        {"identifiers": {"iban": "IBAN"}},
        {"path": None},
        {"surprise": 1},
    ],
)
def test_invalid_source_config(csv_file: Path, bad: dict[str, Any]) -> None:
    entry = {**source("csv", path=str(csv_file)), **bad}
    entry = {k: v for k, v in entry.items() if v is not None}
    with pytest.raises(NotConfigured):
        create("files", files(entry))


def test_values_that_are_no_json_are_kept_as_text(tmp_path: Path) -> None:
    """A BLOB, a NUMERIC and an hours cell ([h]:mm) are the customer's data too: they are
    shown and exported as text instead of breaking the snapshot (orjson refuses them)."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = sa.create_engine(url)
    table = sa.Table(
        "klanten",
        sa.MetaData(),
        sa.Column("nr", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("foto", sa.LargeBinary),
        sa.Column("saldo", sa.Numeric(10, 2)),
        sa.Column("notitie", sa.Text),
    )
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            table.insert(),
            [
                {
                    "nr": "1042",
                    "email": "sanne.devries@example.nl",
                    "foto": b"\x89PNG\r\n\x1a\n",
                    "saldo": 12.5,
                    "notitie": "Belt terug",
                }
            ],
        )
    engine.dispose()
    sql = source(
        "sql",
        url=url,
        table="klanten",
        id_column="nr",
        identifiers={"email": "email"},
        categories={},
        dates={},
    )
    sheet_path = tmp_path / "uren.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Uren"
    sheet.append(["Nr", "E-mail", "Gewerkt"])
    sheet.append(["7", "sanne.devries@example.nl", timedelta(hours=27, minutes=30)])
    sheet["C2"].number_format = "[h]:mm"
    workbook.save(sheet_path)
    workbook.close()
    hours = {
        "name": "uren",
        "kind": "xlsx",
        "path": str(sheet_path),
        "sheet": "Uren",
        "record_type": "werkbon",
        "id_column": "Nr",
        "identifiers": {"email": "E-mail"},
        "categories": {},
    }
    with create("files", files(sql, hours)) as connector:
        result = connector.fetch(Identity.of(emails=["sanne.devries@example.nl"]))
    by_id = {r.record_id: r for r in result.records}
    assert by_id["klanten:1042"].fields["foto"] == "base64:iVBORw0KGgo="
    assert by_id["klanten:1042"].fields["saldo"] == 12.5  # SQLite hands NUMERIC over as a float
    assert by_id["uren:7"].fields["Gewerkt"] == "27:30:00"
    orjson.dumps([r.to_dict() for r in result.records])  # what a snapshot stores


# -- rows keyed on an identifier column --------------------------------------------------------


def _keyed_ids(csv_file: Path, identity: Identity, key: str = KEY, **extra: Any) -> list[str]:
    return ids(identity, files(source("csv", path=str(csv_file), delimiter=";", **extra), key=key))


def test_a_row_keyed_on_an_identifier_gets_a_pseudonym_not_the_value(csv_file: Path) -> None:
    """A record id is kept by the portal for years (the changes it owes, a record kept by
    law): a customer number, e-mail address or phone number is never in it."""
    sanne = Identity.of(emails=["sanne.devries@example.nl"])
    for column in ("Klantnummer", "E-mail", "Telefoon"):
        [record_id] = _keyed_ids(csv_file, sanne, id_column=column)
        name, _, row_id = record_id.partition(":")
        assert name == "klanten" and row_id.startswith("h-") and len(row_id) == 22
        assert is_pseudonymous(record_id)
        for value in ("1042", "sanne", "12345678"):
            assert value not in record_id
    # an id column that is not an identifier keeps its readable id (an order number alone
    # is no personal data)
    assert _keyed_ids(csv_file, sanne, id_column="Adres") == ["klanten:Oudegracht 112"]
    assert not is_pseudonymous("klanten:Oudegracht 112")


def test_pseudonyms_are_stable_and_keyed(csv_file: Path, tmp_path: Path) -> None:
    sanne = Identity.of(emails=["sanne.devries@example.nl"])
    first = _keyed_ids(csv_file, sanne, id_column="E-mail")
    assert _keyed_ids(csv_file, sanne, id_column="E-mail") == first  # every gathering
    # spaces around the value do not count; written otherwise, it is another row's id: two
    # rows of hers spelled differently are two records, never one dropped as a duplicate
    respelled = tmp_path / "anders.csv"
    text = csv_file.read_text()
    respelled.write_text(text.replace("sanne.devries@example.nl", " sanne.devries@example.nl "))
    assert _keyed_ids(respelled, sanne, id_column="E-mail") == first
    respelled.write_text(text.replace("sanne.devries@example.nl", "Sanne.DeVries@Example.NL"))
    [other] = _keyed_ids(respelled, sanne, id_column="E-mail")
    assert other != first[0] and is_pseudonymous(other)
    [line] = [line for line in text.splitlines() if "sanne.devries@example.nl" in line]
    both = tmp_path / "twee.csv"
    both.write_text(text + line.replace("sanne.devries@example.nl", "Sanne.DeVries@Example.NL"))
    assert sorted(_keyed_ids(both, sanne, id_column="E-mail")) == sorted([first[0], other])
    # another key, another id: without the key nobody can test a guess
    assert _keyed_ids(csv_file, sanne, key="another-key", id_column="E-mail") != first
    # the same value in another kind of column is another id
    assert first != _keyed_ids(csv_file, sanne, id_column="Klantnummer")


def test_without_a_key_a_source_keyed_on_an_identifier_is_refused(csv_file: Path) -> None:
    """Failing safe: the connector outside the portal is never given the clear value as id."""
    with pytest.raises(NotConfigured) as info:
        create("files", files(source("csv", path=str(csv_file), delimiter=";"), key=None))
    assert "record_id_key" in str(info.value)
    readable = source("csv", path=str(csv_file), delimiter=";", id_column="Adres")
    with create("files", files(readable, key=None)) as connector:
        assert connector.fetch(Identity.of(customer_numbers=["1042"])).records


def test_describe_target_never_names_the_identifier(csv_file: Path) -> None:
    sanne = Identity.of(emails=["sanne.devries@example.nl"])
    words = {
        "Klantnummer": "customer number",
        "E-mail": "e-mail address",
        "Telefoon": "phone number",
    }
    for column, kind in words.items():
        config = files(source("csv", path=str(csv_file), delimiter=";", id_column=column))
        with create("files", config) as connector:
            [record] = connector.fetch(sanne).records
            text = connector.describe_target(record.ref, "Naam")
        # where the row is now: staff cannot look the value up (the customer may be forgotten
        # by the time a kept record's date comes)
        assert (
            f"line 2 of the file (the header is line 1), whose column {column!r} holds the "
            f"customer's {kind}"
        ) in text
        assert "1042" not in text and "sanne" not in text
        assert text.endswith("column 'Naam'")


def test_describe_target_counts_lines_and_rows_as_the_file_shows_them(
    csv_file: Path, xlsx_file: Path
) -> None:
    """Staff find a pseudonymous row only by where it is: empty lines and rows above it count
    as a text editor and a spreadsheet count them, though a gathering skips them (else the
    step would point at someone else's row)."""
    sanne = Identity.of(emails=["sanne.devries@example.nl"])
    lines = csv_file.read_text().splitlines()
    csv_file.write_text("\n".join([lines[0], "", "", *lines[1:]]) + "\n")
    workbook = openpyxl.load_workbook(xlsx_file)
    workbook.active.insert_rows(2, amount=2)
    workbook.save(xlsx_file)
    found = {}
    for kind, path in (("csv", csv_file), ("xlsx", xlsx_file)):
        extra = {"delimiter": ";"} if kind == "csv" else {}
        config = files(source(kind, path=str(path), id_column="E-mail", **extra))
        with create("files", config) as connector:
            [record] = connector.fetch(sanne).records
            found[kind] = connector.describe_target(record.ref)
    assert "› line 4 of the file (the header is line 1), whose column 'E-mail'" in found["csv"]
    assert "› row 4 of the sheet, whose column 'E-mail'" in found["xlsx"]
    # rows without an id column: their id counts the rows that hold anything; staff are told
    # where that row is now
    unkeyed = source("csv", path=str(csv_file), delimiter=";")
    del unkeyed["id_column"]
    with create("files", files(unkeyed)) as connector:
        [record] = connector.fetch(sanne).records
        assert record.ref.record_id == "klanten:1"
        text = connector.describe_target(record.ref)
    assert text.endswith("› line 4 of the file (the header is line 1)")


def test_describe_target_of_a_row_no_longer_there_or_in_a_table(
    csv_file: Path, sqlite_url: str
) -> None:
    config = files(source("csv", path=str(csv_file), delimiter=";"))
    with create("files", config) as connector:
        [record] = connector.fetch(Identity.of(customer_numbers=["1057"])).records
        csv_file.write_text(csv_file.read_text().replace("1057", "2000"))
        text = connector.describe_target(record.ref)
    assert text.endswith("› row whose column 'Klantnummer' holds the customer's customer number")
    table = source(
        "sql", url=sqlite_url, table="klanten", id_column="nr", dates={}, categories={},
        identifiers={"email": "email", "customer_number": "nr"},
    )  # fmt: skip
    with create("files", files(table)) as connector:
        [record] = connector.fetch(Identity.of(customer_numbers=["1057"])).records
        text = connector.describe_target(record.ref)
    assert text == (
        "Files › klanten › database table klanten › "
        "row whose column 'nr' holds the customer's customer number"
    )
