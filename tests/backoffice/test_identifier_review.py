"""Numbers to check (/beheer/nummers): the phone and customer numbers customers added with a
proof that staff decide on. The list (only pending numbers, oldest first, paged, counted on the
dashboard, its views audited), approving (the number then counts for the customer's
gathering), rejecting with a reason, the rule that a number has one owner, decisions made once,
the customer's e-mail in their language (a real SMTP server), the account page afterwards, and
who may do any of it."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from connectors.identity import IdentifierKind
from portal import crypto
from portal.auth import services
from portal.extensions import db
from portal.models import AuditEvent, Customer, CustomerIdentifier, OutboxMessage, utcnow
from portal.models.gathering import GatheredSnapshot

from ..auth.conftest import (  # noqa: F401 - shared fixtures
    Forms,
    Mailbox,
    browser_client,
    forms,
    mailbox,
)
from ..staff.conftest import (  # noqa: F401 - shared fixtures
    Browser,
    Staff,
    _light_argon2,
    make_staff,
)

PAGE = "/beheer/nummers"
SANNE = "sanne.devries@example.nl"
OTHER = "piet@example.nl"
ACTION_RE = re.compile(r'<form method="post" action="([^"]+)"')


@pytest.fixture
def settings_overrides(mailbox: Mailbox) -> dict[str, object]:  # noqa: F811 - the fixture
    return {
        "mail_transport": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": mailbox.port,
        "smtp_security": "none",
        "smtp_timeout": 5,
        "login_rate_per_ip": "1000 per minute",
        "login_rate_per_address": "1000 per minute",
        "code_rate_per_ip": "1000 per minute",
        "code_rate_per_address": "1000 per minute",
    }


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (no pushed test context)."""


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


@pytest.fixture
def agent(app: Flask) -> Staff:
    return make_staff(app, "agent@firm.example", "agent", name="Arie Agent")


def staff_browser(app: Flask, staff: Staff) -> Browser:
    """A signed-in staff browser that reads the back office in English."""
    browser = Browser(app)
    assert browser.sign_in(staff).status_code == 303
    browser.client.set_cookie("portal_lang", "en")
    return browser


def add_number(
    app: Flask,
    email: str,
    kind: str = "phone",
    value: str = "06-12345678",
    proof: str = "F2024-0042",
    locale: str = "en",
    age: timedelta | None = None,
) -> int:
    """A customer (found or created by ``email``) adds a number with an invoice number as
    proof, through the real service; no checker is registered, so it waits for staff."""
    with app.test_request_context():
        customer = services.sign_in_with_verified_email(email, "test")
        ident = services.add_identifier(customer, kind, value, "invoice_number", proof, locale)
        if age is not None:
            ident.created_at = utcnow() - age
        db.session.commit()
        assert ident.status == "pending"
        return ident.id


def ident_row(app: Flask, ident_id: int) -> CustomerIdentifier:
    with app.app_context():
        row = db.session.get(CustomerIdentifier, ident_id)
        assert row is not None
        db.session.expunge(row)
        return row


def identity_of(app: Flask, email: str) -> Any:
    with app.app_context():
        ident = db.session.scalars(
            sa.select(CustomerIdentifier).where(
                CustomerIdentifier.verified_hash == services.identifier_hash("email", email)
            )
        ).one()
        return services.verified_identity(ident.customer)


def audit_entries(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def outbox_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) or 0)


def decide(browser: Browser, ident_id: int, step: str, **data: str) -> Any:
    """Press a decision's button on the list, as a browser without JavaScript does: the
    form's own action, with the token of the page."""
    page = browser.client.get(PAGE).get_data(as_text=True)
    wanted = f"/beheer/nummers/{ident_id}/{step}"
    actions = [html_lib.unescape(a) for a in ACTION_RE.findall(page)]
    action = next(a for a in actions if a.startswith(wanted))
    return browser.post(action, page=PAGE, **data)


def text(response: Any) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_only_pending_numbers_oldest_first(app: Flask, officer: Staff) -> None:
    newer = add_number(app, SANNE, "customer_number", "K-1001", "F-NEW", age=timedelta(hours=1))
    older = add_number(app, OTHER, "phone", "06-11112222", "F-OLD", age=timedelta(days=2))
    rejected = add_number(app, OTHER, "customer_number", "K-9", "F-REJ")
    verified = add_number(app, OTHER, "customer_number", "K-8", "F-VER")
    with app.test_request_context():
        db.session.get(CustomerIdentifier, rejected).status = "rejected"  # type: ignore[union-attr]
        services.approve_identifier(db.session.get(CustomerIdentifier, verified), staff_id=0)  # type: ignore[arg-type]
        sanne = db.session.scalars(sa.select(Customer).order_by(Customer.id)).first()
        assert sanne is not None
        # an e-mail address still waiting for its code is not for staff
        services.request_email_verification(sanne, "sanne@werk.example.nl", "nl")
        db.session.commit()

    desk = staff_browser(app, officer)
    response = desk.client.get(PAGE)
    assert response.status_code == 200
    page = text(response)
    assert "2 numbers to check" in page
    assert page.index(f'id="identifier-{older}"') < page.index(f'id="identifier-{newer}"')
    for shown in ("+31 6 11112222", "F-OLD", "K-1001", "F-NEW", "Invoice number", OTHER, SANNE):
        assert shown in page
    for hidden in ("K-9", "F-REJ", "K-8", "F-VER", "sanne@werk.example.nl"):
        assert hidden not in page
    assert f'id="identifier-{rejected}"' not in page and f'id="identifier-{verified}"' not in page
    assert "<script" not in page  # works without JavaScript: plain forms only

    # Viewing decrypted numbers and proofs is audited, with ids only.
    (viewed,) = audit_entries(app, "identifiers.viewed")
    assert viewed.actor_type == "staff" and viewed.actor_id == str(officer.id)
    assert viewed.details == {"identifiers": [older, newer], "page": 1}
    assert "F-OLD" not in str(viewed.details) and "+3161" not in str(viewed.details)

    dashboard = text(desk.client.get("/beheer/"))
    assert re.search(
        r'id="dash-identifiers"><a href="/beheer/nummers"><strong>2</strong>', dashboard
    )
    nav = dashboard.split('class="main-nav"')[1].split("</nav>")[0]
    assert 'href="/beheer/nummers"' in nav and "Numbers to check" in nav


def test_the_list_is_paged_and_empty_says_so(app: Flask, officer: Staff) -> None:
    desk = staff_browser(app, officer)
    empty = text(desk.client.get(PAGE))
    assert 'id="nothing-to-check"' in empty
    assert re.search(
        r'id="dash-identifiers"><a href="/beheer/nummers">0<', text(desk.client.get("/beheer/"))
    )
    assert audit_entries(app, "identifiers.viewed") == []  # nothing shown, nothing to audit

    ids = [
        add_number(
            app, SANNE, "customer_number", f"K-{n:03d}", f"F-{n}", age=timedelta(minutes=60 - n)
        )
        for n in range(26)
    ]
    first = text(desk.client.get(PAGE))
    assert "26 numbers to check" in first and "page 1 of 2" in first
    assert f'id="identifier-{ids[0]}"' in first and f'id="identifier-{ids[25]}"' not in first
    assert first.count('<li id="identifier-') == 25
    second = text(desk.client.get(PAGE + "?page=2"))
    assert second.count('<li id="identifier-') == 1 and f'id="identifier-{ids[25]}"' in second


# --- approving and rejecting ------------------------------------------------------------------


def test_approving_verifies_the_number_for_the_customer_and_tells_them(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811 - the fixture
) -> None:
    ident_id = add_number(app, SANNE, "phone", "06-12345678", "F2024-0042", locale="en")
    assert identity_of(app, SANNE).values(IdentifierKind.PHONE) == []
    assert ident_row(app, ident_id).proof_encrypted is not None  # for staff to decide on
    with app.app_context():
        customer_id = ident_row(app, ident_id).customer_id
        now = utcnow()
        db.session.add(
            GatheredSnapshot(
                customer_id=customer_id, created_at=now, expires_at=now + timedelta(minutes=10),
                summary=[], payload_encrypted=crypto.encrypt("{}"),
            )
        )  # fmt: skip
        db.session.commit()
    desk = staff_browser(app, officer)

    response = decide(desk, ident_id, "goedkeuren")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/beheer/nummers?page=1")
    assert "The number is confirmed. The customer was told by e-mail." in text(
        desk.client.get(response.headers["Location"])
    )

    row = ident_row(app, ident_id)
    assert row.status == "verified" and row.verified_by == "staff" and row.verified_at
    assert row.verified_hash == row.lookup_hash
    assert row.proof_encrypted is None  # needed only to decide: not kept after it
    # the number now counts: the connectors search by it
    assert identity_of(app, SANNE).values(IdentifierKind.PHONE) == ["+31612345678"]
    with app.app_context():  # the held gathering is dropped, so the next view searches by it
        assert db.session.scalar(sa.select(sa.func.count(GatheredSnapshot.id))) == 0

    (entry,) = [e for e in audit_entries(app, "identifier.verified") if e.actor_type == "staff"]
    assert entry.actor_id == str(officer.id) and entry.subject_id == str(ident_id)
    assert entry.details == {"kind": "phone", "customer": customer_id}

    message = mailbox.last()
    assert message["To"] == SANNE
    assert message["Subject"] == "Your phone number is confirmed"
    assert message["Content-Language"] == "en"
    body, html = Mailbox.text_of(message), Mailbox.html_of(message)
    assert "also look up your data by this number" in body
    assert "also look up your data by this number" in html
    assert "http://" in body and "/account" in body
    assert "+31612345678" not in body and "F2024" not in body  # no personal data in the mail

    # A second press (a double click, a reload) changes nothing and mails nobody again.
    sent = outbox_count(app)
    again = decide_direct(desk, ident_id, "goedkeuren")
    assert again.status_code == 303
    assert "already approved or rejected" in text(desk.client.get(again.headers["Location"]))
    assert outbox_count(app) == sent
    assert (
        len([e for e in audit_entries(app, "identifier.verified") if e.actor_type == "staff"]) == 1
    )
    assert f'id="identifier-{ident_id}"' not in text(desk.client.get(PAGE))


def decide_direct(browser: Browser, ident_id: int, step: str, **data: str) -> Any:
    """POST a decision for a number that is no longer on the list (token from the list)."""
    return browser.post(f"{PAGE}/{ident_id}/{step}?page=1", page=PAGE, **data)


def test_rejecting_tells_the_customer_why_and_the_account_shows_what_to_do(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811 - the fixture
    browser_client: FlaskClient,  # noqa: F811 - the fixture
    forms: Forms,  # noqa: F811 - the fixture
) -> None:
    ident_id = add_number(app, SANNE, "customer_number", "K-4711", "F-0001", locale="en")
    desk = staff_browser(app, officer)
    reason = "Invoice F-0001 is not ours & names someone else."
    response = decide(desk, ident_id, "afwijzen", reject_reason=f"  {reason}  ")
    assert response.status_code == 303
    assert "The number is rejected" in text(desk.client.get(response.headers["Location"]))
    assert ident_row(app, ident_id).status == "rejected"
    assert ident_row(app, ident_id).proof_encrypted is None
    assert identity_of(app, SANNE).values(IdentifierKind.CUSTOMER_NUMBER) == []

    (entry,) = audit_entries(app, "identifier.rejected")
    assert entry.actor_type == "staff" and entry.actor_id == str(officer.id)
    customer_id = ident_row(app, ident_id).customer_id
    assert entry.details == {
        "kind": "customer_number",
        "customer": customer_id,
        "reason_given": True,
    }
    assert "Invoice" not in str(entry.details)

    message = mailbox.last()
    assert message["To"] == SANNE
    assert message["Subject"] == "We could not confirm your customer number"
    body, html = Mailbox.text_of(message), Mailbox.html_of(message)
    assert f"Why: {reason}" in body
    assert "not ours &amp; names someone else." in html  # escaped in the HTML part
    assert "To try again" in body and "/account/toevoegen" in body
    assert "To try again" in html

    # Rejecting again (another tab) is refused: it was decided.
    sent = outbox_count(app)
    again = decide_direct(desk, ident_id, "afwijzen", reject_reason="")
    assert "already approved or rejected" in text(desk.client.get(again.headers["Location"]))
    assert outbox_count(app) == sent and len(audit_entries(app, "identifier.rejected")) == 1

    # The customer's account says it was not accepted, and what to do; adding it again with
    # another proof puts it back in the list.
    browser_client.set_cookie("portal_lang", "en")
    forms.post(browser_client, "/inloggen", email=SANNE)
    code = Mailbox.code_in(mailbox.wait_for(2)[-1])
    assert forms.post(browser_client, "/inloggen/code", code=code).status_code == 303
    account = text(browser_client.get("/account"))
    assert "Not accepted" in account and 'href="#not-accepted"' in account
    assert 'id="not-accepted"' in account and "To try again" in account
    again_added = forms.post(
        browser_client, "/account/toevoegen", kind="customer_number", value="K-4711", proof="F-0002"
    )
    assert again_added.status_code == 303
    assert ident_row(app, ident_id).status == "pending"
    assert ident_row(app, ident_id).proof_encrypted is not None  # the new proof
    assert f'id="identifier-{ident_id}"' in text(desk.client.get(PAGE))


def test_rejecting_without_a_reason_and_in_dutch(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811 - the fixture
) -> None:
    ident_id = add_number(app, SANNE, "phone", "0201234567", "F-9", locale="nl")
    desk = staff_browser(app, officer)
    assert decide(desk, ident_id, "afwijzen", reject_reason="").status_code == 303
    (entry,) = audit_entries(app, "identifier.rejected")
    assert entry.details["reason_given"] is False
    message = mailbox.last()
    assert message["Content-Language"] == "nl"
    assert "Why:" not in Mailbox.text_of(message)


def test_a_too_long_reason_shows_the_error_and_decides_nothing(app: Flask, officer: Staff) -> None:
    ident_id = add_number(app, SANNE)
    desk = staff_browser(app, officer)
    response = decide(desk, ident_id, "afwijzen", reject_reason="x" * 4001)
    assert response.status_code == 400
    page = text(response)
    assert f'href="#reject-reason-{ident_id}"' in page and "Use at most 4000 characters" in page
    assert 'aria-invalid="true"' in page
    assert ident_row(app, ident_id).status == "pending"
    assert audit_entries(app, "identifier.rejected") == []


def test_a_number_verified_for_another_customer_cannot_be_approved(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811 - the fixture
) -> None:
    piet = add_number(app, OTHER, "phone", "06-55556666", "F-P")
    sanne = add_number(app, SANNE, "phone", "+31 6 5555 6666", "F-S")
    desk = staff_browser(app, officer)
    assert decide(desk, piet, "goedkeuren").status_code == 303
    mailbox.wait_for(1)

    response = decide(desk, sanne, "goedkeuren")
    assert response.status_code == 303
    page = text(desk.client.get(response.headers["Location"]))
    assert "already confirmed for another customer" in page
    assert ident_row(app, sanne).status == "pending" and ident_row(app, sanne).verified_hash is None
    assert identity_of(app, SANNE).values(IdentifierKind.PHONE) == []
    assert identity_of(app, OTHER).values(IdentifierKind.PHONE) == ["+31655556666"]
    subjects = [
        e.subject_id for e in audit_entries(app, "identifier.verified") if e.actor_type == "staff"
    ]
    assert subjects == [str(piet)]
    assert len(mailbox.messages) == 1  # only Piet was told
    # it can still be rejected
    assert decide(desk, sanne, "afwijzen", reject_reason="").status_code == 303
    assert ident_row(app, sanne).status == "rejected"


def test_a_decision_made_meanwhile_by_someone_else_wins(app: Flask) -> None:
    """Two decisions that both read the number as pending: the conditional update lets one
    through; the other is refused and changes nothing."""
    ident_id = add_number(app, SANNE)
    with app.test_request_context():
        stale = db.session.get(CustomerIdentifier, ident_id)
        assert stale is not None and stale.status == "pending"
        with db.engine.begin() as conn:  # a colleague's decision, committed meanwhile
            conn.execute(
                sa.update(CustomerIdentifier)
                .where(CustomerIdentifier.id == ident_id)
                .values(status="rejected")
            )
        assert stale.status == "pending"  # what this decision read
        with pytest.raises(services.DecisionError) as refused:
            services.approve_identifier(stale, staff_id=1)
        assert refused.value.code == "decided"
        db.session.rollback()
    row = ident_row(app, ident_id)
    assert row.status == "rejected" and row.verified_hash is None


# --- who may -----------------------------------------------------------------------------------


def test_only_a_privacy_officer_may_see_or_decide(
    app: Flask,
    agent: Staff,
    mailbox: Mailbox,  # noqa: F811 - the fixture
    browser_client: FlaskClient,  # noqa: F811 - the fixture
    forms: Forms,  # noqa: F811 - the fixture
) -> None:
    ident_id = add_number(app, SANNE)
    targets = [PAGE, f"{PAGE}/{ident_id}/goedkeuren", f"{PAGE}/{ident_id}/afwijzen"]

    anonymous = app.test_client()
    assert anonymous.get(PAGE).status_code == 303
    assert anonymous.get(PAGE).headers["Location"].endswith("/beheer/inloggen")

    # A signed-in customer is no staff member.
    forms.post(browser_client, "/inloggen", email=SANNE)
    code = Mailbox.code_in(mailbox.last())
    assert forms.post(browser_client, "/inloggen/code", code=code).status_code == 303
    token = forms.token(browser_client, "/account")
    for target in targets:
        got = (
            browser_client.get(target)
            if target == PAGE
            else browser_client.post(target, data={"csrf_token": token})
        )
        assert got.status_code == 303 and got.headers["Location"].endswith("/beheer/inloggen")

    # An agent handles requests but does not decide whose a number is.
    desk = staff_browser(app, agent)
    assert desk.client.get(PAGE).status_code == 403
    for target in targets[1:]:
        assert desk.post(target, page="/beheer/").status_code == 403
    dashboard = text(desk.client.get("/beheer/"))
    assert 'id="dash-identifiers"' not in dashboard and 'href="/beheer/nummers"' not in dashboard

    assert ident_row(app, ident_id).status == "pending"
    assert audit_entries(app, "identifiers.viewed") == []
    assert [e for e in audit_entries(app, "identifier.verified") if e.actor_type == "staff"] == []


def test_decisions_need_the_csrf_token(app: Flask, officer: Staff) -> None:
    ident_id = add_number(app, SANNE)
    desk = staff_browser(app, officer)
    desk.client.get(PAGE)
    for step in ("goedkeuren", "afwijzen"):
        assert desk.client.post(f"{PAGE}/{ident_id}/{step}", data={}).status_code == 400
        forged = desk.client.post(f"{PAGE}/{ident_id}/{step}", data={"csrf_token": "forged"})
        assert forged.status_code == 400
    assert ident_row(app, ident_id).status == "pending"


def test_an_unknown_number_is_not_found(app: Flask, officer: Staff) -> None:
    desk = staff_browser(app, officer)
    assert desk.post(f"{PAGE}/999999/goedkeuren", page="/beheer/").status_code == 404


# --- the privacy contact is told ------------------------------------------------------------


def test_the_privacy_contact_hears_of_numbers_to_check_at_most_once_a_day(
    app: Flask,
    mailbox: Mailbox,  # noqa: F811 - the fixture
    browser_client: FlaskClient,  # noqa: F811 - the fixture
    forms: Forms,  # noqa: F811 - the fixture
) -> None:
    """A customer adds a number: the privacy contact is mailed that numbers wait, naming no
    customer, number or proof; a second number that day sends nothing, the next day does."""
    from portal.policy import current_policy
    from portal.reminders import privacy_contact_address

    with app.app_context():
        contact = privacy_contact_address(current_policy())
    assert contact and contact != SANNE
    forms.post(browser_client, "/inloggen", email=SANNE)
    code = Mailbox.code_in(mailbox.wait_for(1)[-1])
    assert forms.post(browser_client, "/inloggen/code", code=code).status_code == 303

    added = forms.post(
        browser_client, "/account/toevoegen", kind="phone", value="06-12345678", proof="F-0042"
    )
    assert added.status_code == 303
    told = mailbox.wait_for(2)[-1]
    assert told["To"] == contact
    assert told["Subject"] == "Een te controleren nummer in het privacyportaal"
    body = Mailbox.text_of(told)
    assert "/beheer/nummers" in body and "1 nummer wacht op controle" in body
    for personal in ("0612345678", "12345678", "F-0042", SANNE, "sanne"):
        assert personal not in body + Mailbox.html_of(told)
    (entry,) = audit_entries(app, "identifiers.staff_told")
    assert entry.details == {"waiting": 1}

    # a second number the same day: counted on the list, no second mail
    sent = outbox_count(app)
    forms.post(
        browser_client, "/account/toevoegen", kind="customer_number", value="K-1", proof="F-1"
    )
    assert outbox_count(app) == sent and len(audit_entries(app, "identifiers.staff_told")) == 1

    # a day later, another number: told again, with both waiting
    with app.app_context():
        db.session.execute(
            sa.update(AuditEvent)
            .where(AuditEvent.action == "identifiers.staff_told")
            .values(created_at=utcnow() - timedelta(days=1, minutes=1))
        )
        db.session.commit()
    forms.post(browser_client, "/account/toevoegen", kind="phone", value="06-87654321", proof="F-2")
    again = mailbox.wait_for(3)[-1]
    assert again["To"] == contact
    assert "3 nummers wachten op controle" in Mailbox.text_of(again)
