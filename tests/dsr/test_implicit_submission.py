"""Pressing Enter in a field of a request form: browsers submit the form with its *first*
submit button in tree order (HTML's implicit submission). On every request form that is
"Continue", so Enter goes on to the check page, never to a secondary button like "Add"."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from .conftest import english, page, post
from .helpers import CHECK_TITLE, form_at, press_enter

CORRECTION = "/verzoeken/nieuw/correctie"
WEBSHOP_NAME = CORRECTION + "?source=webshop&record_type=customer&record_id=101&field=last_name"


def test_enter_in_a_new_value_of_a_correction_continues_to_the_check_page(
    sanne: FlaskClient,
) -> None:
    form = page(sanne, WEBSHOP_NAME)
    assert 'name="add_record"' in form  # another record can be added: two submit buttons
    data = press_enter(form, CORRECTION, {"items-0-new_value": "de Vries-Bakker"})
    assert ("step", "check") in data and ("step", "add") not in data
    response = post(sanne, WEBSHOP_NAME, data)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert CHECK_TITLE in text
    assert "Nieuw: de Vries-Bakker" in text


@pytest.mark.parametrize(
    "path",
    [WEBSHOP_NAME, "/verzoeken/nieuw/wissen", "/verzoeken/nieuw/beperken",
     "/verzoeken/nieuw/bezwaar", "/verzoeken/nieuw/toestemming", "/verzoeken/nieuw/vraag"],
)  # fmt: skip
def test_the_first_submit_button_of_every_request_form_is_continue(
    sanne: FlaskClient, path: str
) -> None:
    english(sanne)
    html = page(sanne, path)
    form = form_at(html, path.split("?")[0])
    assert form["buttons"][0] == ("step", "check")


def test_add_with_no_record_chosen_says_what_to_do(sanne: FlaskClient) -> None:
    english(sanne)
    form = page(sanne, WEBSHOP_NAME)
    controls = form_at(form, CORRECTION)["controls"]
    data = [*controls, ("step", "add")]  # the list left at "Choose a record"
    assert ("add_record", "") in data
    response = post(sanne, WEBSHOP_NAME, data)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert '<a href="#add_record">Choose the record whose data you want to add</a>' in text
    assert 'aria-invalid="true"' in text and 'id="add_record-error"' in text
    assert "Check your request" not in text
