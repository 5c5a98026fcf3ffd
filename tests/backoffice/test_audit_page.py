"""The audit log for the privacy officer (/beheer/audit): entries with names and plain words,
filters, paging, the chain check that finds an edited row, CSV and JSON exports (formula guard,
BOM, hashes a third party can verify) that are themselves logged; and who may see it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, session

from portal import audit as audit_module
from portal.audit import GENESIS
from portal.auth import services
from portal.extensions import db
from portal.models import AuditEvent

from ..staff.conftest import (  # noqa: F401 - shared fixtures
    Browser,
    Staff,
    _light_argon2,
    make_staff,
    settings_overrides,
)

PAGE = "/beheer/audit"
VERIFY = "/beheer/audit/controleren"
EXPORT = "/beheer/audit/export"
ROW_RE = re.compile(r'<tr id="entry-(\d+)">')


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (no pushed test context)."""


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


@pytest.fixture
def agent(app: Flask) -> Staff:
    return make_staff(app, "agent@firm.example", "agent", name="Arie Agent")


def _signed_in(app: Flask, staff: Staff) -> Browser:
    b = Browser(app)
    assert b.sign_in(staff).status_code == 303
    return b


def _add(app: Flask, action: str, at: datetime | None = None, **kwargs: Any) -> int:
    """Append an entry through the real writer (at a chosen moment), committed."""
    with app.app_context():
        if at is not None:
            original = audit_module.utcnow
            audit_module.utcnow = lambda: at  # type: ignore[assignment]
        try:
            event = audit_module.record(
                action, actor_type=kwargs.pop("actor_type", "system"), **kwargs
            )
        finally:
            if at is not None:
                audit_module.utcnow = original  # type: ignore[assignment]
        db.session.commit()
        return event.id


def _ids(html: str) -> list[int]:
    return [int(i) for i in ROW_RE.findall(html)]


def _digest(entry: dict[str, Any]) -> str:
    """The hash as a third party recomputes it from the export's description."""
    keys = ("created_at", "actor_type", "actor_id", "action", "subject_type", "subject_id",
            "details", "prev_hash")  # fmt: skip
    payload = json.dumps({k: entry[k] for k in keys}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def test_the_officer_sees_entries_with_names_and_plain_words(app: Flask, officer: Staff) -> None:
    b = _signed_in(app, officer)
    _add(app, "request.submitted", actor_type="customer", actor_id=12, subject_type="request",
         subject_id=7, details={"kind": "erasure"})  # fmt: skip
    _add(app, "something.new", details={"count": 3})
    html = b.get(PAGE).get_data(as_text=True)
    assert "Verzoek ingediend" in html and "<code>request.submitted</code>" in html
    assert "something.new" in html  # no name for it: shown as it is
    assert "<code>kind=erasure</code>" in html and "<code>count=3</code>" in html
    assert "Klant 12" in html
    assert "Olga Officier" in html and "Medewerker ingelogd" in html  # her own sign-in
    ids = _ids(html)
    assert ids == sorted(ids, reverse=True)  # newest first
    assert 'href="/beheer/audit?subject_type=request&amp;subject_id=7"' in html
    assert "Menu beheer" in html and 'href="/beheer/audit" aria-current="page"' in html


def test_the_log_names_a_download_without_he_or_she(app: Flask, officer: Staff) -> None:
    b = _signed_in(app, officer)
    _add(app, "export.downloaded", actor_type="customer", actor_id=12,
         subject_type="customer", subject_id=12)  # fmt: skip
    html = b.get(PAGE).get_data(as_text=True)
    assert "zijn gegevens" not in html
    assert "Klant heeft de eigen gegevens gedownload" in html  # needs the Dutch catalogue
    b.client.set_cookie("portal_lang", "en")
    english = b.get(PAGE).get_data(as_text=True)
    assert "Customer downloaded their own data" in english


def test_filters_and_paging(app: Flask, officer: Staff) -> None:
    b = _signed_in(app, officer)
    winter = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    old = _add(app, "request.submitted", at=winter, subject_type="request", subject_id=1)
    late_evening = datetime(2026, 2, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 February in Amsterdam
    evening = _add(app, "request.closed", at=late_evening, subject_type="request", subject_id=2)
    for n in range(120):
        _add(app, "data.gathered", actor_type="customer", actor_id=n % 3, subject_type="customer",
             subject_id=n % 3)  # fmt: skip

    html = b.get(f"{PAGE}?action=request.").get_data(as_text=True)
    assert _ids(html) == [evening, old]
    assert "2 regels passen bij de filters" in html
    html = b.get(f"{PAGE}?subject_type=request&subject_id=1").get_data(as_text=True)
    assert _ids(html) == [old]
    html = b.get(f"{PAGE}?date_from=2026-02-02&date_to=2026-02-02").get_data(as_text=True)
    assert _ids(html) == [evening]  # dates are Dutch days
    html = b.get(f"{PAGE}?date_to=2026-01-31").get_data(as_text=True)
    assert _ids(html) == [old]
    html = b.get(f"{PAGE}?actor_type=customer&actor_id=1").get_data(as_text=True)
    assert len(_ids(html)) == 40

    first = b.get(f"{PAGE}?action=data.").get_data(as_text=True)
    assert len(_ids(first)) == 50 and "pagina 1 van 3" in first
    assert 'href="/beheer/audit?action=data.&amp;page=2" rel="next"' in first
    third = b.get(f"{PAGE}?action=data.&page=3").get_data(as_text=True)
    assert len(_ids(third)) == 20 and 'rel="prev"' in third and 'rel="next"' not in third
    everything = set(_ids(first)) | set(_ids(third))
    everything |= set(_ids(b.get(f"{PAGE}?action=data.&page=2").get_data(as_text=True)))
    assert len(everything) == 120

    bad = b.get(f"{PAGE}?date_from=2026-03-01&date_to=2026-02-01")
    assert bad.status_code == 400
    assert "De einddatum ligt voor de begindatum" in bad.get_data(as_text=True)
    bad = b.get(f"{PAGE}?date_from=gisteren")
    assert bad.status_code == 400
    assert "Vul een datum in als jaar-maand-dag" in bad.get_data(as_text=True)


def test_verify_reports_intact_then_the_edited_entry(app: Flask, officer: Staff) -> None:
    b = _signed_in(app, officer)
    target = _add(app, "request.submitted", subject_type="request", subject_id=3,
                  details={"kind": "access"})  # fmt: skip
    _add(app, "request.closed", subject_type="request", subject_id=3)

    html = b.post(VERIFY, page=PAGE).get_data(as_text=True)
    assert "De auditlog is intact" in html and "Nr. " not in html

    with app.app_context():
        db.session.execute(
            sa.text("UPDATE audit_events SET details = :d WHERE id = :id"),
            {"d": json.dumps({"kind": "erasure"}), "id": target},
        )
        db.session.commit()
    response = b.post(VERIFY, page=PAGE)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "De auditlog is niet intact" in html
    assert f"Nr. {target}</th>" in html
    assert "De inhoud is veranderd nadat de regel geschreven is" in html
    assert len(re.findall(r"<tr><th scope=\"row\">Nr\.", html)) == 1  # only that entry
    with app.app_context():
        checks = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "audit.verified")
            .order_by(AuditEvent.id)
        ).all()  # fmt: skip
        assert [c.details["intact"] for c in checks] == [True, False]
        assert checks[1].details["broken_ids"] == [target]
        assert checks[1].actor_type == "staff" and checks[1].actor_id == str(officer.id)


def test_verify_shows_an_entry_rewritten_without_the_portal_s_key(
    app: Flask, officer: Staff
) -> None:
    """Someone with only the database edits an entry and computes its hash again: the chain
    holds, its seal does not."""
    b = _signed_in(app, officer)
    target = _add(app, "request.closed", subject_type="request", subject_id=3)
    with app.app_context():
        event = db.session.get(AuditEvent, target)
        assert event is not None
        event.subject_id = "4"
        event.hash = audit_module._digest(event)  # noqa: SLF001 - the attacker's computation
        db.session.commit()
    html = b.post(VERIFY, page=PAGE).get_data(as_text=True)
    assert "De auditlog is niet intact" in html and f"Nr. {target}</th>" in html
    assert "Het zegel past niet" in html


def test_verify_against_an_anchor_from_the_weekly_mail(app: Flask, officer: Staff) -> None:
    b = _signed_in(app, officer)
    _add(app, "request.submitted", subject_type="request", subject_id=3)
    _add(app, "request.closed", subject_type="request", subject_id=3)
    with app.app_context():
        anchor = audit_module.head()
    assert anchor is not None

    page = b.get(PAGE).get_data(as_text=True)
    assert 'name="anchor"' in page and "Anker (niet verplicht)" in page
    held = b.post(VERIFY, page=PAGE, anchor=f"{anchor.event_id}: {anchor.hash.upper()}")
    html = held.get_data(as_text=True)
    assert held.status_code == 200 and "De auditlog is intact" in html
    assert f"nr. {anchor.event_id} heeft nog de hash die u bewaarde" in html
    with app.app_context():
        newest = audit_module.head()  # the check itself was logged after it
        assert newest is not None and newest.event_id > anchor.event_id
    assert f'<code class="anchor">{newest}</code>' in html

    wrong = b.post(VERIFY, page=PAGE, anchor="12:abc")
    assert wrong.status_code == 400
    text = " ".join(re.sub(r"<[^>]+>", " ", wrong.get_data(as_text=True)).split())
    assert "Fout:" in text and "64 tekens" in text
    assert 'value="12:abc"' in wrong.get_data(as_text=True)  # what was typed stays

    with app.app_context():  # entries cut off after the anchor was mailed
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id >= anchor.event_id))
        db.session.commit()
    cut = b.post(VERIFY, page=PAGE, anchor=str(anchor)).get_data(as_text=True)
    assert "De auditlog is niet intact" in cut
    assert "staat niet meer in de log" in cut


def test_csv_export_guards_formulas_has_a_bom_and_is_logged(app: Flask, officer: Staff) -> None:
    b = _signed_in(app, officer)
    _add(app, "=HYPERLINK(\"http://evil\")", subject_type="request", subject_id="+31612345678",
         details={"note": "@SUM(A1)"})  # fmt: skip
    response = b.post(EXPORT, page=PAGE, format="csv")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "text/csv"
    today = datetime.now(UTC).astimezone().date().isoformat()[:4]
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="auditlog-\d{4}-\d{2}-\d{2}\.csv"', disposition)
    assert today in disposition
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["id", "created_at", "actor_type"]
    evil = next(r for r in rows if "HYPERLINK" in r[4])
    assert evil[4] == '\'=HYPERLINK("http://evil")'
    assert evil[6] == "'+31612345678"
    assert json.loads(evil[7]) == {"note": "@SUM(A1)"}  # inside JSON text, not at a cell start
    with app.app_context():
        exported = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "audit.exported")
        ).one()
        assert exported.details["format"] == "csv"
        assert exported.details["entries"] == len(rows) - 1
        assert exported.actor_id == str(officer.id)


def test_json_export_can_be_verified_with_its_hashes(app: Flask, officer: Staff) -> None:
    b = _signed_in(app, officer)
    for n in range(3):
        _add(app, "request.submitted", subject_type="request", subject_id=n,
             details={"kind": "access", "sources": ["webshop"], "naam": "é"})  # fmt: skip
    response = b.post(EXPORT, page=PAGE, format="json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].endswith('.json"')
    document = json.loads(response.get_data())
    entries = document["entries"]
    assert document["genesis"] == GENESIS and "sha256" in document["hashing"]
    prev = GENESIS
    for entry in entries:
        assert entry["prev_hash"] == prev
        assert _digest(entry) == entry["hash"]
        prev = entry["hash"]
    # A changed value no longer matches its hash.
    entries[-1]["details"]["kind"] = "erasure"
    assert _digest(entries[-1]) != entries[-1]["hash"]

    # A filtered export: each entry still proves itself.
    filtered = json.loads(
        b.post(EXPORT, page=PAGE, format="json", subject_type="request", subject_id="1").get_data()
    )
    assert [e["subject_id"] for e in filtered["entries"]] == ["1"]
    assert filtered["filters"] == {"subject_type": "request", "subject_id": "1"}
    assert all(_digest(e) == e["hash"] for e in filtered["entries"])
    with app.app_context():
        formats = db.session.scalars(
            sa.select(AuditEvent.details).where(AuditEvent.action == "audit.exported")
            .order_by(AuditEvent.id)
        ).all()  # fmt: skip
        assert [d["format"] for d in formats] == ["json", "json"]
        assert formats[1]["filters"] == {"subject_type": "request", "subject_id": "1"}


def test_an_export_without_a_valid_format_or_token_is_refused(app: Flask, officer: Staff) -> None:
    b = _signed_in(app, officer)
    assert b.post(EXPORT, page=PAGE, format="xlsx").status_code == 400
    assert b.client.post(EXPORT, data={"format": "csv"}).status_code == 400
    with app.app_context():
        assert not db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "audit.exported")
        ).all()


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


PAGES = [("GET", PAGE), ("POST", VERIFY), ("POST", EXPORT)]


def _send(b: Browser, method: str, path: str, token_page: str) -> Any:
    if method == "GET":
        return b.get(path)
    return b.client.post(path, data={"csrf_token": b.token(token_page), "format": "csv"})


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_an_agent_gets_403(app: Flask, agent: Staff, method: str, path: str) -> None:
    b = _signed_in(app, agent)
    response = _send(b, method, path, "/beheer/account")
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "U heeft geen toegang tot deze pagina" in body
    assert "Auditlog" not in body  # not in the agent's menu either
    assert "Bronnen" in b.get("/beheer/").get_data(as_text=True)


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_customers_anonymous_and_password_only_are_sent_away(
    app: Flask, officer: Staff, method: str, path: str
) -> None:
    for b in (Browser(app), _customer_browser(app)):
        response = _send(b, method, path, "/beheer/inloggen")
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/beheer/inloggen")
    b = Browser(app)
    assert b.password(officer).status_code == 303
    response = _send(b, method, path, "/beheer/tweestaps")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/beheer/tweestaps")
    with app.app_context():
        done = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action.like("audit.%"))
        ).all()
        assert done == []


def test_every_action_the_portal_writes_has_plain_words(app: Flask) -> None:
    """Each audit action written with a fixed name, each request step (``request.<step>``)
    and each outcome of a change at a source is named in words in the log."""
    import ast
    from pathlib import Path

    from portal.backoffice.audit_views import ACTION_NAMES, action_name
    from portal.models import ActionStatus

    root = Path(__file__).resolve().parents[2] / "portal"
    written: set[str] = set()
    steps: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if name in {"audit", "record", "_record_change"} and isinstance(first, ast.Constant):
                if isinstance(first.value, str) and "." in first.value:
                    written.add(first.value)
            if name in {"change", "_internal_event", "_add_event"} and len(node.args) > 1:
                second = node.args[1]
                if isinstance(second, ast.Constant) and isinstance(second.value, str):
                    steps.add(second.value)
    assert len(written) > 30 and len(steps) > 5  # the scan found the calls
    written |= {f"request.{step}" for step in steps}
    written |= {f"action.{status.value}" for status in ActionStatus if status.value != "pending"}
    written -= {"action.running"}  # never audited: a claim, not an outcome
    with app.test_request_context():
        unnamed = sorted(a for a in written if action_name(a) == a)
    assert unnamed == [], unnamed
    assert "staff.created" in written and "staff.created" in ACTION_NAMES
