"""Each kind of request, submitted end to end through the pages: form errors, the check page,
sending, the confirmation, what is stored (encrypted) and the receipt e-mail."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from portal.dsr import services
from portal.extensions import db
from portal.models import AuditEvent, DataRequest, OutboxMessage
from simulators import SimulatorGroup

from ..auth.conftest import Mailbox
from .conftest import SANNE, english, key_in, page, post, sign_in, token_in
from .helpers import check, count_requests, reference_of, send, stored

WEBSHOP_NAME = (
    "/verzoeken/nieuw/correctie?source=webshop&record_type=customer&record_id=101&field=last_name"
)


def _audit(app: Flask, request_id: int) -> list[AuditEvent]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                sa.select(AuditEvent).where(
                    AuditEvent.subject_type == "request", AuditEvent.subject_id == str(request_id)
                )
            )
        )
        db.session.expunge_all()
        return rows


def _assert_stored(app: Flask, reference: str, kind: str, secret: str) -> DataRequest:
    row = stored(app, reference)
    assert row.kind == kind
    assert row.status == "received"
    assert row.channel == "portal"
    assert row.details_encrypted is not None
    assert secret.encode() not in row.details_encrypted  # encrypted at rest
    assert [e.action for e in row.events] == ["received"]
    audit = _audit(app, row.id)
    assert [a.action for a in audit] == ["request.submitted"]
    assert secret not in json.dumps(audit[0].details)  # no personal data in the audit log
    assert audit[0].details["kind"] == kind
    return row


def _details(app: Flask, reference: str) -> dict:  # type: ignore[type-arg]
    with app.app_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        return services.details_of(row)


def test_a_question_with_errors_then_checked_sent_confirmed_stored_and_mailed(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    form = page(sanne, "/verzoeken/nieuw/vraag")
    response = post(
        sanne,
        "/verzoeken/nieuw/vraag",
        {"csrf_token": token_in(form), "key": key_in(form), "subject": "Adres", "question": ""},
    )
    html = response.get_data(as_text=True)
    assert "<title>Fout: Stel een vraag" in html
    assert 'class="error-summary"' in html
    assert '<a href="#question">Vul uw vraag in</a>' in html
    assert 'id="question-error"' in html
    assert 'value="Adres"' in html  # what was typed is kept
    assert key_in(html) == key_in(form)  # and the same key

    page_ = check(sanne, "/verzoeken/nieuw/vraag", [("subject", "Adres"),
                  ("question", "Wie krijgt mijn adres van Oudegracht 112?")])  # fmt: skip
    assert "Wie krijgt mijn adres van Oudegracht 112?" in page_
    assert 'formaction="/verzoeken/nieuw/vraag#question"' in page_
    assert count_requests(app) == 0  # the check page stores nothing

    reference = reference_of(send(sanne, "vraag", page_))
    confirmation = page(sanne, f"/verzoeken/{reference}/ontvangen")
    assert reference in confirmation
    assert "Wij hebben u een ontvangstbevestiging gemaild" in confirmation
    row = _assert_stored(app, reference, "question", "Oudegracht 112")
    assert _details(app, reference) == {
        "subject": "Adres", "question": "Wie krijgt mijn adres van Oudegracht 112?"
    }  # fmt: skip

    message = mailbox.last()
    assert message["To"] == SANNE
    assert reference in message["Subject"]
    assert message["Subject"].startswith("Wij hebben uw verzoek")
    text = Mailbox.text_of(message)
    assert reference in text
    assert row.deadline.strftime("%d-%m-%Y") in text
    assert f"/verzoeken/{reference}" in text
    assert reference in Mailbox.html_of(message)


def test_the_change_button_brings_back_the_form_with_everything_kept(sanne: FlaskClient) -> None:
    page_ = check(
        sanne, "/verzoeken/nieuw/vraag", [("subject", "Mijn adres"), ("question", "Waarom?")]
    )
    from .conftest import hidden_fields

    data = [("csrf_token", token_in(page_)), *hidden_fields(page_), ("step", "change")]
    html = post(sanne, "/verzoeken/nieuw/vraag", data).get_data(as_text=True)
    assert 'value="Mijn adres"' in html
    assert "Waarom?</textarea>" in html
    assert key_in(html) != dict(hidden_fields(page_))["key"]  # a changed request is a new one
    assert "error-summary" not in html


def test_a_request_changed_after_it_was_sent_is_sent_too(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    """Sent, then back to the check page, "Change", edited and sent again: the changed request
    is made (not silently taken for the first), and sending it twice still makes it once."""
    from .conftest import hidden_fields

    page_ = check(sanne, "/verzoeken/nieuw/vraag", [("subject", "Eerste"), ("question", "Oud")])
    first = reference_of(send(sanne, "vraag", page_))
    data = [("csrf_token", token_in(page_)), *hidden_fields(page_), ("step", "change")]
    form = post(sanne, "/verzoeken/nieuw/vraag", data).get_data(as_text=True)
    edited = post(
        sanne, "/verzoeken/nieuw/vraag",
        [("csrf_token", token_in(form)), ("key", key_in(form)), ("subject", "Tweede"),
         ("question", "Een heel andere vraag")],
    ).get_data(as_text=True)  # fmt: skip
    second = reference_of(send(sanne, "vraag", edited))
    assert reference_of(send(sanne, "vraag", edited)) == second

    assert first != second
    assert count_requests(app) == 2
    assert _details(app, second)["question"] == "Een heel andere vraag"
    assert _details(app, first)["question"] == "Oud"


def test_the_receipt_is_in_english_for_an_english_customer(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    english(sanne)
    page_ = check(sanne, "/verzoeken/nieuw/vraag", [("subject", "Address"), ("question", "Who?")])
    reference = reference_of(send(sanne, "vraag", page_))
    message = mailbox.last()
    assert message["Subject"] == f"We received your request {reference}"
    assert message["Content-Language"] == "en"
    text = Mailbox.text_of(message)
    assert "We answer by" in text
    row = stored(app, reference)
    assert row.locale == "en"
    assert row.deadline.strftime("%b %-d, %Y") in text


def test_a_correction_shows_current_values_validates_and_stores_every_field(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    form = page(sanne, WEBSHOP_NAME)
    assert "Nu: de Vries" in form
    assert 'name="items-0-field" type="hidden" value="last_name"' in form
    assert "items-1-new_value" in form  # the record's other fields are offered too
    # another record of the same person can be added (the bookkeeping's contact)
    assert "Boekhouding (Moneybird): Klantprofiel 431877251120719881" in form

    base = [("csrf_token", token_in(form)), ("key", key_in(form))]
    items = [
        ("items-0-source", "webshop"), ("items-0-record_type", "customer"),
        ("items-0-record_id", "101"), ("items-0-field", "last_name"),
    ]  # fmt: skip
    # nothing filled in: one error, linked from the summary
    html = post(sanne, "/verzoeken/nieuw/correctie", [*base, *items, ("items-0-new_value", "")])
    text = html.get_data(as_text=True)
    assert '<a href="#items-0-new_value">Vul minstens één nieuwe waarde in</a>' in text
    # the same value as now
    text = post(
        sanne, "/verzoeken/nieuw/correctie", [*base, *items, ("items-0-new_value", "de Vries")]
    ).get_data(as_text=True)
    assert "De nieuwe waarde is gelijk aan de huidige" in text
    # a wrong e-mail address
    email = [
        ("items-1-source", "webshop"), ("items-1-record_type", "customer"),
        ("items-1-record_id", "101"), ("items-1-field", "email"),
    ]  # fmt: skip
    text = post(
        sanne, "/verzoeken/nieuw/correctie",
        [*base, *items, ("items-0-new_value", "de Vries-Bakker"), *email,
         ("items-1-new_value", "geen-adres")],
    ).get_data(as_text=True)  # fmt: skip
    assert '<a href="#items-1-new_value">Vul een e-mailadres in de juiste vorm in' in text
    assert "de Vries-Bakker" in text

    # add the bookkeeping's contact record with the "Add" button
    contact = next(
        line.split('"')[1]
        for line in form.split("<option")
        if line.startswith(' value="invoicing|contact|')
    )
    text = post(
        sanne, "/verzoeken/nieuw/correctie",
        [*base, *items, ("items-0-new_value", "de Vries-Bakker"), ("add_record", contact),
         ("step", "add")],
    ).get_data(as_text=True)  # fmt: skip
    assert "Boekhouding (Moneybird)" in text
    assert "Nu: +31 6 12345678" in text
    lastname = text.index('value="lastname"')
    index = text[:lastname].rsplit('name="items-', 1)[1].split("-")[0]

    page_ = check_from(sanne, text, {"items-0-new_value": "de Vries-Bakker",
                                     f"items-{index}-new_value": "Bakker"})  # fmt: skip
    assert "Nieuw: de Vries-Bakker" in page_ and "Nieuw: Bakker" in page_
    reference = reference_of(send(sanne, "correctie", page_))
    row = _assert_stored(app, reference, "correction", "de Vries-Bakker")
    assert row.scope["sources"] == ["webshop", "invoicing"]
    assert row.scope["categories"] == ["identity"]
    details = _details(app, reference)
    assert [(i["source"], i["field"], i["current"], i["new"]) for i in details["items"]] == [
        ("webshop", "last_name", "de Vries", "de Vries-Bakker"),
        ("invoicing", "lastname", "de Vries", "Bakker"),
    ]
    assert "Nieuw: de Vries-Bakker" in Mailbox.text_of(mailbox.last())
    assert [i["category"] for i in details["items"]] == ["identity", "identity"]
    # sent in Dutch, read in English: the fields and records are named in English
    sanne.set_cookie("portal_lang", "en")
    shown = page(sanne, f"/verzoeken/{reference}")
    assert "Last name (Web shop: Customer record 101)" in shown
    assert "Achternaam" not in shown and "Webwinkel" not in shown


def check_from(client: FlaskClient, form_html: str, values: dict[str, str]) -> str:
    """Post a rendered correction form back with ``values`` filled in."""
    import re

    fields = re.findall(r'<input[^>]*name="(items-\d+-[a-z_]+)"[^>]*value="([^"]*)"', form_html)
    fields += re.findall(
        r'<input[^>]*type="hidden"[^>]*name="(items-\d+-[a-z_]+)"[^>]*value="([^"]*)"', form_html
    )
    fields += re.findall(
        r'<input id="(items-\d+-[a-z_]+)" name="[^"]+" type="hidden" value="([^"]*)"', form_html
    )
    data = dict(fields)
    data.update(values)
    data["csrf_token"] = token_in(form_html)
    data["key"] = key_in(form_html)
    response = post(client, "/verzoeken/nieuw/correctie", data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Controleer uw verzoek" in html, html[-3000:]
    return html


def test_a_correction_of_data_that_is_not_the_customers_is_not_found(sanne: FlaskClient) -> None:
    html = page(
        sanne,
        "/verzoeken/nieuw/correctie?source=webshop&record_type=customer&record_id=102&field=email",
        404,
    )
    assert "Wij kunnen deze gegevens niet vinden" in html
    # a posted item of someone else's record is dropped, never shown
    form = page(sanne, WEBSHOP_NAME)
    someone_elses = [
        ("csrf_token", token_in(form)), ("key", key_in(form)),
        ("items-0-source", "webshop"), ("items-0-record_type", "customer"),
        ("items-0-record_id", "102"), ("items-0-field", "email"),
        ("items-0-new_value", "x@example.nl"),
    ]  # fmt: skip
    response = post(sanne, "/verzoeken/nieuw/correctie", someone_elses)
    text = response.get_data(as_text=True)
    assert "102" not in text.split("<main", 1)[1]
    # Nothing of hers is left to correct: a clear page with the way back, never an empty form.
    assert response.status_code == 404
    assert "Wij kunnen deze gegevens niet vinden" in text
    assert 'href="/mijn-gegevens/"' in text
    sent = post(sanne, "/verzoeken/nieuw/correctie/versturen", someone_elses)
    assert sent.status_code == 404 and "Wij kunnen deze gegevens niet vinden" in sent.get_data(True)


def test_an_erasure_shows_the_preview_per_source_and_stores_it(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    form = page(sanne, "/verzoeken/nieuw/wissen")
    text = post(
        sanne, "/verzoeken/nieuw/wissen",
        [("csrf_token", token_in(form)), ("key", key_in(form)), ("scope", "sources")],
    ).get_data(as_text=True)  # fmt: skip
    assert '<a href="#sources-0">Kies minstens één systeem</a>' in text
    assert "<title>Fout:" in text

    page_ = check(sanne, "/verzoeken/nieuw/wissen", [("scope", "all")])
    assert "Wat er met uw gegevens gebeurt" in page_
    assert "Wettelijke bewaarplicht, artikel 52 AWR." in page_
    assert "moeten wij bewaren (Facturen)" in page_
    assert "worden verwijderd" in page_
    # an order kept for its payment keeps its technical data with it: said before sending
    assert re.search(r"daarmee bewaren we ook: [^.<]*Technische gegevens", page_)
    reference = reference_of(send(sanne, "wissen", page_))
    _assert_stored(app, reference, "erasure", "Oudegracht")
    preview = _details(app, reference)["preview"]
    invoicing = next(s for s in preview["sources"] if s["source"] == "invoicing")
    invoices = next(k for k in invoicing["kept"] if k["category"] == "invoices")
    assert invoices["ground"]["nl"] == "Wettelijke bewaarplicht, artikel 52 AWR."
    assert invoices["count"] >= 1 and invoices["until"].endswith("-12-31")
    webshop = next(s for s in preview["sources"] if s["source"] == "webshop")
    assert webshop["delete"] > 0
    detail = page(sanne, f"/verzoeken/{reference}")
    assert "Wat wij u vertelden voordat u het verstuurde" in detail


def test_an_erasure_preview_names_a_system_that_did_not_answer(
    app: Flask, sanne: FlaskClient, simulators: SimulatorGroup
) -> None:
    """The invoicing system is down: its invoices are not in the counts, and the customer is
    told so, never shown numbers that silently leave a system out."""
    simulators["moneybird"].set_fault("down")
    try:
        page_ = check(sanne, "/verzoeken/nieuw/wissen", [("scope", "all")])
        text = " ".join(re.sub(r"<[^>]+>", " ", page_).split())
        assert "Systemen die wij nu niet konden nakijken" in text
        assert "Boekhouding (Moneybird): het antwoordde niet" in text
        reference = reference_of(send(sanne, "wissen", page_))
    finally:
        simulators["moneybird"].reset()
    preview = _details(app, reference)["preview"]
    assert {"source": "invoicing", "status": "failed"} in preview["unchecked"]
    assert "invoicing" not in [s["source"] for s in preview["sources"]]
    # What the customer was told stays on the request's page.
    assert "Boekhouding (Moneybird): het antwoordde niet" in " ".join(
        re.sub(r"<[^>]+>", " ", page(sanne, f"/verzoeken/{reference}")).split()
    )


def test_a_restriction_on_chosen_kinds_with_a_ground(app: Flask, sanne: FlaskClient) -> None:
    form = page(sanne, "/verzoeken/nieuw/beperken")
    assert "wij controleren of ze juist zijn" in form  # the four grounds in plain words
    text = post(
        sanne, "/verzoeken/nieuw/beperken",
        [("csrf_token", token_in(form)), ("key", key_in(form)), ("scope", "categories")],
    ).get_data(as_text=True)  # fmt: skip
    assert '<a href="#categories-0">Kies minstens één soort gegevens</a>' in text
    assert '<a href="#ground-0">Kies waarom wij het gebruik moeten beperken</a>' in text
    page_ = check(
        sanne, "/verzoeken/nieuw/beperken",
        [("scope", "categories"), ("categories", "contact"), ("categories", "address"),
         ("ground", "accuracy"), ("explanation", "Mijn adres in Utrecht klopt niet")],
    )  # fmt: skip
    assert "Contactgegevens" in page_ and "Adresgegevens" in page_
    reference = reference_of(send(sanne, "beperken", page_))
    row = _assert_stored(app, reference, "restriction", "Utrecht")
    assert row.scope == {"categories": ["contact", "address"]}
    assert _details(app, reference)["ground"] == "accuracy"


def test_an_objection_offers_purposes_on_legitimate_interests_and_direct_marketing(
    app: Flask, sanne: FlaskClient
) -> None:
    form = page(sanne, "/verzoeken/nieuw/bezwaar")
    assert 'value="service-improvement"' in form
    assert "Ons belang: Wij willen terugkerende problemen herkennen en voorkomen." in form
    assert 'value="contract"' not in form
    # The newsletter rests on consent, but it is direct marketing: an objection always stops it.
    assert 'value="newsletter"' in form and "Direct marketing: wij stoppen altijd." in form
    assert "U hoeft daarvoor geen reden te geven." in form
    assert "dwingende redenen" in form  # art. 21(1): not "our reasons weigh more heavily"
    text = post(
        sanne, "/verzoeken/nieuw/bezwaar", [("csrf_token", token_in(form)), ("key", key_in(form)),
        ("purposes", "contract")],
    ).get_data(as_text=True)  # fmt: skip
    assert "Kies uit de lijst" in text  # a purpose not on legitimate interests is refused
    page_ = check(sanne, "/verzoeken/nieuw/bezwaar", [("purposes", "service-improvement"),
                  ("explanation", "Ik werk bij een concurrent")])  # fmt: skip
    reference = reference_of(send(sanne, "bezwaar", page_))
    row = _assert_stored(app, reference, "objection", "concurrent")
    assert row.scope == {"purposes": ["service-improvement"]}


def test_a_withdrawal_of_consent_offers_only_consent_purposes(
    app: Flask, sanne: FlaskClient
) -> None:
    form = page(sanne, "/verzoeken/nieuw/toestemming")
    assert 'value="newsletter"' in form and 'value="service-improvement"' not in form
    text = post(
        sanne,
        "/verzoeken/nieuw/toestemming",
        [("csrf_token", token_in(form)), ("key", key_in(form))],
    ).get_data(as_text=True)
    assert '<a href="#purposes-0">Kies minstens één doel</a>' in text
    page_ = check(sanne, "/verzoeken/nieuw/toestemming", [("purposes", "newsletter")])
    reference = reference_of(send(sanne, "toestemming", page_))
    assert stored(app, reference).scope == {"purposes": ["newsletter"]}


def test_the_same_form_sent_twice_makes_one_request(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    page_ = check(
        sanne, "/verzoeken/nieuw/vraag", [("subject", "Dubbel"), ("question", "Twee keer?")]
    )
    first = reference_of(send(sanne, "vraag", page_))
    second = reference_of(send(sanne, "vraag", page_))
    assert first == second
    assert count_requests(app) == 1
    mailbox.wait_for(1)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1


def test_a_failed_commit_says_not_received_keeps_everything_and_can_be_sent_again(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    page_ = check(
        sanne, "/verzoeken/nieuw/vraag", [("subject", "Storing"), ("question", "Lukt het?")]
    )
    real_commit = Session.commit
    failures = []

    def commit(self: Session) -> None:
        holds_request = any(isinstance(o, DataRequest) for o in self.identity_map.values())
        if holds_request and not failures:
            failures.append(1)
            raise OperationalError("COMMIT", {}, Exception("database is gone"))
        real_commit(self)

    monkeypatch.setattr(Session, "commit", commit)
    response = send(sanne, "vraag", page_)
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "Uw verzoek is niet ontvangen" in html
    assert '<input type="hidden" name="question" value="Lukt het?">' in html
    assert key_in(html) == key_in(page_)
    assert failures == [1]
    assert count_requests(app) == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    assert mailbox.messages == []

    reference = reference_of(send(sanne, "vraag", html))
    assert count_requests(app) == 1
    assert reference in mailbox.last()["Subject"]


def test_sending_is_rate_limited_per_customer(app: Flask, sanne: FlaskClient) -> None:
    app.config["DSR_SUBMIT_LIMIT"] = "2 per hour"
    for n in range(2):
        page_ = check(
            sanne, "/verzoeken/nieuw/vraag", [("subject", f"Vraag {n}"), ("question", "?")]
        )
        reference_of(send(sanne, "vraag", page_))
    page_ = check(sanne, "/verzoeken/nieuw/vraag", [("subject", "Nog een"), ("question", "?")])
    assert send(sanne, "vraag", page_).status_code == 429
    assert count_requests(app) == 2


def test_the_limit_counts_the_customer_not_the_session(app: Flask, sanne: FlaskClient) -> None:
    """Signing in again (a new session, another browser) does not start a new count; and the
    count is kept under the customer's number, never under the session's secret token."""
    from portal.extensions import limiter

    app.config["DSR_SUBMIT_LIMIT"] = "2 per hour"
    for n in range(2):
        page_ = check(
            sanne, "/verzoeken/nieuw/vraag", [("subject", f"Vraag {n}"), ("question", "?")]
        )
        reference_of(send(sanne, "vraag", page_))
    other_browser = app.test_client()
    customer_id = sign_in(app, other_browser)
    page_ = check(
        other_browser, "/verzoeken/nieuw/vraag", [("subject", "Nog een"), ("question", "?")]
    )
    assert send(other_browser, "vraag", page_).status_code == 429
    assert count_requests(app) == 2
    with other_browser.session_transaction() as session:
        token = session["_user_id"]
    keys = " ".join(str(key) for key in limiter.storage.storage)  # type: ignore[attr-defined]
    assert f"customer:{customer_id}/" in keys
    assert token not in keys


def test_the_list_shows_every_request_newest_first_with_its_deadline(
    app: Flask, sanne: FlaskClient
) -> None:
    refs = []
    for subject in ("Eerste", "Tweede"):
        page_ = check(sanne, "/verzoeken/nieuw/vraag", [("subject", subject), ("question", "?")])
        refs.append(reference_of(send(sanne, "vraag", page_)))
    html = page(sanne, "/verzoeken/")
    assert html.index(refs[1]) < html.index(refs[0])
    assert "Ontvangen" in html and "nog " in html
    start = page(sanne, "/verzoeken/nieuw")
    names = ("Uw gegevens laten verbeteren", "Uw gegevens laten verwijderen", "Bezwaar maken",
             "Uw toestemming intrekken", "Een vraag over uw privacy")  # fmt: skip
    for name in names:
        assert name in start


def test_a_request_of_an_address_no_mail_header_takes_is_stored_without_a_receipt(
    app: Flask,
) -> None:
    """A customer who signed in before addresses were checked strictly (or through an identity
    provider) may have an address with a non-ASCII name: the request is stored all the same."""
    from portal.auth.services import sign_in_with_verified_email
    from portal.models import RequestKind

    with app.test_request_context():
        customer = sign_in_with_verified_email("jörg@example.nl", "oidc")
        submitted = services.submit(
            customer, RequestKind.QUESTION, details={"subject": "Vraag", "question": "Hoe?"},
            locale="nl",
        )  # fmt: skip
        db.session.commit()
        assert submitted.created and submitted.outbox_ids == []
        assert db.session.get(DataRequest, submitted.request.id) is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
