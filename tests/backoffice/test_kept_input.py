"""A staff form sent after its page expired loses nothing typed (portal.kept_input), and does
nothing.

Its token no longer fits (a sign-in in another tab renewed the session's secret): the page
comes back with the form filled in, a fresh token and a message; nothing is done. The staff
session ended while they typed (idle, signed out elsewhere, only the password done again):
what they typed is shown back, in that answer only, with a way to sign in and a button that
brings the form back once both steps are done. Never for a member without the form's role,
and only for a form our own page sent (``Sec-Fetch-Site: same-origin``). Nothing typed is kept
in the database, the session cookie or the log.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from werkzeug.datastructures import MultiDict

from portal.backoffice import queue
from portal.dsr import services as dsr
from portal.extensions import db
from portal.models import (
    AuditEvent,
    CustomerIdentifier,
    DataRequest,
    OutboxMessage,
    RequestChannel,
    RequestKind,
    StaffMember,
    utcnow,
)

from ..clock import firm_today
from ..dsr.conftest import hidden_fields, key_in
from ..staff.conftest import (  # noqa: F401 - shared fixtures
    Browser,
    Staff,
    _light_argon2,
    make_staff,
    settings_overrides,
)
from .test_identifier_review import add_number

QUEUE = "/beheer/verzoeken"
OURS = {"Sec-Fetch-Site": "same-origin"}
#: In every text typed here: found nowhere it must not be.
MARK = "Kwetsbaar-7QX"
LONG = f"Mevrouw belde op 3 maart: ze woont niet meer op <Dorpsstraat 1> & {MARK}.\nTweede regel."
EXPIRED = "Nothing was done, because the page had expired"
SIGNED_OUT = "Sign in again to submit your form"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (no pushed test context)."""


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


@pytest.fixture
def agent(app: Flask) -> Staff:
    return make_staff(app, "agent@firm.example", "agent", name="Arie Agent")


@pytest.fixture(autouse=True)
def _no_typed_text_in_the_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever a test does, nothing typed reaches a log record."""
    caplog.set_level(logging.DEBUG)
    yield
    assert MARK not in caplog.text


def desk(app: Flask, staff: Staff) -> Browser:
    """A staff browser signed in with both steps, reading the back office in English."""
    b = Browser(app)
    assert b.sign_in(staff).status_code == 303
    b.client.set_cookie("portal_lang", "en")
    return b


def letter(app: Flask, staff: Staff) -> str:
    """A request staff entered for someone who wrote a letter (no e-mail: nothing is mailed)."""
    with app.test_request_context():
        result = queue.enter_request(
            kind=RequestKind.ACCESS, channel=RequestChannel.POST,
            received_on=firm_today() - timedelta(days=3), name="Jan Brief", email=None,
            address="Dorpsstraat 1", phone=None,
            identity_verification="customer_and_invoice_number", identity_note=None,
            text="Welke gegevens heeft u van mij?", subject=None, sources=[], locale="en",
            staff_id=staff.id,
        )  # fmt: skip
        db.session.commit()
        return result.request.reference


def renew_secret(b: Browser) -> None:
    """What a sign-in in another tab does to this browser: a new CSRF secret, so every token
    on the pages it has open no longer fits."""
    with b.client.session_transaction() as session:
        session["csrf_token"] = "a-new-secret-from-another-tab"


def post_ours(b: Browser, path: str, data: list[tuple[str, str]]) -> Any:
    return b.client.post(path, data=MultiDict(data), headers=OURS)


def html_of(response: Any) -> str:
    return str(response.get_data(as_text=True))


def token_in(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token"
    return match.group(1)


def textarea(html: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(?:\r?\n)?(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {name}"
    return html_lib.unescape(match.group(1))


def checked(html: str, name: str, value: str) -> bool:
    """Whether the radio button or checkbox ``name`` with ``value`` is checked."""
    for tag in re.findall(r"<input[^>]*>", html):
        if f'name="{name}"' in tag and f'value="{value}"' in tag:
            return " checked" in tag
    raise AssertionError(f"no input {name}={value}")


def history(app: Flask, reference: str) -> list[str]:
    """What each event of the request says (decrypted)."""
    with app.app_context():
        found = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        return [str(dsr.message_of(e) or "") + e.action for e in found.events]


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def audit_since(app: Flask, after_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.id > after_id))
        )


def last_audit_id(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0)


def stored_anywhere(app: Flask, b: Browser) -> list[str]:
    """Where the mark is in the clear: any column of any row, or the session cookie."""
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)):
                if any(MARK in str(value) for value in row):
                    found.append(table.name)
        cookie = b.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        if cookie is not None:
            data = app.session_interface.get_signing_serializer(app).loads(  # type: ignore[attr-defined]
                cookie.value
            )
            if MARK in repr(data):
                found.append("session cookie")
    return found


# --- the token no longer fits ----------------------------------------------------------------


def test_a_note_whose_page_expired_comes_back_filled_in_and_is_added_only_when_sent_again(
    app: Flask, officer: Staff
) -> None:
    reference = letter(app, officer)
    b = desk(app, officer)
    path = f"{QUEUE}/{reference}"
    old = token_in(b.client.get(path).get_data(as_text=True))
    renew_secret(b)
    before = history(app, reference)

    response = post_ours(b, f"{path}/notitie", [("csrf_token", old), ("note", LONG)])

    assert response.status_code == 400
    again = html_of(response)
    assert EXPIRED in again and "check it and submit it again" in again
    assert textarea(again, "note") == LONG
    assert response.headers["Cache-Control"] == "no-store"
    assert history(app, reference) == before  # nothing added
    assert stored_anywhere(app, b) == []
    fresh = token_in(again)
    assert fresh != old

    sent = post_ours(b, f"{path}/notitie", [("csrf_token", fresh), ("note", LONG)])
    assert sent.status_code == 303
    assert any(LONG in line for line in history(app, reference))


def test_each_step_with_free_text_keeps_what_was_typed(app: Flask, officer: Staff) -> None:
    """Asking the customer, recording their answer, extending, closing: each form is back
    filled in, and the request does not move."""
    reference = letter(app, officer)
    b = desk(app, officer)
    path = f"{QUEUE}/{reference}"
    old = token_in(b.client.get(path).get_data(as_text=True))
    renew_secret(b)
    for step, field, extra in (
        ("informatie", "question", []),
        ("verlengen", "extend_reason", [("months", "1")]),
        ("afsluiten", "closing_message", []),
    ):
        response = post_ours(b, f"{path}/{step}", [("csrf_token", old), (field, LONG), *extra])
        assert response.status_code == 400, step
        again = html_of(response)
        assert EXPIRED in again and textarea(again, field) == LONG, step
        if step == "verlengen":
            assert checked(again, "months", "1") and not checked(again, "months", "2")
    with app.app_context():
        found = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        assert found.status == "received" and found.extension_months == 0
    assert count(app, OutboxMessage) == 0
    assert stored_anywhere(app, b) == []


def test_a_letter_entered_after_its_page_expired_is_entered_once_when_sent_again(
    app: Flask, officer: Staff
) -> None:
    b = desk(app, officer)
    form = b.client.get(f"{QUEUE}/nieuw").get_data(as_text=True)
    key = key_in(form)
    renew_secret(b)
    typed = [
        ("key", key), ("channel", "post"), ("received_on", firm_today().isoformat()),
        ("kind", "access"), ("name", f"Jan {MARK}"), ("email", ""),
        ("address", "Dorpsstraat 1\n1234 AB Ergens"), ("phone", ""),
        ("identity_verification", "customer_and_invoice_number"), ("identity_note", ""),
        ("subject", ""), ("text", LONG), ("locale", "nl"),
    ]  # fmt: skip

    response = post_ours(b, f"{QUEUE}/nieuw", [("csrf_token", token_in(form)), *typed])

    assert response.status_code == 400
    again = html_of(response)
    assert EXPIRED in again
    assert f'value="Jan {MARK}"' in again and textarea(again, "text") == LONG
    assert textarea(again, "address") == "Dorpsstraat 1\n1234 AB Ergens"
    assert checked(again, "channel", "post") and not checked(again, "channel", "email")
    assert key_in(again) == key  # the same request, should both arrive
    assert count(app, DataRequest) == 0
    assert stored_anywhere(app, b) == []

    for _ in range(2):  # sent again, twice: entered once
        sent = post_ours(b, f"{QUEUE}/nieuw", [("csrf_token", token_in(again)), *typed])
        assert sent.status_code == 303
    assert count(app, DataRequest) == 1


def test_the_corrected_date_received_comes_back_for_an_officer_and_never_for_an_agent(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    reference = letter(app, officer)
    day = (firm_today() - timedelta(days=10)).isoformat()
    data = [("corrected_received_on", day), ("correction_reason", LONG)]
    path = f"{QUEUE}/{reference}/ontvangstdatum"

    b = desk(app, officer)
    old = token_in(b.client.get(f"{QUEUE}/{reference}").get_data(as_text=True))
    renew_secret(b)
    response = post_ours(b, path, [("csrf_token", old), *data])
    assert response.status_code == 400
    again = html_of(response)
    assert EXPIRED in again and textarea(again, "correction_reason") == LONG
    assert f'value="{day}"' in again

    a = desk(app, agent)
    old = token_in(a.client.get(f"{QUEUE}/{reference}").get_data(as_text=True))
    renew_secret(a)
    refused = post_ours(a, path, [("csrf_token", old), *data])
    assert refused.status_code == 403
    shown = html_of(refused)
    assert MARK not in shown and "correction_reason" not in shown and EXPIRED not in shown
    # the refused form's message is not left behind for the next page either
    assert EXPIRED not in a.client.get(f"{QUEUE}/{reference}").get_data(as_text=True)
    with app.app_context():
        found = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        assert found.received_on == firm_today() - timedelta(days=3)


def test_a_reason_to_reject_a_number_and_a_new_colleague_come_back(
    app: Flask, officer: Staff
) -> None:
    ident_id = add_number(app, "sanne.devries@example.nl")
    b = desk(app, officer)
    old = token_in(b.client.get("/beheer/nummers").get_data(as_text=True))
    renew_secret(b)

    response = post_ours(
        b, f"/beheer/nummers/{ident_id}/afwijzen?page=1",
        [("csrf_token", old), ("reject_reason", LONG)],
    )  # fmt: skip
    assert response.status_code == 400
    assert textarea(html_of(response), "reject_reason") == LONG
    with app.app_context():
        assert db.session.get(CustomerIdentifier, ident_id).status == "pending"  # type: ignore[union-attr]

    staff_before = count(app, StaffMember)
    response = post_ours(
        b, "/beheer/medewerkers/nieuw",
        [("csrf_token", old), ("display_name", f"Nina {MARK}"),
         ("email", "nina@firm.example"), ("role", "agent"), ("code", officer.code())],
    )  # fmt: skip
    assert response.status_code == 400
    again = html_of(response)
    assert EXPIRED in again
    assert f'value="Nina {MARK}"' in again and 'value="nina@firm.example"' in again
    assert checked(again, "role", "agent") and not checked(again, "role", "officer")
    # The code from the app is not put back: it works once, and a new one is needed.
    assert f'value="{officer.code()}"' not in again and 'name="code"' in again
    assert count(app, StaffMember) == staff_before
    assert stored_anywhere(app, b) == []


def test_a_button_pressed_after_its_page_expired_does_nothing_and_asks_again(
    app: Flask, officer: Staff
) -> None:
    reference = letter(app, officer)
    b = desk(app, officer)
    old = token_in(b.client.get(f"{QUEUE}/{reference}").get_data(as_text=True))
    renew_secret(b)
    for step in ("starten", "mij"):
        response = post_ours(b, f"{QUEUE}/{reference}/{step}", [("csrf_token", old)])
        assert response.status_code == 400, step
        again = html_of(response)
        assert "Press the button again if you still want to" in again, step
        assert "Mark as in progress" in again and token_in(again) != old
    with app.app_context():
        found = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        assert found.status == "received" and found.assignee_id is None
    pressed = post_ours(b, f"{QUEUE}/{reference}/starten", [("csrf_token", token_in(again))])
    assert pressed.status_code == 303


def test_steps_on_a_colleague_sent_after_their_page_expired_do_nothing_and_ask_again(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    """Disabling, enabling, unlocking, a new role, a new one-time password, resetting the
    authenticator app: each comes back as its own page (the choice made kept, a code from the
    app never), with a fresh token, and nothing was done; the page can then be sent."""
    reference = letter(app, officer)
    with app.test_request_context():
        found = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        queue.assign(found, db.session.get(StaffMember, agent.id), staff_id=officer.id)
        db.session.commit()
    b = desk(app, officer)
    old = token_in(b.client.get("/beheer/medewerkers").get_data(as_text=True))
    renew_secret(b)
    audited = last_audit_id(app)
    base = f"/beheer/medewerkers/{agent.id}"
    steps = [
        ("uitschakelen", [("hand_over_to", str(officer.id))], "Disable Arie Agent?"),
        ("inschakelen", [], "<h1>Staff</h1>"),
        ("ontgrendelen", [], "<h1>Staff</h1>"),
        ("rol", [("role", "officer"), ("code", officer.code())], "Arie Agent"),
        ("wachtwoord", [("code", officer.code())], "Give Arie Agent a new one-time password?"),
        ("tweestaps-herstellen", [("code", officer.code())], "Reset the authenticator app"),
    ]
    pages = {}
    for step, data, heading in steps:
        response = post_ours(b, f"{base}/{step}", [("csrf_token", old), *data])
        assert response.status_code == 400, step
        again = html_of(response)
        assert "Press the button again" in again or EXPIRED in again, step
        assert heading in again, step
        assert token_in(again) != old, step
        assert f'value="{officer.code()}"' not in again, step
        pages[step] = again
    assert re.search(
        rf'<option[^>]*selected[^>]*value="{officer.id}"|'
        rf'<option[^>]*value="{officer.id}"[^>]*selected',
        pages["uitschakelen"],
    )
    assert checked(pages["rol"], "role", "officer") and not checked(pages["rol"], "role", "agent")
    assert audit_since(app, audited) == []
    with app.app_context():
        member = db.session.get(StaffMember, agent.id)
        assert member is not None and member.active and member.role == "agent"
    # Sent again from the page that came back, the step is done.
    done = post_ours(
        b, f"{base}/uitschakelen",
        [("csrf_token", token_in(pages["uitschakelen"])), ("hand_over_to", "")],
    )  # fmt: skip
    assert done.status_code == 303
    with app.app_context():
        member = db.session.get(StaffMember, agent.id)
        assert member is not None and not member.active
        handed = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        assert handed.assignee_id is None  # "nobody", as chosen on the page that came back


def test_an_agent_gets_no_staff_management_page_back(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    a = desk(app, agent)
    old = token_in(a.client.get("/beheer/").get_data(as_text=True))
    renew_secret(a)
    for step in ("uitschakelen", "inschakelen", "ontgrendelen", "rol", "wachtwoord"):
        response = post_ours(a, f"/beheer/medewerkers/{officer.id}/{step}", [("csrf_token", old)])
        assert response.status_code == 403, step
        assert "Press the button again" not in html_of(response), step
        assert EXPIRED not in html_of(response), step


def test_an_anchor_typed_to_check_the_audit_log_comes_back(app: Flask, officer: Staff) -> None:
    b = desk(app, officer)
    old = token_in(b.client.get("/beheer/audit").get_data(as_text=True))
    renew_secret(b)
    audited = last_audit_id(app)
    response = post_ours(
        b, "/beheer/audit/controleren", [("csrf_token", old), ("anchor", f"12:{MARK}")]
    )
    assert response.status_code == 400
    again = html_of(response)
    assert "<h1>Check the chain</h1>" in again and f'value="12:{MARK}"' in again
    assert "audit.verified" not in audit_since(app, audited)


def test_an_agent_gets_no_officer_page_back_for_a_button_either(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    ident_id = add_number(app, "sanne.devries@example.nl")
    a = desk(app, agent)
    old = token_in(a.client.get("/beheer/").get_data(as_text=True))
    renew_secret(a)
    response = post_ours(a, f"/beheer/nummers/{ident_id}/goedkeuren?page=1", [("csrf_token", old)])
    assert response.status_code == 403
    assert "Press the button again" not in html_of(response)
    with app.app_context():
        assert db.session.get(CustomerIdentifier, ident_id).status == "pending"  # type: ignore[union-attr]


def test_a_form_another_site_or_an_old_browser_sent_is_not_shown_back(
    app: Flask, officer: Staff
) -> None:
    """Without the browser's word that our page sent it, nothing posted is put on the page:
    the plain "form expired" page, in the back office's layout."""
    reference = letter(app, officer)
    b = desk(app, officer)
    old = token_in(b.client.get(f"{QUEUE}/{reference}").get_data(as_text=True))
    renew_secret(b)
    for headers in ({}, {"Sec-Fetch-Site": "none"}):
        response = b.client.post(
            f"{QUEUE}/{reference}/notitie", data={"csrf_token": old, "note": LONG},
            headers=headers,
        )  # fmt: skip
        assert response.status_code == 400
        shown = html_of(response)
        assert "This form has expired" in shown and "Nothing was saved" in shown
        assert MARK not in shown
    assert not any(MARK in line for line in history(app, reference))


# --- the staff session ended -----------------------------------------------------------------


def test_signed_out_while_typing_shows_what_was_typed_and_brings_the_form_back(
    app: Flask, officer: Staff
) -> None:
    """Idle while typing a question to the customer: what they typed is shown back (in this
    answer only), with a button without a token that brings the form back once they have
    signed in again with both steps, never before and never doing the step itself."""
    reference = letter(app, officer)
    path = f"{QUEUE}/{reference}"
    with time_machine.travel(utcnow(), tick=True) as traveller:
        b = desk(app, officer)
        page = b.client.get(path).get_data(as_text=True)
        traveller.shift(timedelta(minutes=31))
        audited = last_audit_id(app)

        response = post_ours(
            b, f"{path}/informatie", [("csrf_token", token_in(page)), ("question", LONG)]
        )

        assert response.status_code == 401
        shown = html_of(response)
        assert SIGNED_OUT in shown and "because you were inactive" in shown
        assert response.headers["Cache-Control"] == "no-store"
        assert html_lib.escape(LONG, quote=False) in shown
        assert 'href="/beheer/inloggen" target="_blank" rel="noopener"' in shown
        back = shown[shown.index(f'<form method="post" action="{path}/informatie">') :]
        back = back[: back.index("</form>")]
        assert "csrf_token" not in back  # it can never carry anything out itself
        carried = hidden_fields(back)
        assert carried == [("question", LONG)]
        assert stored_anywhere(app, b) == []

        # Still signed out: the same again; nothing is done.
        assert post_ours(b, f"{path}/informatie", carried).status_code == 401
        # Only the password done (the second step is needed again): not yet.
        assert b.password(officer).status_code == 303
        pending = post_ours(b, f"{path}/informatie", carried)
        assert pending.status_code == 401 and SIGNED_OUT in html_of(pending)
        # Both steps done (in another tab): the button brings back the filled-in form.
        assert b.post("/beheer/tweestaps", code=officer.code()).status_code == 303
        response = post_ours(b, f"{path}/informatie", carried)
        assert response.status_code == 400
        again = html_of(response)
        assert EXPIRED in again and textarea(again, "question") == LONG
        assert not any(MARK in line for line in history(app, reference))
        assert "request.question_asked" not in " ".join(audit_since(app, audited))
        assert stored_anywhere(app, b) == []

        sent = post_ours(
            b, f"{path}/informatie", [("csrf_token", token_in(again)), ("question", LONG)]
        )
        assert sent.status_code == 303
        assert any(LONG in line for line in history(app, reference))


def test_signed_out_in_another_tab_keeps_the_typed_text_too(app: Flask, officer: Staff) -> None:
    """Signing out ends the session but leaves the token valid: the form is not lost on the
    way to the sign-in page."""
    reference = letter(app, officer)
    b = desk(app, officer)
    page = b.client.get(f"{QUEUE}/{reference}").get_data(as_text=True)
    token = token_in(page)
    assert b.client.post("/beheer/uitloggen", data={"csrf_token": token}).status_code == 303

    response = post_ours(
        b, f"{QUEUE}/{reference}/weigeren", [("csrf_token", token), ("refuse_reason", LONG)]
    )

    assert response.status_code == 401
    shown = html_of(response)
    assert SIGNED_OUT in shown and html_lib.escape(LONG, quote=False) in shown
    with app.app_context():
        found = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        assert found.status == "received"


def test_a_new_colleague_typed_while_signed_out_comes_back_without_the_code(
    app: Flask, officer: Staff
) -> None:
    """The signed-out page lists and carries what was typed for a new colleague, but never
    the code from the authenticator app: once signed in again, the officer enters a new one."""
    staff_before = count(app, StaffMember)
    b = desk(app, officer)
    token = token_in(b.client.get("/beheer/medewerkers/nieuw").get_data(as_text=True))
    assert b.client.post("/beheer/uitloggen", data={"csrf_token": token}).status_code == 303
    code = officer.code(steps=1)
    typed = [("csrf_token", token), ("display_name", f"Nina {MARK}"),
             ("email", "nina@firm.example"), ("role", "officer"), ("code", code)]  # fmt: skip

    response = post_ours(b, "/beheer/medewerkers/nieuw", typed)

    assert response.status_code == 401
    shown = html_of(response)
    assert SIGNED_OUT in shown and f"Nina {MARK}" in shown and "nina@firm.example" in shown
    assert f'value="{code}"' not in shown and "Code from your authenticator app" not in shown
    back = shown[shown.index('<form method="post" action="/beheer/medewerkers/nieuw">') :]
    carried = hidden_fields(back[: back.index("</form>")])
    assert carried == [
        ("display_name", f"Nina {MARK}"), ("email", "nina@firm.example"), ("role", "officer")
    ]  # fmt: skip
    assert count(app, StaffMember) == staff_before

    assert b.sign_in(officer, steps=1).status_code == 303
    again = post_ours(b, "/beheer/medewerkers/nieuw", carried)
    assert again.status_code == 400
    page = html_of(again)
    assert f'value="Nina {MARK}"' in page and checked(page, "role", "officer")
    assert count(app, StaffMember) == staff_before


def test_an_agent_signed_in_again_gets_no_officer_form_back(app: Flask, agent: Staff) -> None:
    """The button of the signed-out page, pressed by a member without the form's role, is
    refused like the form itself: no form, nothing typed on the page."""
    reference = letter(app, agent)
    b = desk(app, agent)
    carried = [("corrected_received_on", firm_today().isoformat()), ("correction_reason", LONG)]
    response = post_ours(b, f"{QUEUE}/{reference}/ontvangstdatum", carried)  # no token at all
    assert response.status_code == 403
    shown = html_of(response)
    assert MARK not in shown and EXPIRED not in shown and SIGNED_OUT not in shown


def test_a_visitor_who_was_never_signed_in_is_sent_to_sign_in_as_before(app: Flask) -> None:
    b = Browser(app)
    token = b.token()
    response = b.client.post(f"{QUEUE}/nieuw", data={"csrf_token": token, "name": "x", "text": "y"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/beheer/inloggen")
