"""A request form sent after its page expired loses nothing typed (portal.kept_input).

Its token no longer fits (the session was renewed in another tab): the form comes back filled
in, with a fresh token and a message, and nothing is sent. The session ended while the customer
typed: what they typed is shown back, with a button that brings the form back once they have
signed in again. Only for a form our own page sent (``Sec-Fetch-Site: same-origin``).
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from portal.dsr import services
from portal.extensions import db
from portal.models import DataRequest, utcnow

from .conftest import english, hidden_fields, key_in, page, post, sign_in, token_in
from .helpers import check, count_requests, reference_of, send, stored

OURS = {"Sec-Fetch-Site": "same-origin"}
LONG_TEXT = "Ik heb hier lang over nagedacht.\nMijn adres klopt al jaren niet & dat wil ik kwijt."
EXPIRED = "Your form was not sent, because its page had expired"


def _renew_session_secret(client: FlaskClient) -> None:
    """What signing in or out in another tab does to this browser: a new CSRF secret, so
    every token on the pages it has open no longer fits."""
    with client.session_transaction() as session:
        session["csrf_token"] = "a-new-secret-from-another-tab"


def _post_ours(client: FlaskClient, path: str, data: list[tuple[str, str]]) -> object:
    from werkzeug.datastructures import MultiDict

    return client.post(path, data=MultiDict(data), headers=OURS)


def _textarea(html: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(?:\r?\n)?(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {name}"
    return html_lib.unescape(match.group(1))


def test_a_question_whose_page_expired_comes_back_filled_in_with_a_fresh_token(
    app: Flask, sanne: FlaskClient
) -> None:
    english(sanne)
    form = page(sanne, "/verzoeken/nieuw/vraag")
    old_token, key = token_in(form), key_in(form)
    _renew_session_secret(sanne)
    typed = [("subject", "Mijn adres"), ("question", LONG_TEXT)]
    response = _post_ours(
        sanne,
        "/verzoeken/nieuw/vraag",
        [("csrf_token", old_token), ("key", key), *typed, ("step", "check")],
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    again = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert EXPIRED in again and "check it and send it again" in again
    assert 'value="Mijn adres"' in again and _textarea(again, "question") == LONG_TEXT
    assert key_in(again) == key  # the same request, should both arrive
    assert token_in(again) != old_token
    assert count_requests(app) == 0

    # The fresh token works: on to the check page and sent.
    resent = post(
        sanne,
        "/verzoeken/nieuw/vraag",
        [("csrf_token", token_in(again)), ("key", key), *typed, ("step", "check")],
    )
    check_page = resent.get_data(as_text=True)
    assert resent.status_code == 200 and "Check your request" in check_page
    reference = reference_of(send(sanne, "vraag", check_page))
    assert stored(app, reference).kind == "question"


def test_sending_from_a_check_page_that_expired_brings_back_the_form_and_sends_nothing(
    app: Flask, sanne: FlaskClient
) -> None:
    english(sanne)
    check_page = check(
        sanne,
        "/verzoeken/nieuw/wissen",
        [("scope", "sources"), ("sources", "webshop"), ("explanation", LONG_TEXT)],
    )
    _renew_session_secret(sanne)
    response = _post_ours(
        sanne,
        "/verzoeken/nieuw/wissen/versturen",
        [*hidden_fields(check_page), ("csrf_token", token_in(check_page))],
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    again = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert EXPIRED in again and "<h1>Delete your data</h1>" in again
    assert re.search(
        r'<input type="radio" id="scope-1" name="scope" value="sources" checked', again
    )
    assert re.search(r'name="sources" value="webshop" checked', again)
    assert _textarea(again, "explanation") == LONG_TEXT
    assert count_requests(app) == 0


def test_a_correction_keeps_its_new_values_and_explanation(app: Flask, sanne: FlaskClient) -> None:
    english(sanne)
    path = "/verzoeken/nieuw/correctie?source=webshop&record_type=customer&record_id=101"
    form = page(sanne, path + "&field=last_name")
    _renew_session_secret(sanne)
    response = _post_ours(
        sanne,
        path,
        [
            ("csrf_token", token_in(form)), ("key", key_in(form)),
            ("items-0-source", "webshop"), ("items-0-record_type", "customer"),
            ("items-0-record_id", "101"), ("items-0-field", "last_name"),
            ("items-0-new_value", "de Vries-Bakker"), ("explanation", LONG_TEXT),
            ("step", "check"),
        ],
    )  # fmt: skip
    assert response.status_code == 400  # type: ignore[attr-defined]
    again = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert EXPIRED in again
    assert re.search(r'name="items-0-new_value" value="de Vries-Bakker"', again)
    assert _textarea(again, "explanation") == LONG_TEXT
    assert count_requests(app) == 0


def _question(client: FlaskClient, subject: str = "A") -> str:
    check_page = check(client, "/verzoeken/nieuw/vraag", [("subject", subject), ("question", "B")])
    return reference_of(send(client, "vraag", check_page))


def _waiting_question(app: Flask, client: FlaskClient) -> str:
    reference = _question(client)
    with app.test_request_context():
        found = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        services.ask_information(found, "Welk adres bedoelt u?", staff_id=1)
        db.session.commit()
    return reference


def test_an_answer_to_our_question_is_kept_and_not_sent(app: Flask, sanne: FlaskClient) -> None:
    english(sanne)
    reference = _waiting_question(app, sanne)
    detail = page(sanne, f"/verzoeken/{reference}")
    _renew_session_secret(sanne)
    response = _post_ours(
        sanne,
        f"/verzoeken/{reference}/aanvullen",
        [("csrf_token", token_in(detail)), ("text", LONG_TEXT)],
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    again = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert EXPIRED in again and _textarea(again, "text") == LONG_TEXT
    assert stored(app, reference).status == "waiting_for_customer"


def test_withdrawing_with_an_expired_page_does_nothing_and_asks_again(
    app: Flask, sanne: FlaskClient
) -> None:
    english(sanne)
    reference = _question(sanne)
    confirm = page(sanne, f"/verzoeken/{reference}/intrekken")
    _renew_session_secret(sanne)
    response = _post_ours(
        sanne, f"/verzoeken/{reference}/intrekken", [("csrf_token", token_in(confirm))]
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    again = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Nothing was done, because the page had expired" in again
    assert "Yes, withdraw my request" in again and token_in(again) != token_in(confirm)
    assert stored(app, reference).status == "received"


def test_a_form_another_site_or_an_old_browser_sent_is_not_shown_back(
    app: Flask, sanne: FlaskClient
) -> None:
    """Without the browser's word that our page sent it, nothing posted is put on the page:
    another site could otherwise fill a customer's form with words of its choosing."""
    english(sanne)
    form = page(sanne, "/verzoeken/nieuw/vraag")
    _renew_session_secret(sanne)
    data = {"csrf_token": token_in(form), "subject": "Geplant", "question": "Door een ander"}
    for headers in ({}, {"Sec-Fetch-Site": "none"}):
        response = sanne.post("/verzoeken/nieuw/vraag", data=data, headers=headers)
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        assert "This form has expired" in text
        assert "Geplant" not in text and "Door een ander" not in text
    cross = sanne.post(
        "/verzoeken/nieuw/vraag", data=data, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code in (400, 403) and "Geplant" not in cross.get_data(as_text=True)


def test_signed_out_while_typing_shows_what_was_typed_and_brings_the_form_back(
    app: Flask, client: FlaskClient
) -> None:
    """The session ended (idle) while the customer typed: the sign-in page would drop the
    form. Instead they see what they typed (in this answer only), and a button without a
    token that, once they have signed in again, brings the form back filled in."""
    with time_machine.travel(utcnow(), tick=True) as traveller:
        sign_in(app, client)
        english(client)
        form = page(client, "/verzoeken/nieuw/vraag")
        traveller.shift(timedelta(minutes=31))
        data = [
            ("csrf_token", token_in(form)), ("key", key_in(form)),
            ("subject", "Mijn adres"), ("question", LONG_TEXT), ("step", "check"),
        ]  # fmt: skip
        response = _post_ours(client, "/verzoeken/nieuw/vraag", data)
        assert response.status_code == 401  # type: ignore[attr-defined]
        shown = response.get_data(as_text=True)  # type: ignore[attr-defined]
        assert "Sign in again to send your form" in shown
        assert response.headers["Cache-Control"] == "no-store"  # type: ignore[attr-defined]
        assert "because you were inactive" in shown  # why (the sign-out's own message)
        assert "Mijn adres" in shown and html_lib.escape(LONG_TEXT, quote=False) in shown
        assert 'href="/inloggen" target="_blank" rel="noopener"' in shown
        back = shown[shown.index('<form method="post" action="/verzoeken/nieuw/vraag">') :]
        back = back[: back.index("</form>")]
        assert "csrf_token" not in back  # it can never carry anything out itself
        carried = hidden_fields(back)
        assert ("question", LONG_TEXT) in carried and ("key", key_in(form)) in carried
        assert count_requests(app) == 0

        # Still signed out, the button shows the same again; nothing is sent.
        response = _post_ours(client, "/verzoeken/nieuw/vraag", carried)
        assert response.status_code == 401  # type: ignore[attr-defined]
        # Signed in again (in another tab), the button brings back the filled-in form.
        sign_in(app, client)
        response = _post_ours(client, "/verzoeken/nieuw/vraag", carried)
        assert response.status_code == 400  # type: ignore[attr-defined]
        again = response.get_data(as_text=True)  # type: ignore[attr-defined]
        assert EXPIRED in again and _textarea(again, "question") == LONG_TEXT
        assert 'value="Mijn adres"' in again and key_in(again) == key_in(form)
        assert count_requests(app) == 0


def test_signed_out_elsewhere_keeps_the_typed_text_too(app: Flask, client: FlaskClient) -> None:
    """Signing out in another tab clears this browser's session and its CSRF secret: the
    form's token fails, and, no longer signed in, they see what they typed."""
    sign_in(app, client)
    english(client)
    form = page(client, "/verzoeken/nieuw/vraag")
    token = token_in(form)
    logout = post(client, "/uitloggen", {"csrf_token": token})
    assert logout.status_code == 303
    response = _post_ours(
        client,
        "/verzoeken/nieuw/vraag",
        [("csrf_token", token), ("subject", "Mijn adres"), ("question", LONG_TEXT)],
    )
    assert response.status_code == 401  # type: ignore[attr-defined]
    shown = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Sign in again to send your form" in shown and "Mijn adres" in shown


def test_a_visitor_who_was_never_signed_in_is_sent_to_sign_in_as_before(
    client: FlaskClient,
) -> None:
    token = token_in(page(client, "/inloggen"))
    response = client.post(
        "/verzoeken/nieuw/vraag",
        data={"csrf_token": token, "subject": "x", "question": "y"},
    )
    assert response.status_code == 302 and "/inloggen" in response.headers["Location"]
