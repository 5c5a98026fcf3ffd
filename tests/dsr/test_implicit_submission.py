"""Pressing Enter in a field of a request form: browsers submit the form with its *first*
submit button in tree order (HTML's implicit submission). On every request form that is
"Continue", so Enter goes on to the check page, never to a secondary button like "Add"."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from .conftest import english, page, post
from .helpers import CHECK_TITLE, form_at, press_enter, reference_of, send

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


def _text(html: str) -> str:
    """What a page shows: its text, without tags (and so without links and form values)."""
    return re.sub(r"<[^>]+>", " ", html)


JOB = (
    CORRECTION
    + "?source=workshop&record_type=service_job&record_id=werkbonnen:WB-2026-0302&field=apparaat"
)


def test_a_row_of_the_firm_s_own_file_is_named_by_its_own_id_but_posted_with_the_full_id(
    sanne: FlaskClient,
) -> None:
    """The files connector's ids are ``<file key>:<row id>``; the customer reads the row id."""
    html = page(sanne, JOB)
    assert "werkbonnen:" not in _text(html)
    assert re.search(r"<legend>[^<]*: Werkbon WB-2026-0302</legend>", html)
    data = press_enter(html, CORRECTION, {"items-0-new_value": "Laptop X1"})
    assert ("items-0-record_id", "werkbonnen:WB-2026-0302") in data  # the full id is posted
    check_page = post(sanne, JOB, data).get_data(as_text=True)
    assert CHECK_TITLE in check_page and "Werkbon WB-2026-0302" in check_page
    assert "werkbonnen:" not in _text(check_page)
    reference = reference_of(send(sanne, "correctie", check_page))
    detail = page(sanne, f"/verzoeken/{reference}")
    assert "Werkbon WB-2026-0302" in detail and "werkbonnen:" not in _text(detail)
