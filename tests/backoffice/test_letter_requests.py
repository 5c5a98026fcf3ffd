"""Requests received by post, e-mail or phone, entered by staff (/beheer/verzoeken/nieuw): the
deadline runs from the day received, a verified e-mail links the customer, the receipt goes to
the given address, and the form checks what it must."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from portal.backoffice import queue
from portal.dsr import services as dsr
from portal.dsr.deadlines import response_deadline
from portal.extensions import db
from portal.models import AuditEvent, DataRequest, OutboxMessage, RequestAction, utcnow
from portal.policy import current_policy
from portal.reminders import privacy_contact_address

from ..auth.conftest import Mailbox, mailbox  # noqa: F401 - the real SMTP server (fixture)
from ..clock import firm_today
from ..staff.conftest import Staff, _light_argon2, make_staff  # noqa: F401 - shared fixtures
from .test_queue import (  # noqa: F401 - shared fixtures and helpers
    SANNE,
    Desk,
    _fresh_simulators,
    _push_request_context,
    customer,
    desk,
    settings_overrides,
)

NEW = "/beheer/verzoeken/nieuw"


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


@pytest.fixture
def agent(app: Flask) -> Staff:
    return make_staff(app, "agent@firm.example", "agent", name="Arie Agent")


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "channel": "post", "received_on": "", "kind": "access", "name": "Jan Brief",
        "email": "", "address": "Dorpsstraat 1\n1234 AB Ergens", "phone": "",
        "identity_verification": "customer_and_invoice_number", "identity_note": "",
        "subject": "", "text": "Ik wil weten welke gegevens u van mij heeft.", "locale": "nl",
    }  # fmt: skip
    data.update(overrides)
    return data


def _only_request(app: Flask) -> DataRequest:
    with app.app_context():
        row = db.session.scalars(sa.select(DataRequest)).one()
        db.session.expunge(row)
        return row


def test_a_letter_runs_from_the_day_received_and_keeps_the_writer(
    app: Flask, officer: Staff
) -> None:
    received = firm_today() - timedelta(days=20)
    b = desk(app, officer)

    response = b.post(NEW, **_form(received_on=received.isoformat()))

    assert response.status_code == 303
    found = _only_request(app)
    assert found.channel == "post" and found.customer_id is None
    assert found.received_on == received
    assert found.deadline == response_deadline(received)
    assert found.identity_verification == "customer_and_invoice_number"
    with app.app_context():
        assert dsr.requester_of(found)["name"] == "Jan Brief"
    page = b.page(response.headers["Location"])
    assert "Jan Brief" in page and "Dorpsstraat 1" in page


def test_staff_are_told_to_answer_a_writer_without_email_by_post(
    app: Flask, officer: Staff
) -> None:
    """No e-mail address: nothing is sent, and staff are never told the customer was."""
    b = desk(app, officer)
    page = b.post(NEW, **_form(received_on=firm_today().isoformat())).headers["Location"]
    reference = page.rsplit("/", 1)[1]
    # the form to ask a question says so beforehand, not that the portal mails them
    before = b.page(page)
    assert "Vraag het per post of telefoon" in before
    assert "krijgt dit per e-mail" not in before

    def flashed(step: str, **data: str) -> str:
        response = b.post(f"{page}/{step}", page=page, **data)
        assert response.status_code == 303, step
        return " ".join(re.sub(r"<[^>]+>", " ", b.page(response.headers["Location"])).split())

    for step, data in (
        ("informatie", {"question": "Wat is uw klantnummer?"}),
        ("verlengen", {"months": "1", "extend_reason": "Veel systemen"}),
        ("afsluiten", {"closing_message": "Hierbij het overzicht."}),
    ):
        shown = flashed(step, **data)
        assert "geen e-mailadres bekend" in shown, step
        assert "De klant heeft gehoord" not in shown and "naar de klant gestuurd" not in shown
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
        found = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        # What to tell them by post is in the history.
        messages = [dsr.message_of(e) for e in found.events]
    assert "Wat is uw klantnummer?" in messages and "Hierbij het overzicht." in messages


def test_received_on_31_january_is_due_at_the_end_of_february() -> None:
    # The rule the form relies on (portal/dsr/deadlines.py), for a date within the form's range.
    # The end of February (28 Feb 2026 is a Saturday: the next working day, 2 March).
    assert response_deadline(date(2026, 1, 31)) == date(2026, 3, 2)


def test_a_verified_email_links_the_customer_and_gets_the_receipt(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    sanne = customer(app)
    b = desk(app, officer)

    response = b.post(
        NEW, **_form(channel="email", email=SANNE.upper(), kind="erasure", locale="en",
                     received_on=firm_today().isoformat(), identity_verification="known_email"),
    )  # fmt: skip

    assert response.status_code == 303
    found = _only_request(app)
    assert found.customer_id == sanne and found.locale == "en" and found.kind == "erasure"
    message = mailbox.last()
    assert message["To"] == SANNE and message["Content-Language"] == "en"
    assert found.reference in message["Subject"]
    # She is told how it got here, and what to do if she did not make it (she can withdraw it
    # online before anything is erased: see the week below).
    with app.app_context():
        contact = privacy_contact_address(current_policy())
    for body in (mailbox.text_of(message), mailbox.html_of(message)):
        assert "We received this request by e-mail and entered it in our privacy portal" in body
        assert f"Did you not make this request? Tell us at once at {contact}" in body
        assert "or withdraw it online" in body
    assert "/verzoeken/" + found.reference in mailbox.text_of(message)


@pytest.mark.parametrize(
    ("overrides", "anchor"),
    [
        ({"received_on": (firm_today() + timedelta(days=1)).isoformat()}, "received_on"),
        ({"received_on": (firm_today() - timedelta(days=120)).isoformat()}, "received_on"),
        ({"received_on": "31-31-2026"}, "received_on"),
        ({"name": ""}, "name"),
        ({"email": "geen adres"}, "email"),
        ({"identity_verification": "other"}, "identity_note"),
        ({"text": ""}, "text"),
        ({"channel": ""}, "channel"),
    ],
)
def test_the_form_shows_what_is_wrong(
    app: Flask, officer: Staff, overrides: dict[str, str], anchor: str
) -> None:
    b = desk(app, officer)
    data = _form(received_on=firm_today().isoformat())
    data.update(overrides)

    response = b.post(NEW, **data)

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "error-summary" in html and f'href="#{anchor}"' in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DataRequest)) == 0


# --- the same form sent twice ----------------------------------------------------------------

KEY_RE = re.compile(r'name="key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="key"')


def _key_of(b: Desk) -> str:
    match = KEY_RE.search(b.page(NEW))
    assert match, "no one-time key on the form"
    return match.group(1) or match.group(2)


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (
            int(db.session.scalar(sa.select(sa.func.count()).select_from(DataRequest)) or 0),
            int(db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0),
        )


@pytest.mark.parametrize("email", ["jan.brief@example.nl", SANNE])
def test_the_same_form_sent_twice_enters_one_request_with_one_receipt(
    app: Flask, officer: Staff, email: str
) -> None:
    sanne = customer(app)
    b = desk(app, officer)
    key = _key_of(b)
    assert key != _key_of(b)  # a fresh key for every form shown
    data = _form(channel="email", email=email, received_on=firm_today().isoformat(),
                 identity_verification="known_email", key=key)  # fmt: skip

    first = b.post(NEW, **data)
    second = b.post(NEW, **data)

    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    found = _only_request(app)
    assert found.customer_id == (sanne if email == SANNE else None)
    assert _counts(app) == (1, 1)
    assert "niet twee keer ingevoerd" in b.page(second.headers["Location"])
    # Another form (another key) is another request.
    assert b.post(NEW, **{**data, "key": _key_of(b)}).status_code == 303
    assert _counts(app) == (2, 2)


def test_a_double_click_at_the_same_moment_enters_one_request(
    app: Flask, officer: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = desk(app, officer), Desk(app)  # the same staff member, in two tabs
    assert two.sign_in(officer, steps=1).status_code == 303  # the next code
    key = _key_of(one)
    data = _form(email="jan.brief@example.nl", received_on=firm_today().isoformat(), key=key)
    tokens = [one.token(NEW), two.token(NEW)]
    barrier = threading.Barrier(2)
    enter = queue.enter_request

    def both_validated_then_enter(**kwargs: Any) -> Any:
        barrier.wait(timeout=10)  # both requests got here before either stored anything
        return enter(**kwargs)

    monkeypatch.setattr(queue, "enter_request", both_validated_then_enter)
    codes: list[int] = []

    def post(b: Desk, token: str) -> None:
        codes.append(b.client.post(NEW, data={"csrf_token": token, **data}).status_code)

    threads = [
        threading.Thread(target=post, args=(b, t)) for b, t in zip((one, two), tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert codes == [303, 303]
    assert _counts(app) == (1, 1)


def test_an_objection_by_letter_names_what_it_objects_to(app: Flask, officer: Staff) -> None:
    """As a customer's own objection or withdrawal of consent, one entered for a letter says
    which purposes it is about: staff see them on the request."""
    b = desk(app, officer)
    today = firm_today().isoformat()
    form = b.page(NEW)
    assert 'name="consent_purposes" type="checkbox" value="newsletter"' in form
    missing = b.post(NEW, **_form(kind="objection", received_on=today))
    assert missing.status_code == 400
    assert "Kies waartegen bezwaar wordt gemaakt" in missing.get_data(as_text=True)
    wrong = b.post(
        NEW, **_form(kind="withdraw_consent", received_on=today, consent_purposes="support")
    )
    assert wrong.status_code == 400  # support does not rest on consent
    done = b.post(
        NEW, **_form(kind="withdraw_consent", received_on=today, consent_purposes="newsletter")
    )
    assert done.status_code == 303
    request = _only_request(app)
    assert request.scope == {"purposes": ["newsletter"]}
    page = b.page(done.headers["Location"])
    assert "Nieuwsbrief" in page and "Niets te tonen" not in page


def _erasures_started(app: Flask) -> int:
    with app.app_context():
        started = sa.select(sa.func.count()).where(AuditEvent.action == "request.erasure_started")
        return int(db.session.scalar(started.select_from(AuditEvent)) or 0)


def test_who_entered_an_erasure_for_a_customer_does_not_carry_it_out_alone(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    """One staff member alone cannot enter a "letter" in a customer's name and erase their
    data at once: a colleague carries it out, or they themselves a week after entering it (the
    customer got the receipt and sees the request in the portal, to withdraw it if it is not
    theirs). Whatever day the letter says it was received."""
    customer(app)
    a = desk(app, agent)
    a.client.set_cookie("portal_lang", "en")
    entered = a.post(
        NEW, **_form(channel="post", email=SANNE, kind="erasure", locale="en",
                     received_on=(firm_today() - timedelta(days=25)).isoformat()),
    )  # fmt: skip
    assert entered.status_code == 303
    reference = _only_request(app).reference
    page = a.page(f"/beheer/verzoeken/{reference}")
    assert "You entered this request yourself." in page
    assert f"/beheer/verzoeken/{reference}/wissen" not in page  # no button for them

    refused = a.step(reference, "wissen")  # the button of an old page, or typed by hand
    assert refused.status_code == 409
    assert "so a colleague carries out the erasure" in refused.get_data(as_text=True)
    assert _erasures_started(app) == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RequestAction)) == 0

    # Six days later still not; after a week they may.
    with time_machine.travel(utcnow() + timedelta(days=6, hours=23), tick=False):
        later = desk(app, agent)
        assert later.step(reference, "wissen").status_code == 409
    with time_machine.travel(utcnow() + timedelta(days=7, minutes=1), tick=False):
        week = desk(app, agent)
        week.client.set_cookie("portal_lang", "en")
        page = week.page(f"/beheer/verzoeken/{reference}")
        assert "You entered this request yourself." not in page
        assert f"/beheer/verzoeken/{reference}/wissen" in page


def test_a_colleague_carries_out_an_erasure_another_entered_at_once(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    customer(app)
    a = desk(app, agent)
    today = firm_today().isoformat()
    entered = a.post(
        NEW, **_form(channel="email", email=SANNE, kind="erasure", received_on=today,
                     identity_verification="known_email"),
    )  # fmt: skip
    assert entered.status_code == 303
    reference = _only_request(app).reference
    o = desk(app, officer)
    o.client.set_cookie("portal_lang", "en")
    page = o.page(f"/beheer/verzoeken/{reference}")
    assert "You entered this request yourself." not in page
    assert o.step(reference, "wissen").status_code == 303
    assert _erasures_started(app) == 1


def test_an_erasure_the_customer_sent_in_the_portal_is_not_held(app: Flask, officer: Staff) -> None:
    """The rule is about requests staff entered: one from the customer's own account is
    carried out by whoever works on it."""
    from portal.models import RequestKind

    from .test_queue import submit  # the real submit, as the customer

    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details={"scope": "all"})
    o = desk(app, officer)
    assert o.step(reference, "wissen").status_code == 303
    assert _erasures_started(app) == 1
