"""Staff changes and the requests they touch: disabling a staff member hands their open
requests over (and requests still assigned to a disabled member count as not assigned, and are
shown honestly); changing a staff member's role, never leaving no privacy officer; one audit
entry per assignment; finding a request's audit entries by its reference."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.dsr import services as dsr
from portal.extensions import db
from portal.models import (
    AuditEvent,
    DataRequest,
    RequestChannel,
    RequestEvent,
    RequestKind,
    RequestStatus,
    StaffMember,
)
from portal.staff import auth

from ..staff.conftest import (  # noqa: F401 - shared fixtures
    Browser,
    Staff,
    _light_argon2,
    fresh_code,
    make_staff,
    member,
    settings_overrides,
)

QUEUE = "/beheer/verzoeken"
STAFF = "/beheer/medewerkers"
ROW_RE = re.compile(r'<tr id="request-(AVG-[A-Z2-9]{8})"')
ENTRY_RE = re.compile(r'<tr id="entry-(\d+)">')


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (no pushed test context)."""


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


@pytest.fixture
def agent(app: Flask) -> Staff:
    return make_staff(app, "agent@firm.example", "agent", name="Arie Agent")


@pytest.fixture
def backup(app: Flask) -> Staff:
    return make_staff(app, "bea@firm.example", "agent", name="Bea Backup")


def signed_in(app: Flask, staff: Staff, ip: str = "10.9.0.1", english: bool = True) -> Browser:
    b = Browser(app, ip)
    if english:
        b.client.set_cookie("portal_lang", "en")
    assert b.sign_in(staff).status_code == 303
    return b


def request_for(
    app: Flask, assignee_id: int | None = None, status: RequestStatus | None = None
) -> str:
    """A letter writer's request (no customer account) through the real submit."""
    with app.test_request_context():
        result = dsr.submit(
            None, RequestKind.QUESTION, details={"subject": "Vraag", "question": "Hoe?"},
            channel=RequestChannel.POST, requester={"name": "Piet"},
            actor_type="staff",
        )  # fmt: skip
        result.request.assignee_id = assignee_id
        if status is not None:
            result.request.status = status.value
        db.session.commit()
        return result.request.reference


def row(app: Flask, reference: str) -> DataRequest:
    with app.app_context():
        found = db.session.scalars(
            sa.select(DataRequest).where(DataRequest.reference == reference)
        ).one()
        db.session.expunge(found)
        return found


def audit_rows(app: Flask, prefix: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action.startswith(prefix))
                .order_by(AuditEvent.id)
            )
        )
        for r in rows:
            db.session.expunge(r)
        return rows


def disable_directly(app: Flask, staff_id: int) -> None:
    """As an older version of the portal did: disabled, their requests left with them."""
    with app.app_context():
        found = db.session.get(StaffMember, staff_id)
        assert found is not None
        auth.set_active(found, False)
        db.session.commit()


def page(b: Browser, path: str, status: int = 200) -> str:
    response = b.get(path)
    assert response.status_code == status, (path, response.status_code)
    return str(response.get_data(as_text=True))


# --- disabling hands the open requests over -------------------------------------------------


def test_disabling_says_how_many_open_requests_and_hands_them_over(
    app: Flask, officer: Staff, agent: Staff, backup: Staff
) -> None:
    first = request_for(app, agent.id)
    second = request_for(app, agent.id, RequestStatus.IN_PROGRESS)
    finished = request_for(app, agent.id, RequestStatus.DONE)
    b = signed_in(app, officer)
    path = f"{STAFF}/{agent.id}/uitschakelen"

    asked = page(b, path)
    assert "2 open requests are assigned to Arie Agent" in asked
    assert first in asked and second in asked and finished not in asked
    assert f'<option value="{backup.id}">Bea Backup</option>' in asked
    assert f'<option value="{agent.id}"' not in asked  # not to the one being disabled

    # Not to someone who is not offered (oneself being disabled): nothing happens.
    refused = b.post(path, hand_over_to=str(agent.id))
    assert refused.status_code == 400
    assert member(app, agent.id).active and row(app, first).assignee_id == agent.id

    done = b.post(path, hand_over_to=str(backup.id))
    assert done.status_code == 303
    assert not member(app, agent.id).active
    assert row(app, first).assignee_id == backup.id
    assert row(app, second).assignee_id == backup.id
    assert row(app, finished).assignee_id == agent.id  # a finished request keeps its history
    listing = page(b, STAFF)
    assert "2 open requests are now assigned to Bea Backup." in listing
    handed = audit_rows(app, "request.assign")
    assert [(e.action, e.details["assignee"], e.actor_id) for e in handed] == [
        ("request.assignee", backup.id, str(officer.id))
    ] * 2
    assert len(audit_rows(app, "staff.disabled")) == 1


def test_disabling_can_leave_the_requests_to_nobody_and_without_any_asks_as_before(
    app: Flask, officer: Staff, agent: Staff, backup: Staff
) -> None:
    reference = request_for(app, agent.id)
    b = signed_in(app, officer)
    assert b.post(f"{STAFF}/{agent.id}/uitschakelen", hand_over_to="").status_code == 303
    assert row(app, reference).assignee_id is None
    assert "1 open request is now assigned to nobody." in page(b, STAFF)
    with app.app_context():
        steps = db.session.scalars(
            sa.select(RequestEvent.action).join(DataRequest)
            .where(DataRequest.reference == reference)
        ).all()  # fmt: skip
    assert steps == ["received", "assigned"]  # in the request's history, for staff

    asked = page(b, f"{STAFF}/{backup.id}/uitschakelen")  # nothing assigned to her
    assert "open request" not in asked and "<select" not in asked


def test_an_agent_cannot_disable_or_open_the_page(app: Flask, agent: Staff, backup: Staff) -> None:
    b = signed_in(app, agent)
    assert b.get(f"{STAFF}/{backup.id}/uitschakelen").status_code == 403
    token = b.token("/beheer/account")
    response = b.client.post(f"{STAFF}/{backup.id}/uitschakelen", data={"csrf_token": token})
    assert response.status_code == 403
    assert member(app, backup.id).active


# --- requests still assigned to a disabled member -------------------------------------------


def test_requests_of_a_disabled_member_count_as_not_assigned_and_can_be_found(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    stranded = request_for(app, agent.id)
    nobodys = request_for(app)
    mine = request_for(app, officer.id)
    disable_directly(app, agent.id)
    b = signed_in(app, officer, english=False)

    dashboard = page(b, "/beheer/")
    assert 'href="/beheer/verzoeken?assignee=nobody">2<' in dashboard
    queue = page(b, QUEUE)
    assert re.search(r'id="count-unassigned">2<', queue)
    assert set(ROW_RE.findall(page(b, f"{QUEUE}?assignee=nobody"))) == {stranded, nobodys}
    # The filter offers her, marked, and finds her requests.
    assert re.search(rf'<option value="{agent.id}">Arie Agent \(', queue)
    assert ROW_RE.findall(page(b, f"{QUEUE}?assignee={agent.id}")) == [stranded]
    assert mine in queue


def test_the_request_page_shows_a_disabled_assignee_and_keeps_them_unless_changed(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    reference = request_for(app, agent.id)
    disable_directly(app, agent.id)
    b = signed_in(app, officer)
    path = f"{QUEUE}/{reference}"

    shown = page(b, path)
    assert re.search(r'<dd id="assigned-to">Arie Agent \(disabled\)', shown)
    assert 'id="assignee-disabled"' in shown
    assert f'<option selected value="{agent.id}">Arie Agent (disabled)</option>' in shown
    before = len(audit_rows(app, "request.assign"))

    # Pressing "Assign" with the form as shown changes nothing.
    kept = b.post(f"{path}/toewijzen", page=path, assignee=str(agent.id))
    assert kept.status_code == 303
    assert row(app, reference).assignee_id == agent.id
    assert len(audit_rows(app, "request.assign")) == before
    assert "Nothing changed" in page(b, path)

    moved = b.post(f"{path}/toewijzen", page=path, assignee=str(officer.id))
    assert moved.status_code == 303
    assert row(app, reference).assignee_id == officer.id
    after = page(b, path)
    assert 'id="assignee-disabled"' not in after
    assert f'<option value="{agent.id}"' not in after  # no longer the current assignee
    # ... and she cannot be chosen again while disabled.
    again = b.post(f"{path}/toewijzen", page=path, assignee=str(agent.id))
    assert again.status_code == 400
    assert row(app, reference).assignee_id == officer.id


# --- one audit entry per assignment -----------------------------------------------------------


def test_an_assignment_writes_one_audit_entry(app: Flask, officer: Staff, agent: Staff) -> None:
    reference = request_for(app)
    b = signed_in(app, officer)
    path = f"{QUEUE}/{reference}"
    assert b.post(f"{path}/toewijzen", page=path, assignee=str(agent.id)).status_code == 303
    assert b.post(f"{path}/mij", page=path).status_code == 303
    entries = audit_rows(app, "request.assign")
    assert [(e.action, e.details) for e in entries] == [
        ("request.assignee", {"assignee": agent.id, "status": "received"}),
        ("request.assignee", {"assignee": officer.id, "status": "received"}),
    ]
    assert {e.subject_id for e in entries} == {str(row(app, reference).id)}


# --- changing a role --------------------------------------------------------------------------


def test_an_officer_changes_a_colleague_s_role_audited(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    a = signed_in(app, agent, "10.9.1.1")
    assert a.get(STAFF).status_code == 403
    b = signed_in(app, officer)
    path = f"{STAFF}/{agent.id}/rol"
    assert f'href="{path}"' in page(b, STAFF)
    form = page(b, path)
    assert "Change the role of Arie Agent" in form
    assert re.search(
        r'<input checked id="role-0" name="role" required type="radio" value="agent">', form
    )

    code = fresh_code(app, officer)
    no_token = b.client.post(path, data={"role": "officer", "code": code})
    assert no_token.status_code == 400
    assert member(app, agent.id).role == "agent"
    assert b.post(path, role="boss", code=fresh_code(app, officer)).status_code == 400
    assert b.post(path, role="officer").status_code == 400  # no code from the app
    assert member(app, agent.id).role == "agent"
    assert b.post(path, role="officer", code=fresh_code(app, officer)).status_code == 303
    assert member(app, agent.id).role == "officer"
    assert "Arie Agent is now: Privacy officer." in page(b, STAFF)
    assert a.get(STAFF).status_code == 200  # from the next page on, still signed in

    assert b.post(path, role="agent", code=fresh_code(app, officer)).status_code == 303
    assert a.get(STAFF).status_code == 403
    changes = audit_rows(app, "staff.role_changed")
    assert [(e.actor_id, e.subject_id, e.details) for e in changes] == [
        (str(officer.id), str(agent.id), {"role": "officer", "previous": "agent"}),
        (str(officer.id), str(agent.id), {"role": "agent", "previous": "officer"}),
    ]
    audit_page = page(b, "/beheer/audit?action=staff.role")
    assert "Staff member&#39;s role changed" in audit_page


def test_an_agent_cannot_change_roles(app: Flask, officer: Staff, agent: Staff) -> None:
    a = signed_in(app, agent)
    for target in (agent.id, officer.id):
        assert a.get(f"{STAFF}/{target}/rol").status_code == 403
        token = a.token("/beheer/account")
        response = a.client.post(
            f"{STAFF}/{target}/rol",
            data={"csrf_token": token, "role": "officer", "code": fresh_code(app, agent)},
        )
        assert response.status_code == 403
    assert member(app, agent.id).role == "agent" and member(app, officer.id).role == "officer"
    assert audit_rows(app, "staff.role_changed") == []


def test_the_last_active_officer_cannot_give_up_the_role(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    b = signed_in(app, officer)
    path = f"{STAFF}/{officer.id}/rol"
    refused = b.post(path, role="agent", code=fresh_code(app, officer))
    assert refused.status_code == 409
    assert "last active privacy officer" in refused.get_data(as_text=True)
    assert member(app, officer.id).role == "officer"
    assert audit_rows(app, "staff.role_changed") == []

    # A disabled officer does not count: she cannot manage staff.
    other = make_staff(app, "otto@firm.example", "officer", name="Otto Officier")
    disable_directly(app, other.id)
    assert b.post(path, role="agent", code=fresh_code(app, officer)).status_code == 409
    # With another active officer, one may give up one's own role; the staff pages close.
    with app.app_context():
        auth.set_active(db.session.get(StaffMember, other.id), True)  # type: ignore[arg-type]
        db.session.commit()
    done = b.post(path, role="agent", code=fresh_code(app, officer))
    assert done.status_code == 303 and done.headers["Location"].endswith("/beheer/")
    assert member(app, officer.id).role == "agent"
    assert b.get(STAFF).status_code == 403


# --- the command line -----------------------------------------------------------------------


def _run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["staff", *args])


def test_cli_changes_roles_but_never_the_last_officer(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    refused = _run(app, "role", officer.email, "agent")
    assert refused.exit_code != 0 and "last active privacy officer" in refused.output
    assert member(app, officer.id).role == "officer"
    promoted = _run(app, "role", agent.email, "officer")
    assert promoted.exit_code == 0, promoted.output
    assert member(app, agent.id).role == "officer"
    demoted = _run(app, "role", officer.email, "agent")
    assert demoted.exit_code == 0, demoted.output
    assert member(app, officer.id).role == "agent"
    assert _run(app, "role", agent.email, "boss").exit_code != 0
    changes = audit_rows(app, "staff.role_changed")
    assert [(e.actor_type, e.details["role"], e.details["via"]) for e in changes] == [
        ("system", "officer", "cli"),
        ("system", "agent", "cli"),
    ]


def test_cli_disable_hands_open_requests_over(
    app: Flask, officer: Staff, agent: Staff, backup: Staff
) -> None:
    first = request_for(app, agent.id)
    second = request_for(app, backup.id)
    bad = _run(app, "disable", agent.email, "--reassign-to", agent.email)
    assert bad.exit_code != 0 and member(app, agent.id).active
    result = _run(app, "disable", agent.email, "--reassign-to", backup.email)
    assert result.exit_code == 0, result.output
    assert "1 open request(s) now assigned to" in result.output
    assert not member(app, agent.id).active
    assert row(app, first).assignee_id == backup.id
    result = _run(app, "disable", backup.email)
    assert result.exit_code == 0, result.output
    assert row(app, first).assignee_id is None and row(app, second).assignee_id is None


# --- the audit log by reference -------------------------------------------------------------


def test_the_audit_log_finds_a_request_by_its_reference(
    app: Flask, officer: Staff, agent: Staff
) -> None:
    reference = request_for(app)
    other = request_for(app)
    b = signed_in(app, officer)
    request_page = page(b, f"{QUEUE}/{reference}")
    link = f'href="/beheer/audit?subject_type=request&amp;subject_id={reference}"'
    assert link in request_page
    number = row(app, reference).id
    assert f"request number {number} in the log" in request_page

    by_reference = page(b, f"/beheer/audit?subject_type=request&subject_id={reference}")
    by_number = page(b, f"/beheer/audit?subject_type=request&subject_id={number}")
    found = ENTRY_RE.findall(by_reference)
    assert found and found == ENTRY_RE.findall(by_number)
    # "request.submitted" and "request.viewed", about this request only, with its reference
    assert "Request opened" in by_reference and reference in by_reference
    assert other not in by_reference
    lower = page(b, f"/beheer/audit?subject_id={reference.lower()}")  # any case, no type
    assert ENTRY_RE.findall(lower) == found

    unknown = b.get("/beheer/audit?subject_id=AVG-TFX4RF6G")
    assert unknown.status_code == 400
    assert "No request has the reference AVG-TFX4RF6G" in unknown.get_data(as_text=True)
    wrong_type = b.get(f"/beheer/audit?subject_type=customer&subject_id={reference}")
    assert wrong_type.status_code == 400

    # An agent's request page does not lead to the officer's log.
    a = signed_in(app, agent, "10.9.2.1")
    assert link not in page(a, f"{QUEUE}/{reference}")
    assert a.get(f"/beheer/audit?subject_id={reference}").status_code == 403
