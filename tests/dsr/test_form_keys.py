"""A form's one-time key makes one request of what it asks, and never takes another request
for the one it made."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.dsr import services
from portal.extensions import db
from portal.models import DataRequest, GatheredSnapshot, OutboxMessage, utcnow
from simulators import SimulatorGroup

from .conftest import english, key_in, page, post, sign_in, token_in
from .helpers import check, count_requests, reference_of, send
from .test_submit import WEBSHOP_NAME, check_from


def _expire_gathering(app: Flask) -> None:
    """The customer's gathering expires (they read a page a while): the next page gathers."""
    with app.app_context():
        db.session.execute(
            sa.update(GatheredSnapshot).values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()


def _details(app: Flask, reference: str) -> dict[str, object]:
    with app.app_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        return services.details_of(row)


def test_a_page_from_the_history_changed_and_sent_again_is_a_request_of_its_own(
    app: Flask, sanne: FlaskClient
) -> None:
    """A page with an error keeps its key; sent once fixed, that key made a request. Back in
    the browser's history to that page, another question typed and sent: a second request,
    not the first one's receipt with the new question lost."""
    form = page(sanne, "/verzoeken/nieuw/vraag")
    key = key_in(form)
    url = "/verzoeken/nieuw/vraag"
    error = post(sanne, url, {"csrf_token": token_in(form), "key": key, "subject": "Eerste",
                              "question": ""}).get_data(as_text=True)  # fmt: skip
    assert key_in(error) == key
    checked = post(sanne, url, {"csrf_token": token_in(error), "key": key, "subject": "Eerste",
                                "question": "Vraag een"})  # fmt: skip
    first = reference_of(send(sanne, "vraag", checked.get_data(as_text=True)))
    # the same page sent again unchanged: the same request (a double click, a reload)
    again = post(sanne, url, {"csrf_token": token_in(error), "key": key, "subject": "Eerste",
                              "question": "Vraag een"})  # fmt: skip
    assert reference_of(send(sanne, "vraag", again.get_data(as_text=True))) == first
    assert count_requests(app) == 1
    # changed: a request of its own
    other = post(sanne, url, {"csrf_token": token_in(error), "key": key, "subject": "Tweede",
                              "question": "Een heel andere vraag"})  # fmt: skip
    assert other.status_code == 200
    second = reference_of(send(sanne, "vraag", other.get_data(as_text=True)))
    assert second != first and count_requests(app) == 2
    assert "Een heel andere vraag" in str(_details(app, second))
    assert "Vraag een" in str(_details(app, first))


def test_a_correction_in_a_system_down_at_send_is_not_sent_without_it(
    app: Flask, sanne: FlaskClient, simulators: SimulatorGroup
) -> None:
    """The check page shows two corrections; when it is sent the gathering has expired and
    MoneyBird does not answer the new one. Its field is not "not yours": nothing is sent
    (rather than the rest, with one the customer saw dropped), and they are told to send it
    again later; once MoneyBird answers, the same page sends both."""
    form = page(sanne, WEBSHOP_NAME)
    base = [("csrf_token", token_in(form)), ("key", key_in(form))]
    items = [("items-0-source", "webshop"), ("items-0-record_type", "customer"),
             ("items-0-record_id", "101"), ("items-0-field", "last_name")]  # fmt: skip
    contact = next(
        line.split('"')[1]
        for line in form.split("<option")
        if line.startswith(' value="invoicing|contact|')
    )
    text = post(sanne, "/verzoeken/nieuw/correctie", [
        *base, *items, ("items-0-new_value", "de Vries-Bakker"), ("add_record", contact),
        ("step", "add"),
    ]).get_data(as_text=True)  # fmt: skip
    lastname = text.index('value="lastname"')
    index = text[:lastname].rsplit('name="items-', 1)[1].split("-")[0]
    checked = check_from(
        sanne, text, {"items-0-new_value": "de Vries-Bakker", f"items-{index}-new_value": "Bakker"}
    )
    assert "Nieuw: de Vries-Bakker" in checked and "Nieuw: Bakker" in checked
    _expire_gathering(app)  # the customer reads the check page a while
    simulators["moneybird"].set_fault("down")
    try:
        refused = send(sanne, "correctie", checked)
    finally:
        simulators["moneybird"].reset()
    assert refused.status_code == 503
    page_text = refused.get_data(as_text=True)
    assert "Niet verstuurd" in page_text and "Boekhouding (Moneybird)" in page_text
    assert count_requests(app) == 0
    _expire_gathering(app)  # a minute later: a new gathering, MoneyBird answers
    reference = reference_of(send(sanne, "correctie", checked))
    with app.app_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        sent = services.details_of(row)["items"]
    assert sorted(i["new"] for i in sent) == ["Bakker", "de Vries-Bakker"]


def test_the_confirmation_claims_a_receipt_only_when_one_was_queued(
    app: Flask, client: FlaskClient
) -> None:
    """An address no mail header takes (verified before addresses were checked) gets no
    receipt: the confirmation says so rather than that one was sent."""
    sign_in(app, client, "jörg@example.nl")
    english(client)
    checked = check(client, "/verzoeken/nieuw/vraag", [("subject", "S"), ("question", "Q?")])
    sent = send(client, "vraag", checked)
    reference = reference_of(sent)
    html = page(client, sent.headers["Location"])
    with app.app_context():
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    assert reference in html
    assert "We sent you a receipt by e-mail" not in html
    assert "We could not send you a receipt by e-mail" in html
    assert "We sent you a receipt by e-mail" in page(client, f"/verzoeken/{reference}/ontvangen")


def test_an_erasure_whose_preview_changed_before_sending_is_shown_again(
    app: Flask, sanne: FlaskClient, simulators: SimulatorGroup
) -> None:
    """The check page says what an erasure would do; by the time it is sent the gathering has
    expired and MoneyBird does not answer the new one. The request page would show, under
    "what we told you", a preview the customer never saw: they see the new one first."""
    checked = check(sanne, "/verzoeken/nieuw/wissen", [("scope", "all")])
    _expire_gathering(app)
    simulators["moneybird"].set_fault("down")
    try:
        again = send(sanne, "wissen", checked)
        assert again.status_code == 409
        shown = again.get_data(as_text=True)
        assert "Niet verstuurd" in shown and count_requests(app) == 0
        reference = reference_of(send(sanne, "wissen", shown))  # read, and sent
    finally:
        simulators["moneybird"].reset()
    with app.app_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        preview = services.details_of(row)["preview"]
    assert {"source": "invoicing", "status": "failed"} in preview["unchecked"]


def test_a_correction_and_an_erasure_sent_twice_make_one_request(
    app: Flask, sanne: FlaskClient
) -> None:
    """The check page's button pressed twice (or the page reloaded): the same request, not a
    second one, nor the "you already asked for this" page."""
    form = page(sanne, WEBSHOP_NAME)
    checked = check_from(sanne, form, {"items-0-new_value": "de Vries-Bakker"})
    first = send(sanne, "correctie", checked)
    second = send(sanne, "correctie", checked)
    assert reference_of(first) == reference_of(second)
    erasure = check(sanne, "/verzoeken/nieuw/wissen", [("scope", "all")])
    assert reference_of(send(sanne, "wissen", erasure)) == reference_of(
        send(sanne, "wissen", erasure)
    )
    assert count_requests(app) == 2
