"""Every request page needs a signed-in customer, and another customer's request is "not
found", exactly like a reference that does not exist."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .conftest import OTHER, page, post, sign_in, token_in
from .helpers import check, reference_of, send, stored

UNKNOWN = "AVG-ZZZZZZZZ"
SLUGS = ("correctie", "wissen", "beperken", "bezwaar", "toestemming", "vraag")

#: (method, path template) of every route that takes a reference.
BY_REFERENCE = [
    ("GET", "/verzoeken/{ref}"),
    ("GET", "/verzoeken/{ref}/ontvangen"),
    ("POST", "/verzoeken/{ref}/aanvullen"),
    ("GET", "/verzoeken/{ref}/intrekken"),
    ("POST", "/verzoeken/{ref}/intrekken"),
]

EVERY_ROUTE = [
    ("GET", "/verzoeken/"),
    ("GET", "/verzoeken/nieuw"),
    *[(m, f"/verzoeken/nieuw/{slug}") for slug in SLUGS for m in ("GET", "POST")],
    ("POST", "/verzoeken/nieuw/vraag/versturen"),
    *[(m, p.format(ref=UNKNOWN)) for m, p in BY_REFERENCE],
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), EVERY_ROUTE)
def test_every_route_sends_a_visitor_who_is_not_signed_in_to_sign_in(
    client: FlaskClient, method: str, path: str
) -> None:
    # A valid CSRF token (from a public page), so that the sign-in check itself answers.
    data = {"csrf_token": token_in(page(client, "/inloggen"))} if method == "POST" else {}
    response = client.open(path, method=method, data=data)
    assert response.status_code == 302
    assert "/inloggen" in response.headers["Location"]


@pytest.fixture
def sannes_request(app: Flask, sanne: FlaskClient) -> str:
    page_ = check(sanne, "/verzoeken/nieuw/vraag", [("subject", "Privé"), ("question", "Geheim")])
    return reference_of(send(sanne, "vraag", page_))


def _tokens_masked(html: str) -> str:
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1TOKEN"', html)


@pytest.mark.parametrize(("method", "path"), BY_REFERENCE)
def test_another_customers_request_is_not_found_like_an_unknown_one(
    app: Flask, sannes_request: str, method: str, path: str
) -> None:
    other = app.test_client()
    sign_in(app, other, OTHER)
    token = token_in(page(other, "/verzoeken/nieuw/vraag"))
    data = {"csrf_token": token, "text": "Ik ben het niet"}
    theirs = other.open(path.format(ref=sannes_request), method=method, data=data)
    unknown = other.open(path.format(ref=UNKNOWN), method=method, data=data)
    assert theirs.status_code == unknown.status_code == 404
    # The same page but for the reference, and for the CSRF tokens of its forms (the language
    # switch), which carry the second they were made in.
    assert _tokens_masked(theirs.get_data(as_text=True).replace(sannes_request, UNKNOWN)) == (
        _tokens_masked(unknown.get_data(as_text=True))
    )
    assert "Geheim" not in theirs.get_data(as_text=True)
    # the page says why a request may not show (after an erasure of everything), for both
    assert "al uw gegevens te verwijderen" in unknown.get_data(as_text=True)
    assert stored(app, sannes_request).status == "received"
    assert [e.action for e in stored(app, sannes_request).events] == ["received"]


def test_the_list_shows_only_the_customers_own_requests(app: Flask, sannes_request: str) -> None:
    other = app.test_client()
    sign_in(app, other, OTHER)
    assert sannes_request not in page(other, "/verzoeken/")


def test_a_form_cannot_be_sent_without_its_csrf_token(app: Flask, sanne: FlaskClient) -> None:
    response = post(sanne, "/verzoeken/nieuw/vraag/versturen",
                    {"key": "k" * 32, "subject": "x", "question": "y"})  # fmt: skip
    assert response.status_code == 400
