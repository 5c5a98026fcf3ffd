"""Passwordless e-mail sign-in: codes, links, sessions, enumeration, mail and logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal import crypto, mail, tasks
from portal.auth import services
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Customer,
    CustomerIdentifier,
    CustomerSession,
    LoginChallenge,
    OutboxMessage,
    utcnow,
)

EMAIL = "sanne.devries@example.nl"


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Replaces pytest-flask's: every request gets its own context (and ``g``), as in
    production, instead of sharing the one pushed for the whole test."""


@pytest.fixture
def client(browser_client: FlaskClient) -> FlaskClient:
    """Replaces pytest-flask's ``client``, which keeps request contexts pushed."""
    return browser_client


@pytest.fixture
def settings_overrides(smtp_overrides: dict[str, object]) -> dict[str, object]:
    return smtp_overrides


def ask_code(client: FlaskClient, forms: Any, email: str = EMAIL) -> Any:
    return forms.post(client, "/inloggen", email=email)


def enter_code(client: FlaskClient, forms: Any, code: str) -> Any:
    return forms.post(client, "/inloggen/code", code=code)


def sign_in(client: FlaskClient, forms: Any, mailbox: Any, email: str = EMAIL) -> str:
    before = len(mailbox.messages)
    response = ask_code(client, forms, email)
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    code = mailbox.code_in(mailbox.wait_for(before + 1)[-1])
    response = enter_code(client, forms, code)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/account")
    return code


def signed_in(client: FlaskClient) -> bool:
    return client.get("/account").status_code == 200


def test_code_by_mail_signs_in_and_creates_the_customer(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    response = ask_code(client, forms, "  Sanne.DeVries@Example.NL ")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/inloggen/code")
    page = client.get("/inloggen/code").get_data(as_text=True)
    assert EMAIL in page
    assert 'autocomplete="one-time-code"' in page
    assert 'inputmode="numeric"' in page

    message = mailbox.last()
    assert message["To"] == EMAIL
    assert message["Subject"] == "Uw inlogcode: 15 minuten geldig"
    assert message["Content-Language"] == "nl"
    text, html = mailbox.text_of(message), mailbox.html_of(message)
    code, link = mailbox.code_in(message), mailbox.link_in(message)
    assert code in html and link in html
    assert code in text and link in text
    assert link.startswith("http://127.0.0.1:5000/inloggen/link/")

    assert not signed_in(client)
    response = enter_code(client, forms, f"{code[:3]} {code[3:]}")  # spaces are forgiven
    assert response.status_code == 303
    account = client.get("/account").get_data(as_text=True)
    assert "Mijn account" in account and EMAIL in account and "Bevestigd" in account
    assert "U logt voor het eerst in." in account

    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        (ident,) = customer.identifiers
        assert ident.kind == "email" and ident.status == "verified"
        assert ident.verified_by == "email_code"
        identity = services.verified_identity(customer)
        assert identity.values(services.IdentifierKind.EMAIL) == [EMAIL]
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "auth.login" in actions


def test_the_account_asks_about_the_previous_sign_in_only_when_there_was_one(
    client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    sign_in(client, forms, mailbox)
    first = client.get("/account").get_data(as_text=True)
    assert "U logt voor het eerst in." in first
    assert "Heeft u toen niet ingelogd?" not in first  # there was no "then"
    forms.post(client, "/account", "/uitloggen")
    sign_in(client, forms, mailbox)
    second = client.get("/account").get_data(as_text=True)
    assert "U logt voor het eerst in." not in second
    assert "Heeft u toen niet ingelogd? Log uit en neem contact met ons op." in second


def test_mail_and_pages_in_english(client: FlaskClient, forms: Any, mailbox: Any) -> None:
    client.set_cookie("portal_lang", "en")
    assert "Send me a code" in client.get("/inloggen").get_data(as_text=True)
    ask_code(client, forms)
    message = mailbox.last()
    assert message["Subject"] == "Your sign-in code: valid for 15 minutes"
    assert "Your code:" in mailbox.text_of(message)
    assert "Your code:" in mailbox.html_of(message)


def test_invalid_address_shows_error_summary_and_field_error(
    client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    response = forms.post(client, "/inloggen", email="not-an-address")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'class="error-summary"' in page
    assert 'href="#email"' in page
    assert 'class="error-message"' in page and 'aria-invalid="true"' in page
    assert not mailbox.messages
    # a name before the @ that no mail header takes: a clear error, not a server error
    unicode = forms.post(client, "/inloggen", email="jörg@example.nl")
    assert unicode.status_code == 400 and 'href="#email"' in unicode.get_data(as_text=True)
    assert not mailbox.messages


def test_link_get_shows_a_button_and_post_signs_in(
    client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    ask_code(client, forms)
    link = mailbox.link_in(mailbox.last()).removeprefix("http://127.0.0.1:5000")
    page = client.get(link)  # what a mail scanner does
    assert page.status_code == 200
    assert "<form" in page.get_data(as_text=True)
    assert client.get(link).status_code == 200  # still unused after two GETs
    assert not signed_in(client)
    response = forms.post(client, link)
    assert response.status_code == 303
    assert signed_in(client)


def test_link_in_another_browser_is_refused(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    ask_code(client, forms)
    link = mailbox.link_in(mailbox.last()).removeprefix("http://127.0.0.1:5000")
    other = app.test_client()
    page = other.get(link)
    assert page.status_code == 400
    assert "alleen in de browser waarin u de code heeft aangevraagd" in page.get_data(as_text=True)
    refused = forms.post(other, "/inloggen", link)
    assert refused.status_code == 400
    assert not signed_in(other)
    # It still works in the browser that asked.
    assert forms.post(client, link).status_code == 303


def test_code_in_another_browser_is_refused(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    ask_code(client, forms)
    other = app.test_client()
    assert other.get("/inloggen/code").status_code == 302  # no attempt in that browser


def test_code_and_link_are_single_use(client: FlaskClient, forms: Any, mailbox: Any) -> None:
    code = sign_in(client, forms, mailbox)
    link = mailbox.link_in(mailbox.last()).removeprefix("http://127.0.0.1:5000")
    forms.post(client, "/account", "/uitloggen")
    page = client.get(link)
    assert page.status_code == 400
    assert "al gebruikt" in page.get_data(as_text=True)
    # A new attempt in the same browser: the old code is not valid for it.
    ask_code(client, forms)
    response = enter_code(client, forms, code)
    assert response.status_code == 400 or code == mailbox.code_in(mailbox.last())


def test_a_link_that_no_longer_works_speaks_of_the_link(
    client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    """Who opened the link from the e-mail reads why the link (not "the code") no longer
    works: replaced by a newer e-mail, used, or expired."""
    client.set_cookie("portal_lang", "en")
    with time_machine.travel(utcnow(), tick=True) as traveller:
        ask_code(client, forms)
        first = mailbox.link_in(mailbox.last()).removeprefix("http://127.0.0.1:5000")
        ask_code(client, forms)  # a second e-mail: the first link is replaced
        second = mailbox.link_in(mailbox.wait_for(2)[-1]).removeprefix("http://127.0.0.1:5000")
        replaced = client.get(first).get_data(as_text=True)
        assert "A newer e-mail has been sent, so this link no longer works." in replaced
        traveller.shift(timedelta(minutes=15, seconds=1))
        expired = client.get(second)
        assert expired.status_code == 400
        text = expired.get_data(as_text=True)
        assert "This link has expired: links work for 15 minutes." in text
        assert text.count("This link has expired") == 1  # in the error summary only
        assert "This link has expired" in text.split('class="error-summary"', 1)[1]
        assert "This code" not in text
    ask_code(client, forms)
    third = mailbox.link_in(mailbox.wait_for(3)[-1]).removeprefix("http://127.0.0.1:5000")
    assert forms.post(client, third).status_code == 303
    forms.post(client, "/account", "/uitloggen")
    used = client.get(third).get_data(as_text=True)
    assert "This link has already been used." in used and "This code" not in used


def test_the_account_page_says_whom_to_contact_about_a_sign_in_that_was_not_you(
    client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    """ "Did you not sign in at that time? Sign out and contact us": with the address to write
    to, the privacy contact's."""
    sign_in(client, forms, mailbox)
    forms.post(client, "/account", "/uitloggen")
    sign_in(client, forms, mailbox)
    client.set_cookie("portal_lang", "en")
    page = client.get("/account").get_data(as_text=True)
    warning = page[page.index("Did you not sign in at that time?") :].split("</p>", 1)[0]
    assert 'Contact: <a href="mailto:privacy@voorbeeld-it.example.nl">' in warning


def test_expired_code_says_so_and_offers_a_new_one(
    client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    with time_machine.travel(utcnow(), tick=True) as traveller:
        ask_code(client, forms)
        code = mailbox.code_in(mailbox.last())
        traveller.shift(timedelta(minutes=15, seconds=1))
        response = enter_code(client, forms, code)
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "Deze code is verlopen" in page
        assert 'class="error-summary"' in page
        # said once, in the error summary (announced as an alert), not again below it
        assert page.count("Deze code is verlopen") == 1
        summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
        assert "Deze code is verlopen" in summary
        assert 'action="/inloggen/nieuwe-code"' in page
        assert not signed_in(client)
        assert forms.post(client, "/inloggen/code", "/inloggen/nieuwe-code").status_code == 303
        new_code = mailbox.code_in(mailbox.wait_for(2)[-1])
        assert enter_code(client, forms, new_code).status_code == 303
        assert signed_in(client)


def test_expiry_is_a_setting(app: Flask, make_app: Callable[..., Flask]) -> None:
    settings = app.extensions["portal.settings"]
    assert settings.login_code_minutes == 15
    other = make_app(
        {**settings.model_dump(exclude={"secret_key", "data_keys"}), "login_code_minutes": 5},
        Path(app.instance_path),
    )
    assert other.extensions["portal.settings"].login_code_minutes == 5


def test_wrong_codes_are_counted_and_lock_the_code(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    ask_code(client, forms)
    code = mailbox.code_in(mailbox.last())
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        response = enter_code(client, forms, wrong)
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert f"Resterende pogingen: {left}." in page
        assert 'href="#code"' in page
    response = enter_code(client, forms, wrong)
    assert "te vaak een verkeerde code" in response.get_data(as_text=True)
    response = enter_code(client, forms, code)  # the right code no longer helps
    assert response.status_code == 400
    assert not signed_in(client)
    with app.app_context():
        assert db.session.scalars(select(LoginChallenge.failed_attempts)).one() == 5


def test_a_newer_code_replaces_the_older_one_of_the_same_browser_only(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    """Anyone may ask for a code for any address: that must not stop the code its owner is
    about to type. Asking again in the same browser does replace the earlier code."""
    ask_code(client, forms)
    first = mailbox.code_in(mailbox.last())
    stranger = app.test_client()
    for count in (2, 3):  # someone else asks for codes for Sanne's address
        ask_code(stranger, forms)
        mailbox.wait_for(count)
    assert enter_code(client, forms, first).status_code == 303  # hers still works

    again = app.test_client()
    ask_code(again, forms)
    older = mailbox.code_in(mailbox.wait_for(4)[-1])
    forms.post(again, "/inloggen/code", "/inloggen/nieuwe-code")
    newer = mailbox.code_in(mailbox.wait_for(5)[-1])
    assert older != newer
    refused = enter_code(again, forms, older)
    assert refused.status_code == 400 and "nieuwere code" not in refused.get_data(as_text=True)
    ask_code(again, forms)  # asking from the form again replaces the resent one too
    latest = mailbox.code_in(mailbox.wait_for(6)[-1])
    with app.app_context():
        live = db.session.scalars(
            sa.select(LoginChallenge).where(
                LoginChallenge.used_at.is_(None), LoginChallenge.revoked_at.is_(None)
            )
        ).all()
    assert len(live) == 2  # the stranger's latest and this browser's latest
    assert enter_code(again, forms, latest).status_code == 303


def _statements(app: Flask) -> list[str]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(re.sub(r"\s+", " ", statement.split(" WHERE ")[0]))

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    return seen


def _normalise(page: str, email: str) -> str:
    page = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "CSRF", page)
    return page.replace(email, "ADDRESS")


def test_known_and_unknown_addresses_get_identical_answers(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    from portal.auth.demo import ensure_demo_customer

    with app.app_context():
        ensure_demo_customer(EMAIL)
    unknown = "nobody.known@example.nl"
    statements = _statements(app)
    answers = []
    for email in (EMAIL, unknown):
        browser = app.test_client()
        token = forms.token(browser, "/inloggen")
        statements.clear()
        response = browser.post("/inloggen", data={"csrf_token": token, "email": email})
        work = list(statements)
        page = browser.get("/inloggen/code")
        # Headers that only carry the clock (the rate-limit window may tick over between
        # the two posts) are left out; every other header must be identical.
        clock = {"Set-Cookie", "Date", "X-RateLimit-Reset", "Retry-After"}
        headers = {k: v for k, v in response.headers.items() if k not in clock}
        answers.append(
            (
                response.status_code,
                headers,
                response.get_data(as_text=True),
                sorted(response.headers.getlist("Set-Cookie") and ["portal_session"]),
                page.status_code,
                _normalise(page.get_data(as_text=True), email),
                work,
            )
        )
    assert answers[0] == answers[1]
    messages = mailbox.wait_for(2)
    assert [m["To"] for m in messages] == [EMAIL, unknown]
    assert (
        mailbox.text_of(messages[0]).replace(mailbox.code_in(messages[0]), "C").split("http")[0]
        == mailbox.text_of(messages[1]).replace(mailbox.code_in(messages[1]), "C").split("http")[0]
    )


def test_plus_tags_and_dots_are_different_people(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    sign_in(client, forms, mailbox, EMAIL)
    other = app.test_client()
    sign_in(other, forms, mailbox, "sanne.devries+shop@example.nl")
    third = app.test_client()
    sign_in(third, forms, mailbox, "SANNE.DEVRIES@example.nl")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 2


def test_an_internationalised_domain_gets_its_code_and_is_one_customer(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    """A domain in Unicode is sent to in its ASCII form (a mail server without SMTPUTF8
    takes no other, and an encoded word in the To header would name another address), and
    both spellings are one mailbox, so one customer."""
    sign_in(client, forms, mailbox, "Jan@Bücher.NL")
    assert mailbox.last()["To"] == "jan@xn--bcher-kva.nl"
    other = app.test_client()
    sign_in(other, forms, mailbox, "jan@xn--bcher-kva.nl")
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        identity = services.verified_identity(customer)
        assert identity.values(services.IdentifierKind.EMAIL) == ["jan@xn--bcher-kva.nl"]


def test_session_is_renewed_at_sign_in(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    with client.session_transaction() as sess:
        sess["planted"] = "by someone else"
    ask_code(client, forms)
    with client.session_transaction() as sess:
        assert "planted" in sess
        before = dict(sess)
    enter_code(client, forms, mailbox.code_in(mailbox.last()))
    with client.session_transaction() as sess:
        after = dict(sess)
    assert "planted" not in after and "login_attempt" not in after
    token = after["_user_id"]
    assert token != before.get("_user_id")
    with app.app_context():
        row = db.session.scalars(select(CustomerSession)).one()
        assert row.token_hash == crypto.keyed_hash("customer-session", token)
        assert token not in row.token_hash


def test_sign_out_ends_the_session_on_the_server(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    sign_in(client, forms, mailbox)
    cookie = client.get_cookie("portal_session")
    assert cookie is not None
    stolen = app.test_client()
    stolen.set_cookie("portal_session", cookie.value)
    assert signed_in(stolen)
    response = forms.post(client, "/account", "/uitloggen")
    assert response.status_code == 303
    assert not signed_in(client)
    # The copied cookie (from before signing out) no longer works.
    replay = app.test_client()
    replay.set_cookie("portal_session", cookie.value)
    assert not signed_in(replay)
    with app.app_context():
        row = db.session.scalars(select(CustomerSession)).one()
        assert row.ended_at is not None and row.end_reason == "logout"


def test_idle_timeout(app: Flask, client: FlaskClient, forms: Any, mailbox: Any) -> None:
    with time_machine.travel(utcnow(), tick=True) as traveller:
        sign_in(client, forms, mailbox)
        traveller.shift(timedelta(minutes=20))
        assert signed_in(client)
        traveller.shift(timedelta(minutes=20))
        assert signed_in(client)  # active: the idle clock restarted
        traveller.shift(timedelta(minutes=30, seconds=1))
        response = client.get("/account", follow_redirects=True)
        assert "omdat u een tijd niets heeft gedaan" in response.get_data(as_text=True)
        assert not signed_in(client)
    with app.app_context():
        assert db.session.scalars(select(CustomerSession.end_reason)).one() == "idle"


def test_absolute_lifetime(app: Flask, client: FlaskClient, forms: Any, mailbox: Any) -> None:
    with time_machine.travel(utcnow(), tick=True) as traveller:
        sign_in(client, forms, mailbox)
        for _ in range(12 * 3 - 1):
            traveller.shift(timedelta(minutes=20))
            assert signed_in(client)
        traveller.shift(timedelta(minutes=20))
        assert not signed_in(client)
    with app.app_context():
        assert db.session.scalars(select(CustomerSession.end_reason)).one() == "expired"


def test_account_shows_the_previous_sign_in(client: FlaskClient, forms: Any, mailbox: Any) -> None:
    sign_in(client, forms, mailbox)
    forms.post(client, "/account", "/uitloggen")
    sign_in(client, forms, mailbox)
    page = client.get("/account").get_data(as_text=True)
    assert "Vorige keer ingelogd" in page
    assert "U logt voor het eerst in." not in page
    assert "<time datetime=" in page


def test_nothing_personal_or_secret_in_the_logs(
    caplog: pytest.LogCaptureFixture, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    code = sign_in(client, forms, mailbox)
    forms.post(client, "/account", "/uitloggen")
    ask_code(client, forms)
    enter_code(client, forms, "000000" if code != "000000" else "111111")
    assert caplog.records, "expected some log records (mail sent)"
    # The test's own SMTP server (aiosmtpd, logger "mail.log") is the recipient, not the portal.
    records = [r for r in caplog.records if not r.name.startswith("mail.log")]
    text = "\n".join(f"{r.getMessage()} {r.args} {r.exc_text}" for r in records)
    assert EMAIL not in text.lower()
    assert code not in text
    assert mailbox.code_in(mailbox.last()) not in text


def test_secrets_are_stored_hashed_and_personal_data_encrypted(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    ask_code(client, forms)
    code = mailbox.code_in(mailbox.last())
    with app.app_context():
        challenge = db.session.scalars(select(LoginChallenge)).one()
        values = [str(getattr(challenge, c.key)) for c in LoginChallenge.__table__.columns]
        assert not any(code in v or EMAIL in v for v in values)
        outbox = db.session.scalars(select(OutboxMessage)).one()
        assert outbox.status == "sent" and outbox.message_encrypted is None
    enter_code(client, forms, code)
    with app.app_context():
        ident = db.session.scalars(select(CustomerIdentifier)).one()
        assert EMAIL.encode() not in ident.value_encrypted
        assert services.identifier_value(ident) == EMAIL


def test_mail_server_down_then_up(
    app: Flask, client: FlaskClient, forms: Any, mailbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    mailbox.stop()  # the server is down
    with time_machine.travel(utcnow(), tick=True) as traveller:
        response = ask_code(client, forms)
        assert response.status_code == 303  # the customer sees no error
        page = client.get("/inloggen/code")
        assert page.status_code == 200
        with app.app_context():
            row = db.session.scalars(select(OutboxMessage)).one()
            assert row.status == "pending" and row.attempts == 1
            assert row.last_error == "ConnectionRefusedError"
            assert row.message_encrypted is not None
            assert mail.sweep() == 0  # not due yet: backoff
        mailbox.start()  # the server is back
        traveller.shift(timedelta(minutes=1))
        with app.app_context():
            assert tasks.sweep_outbox.call_local() == 1
            row = db.session.scalars(select(OutboxMessage)).one()
            assert row.status == "sent" and row.attempts == 2
        code = mailbox.code_in(mailbox.last())
        assert enter_code(client, forms, code).status_code == 303
    assert "not sent (attempt 1): ConnectionRefusedError" in caplog.text


def test_sign_in_with_verified_email_for_other_methods(app: Flask) -> None:
    with app.test_request_context("/"):
        customer = services.sign_in_with_verified_email(" Sanne.DeVries@example.nl", "oidc")
        db.session.commit()
        again = services.sign_in_with_verified_email(EMAIL, "oidc")
        db.session.commit()
        assert again.id == customer.id
        assert customer.get_id() is not None
        sessions = db.session.scalars(select(CustomerSession)).all()
        assert [s.method for s in sessions] == ["oidc", "oidc"]
        assert sessions[0].end_reason == "replaced"


def test_pages_for_a_signed_in_customer_are_never_cached(
    client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    assert "no-store" not in client.get("/privacy").headers.get("Cache-Control", "")
    with client.get("/static/portal.css") as static:
        assert "no-store" not in static.headers.get("Cache-Control", "")
    # before signing in: the page for the code names the address it went to
    forms.post(client, "/inloggen", email=EMAIL)
    code_page = client.get("/inloggen/code")
    assert EMAIL in code_page.get_data(as_text=True)
    assert code_page.headers["Cache-Control"] == "no-store"
    assert client.get("/inloggen").headers["Cache-Control"] == "no-store"
    sign_in(client, forms, mailbox)
    for path in ("/account", "/privacy", "/"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path


def test_sign_in_returns_to_the_page_that_asked_for_it(
    client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    """A signed-out visitor who opens a deep link (a bookmark, a link in our e-mail) signs in
    and lands on that page, by code or by link; no address from outside is ever followed."""
    response = client.get("/mijn-gegevens/orders?pagina=2")
    assert response.status_code == 302 and response.headers["Location"].endswith("/inloggen")
    before = len(mailbox.messages)
    ask_code(client, forms)
    code = mailbox.code_in(mailbox.wait_for(before + 1)[-1])
    response = enter_code(client, forms, code)
    assert response.headers["Location"] == "/mijn-gegevens/orders?pagina=2"
    client.post("/uitloggen", data={"csrf_token": forms.token(client, "/account")})

    client.get("/export/")
    ask_code(client, forms)
    link = mailbox.link_in(mailbox.last()).removeprefix("http://127.0.0.1:5000")
    assert forms.post(client, link).headers["Location"] == "/export/"


@pytest.mark.parametrize(
    "path",
    ["/export/", "/mijn-gegevens/orders?pagina=2"],
)
def test_a_local_path_is_followed(path: str) -> None:
    from portal.auth.targets import is_local_path

    assert is_local_path(path)


@pytest.mark.parametrize(
    "path",
    ["//evil.example/", "/\\evil.example", "https://evil.example/", "evil", "/a\nb", "", None],
)
def test_another_site_is_never_followed(path: object) -> None:
    from portal.auth.targets import is_local_path

    assert not is_local_path(path)


def test_a_very_long_deep_link_is_kept_without_its_query(
    client: FlaskClient, forms: Any, mailbox: Any
) -> None:
    """The page asked for lives in the session cookie: a crafted long link must not fill it
    so far that signing in no longer fits (then the code would seem from another browser)."""
    client.get("/mijn-gegevens/orders?q=" + "x" * 3800)
    before = len(mailbox.messages)
    ask_code(client, forms)
    code = mailbox.code_in(mailbox.wait_for(before + 1)[-1])
    assert enter_code(client, forms, code).headers["Location"] == "/mijn-gegevens/orders"
