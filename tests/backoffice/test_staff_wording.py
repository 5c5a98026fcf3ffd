"""What staff read in the back office, and what the customer is told by the steps they take: the
purposes on the form for a letter (each once per kind, with its own legal basis, checked against
the kind), the prompt to answer a writer without e-mail by post, the customer's identifiers and
question in staff's words, a restriction's end announced before it comes (art. 18(3)) and its
scope in the e-mails."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.auth import services as auth
from portal.customer.texts import format_day
from portal.dsr import services as dsr
from portal.extensions import db
from portal.models import Customer, DataRequest, RequestEvent, RequestKind
from portal.settings import firm_today as portal_today

from ..auth.conftest import Mailbox, mailbox  # noqa: F401 - the real SMTP server (fixture)
from ..clock import firm_today
from ..staff.conftest import Staff, _light_argon2, make_staff  # noqa: F401 - shared fixtures
from .test_queue import (  # noqa: F401 - shared fixtures and helpers
    QUEUE,
    SANNE,
    Desk,
    _fresh_simulators,
    _push_request_context,
    customer,
    desk,
    get_request,
    settings_overrides,
    submit,
    text,
)

NEW = "/beheer/verzoeken/nieuw"


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


def english(app: Flask, staff: Staff) -> Desk:
    b = desk(app, staff)
    b.client.set_cookie("portal_lang", "en")
    return b


def _form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "channel": "post", "received_on": firm_today().isoformat(), "kind": "access",
        "name": "Jan Brief", "email": "", "address": "Dorpsstraat 1\n1234 AB Ergens",
        "phone": "", "identity_verification": "customer_and_invoice_number",
        "identity_note": "", "subject": "", "text": "Ik maak bezwaar.", "locale": "en",
    }  # fmt: skip
    data.update(overrides)
    return data


def _count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(DataRequest)) or 0)


# --- 1. the purposes on the form for a letter -----------------------------------------------


def test_each_purpose_shows_once_per_kind_with_its_own_legal_basis(
    app: Flask, officer: Staff
) -> None:
    html = english(app, officer).page(NEW)
    # The newsletter rests on consent and is direct marketing: it may be objected to and its
    # consent withdrawn, once in each group, never with the other kind's basis.
    assert html.count('value="newsletter"') == 2
    assert html.count('name="objection_purposes" type="checkbox" value="newsletter"') == 1
    assert html.count('name="consent_purposes" type="checkbox" value="newsletter"') == 1
    page = text(html)
    assert page.count("Newsletter (consent, direct marketing)") == 2
    assert "Newsletter (legitimate interest)" not in page
    assert "Improving our services (legitimate interest)" in page
    assert 'name="consent_purposes" type="checkbox" value="service-improvement"' not in html
    objection = page.index("For an objection: what do they object to?")
    consent = page.index("For a withdrawal of consent: for what do they withdraw it?")
    assert objection < page.index("Improving our services") < consent


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        # ticked for the withdrawal, but the request is an objection
        ({"kind": "objection", "consent_purposes": "newsletter"}, "consent_purposes",
         "These purposes are for a withdrawal of consent only"),
        ({"kind": "objection", "consent_purposes": "newsletter"}, "objection_purposes",
         "Choose what they object to"),
        ({"kind": "withdraw_consent", "objection_purposes": "newsletter"}, "objection_purposes",
         "These purposes are for an objection only"),
        # a purpose that does not rest on consent, sent anyway
        ({"kind": "withdraw_consent", "consent_purposes": "service-improvement"},
         "consent_purposes", "Choose from the list"),
        # purposes for a kind that has none
        ({"kind": "erasure", "objection_purposes": "newsletter"}, "objection_purposes",
         "These purposes are for an objection only"),
    ],
)  # fmt: skip
def test_purposes_that_do_not_fit_the_kind_are_shown_as_an_error(
    app: Flask, officer: Staff, data: dict[str, str], field: str, message: str
) -> None:
    b = english(app, officer)

    response = b.post(NEW, **_form(**data))

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'href="#{field}"' in html and message in text(html)
    assert _count(app) == 0


def test_the_purposes_of_the_chosen_kind_are_stored(app: Flask, officer: Staff) -> None:
    b = english(app, officer)

    response = b.post(
        NEW,
        **_form(kind="objection", objection_purposes=["newsletter", "service-improvement"]),
    )

    assert response.status_code == 303
    with app.app_context():
        row = db.session.scalars(sa.select(DataRequest)).one()
        assert row.scope == {"purposes": ["newsletter", "service-improvement"]}
    page = text(b.page(response.headers["Location"]))
    assert "What they object to Newsletter" in page


# --- 2. a writer without an e-mail address ---------------------------------------------------


def test_entering_a_letter_without_email_prompts_a_receipt_by_post(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    b = english(app, officer)

    response = b.post(NEW, **_form(kind="question", subject="Vraag"))

    assert response.status_code == 303
    found = get_request(app, response.headers["Location"].rsplit("/", 1)[1])
    page = text(b.page(response.headers["Location"]))
    assert "no receipt was sent: confirm by post or phone" in page
    assert found.reference in page and format_day_en(app, found.deadline) in page
    assert (
        'record how and when you told them, and what they said, under "Add an internal note"'
        in page
    )
    # The closing step speaks of post, not of a closing e-mail.
    assert "the portal sends nothing when you close" in page
    # Asking a question: the same prompt to tell them, and where to record it.
    asked = b.step(found.reference, "informatie", question="Wat is uw klantnummer?")
    shown = text(b.page(asked.headers["Location"]))
    assert "no e-mail address is known for this person" in shown
    assert '"Add an internal note"' in shown
    # Closing: nothing to note on a finished request, so no pointer to the note.
    closed = b.step(found.reference, "afsluiten", closing_message="Beantwoord per brief.")
    shown = text(b.page(closed.headers["Location"]))
    assert "no e-mail address is known for this person" in shown
    assert '"Add an internal note"' not in shown
    assert mailbox.messages == []


def test_entering_a_letter_with_email_sends_the_receipt_and_no_prompt(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    b = english(app, officer)

    response = b.post(NEW, **_form(kind="question", subject="Vraag", email="jan@example.nl"))

    assert response.status_code == 303
    page = text(b.page(response.headers["Location"]))
    assert "no receipt was sent" not in page and "Add an internal note" in page
    assert "the portal sends nothing when you close" not in page
    assert mailbox.wait_for(1)[0]["To"] == "jan@example.nl"


def format_day_en(app: Flask, day: object) -> str:
    with app.test_request_context(headers={"Cookie": "portal_lang=en"}):
        return format_day(day)  # type: ignore[arg-type]


# --- 3. the customer's identifiers and question in staff's words -----------------------------


def test_identifiers_show_their_kind_and_state_in_words(app: Flask, officer: Staff) -> None:
    sanne = customer(app)
    with app.test_request_context():
        who = db.session.get(Customer, sanne)
        assert who is not None
        auth.add_identifier(who, "customer_number", "K-1001", "invoice_number", "F1", "en")
        refused = auth.add_identifier(who, "phone", "0612345678", "invoice_number", "F2", "en")
        auth.reject_identifier(refused, staff_id=officer.id, reason_given=False)
        db.session.commit()
    reference = submit(app, sanne, details={"subject": "Vraag", "question": "Wat heeft u?"})

    page = text(english(app, officer).page(f"{QUEUE}/{reference}"))

    assert f"E-mail address: {SANNE} (verified)" in page
    assert "Customer number: K-1001 ( not verified yet )" in page  # in bold: not counted
    assert "Phone number: +31 6 12345678 ( not accepted )" in page  # as shown everywhere
    assert "customer_number" not in page and "(email," not in page
    assert "Question Wat heeft u?" in page and "Your question" not in page


# --- 4. and 5. a restriction: its scope, and its end told before it comes -------------------


def test_a_restriction_says_what_it_covers_and_its_end_is_told_before_it_comes(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    sanne = customer(app)
    reference = submit(
        app, sanne, RequestKind.RESTRICTION, locale="en", scope={"categories": ["contact"]},
        details={"scope": "categories", "ground": "legal_claim", "explanation": ""},
    )  # fmt: skip
    b = english(app, officer)
    assert b.step(reference, "afsluiten").status_code == 303
    done = Mailbox.text_of(mailbox.wait_for(1)[-1])
    assert "The restriction covers these kinds of data: Contact details." in done

    lifted = b.step(reference, "beperking-opheffen", lift_reason="The case is closed.")
    assert lifted.status_code == 303
    with app.app_context():
        ends = format_day_en(app, portal_today() + timedelta(days=dsr.LIFT_NOTICE_DAYS))
    page = text(b.page(lifted.headers["Location"]))
    assert f"we use the data again from {ends}. Until then it stays in force." in page
    message = mailbox.wait_for(2)[-1]
    assert f"We will use your data again from {ends} (request {reference})" == message["Subject"]
    body = " ".join(Mailbox.text_of(message).split())
    assert f"from {ends} we use this data again" in body and "Until then, nothing changes." in body
    assert "from today" not in body
    assert "The restriction covers these kinds of data: Contact details." in body
    assert "The case is closed." in body
    # Told, not yet lifted: still in force, on the request and on the dashboard.
    assert "Restriction in force" in page and "Its end was announced" in page
    assert f"/beheer/verzoeken/{reference}#restriction" in b.page("/beheer/")
    again = b.step(reference, "beperking-opheffen", lift_reason="Nog eens.")
    assert again.status_code == 409
    assert "was announced already" in text(again.get_data(as_text=True))
    assert len(mailbox.messages) == 2

    # The notice has passed: the restriction has ended by itself.
    with app.app_context():
        event = db.session.scalars(
            sa.select(RequestEvent).where(RequestEvent.action == dsr.RESTRICTION_LIFTED)
        ).one()
        event.created_at = event.created_at - timedelta(days=dsr.LIFT_NOTICE_DAYS)
        db.session.commit()
    assert "Restriction in force" not in text(b.page(f"{QUEUE}/{reference}"))
    assert f"/beheer/verzoeken/{reference}#restriction" not in b.page("/beheer/")


def test_a_restriction_of_systems_names_them_in_the_closing_email(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    b = english(app, officer)
    entered = b.post(
        NEW, **_form(kind="restriction", email=SANNE, sources=["webshop"],
                     identity_verification="known_email"),
    )  # fmt: skip
    assert entered.status_code == 303
    reference = entered.headers["Location"].rsplit("/", 1)[1]
    assert b.step(reference, "afsluiten").status_code == 303
    done = " ".join(Mailbox.text_of(mailbox.wait_for(2)[-1]).split())
    assert "The restriction covers the data in these systems: " in done
    with app.app_context():
        from portal.policy import current_policy

        webshop = next(s for s in current_policy().sources if s.key == "webshop")
    assert webshop.name.get("en") in done
