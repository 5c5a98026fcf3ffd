"""A request of a kind the customer already has open: named on the form, and a second one that
asks nothing new is sent only when they confirm it. Different requests go as before."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.dsr import services
from portal.extensions import db
from portal.models import DataRequest

from .conftest import english, hidden_fields, page, post, token_in
from .helpers import check, count_requests, reference_of, send, stored


def _sent(client: FlaskClient, path: str, slug: str, data: list[tuple[str, str]]) -> str:
    """A request sent the ordinary way (no open one like it): its reference."""
    check_page = check(client, path, data)
    assert 'name="same_as"' not in check_page
    return reference_of(send(client, slug, check_page))


def _warning(check_page: str) -> str:
    """The "you already asked for this" part of a check page ("" when there is none)."""
    match = re.search(r'<section class="notice notice-warning".*?</section>', check_page, re.S)
    return match.group(0) if match else ""


def test_withdrawing_the_same_consent_twice_asks_first_and_links_the_open_request(
    app: Flask, sanne: FlaskClient
) -> None:
    english(sanne)
    first = _sent(
        sanne, "/verzoeken/nieuw/toestemming", "toestemming", [("purposes", "newsletter")]
    )

    # The form names the open request, with a link to it.
    form = page(sanne, "/verzoeken/nieuw/toestemming")
    assert "You already have an open request of this kind" in form
    assert f'<a href="/verzoeken/{first}">{first}</a>' in form

    # The same again: the check page says so and offers the open request ...
    check_page = check(sanne, "/verzoeken/nieuw/toestemming", [("purposes", "newsletter")])
    warning = _warning(check_page)
    assert "You already asked for this" in warning
    assert f'href="/verzoeken/{first}"' in warning and f"Go to request {first}" in warning
    assert "Send a new request anyway" in check_page and "Send request</button>" not in check_page

    # ... and sending without that confirmation makes nothing: the check page comes back.
    unconfirmed = [(n, v) for n, v in hidden_fields(check_page) if n != "same_as"]
    response = post(
        sanne,
        "/verzoeken/nieuw/toestemming/versturen",
        [*unconfirmed, ("csrf_token", token_in(check_page))],
    )
    assert response.status_code == 409
    assert "You already asked for this" in response.get_data(as_text=True)
    assert count_requests(app) == 1

    # Confirmed ("Send a new request anyway"), it is sent, once.
    second = reference_of(send(sanne, "toestemming", check_page))
    assert second != first
    assert reference_of(send(sanne, "toestemming", check_page)) == second  # a double click
    assert count_requests(app) == 2


def test_two_erasures_of_everything_ask_first_but_other_data_goes_as_before(
    app: Flask, sanne: FlaskClient
) -> None:
    english(sanne)
    some = _sent(
        sanne, "/verzoeken/nieuw/wissen", "wissen", [("scope", "sources"), ("sources", "webshop")]
    )
    # other systems than the open request names: nothing to ask
    other = _sent(
        sanne, "/verzoeken/nieuw/wissen", "wissen", [("scope", "sources"), ("sources", "payments")]
    )
    assert other != some
    # everything: no open request asks for all of it yet
    everything = _sent(sanne, "/verzoeken/nieuw/wissen", "wissen", [("scope", "all")])

    again = check(sanne, "/verzoeken/nieuw/wissen", [("scope", "all")])
    assert f"Your request {everything} already asks for everything" in _warning(again)
    # a part of what the open erasure of everything covers is asked already too
    part = check(
        sanne, "/verzoeken/nieuw/wissen", [("scope", "categories"), ("categories", "orders")]
    )
    assert f"Your request {everything} already asks" in _warning(part)
    assert count_requests(app) == 3


def test_a_withdrawn_request_is_no_longer_open(app: Flask, sanne: FlaskClient) -> None:
    english(sanne)
    first = _sent(
        sanne, "/verzoeken/nieuw/toestemming", "toestemming", [("purposes", "newsletter")]
    )
    form = page(sanne, "/verzoeken/nieuw/toestemming")
    assert "You already have an open request of this kind" in form
    with app.test_request_context():
        found = db.session.scalars(sa.select(DataRequest).where(DataRequest.reference == first))
        services.withdraw(found.one(), actor_id=None)
        db.session.commit()
    form = page(sanne, "/verzoeken/nieuw/toestemming")
    assert "open request" not in form
    _sent(sanne, "/verzoeken/nieuw/toestemming", "toestemming", [("purposes", "newsletter")])
    assert stored(app, first).status == "withdrawn"


def test_objections_to_other_purposes_and_other_restrictions_are_not_asked_about(
    app: Flask, sanne: FlaskClient
) -> None:
    english(sanne)
    _sent(sanne, "/verzoeken/nieuw/bezwaar", "bezwaar", [("purposes", "service-improvement")])
    _sent(sanne, "/verzoeken/nieuw/bezwaar", "bezwaar", [("purposes", "newsletter")])
    both = check(
        sanne,
        "/verzoeken/nieuw/bezwaar",
        [("purposes", "service-improvement"), ("purposes", "newsletter")],
    )
    assert _warning(both) == ""  # no one open objection asks for both
    same = check(sanne, "/verzoeken/nieuw/bezwaar", [("purposes", "newsletter")])
    assert "You already asked for this" in _warning(same)

    kinds = [("scope", "categories"), ("categories", "contact")]
    _sent(sanne, "/verzoeken/nieuw/beperken", "beperken", [*kinds, ("ground", "accuracy")])
    other_ground = check(sanne, "/verzoeken/nieuw/beperken", [*kinds, ("ground", "legal_claim")])
    assert _warning(other_ground) == ""
    same_ground = check(sanne, "/verzoeken/nieuw/beperken", [*kinds, ("ground", "accuracy")])
    assert "You already asked for this" in _warning(same_ground)
    assert count_requests(app) == 3


def test_a_question_asked_again_word_for_word_is_asked_about_another_is_not(
    app: Flask, sanne: FlaskClient
) -> None:
    english(sanne)
    question = [("subject", "Adres"), ("question", "Wie krijgt mijn adres?")]
    first = _sent(sanne, "/verzoeken/nieuw/vraag", "vraag", question)
    again = check(
        sanne,
        "/verzoeken/nieuw/vraag",
        [("subject", " adres"), ("question", "Wie krijgt  mijn adres?")],
    )
    assert f"Your request {first} already asks" in _warning(again)
    other = check(
        sanne,
        "/verzoeken/nieuw/vraag",
        [("subject", "Adres"), ("question", "Wie ziet mijn adres?")],
    )
    assert _warning(other) == ""


CORRECTION = "/verzoeken/nieuw/correctie"
LAST_NAME = [
    ("items-0-source", "webshop"), ("items-0-record_type", "customer"),
    ("items-0-record_id", "101"), ("items-0-field", "last_name"),
]  # fmt: skip


def _correction_check(client: FlaskClient, new_value: str) -> str:
    return check(
        client,
        CORRECTION + "?source=webshop&record_type=customer&record_id=101&field=last_name",
        [*LAST_NAME, ("items-0-new_value", new_value), ("step", "check")],
    )


def test_the_same_correction_again_is_asked_about_another_value_is_not(
    app: Flask, sanne: FlaskClient
) -> None:
    english(sanne)
    first = reference_of(send(sanne, "correctie", _correction_check(sanne, "de Vries-Bakker")))
    again = _correction_check(sanne, " de  Vries-Bakker ")
    assert f"Your request {first} already asks" in _warning(again)
    for different in ("de vries-bakker", "Bakker"):  # the case may be the very correction
        assert _warning(_correction_check(sanne, different)) == ""
    other = _correction_check(sanne, "Bakker")
    reference_of(send(sanne, "correctie", other))
    assert count_requests(app) == 2
