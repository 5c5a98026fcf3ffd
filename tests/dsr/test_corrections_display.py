"""The current value a correction form shows, in the customer's words."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from portal.dsr.corrections import display

from .conftest import english, page

FORM = "/verzoeken/nieuw/correctie"


def test_a_yes_or_no_value_is_a_word_in_the_customers_language(app: Flask) -> None:
    with app.test_request_context():
        with force_locale("nl"):
            assert (display(True), display(False)) == ("ja", "nee")
        with force_locale("en"):
            assert (display(True), display(False)) == ("yes", "no")
        address = {"address_1": "Oudegracht 112", "city": "Utrecht", "country": ""}
        assert display(address) == "Oudegracht 112, Utrecht"


def test_codes_dates_and_extra_data_read_as_on_the_data_pages(app: Flask) -> None:
    """A language code, an ISO date, a system's code and WooCommerce's name and value pairs
    read in words, not as the system stores them."""
    extra = [
        {"key": "_mollie_payment_id", "value": "tr_XBop5MPXRC"},
        {"key": "is_vat_exempt", "value": "no"},
    ]
    with app.test_request_context(), force_locale("en"):
        assert display("nl-nl", "locale") == "Dutch (Netherlands)"
        assert display("2026-10-30", "datum") == "Oct 30, 2026"
        assert display("Email", "delivery_method") == "By e-mail"
        assert display(extra, "meta_data") == (
            "Payment number at Mollie: tr_XBop5MPXRC, Exempt from VAT: No"
        )
        # the firm's own files choose their own column names: no codes read into them
        assert display("nl", "locale", codes=False) == "nl"


def test_the_correction_form_shows_the_current_value_and_label_in_words(
    app: Flask, sanne: FlaskClient
) -> None:
    english(sanne)
    order = page(sanne, f"{FORM}?source=webshop&record_type=order&record_id=2110&field=meta_data")
    assert "Now: Payment number at Mollie: tr_XBop5MPXRC, Exempt from VAT: No" in order
    assert "_mollie_payment_id" not in order and "is_vat_exempt" not in order
    user = page(sanne, f"{FORM}?source=helpdesk&record_type=user&record_id=27&field=locale")
    assert "Now: Dutch (Netherlands)" in user and "Now: nl-nl" not in user
    address = page(
        sanne, f"{FORM}?source=webshop&record_type=order&record_id=2110&field=customer_ip_address"
    )
    assert ">New IP address<" in address  # an abbreviation keeps its capitals
    assert ">New first name<" in page(
        sanne, f"{FORM}?source=webshop&record_type=customer&record_id=101&field=first_name"
    )
