"""The staff request queue and request page (/beheer/verzoeken): sorting, filters, counts and
highlights; the request page with its audit entries; each staff step with the customer's e-mail
in their language (a real SMTP server); corrections written back to the vendor simulators;
failures that stay visible and are retried; manual changes confirmed by hand; an erasure end to
end; and who may open any of it."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.auth.services import sign_in_with_verified_email
from portal.backoffice import actions, queue
from portal.dsr import erasure
from portal.dsr import services as dsr
from portal.dsr.deadlines import response_deadline
from portal.extensions import db
from portal.gathering import gather_for
from portal.models import (
    ActionStatus,
    AuditEvent,
    Customer,
    CustomerIdentifier,
    DataRequest,
    OutboxMessage,
    RequestAction,
    RequestEvent,
    RequestKind,
    RequestStatus,
    utcnow,
)
from simulators import SimulatorGroup

from ..auth.conftest import Mailbox, mailbox  # noqa: F401 - the real SMTP server (fixture)
from ..clock import firm_today
from ..staff.conftest import (  # noqa: F401 - shared fixtures
    Browser,
    Staff,
    _light_argon2,
    make_staff,
)

SANNE = "sanne.devries@example.nl"
#: Her guest order's Mollie payment (read through the order while the order names it).
GUEST_PAYMENT = "tr_Gk2Mw8PxLs"
QUEUE = "/beheer/verzoeken"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ROW_RE = re.compile(r'<tr id="request-(AVG-[A-Z2-9]{8})"(?: class="([a-z-]+)")?>')


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


@pytest.fixture(autouse=True)
def _fresh_simulators(simulators: SimulatorGroup) -> Iterator[None]:
    """Writes change a simulator's data: every test starts from the demo world."""
    yield
    for vendor in ("woocommerce", "moneybird", "zammad", "freshdesk", "mollie"):
        simulators[vendor].reset()


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


@pytest.fixture
def agent(app: Flask) -> Staff:
    return make_staff(app, "agent@firm.example", "agent", name="Arie Agent")


class Desk(Browser):
    """A signed-in staff browser that posts the request page's forms."""

    def page(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == status, (path, response.status_code)
        return response.get_data(as_text=True)

    def step(self, reference: str, step: str, **data: str) -> Any:
        page = f"{QUEUE}/{reference}"
        return self.post(f"{page}/{step}", page=page, **data)


def desk(app: Flask, staff: Staff) -> Desk:
    b = Desk(app)
    assert b.sign_in(staff).status_code == 303
    return b


def customer(app: Flask, email: str = SANNE) -> int:
    with app.test_request_context():
        found = sign_in_with_verified_email(email, "test")
        db.session.commit()
        return found.id


def submit(
    app: Flask,
    customer_id: int | None,
    kind: RequestKind = RequestKind.QUESTION,
    *,
    locale: str = "nl",
    details: dict[str, Any] | None = None,
    scope: dict[str, list[str]] | None = None,
    received_on: date | None = None,
    status: RequestStatus | None = None,
    assignee_id: int | None = None,
) -> str:
    """A request through the real submit (its receipt e-mail is queued, not sent)."""
    with app.test_request_context():
        who = db.session.get(Customer, customer_id) if customer_id else None
        result = dsr.submit(
            who, kind, locale=locale, scope=scope,
            details=details if details is not None else {"subject": "Vraag", "question": "Hoe?"},
            received_on=received_on,
        )  # fmt: skip
        request = result.request
        if status is not None:
            request.status = status.value
        request.assignee_id = assignee_id
        db.session.commit()
        return request.reference


def correction_details(app: Flask, customer_id: int, source: str, record_type: str, field: str,
                       new: str) -> dict[str, Any]:  # fmt: skip
    """The details of a correction of one field, as the portal's form stores them."""
    with app.test_request_context():
        snapshot = gather_for(db.session.get(Customer, customer_id))
        db.session.commit()
    record = next(
        r for r in snapshot.records if r["source"] == source and r["record_type"] == record_type
    )
    return {
        "items": [
            {
                "source": source, "record_type": record_type, "record_id": record["record_id"],
                "record": record_type, "field": field, "label": field, "kind": "text",
                "current": record["fields"].get(field), "new": new,
            }
        ]
    }  # fmt: skip


def get_request(app: Flask, reference: str) -> DataRequest:
    with app.app_context():
        row = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        db.session.expunge(row)
        return row


def actions_of(app: Flask, reference: str) -> list[RequestAction]:
    with app.app_context():
        request = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        rows = actions.actions_of(request)
        for row in rows:
            db.session.expunge(row)
        return rows


def audit_actions(app: Flask) -> list[tuple[str, dict[str, Any]]]:
    with app.app_context():
        return [
            (e.action, e.details)
            for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))
        ]


def fetch_fields(app: Flask, customer_id: int, source: str, record_type: str, record_id: str):  # type: ignore[no-untyped-def]
    from portal.auth.services import verified_identity

    with app.test_request_context():
        connector, _, built = actions._connector(source)  # noqa: SLF001 - the same build path
        assert connector is not None
        try:
            result = connector.fetch(verified_identity(db.session.get(Customer, customer_id)))
        finally:
            built.close()
    for record in result.records:
        if (record.record_type, record.record_id) == (record_type, record_id):
            return record.fields
    return None


def text(html: str) -> str:
    """The page's text, tags removed and whitespace collapsed."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


# --- the queue ------------------------------------------------------------------------------


def test_the_queue_is_sorted_by_deadline_with_counts_and_highlights(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    today = firm_today()
    late = submit(app, sanne, received_on=today - timedelta(days=45))  # overdue
    soon = submit(app, sanne, received_on=today - timedelta(days=27))  # due within a week
    fresh = submit(app, sanne, RequestKind.CORRECTION, details={})
    waiting = submit(app, sanne, received_on=today - timedelta(days=10),
                     status=RequestStatus.WAITING_FOR_CUSTOMER)  # fmt: skip
    done = submit(app, sanne, received_on=today - timedelta(days=60), status=RequestStatus.DONE)
    b = desk(app, officer)

    html = b.page(QUEUE)

    rows = ROW_RE.findall(html)
    assert [ref for ref, _ in rows] == [late, soon, waiting, fresh]  # by deadline; done hidden
    highlight = dict(rows)
    assert highlight[late] == "overdue" and highlight[soon] == "due-soon"
    assert highlight[waiting] == "" and highlight[fresh] == ""
    page = text(html)
    assert "Te laat" in page and "Bijna te laat" in page  # in words, not colour alone
    assert re.search(r'id="count-open">4<', html)
    assert re.search(r'id="count-overdue"><a href="[^"]+"><strong>1<', html)
    assert re.search(r'id="count-due-soon"><a href="[^"]+">1<', html)
    assert re.search(r'id="count-waiting"><a href="[^"]+">1<', html)
    assert re.search(r'id="count-kind-question">3<', html)
    assert re.search(r'id="count-kind-correction">1<', html)
    assert SANNE not in html  # never personal data in the list

    everything = b.page(QUEUE + "?status=all")
    assert done in everything
    assert [r for r, _ in ROW_RE.findall(b.page(QUEUE + "?status=done"))] == [done]


def test_the_dashboard_shows_what_needs_attention_and_leads_to_the_queue(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    today = firm_today()
    submit(app, sanne, received_on=today - timedelta(days=45))  # overdue
    submit(app, sanne, received_on=today - timedelta(days=27), assignee_id=officer.id)
    submit(app, sanne)
    html = desk(app, officer).page("/beheer/")
    assert re.search(
        r'<dd id="dash-overdue"><a href="/beheer/verzoeken\?due=overdue"><strong>1<', html
    )
    assert re.search(r'<dd id="dash-due-soon"><a href="/beheer/verzoeken\?due=soon">1<', html)
    assert re.search(r'<dd id="dash-mine"><a href="/beheer/verzoeken\?assignee=me">1<', html)
    assert 'href="/beheer/verzoeken?assignee=nobody">2<' in html
    assert "komt hier later" not in html  # no promise of a queue that exists


def test_the_queue_filters_by_kind_status_and_assignee(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    sanne = customer(app)
    mine = submit(app, sanne, assignee_id=officer.id)
    theirs = submit(app, sanne, RequestKind.CORRECTION, details={}, assignee_id=agent.id)
    nobodys = submit(app, sanne, status=RequestStatus.IN_PROGRESS)
    b = desk(app, officer)

    def refs(query: str) -> set[str]:
        return {r for r, _ in ROW_RE.findall(b.page(f"{QUEUE}?{query}"))}

    assert refs("") == {mine, theirs, nobodys}
    assert refs("assignee=me") == {mine}
    assert refs("assignee=nobody") == {nobodys}
    assert refs(f"assignee={agent.id}") == {theirs}
    assert refs("kind=correction") == {theirs}
    assert refs("status=in_progress") == {nobodys}
    assert refs("kind=question&assignee=anyone&status=received") == {mine}
    assert refs("kind=nonsense&status=nonsense&assignee=nonsense") == {mine, theirs, nobodys}


def test_the_counts_lead_to_the_requests_they_count(app: Flask, officer: Staff) -> None:
    """Overdue, due within a week and waiting for the customer, on the queue and the
    dashboard: each count opens the queue showing just those requests."""
    sanne = customer(app)
    today = firm_today()
    late = submit(app, sanne, received_on=today - timedelta(days=45))
    late_waiting = submit(app, sanne, received_on=today - timedelta(days=50),
                          status=RequestStatus.WAITING_FOR_CUSTOMER)  # fmt: skip
    soon = submit(app, sanne, received_on=today - timedelta(days=27))
    fresh = submit(app, sanne)
    late_done = submit(app, sanne, received_on=today - timedelta(days=60),
                       status=RequestStatus.DONE)  # fmt: skip
    b = desk(app, officer)
    html = b.page(QUEUE)
    dashboard = b.page("/beheer/")
    links = {}
    for name in ("overdue", "due-soon", "waiting"):
        found = re.search(rf'id="count-{name}"><a href="([^"]+)"', html)
        on_dashboard = re.search(rf'id="dash-{name}"><a href="([^"]+)"', dashboard)
        assert found and on_dashboard, name
        assert html_lib.unescape(found.group(1)) == html_lib.unescape(on_dashboard.group(1))
        links[name] = html_lib.unescape(found.group(1))

    def refs(path: str) -> list[str]:
        return [r for r, _ in ROW_RE.findall(b.page(path))]

    assert refs(links["overdue"]) == [late_waiting, late]  # by deadline; not the closed one
    assert refs(links["due-soon"]) == [soon]
    assert refs(links["waiting"]) == [late_waiting]
    assert fresh not in refs(links["due-soon"]) and late_done not in refs(links["overdue"])
    # the deadline filter keeps the others, and the pages' links keep it
    assert refs(QUEUE + "?due=overdue&status=waiting_for_customer") == [late_waiting]
    assert refs(QUEUE + "?due=nonsense") == [late_waiting, late, soon, fresh]
    filtered = b.page(QUEUE + "?due=soon")
    assert '<option selected value="soon">' in filtered


def test_staff_read_short_neutral_names_of_the_kinds_not_the_customer_s_wording(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    erasure = submit(app, sanne, RequestKind.ERASURE, details={}, scope={"sources": []})
    submit(app, sanne)
    b = desk(app, officer)
    queue_page = b.page(QUEUE)
    page = text(queue_page)
    assert "Uw gegevens laten verwijderen" not in page and "Een vraag over" not in page
    assert re.search(r"<dt>Verwijdering</dt><dd id=\"count-kind-erasure\">1<", queue_page)
    assert re.search(r"<td>Vraag</td>", queue_page)
    filters = re.search(r'<select id="kind".*?</select>', queue_page, re.S)
    assert filters is not None
    options = re.findall(r"<option[^>]*>([^<]*)</option>", filters.group(0))
    assert options[1:] == [
        "Inzage", "Correctie", "Verwijdering", "Beperking van de verwerking", "Bezwaar",
        "Intrekken van toestemming", "Overdraagbaarheid", "Vraag",
    ]  # fmt: skip
    title = r"<h1>Verzoek AVG-[A-Z2-9]{8}: Verwijdering</h1>"
    assert re.search(title, b.page(f"{QUEUE}/{erasure}"))
    assert "Uw gegevens" not in text(b.page("/beheer/verzoeken/nieuw"))
    b.client.set_cookie("portal_lang", "en")
    english = text(b.page(f"{QUEUE}/{erasure}"))
    assert f"Request {erasure}: Erasure" in english and "Delete your data" not in english


def test_a_long_queue_is_paged_and_the_filters_carry_over(
    app: Flask, officer: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    sanne = customer(app)
    today = firm_today()
    questions = [
        submit(app, sanne, received_on=today - timedelta(days=days)) for days in (20, 15, 10, 5, 1)
    ]
    correction = submit(app, sanne, RequestKind.CORRECTION, details={})
    b = desk(app, officer)

    def refs(query: str) -> list[str]:
        return [r for r, _ in ROW_RE.findall(b.page(f"{QUEUE}?{query}"))]

    assert refs("kind=question") == questions[:2]
    second = b.page(QUEUE + "?kind=question&page=2")
    assert [r for r, _ in ROW_RE.findall(second)] == questions[2:4]
    assert "5 verzoeken" in text(second) and "pagina 2 van 3" in text(second)
    # The links to the pages next to it keep the filter.
    links = dict(re.findall(r'href="([^"]+)" rel="(prev|next)"', second))
    assert {html_lib.unescape(link) for link in links} == {
        QUEUE + "?page=1&kind=question", QUEUE + "?page=3&kind=question"
    }  # fmt: skip
    assert refs("kind=question&page=3") == questions[4:]
    # A page that is not there (an old link, a typed number) shows the nearest one.
    assert refs("kind=question&page=99") == questions[4:]
    assert refs("kind=question&page=-1") == questions[:2]
    assert correction in refs("page=3")


# --- the request page -----------------------------------------------------------------------


def test_the_request_page_shows_the_request_and_audits_every_view_of_data(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    details = correction_details(app, sanne, "webshop", "customer", "last_name", "Bakker")
    reference = submit(app, sanne, RequestKind.CORRECTION, details=details)
    b = desk(app, officer)

    html = b.page(f"{QUEUE}/{reference}")

    page = text(html)
    assert reference in page
    assert SANNE in page  # her verified identifier
    assert "Bakker" in page  # the new value asked for
    assert "Ontvangen" in page  # history
    # The held data (gathered when the correction was made) is shown, and that view audited.
    viewed = [d for a, d in audit_actions(app) if a == "request.data_viewed"]
    assert viewed and viewed[-1]["live"] is False and viewed[-1]["customer"] == sanne
    assert set(viewed[-1]) == {"customer", "snapshot", "live"}  # ids, not copies

    live = b.step(reference, "gegevens")
    assert live.status_code == 200
    assert details["items"][0]["record_id"] in live.get_data(as_text=True)
    viewed = [d for a, d in audit_actions(app) if a == "request.data_viewed"]
    assert viewed[-1]["live"] is True
    # The gathering it took is the staff member's doing, not the customer's.
    with app.app_context():
        gathered = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "data.gathered")
            .order_by(AuditEvent.id.desc())
        ).first()  # fmt: skip
        assert gathered is not None
        assert (gathered.actor_type, gathered.actor_id) == ("staff", str(officer.id))
        assert gathered.details["customer"] == sanne
    assert "Bakker" not in str(audit_actions(app))
    assert b.page(f"{QUEUE}/AVG-ZZZZZZZZ", status=404)


def test_the_data_on_the_request_page_reads_in_the_customer_s_words(
    app: Flask, officer: Staff
) -> None:
    """Codes, yes/no and nested values as the customer's pages show them; a code the words
    stand for follows, so staff can find the value in the system."""
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details={}, scope={})
    b = desk(app, officer)
    html = b.step(reference, "gegevens").get_data(as_text=True)
    data = html[html.index('<section aria-labelledby="data-title"') :]
    shop = data[data.index("Klantgegevens 101</h3>") :]
    shop = shop[: shop.index("</section>")]
    rows = dict(re.findall(r"<dt>([^<]+)</dt>\s*<dd>(.*?)</dd>\n", shop, re.S))
    assert text(rows["Rol"]) == "Klant (in het systeem: customer)"  # needs the catalogue
    assert text(rows["Betalende klant"]) == "Ja"
    assert 'Voornaam</dt><dd><span class="text">Sanne</span>' in rows["Factuuradres"]
    assert "first_name:" not in data and "True" not in text(data)
    assert "Status processing" not in text(data) and "In behandeling" in text(data)
    b.client.set_cookie("portal_lang", "en")
    english = b.step(reference, "gegevens").get_data(as_text=True)
    assert "Customer (in the system: customer)" in text(english)


def test_staff_see_which_consent_is_withdrawn(app: Flask, officer: Staff) -> None:
    """A withdrawal holds only its purposes (in the scope), no other details."""
    sanne = customer(app)
    reference = submit(
        app, sanne, RequestKind.WITHDRAW_CONSENT, details={}, scope={"purposes": ["newsletter"]}
    )
    page = text(desk(app, officer).page(f"{QUEUE}/{reference}"))
    assert "Nieuwsbrief" in page
    assert "Niets te tonen" not in page


def test_an_objection_to_direct_marketing_is_not_offered_for_refusal(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    reference = submit(
        app, sanne, RequestKind.OBJECTION, details={}, scope={"purposes": ["newsletter"]}
    )
    b = desk(app, officer)
    html = b.page(f"{QUEUE}/{reference}")
    page = text(html)
    assert "Bezwaar tegen direct marketing (Nieuwsbrief): stop dit gebruik nu." in page
    assert "/weigeren" not in html and "Niet mogelijk: een intrekking van toestemming" in page
    refused = b.step(reference, "weigeren", refuse_reason="Ons belang weegt zwaarder")
    assert refused.status_code == 409
    assert "kan niet worden geweigerd" in text(refused.get_data(as_text=True))
    assert get_request(app, reference).status == "received"
    withdrawal = submit(
        app, sanne, RequestKind.WITHDRAW_CONSENT, details={}, scope={"purposes": ["newsletter"]}
    )
    html = b.page(f"{QUEUE}/{withdrawal}")
    assert "Intrekking van toestemming: stop dit gebruik nu." in text(html)
    assert "/weigeren" not in html


def test_a_mixed_objection_may_be_refused_for_its_other_purposes_only(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    """Art. 21: an objection naming direct marketing and a purpose on legitimate interests.
    Staff may refuse the latter (compelling grounds, art. 21(1)); the direct marketing stays
    stopped (art. 21(3)) and the customer is told both, with the right to complain."""
    sanne = customer(app)
    reference = submit(
        app, sanne, RequestKind.OBJECTION, locale="en", details={},
        scope={"purposes": ["newsletter", "service-improvement"]},
    )  # fmt: skip
    b = desk(app, officer)
    b.client.set_cookie("portal_lang", "en")
    html = b.page(f"{QUEUE}/{reference}")
    page = text(html)
    assert "An objection to direct marketing (Newsletter): stop this use now." in page
    assert "The objection also names Improving our services: weigh that part." in page
    assert f"{reference}/weigeren" in html and "Not possible:" not in page
    assert (
        "Refusing covers only the objection to Improving our services; the use for direct"
        " marketing (Newsletter) stays stopped."
    ) in page
    assert "Refuse the other purposes" in page
    assert "Direct marketing stopped Newsletter, from" in page

    refused = b.step(reference, "weigeren", refuse_reason="Compelling grounds: fraud prevention")
    assert refused.status_code == 303
    row = get_request(app, reference)
    assert row.status == "refused"
    with app.app_context():
        stopped = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        assert dsr.direct_marketing_stopped(stopped) == ["newsletter"]
        events = [e.action for e in stopped.events]
    assert "partly_refused" in events and "refused" not in events
    assert ("request.partly_refused", {
        "status": "refused", "refused_purposes": ["service-improvement"],
        "stopped_purposes": ["newsletter"],
    }) in audit_actions(app)  # fmt: skip
    assert not [a for a, _ in audit_actions(app) if a == "request.refused"]
    told = Mailbox.text_of(mailbox.wait_for(1)[-1])
    assert "We have stopped using your data for direct marketing (Newsletter)" in told
    assert "We cannot grant your objection to the other purposes (Improving our services)" in told
    assert "Compelling grounds: fraud prevention" in told and "go to court" in told
    after = b.page(f"{QUEUE}/{reference}")
    page = text(after)
    assert "direct marketing stays stopped. The customer was told both, and why." in page
    assert "Objection refused except for direct marketing, which stays stopped" in page
    assert "Direct marketing stopped Newsletter, from" in page  # still recorded as stopped
    # a pure objection to direct marketing still cannot be refused
    only = submit(
        app, sanne, RequestKind.OBJECTION, locale="en", details={},
        scope={"purposes": ["newsletter"]},
    )  # fmt: skip
    assert "/weigeren" not in b.page(f"{QUEUE}/{only}")
    assert b.step(only, "weigeren", refuse_reason="Our interest").status_code == 409
    assert get_request(app, only).status == "received"


def test_a_restriction_stays_in_force_until_staff_lift_it_and_tell_the_customer(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    """Art. 18: closing a restriction puts it in force (kept, not used); it shows on the
    customer's other requests and on the dashboard until staff lift it, telling the customer
    first, with the reason (art. 18(3))."""
    sanne = customer(app)
    restriction = submit(
        app, sanne, RequestKind.RESTRICTION, scope={"categories": ["contact"]},
        details={"scope": "categories", "ground": "legal_claim", "explanation": ""},
    )  # fmt: skip
    question = submit(app, sanne)
    b = desk(app, officer)
    assert "Beperking van kracht" not in b.page(f"{QUEUE}/{restriction}")  # not carried out yet
    assert b.step(restriction, "afsluiten").status_code == 303
    closing = Mailbox.text_of(mailbox.wait_for(1)[-1])
    assert "Wij hebben het gebruik van uw gegevens beperkt" in closing

    html = b.page(f"{QUEUE}/{restriction}")
    assert "Beperking van kracht" in text(html)
    assert f'action="{QUEUE}/{restriction}/beperking-opheffen"' in html
    other_html = b.page(f"{QUEUE}/{question}")
    assert "Voor deze klant geldt een beperking van gebruik" in text(other_html)
    assert f"{restriction}</a>: sinds" in other_html and "(Contactgegevens)" in other_html
    dashboard = b.page("/beheer/")
    assert f'href="/beheer/verzoeken/{restriction}#restriction">{restriction}</a>' in dashboard

    step = "beperking-opheffen"
    assert b.step(restriction, step, lift_reason="").status_code == 400
    assert b.step(restriction, step, lift_reason="De rechtszaak is afgerond.").status_code == 303
    lifted = mailbox.wait_for(2)[-1]
    assert restriction in lifted["Subject"]
    body = Mailbox.text_of(lifted)
    assert "De rechtszaak is afgerond." in body and "Autoriteit Persoonsgegevens" in body
    # The customer is told before it ends (art. 18(3)): in force until the notice has passed.
    assert "Beperking van kracht" in text(b.page(f"{QUEUE}/{restriction}"))
    with app.app_context():
        event = db.session.scalars(
            sa.select(RequestEvent).where(RequestEvent.action == dsr.RESTRICTION_LIFTED)
        ).one()
        event.created_at -= timedelta(days=dsr.LIFT_NOTICE_DAYS)
        db.session.commit()
    assert "Beperking van kracht" not in text(b.page(f"{QUEUE}/{restriction}"))
    assert "geldt een beperking" not in text(b.page(f"{QUEUE}/{question}"))
    assert f"{restriction}</a>" not in b.page("/beheer/")
    assert b.step(restriction, step, lift_reason="Nog eens.").status_code == 409
    assert "request.restriction_lifted" in [a for a, _ in audit_actions(app)]


# --- steps ----------------------------------------------------------------------------------


def test_assign_start_and_an_internal_note(app: Flask, officer: Staff, agent: Staff) -> None:
    sanne = customer(app)
    reference = submit(app, sanne)
    b = desk(app, officer)

    assert b.step(reference, "toewijzen", assignee=str(agent.id)).status_code == 303
    assert get_request(app, reference).assignee_id == agent.id
    assert b.step(reference, "mij").status_code == 303
    assert get_request(app, reference).assignee_id == officer.id
    assert b.step(reference, "starten").status_code == 303
    assert get_request(app, reference).status == "in_progress"
    empty = b.step(reference, "notitie", note="  ")
    assert empty.status_code == 400 and "error-summary" in empty.get_data(as_text=True)
    assert b.step(reference, "notitie", note="Klant belde, wacht op factuur").status_code == 303

    with app.app_context():
        events = db.session.scalars(sa.select(RequestEvent).order_by(RequestEvent.id)).all()
        assert [e.action for e in events] == ["received", "assigned", "assigned", "status", "note"]
        assert not events[-1].visible_to_customer and not events[1].visible_to_customer
    logged = [a for a, _ in audit_actions(app)]
    assert "request.assignee" in logged and "request.note" in logged
    assert "Klant belde" not in str(audit_actions(app))
    assert "Klant belde" in b.page(f"{QUEUE}/{reference}")


def test_nothing_is_added_to_a_finished_request(app: Flask, officer: Staff) -> None:
    """A finished request (soon anonymised) gets no notes and no assignee: a note could bring
    personal data into a record that is kept without it."""
    sanne = customer(app)
    reference = submit(app, sanne, status=RequestStatus.DONE)
    b = desk(app, officer)

    for step, data in (("notitie", {"note": "Sanne belde: Kerkstraat 1"}),
                       ("toewijzen", {"assignee": str(officer.id)}), ("mij", {})):  # fmt: skip
        response = b.step(reference, step, **data)
        assert response.status_code == 409, step
        assert "afgerond" in text(response.get_data(as_text=True)), step
    with app.app_context():
        steps = db.session.scalars(
            sa.select(RequestEvent.action)
            .join(DataRequest)
            .where(DataRequest.reference == reference)
        ).all()
    assert "note" not in steps and "assigned" not in steps
    assert get_request(app, reference).assignee_id is None


@pytest.mark.parametrize(
    ("locale", "subject_word", "body_word"), [("nl", "informatie", "factuurnummer"),
                                               ("en", "information", "factuurnummer")]
)  # fmt: skip
def test_asking_for_information_mails_the_customer_in_their_language(
    app: Flask, officer: Staff, mailbox: Mailbox, locale: str, subject_word: str,  # noqa: F811
    body_word: str,
) -> None:  # fmt: skip
    sanne = customer(app)
    reference = submit(app, sanne, locale=locale)
    b = desk(app, officer)

    response = b.step(reference, "informatie", question="Wat is uw factuurnummer?")

    assert response.status_code == 303
    message = mailbox.last()
    assert message["To"] == SANNE
    assert message["Content-Language"] == locale
    assert subject_word in message["Subject"].lower()
    assert body_word in Mailbox.text_of(message)
    assert get_request(app, reference).status == "waiting_for_customer"


def test_extend_needs_a_reason_and_tells_the_new_deadline_and_the_complaint_right(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    sanne = customer(app)
    received = firm_today() - timedelta(days=5)
    reference = submit(app, sanne, received_on=received)
    b = desk(app, officer)

    missing = b.step(reference, "verlengen", months="1", extend_reason="")
    assert missing.status_code == 400
    assert 'href="#extend_reason"' in missing.get_data(as_text=True)
    assert get_request(app, reference).extension_months == 0

    assert (
        b.step(reference, "verlengen", months="2", extend_reason="Veel systemen").status_code == 303
    )
    found = get_request(app, reference)
    assert found.extension_months == 2 and found.status == "extended"
    assert found.deadline == response_deadline(received, 2)
    body = Mailbox.text_of(mailbox.last())
    assert "Veel systemen" in body and "Autoriteit Persoonsgegevens" in body
    # Not beyond two months in all.
    again = b.step(reference, "verlengen", months="1", extend_reason="Nog meer")
    assert again.status_code in (400, 409)


def test_a_deadline_cannot_be_extended_once_the_first_month_is_over(
    app: Flask, officer: Staff
) -> None:
    """Art. 12(3): the customer is told of an extension within one month of receipt."""
    sanne = customer(app)
    received = firm_today() - timedelta(days=50)
    reference = submit(app, sanne, received_on=received)
    b = desk(app, officer)

    page_ = text(b.page(f"{QUEUE}/{reference}"))
    assert "Niet meer mogelijk" in page_
    late = b.step(reference, "verlengen", months="2", extend_reason="Veel systemen")
    assert late.status_code == 409
    assert "kan niet meer worden verlengd" in text(late.get_data(as_text=True))
    found = get_request(app, reference)
    assert (found.extension_months, found.deadline) == (0, response_deadline(received))
    # On the last day of the first month it still can.
    on_time = submit(app, sanne, received_on=firm_today() - timedelta(days=3))
    with app.app_context():
        request = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == on_time)
        ).one()
        last_day = response_deadline(request.received_on)
        assert dsr.extension_possible(request, today=last_day)
        assert not dsr.extension_possible(request, today=last_day + timedelta(days=1))


def test_refuse_needs_a_reason_and_close_tells_the_customer(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    sanne = customer(app)
    first = submit(app, sanne)
    second = submit(app, sanne, locale="en")
    b = desk(app, officer)

    assert b.step(first, "weigeren", refuse_reason="").status_code == 400
    assert b.step(first, "weigeren", refuse_reason="Kennelijk ongegrond").status_code == 303
    assert get_request(app, first).status == "refused"
    body = Mailbox.text_of(mailbox.last())
    assert "Kennelijk ongegrond" in body and "Autoriteit Persoonsgegevens" in body

    assert b.step(second, "afsluiten", closing_message="Answered by phone.").status_code == 303
    assert get_request(app, second).status == "done"
    last = mailbox.wait_for(2)[-1]
    assert last["Content-Language"] == "en" and "Answered by phone." in Mailbox.text_of(last)
    # A finished request takes no more steps.
    assert b.step(second, "starten").status_code == 409


# --- changes at the sources -----------------------------------------------------------------


def test_approving_a_correction_writes_it_back_and_confirms_it(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    sanne = customer(app)
    details = correction_details(app, sanne, "webshop", "customer", "last_name", "Bakker")
    record_id = details["items"][0]["record_id"]
    reference = submit(app, sanne, RequestKind.CORRECTION, details=details)
    b = desk(app, officer)

    response = b.step(reference, "goedkeuren")

    assert response.status_code == 303 and response.headers["Location"].endswith("#actions")
    [action] = actions_of(app, reference)
    assert action.status == ActionStatus.CONFIRMED.value and action.field == "last_name"
    assert fetch_fields(app, sanne, "webshop", "customer", record_id)["last_name"] == "Bakker"
    assert get_request(app, reference).status == "in_progress"
    assert "Bevestigd" in text(b.page(f"{QUEUE}/{reference}"))
    assert b.step(reference, "goedkeuren").status_code == 409  # not twice
    assert (
        b.step(reference, "afsluiten", closing_message="", recipients_told="y").status_code == 303
    )
    assert get_request(app, reference).status == "done"
    # without a message of staff's own, the e-mail still says what was corrected (not values)
    body = Mailbox.text_of(mailbox.last())
    assert "We hebben gecorrigeerd:" in body
    assert f"- Achternaam (Webwinkel: Klantgegevens {record_id})" in body
    assert "Bakker" not in body
    # the finished request shows the old value as what was there, not what is there now
    page = text(b.page(f"{QUEUE}/{reference}"))
    assert "Was: " in page and "Nu: " not in page


def test_a_correction_the_vendor_refuses_stays_failed_and_visible(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    sanne = customer(app)
    details = correction_details(
        app, sanne, "invoicing", "contact", "send_invoices_to_email", "geen-adres"
    )
    reference = submit(app, sanne, RequestKind.CORRECTION, details=details)
    b = desk(app, agent)

    b.step(reference, "goedkeuren")

    [action] = actions_of(app, reference)
    assert action.status == ActionStatus.FAILED.value and action.last_error == "rejected"
    page = text(b.page(f"{QUEUE}/{reference}"))
    assert "Mislukt" in page
    # Nothing is closed that was not done (an agent cannot override).
    closing = b.step(reference, "afsluiten", closing_message="Klaar", override_reason="Toch")
    assert closing.status_code == 409
    assert get_request(app, reference).status != "done"
    # Staff retry: tried again, still refused, still visible.
    assert b.step(reference, f"acties/{action.id}/opnieuw").status_code == 303
    [again] = actions_of(app, reference)
    assert again.status == ActionStatus.FAILED.value and again.attempts == 2
    # An officer may close anyway, with a reason kept as an internal note.
    o = desk(app, officer)
    forced = o.step(reference, "afsluiten", closing_message="", override_reason="Zelf gedaan")
    assert forced.status_code == 303
    assert get_request(app, reference).status == "done"
    assert "request.close_override" in [a for a, _ in audit_actions(app)]


def test_a_source_that_was_down_can_be_retried_by_staff(
    app: Flask, officer: Staff, simulators: SimulatorGroup
) -> None:
    sanne = customer(app)
    details = correction_details(app, sanne, "payments", "customer", "name", "S. Bakker")
    record_id = details["items"][0]["record_id"]
    reference = submit(app, sanne, RequestKind.CORRECTION, details=details)
    b = desk(app, officer)
    simulators["mollie"].set_fault("down")
    try:
        b.step(reference, "goedkeuren")
    finally:
        simulators["mollie"].clear_fault()
    [action] = actions_of(app, reference)
    assert action.status == ActionStatus.FAILED.value and action.last_error == "down"
    assert "Mislukt" in text(b.page(f"{QUEUE}/{reference}"))

    assert b.step(reference, f"acties/{action.id}/opnieuw").status_code == 303

    [action] = actions_of(app, reference)
    assert action.status == ActionStatus.CONFIRMED.value
    assert fetch_fields(app, sanne, "payments", "customer", record_id)["name"] == "S. Bakker"
    logged = [a for a, _ in audit_actions(app)]
    assert "action.retried" in logged


def test_an_erasure_end_to_end(app: Flask, officer: Staff, mailbox: Mailbox) -> None:  # noqa: F811
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details={"scope": "all"}, locale="nl")
    b = desk(app, officer)

    assert b.step(reference, "wissen").status_code == 303

    rows = actions_of(app, reference)
    by_kind: dict[str, list[RequestAction]] = {}
    for row in rows:
        by_kind.setdefault(row.action, []).append(row)
    kept = by_kind["keep"]
    invoices = [a for a in kept if a.record_type == "invoice"]
    assert invoices and all(a.source == "invoicing" and a.keep_category == "invoices"
                            for a in invoices)  # fmt: skip
    for a in invoices:  # seven years after the end of the fiscal year
        assert a.keep_until is not None and (a.keep_until.month, a.keep_until.day) == (12, 31)
        assert firm_today().year <= a.keep_until.year <= firm_today().year + 7
    assert by_kind.get("delete") or by_kind.get("anonymise")
    deleted = [a for a in rows if a.status == ActionStatus.CONFIRMED.value]
    assert {a.source for a in deleted} >= {"webshop", "payments", "helpdesk"}
    manual = [a for a in rows if a.status == ActionStatus.MANUAL.value]
    assert any(a.source == "workshop" for a in manual) and all(a.instructions for a in manual)
    # A deleted ticket's messages go with it: no step by hand for each message.
    assert {a.record_type for a in rows if a.source in {"helpdesk", "customer-service"}} >= {
        "ticket"
    }
    assert not [a for a in manual if a.record_type in {"article", "conversation"}]
    started = [d for a, d in audit_actions(app) if a == "request.erasure_started"]
    assert started[-1]["with_parent"] > 0
    page = text(b.page(f"{QUEUE}/{reference}"))
    assert "Met de hand doen" in page or "To do by hand" in page
    # Closing is not possible while changes are open.
    assert b.step(reference, "afsluiten").status_code == 409
    for a in rows:
        if not ActionStatus(a.status).settled:
            assert b.step(reference, f"acties/{a.id}/bevestigen").status_code == 303, a
    assert all(ActionStatus(a.status).settled for a in actions_of(app, reference))

    # The tax authority receives invoices (art. 19): staff say they told it first.
    untold = b.step(reference, "afsluiten", closing_message="Uw gegevens zijn gewist.")
    assert untold.status_code == 409
    assert "In te lichten ontvangers" in text(untold.get_data(as_text=True))
    assert "Belastingdienst" in text(untold.get_data(as_text=True))
    assert get_request(app, reference).status != "done"
    assert (
        b.step(
            reference, "afsluiten", closing_message="Uw gegevens zijn gewist.",
            recipients_told="y",
        ).status_code
        == 303
    )  # fmt: skip

    body = Mailbox.text_of(mailbox.last())
    assert "Uw gegevens zijn gewist." in body
    until = max(a.keep_until for a in invoices if a.keep_until)
    assert until.strftime("%d-%m-%Y") in body
    assert "Facturen" in body or "facturen" in body
    assert "Grond: " in body and ".." not in body  # the policy's ground ends a sentence too
    # a kept order keeps the address on it too, as the preview said; its date is the latest
    # of several orders' (the "uiterlijk" needs the Dutch catalogue of the backoffice area)
    assert "daarmee bewaren we ook: Contactgegevens, Adresgegevens" in body
    assert "bewaard tot uiterlijk" in body
    assert "U kunt ons vragen wie dat zijn." in body
    told = [d for a, d in audit_actions(app) if a == "request.recipients_told"]
    assert told and told[-1]["recipients"] == ["tax-authority"]
    # The person is forgotten with their requests: no link to a page that no longer opens.
    assert f"/verzoeken/{reference}" not in body and "Bewaar deze e-mail" in body
    with app.app_context():
        assert db.session.get(Customer, sanne) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerIdentifier)) == 0
    found = get_request(app, reference)
    assert found.anonymised_at is not None and found.customer_id is None
    assert found.details_encrypted is None and found.status == "done"
    assert "customer.forgotten" in [a for a, _ in audit_actions(app)]
    assert SANNE not in b.page(f"{QUEUE}/{reference}")


def test_the_language_switch_on_a_page_shown_after_a_form_leads_to_a_page_that_opens(
    app: Flask, officer: Staff
) -> None:
    """A form with an error is shown at the form's address, which takes only POST: switching
    the language there leads to the request's page, not to an error."""
    reference = submit(app, customer(app))
    b = desk(app, officer)
    refused = b.step(reference, "verlengen")  # no reason, no months
    assert refused.status_code == 400
    links = re.findall(r'href="(/taal/en\?next=[^"]+)"', refused.get_data(as_text=True))
    assert links == [f"/taal/en?next=/beheer/verzoeken/{reference}"]
    switched = b.get(html_lib.unescape(links[0]))
    assert switched.headers["Location"] == f"/beheer/verzoeken/{reference}"
    assert b.get(switched.headers["Location"]).status_code == 200
    # an ordinary page returns to itself, its query too
    page = b.page(f"{QUEUE}?kind=question")  # in English now
    [back] = re.findall(r'href="/taal/nl\?next=([^"]+)"', page)
    assert unquote(html_lib.unescape(back)) == "/beheer/verzoeken?kind=question"


def test_the_request_page_names_each_change_s_buttons_and_repeats_no_id(
    app: Flask, officer: Staff
) -> None:
    """A screen reader lists buttons on their own: "Try again" must say which record and
    field, not an internal number; and an id is used once per page."""
    sanne = customer(app)
    details = correction_details(app, sanne, "webshop", "customer", "last_name", "Bakker")
    reference = submit(app, sanne, RequestKind.CORRECTION, details=details)
    b = desk(app, officer)
    with app.app_context():
        request = queue.find(reference)
        assert request is not None
        for record_id in ("101", "102"):
            action = actions.add_erasure(request, "webshop", "customer", record_id, anonymise=False)
            action.status = ActionStatus.MANUAL.value
        db.session.commit()
    html = b.page(f"{QUEUE}/{reference}")
    names = re.findall(r'<span class="visually-hidden"> ([^<]+)</span></button>', html)
    assert names.count("Webwinkel: Klantgegevens 101") == 2  # try again, done by hand
    assert "Webwinkel: Klantgegevens 102" in names
    assert not [n for n in names if re.fullmatch(r"wijziging \d+", n)]
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    staff_list = b.page("/beheer/medewerkers")
    assert '<span class="tag">dat bent u</span>' in staff_list
    ids = re.findall(r'\sid="([^"]+)"', staff_list)
    assert len(ids) == len(set(ids))


# --- who may open it ------------------------------------------------------------------------


def _routes(reference: str) -> list[tuple[str, str]]:
    page = f"{QUEUE}/{reference}"
    posts = ["gegevens", "toewijzen", "mij", "starten", "notitie", "informatie", "verlengen",
             "weigeren", "afsluiten", "goedkeuren", "wissen", "acties/1/opnieuw",
             "acties/1/bevestigen", "vraag-intrekken"]  # fmt: skip
    return [("GET", QUEUE), ("GET", f"{QUEUE}/nieuw"), ("POST", f"{QUEUE}/nieuw"),
            ("GET", page)] + [("POST", f"{page}/{p}") for p in posts]  # fmt: skip


def _csrf(client: Any, path: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(True))
    assert found is not None, path
    return found.group(1)


def test_every_route_needs_staff_with_both_factors(app: Flask, officer: Staff) -> None:
    sanne = customer(app)
    reference = submit(app, sanne)
    anonymous = app.test_client()
    from ..dsr.conftest import sign_in

    signed_in_customer = app.test_client()
    sign_in(app, signed_in_customer)
    password_only = Browser(app)
    assert password_only.password(officer).status_code == 303

    # Each with a valid CSRF token of its own session, so that the staff check itself answers.
    tokens = {
        id(anonymous): _csrf(anonymous, "/beheer/inloggen"),
        id(signed_in_customer): _csrf(signed_in_customer, "/beheer/inloggen"),
        id(password_only.client): _csrf(password_only.client, "/beheer/tweestaps"),
    }

    def call(client: Any, method: str, path: str) -> Any:
        data = {"csrf_token": tokens[id(client)]} if method == "POST" else None
        return client.open(path, method=method, data=data)

    for method, path in _routes(reference):
        for client in (anonymous, signed_in_customer):
            response = call(client, method, path)
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["Location"].endswith("/beheer/inloggen"), path
        response = call(password_only.client, method, path)
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["Location"].endswith("/beheer/tweestaps"), path
    # Nothing changed.
    assert get_request(app, reference).status == "received"


def test_kept_records_become_steps_to_delete_when_their_retention_ends(
    app: Flask, officer: Staff
) -> None:
    """The customer was told: kept until a date, deleted after it. The portal keeps where
    those records are, even once the person is forgotten, and on the day after that date
    each becomes a step for staff; the privacy contact is told."""
    from datetime import UTC, datetime

    from portal import retention

    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details={"scope": "all"})
    b = desk(app, officer)
    assert b.step(reference, "wissen").status_code == 303
    for a in actions_of(app, reference):
        if not ActionStatus(a.status).settled:
            b.step(reference, f"acties/{a.id}/bevestigen")
    assert b.step(reference, "afsluiten", recipients_told="y").status_code == 303
    found = get_request(app, reference)
    assert found.anonymised_at is not None  # the person is forgotten...
    kept = [a for a in actions_of(app, reference) if a.action == "keep"]
    assert kept and all(a.record_id != retention.ANONYMISED_RECORD for a in kept)  # ...not where
    others = [a for a in actions_of(app, reference) if a.action != "keep"]
    assert all(a.record_id == retention.ANONYMISED_RECORD for a in others)
    first = min(a.keep_until for a in kept if a.keep_until)

    def purge_on(day: date) -> retention.PurgeReport:
        with app.test_request_context():
            report = retention.purge(now=datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
            db.session.commit()
            return report

    assert purge_on(first).counts.get("kept_records_due", 0) == 0  # kept until that day
    report = purge_on(first + timedelta(days=1))
    due = [a for a in actions_of(app, reference) if a.follow_up]
    assert report.counts["kept_records_due"] == len(due) > 0 and len(report.outbox) == 1
    for a in due:
        assert a.status == ActionStatus.MANUAL.value and a.action == "delete"
        assert a.instructions and a.record_id in a.instructions  # where to delete it
    with app.app_context():
        mail = db.session.get(OutboxMessage, report.outbox[0])
        assert mail is not None and mail.template == "backoffice.email.kept_due"
    assert "retention.kept_due" in [name for name, _ in audit_actions(app)]
    # a closed request: no retry, but staff confirm the deletion by hand
    dashboard = b.page("/beheer/")
    assert f'href="/beheer/verzoeken/{reference}#actions">{reference}</a>' in dashboard
    page = b.page(f"{QUEUE}/{reference}")
    assert "nu te verwijderen" in page
    for a in due:
        assert b.step(reference, f"acties/{a.id}/bevestigen").status_code == 303
    done = [a for a in actions_of(app, reference) if a.follow_up]
    assert all(a.status == ActionStatus.CONFIRMED.value for a in done)
    assert all(a.record_id == retention.ANONYMISED_RECORD for a in done)  # nothing left to find
    assert f"/beheer/verzoeken/{reference}#actions" not in b.page("/beheer/")
    assert purge_on(first + timedelta(days=2)).counts.get("kept_records_due", 0) == 0


def _closed_erasure_keeping(app: Flask, until: date, status: RequestStatus) -> str:
    """An erasure closed with ``status`` on 1 January 2026 that kept invoice 42 until
    ``until``; its reference."""
    from datetime import UTC, datetime

    reference = submit(app, customer(app), RequestKind.ERASURE, details={"scope": "all"})
    with app.test_request_context():
        request = queue.find(reference)
        assert request is not None
        actions.add_kept(request, "invoicing", "invoice", "42", until=until, category="invoices")
        request.status = status.value
        request.closed_at = datetime(2026, 1, 1, tzinfo=UTC)
        db.session.commit()
    return reference


def test_a_request_with_records_still_owed_is_not_deleted_with_old_requests(app: Flask) -> None:
    from datetime import UTC, datetime

    from portal import retention

    reference = _closed_erasure_keeping(app, date(2033, 12, 31), RequestStatus.DONE)
    with app.test_request_context():
        request = queue.find(reference)
        assert request is not None
        retention.anonymise_request(request)
        db.session.commit()
        report = retention.purge(now=datetime(2031, 1, 1, tzinfo=UTC))
        db.session.commit()
        assert report.counts.get("requests_deleted", 0) == 0
        assert queue.find(reference) is not None
        [kept] = actions.actions_of(queue.find(reference))  # type: ignore[arg-type]
        assert kept.record_id == "42"


def test_staff_record_the_date_of_a_kept_record_whose_date_could_not_be_read(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    """ "Until unknown: check the date" has a place for the date staff found; the customer is
    told it, as the closing e-mail promised, and from then on the record becomes a step to
    delete it the day after, like any other kept record."""
    from datetime import UTC, datetime

    from portal import retention

    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details={"scope": "all"})
    with app.test_request_context():
        request = queue.find(reference)
        assert request is not None
        kept = actions.add_kept(request, "invoicing", "invoice", "77", until=None,
                                category="invoices")  # fmt: skip
        request.status = RequestStatus.DONE.value
        db.session.commit()
        kept_id = kept.id
    with app.test_request_context():  # the portal keeps knowing them, to tell them the date
        assert queue.forget_after_erasure(sanne) is False
        assert db.session.get(Customer, sanne) is not None
    b = desk(app, officer)
    dashboard = b.page("/beheer/")  # listed where staff look first
    assert f'href="/beheer/verzoeken/{reference}#actions">{reference}</a>: 1 gegeven' in dashboard
    assert "Bewaarde gegevens zonder datum" in dashboard
    page = b.page(f"{QUEUE}/{reference}")
    assert f'action="/beheer/verzoeken/{reference}/acties/{kept_id}/bewaren-tot"' in page
    step = f"acties/{kept_id}/bewaren-tot"
    refused = b.step(reference, step, keep_until="31-12-2030")  # not a date
    assert refused.status_code == 400
    assert "Vul een bestaande datum in" in refused.get_data(as_text=True)
    assert b.step(reference, step, keep_until="2030-12-31").status_code == 303
    told = mailbox.wait_for(1)[-1]
    assert told["To"] == SANNE and reference in told["Subject"]
    body = Mailbox.text_of(told)
    assert "Facturen" in body and "bewaard tot 31-12-2030" in body and "Grond: " in body
    with app.app_context():  # nothing is owed to them any more: forgotten
        assert db.session.get(Customer, sanne) is None
    assert "Bewaarde gegevens zonder datum" not in b.page("/beheer/")
    [action] = [a for a in actions_of(app, reference) if a.id == kept_id]
    assert action.keep_until == date(2030, 12, 31)
    assert b.step(reference, step, keep_until="2031-01-01").status_code == 409  # once
    assert "action.keep_until_set" in [name for name, _ in audit_actions(app)]
    with app.test_request_context():
        report = retention.purge(now=datetime(2031, 1, 1, 12, tzinfo=UTC))
        db.session.commit()
    assert report.counts["kept_records_due"] == 1
    [action] = [a for a in actions_of(app, reference) if a.id == kept_id]
    assert action.follow_up and action.status == ActionStatus.MANUAL.value


def test_a_kept_record_is_never_dated_in_the_past(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    """A day gone by would tell the customer "kept until" that day: refused with a clear error
    (in the summary and at the field), the date typed still in its field and nothing saved or
    sent. Today is allowed: the record becomes a step to delete it tomorrow."""
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details={"scope": "all"})
    with app.test_request_context():
        request = queue.find(reference)
        assert request is not None
        kept = actions.add_kept(request, "invoicing", "invoice", "77", until=None,
                                category="invoices")  # fmt: skip
        other = actions.add_kept(request, "invoicing", "invoice", "78", until=None,
                                 category="invoices")  # fmt: skip
        request.status = RequestStatus.DONE.value
        db.session.commit()
        kept_id, other_id = kept.id, other.id
    b = desk(app, officer)
    b.client.get("/taal/en")
    step = f"acties/{kept_id}/bewaren-tot"
    yesterday = (firm_today() - timedelta(days=1)).isoformat()

    refused = b.step(reference, step, keep_until=yesterday)

    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "The date cannot be in the past. If the law no longer requires us to keep" in text(html)
    assert f'href="#keep-until-{kept_id}"' in html  # the error summary leads to the field
    field = re.search(rf'<input type="date" id="keep-until-{kept_id}"[^>]*>', html)
    assert field is not None
    assert f'value="{yesterday}"' in field.group(0) and 'aria-invalid="true"' in field.group(0)
    other_field = re.search(rf'<input type="date" id="keep-until-{other_id}"[^>]*>', html)
    assert other_field is not None and "value=" not in other_field.group(0)
    assert all(a.keep_until is None for a in actions_of(app, reference))
    assert "action.keep_until_set" not in [name for name, _ in audit_actions(app)]
    assert mailbox.messages == []

    assert b.step(reference, step, keep_until=firm_today().isoformat()).status_code == 303
    [dated] = [a for a in actions_of(app, reference) if a.id == kept_id]
    assert dated.keep_until == firm_today()
    # The service refuses it too, whoever calls it.
    with app.test_request_context():
        action = db.session.get(RequestAction, other_id)
        assert action is not None
        with pytest.raises(ValueError, match="past"):
            actions.set_keep_until(action, firm_today() - timedelta(days=1), staff_id=officer.id)


def test_records_kept_for_an_erasure_that_was_refused_are_not_owed(
    app: Flask, officer: Staff
) -> None:
    """Nothing was promised to a customer whose erasure was refused or withdrawn: its kept
    records make no steps later, and their references go with the request's anonymisation."""
    from datetime import UTC, datetime

    from portal import retention

    reference = _closed_erasure_keeping(app, date(2027, 12, 31), RequestStatus.REFUSED)
    with app.test_request_context():
        report = retention.purge(now=datetime(2028, 6, 1, tzinfo=UTC))
        db.session.commit()
    assert report.counts.get("kept_records_due", 0) == 0
    [kept] = actions_of(app, reference)
    assert kept.record_id == retention.ANONYMISED_RECORD  # anonymised with its request


def test_a_deletion_step_of_a_kept_record_runs_on_a_finished_request(
    app: Flask, officer: Staff
) -> None:
    """Tried again (or taken back from a worker that died), it is still carried out after the
    request was closed: never stranded as waiting."""
    reference = submit(app, customer(app), RequestKind.ERASURE, details={"scope": "all"})
    with app.test_request_context():
        request = queue.find(reference)
        assert request is not None
        action = actions.add_kept(request, "webshop", "customer", "999999", until=date(2020, 1, 1),
                                  category="invoices")  # fmt: skip
        action.action = "delete"
        action.status = ActionStatus.MANUAL.value
        request.status = RequestStatus.DONE.value
        db.session.commit()
        action_id = action.id
    b = desk(app, officer)
    assert b.step(reference, f"acties/{action_id}/opnieuw").status_code == 303
    [after] = [a for a in actions_of(app, reference) if a.id == action_id]
    assert after.status != ActionStatus.PENDING.value  # a worker took it: not left waiting
    assert after.attempts >= 1


def test_payments_kept_after_their_mollie_customer_was_deleted_are_still_shown(
    app: Flask, officer: Staff
) -> None:
    """Erasing the shop and payments deletes Sanne's second Mollie customer (of the booking
    plugin, without subscriptions or mandates) and keeps its payments by law (Mollie keeps a
    payment when its customer is deleted). Nothing lists them under her any more, yet they
    hold her name and IBAN while they are kept: the next gathering reads them by id, and says
    nothing is missing. Her first Mollie customer is kept, as deleting it would end the
    subscriptions and the mandate the law keeps."""
    sanne = customer(app)
    with app.test_request_context():
        before = gather_for(db.session.get(Customer, sanne))
        db.session.commit()
    kept_customer, deleted_customer = "cst_Vd3sNq7Lw2", "cst_Tz4Kd8Wm1S"
    theirs = {  # listed under her Mollie customer that is deleted
        r["record_id"]: r
        for r in before.records
        if r["record_type"] == "payment"
        and r["parent"] == {"source": "payments", "record_type": "customer",
                            "record_id": deleted_customer}
    }  # fmt: skip
    assert len(theirs) >= 2
    reference = submit(
        app, sanne, RequestKind.ERASURE, details={"scope": "sources"},
        scope={"sources": ["webshop", "payments"], "categories": []},
    )  # fmt: skip
    assert desk(app, officer).step(reference, "wissen").status_code == 303
    done = {(a.source, a.record_type, a.record_id): a for a in actions_of(app, reference)}
    assert done[("payments", "customer", deleted_customer)].status == "confirmed"  # at Mollie
    assert done[("payments", "customer", kept_customer)].action == "keep"
    assert all(done[("payments", "payment", p)].action == "keep" for p in theirs)
    with app.test_request_context():
        after = gather_for(db.session.get(Customer, sanne))
        db.session.commit()
    found = {r["record_id"]: r for r in after.records if r["record_type"] == "payment"}
    assert set(theirs) <= set(found)
    for payment_id, was in theirs.items():
        now = found[payment_id]
        assert now["fields"] == was["fields"] and now["categories"] == was["categories"]
        # read as kept: no record of hers names it any more
        assert now["parent"] is None and now["matched"] is None
    assert found[GUEST_PAYMENT]["parent"]["source"] == "webshop"  # its order is kept too
    payments = next(s for s in after.sources if s.key == "payments")
    assert payments.status == "complete" and payments.missing == ()
    assert [
        r["record_id"]
        for r in after.records
        if r["record_type"] == "customer" and r["source"] == "payments"
    ] == [kept_customer]


def test_erasing_only_her_contact_data_leaves_her_tickets_and_subscriptions(
    app: Flask, officer: Staff
) -> None:
    """A request limited to the category "contact": deleting her Zammad user, Freshdesk
    contact or first Mollie customer would delete her tickets or end her subscriptions,
    which the request does not cover. So staff get a step to anonymise each by hand (with
    why, and where), which trying again never hands to the API; her Mollie customer without
    subscriptions is deleted; her tickets and subscriptions stay as they were."""
    sanne = customer(app)
    with app.test_request_context():
        before = gather_for(db.session.get(Customer, sanne))
        db.session.commit()
    reference = submit(
        app, sanne, RequestKind.ERASURE, details={"scope": "categories"},
        scope={"sources": [], "categories": ["contact"]},
    )  # fmt: skip
    b = desk(app, officer)
    b.client.set_cookie("portal_lang", "en")
    assert b.step(reference, "wissen").status_code == 303
    done = {(a.source, a.record_type, a.record_id): a for a in actions_of(app, reference)}
    by_hand = [("helpdesk", "user", "27"), ("customer-service", "contact", "80012345671"),
               ("payments", "customer", "cst_Vd3sNq7Lw2")]  # fmt: skip
    for key in by_hand:
        action = done[key]
        assert (action.action, action.status, action.last_error) == (
            "anonymise",
            "manual",
            "takes_along",
        ), key
        assert action.instructions and f"#{key[2]}" in action.instructions
    assert done[("payments", "customer", "cst_Tz4Kd8Wm1S")].status == "confirmed"
    assert not [k for k in done if k[1] in ("ticket", "subscription", "mandate")]
    page = text(b.page(f"{QUEUE}/{reference}"))
    assert "and this erasure keeps them or does not cover them: do not delete it" in page
    assert "Zammad › Users › #27" in page
    # trying again gives the same step: the API that would delete it is never called
    user = done[("helpdesk", "user", "27")]
    assert b.step(reference, f"acties/{user.id}/opnieuw").status_code == 303
    again = {(a.source, a.record_type, a.record_id): a for a in actions_of(app, reference)}
    assert again[("helpdesk", "user", "27")].status == "manual"
    with app.test_request_context():
        after = gather_for(db.session.get(Customer, sanne))
        db.session.commit()

    def below(snapshot: Any) -> dict[tuple[str, str, str], Any]:
        return {
            (r["source"], r["record_type"], r["record_id"]): r["fields"]
            for r in snapshot.records
            if r["record_type"] in ("ticket", "subscription", "mandate")
        }

    assert set(by_hand) <= {(r["source"], r["record_type"], r["record_id"]) for r in after.records}
    kept = below(before)
    assert {k[:2] for k in kept} == {
        ("helpdesk", "ticket"), ("customer-service", "ticket"), ("payments", "subscription"),
        ("payments", "mandate"),
    }  # fmt: skip
    assert below(after) == kept  # not one deleted, cancelled or revoked
    assert "active" in {f.get("status") for k, f in kept.items() if k[1] == "subscription"}


def test_a_user_anonymised_by_hand_waits_until_the_deletions_of_its_tickets_are_confirmed(
    app: Flask, officer: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One of Sanne's Zammad tickets stays (outside the request), so staff anonymise her user by
    hand while her other tickets are deleted through the API. Zammad finds those tickets
    through her e-mail address: anonymised first, their deletions would fail as no longer
    hers, or could not be confirmed. So the step by hand waits (shown, and refused) until the
    deletions below it are confirmed; then staff confirm it as any other."""
    sanne = customer(app)
    stays = "172"
    in_scope = erasure.in_scope
    ticket = ("helpdesk", "ticket", stays)

    def not_that_ticket(record: Any, sources: Any, categories: Any) -> bool:
        above = record.get("parent") or {}
        return (
            ticket not in (erasure.record_ref(record), erasure.record_ref(above))
            and in_scope(record, sources, categories)
        )  # fmt: skip

    monkeypatch.setattr(erasure, "in_scope", not_that_ticket)  # with its articles
    monkeypatch.setattr(actions, "enqueue", lambda ids: None)  # the worker has not run yet
    reference = submit(
        app, sanne, RequestKind.ERASURE, details={"scope": "sources"},
        scope={"sources": ["helpdesk"], "categories": []},
    )  # fmt: skip
    b = desk(app, officer)
    b.client.set_cookie("portal_lang", "en")
    assert b.step(reference, "wissen").status_code == 303
    made = {(a.record_type, a.record_id): a for a in actions_of(app, reference)}
    user = made[("user", "27")]
    tickets = [a for (kind, _id), a in made.items() if kind == "ticket"]
    assert user.action == "anonymise" and ("ticket", stays) not in made
    assert len(tickets) >= 2 and all(t.action == "delete" for t in tickets)
    assert all(t.parent_action_id == user.id for t in tickets)
    with app.test_request_context():
        assert actions.run(user.id) == ActionStatus.MANUAL.value  # takes_along: by hand

    refused = b.step(reference, f"acties/{user.id}/bevestigen")
    assert refused.status_code == 409
    waits = f"Wait until the {len(tickets)} changes to records below it are done"
    assert waits in text(refused.get_data(as_text=True))
    [after] = [a for a in actions_of(app, reference) if a.id == user.id]
    assert after.status == ActionStatus.MANUAL.value and after.confirmed_at is None
    row = b.page(f"{QUEUE}/{reference}").split(f'<tr id="action-{user.id}">')[1].split("</tr>")[0]
    assert waits in text(row) and "I made this change by hand" not in row
    assert "Try again" in row

    with app.test_request_context():  # the worker deletes them; a fresh read confirms each
        for ticket in tickets[:-1]:
            assert actions.run(ticket.id) == ActionStatus.CONFIRMED.value
    row = b.page(f"{QUEUE}/{reference}").split(f'<tr id="action-{user.id}">')[1].split("</tr>")[0]
    assert "Wait until the change to the record below it is done" in text(row)
    assert b.step(reference, f"acties/{user.id}/bevestigen").status_code == 409
    with app.test_request_context():
        assert actions.run(tickets[-1].id) == ActionStatus.CONFIRMED.value
    row = b.page(f"{QUEUE}/{reference}").split(f'<tr id="action-{user.id}">')[1].split("</tr>")[0]
    assert "Wait until" not in text(row) and "I made this change by hand" in row
    assert b.step(reference, f"acties/{user.id}/bevestigen").status_code == 303
    assert all(ActionStatus(a.status).settled for a in actions_of(app, reference))
    assert fetch_fields(app, sanne, "helpdesk", "ticket", stays) is not None


def test_a_change_not_confirmed_yet_says_why_and_when_it_is_read_again(
    app: Flask, officer: Staff
) -> None:
    """A deletion the vendor accepted but a fresh read still shows waits to be read again:
    staff see why, and when, instead of a bare "waiting for confirmation"."""
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details={"scope": "all"})
    with app.test_request_context():
        snapshot = gather_for(db.session.get(Customer, sanne))
        ticket = next(r for r in snapshot.records if r["record_type"] == "ticket")
        request = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        action = actions.add_erasure(
            request, ticket["source"], "ticket", ticket["record_id"], anonymise=False
        )
        # as if the vendor said yes, without deleting: the fresh read still shows it
        action.status = ActionStatus.DONE.value
        action.done_at = utcnow()
        db.session.commit()
        assert actions.confirm(action) == ActionStatus.DONE.value
        action = db.session.get(RequestAction, action.id)
        assert action.last_error == actions.UNCONFIRMED and action.next_attempt_at
    page = text(desk(app, officer).page(f"{QUEUE}/{reference}"))
    assert (
        "Gedaan, wacht op bevestiging Nog niet bevestigd: niet bevestigd bij opnieuw lezen"
        " (vanzelf opnieuw gelezen om "
    ) in page


def _kept_lines(body: str) -> dict[str, str]:
    """The closing e-mail's lines of what is kept: "<category> in <source>" -> the line."""
    return {
        line[2:].split(":", 1)[0]: line
        for line in body.splitlines()
        if line.startswith("- ") and ": kept " in line
    }


def _erase_and_confirm(app: Flask, b: Desk, reference: str) -> list[RequestAction]:
    """Carry out the erasure and confirm every change by hand; returns the kept records."""
    assert b.step(reference, "wissen").status_code == 303
    for a in actions_of(app, reference):
        if not ActionStatus(a.status).settled:
            assert b.step(reference, f"acties/{a.id}/bevestigen").status_code == 303, a
    return [a for a in actions_of(app, reference) if a.action == "keep"]


def test_the_closing_e_mail_names_the_other_data_the_kept_records_hold(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    """A kept web-shop order keeps the address, contact details and IP address on it too, as
    the customer was told before sending: the closing e-mail says so per source and kept
    category, and a date that is the latest of several says "at the latest"."""
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details={"scope": "all"}, locale="en")
    b = desk(app, officer)
    kept = _erase_and_confirm(app, b, reference)

    orders = [a for a in kept if a.source == "webshop" and a.record_type == "order"]
    assert orders and all(a.keep_category == "payment" for a in orders)
    # what each order holds besides its payment is stored when the erasure is carried out
    assert all({"address", "contact", "technical"} <= set(a.keep_also or ()) for a in orders)
    assert all("payment" not in (a.keep_also or ()) for a in orders)
    assert len({a.keep_until for a in orders}) > 1  # several years: one date, the latest
    only = [a for a in kept if a.source == "invoicing" and a.record_type == "contact"]
    assert len(only) == 1 and "identity" in (only[0].keep_also or ())

    b.client.set_cookie("portal_lang", "en")
    page = text(b.page(f"{QUEUE}/{reference}"))
    listed = page[page.index("What is kept") :]
    latest = max(a.keep_until for a in orders if a.keep_until)
    day = f"{latest:%b} {latest.day}, {latest.year}"
    # a refund's amount is a payment too: kept with the orders
    refunds = [a for a in kept if a.source == "webshop" and a.record_type == "refund"]
    assert len(refunds) == 1 and refunds[0].keep_category == "payment"
    count = len(orders) + len(refunds)
    assert f"Payment details (Web shop, {count}): until {day} at the latest." in listed
    assert "The records also hold: Contact details, Addresses, Orders, Technical data." in listed

    closed = b.step(reference, "afsluiten", closing_message="Done.", recipients_told="y")
    assert closed.status_code == 303
    body = Mailbox.text_of(mailbox.last())
    lines = _kept_lines(body)
    shop = lines["Payment details in Web shop"]
    assert f"kept until {day} at the latest." in shop
    assert (
        "The system keeps these records whole, so with them we also keep: Contact details,"
        " Addresses, Orders, Technical data." in shop
    )
    # one record, one date: no "at the latest"; the name on the Moneybird contact stays too
    contact = lines["Payment details in Bookkeeping (Moneybird)"]
    assert "at the latest" not in contact
    assert "with them we also keep: Name, Contact details, Addresses, Customer account." in (
        contact
    )
    # a Mollie payment holds nothing else, but her Mollie customer is kept with the
    # subscriptions and mandate its deletion would end: its name and e-mail are kept too
    assert lines["Payment details in Payments (Mollie)"].endswith(
        "with them we also keep: Name, Contact details, Customer account."
    )
    assert "After that date we delete it. We use it only for this obligation." in body
    assert "could not read" not in body


def test_the_closing_e_mail_with_a_date_still_to_check_says_when_it_is_deleted_for_both(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    """One kept record whose date could not be read (staff check it): its group says so, and
    the closing sentence fits the dated lines and that one alike. Once staff date it, the
    customer is told that date with the other data the record holds."""
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details={"scope": "all"}, locale="en")
    b = desk(app, officer)
    kept = _erase_and_confirm(app, b, reference)
    [contact] = [a for a in kept if a.source == "invoicing" and a.record_type == "contact"]
    with app.app_context():  # as carrying out records a record whose date it cannot read
        db.session.get(RequestAction, contact.id).keep_until = None  # type: ignore[union-attr]
        db.session.commit()

    closed = b.step(reference, "afsluiten", closing_message="Done.", recipients_told="y")
    assert closed.status_code == 303
    body = Mailbox.text_of(mailbox.last())
    lines = _kept_lines(body)
    undated = lines["Payment details in Bookkeeping (Moneybird)"]
    assert "we could not read from the record until when, and will tell you." in undated
    assert "with them we also keep: Name, Contact details, Addresses, Customer account." in (
        undated
    )
    assert "kept until" in lines["Payment details in Web shop"]  # the others keep their date
    assert "After that date" not in body
    assert (
        "We delete it as soon as the law no longer requires us to keep it, and use it only for"
        " this obligation." in body
    )

    until = firm_today() + timedelta(days=400)
    dated = b.step(reference, f"acties/{contact.id}/bewaren-tot", keep_until=until.isoformat())
    assert dated.status_code == 303
    told = Mailbox.text_of(mailbox.last())
    assert f"kept until {until:%b} {until.day}, {until.year}. Ground:" in told
    assert "with them we also keep: Name, Contact details, Addresses, Customer account." in told
