"""One request's page: history, the complaint text, adding information, withdrawing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from portal.dsr import services
from portal.extensions import db
from portal.models import DataRequest, RequestEvent
from portal.tasks import enqueue_mail

from ..auth.conftest import Mailbox
from .conftest import page, post, token_in
from .helpers import check, reference_of, send, stored


def _question(client: FlaskClient) -> str:
    page_ = check(client, "/verzoeken/nieuw/vraag", [("subject", "Adres"), ("question", "Wie?")])
    return reference_of(send(client, "vraag", page_))


def _staff(app: Flask, reference: str, step: str, *args: object) -> None:
    """Put a request in a state the way staff will (the staff pages come later)."""
    with app.test_request_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        outbox = getattr(services, step)(row, *args, staff_id=1)
        db.session.commit()
        for outbox_id in outbox:
            enqueue_mail(outbox_id)


def test_the_page_shows_what_was_asked_status_deadline_and_history(
    app: Flask, sanne: FlaskClient
) -> None:
    reference = _question(sanne)
    html = page(sanne, f"/verzoeken/{reference}")
    assert "Een vraag over uw privacy" in html and reference in html
    assert "Wie?" in html
    assert "Wij hebben uw verzoek ontvangen" in html
    assert stored(app, reference).deadline.strftime("%d-%m-%Y") in html
    assert "Autoriteit Persoonsgegevens" not in html  # only after an extension or refusal


def test_an_extension_shows_the_reason_and_the_right_to_complain(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    reference = _question(sanne)
    _staff(app, reference, "extend", 2, "Wij moeten vijf systemen nakijken")
    html = page(sanne, f"/verzoeken/{reference}")
    assert "Verlengd" in html and "Wij moeten vijf systemen nakijken" in html
    assert "Autoriteit Persoonsgegevens" in html
    assert "https://autoriteitpersoonsgegevens.nl" in html
    assert "naar de rechter" in html
    message = mailbox.wait_for(2)[-1]
    text = Mailbox.text_of(message)
    assert "Wij moeten vijf systemen nakijken" in text
    assert "Autoriteit Persoonsgegevens" in text and "naar de rechter" in text
    assert stored(app, reference).deadline.strftime("%d-%m-%Y") in text


def test_a_refusal_shows_the_reason_and_the_right_to_complain(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    reference = _question(sanne)
    _staff(app, reference, "refuse", "Dit valt buiten de AVG")
    html = page(sanne, f"/verzoeken/{reference}")
    assert "Afgewezen" in html and "Dit valt buiten de AVG" in html
    assert "Autoriteit Persoonsgegevens" in html
    assert "Dit verzoek intrekken" not in html  # final: nothing to withdraw
    assert "Autoriteit Persoonsgegevens" in Mailbox.text_of(mailbox.wait_for(2)[-1])


def test_information_can_be_added_only_when_we_wait_for_it(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    reference = _question(sanne)
    html = page(sanne, f"/verzoeken/{reference}")
    assert "aanvullen" not in html
    refused = post(sanne, f"/verzoeken/{reference}/aanvullen",
                   {"csrf_token": token_in(html), "text": "Hier"})  # fmt: skip
    assert refused.status_code == 409
    assert [e.action for e in stored(app, reference).events] == ["received"]

    _staff(app, reference, "ask_information", "Welk klantnummer heeft u?")
    assert "Welk klantnummer heeft u?" in Mailbox.text_of(mailbox.wait_for(2)[-1])
    html = page(sanne, f"/verzoeken/{reference}")
    assert "Wij wachten op uw antwoord" in html and "Welk klantnummer heeft u?" in html
    empty = post(sanne, f"/verzoeken/{reference}/aanvullen",
                 {"csrf_token": token_in(html), "text": " "})  # fmt: skip
    text = empty.get_data(as_text=True)
    assert '<a href="#text">Vul uw antwoord in</a>' in text and "<title>Fout:" in text
    done = post(sanne, f"/verzoeken/{reference}/aanvullen",
                {"csrf_token": token_in(html), "text": "Klantnummer 1042"})  # fmt: skip
    assert done.status_code == 303
    row = stored(app, reference)
    assert row.status == "in_progress"
    assert row.events[-1].action == "info_added"
    assert b"1042" not in (row.events[-1].message_encrypted or b"")
    assert "Klantnummer 1042" in page(sanne, f"/verzoeken/{reference}")


def test_extending_while_we_wait_for_the_customer_keeps_their_answer_form(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    reference = _question(sanne)
    _staff(app, reference, "ask_information", "Welk klantnummer heeft u?")
    first_deadline = stored(app, reference).deadline
    _staff(app, reference, "extend", 1, "Wij wachten op uw antwoord en hebben meer tijd nodig")
    row = stored(app, reference)
    assert row.status == "waiting_for_customer"
    assert row.deadline > first_deadline
    assert [e.action for e in row.events][-1] == "extended"
    html = page(sanne, f"/verzoeken/{reference}")
    assert "Wij wachten op uw antwoord" in html and "1 maand verlengd" in html
    assert "Autoriteit Persoonsgegevens" in html
    answered = post(sanne, f"/verzoeken/{reference}/aanvullen",
                    {"csrf_token": token_in(html), "text": "Klantnummer 1042"})  # fmt: skip
    assert answered.status_code == 303
    assert stored(app, reference).status == "extended"  # back to work, under the new deadline


def test_withdrawing_asks_first_then_withdraws_and_mails(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    reference = _question(sanne)
    confirm = page(sanne, f"/verzoeken/{reference}/intrekken")
    assert "Ja, trek mijn verzoek in" in confirm
    assert stored(app, reference).status == "received"  # the GET changes nothing
    response = post(sanne, f"/verzoeken/{reference}/intrekken", {"csrf_token": token_in(confirm)})
    assert response.status_code == 303
    assert stored(app, reference).status == "withdrawn"
    assert "ingetrokken" in mailbox.wait_for(2)[-1]["Subject"]
    # pressed twice: done, as asked (not "can no longer be withdrawn"), and mailed once
    again = post(sanne, f"/verzoeken/{reference}/intrekken", {"csrf_token": token_in(confirm)})
    assert again.status_code == 303
    assert "U heeft uw verzoek" in page(sanne, f"/verzoeken/{reference}")
    assert stored(app, reference).status == "withdrawn"


def test_a_finished_request_cannot_be_withdrawn(app: Flask, sanne: FlaskClient) -> None:
    reference = _question(sanne)
    _staff(app, reference, "close", "Klaar")
    html = page(sanne, f"/verzoeken/{reference}/intrekken", 409)
    assert "Ja, trek mijn verzoek in" not in html
    assert stored(app, reference).status == "done"


def test_a_withdrawal_racing_a_staff_step_loses_cleanly(app: Flask, sanne: FlaskClient) -> None:
    """The customer's page was read before staff closed the request: the withdrawal is refused,
    the close stands, and no step is recorded twice."""
    reference = _question(sanne)
    html = page(sanne, f"/verzoeken/{reference}/intrekken")
    with app.test_request_context():
        stale = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        # staff close it through another connection meanwhile
        with db.engine.begin() as other:
            other.execute(
                sa.update(DataRequest)
                .where(DataRequest.id == stale.id)
                .values(status="in_progress")
            )
        with pytest.raises(services.RequestError) as raised:
            services.withdraw(stale, actor_id=stale.customer_id)
        assert raised.value.code == "conflict"
        db.session.rollback()
    row = stored(app, reference)
    assert row.status == "in_progress"
    assert [e.action for e in row.events] == ["received"]
    assert "intrekken" in html.lower()


def test_a_deadline_passed_while_we_wait_for_the_customer_is_not_called_overdue(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    reference = _question(sanne)
    _staff(app, reference, "ask_information", "Welk klantnummer heeft u?")
    with app.app_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        row.deadline = row.received_on - timedelta(days=3)
        db.session.commit()
    html = page(sanne, f"/verzoeken/{reference}")
    assert "verstreken; wij wachten op uw antwoord" in html
    assert "te laat" not in html
    # Once answered, the request is ours again and the days count as overdue.
    post(sanne, f"/verzoeken/{reference}/aanvullen",
         {"csrf_token": token_in(html), "text": "Klantnummer 1042"})  # fmt: skip
    assert "te laat" in page(sanne, f"/verzoeken/{reference}")


def test_an_objection_to_direct_marketing_cannot_be_refused(app: Flask, sanne: FlaskClient) -> None:
    page_ = check(sanne, "/verzoeken/nieuw/bezwaar", [("purposes", "newsletter")])
    reference = reference_of(send(sanne, "bezwaar", page_))
    with app.test_request_context(), pytest.raises(services.RequestError) as refused:
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        assert services.direct_marketing_objected(row) == ["newsletter"]
        services.refuse(row, "Wij wegen ons belang zwaarder", staff_id=1)
    assert refused.value.code == "unconditional"
    assert stored(app, reference).status == "received"
    # An objection to a purpose on legitimate interests can still be refused, with a reason.
    other = reference_of(send(sanne, "bezwaar", check(
        sanne, "/verzoeken/nieuw/bezwaar", [("purposes", "service-improvement")])))  # fmt: skip
    _staff(app, other, "refuse", "Dwingende redenen: beveiliging van onze systemen")
    assert stored(app, other).status == "refused"


def test_the_customer_sees_a_restriction_in_force_and_when_it_was_lifted(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    page_ = check(sanne, "/verzoeken/nieuw/beperken",
                  [("scope", "all"), ("ground", "accuracy")])  # fmt: skip
    reference = reference_of(send(sanne, "beperken", page_))
    assert "Van kracht" not in page(sanne, f"/verzoeken/{reference}")
    _staff(app, reference, "close")
    assert "Van kracht: wij bewaren deze gegevens" in page(sanne, f"/verzoeken/{reference}")
    _staff(app, reference, "lift_restriction", "Uw gegevens bleken juist.")
    # Told before it ends (art. 18(3)): in force until the day it ends, with the reason.
    html = page(sanne, f"/verzoeken/{reference}")
    with app.test_request_context():
        ends = services.restriction_ends_on(
            db.session.scalars(
                sa.select(DataRequest).where(DataRequest.reference == reference)
            ).one()
        )
    assert ends is not None and ends.strftime("%d-%m-%Y") in html
    assert "Opgeheven" not in html and "Uw gegevens bleken juist." in html
    with app.test_request_context():
        event = db.session.scalars(
            sa.select(RequestEvent).where(RequestEvent.action == services.RESTRICTION_LIFTED)
        ).one()
        event.created_at -= timedelta(days=services.LIFT_NOTICE_DAYS)
        db.session.commit()
    html = page(sanne, f"/verzoeken/{reference}")
    assert "Opgeheven" in html and "Van kracht" not in html


def test_withdrawing_and_answering_say_that_they_worked(
    app: Flask, sanne: FlaskClient, mailbox: Mailbox
) -> None:
    """After the answer to our question and after withdrawing, the customer reads that it
    worked, not only the request's page again."""
    sanne.set_cookie("portal_lang", "en")
    reference = _question(sanne)
    _staff(app, reference, "ask_information", "Welk klantnummer heeft u?")
    html = page(sanne, f"/verzoeken/{reference}")
    post(sanne, f"/verzoeken/{reference}/aanvullen",
         {"csrf_token": token_in(html), "text": "Klantnummer 1042"})  # fmt: skip
    after = page(sanne, f"/verzoeken/{reference}")
    assert 'role="status">Thank you for your answer. We continue with your request.<' in after
    assert "Thank you for your answer" not in page(sanne, f"/verzoeken/{reference}")  # once
    confirm = page(sanne, f"/verzoeken/{reference}/intrekken")
    post(sanne, f"/verzoeken/{reference}/intrekken", {"csrf_token": token_in(confirm)})
    withdrawn = page(sanne, f"/verzoeken/{reference}")
    assert f"You withdrew your request {reference}. We have stopped working on it." in withdrawn


def test_a_withdrawn_request_shows_no_date_to_wait_for(app: Flask, sanne: FlaskClient) -> None:
    """No answer comes to a withdrawn request: neither its page nor the list of requests says
    when one is due."""
    sanne.set_cookie("portal_lang", "en")
    reference = _question(sanne)
    due = stored(app, reference).deadline
    assert "Answer due by" in page(sanne, f"/verzoeken/{reference}")
    confirm = page(sanne, f"/verzoeken/{reference}/intrekken")
    post(sanne, f"/verzoeken/{reference}/intrekken", {"csrf_token": token_in(confirm)})
    shown_due = format_date(due, "medium", locale="en")  # as the English pages write it
    detail = page(sanne, f"/verzoeken/{reference}")
    assert "Withdrawn" in detail and "Answer due by" not in detail
    assert shown_due not in detail.split("<h2", 1)[0]
    listed = page(sanne, "/verzoeken/")
    row = listed[listed.index(reference) :].split("</tr>", 1)[0]
    assert 'data-label="Answer due by">(none)</td>' in row and shown_due not in row


def test_an_answer_the_database_did_not_take_is_kept_and_said_so(
    app: Flask, sanne: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saving the customer's answer fails (the database went away): they are told it was not
    received, with what they typed still in the field to send again; nothing changed."""
    reference = _question(sanne)
    _staff(app, reference, "ask_information", "Welk adres?")
    html = page(sanne, f"/verzoeken/{reference}")
    real = Session.commit
    failed: list[int] = []

    def commit(self: Session) -> None:
        answered = [
            o
            for o in (*self.new, *self.identity_map.values())
            if isinstance(o, RequestEvent) and o.action == "info_added"
        ]
        if answered and not failed:
            failed.append(1)
            raise OperationalError("COMMIT", {}, Exception("database gone"))
        real(self)

    monkeypatch.setattr(Session, "commit", commit)
    refused = post(
        sanne,
        f"/verzoeken/{reference}/aanvullen",
        {"csrf_token": token_in(html), "text": "Oudegracht 112 Utrecht"},
    )
    assert refused.status_code == 503
    answer = refused.get_data(as_text=True)
    assert failed == [1]
    assert "Oudegracht 112 Utrecht" in answer and "niet ontvangen" in answer
    assert stored(app, reference).status == "waiting_for_customer"
    monkeypatch.setattr(Session, "commit", real)
    again = post(
        sanne,
        f"/verzoeken/{reference}/aanvullen",
        {"csrf_token": token_in(answer), "text": "Oudegracht 112 Utrecht"},
    )
    assert again.status_code == 303
    assert stored(app, reference).status != "waiting_for_customer"
