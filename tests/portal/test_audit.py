"""The audit log is a hash chain: any edited or removed row is detected."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from flask import Flask

from portal import audit
from portal.extensions import db
from portal.models import AuditEvent


def _three_events() -> None:
    audit.record("auth.login", actor_type="customer", actor_id=1)
    audit.record("export.downloaded", actor_type="customer", actor_id=1, details={"format": "json"})
    audit.record(
        "request.submitted", actor_type="customer", actor_id=1, subject_type="request", subject_id=7
    )
    db.session.commit()


def test_intact_chain_verifies(app: Flask) -> None:
    with app.app_context():
        _three_events()
        assert list(audit.verify_chain()) == []
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert events[0].prev_hash == audit.GENESIS
        assert events[1].prev_hash == events[0].hash


def test_edited_row_is_detected(app: Flask) -> None:
    with app.app_context():
        _three_events()
        second = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()[1]
        db.session.execute(
            sa.update(AuditEvent)
            .where(AuditEvent.id == second.id)
            .values(details={"format": "csv"})
        )
        db.session.commit()
        breaks = list(audit.verify_chain())
        assert [b.event_id for b in breaks] == [second.id]
        assert "edited" in breaks[0].reason


def test_removed_row_is_detected(app: Flask) -> None:
    with app.app_context():
        _three_events()
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == events[1].id))
        db.session.commit()
        breaks = list(audit.verify_chain())
        assert [b.event_id for b in breaks] == [events[2].id]


def test_verify_command_exit_status(app: Flask) -> None:
    with app.app_context():
        _three_events()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output
    with app.app_context():
        db.session.execute(sa.update(AuditEvent).values(action="tampered"))
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1


def _rewrite_and_rehash(event_id: int, action: str, *, with_key: bool = True) -> None:
    """What someone with write access to the database could do: edit an entry and compute
    every hash from there on again, so that the chain alone still holds. ``with_key``: they
    have the application's secret key too (the server itself is theirs), and seal anew."""
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    prev = audit.GENESIS
    for event in events:
        if event.id == event_id:
            event.action = action
        event.prev_hash = prev
        event.hash = audit._digest(event)  # noqa: SLF001 - the attacker's computation
        if with_key:
            event.seal = audit.seal(event.hash)
        prev = event.hash
    db.session.commit()


def test_a_log_rewritten_without_the_key_breaks_its_seals(app: Flask) -> None:
    """With only the database, a rewritten and rehashed log no longer carries valid seals:
    the rewritten entry and every one after it are breaks, anchor or not."""
    with app.app_context():
        _three_events()
        ids = db.session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id)).all()
        assert all(e.seal for e in db.session.scalars(sa.select(AuditEvent)))
        _rewrite_and_rehash(ids[1], "export.downloaded.quietly", with_key=False)
        breaks = list(audit.verify_chain())
        assert [b.event_id for b in breaks] == ids[1:]
        assert all("seal does not match" in b.reason for b in breaks)


def test_a_removed_seal_is_a_break_and_is_not_sealed_again(app: Flask) -> None:
    with app.app_context():
        _three_events()
        ids = db.session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id)).all()
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == ids[2]).values(seal=None))
        db.session.commit()
        [brk] = audit.verify_chain()
        assert brk.event_id == ids[2] and brk.reason.startswith(audit.UNSEALED)
        with pytest.raises(audit.SealRefused, match="after sealed entries"):
            audit.seal_unsealed(None)
    result = app.test_cli_runner().invoke(args=["audit", "seal"])
    assert result.exit_code == 1 and "investigate" in result.output


def test_a_seal_that_is_no_hash_is_a_break_not_a_crash(app: Flask) -> None:
    with app.app_context():
        _three_events()
        ids = db.session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id)).all()
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == ids[0]).values(seal="é"))
        db.session.commit()
        [brk] = audit.verify_chain()
        assert brk.event_id == ids[0] and "seal does not match" in brk.reason


def test_a_log_stripped_of_its_seals_is_never_sealed_again(app: Flask) -> None:
    """Someone without the key rewrites the whole log and removes every seal, so that it looks
    like a log from before sealing: once sealing was done (or the log was anchored and the
    anchor is not given, or does not hold), it is refused."""
    with app.app_context():
        _three_events()
        anchor = audit.head()
        assert anchor is not None
        audit.record("audit.anchored", actor_type="system", details={"hash": anchor.hash})
        db.session.commit()
        ids = db.session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id)).all()
        _rewrite_and_rehash(ids[1], "export.downloaded.quietly", with_key=False)
        db.session.execute(sa.update(AuditEvent).values(seal=None))
        db.session.commit()
        with pytest.raises(audit.SealRefused, match="give the newest anchor"):
            audit.seal_unsealed(None)
        with pytest.raises(audit.SealRefused, match="broken"):
            audit.seal_unsealed(anchor)  # the anchor shows the rewrite
        assert db.session.scalars(sa.select(AuditEvent.seal)).all() == [None] * len(ids)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "seal", "--anchor", str(anchor)])
    assert result.exit_code == 1 and "not sealed" in result.output
    assert runner.invoke(args=["audit", "seal", "--anchor", "x"]).exit_code == 2


def test_entries_from_before_sealing_are_sealed_once(app: Flask) -> None:
    """An upgraded installation: its older entries have no seal (a break each) until
    ``flask audit seal --anchor`` (the newest weekly anchor) seals them, which is logged; a
    second run is refused: unsealed entries after that mean seals were removed."""
    with app.app_context():
        _three_events()
        anchor = audit.head()
        audit.record("audit.anchored", actor_type="system")
        audit.record("auth.login", actor_type="customer", actor_id=2)
        db.session.execute(sa.update(AuditEvent).values(seal=None))
        db.session.commit()
        assert len(list(audit.verify_chain())) == 5
    runner = app.test_cli_runner()
    verify = runner.invoke(args=["audit", "verify"])
    assert verify.exit_code == 1 and "audit seal --anchor" in verify.output
    result = runner.invoke(args=["audit", "seal", "--anchor", str(anchor)])
    assert result.exit_code == 0 and "sealed 5 audit entries" in result.output
    with app.app_context():
        assert list(audit.verify_chain()) == []
        newest = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert newest is not None and newest.action == "audit.sealed"
        assert newest.details == {"entries": 5}
    again = runner.invoke(args=["audit", "seal", "--anchor", str(anchor)])
    assert again.exit_code == 1 and "sealed before" in again.output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_a_log_never_anchored_is_sealed_without_an_anchor(app: Flask) -> None:
    with app.app_context():
        _three_events()
        db.session.execute(sa.update(AuditEvent).values(seal=None))
        db.session.commit()
        assert audit.seal_unsealed(None) == 3
        db.session.commit()
        assert list(audit.verify_chain()) == []


def test_a_broken_chain_is_not_sealed(app: Flask) -> None:
    with app.app_context():
        _three_events()
        db.session.execute(sa.update(AuditEvent).values(seal=None, action="tampered"))
        db.session.commit()
        with pytest.raises(audit.SealRefused, match="broken"):
            audit.seal_unsealed(None)


def test_an_anchor_shows_a_rewritten_and_rehashed_log(app: Flask) -> None:
    with app.app_context():
        _three_events()
        ids = db.session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id)).all()
        anchor = audit.head()
        assert anchor is not None and anchor.event_id == ids[-1]
        assert list(audit.verify_chain(anchor=anchor)) == []

        _rewrite_and_rehash(ids[1], "export.downloaded.quietly")  # the key too

        assert list(audit.verify_chain()) == []  # chain and seals alone cannot tell
        [brk] = audit.verify_chain(anchor=anchor)
        assert brk.event_id == ids[-1] and brk.reason.startswith(audit.ANCHOR_BROKEN)


def test_an_anchor_shows_a_log_cut_off_after_it(app: Flask) -> None:
    with app.app_context():
        _three_events()
        anchor = audit.head()
        assert anchor is not None
        second = sorted(db.session.scalars(sa.select(AuditEvent.id)).all())[1]
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id >= second))
        db.session.commit()

        assert list(audit.verify_chain()) == []  # what is left is a sound chain
        [brk] = audit.verify_chain(anchor=anchor)
        assert brk.event_id == anchor.event_id and "gone" in brk.reason


def test_the_verify_command_checks_anchors_and_prints_the_newest_entry(app: Flask) -> None:
    with app.app_context():
        _three_events()
        anchor = audit.head()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify", "--anchor", str(anchor)])
    assert result.exit_code == 0, result.output
    assert f"--anchor {anchor}" in result.output  # the newest entry, to keep
    bad = runner.invoke(args=["audit", "verify", "--anchor", "12:not-a-hash"])
    assert bad.exit_code == 2 and "64-digit hash" in bad.output
    with app.app_context():
        first = db.session.scalar(sa.select(sa.func.min(AuditEvent.id)))
        _rewrite_and_rehash(first, "tampered")
    result = runner.invoke(args=["audit", "verify", "--anchor", str(anchor)])
    assert result.exit_code == 1 and "anchor" in result.output
    # Several anchors in one pass: the kept one that still holds, and the one that does not.
    with app.app_context():
        newest = audit.head()
        first = db.session.scalar(sa.select(sa.func.min(AuditEvent.id)))
        [brk] = audit.verify_chain(anchors=[newest, audit.Anchor(first, "0" * 64)])
    assert brk.event_id == first and brk.reason.startswith(audit.ANCHOR_BROKEN)


@pytest.mark.parametrize(
    "text", ["3:" + "a" * 64, " 3 : " + "A" * 64, "no. 3/" + "a" * 64, "3 " + "a" * 64]
)
def test_anchors_are_read_as_people_copy_them(text: str) -> None:
    assert audit.Anchor.parse(text) == audit.Anchor(3, "a" * 64)


@pytest.mark.parametrize("text", ["", "3", "a:" + "a" * 64, "3:" + "a" * 63, "3:" + "g" * 64])
def test_anything_else_is_not_an_anchor(text: str) -> None:
    with pytest.raises(ValueError, match="64-digit hash"):
        audit.Anchor.parse(text)


def test_writers_at_the_same_moment_chain_one_after_the_other(app: Flask) -> None:
    """The first writer holds its transaction open; the second, started meanwhile, must chain
    onto the first's entry, not onto the same predecessor (PostgreSQL, as in production)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer at a time: the second waits or fails, never forks")
        audit.record("first", actor_type="system")
        db.session.commit()
    recorded = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with app.app_context():
                audit.record("slow", actor_type="system")
                recorded.set()
                release.wait(10)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            recorded.set()

    def second() -> None:
        try:
            with app.app_context():
                audit.record("fast", actor_type="system")
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    slow = threading.Thread(target=first)
    slow.start()
    assert recorded.wait(10)
    fast = threading.Thread(target=second)
    fast.start()
    fast.join(0.5)
    assert fast.is_alive()  # waits for the first writer's transaction
    release.set()
    slow.join(10)
    fast.join(10)
    assert not errors
    with app.app_context():
        assert list(audit.verify_chain()) == []
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["first", "slow", "fast"]
        assert events[2].prev_hash == events[1].hash
