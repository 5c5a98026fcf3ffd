"""Values that are dates or moments are shown as the customer reads them, not as ISO text."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale

from portal.customer.services import display_value
from portal.customer.texts import readable_moment
from portal.export.offline import display


@pytest.mark.parametrize(
    ("value", "dutch", "english"),
    [
        ("2019-05-17", "17-05-2019", "May 17, 2019"),
        # a moment in UTC is shown in the firm's time zone (Amsterdam, winter: UTC+1)
        ("2025-01-06T10:03:11.890Z", "6 jan 2025, 11:03:11", "Jan 6, 2025, 11:03:11\u202fAM"),
        ("2024-06-30T22:15:00+00:00", "1 jul 2024, 00:15:00", "Jul 1, 2024, 12:15:00\u202fAM"),
        # without an offset it is the system's own time: shown as it is
        ("2024-03-14 09:12", "14-03-2024, 09:12", "Mar 14, 2024, 09:12"),
        ("2024-12-31T23:30:00", "31-12-2024, 23:30", "Dec 31, 2024, 23:30"),  # not next year
    ],
)
def test_iso_dates_and_moments_in_words(app: Flask, value: str, dutch: str, english: str) -> None:
    with app.test_request_context():
        with force_locale("nl"):
            assert readable_moment(value) == dutch
            assert display_value(value) == dutch
            assert display({"paid": value}) == f"paid: {dutch}"
        with force_locale("en"):
            assert readable_moment(value) == english


@pytest.mark.parametrize(
    "value", ["2019-000044", "2019-05-17 en later", "20250101..20250131", "9999-99-99", "Sanne"]
)
def test_other_text_stays_as_it_is(app: Flask, value: str) -> None:
    with app.test_request_context():
        assert readable_moment(value) is None
        assert display_value(value) == value


@pytest.mark.parametrize(
    ("field", "code", "dutch", "english"),
    [
        ("status", "completed", "Afgerond", "Completed"),
        ("state", "late", "Te laat", "Overdue"),
        ("priority", "2 normal", "Normaal", "Normal"),
        ("sender", "Agent", "Onze medewerkers", "Our staff"),
        ("method", "directdebit", "Automatische incasso", "Direct debit"),
        ("sequenceType", "oneoff", "Eenmalige betaling", "One-off payment"),
        ("content_type", "text/html", "Opgemaakte tekst (HTML)", "Formatted text (HTML)"),
    ],
)
def test_a_systems_codes_are_shown_in_words(
    app: Flask, field: str, code: str, dutch: str, english: str
) -> None:
    with app.test_request_context():
        with force_locale("nl"):
            assert display_value(code, field) == dutch
            assert display(code, field) == dutch  # index.html
        with force_locale("en"):
            assert display_value(code, field) == english
        # the same text in another field is not a code: shown as it is
        assert display_value(code, "note") == code


def test_the_overview_and_the_csv_files(app: Flask, sanne: Any) -> None:
    """The pages say an order is completed in words; the CSV keeps the system's code."""
    import csv
    import io
    import re
    import zipfile

    from ..export.conftest import download

    page = sanne.get("/mijn-gegevens/orders").get_data(as_text=True)
    assert re.search(r"<dt>Status</dt>\s*<dd><span class=\"text\">Afgerond</span>", page)
    assert ">completed<" not in page
    archive = zipfile.ZipFile(io.BytesIO(download(sanne, "csv").data))
    rows = csv.DictReader(
        io.StringIO(archive.read("webshop-order.csv").decode("utf-8-sig")), delimiter=";"
    )
    assert "completed" in {row["status"] for row in rows}


def test_the_firms_own_files_name_their_columns_themselves(app: Flask) -> None:
    """A job sheet's "type" column holding "phone" (the device) is not a phone call: the
    codes are read only in the built-in connectors' records."""
    from portal.customer.texts import speaks_codes

    with app.test_request_context():
        with force_locale("nl"):
            assert display_value("phone", "type", codes=False) == "phone"
            assert display("phone", "type", codes=False) == "phone"
            assert display_value("phone", "type") == "Telefoongesprek"
    assert not speaks_codes({"system": "files"}) and speaks_codes({"system": "zammad"})


@pytest.mark.parametrize(
    ("field", "value", "dutch", "english"),
    [
        ("total", "306.00", "306,00", "306.00"),
        ("total_price_incl_tax", "1234.5", "1.234,50", "1,234.50"),
        ("amount", "215.99 EUR", "215,99 EUR", "215.99 EUR"),  # Mollie's amount and currency
        ("discount_total", "-5.95", "-5,95", "-5.95"),
        ("total", "gratis", "gratis", "gratis"),  # no amount: as it is
    ],
)
def test_amounts_are_written_as_the_customer_reads_them(
    app: Flask, field: str, value: str, dutch: str, english: str
) -> None:
    with app.test_request_context():
        with force_locale("nl"):
            assert display_value(value, field) == dutch
            assert display(value, field) == dutch
            assert display_value(value, field, codes=False) == value  # the firm's own file
        with force_locale("en"):
            assert display_value(value, field) == english


def test_amounts_inside_lines_but_not_a_quantity(app: Flask) -> None:
    order_line = {"name": "Espressomachine", "quantity": 1, "total": "99.0"}
    with app.test_request_context(), force_locale("nl"):
        assert display_value([order_line], "line_items") == [
            {"Naam": "Espressomachine", "Aantal": 1, "Totaal": "99,00"}
        ]
        assert display_value({"amount": "2.5"}, "lines") == {"Aantal": "2.5"}


@pytest.mark.parametrize(
    ("value", "english"),
    [
        ("1 month", "Every month"),
        ("3 months", "Every 3 months"),
        ("14 days", "Every 14 days"),
        ("1 day", "Every day"),
        ("2 weeks", "Every 2 weeks"),
    ],
)
def test_how_often_a_subscription_is_paid_is_said_in_words(
    app: Flask, value: str, english: str
) -> None:
    """Mollie's interval (``1 month``) in words, on the pages and in index.html; the CSV
    files keep Mollie's text."""
    with app.test_request_context():
        with force_locale("en"):
            assert display_value(value, "interval") == english
            assert display(value, "interval") == english
        assert display_value("1 fortnight", "interval") == "1 fortnight"  # not a known unit


def test_a_banks_reason_for_a_chargeback_is_said_in_words_with_its_code(app: Flask) -> None:
    with app.test_request_context():
        with force_locale("en"):
            words = "The account holder asked the bank to pay it back (MD06)"
            assert display_value("MD06", "bank_reason_code") == words
            assert display_value("AM04", "bank_reason_code") == (
                "Not enough money in the account (AM04)"
            )
            assert display_value("XX99", "bank_reason_code") == "XX99"  # an unknown code
            assert display_value("MD06", "description") == "MD06"
            # a failed direct debit's reason inside a payment's details reads the same
            details = display_value({"bankReasonCode": "AM04", "bankReason": "x"}, "details")
            assert "Not enough money in the account (AM04)" in details.values()
            assert display_value({"reference": "MD06"}, "details") == {"Reference": "MD06"}


def test_her_subscriptions_and_chargeback_read_in_words(sanne: Any) -> None:
    """The payment details page says how often she pays and why her bank reversed a payment,
    not Mollie's codes (and the CSV keeps them)."""
    import re

    sanne.set_cookie("portal_lang", "en")
    pages = []
    number = 1
    while True:
        pages.append(sanne.get(f"/mijn-gegevens/payment?pagina={number}").get_data(as_text=True))
        if f"pagina={number + 1}" not in pages[-1]:
            break
        number += 1
    page = "".join(pages)
    assert re.search(r"<dt>How often</dt>\s*<dd><span class=\"text\">Every month</span>", page)
    assert ">1 month<" not in page
    assert "The account holder asked the bank to pay it back (MD06)" in page
    assert ">MD06<" not in page
