"""The daily deadline reminder to the privacy contact: which requests it lists, once a day,
without the customer's personal data, and what happens when the policy names no contact."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from portal.dsr import services
from portal.extensions import db
from portal.models import AuditEvent, OutboxMessage, RequestKind
from portal.reminders import remind_deadlines, run
from portal.tasks import remind_deadlines as remind_task

from .conftest import Mailbox, letter_request, request_by_reference

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
#: Tuesday 24 November 2026, 08:00 in Amsterdam.
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=AMSTERDAM)
TODAY = NOW.date()
PRIVACY_CONTACT = "privacy@voorbeeld-it.example.nl"


@pytest.fixture
def settings_overrides(smtp_overrides: dict[str, object]) -> dict[str, object]:
    return {**smtp_overrides, "reminder_days": 7}  # immediate queue: mail goes out at once


@pytest.fixture
def app_settings(
    base_settings: dict[str, object], settings_overrides: dict[str, object]
) -> dict[str, object]:
    """The settings of the test's app, to build a second app for the same database."""
    return {**base_settings, **settings_overrides}


@pytest.fixture
def requests_by_deadline(app: Flask) -> dict[str, str]:
    """Open requests overdue, due in a few days, and not due yet, and an overdue closed one.

    The deadline is a month after receipt, moved to the next working day.
    """
    refs = {
        "overdue": letter_request(app, TODAY - timedelta(days=40), RequestKind.ERASURE),
        "due": letter_request(app, TODAY - timedelta(days=28), RequestKind.CORRECTION),
        "not_due": letter_request(app, TODAY - timedelta(days=10)),
        "closed": letter_request(app, TODAY - timedelta(days=40)),
    }
    with app.test_request_context():
        services.close(request_by_reference(refs["closed"]), staff_id=1)
        db.session.commit()
        deadlines = {key: request_by_reference(ref).deadline for key, ref in refs.items()}
    assert deadlines["overdue"] < TODAY <= deadlines["due"] <= TODAY + timedelta(days=7)
    assert deadlines["not_due"] > TODAY + timedelta(days=7)
    return refs


def _remind(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["requests", "remind"])
    assert result.exception is None, result.output
    return str(result.output)


def test_the_privacy_contact_gets_the_requests_near_or_past_their_deadline(
    app: Flask, mailbox: Mailbox, requests_by_deadline: dict[str, str]
) -> None:
    refs = requests_by_deadline
    with time_machine.travel(NOW, tick=False):
        output = _remind(app)
    assert output == "reminder queued for the privacy contact: 2 requests due\n"
    [message] = mailbox.wait_for(1)
    assert message["To"] == PRIVACY_CONTACT
    assert message["Subject"] == "Herinnering: de termijn van 2 verzoeken loopt af"
    assert message["Content-Language"] == "nl"
    text = mailbox.text_of(message)
    with app.app_context():
        overdue_by = (TODAY - request_by_reference(refs["overdue"]).deadline).days
        due_in = (request_by_reference(refs["due"]).deadline - TODAY).days
    assert f"- {refs['overdue']}: Verwijdering, Ontvangen" in text
    assert f"({overdue_by} dagen te laat)" in text
    assert f"- {refs['due']}: Correctie, Ontvangen" in text
    assert re.search(rf"\(nog {due_in} dagen?\)", text)
    assert text.index(refs["overdue"]) < text.index(refs["due"])  # earliest deadline first
    assert refs["not_due"] not in text and refs["closed"] not in text
    assert "Autoriteit Persoonsgegevens" in text  # a deadline has passed
    assert re.search(r": http://\S+/beheer/verzoeken\r?\n", text)
    html = mailbox.html_of(message)
    assert re.search(r'<a href="http://[^"]+/beheer/verzoeken">', html)
    assert refs["overdue"] in html and refs["due"] in html and refs["not_due"] not in html
    # Nothing about the customer: not who wrote, nor what they asked.
    for personal in ("Sanne", "Vries", "Dorpsstraat", "Utrecht", "Welke gegevens"):
        assert personal not in text and personal not in html
    with app.app_context():
        assert request_by_reference(refs["due"]).reminded_on == TODAY
        assert request_by_reference(refs["not_due"]).reminded_on is None
        events = [e.action for e in request_by_reference(refs["due"]).events]
        assert events[-1] == "reminder"
        assert not request_by_reference(refs["due"]).events[-1].visible_to_customer


def test_each_request_in_the_reminder_links_to_its_page(
    app: Flask, mailbox: Mailbox, requests_by_deadline: dict[str, str]
) -> None:
    """The contact opens each listed request from the e-mail (the queue has no search by
    reference)."""
    refs = requests_by_deadline
    with time_machine.travel(NOW, tick=False):
        _remind(app)
    [message] = mailbox.wait_for(1)
    text, html = mailbox.text_of(message), mailbox.html_of(message)
    for key in ("overdue", "due"):
        assert re.search(rf"\n  http://\S+/beheer/verzoeken/{refs[key]}\r?\n", text), key
        assert re.search(rf'<a href="http://[^"]+/beheer/verzoeken/{refs[key]}">', html), key
    assert f"/beheer/verzoeken/{refs['not_due']}" not in text


def test_one_reminder_a_day_and_again_the_next_day(
    app: Flask, mailbox: Mailbox, requests_by_deadline: dict[str, str]
) -> None:
    with time_machine.travel(NOW, tick=False) as traveller:
        with app.app_context():
            assert remind_task.call_local() == "sent"  # the periodic task
            assert remind_task.call_local() == "already_reminded"
        assert _remind(app) == "already reminded today of these 2 requests\n"
        assert len(mailbox.wait_for(1)) == 1
        traveller.move_to(NOW + timedelta(days=1))
        with app.app_context():
            assert remind_task.call_local() == "sent"
    messages = mailbox.wait_for(2)
    assert len(messages) == 2
    assert requests_by_deadline["due"] in mailbox.text_of(messages[1])  # still due: again
    with app.app_context():
        assert db.session.query(OutboxMessage).count() == 2


def test_a_request_due_later_the_same_day_gets_its_own_reminder(
    app: Flask, mailbox: Mailbox, requests_by_deadline: dict[str, str]
) -> None:
    with time_machine.travel(NOW, tick=False):
        _remind(app)
        late = letter_request(app, TODAY - timedelta(days=35))  # a letter entered today
        assert _remind(app) == "reminder queued for the privacy contact: 3 requests due\n"
        assert _remind(app) == "already reminded today of these 3 requests\n"
    first, second = mailbox.wait_for(2)
    assert late not in mailbox.text_of(first)
    assert late in mailbox.text_of(second)
    assert requests_by_deadline["due"] in mailbox.text_of(second)  # the whole picture


def test_nothing_due_sends_nothing(app: Flask, mailbox: Mailbox) -> None:
    letter_request(app, TODAY - timedelta(days=10))
    with time_machine.travel(NOW, tick=False):
        assert _remind(app) == "no open request is near its deadline\n"
    with app.app_context():
        assert db.session.query(OutboxMessage).count() == 0


def test_reminder_days_is_a_setting(
    app: Flask,
    app_settings: dict[str, object],
    requests_by_deadline: dict[str, str],
    make_app: Callable[..., Flask],
) -> None:
    with time_machine.travel(NOW, tick=False), app.app_context():
        assert remind_deadlines().due == 2
        db.session.rollback()
    wide = make_app({**app_settings, "reminder_days": 30}, Path(app.instance_path))
    with time_machine.travel(NOW, tick=False), wide.app_context():
        assert remind_deadlines().due == 3


def _app_with_policy(
    make_app: Callable[..., Flask],
    app: Flask,
    settings: dict[str, object],
    tmp_path: Path,
    edit: list[str],
) -> Flask:
    """The same database with a policy whose lines listed in ``edit`` are removed."""
    policy = (Path(app.instance_path) / "policy.toml").read_text()  # the demo firm's
    lines = policy.splitlines()
    start = lines.index("[controller.privacy_contact]")
    if "privacy_contact" in edit:
        del lines[start : start + 4]
    if "contact_email" in edit:
        lines = [line for line in lines if not line.startswith("contact_email")]
    (tmp_path / "policy.toml").write_text("\n".join(lines) + "\n")
    shutil.copy(Path(app.instance_path) / ".data_keys", tmp_path / ".data_keys")
    return make_app(settings, tmp_path)


def test_without_a_privacy_contact_the_firm_contact_address_is_used(
    make_app: Callable[..., Flask],
    app: Flask,
    app_settings: dict[str, object],
    mailbox: Mailbox,
    tmp_path: Path,
    requests_by_deadline: dict[str, str],
) -> None:
    firm = _app_with_policy(make_app, app, app_settings, tmp_path, ["privacy_contact"])
    with time_machine.travel(NOW, tick=False), firm.app_context():
        assert run().outcome == "sent"
    assert mailbox.wait_for(1)[0]["To"] == "info@voorbeeld-it.example.nl"


def test_without_any_contact_nothing_is_sent_and_a_warning_is_logged(
    make_app: Callable[..., Flask],
    app: Flask,
    app_settings: dict[str, object],
    mailbox: Mailbox,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    requests_by_deadline: dict[str, str],
) -> None:
    caplog.set_level(logging.INFO)
    firm = _app_with_policy(
        make_app, app, app_settings, tmp_path, ["privacy_contact", "contact_email"]
    )
    with time_machine.travel(NOW, tick=False):  # which requests are due depends on the day
        result = firm.test_cli_runner().invoke(args=["requests", "remind"])
    assert result.exit_code == 1
    assert "names no privacy contact or contact e-mail" in result.output
    assert "deadline reminder not sent: 2 requests are due" in caplog.text
    with firm.app_context():
        assert db.session.query(OutboxMessage).count() == 0
        assert request_by_reference(requests_by_deadline["due"]).reminded_on is None
    assert mailbox.messages == []


def test_the_reminder_in_english(
    make_app: Callable[..., Flask],
    app: Flask,
    app_settings: dict[str, object],
    mailbox: Mailbox,
    requests_by_deadline: dict[str, str],
) -> None:
    english = make_app({**app_settings, "default_locale": "en"}, Path(app.instance_path))
    with time_machine.travel(NOW, tick=False), english.app_context():
        assert run().outcome == "sent"
    [message] = mailbox.wait_for(1)
    assert message["Subject"] == "Reminder: 2 requests near their deadline"
    assert f"- {requests_by_deadline['due']}: Correction, Received" in mailbox.text_of(message)


def test_the_day_is_the_firms_day(app: Flask, requests_by_deadline: dict[str, str]) -> None:
    # 23:30 UTC on the 23rd is already the 24th in Amsterdam.
    with time_machine.travel(datetime(2026, 11, 23, 23, 30, tzinfo=UTC), tick=False):
        with app.app_context():
            assert run().outcome == "sent"
            assert request_by_reference(requests_by_deadline["due"]).reminded_on == TODAY


def test_the_weekly_audit_anchor_reaches_the_privacy_contact(
    app: Flask, mailbox: Mailbox, requests_by_deadline: dict[str, str]
) -> None:
    """The newest entry and its hash, kept outside the database, and the way to check."""
    from portal import audit
    from portal.tasks import anchor_audit_log

    with app.app_context():
        newest = audit.head()
    assert newest is not None

    assert anchor_audit_log.call_local() is not None

    [message] = mailbox.wait_for(1)
    assert message["To"] == PRIVACY_CONTACT
    assert message["Subject"] == "De auditlog van het privacyportaal: het anker van deze week"
    text = " ".join(mailbox.text_of(message).split())
    assert f"Nr. {newest.event_id}" in text and newest.hash in text
    assert f"audit verify --anchor {newest}" in text
    with app.app_context():
        assert list(audit.verify_chain(anchor=newest)) == []
        anchored = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "audit.anchored")
        ).one()
        assert anchored.details == {"through_id": newest.event_id, "hash": newest.hash}
