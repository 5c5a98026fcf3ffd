"""Guards on the staff steps of a request (/beheer/verzoeken/<reference>/...).

* An erasure or a correction is closed as done only after its work was started at the sources
  and every change there is settled; a privacy officer's override of an erasure that erased
  nothing does not forget the person.
* Closing an erasure of everything forgets the person only when nothing else of theirs is open
  or unsettled; closing (or refusing) their last request forgets them then.
* Two staff members pressing the same button at the same moment: one step is carried out, the
  other gets "someone else changed this request" and nothing is done twice (threads against the
  live database, and every step called with the state it read before someone else's commit).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from portal import retention
from portal.backoffice import queue
from portal.dsr.services import RequestError
from portal.extensions import db
from portal.models import (
    ActionStatus,
    Customer,
    DataRequest,
    OutboxMessage,
    RequestAction,
    RequestEvent,
    RequestKind,
    StaffMember,
)

from ..auth.conftest import Mailbox, mailbox  # noqa: F401 - the real SMTP server (fixture)
from ..staff.conftest import Staff, _light_argon2, make_staff  # noqa: F401 - shared fixtures
from .test_queue import (  # noqa: F401 - shared fixtures and helpers
    QUEUE,
    SANNE,
    Desk,
    _fresh_simulators,
    _push_request_context,
    actions_of,
    audit_actions,
    correction_details,
    customer,
    desk,
    get_request,
    settings_overrides,
    submit,
    text,
)

ERASE_ALL = {"scope": "all"}


@pytest.fixture
def officer(app: Flask) -> Staff:
    return make_staff(app)


@pytest.fixture
def agent(app: Flask) -> Staff:
    return make_staff(app, "agent@firm.example", "agent", name="Arie Agent")


def customer_exists(app: Flask, customer_id: int) -> bool:
    with app.app_context():
        return db.session.get(Customer, customer_id) is not None


def events_of(app: Flask, reference: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(RequestEvent.action)
                .join(DataRequest, DataRequest.id == RequestEvent.request_id)
                .where(DataRequest.reference == reference)
                .order_by(RequestEvent.id)
            )
        )


def count(app: Flask, model: type[Any]) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def settle(b: Desk, reference: str) -> None:
    """Confirm by hand every change at the sources that is not settled yet."""
    for action in actions_of(b.app, reference):
        if not ActionStatus(action.status).settled:
            assert b.step(reference, f"acties/{action.id}/bevestigen").status_code == 303


def erased(b: Desk, reference: str) -> None:
    """Carry out the erasure and confirm what is left by hand."""
    assert b.step(reference, "wissen").status_code == 303
    settle(b, reference)


# --- closing only what was done -------------------------------------------------------------


def test_an_agent_cannot_close_an_erasure_that_was_not_carried_out(
    app: Flask, agent: Staff
) -> None:
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details=ERASE_ALL)
    b = desk(app, agent)
    assert "Nog niets verwijderd" in text(b.page(f"{QUEUE}/{reference}"))

    response = b.step(reference, "afsluiten", closing_message="Gewist.", recipients_told="y")

    assert response.status_code == 409
    assert "Er is nog niets verwijderd" in text(response.get_data(as_text=True))
    assert get_request(app, reference).status == "received"
    assert customer_exists(app, sanne)
    assert count(app, RequestAction) == 0
    # Not with a reason either: only a privacy officer can override.
    forced = b.step(reference, "afsluiten", closing_message="", override_reason="Toch")
    assert forced.status_code == 409 and customer_exists(app, sanne)


def test_the_refusal_is_in_the_staff_members_language(app: Flask, agent: Staff) -> None:
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details=ERASE_ALL)
    b = desk(app, agent)
    b.client.set_cookie("portal_lang", "en")

    response = b.step(reference, "afsluiten", closing_message="Erased.")

    assert response.status_code == 409
    assert "Nothing was erased yet" in text(response.get_data(as_text=True))


def test_an_officer_override_of_an_erasure_that_erased_nothing_keeps_the_person(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details=ERASE_ALL)
    b = desk(app, officer)
    assert b.step(reference, "afsluiten", closing_message="Klaar").status_code == 409  # no reason
    assert 'id="override_reason"' in b.page(f"{QUEUE}/{reference}")

    response = b.step(
        reference, "afsluiten", closing_message="", override_reason="Klant belde: toch niet"
    )

    assert response.status_code == 303
    found = get_request(app, reference)
    assert found.status == "done" and found.customer_id == sanne and found.anonymised_at is None
    assert customer_exists(app, sanne)
    logged = dict(audit_actions(app))
    assert logged["request.close_override"]["reason"] == "not_erased"
    assert "request.not_forgotten" in logged and "customer.forgotten" not in logged
    assert events_of(app, reference)[-2:] == ["done", "not_forgotten"]
    page = text(b.page(response.headers["Location"]))
    assert "niet vergeten" in page and "Afgesloten voordat alles was verwijderd" in page
    # A later closing of another request does not forget her either: nothing was erased.
    question = submit(app, sanne)
    assert b.step(question, "afsluiten", closing_message="Antwoord").status_code == 303
    assert customer_exists(app, sanne)


def test_a_correction_is_closed_only_after_it_was_approved(app: Flask, agent: Staff) -> None:
    sanne = customer(app)
    details = correction_details(app, sanne, "webshop", "customer", "last_name", "Bakker")
    reference = submit(app, sanne, RequestKind.CORRECTION, details=details)
    b = desk(app, agent)

    refused = b.step(reference, "afsluiten", closing_message="Aangepast.", recipients_told="y")

    assert refused.status_code == 409
    assert "Er is nog niets gecorrigeerd" in text(refused.get_data(as_text=True))
    assert get_request(app, reference).status == "received"
    assert b.step(reference, "goedkeuren").status_code == 303
    assert (
        b.step(
            reference, "afsluiten", closing_message="Aangepast.", recipients_told="y"
        ).status_code
        == 303
    )
    assert get_request(app, reference).status == "done"
    assert "correction_approved" in events_of(app, reference)


def test_a_correction_without_fields_and_an_erasure_without_customer_close_as_before(
    app: Flask, agent: Staff
) -> None:
    sanne = customer(app)
    empty = submit(app, sanne, RequestKind.CORRECTION, details={})
    letter = submit(app, None, RequestKind.ERASURE, details=ERASE_ALL)  # erased by hand
    b = desk(app, agent)

    assert (
        b.step(
            empty, "afsluiten", closing_message="Niets te doen.", recipients_told="y"
        ).status_code
        == 303
    )
    assert (
        b.step(
            letter, "afsluiten", closing_message="Met de hand gewist.", recipients_told="y"
        ).status_code
        == 303
    )
    assert customer_exists(app, sanne)


def test_an_erasure_that_found_nothing_to_change_can_be_closed(app: Flask, officer: Staff) -> None:
    nobody = customer(app, "niemand.bekend@example.nl")  # in none of the sources
    reference = submit(app, nobody, RequestKind.ERASURE, details=ERASE_ALL)
    b = desk(app, officer)

    assert b.step(reference, "wissen").status_code == 303
    assert actions_of(app, reference) == []
    assert "erasure_started" in events_of(app, reference)
    assert "Verwijderen uitvoeren" not in text(b.page(f"{QUEUE}/{reference}"))  # not twice
    assert b.step(reference, "wissen").status_code == 409

    assert (
        b.step(reference, "afsluiten", closing_message="Gewist.", recipients_told="y").status_code
        == 303
    )
    assert not customer_exists(app, nobody)
    assert get_request(app, reference).anonymised_at is not None


# --- forgetting only when nothing is left ---------------------------------------------------


def test_closing_an_erasure_keeps_a_customer_with_other_open_requests(
    app: Flask,
    officer: Staff,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    sanne = customer(app)
    question = submit(app, sanne)
    erasure = submit(app, sanne, RequestKind.ERASURE, details=ERASE_ALL)
    b = desk(app, officer)
    erased(b, erasure)

    response = b.step(
        erasure, "afsluiten", closing_message="Uw gegevens zijn gewist.", recipients_told="y"
    )

    assert response.status_code == 303
    assert customer_exists(app, sanne)
    assert get_request(app, question).customer_id == sanne  # not orphaned
    found = get_request(app, erasure)
    assert found.status == "done" and found.anonymised_at is None
    assert events_of(app, erasure)[-1] == "forget_postponed"
    assert "request.forget_postponed" in [a for a, _ in audit_actions(app)]
    assert "vergeet" in text(b.page(response.headers["Location"]))

    # Her last open request closes: its answer reaches her, then the portal forgets her.
    mailbox.wait_for(1)
    before = len(mailbox.messages)
    closing = b.step(question, "afsluiten", closing_message="Het antwoord is ja.")

    assert closing.status_code == 303
    answer = mailbox.wait_for(before + 1)[-1]
    assert answer["To"] == SANNE and "Het antwoord is ja." in Mailbox.text_of(answer)
    assert not customer_exists(app, sanne)
    assert get_request(app, erasure).anonymised_at is not None
    # Her other request goes too: its question and the answer are personal data.
    gone = get_request(app, question)
    assert gone.customer_id is None and gone.anonymised_at is not None
    assert gone.details_encrypted is None
    with app.app_context():
        messages = db.session.scalars(
            sa.select(RequestEvent.message_encrypted).where(RequestEvent.request_id == gone.id)
        ).all()
    assert set(messages) == {None}
    assert "vergeten" in text(b.page(closing.headers["Location"]))


def test_refusing_the_last_open_request_forgets_the_person(app: Flask, officer: Staff) -> None:
    sanne = customer(app)
    details = correction_details(app, sanne, "webshop", "customer", "last_name", "Bakker")
    correction = submit(app, sanne, RequestKind.CORRECTION, details=details)
    erasure = submit(app, sanne, RequestKind.ERASURE, details={"scope": "sources"},
                     scope={"sources": ["helpdesk"]})  # fmt: skip
    everything = submit(app, sanne, RequestKind.ERASURE, details=ERASE_ALL)
    b = desk(app, officer)
    erased(b, erasure)
    assert (
        b.step(erasure, "afsluiten", closing_message="Gewist.", recipients_told="y").status_code
        == 303
    )
    erased(b, everything)
    assert (
        b.step(everything, "afsluiten", closing_message="Gewist.", recipients_told="y").status_code
        == 303
    )
    assert customer_exists(app, sanne)  # her correction is open: it still needs her identity
    assert get_request(app, correction).customer_id == sanne
    assert get_request(app, erasure).anonymised_at is None  # a partial erasure forgets no one

    assert b.step(correction, "weigeren", refuse_reason="Al gewist.").status_code == 303

    assert not customer_exists(app, sanne)
    for reference in (everything, erasure, correction):  # every request of hers
        assert get_request(app, reference).anonymised_at is not None, reference
    with app.app_context():
        changes = db.session.scalars(
            sa.select(RequestAction)
            .join(DataRequest)
            .where(DataRequest.reference.in_([everything, erasure, correction]))
        ).all()
        assert changes  # the erasures made changes at the sources
        done = [a for a in changes if a.action != "keep"]
        assert done and {(a.record_id, a.instructions, a.value_encrypted) for a in done} == {
            (retention.ANONYMISED_RECORD, None, None)
        }
        # a record kept by law keeps where it is, to delete it when its retention ends
        kept = [a for a in changes if a.action == "keep"]
        assert kept and all(a.record_id != retention.ANONYMISED_RECORD for a in kept)
        assert {(a.instructions, a.value_encrypted) for a in kept} == {(None, None)}


def test_an_override_that_cancels_unwritten_erasures_keeps_the_person(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details=ERASE_ALL)
    b = desk(app, officer)
    assert b.step(reference, "wissen").status_code == 303
    assert any(a.status == "manual" for a in actions_of(app, reference))  # by hand, not done

    forced = b.step(reference, "afsluiten", closing_message="", override_reason="Deadline")

    assert forced.status_code == 303
    assert get_request(app, reference).status == "done"
    assert any(a.status == "cancelled" for a in actions_of(app, reference))
    assert customer_exists(app, sanne)  # not everything was erased
    assert events_of(app, reference)[-1] == "not_forgotten"
    assert "Geannuleerd" in text(b.page(f"{QUEUE}/{reference}"))
    with app.test_request_context():
        assert queue.forget_after_erasure(sanne) is False
        db.session.rollback()


def test_a_change_still_being_confirmed_keeps_the_person_until_it_settles(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details=ERASE_ALL)
    b = desk(app, officer)
    erased(b, reference)
    written = next(a for a in actions_of(app, reference) if a.action in ("delete", "anonymise"))
    with app.app_context():  # written at the vendor, its confirming read still to come
        db.session.execute(
            sa.update(RequestAction).where(RequestAction.id == written.id).values(status="done")
        )
        db.session.commit()

    forced = b.step(reference, "afsluiten", closing_message="", override_reason="Deadline")

    assert forced.status_code == 303
    assert customer_exists(app, sanne)  # confirming the change reads with her identifiers
    assert events_of(app, reference)[-1] == "forget_postponed"
    with app.app_context():
        db.session.execute(
            sa.update(RequestAction)
            .where(RequestAction.id == written.id)
            .values(status="confirmed")
        )
        db.session.commit()
    with app.test_request_context():  # the nightly purge finds her now
        assert retention.purge().counts["customers_erased"] == 1
        db.session.commit()
    assert not customer_exists(app, sanne)
    assert get_request(app, reference).anonymised_at is not None


# --- two staff members, one step ------------------------------------------------------------


def _race(app: Flask, monkeypatch: pytest.MonkeyPatch, posts: list[Callable[[], Any]]) -> list[int]:
    """Run ``posts`` in threads that each read the request and then wait for one another
    before their step claims it: the classic double press."""
    barrier = threading.Barrier(len(posts))
    waited = threading.local()
    original = queue.seen

    def seen_then_wait(request: DataRequest) -> queue.Seen:
        state = original(request)
        if threading.current_thread().name.startswith("race") and not getattr(
            waited, "done", False
        ):
            waited.done = True
            barrier.wait(timeout=10)
        return state

    monkeypatch.setattr(queue, "seen", seen_then_wait)
    codes: dict[int, int] = {}
    errors: list[BaseException] = []

    def run(i: int, post: Callable[[], Any]) -> None:
        try:
            codes[i] = post().status_code
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, name=f"race{i}", args=(i, p)) for i, p in enumerate(posts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return sorted(codes.values())


def _poster(b: Desk, reference: str, step: str, **data: str) -> Callable[[], Any]:
    token = b.token(f"{QUEUE}/{reference}")
    return lambda: b.client.post(f"{QUEUE}/{reference}/{step}", data={"csrf_token": token, **data})


def test_two_staff_approving_at_once_write_the_correction_once(
    app: Flask, officer: Staff, agent: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    sanne = customer(app)
    details = correction_details(app, sanne, "helpdesk", "user", "phone", "06 1234 5678")
    reference = submit(app, sanne, RequestKind.CORRECTION, details=details)
    one, two = desk(app, officer), desk(app, agent)

    codes = _race(
        app,
        monkeypatch,
        [_poster(one, reference, "goedkeuren"), _poster(two, reference, "goedkeuren")],
    )

    assert codes == [303, 409]
    assert len(actions_of(app, reference)) == 1
    approved = [a for a, _ in audit_actions(app) if a == "request.correction_approved"]
    assert len(approved) == 1
    assert events_of(app, reference).count("correction_approved") == 1


def test_two_staff_closing_at_once_close_once_and_mail_once(
    app: Flask, officer: Staff, agent: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    sanne = customer(app)
    reference = submit(app, sanne)
    one, two = desk(app, officer), desk(app, agent)
    mails = count(app, OutboxMessage)

    codes = _race(
        app,
        monkeypatch,
        [
            _poster(one, reference, "afsluiten", closing_message="Antwoord A"),
            _poster(two, reference, "afsluiten", closing_message="Antwoord B"),
        ],
    )

    assert codes == [303, 409]
    assert events_of(app, reference).count("done") == 1
    assert count(app, OutboxMessage) == mails + 1


def test_the_loser_is_told_someone_else_was_first(
    app: Flask, officer: Staff, agent: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    sanne = customer(app)
    reference = submit(app, sanne)
    one, two = desk(app, officer), desk(app, agent)
    pages: list[str] = []

    def keep(post: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            response = post()
            pages.append(response.get_data(as_text=True))
            return response

        return run

    codes = _race(
        app,
        monkeypatch,
        [
            keep(_poster(one, reference, "weigeren", refuse_reason="Ongegrond")),
            keep(_poster(two, reference, "weigeren", refuse_reason="Ongegrond")),
        ],
    )

    assert codes == [303, 409]
    assert any("Iemand anders heeft dit verzoek" in text(p) for p in pages)
    assert events_of(app, reference).count("refused") == 1


# Every step, checked against the state it read, while another staff member's same step commits
# just before it claims the request.
STEPS: dict[str, tuple[RequestKind, Callable[[DataRequest, int], Any]]] = {
    "start": (RequestKind.QUESTION, lambda r, s: queue.start(r, staff_id=s)),
    "ask": (
        RequestKind.QUESTION,
        lambda r, s: queue.ask_information(r, "Welk factuurnummer?", staff_id=s),
    ),
    "extend": (RequestKind.QUESTION, lambda r, s: queue.extend(r, 1, "Drukte", staff_id=s)),
    "refuse": (RequestKind.QUESTION, lambda r, s: queue.refuse(r, "Ongegrond", staff_id=s)),
    "assign": (
        RequestKind.QUESTION,
        lambda r, s: queue.assign(r, db.session.get(StaffMember, s), staff_id=s),
    ),
    "close": (
        RequestKind.QUESTION,
        lambda r, s: queue.close_request(r, "Klaar", staff=db.session.get(StaffMember, s)),
    ),
    "approve": (RequestKind.CORRECTION, lambda r, s: queue.approve_correction(r, staff_id=s)),
}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_step_whose_checks_passed_on_a_stale_read_does_nothing(
    app: Flask, officer: Staff, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue.actions, "enqueue", lambda ids: None)  # the step is tested
    sanne = customer(app)
    kind, run = STEPS[step]
    details = None
    if kind is RequestKind.CORRECTION:
        details = correction_details(app, sanne, "webshop", "customer", "last_name", "Bakker")
    reference = submit(app, sanne, kind, details=details)
    claim = queue._claim  # noqa: SLF001 - the moment between check and write
    theirs_done: list[tuple[list[str], int, int]] = []

    def theirs_first(request: DataRequest, state: queue.Seen) -> None:
        if not theirs_done:
            with app.test_request_context():  # someone else's request, its own session
                theirs_done.append(([], 0, 0))
                theirs = queue.find(reference)
                assert theirs is not None
                run(theirs, officer.id)
                db.session.commit()
            theirs_done[0] = (
                events_of(app, reference), count(app, RequestAction), count(app, OutboxMessage)
            )  # fmt: skip
        claim(request, state)

    monkeypatch.setattr(queue, "_claim", theirs_first)

    with app.test_request_context():
        stale = queue.find(reference)
        assert stale is not None
        with pytest.raises(RequestError) as error:
            run(stale, officer.id)
        assert error.value.code == "conflict"
        db.session.rollback()

    after = (events_of(app, reference), count(app, RequestAction), count(app, OutboxMessage))
    assert after == theirs_done[0]


def test_a_second_erasure_of_the_same_request_does_nothing(
    app: Flask, officer: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue.actions, "enqueue", lambda ids: None)
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details=ERASE_ALL)
    with app.test_request_context():
        stale = queue.find(reference)
        assert stale is not None and stale.updated_at is not None  # read before theirs
        with app.test_request_context():
            theirs = queue.find(reference)
            assert theirs is not None
            queue.carry_out_erasure(theirs, staff_id=officer.id)
            db.session.commit()
        done = count(app, RequestAction)
        with pytest.raises(RequestError) as error:
            queue.carry_out_erasure(stale, staff_id=officer.id)
        assert error.value.code in ("approved", "conflict")
        db.session.rollback()
    assert count(app, RequestAction) == done > 0


def test_two_staff_erasing_at_once_erase_once(
    app: Flask, officer: Staff, agent: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue.actions, "enqueue", lambda ids: None)  # the step is tested
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details=ERASE_ALL)
    one, two = desk(app, officer), desk(app, agent)

    codes = _race(
        app, monkeypatch, [_poster(one, reference, "wissen"), _poster(two, reference, "wissen")]
    )

    assert codes == [303, 409]
    rows = actions_of(app, reference)
    assert len({(a.source, a.record_type, a.record_id) for a in rows}) == len(rows) > 0
    assert events_of(app, reference).count("erasure_started") == 1


def test_staff_can_confirm_a_written_change_the_fresh_reads_did_not(
    app: Flask, officer: Staff
) -> None:
    sanne = customer(app)
    reference = submit(app, sanne, RequestKind.ERASURE, details=ERASE_ALL)
    b = desk(app, officer)
    assert b.step(reference, "wissen").status_code == 303
    written = next(a for a in actions_of(app, reference) if a.action in ("delete", "anonymise"))
    with app.app_context():  # written at the vendor; no fresh read has confirmed it yet
        db.session.execute(
            sa.update(RequestAction).where(RequestAction.id == written.id).values(status="done")
        )
        db.session.commit()
    page = text(b.page(f"{QUEUE}/{reference}"))
    assert re.search(
        rf"Gecontroleerd: de wijziging is doorgevoerd [^:]{{1,60}}: .{{1,60}}? "
        rf"{re.escape(written.record_id)}",
        page,
    )  # the button names the record, for a screen reader

    assert b.step(reference, f"acties/{written.id}/bevestigen").status_code == 303

    found = next(a for a in actions_of(app, reference) if a.id == written.id)
    assert (found.status, found.confirmed_by) == ("confirmed", officer.id)
