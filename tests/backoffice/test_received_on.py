"""Correcting the date received of a request staff entered (/beheer/verzoeken/<ref>/
ontvangstdatum): privacy officers only, with a reason, within the days the entry form allowed;
the deadline is counted again (an extension only as far as it was told in time), the step is in
the history and audited with dates only, and the customer is mailed the new deadline when it
moved. Never for a request sent in the portal, nor for a finished one.

New English texts are checked in English (the language switch), so these tests pass before the
Dutch catalogue has them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from babel.dates import format_date
from flask import Flask
from flask_babel import force_locale

from portal.backoffice import queue
from portal.dsr import services as dsr
from portal.dsr.deadlines import response_deadline
from portal.extensions import db
from portal.models import DataRequest, RequestChannel, RequestKind, RequestStatus
from portal.tasks import enqueue_mail

from ..auth.conftest import Mailbox, mailbox  # noqa: F401 - the real SMTP server (fixture)
from ..clock import firm_today
from ..dsr.conftest import english, sign_in
from ..staff.conftest import Staff, _light_argon2, make_staff  # noqa: F401 - shared fixtures
from .test_queue import (  # noqa: F401 - shared fixtures and helpers
    QUEUE,
    SANNE,
    Desk,
    _fresh_simulators,
    _push_request_context,
    audit_actions,
    customer,
    get_request,
    settings_overrides,
    submit,
    text,
)

STEP = "ontvangstdatum"
WRITER = "jan.brief@example.nl"


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


@pytest.fixture
def agent(app: Flask) -> Staff:
    return make_staff(app, "agent@firm.example", "agent", name="Arie Agent")


def english_desk(app: Flask, staff: Staff) -> Desk:
    """A signed-in staff browser that reads the back office in English."""
    b = Desk(app)
    assert b.sign_in(staff).status_code == 303
    assert b.client.get("/taal/en").status_code == 303
    return b


def entered(
    app: Flask,
    staff: Staff,
    received_on: date,
    *,
    email: str | None = WRITER,
    locale: str = "en",
    kind: RequestKind = RequestKind.ACCESS,
) -> str:
    """A request entered by staff for someone who wrote a letter (its receipt is mailed when
    there is an address)."""
    with app.test_request_context():
        result = queue.enter_request(
            kind=kind, channel=RequestChannel.POST, received_on=received_on, name="Jan Brief",
            email=email, address="Dorpsstraat 1", phone=None,
            identity_verification="customer_and_invoice_number", identity_note=None,
            text="Welke gegevens heeft u van mij?", subject=None, sources=[], locale=locale,
            staff_id=staff.id,
        )  # fmt: skip
        db.session.commit()
        for outbox_id in result.outbox_ids:  # its receipt, sent as the view sends it
            enqueue_mail(outbox_id)
        return result.request.reference


def in_english(day: date) -> str:
    """A day as the English pages and mails write it (``format_day``)."""
    return format_date(day, "medium", locale="en")


def correct(
    b: Desk, reference: str, on: date | str, reason: str = "Letter stamped that day"
) -> Any:
    value = on.isoformat() if isinstance(on, date) else on
    return b.step(reference, STEP, corrected_received_on=value, correction_reason=reason)


def test_an_officer_corrects_the_date_and_the_customer_is_told_the_new_deadline(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    wrong = firm_today() - timedelta(days=3)
    right = firm_today() - timedelta(days=25)
    reference = entered(app, officer, wrong)
    receipts = len(mailbox.wait_for(1))
    b = english_desk(app, officer)
    page = b.page(f"{QUEUE}/{reference}")
    assert f'action="/beheer/verzoeken/{reference}/ontvangstdatum"' in page
    assert "Correct the date received" in page

    response = correct(b, reference, right, "The letter's postmark says so")

    assert response.status_code == 303
    found = get_request(app, reference)
    assert found.received_on == right
    assert found.deadline == response_deadline(right)
    shown = text(b.page(response.headers["Location"]))
    assert f"The date received is now {in_english(right)} (it was {in_english(wrong)})" in shown
    assert (
        f"The deadline moved from {in_english(response_deadline(wrong))} to"
        f" {in_english(found.deadline)}. The customer was told the new deadline." in shown
    )
    # The history shows the step and its reason, to staff and to the customer.
    assert "Date received corrected; deadline counted again" in shown
    assert "The letter's postmark says so" in shown
    with app.app_context():
        request = db.session.get(DataRequest, found.id)
        assert request is not None
        [step] = [e for e in request.events if e.action == dsr.RECEIVED_ON_CORRECTED]
        assert step.visible_to_customer and step in dsr.visible_history(request)
        assert dsr.message_of(step) == "The letter's postmark says so"
    with app.test_request_context(), force_locale("en"):
        from portal.dsr.texts import event_name

        assert event_name(dsr.RECEIVED_ON_CORRECTED) == (
            "We corrected the date we received your request"
        )
    # Audited with the dates and deadlines before and after; not the reason.
    [(_, details)] = [
        (name, d) for name, d in audit_actions(app) if name == "request.received_on_corrected"
    ]
    assert details == {
        "received_on_before": wrong.isoformat(), "received_on": right.isoformat(),
        "deadline_before": response_deadline(wrong).isoformat(),
        "deadline": found.deadline.isoformat(), "extension_months_before": 0,
        "extension_months": 0, "status": "received",
    }  # fmt: skip
    # The writer is mailed the new deadline, in their language, with the reason.
    told = mailbox.wait_for(receipts + 1)[-1]
    assert told["To"] == WRITER and told["Content-Language"] == "en"
    assert reference in told["Subject"] and "New deadline" in told["Subject"]
    body = " ".join(Mailbox.text_of(told).split())
    assert f"we received your request on {in_english(right)}" in body
    assert f"We now answer by {in_english(found.deadline)} at the latest." in body
    assert "Why: The letter's postmark says so" in body


def test_a_dutch_request_is_mailed_in_dutch(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    """The mail goes out in the request's language; its dates are written the Dutch way (the
    sentences are Dutch once the catalogue has them)."""
    right = firm_today() - timedelta(days=20)
    reference = entered(app, officer, firm_today(), locale="nl")
    receipts = len(mailbox.wait_for(1))
    b = english_desk(app, officer)

    assert correct(b, reference, right).status_code == 303

    told = mailbox.wait_for(receipts + 1)[-1]
    assert told["Content-Language"] == "nl"
    deadline = get_request(app, reference).deadline
    assert deadline.strftime("%d-%m-%Y") in Mailbox.text_of(told)
    assert right.strftime("%d-%m-%Y") in Mailbox.text_of(told)


def _same_deadline_pair() -> tuple[date, date]:
    """Two days within the range a correction allows whose deadlines are the same day (the
    month's end falls on a weekend: both run to the Monday)."""
    day = firm_today() - timedelta(days=80)
    while day < firm_today():
        if response_deadline(day) == response_deadline(day + timedelta(days=1)):
            return day + timedelta(days=1), day
        day += timedelta(days=1)
    raise AssertionError("no two days with one deadline")


def test_nothing_is_mailed_when_the_deadline_stays(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    wrong, right = _same_deadline_pair()
    reference = entered(app, officer, wrong)
    receipts = len(mailbox.wait_for(1))
    b = english_desk(app, officer)

    response = correct(b, reference, right)

    assert response.status_code == 303
    found = get_request(app, reference)
    assert found.received_on == right and found.deadline == response_deadline(wrong)
    shown = text(b.page(response.headers["Location"]))
    assert (
        f"The deadline stays {in_english(found.deadline)}, so nothing was sent to the customer."
        in shown
    )
    assert "Date received corrected" in shown  # in the history all the same
    assert len(mailbox.messages) == receipts


def test_a_letter_writer_without_e_mail_is_told_by_post(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    reference = entered(app, officer, firm_today(), email=None)
    b = english_desk(app, officer)
    page = text(b.page(f"{QUEUE}/{reference}"))
    assert "if the deadline moves, tell them the new deadline by post or phone" in page

    response = correct(b, reference, firm_today() - timedelta(days=10))

    assert response.status_code == 303
    shown = text(b.page(response.headers["Location"]))
    assert "no e-mail address is known for this person, so nothing was sent" in shown
    assert "The customer was told" not in shown
    assert mailbox.messages == []


def test_an_extension_counts_only_if_it_was_told_within_a_month_of_the_corrected_date(
    app: Flask, officer: Staff
) -> None:
    """Extended today, on a request recorded as received three days ago: it was told in time.
    Had it been received 60 days ago, the customer was told after the first month, later than
    art. 12(3) allows: that extension does not count, and "extended" no longer holds."""
    recorded = firm_today() - timedelta(days=3)
    b = english_desk(app, officer)
    late = entered(app, officer, recorded, email=None)
    in_time = entered(app, officer, recorded, email=None)
    for reference in (late, in_time):
        extend = b.step(reference, "verlengen", months="1", extend_reason="Many systems")
        assert extend.status_code == 303
        assert get_request(app, reference).status == RequestStatus.EXTENDED.value

    long_ago = firm_today() - timedelta(days=60)
    response = correct(b, late, long_ago)
    assert response.status_code == 303
    found = get_request(app, late)
    assert found.extension_months == 0
    assert found.deadline == response_deadline(long_ago)
    assert found.status == RequestStatus.IN_PROGRESS.value
    shown = text(b.page(response.headers["Location"]))
    assert "The extension no longer counts" in shown
    assert "it is" in shown and "overdue" in shown  # and the deadline has passed

    recent = firm_today() - timedelta(days=10)
    assert correct(b, in_time, recent).status_code == 303
    found = get_request(app, in_time)
    assert found.extension_months == 1
    assert found.deadline == response_deadline(recent, 1)
    assert found.status == RequestStatus.EXTENDED.value


def test_only_the_extension_told_in_time_counts(app: Flask, officer: Staff) -> None:
    """Two extensions (one month, then two): only the first was told within the first month
    of the corrected date, so one further month counts."""
    recorded = firm_today() - timedelta(days=3)
    reference = entered(app, officer, recorded, email=None)
    with app.test_request_context():
        request = queue.find(reference)
        assert request is not None
        dsr.extend(request, 1, "Many systems", staff_id=officer.id)
        dsr.extend(request, 2, "Even more", staff_id=officer.id)
        # the first one was told 40 days ago
        first = next(e for e in request.events if e.action == "extended")
        first.created_at = first.created_at - timedelta(days=40)
        db.session.commit()
        received = firm_today() - timedelta(days=45)
        assert dsr.timely_extension_months(request, received) == 1
        assert dsr.timely_extension_months(request, recorded) == 2
        assert dsr.timely_extension_months(request, firm_today() - timedelta(days=80)) == 0


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (1, "The date received cannot be in the future"),
        (-93, "The date received cannot be before"),
        (0, "This is the date received already"),
    ],
)
def test_a_date_out_of_range_is_refused_and_keeps_what_was_typed(
    app: Flask, officer: Staff, day: int, message: str
) -> None:
    reference = entered(app, officer, firm_today(), email=None)
    b = english_desk(app, officer)
    typed = (firm_today() + timedelta(days=day)).isoformat()

    response = correct(b, reference, typed, "Typed the wrong day")

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in text(html)
    assert 'href="#corrected_received_on"' in html  # the error summary leads to the field
    assert f'value="{typed}"' in html and "Typed the wrong day</textarea>" in html
    assert 'aria-invalid="true"' in html
    assert get_request(app, reference).received_on == firm_today()


def test_a_reason_is_required(app: Flask, officer: Staff) -> None:
    reference = entered(app, officer, firm_today(), email=None)
    b = english_desk(app, officer)
    typed = (firm_today() - timedelta(days=2)).isoformat()

    response = correct(b, reference, typed, "  ")

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'href="#correction_reason"' in html and f'value="{typed}"' in html
    assert get_request(app, reference).received_on == firm_today()


def test_not_after_the_day_it_was_entered(app: Flask, officer: Staff) -> None:
    """Entered (and dated) days ago: it was received by then, so not later."""
    reference = entered(app, officer, firm_today() - timedelta(days=20), email=None)
    with app.app_context():
        request = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        request.created_at = request.created_at - timedelta(days=10)
        db.session.commit()
    entered_on = firm_today() - timedelta(days=10)
    b = english_desk(app, officer)
    page = text(b.page(f"{QUEUE}/{reference}"))
    assert f"From {in_english(entered_on - timedelta(days=92))} to {in_english(entered_on)}" in page

    response = correct(b, reference, entered_on + timedelta(days=1))

    assert response.status_code == 400
    assert f"cannot be after {in_english(entered_on)}, the day the request was entered" in text(
        response.get_data(as_text=True)
    )
    assert correct(b, reference, entered_on).status_code == 303


def test_never_for_a_request_sent_in_the_portal(app: Flask, officer: Staff) -> None:
    """Its date received is the moment the customer sent it: exact."""
    reference = submit(app, customer(app))
    b = english_desk(app, officer)
    assert 'action="/beheer/verzoeken/' + reference + '/ontvangstdatum"' not in b.page(
        f"{QUEUE}/{reference}"
    )

    response = correct(b, reference, firm_today() - timedelta(days=5))

    assert response.status_code == 409
    assert "The customer sent this request in the portal" in text(response.get_data(as_text=True))
    assert get_request(app, reference).received_on == firm_today()
    with app.test_request_context():
        request = queue.find(reference)
        assert request is not None
        with pytest.raises(dsr.RequestError) as refused:
            dsr.correct_received_on(request, firm_today(), "x", staff_id=officer.id)
        assert refused.value.code == "portal_received"


def test_never_for_a_finished_request(app: Flask, officer: Staff) -> None:
    reference = entered(app, officer, firm_today(), email=None)
    b = english_desk(app, officer)
    assert b.step(reference, "afsluiten", closing_message="Sent by post").status_code == 303

    response = correct(b, reference, firm_today() - timedelta(days=5))

    assert response.status_code == 409
    assert "This request is finished" in text(response.get_data(as_text=True))
    assert get_request(app, reference).received_on == firm_today()


def test_agents_may_not_correct_the_date(app: Flask, officer: Staff, agent: Staff) -> None:
    reference = entered(app, officer, firm_today(), email=None)
    b = english_desk(app, agent)
    page = text(b.page(f"{QUEUE}/{reference}"))
    assert "ask a privacy officer to correct it" in page
    assert "/ontvangstdatum" not in b.page(f"{QUEUE}/{reference}")

    response = b.client.post(
        f"{QUEUE}/{reference}/{STEP}",
        data={
            "csrf_token": b.token(f"{QUEUE}/{reference}"),
            "corrected_received_on": (firm_today() - timedelta(days=5)).isoformat(),
            "correction_reason": "x",
        },
    )

    assert response.status_code == 403
    assert get_request(app, reference).received_on == firm_today()


def test_the_customer_sees_the_step_and_the_new_dates(app: Flask, officer: Staff) -> None:
    """A request entered for a customer of the portal (their verified address): they follow it
    there, and see the corrected date, the deadline and why."""
    sanne = customer(app, SANNE)
    with app.test_request_context():
        result = queue.enter_request(
            kind=RequestKind.ACCESS, channel=RequestChannel.EMAIL, received_on=firm_today(),
            name="Sanne", email=SANNE, address=None, phone=None,
            identity_verification="known_email", identity_note=None, text="Welke gegevens?",
            subject=None, sources=[], locale="en", staff_id=officer.id,
        )  # fmt: skip
        db.session.commit()
        reference = result.request.reference
        assert result.request.customer_id == sanne
    right = firm_today() - timedelta(days=12)
    b = english_desk(app, officer)
    assert correct(b, reference, right, "Arrived earlier").status_code == 303

    client = app.test_client()
    assert sign_in(app, client, SANNE) == sanne
    english(client)
    page = text(client.get(f"/verzoeken/{reference}").get_data(as_text=True))
    assert "We corrected the date we received your request" in page
    assert "Arrived earlier" in page
    assert in_english(right) in page
    assert in_english(response_deadline(right)) in page
