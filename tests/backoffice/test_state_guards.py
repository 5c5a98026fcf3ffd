"""Guards on a request's state in the back office (/beheer/verzoeken/<reference>/...).

* A request whose work at the sources has started (erasure carried out, correction approved)
  is no longer refused: part of it was granted, so staff close it with a message instead.
* A request waiting for the customer's answer is not "started" (which dropped the open
  question and the customer's answer form), nor are its correction approved or its erasure
  carried out: staff wait for the answer, or withdraw the question (the customer is told).
* A request entered late, past or close to its deadline, warns staff, and its receipt says
  honestly that the deadline has passed.
* A withdrawal of consent (applies from receipt) is not extended; a mixed objection is, and its
  e-mail says the direct-marketing part applies from receipt all the same.
* A customer's answer is marked in the queue, on the dashboard and on the request page until
  staff take a step.
* The extend form offers only extensions that extend further.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from babel.dates import format_date
from flask import Flask

from portal.dsr.deadlines import response_deadline
from portal.extensions import db
from portal.models import AuditEvent, OutboxMessage, RequestAction, RequestKind

from ..auth.conftest import Mailbox, mailbox  # noqa: F401 - the real SMTP server (fixture)
from ..clock import firm_today
from ..dsr.conftest import sign_in
from ..staff.conftest import Staff, _light_argon2, make_staff  # noqa: F401 - shared fixtures
from .test_queue import (  # noqa: F401 - shared fixtures and helpers
    QUEUE,
    ROW_RE,
    SANNE,
    Desk,
    _fresh_simulators,
    _push_request_context,
    actions_of,
    correction_details,
    customer,
    desk,
    get_request,
    settings_overrides,
    submit,
    text,
)
from .test_step_guards import count, events_of

NEW = f"{QUEUE}/nieuw"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


def day(value: date) -> str:
    """A date as the English pages and e-mails write it."""
    return format_date(value, "medium", locale="en")


def english(b: Desk) -> Desk:
    b.client.set_cookie("portal_lang", "en")
    return b


def section(html: str, heading_id: str) -> str:
    """The request page from the step heading ``heading_id`` to the next step heading."""
    start = html.index(f'id="{heading_id}"')
    end = html.find("<h3", start + 1)
    return html[start : end if end != -1 else len(html)]


# --- 1. no refusal once the work at the sources has started ---------------------------------


def test_an_erasure_carried_out_at_the_sources_cannot_be_refused(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details={"scope": "all"})
    b = english(desk(app, officer))
    assert f"{reference}/weigeren" in b.page(f"{QUEUE}/{reference}")  # before: it may be
    assert b.step(reference, "wissen").status_code == 303
    mails = count(app, OutboxMessage)

    html = b.page(f"{QUEUE}/{reference}")
    assert f"{reference}/weigeren" not in html
    assert "No longer possible: the work at the sources has started" in text(html)
    refused = b.step(reference, "weigeren", refuse_reason="We need this data")

    assert refused.status_code == 409
    assert "so it can no longer be refused. Close the request instead" in text(
        refused.get_data(as_text=True)
    )
    assert get_request(app, reference).status == "in_progress"
    assert "refused" not in events_of(app, reference)
    assert count(app, OutboxMessage) == mails  # no "we cannot grant your request" e-mail


def test_an_approved_correction_cannot_be_refused(app: Flask, officer: Staff) -> None:
    sanne = customer(app)
    details = correction_details(app, sanne, "webshop", "customer", "last_name", "Bakker")
    reference = submit(app, sanne, RequestKind.CORRECTION, details=details)
    b = english(desk(app, officer))
    assert b.step(reference, "goedkeuren").status_code == 303

    refused = b.step(reference, "weigeren", refuse_reason="Not correct after all")

    assert refused.status_code == 409
    assert get_request(app, reference).status == "in_progress"
    assert f"{reference}/weigeren" not in b.page(f"{QUEUE}/{reference}")


# --- 2. the customer's open question is not dropped silently --------------------------------


def test_a_request_waiting_for_the_customer_is_not_started_over_their_question(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    sanne = customer(app)
    reference = submit(app, sanne, received_on=firm_today() - timedelta(days=3), locale="en")
    b = english(desk(app, officer))
    assert (
        b.step(reference, "verlengen", months="1", extend_reason="Many systems").status_code == 303
    )
    assert b.step(reference, "informatie", question="Which invoice?").status_code == 303
    assert get_request(app, reference).status == "waiting_for_customer"

    html = b.page(f"{QUEUE}/{reference}")
    assert f"{reference}/starten" not in html
    started = b.step(reference, "starten")

    assert started.status_code == 409
    assert "their answer is still awaited" in text(started.get_data(as_text=True))
    found = get_request(app, reference)
    assert (found.status, found.extension_months) == ("waiting_for_customer", 1)
    assert events_of(app, reference)[-1] == "info_requested"

    # Staff who no longer need the answer withdraw the question: back to the status before
    # waiting (extended), the history says so, and the customer is told not to answer.
    assert f"{reference}/vraag-intrekken" in html
    withdrawn = b.step(reference, "vraag-intrekken")
    assert withdrawn.status_code == 303
    assert get_request(app, reference).status == "extended"
    assert events_of(app, reference)[-1] == "info_withdrawn"
    told = mailbox.last()
    assert reference in told["Subject"] and "need not answer" in told["Subject"]
    assert "We no longer need it: you need not answer" in " ".join(Mailbox.text_of(told).split())
    page = text(b.page(f"{QUEUE}/{reference}"))
    assert "Question to the customer withdrawn" in page
    # Nothing to withdraw any more.
    assert b.step(reference, "vraag-intrekken").status_code == 409


def test_a_correction_is_not_approved_while_the_customer_s_answer_is_awaited(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    details = correction_details(app, sanne, "webshop", "customer", "last_name", "Bakker")
    reference = submit(app, sanne, RequestKind.CORRECTION, details=details)
    b = english(desk(app, officer))
    assert b.step(reference, "informatie", question="Bakker or Backer?").status_code == 303

    html = b.page(f"{QUEUE}/{reference}")
    assert f"{reference}/goedkeuren" not in html
    assert "Not now: the customer's answer to your question is awaited." in text(
        section(html, "approve-title")
    )
    approved = b.step(reference, "goedkeuren")

    assert approved.status_code == 409
    assert actions_of(app, reference) == []
    assert get_request(app, reference).status == "waiting_for_customer"

    assert b.step(reference, "vraag-intrekken").status_code == 303
    assert get_request(app, reference).status == "in_progress"
    assert b.step(reference, "goedkeuren").status_code == 303
    assert len(actions_of(app, reference)) == 1


def test_an_erasure_is_not_carried_out_while_the_customer_s_answer_is_awaited(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details={"scope": "all"})
    b = english(desk(app, officer))
    assert (
        b.step(reference, "informatie", question="Everything, the invoices too?").status_code == 303
    )
    assert f"{reference}/wissen" not in b.page(f"{QUEUE}/{reference}")

    erased = b.step(reference, "wissen")

    assert erased.status_code == 409
    assert count(app, RequestAction) == 0
    assert "erasure_started" not in events_of(app, reference)
    assert get_request(app, reference).status == "waiting_for_customer"


def test_an_answer_by_post_is_recorded_and_the_request_moves_on_without_mail(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    """A letter writer answers staff's question by post: staff record the answer, so the
    request moves on. Withdrawing the question was the only way before, which recorded that
    the question was withdrawn and told the writer they need not answer."""
    b = english(desk(app, officer))
    entered = b.post(NEW, **_letter(received_on=firm_today().isoformat(), email=""))
    page = entered.headers["Location"]
    reference = page.rsplit("/", 1)[1]
    assert b.step(reference, "informatie", question="Your customer number?").status_code == 303
    assert get_request(app, reference).status == "waiting_for_customer"
    waiting = section(b.page(page), "waiting-title")
    assert f"{reference}/antwoord" in waiting
    deadline = day(get_request(app, reference).deadline)
    assert f"The legal deadline does not stop while you wait: it stays {deadline}." in text(waiting)

    empty = b.step(reference, "antwoord", answer="  ")
    assert empty.status_code == 400 and "error-summary" in empty.get_data(as_text=True)
    recorded = b.step(reference, "antwoord", answer="Letter of 3 December: customer no. 4711")

    assert recorded.status_code == 303
    assert get_request(app, reference).status == "in_progress"
    assert events_of(app, reference)[-1] == "info_recorded"
    assert count(app, OutboxMessage) == 0  # nothing to anyone: they answered
    html = b.page(f"{QUEUE}/{reference}")
    assert "Letter of 3 December: customer no. 4711" in text(section(html, "history-title"))
    assert "Customer's answer by post, e-mail or phone, recorded by staff" in text(html)
    assert f"{reference}/antwoord" not in html and f"{reference}/vraag-intrekken" not in html
    assert 'id="answered"' not in html  # staff recorded it: nothing new to read
    with app.app_context():
        logged = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "request.info_recorded")
        ).one()
        assert (logged.actor_type, logged.actor_id) == ("staff", str(officer.id))
        assert "4711" not in str(logged.details)
    # Nothing open to answer any more.
    assert b.step(reference, "antwoord", answer="Again").status_code == 409
    assert events_of(app, reference)[-1] == "info_recorded"


def test_an_answer_by_e_mail_is_recorded_the_customer_sees_it_and_gets_no_mail(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    """A portal customer replied to the question's e-mail instead of answering in the portal:
    the extended request goes back to "extended", and the customer's history shows what they
    sent, without an e-mail telling them they need not answer."""
    sanne = customer(app)
    reference = submit(app, sanne, received_on=firm_today() - timedelta(days=3), locale="en")
    b = english(desk(app, officer))
    assert (
        b.step(reference, "verlengen", months="1", extend_reason="Many systems").status_code == 303
    )
    assert b.step(reference, "informatie", question="Which invoice?").status_code == 303
    sent = count(app, OutboxMessage)

    assert b.step(reference, "antwoord", answer="By e-mail: invoice 2024-17").status_code == 303

    assert get_request(app, reference).status == "extended"
    assert count(app, OutboxMessage) == sent
    them = app.test_client()
    them.set_cookie("portal_lang", "en")
    sign_in(app, them)
    detail = text(them.get(f"/verzoeken/{reference}").get_data(as_text=True))
    assert "You sent us information" in detail and "By e-mail: invoice 2024-17" in detail
    assert "info recorded" not in detail


def test_extensions_and_entered_requests_are_audited_with_their_dates(
    app: Flask, officer: Staff
) -> None:
    """Who extended by how much, to which deadline; from which day of receipt a request runs
    (typed by staff for a letter): in the audit log, without personal data."""
    received = firm_today() - timedelta(days=3)
    b = desk(app, officer)
    entered = b.post(NEW, **_letter(received_on=received.isoformat()))
    reference = entered.headers["Location"].rsplit("/", 1)[1]
    assert b.step(reference, "verlengen", months="1", extend_reason="Veel").status_code == 303
    assert b.step(reference, "verlengen", months="2", extend_reason="Meer").status_code == 303

    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        submitted = next(e for e in entries if e.action == "request.submitted")
        extended = [e for e in entries if e.action == "request.extended"]
    assert submitted.details["received_on"] == received.isoformat()
    assert submitted.details["deadline"] == response_deadline(received).isoformat()
    assert [(e.details["months"], e.details["deadline"]) for e in extended] == [
        (1, response_deadline(received, 1).isoformat()),
        (2, response_deadline(received, 2).isoformat()),
    ]
    assert all(e.actor_id == str(officer.id) for e in extended)
    assert "Jan Brief" not in str([e.details for e in entries])


# --- 3. a request entered past (or close to) its deadline -----------------------------------


def _letter(**overrides: str) -> dict[str, str]:
    data = {
        "channel": "post", "received_on": "", "kind": "access", "name": "Jan Brief",
        "email": "jan.brief@example.nl", "address": "", "phone": "",
        "identity_verification": "customer_and_invoice_number", "identity_note": "",
        "subject": "", "text": "Welke gegevens heeft u van mij?", "locale": "en",
    }  # fmt: skip
    data.update(overrides)
    return data


def test_a_request_entered_past_its_deadline_warns_staff_and_the_receipt_says_so(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    received = firm_today() - timedelta(days=60)
    deadline = response_deadline(received)
    b = english(desk(app, officer))

    entered = b.post(NEW, **_letter(received_on=received.isoformat()))

    assert entered.status_code == 303
    page = text(b.page(entered.headers["Location"]))
    overdue = (firm_today() - deadline).days
    assert f"The legal deadline of this request was {day(deadline)}: it is {overdue} days" in page
    receipt = " ".join(Mailbox.text_of(mailbox.last()).split())
    assert f"The legal deadline for our answer was {day(deadline)}" in receipt
    assert "we are sorry for the delay, and answer as soon as possible" in receipt
    assert "at the latest" not in receipt  # no promise of a day that is past


def test_a_withdrawal_entered_past_its_deadline_is_confirmed_honestly(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    received = firm_today() - timedelta(days=50)
    b = english(desk(app, officer))
    entered = b.post(NEW, **_letter(received_on=received.isoformat(), kind="withdraw_consent",
                                    consent_purposes="newsletter"))  # fmt: skip
    assert entered.status_code == 303
    receipt = " ".join(Mailbox.text_of(mailbox.last()).split())
    assert "This applies from the day we received it: we stop this use at once." in receipt
    assert "at the latest" not in receipt


def test_a_request_entered_close_to_its_deadline_warns_staff(app: Flask, officer: Staff) -> None:
    today = firm_today()
    received = next(
        today - timedelta(days=back)
        for back in range(20, 40)
        if 1 <= (response_deadline(today - timedelta(days=back)) - today).days <= 5
    )
    left = (response_deadline(received) - today).days
    b = english(desk(app, officer))

    entered = b.post(NEW, **_letter(received_on=received.isoformat()))

    page = text(b.page(entered.headers["Location"]))
    assert "The legal deadline of this request is " in page
    assert (f"{left} day left" if left == 1 else f"{left} days left") in page
    # A request received today warns of nothing.
    fresh = b.post(NEW, **_letter(received_on=today.isoformat(), name="Piet Post"))
    assert "The legal deadline of this request" not in text(b.page(fresh.headers["Location"]))


# --- 4. a withdrawal of consent is not extended ---------------------------------------------


def test_a_withdrawal_of_consent_cannot_be_extended(app: Flask, officer: Staff) -> None:
    sanne = customer(app)
    reference = submit(
        app, sanne, RequestKind.WITHDRAW_CONSENT, details={}, scope={"purposes": ["newsletter"]}
    )
    b = english(desk(app, officer))
    html = b.page(f"{QUEUE}/{reference}")
    assert f"{reference}/verlengen" not in html
    assert "Not possible: a withdrawal of consent or an objection to direct marketing applies" in (
        text(section(html, "extend-title"))
    )

    extended = b.step(reference, "verlengen", months="2", extend_reason="Busy")

    assert extended.status_code == 409
    assert "its deadline cannot be extended" in text(extended.get_data(as_text=True))
    found = get_request(app, reference)
    assert (found.extension_months, found.status) == (0, "received")


def test_extending_a_mixed_objection_says_direct_marketing_applies_from_receipt(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    sanne = customer(app)
    reference = submit(
        app, sanne, RequestKind.OBJECTION, locale="en", details={},
        scope={"purposes": ["newsletter", "service-improvement"]},
    )  # fmt: skip
    b = english(desk(app, officer))
    assert f"{reference}/verlengen" in b.page(f"{QUEUE}/{reference}")

    extended = b.step(reference, "verlengen", months="1", extend_reason="Weighing takes time")

    assert extended.status_code == 303
    assert get_request(app, reference).extension_months == 1
    body = Mailbox.text_of(mailbox.last())
    assert (
        "The extra time is only for the other purposes of your objection (Improving our"
        " services). Your objection to direct marketing (Newsletter) applies from the day we"
        " received it"
    ) in " ".join(body.split())


# --- 5. the customer's answer is marked until staff take a step -----------------------------


def test_a_customer_s_answer_is_marked_in_the_queue_dashboard_and_request_page(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    sanne = customer(app)
    reference = submit(app, sanne)
    other = submit(app, sanne)
    b = english(desk(app, officer))
    assert b.step(reference, "mij").status_code == 303  # assigned to the officer
    assert b.step(reference, "informatie", question="Which invoice?").status_code == 303
    assert 'id="count-answered"><a href="/beheer/verzoeken?status=answered">0<' in b.page(QUEUE)

    # The customer answers in the portal.
    them = app.test_client()
    sign_in(app, them)
    detail = them.get(f"/verzoeken/{reference}").get_data(as_text=True)
    token = CSRF_RE.search(detail)
    assert token is not None
    answer = them.post(f"/verzoeken/{reference}/aanvullen",
                       data={"csrf_token": token.group(1), "text": "Invoice 2024-17"})  # fmt: skip
    assert answer.status_code == 303
    # The staff member it is assigned to is mailed: the reference and a link, no answer.
    told = mailbox.last()
    assert told["To"] == officer.email and reference in told["Subject"]
    body = Mailbox.text_of(told)
    assert f"/beheer/verzoeken/{reference}" in body
    assert "2024-17" not in body and SANNE not in body

    html = b.page(QUEUE)
    rows = dict(ROW_RE.findall(html))
    assert reference in rows and other in rows
    row = html[html.index(f'id="request-{reference}"') :]
    row = row[: row.index("</tr>")]
    assert "Customer replied" in text(row)
    other_row = html[html.index(f'id="request-{other}"') :]
    assert "Customer replied" not in text(other_row[: other_row.index("</tr>")])
    assert re.search(r'id="count-answered"><a href="[^"]+"><strong>1<', html)
    assert [r for r, _ in ROW_RE.findall(b.page(f"{QUEUE}?status=answered"))] == [reference]
    assert re.search(r'id="dash-answered"><a href="[^"]+"><strong>1<', b.page("/beheer/"))
    page = b.page(f"{QUEUE}/{reference}")
    assert 'id="answered"' in page and "The customer replied" in text(page)
    assert 'id="answered"' not in b.page(f"{QUEUE}/{other}")

    # A step of staff (here an internal note) means someone took it up: the marker goes.
    assert b.step(reference, "notitie", note="Read the answer, checking invoice").status_code == 303
    assert 'id="answered"' not in b.page(f"{QUEUE}/{reference}")
    assert ROW_RE.findall(b.page(f"{QUEUE}?status=answered")) == []
    assert re.search(r'id="dash-answered"><a href="[^"]+">0<', b.page("/beheer/"))


# --- 6. the extend form offers only what extends further ------------------------------------


def test_once_extended_by_a_month_only_two_months_in_all_are_offered(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    received = firm_today() - timedelta(days=3)
    reference = submit(app, sanne, received_on=received)
    b = english(desk(app, officer))
    before = section(b.page(f"{QUEUE}/{reference}"), "extend-title")
    assert 'value="1"' in before and 'value="2"' in before

    assert (
        b.step(reference, "verlengen", months="1", extend_reason="Many systems").status_code == 303
    )

    after = section(b.page(f"{QUEUE}/{reference}"), "extend-title")
    assert 'name="months"' in after
    assert 'value="1"' not in after and 'value="2"' in after
    assert "1 further month in all" not in text(after)
    two = response_deadline(received, 2)
    assert f"With 2 further months in all: {day(two)}" in text(after)
