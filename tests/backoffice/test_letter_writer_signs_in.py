"""A letter writer with an e-mail address signs in later: the request staff entered for them
becomes theirs (exactly their address, never another's), so they follow it under 'My requests'
and answer staff's questions there; their e-mails say to sign in with that address."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal import retention
from portal.auth.services import sign_in_with_verified_email
from portal.dsr import services as dsr
from portal.extensions import db
from portal.models import AuditEvent, Customer, DataRequest

from ..auth.conftest import Forms, Mailbox, mailbox  # noqa: F401 - the real SMTP server (fixture)
from ..clock import firm_today
from ..staff.conftest import Staff, _light_argon2, make_staff  # noqa: F401 - shared fixtures
from .test_queue import (  # noqa: F401 - shared fixtures and helpers
    Desk,
    _fresh_simulators,
    _push_request_context,
    desk,
    settings_overrides,
    text,
)

NEW = "/beheer/verzoeken/nieuw"
JAN = "jan.brief@example.nl"
REF_RE = re.compile(r"AVG-[A-Z2-9]{8}")


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


def enter(b: Desk, email: str, *, locale: str = "nl", kind: str = "access") -> str:
    """Staff enter a request by e-mail for ``email``; returns its reference."""
    response = b.post(
        NEW, channel="email", received_on=firm_today().isoformat(), kind=kind,
        name="Jan Brief", email=email, address="", phone="",
        identity_verification="known_email", identity_note="", subject="",
        text="Welke gegevens heeft u van mij?", locale=locale,
    )  # fmt: skip
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    return str(response.headers["Location"]).rsplit("/", 1)[1]


def mail_to(mailbox: Mailbox, address: str, after: int) -> list[Any]:  # noqa: F811
    """The messages to ``address`` (in any case) that arrived after the first ``after``."""
    messages = mailbox.wait_for(after + 1)[after:]
    return [m for m in messages if str(m["To"]).lower() == address]


def sign_in(app: Flask, mailbox: Mailbox, email: str) -> FlaskClient:  # noqa: F811
    """A customer's browser signed in the real way: the code from the e-mail."""
    client = app.test_client()
    forms = Forms()
    before = len(mailbox.messages)
    assert forms.post(client, "/inloggen", email=email).status_code == 303
    message = mailbox.wait_for(before + 1)[-1]
    response = forms.post(client, "/inloggen/code", code=Mailbox.code_in(message))
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    assert response.headers["Location"].endswith("/account")
    return client


def base_url(app: Flask) -> str:
    return str(app.extensions["portal.settings"].base_url).rstrip("/")


def request_row(app: Flask, reference: str) -> DataRequest:
    with app.app_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        db.session.expunge(row)
        return row


def customer_id_of(app: Flask, email: str) -> int | None:
    with app.test_request_context():
        from portal.backoffice.queue import verified_customer

        found = verified_customer(email)
        return found.id if found is not None else None


def links(app: Flask) -> list[tuple[str | None, str | None, dict[str, Any]]]:
    """The ``request.linked`` audit entries: (request id, actor type, details)."""
    with app.app_context():
        return [
            (e.subject_id, e.actor_type, e.details)
            for e in db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action == "request.linked")
                .order_by(AuditEvent.id)
            )
        ]


@pytest.mark.parametrize(
    ("locale", "typed", "signs_in_with"),
    [("nl", "  Jan.Brief@Example.NL ", JAN), ("en", JAN, "  JAN.brief@EXAMPLE.nl  ")],
)
def test_the_writer_signs_in_with_the_address_follows_and_answers_the_request(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
    locale: str,
    typed: str,
    signs_in_with: str,
) -> None:
    b = desk(app, officer)
    before = len(mailbox.messages)
    reference = enter(b, typed, locale=locale)
    assert request_row(app, reference).customer_id is None  # nobody has this address yet
    receipt = mail_to(mailbox, JAN, before)[-1]
    assert receipt["Content-Language"] == locale
    assert f"/verzoeken/{reference}" in Mailbox.text_of(receipt)
    # staff ask a question; the writer can only answer it in the portal
    before = len(mailbox.messages)
    asked = b.step(reference, "informatie", question="Wat is uw klantnummer?")
    assert asked.status_code == 303
    assert mail_to(mailbox, JAN, before)
    assert request_row(app, reference).status == "waiting_for_customer"
    not_yet = "Nog niet met dit adres in het portaal ingelogd"
    assert not_yet in text(b.page(f"/beheer/verzoeken/{reference}"))  # staff see it waits

    jan = sign_in(app, mailbox, signs_in_with)

    found = request_row(app, reference)
    assert found.customer_id == customer_id_of(app, JAN) is not None
    assert found.requester_email_hash is None
    mine = jan.get("/verzoeken/")
    assert mine.status_code == 200 and reference in mine.get_data(as_text=True)
    page = jan.get(f"/verzoeken/{reference}")
    assert page.status_code == 200
    assert "Wat is uw klantnummer?" in page.get_data(as_text=True)
    answered = Forms().post(
        jan, f"/verzoeken/{reference}", f"/verzoeken/{reference}/aanvullen",
        text="Mijn klantnummer is K-1001.",
    )  # fmt: skip
    assert answered.status_code == 303
    assert request_row(app, reference).status == "in_progress"
    staff_page = text(b.page(f"/beheer/verzoeken/{reference}"))
    assert "Mijn klantnummer is K-1001." in staff_page and not_yet not in staff_page
    # audited with ids only: the customer, and how the address was proved
    assert links(app) == [
        (str(found.id), "customer", {"customer": found.customer_id, "via": "sign_in"})
    ]


def test_another_address_never_sees_the_request(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    reference = enter(desk(app, officer), JAN)

    for other in ("jan.brief@example.com", "jan.brief+x@example.nl", "an.brief@example.nl"):
        client = sign_in(app, mailbox, other)
        assert reference not in client.get("/verzoeken/").get_data(as_text=True)
        assert client.get(f"/verzoeken/{reference}").status_code == 404
        answer = Forms().post(
            client, "/verzoeken/", f"/verzoeken/{reference}/aanvullen", text="Hallo"
        )
        assert answer.status_code == 404
    assert request_row(app, reference).customer_id is None
    assert links(app) == []

    jan = sign_in(app, mailbox, JAN)
    assert jan.get(f"/verzoeken/{reference}").status_code == 200


def test_a_linked_request_is_never_linked_again(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    reference = enter(desk(app, officer), JAN)
    sign_in(app, mailbox, JAN)
    first = request_row(app, reference).customer_id
    assert first is not None
    sign_in(app, mailbox, JAN)  # the next sign-in changes nothing
    assert request_row(app, reference).customer_id == first
    assert len(links(app)) == 1

    with app.test_request_context():
        request = db.session.get(DataRequest, request_row(app, reference).id)
        other = Customer()
        db.session.add(other)
        db.session.flush()
        assert dsr.link_entered_requests(other, JAN, via="sign_in") == []
        # the portal forgets Jan; signing in again makes a new customer, who does not get it
        retention.forget_customer(first, reason="inactive")
        db.session.commit()
        assert request is not None and request.customer_id is None
    sign_in(app, mailbox, JAN)
    assert request_row(app, reference).customer_id is None
    assert customer_id_of(app, JAN) not in (None, first)
    assert len(links(app)) == 1


def test_verifying_an_added_address_links_its_requests(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    reference = enter(desk(app, officer), JAN)
    client = sign_in(app, mailbox, "jan@werk.example.nl")
    forms = Forms()
    before = len(mailbox.messages)
    added = forms.post(client, "/account/toevoegen", kind="email", value="JAN.BRIEF@example.nl")
    assert added.status_code == 303
    assert request_row(app, reference).customer_id is None  # not until the code is typed
    code = Mailbox.code_in(mail_to(mailbox, JAN, before)[-1])

    assert forms.post(client, "/account/adres-bevestigen", code=code).status_code == 303

    found = request_row(app, reference)
    assert found.customer_id == customer_id_of(app, "jan@werk.example.nl") is not None
    assert client.get(f"/verzoeken/{reference}").status_code == 200
    assert [(via["via"]) for _, _, via in links(app)] == ["address_verified"]


def test_anonymised_requests_and_a_done_erasure_of_everything_are_not_linked(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    b = desk(app, officer)
    anonymised = enter(b, JAN)
    erased = enter(b, JAN, kind="erasure")
    withdrawn = enter(b, JAN)
    with app.test_request_context():
        rows = {
            r.reference: r
            for r in db.session.scalars(sa.select(DataRequest).order_by(DataRequest.id))
        }
        rows[anonymised].status = "done"
        retention.anonymise_request(rows[anonymised])
        assert rows[anonymised].requester_email_hash is None
        rows[anonymised].requester_email_hash = dsr.writer_email_hash(JAN)  # even so
        rows[erased].status = "done"
        rows[withdrawn].status = "withdrawn"  # finished, not anonymised: it is linked
        db.session.commit()

    jan = sign_in(app, mailbox, JAN)

    assert request_row(app, anonymised).customer_id is None
    assert request_row(app, erased).customer_id is None
    assert request_row(app, withdrawn).customer_id is not None
    listed = jan.get("/verzoeken/").get_data(as_text=True)
    assert set(REF_RE.findall(listed)) == {withdrawn}


def test_requests_entered_before_the_upgrade_are_indexed_once_by_the_command(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    b = desk(app, officer)
    reference = enter(b, JAN)
    without_email = enter(b, "")
    with app.app_context():
        db.session.execute(sa.update(DataRequest).values(requester_email_hash=None))
        db.session.commit()

    runner = app.test_cli_runner()
    result = runner.invoke(args=["requests", "index-writers"])
    assert result.exit_code == 0 and result.output.startswith("1 requests"), result.output
    assert runner.invoke(args=["requests", "index-writers"]).output.startswith("0 requests")
    assert request_row(app, without_email).requester_email_hash is None

    sign_in(app, mailbox, JAN)
    assert request_row(app, reference).customer_id is not None


def test_a_customer_s_own_address_is_linked_at_once_and_mailed_as_before(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    with app.test_request_context():
        jan = sign_in_with_verified_email(JAN, "test").id
        db.session.commit()
    before = len(mailbox.messages)
    reference = enter(desk(app, officer), JAN.upper(), locale="en")
    found = request_row(app, reference)
    assert found.customer_id == jan and found.requester_email_hash is None
    body = Mailbox.text_of(mail_to(mailbox, JAN, before)[-1])
    assert "Your request online:" in body and "Sign in with this e-mail address" not in body


def test_the_writer_s_e_mails_say_to_sign_in_with_this_address_in_english(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    b = desk(app, officer)
    before = len(mailbox.messages)
    reference = enter(b, JAN, locale="en")
    assert b.step(reference, "informatie", question="Your customer number?").status_code == 303
    messages = mail_to(mailbox, JAN, before)
    assert len(messages) == 2
    wanted = (
        "Sign in with this e-mail address to follow your request online and to answer our "
        f"questions: {base_url(app)}/verzoeken/{reference}"
    )
    for message in messages:
        assert wanted in " ".join(Mailbox.text_of(message).split())
        assert "Sign in with this e-mail address" in Mailbox.html_of(message)
        assert "Your request online:" not in Mailbox.text_of(message)


def test_the_writer_s_e_mails_say_to_sign_in_with_this_address_in_dutch(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    """Needs the Dutch translation of the new sentence (portal/dsr/translations)."""
    before = len(mailbox.messages)
    reference = enter(desk(app, officer), JAN, locale="nl")
    body = " ".join(Mailbox.text_of(mail_to(mailbox, JAN, before)[-1]).split())
    assert (
        "Log in met dit e-mailadres om uw verzoek online te volgen en onze vragen te "
        f"beantwoorden: {base_url(app)}/verzoeken/{reference}"
    ) in body
