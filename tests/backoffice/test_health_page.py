"""The sources' health page (/beheer/bronnen) against the vendor simulators over HTTP: each
source's state in words after gathering and after faults, flagged sources first with what to do,
the privacy contact mailed once a day, the requests waiting on a source, and the officer's
rate-limited "check now" button; and who may see the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, session

from portal.auth import services
from portal.auth.services import sign_in_with_verified_email
from portal.backoffice import actions, health
from portal.dsr import services as dsr
from portal.extensions import db
from portal.gathering import gather_for
from portal.models import AuditEvent, RequestKind, SourceEvent
from portal.policy import current_policy
from simulators import SimulatorGroup

from ..auth.conftest import Mailbox, mailbox  # noqa: F401 - the real SMTP server (fixture)
from ..staff.conftest import (  # noqa: F401 - shared fixtures
    Browser,
    Staff,
    _light_argon2,
    make_staff,
)

SANNE = "sanne.devries@example.nl"
PAGE = "/beheer/bronnen"
CHECK = "/beheer/bronnen/controleren"


@pytest.fixture
def settings_overrides(
    simulated_connectors: dict[str, object],
    mailbox: Mailbox,  # noqa: F811 - the imported fixture
) -> dict[str, object]:
    return {
        "connectors": simulated_connectors,
        "gather_budget_seconds": 10.0,
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


@pytest.fixture(autouse=True)
def _fresh_simulators(simulators: SimulatorGroup) -> Iterator[None]:
    yield
    for vendor in ("woocommerce", "moneybird", "zammad", "freshdesk", "mollie"):
        simulators[vendor].clear_fault()


def _section(html: str, key: str) -> str:
    """The part of the page about source ``key``."""
    match = re.search(rf'<section class="source-health" id="source-{key}".*?</section>', html, re.S)
    assert match, f"no section for {key}"
    return match.group(0)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _signed_in(app: Flask, staff: Staff) -> Browser:
    b = Browser(app)
    assert b.sign_in(staff).status_code == 303
    return b


def test_states_in_words_after_gathering_and_after_faults(
    app: Flask,
    officer: Staff,
    simulators: SimulatorGroup,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    b = _signed_in(app, officer)
    html = b.get(PAGE).get_data(as_text=True)
    assert html.count("Nog niet gevraagd") == 6  # nothing asked yet: unknown, not "ok"
    assert "blijven fouten geven" not in html

    with app.test_request_context():
        gather_for(sign_in_with_verified_email(SANNE, "test"))
        db.session.commit()
    html = b.get(PAGE).get_data(as_text=True)
    assert html.count("Werkt") == 6
    webshop = _text(_section(html, "webshop"))
    assert "Laatste geslaagde antwoord" in webshop and "Nooit" in webshop  # never failed

    simulators["mollie"].set_fault("expired_credentials")
    with app.app_context():
        for _ in range(health.FLAG_AFTER):
            health.check_all()
    simulators["moneybird"].set_fault("down")
    simulators["woocommerce"].set_fault("malformed")
    with app.app_context():
        items = {item.key: item for item in health.check_all()}
    assert items["invoicing"].state == "failing"
    assert items["payments"].state == "flagged"

    html = b.get(PAGE).get_data(as_text=True)
    text = _text(html)
    # Flagged sources first, with what to do, before the per-source sections.
    summary = text.index("1 bron blijft fouten geven")
    assert summary < text.index("Alle bronnen nu controleren")
    flagged = _text(html[html.index('id="flagged-title"') : html.index("</section>")])
    assert "Betalingen (Mollie)" in flagged
    assert "inloggegevens geweigerd" in flagged
    assert "Inloggegevens geweigerd: controleer de API-sleutel" in flagged
    assert 'href="#source-payments"' in html
    payments = _text(_section(html, "payments"))
    assert "Blijft fouten geven" in payments
    assert f"{health.FLAG_AFTER + 1} keer achter elkaar mislukt" in payments
    assert f"inloggegevens geweigerd: {health.FLAG_AFTER + 1}" in payments
    invoicing = _text(_section(html, "invoicing"))
    assert "Mislukt" in invoicing and "1 keer achter elkaar mislukt" in invoicing
    assert "niet bereikbaar" in invoicing
    assert "Werkt" in _text(_section(html, "helpdesk"))
    webshop = _text(_section(html, "webshop"))
    assert "Mislukt" in webshop and "onleesbaar antwoord" in webshop

    # The privacy contact of the policy got one e-mail about the flagged source, not one per check.
    with app.app_context():
        contact = str(current_policy().controller.privacy_contact.email)
    messages = mailbox.wait_for(1)
    assert [m["To"] for m in messages] == [contact]
    assert "http://127.0.0.1:5000/beheer/bronnen" in Mailbox.text_of(messages[0])
    with app.app_context():
        health.check_all()
    assert len(mailbox.messages) == 1


def test_open_requests_waiting_on_a_source_link_to_their_page(app: Flask, agent: Staff) -> None:
    with app.test_request_context():
        customer = sign_in_with_verified_email(SANNE, "test")
        in_scope = dsr.submit(
            customer, RequestKind.ERASURE, scope={"sources": ["payments"]}, details={}
        ).request
        with_action = dsr.submit(customer, RequestKind.CORRECTION, details={}).request
        actions.add_erasure(with_action, "invoicing", "contact", "42", anonymise=False)
        done = dsr.submit(
            customer, RequestKind.ERASURE, scope={"sources": ["payments"]}, details={}
        ).request
        done.status = "done"
        db.session.commit()
        refs = (in_scope.reference, with_action.reference, done.reference)

    html = _signed_in(app, agent).get(PAGE).get_data(as_text=True)
    payments = _section(html, "payments")
    assert f'href="/beheer/verzoeken/{refs[0]}"' in payments
    assert refs[1] not in payments
    assert refs[2] not in html  # a finished request waits on nothing
    invoicing = _text(_section(html, "invoicing"))
    assert refs[1] in invoicing and "1 wijziging wacht" in invoicing
    assert "Wachtend: 1" in invoicing
    assert "Alle bronnen nu controleren" not in html  # the button is the officer's


def test_the_officer_checks_now_and_is_rate_limited(
    app: Flask, officer: Staff, agent: Staff, simulators: SimulatorGroup
) -> None:
    a = _signed_in(app, agent)
    response = a.client.post(CHECK, data={"csrf_token": a.token(PAGE)})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SourceEvent)) == 0

    b = _signed_in(app, officer)
    assert b.client.post(CHECK, data={}).status_code == 400  # no CSRF token: nothing done
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SourceEvent)) == 0

    simulators["zammad"].set_fault("down")
    response = b.post(CHECK, page=PAGE)
    assert response.status_code == 303 and response.headers["Location"].endswith(PAGE)
    text = _text(b.get(PAGE).get_data(as_text=True))
    assert "6 bronnen gecontroleerd: 1 antwoordt niet: Storingsmeldingen (Zammad)." in text
    with app.app_context():
        checked = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "sources.checked")
        ).one()
        assert checked.actor_type == "staff" and checked.actor_id == str(officer.id)
        assert checked.details == {"sources": 6, "failing": ["helpdesk"]}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SourceEvent)) == 6

    simulators["zammad"].clear_fault()
    assert b.post(CHECK, page=PAGE).status_code == 303
    assert "6 bronnen gecontroleerd: alle antwoorden" in _text(b.get(PAGE).get_data(as_text=True))
    assert b.post(CHECK, page=PAGE).status_code == 303
    limited = b.post(CHECK, page=PAGE)
    assert limited.status_code == 429
    assert "Te veel pogingen" in limited.get_data(as_text=True)


def _customer_browser(app: Flask) -> Browser:
    b = Browser(app, "10.5.0.1")
    with app.test_request_context():
        services.sign_in_with_verified_email("klant@example.nl", "test")
        db.session.commit()
        data = dict(session)
    with b.client.session_transaction() as stored:
        stored.update(data)
    assert b.get("/account").status_code == 200
    return b


@pytest.mark.parametrize(("method", "path"), [("GET", PAGE), ("POST", CHECK)])
def test_only_staff_with_both_factors_reach_the_page(
    app: Flask, officer: Staff, method: str, path: str
) -> None:
    def send(b: Browser, token_page: str) -> Any:
        if method == "GET":
            return b.get(path)
        return b.client.post(path, data={"csrf_token": b.token(token_page)})

    for b in (Browser(app), _customer_browser(app)):
        r = send(b, "/beheer/inloggen")
        assert r.status_code == 303 and r.headers["Location"].endswith("/beheer/inloggen")
    b = Browser(app)
    assert b.password(officer).status_code == 303
    r = send(b, "/beheer/tweestaps")
    assert r.status_code == 303 and r.headers["Location"].endswith("/beheer/tweestaps")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SourceEvent)) == 0
