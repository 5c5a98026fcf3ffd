"""The current value a correction form shows, in the customer's words."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale

from portal.dsr.corrections import display


def test_a_yes_or_no_value_is_a_word_in_the_customers_language(app: Flask) -> None:
    with app.test_request_context():
        with force_locale("nl"):
            assert (display(True), display(False)) == ("ja", "nee")
        with force_locale("en"):
            assert (display(True), display(False)) == ("yes", "no")
        address = {"address_1": "Oudegracht 112", "city": "Utrecht", "country": ""}
        assert display(address) == "Oudegracht 112, Utrecht"
