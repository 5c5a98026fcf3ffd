"""How each source has been answering: recorded per gathering, check and write.

Staff see per source the last successful answer, recent failures by kind (credentials, rate
limit, down, bad data ...) and the work waiting on it. A source that keeps failing is *flagged*:
the privacy contact gets an e-mail (at most one a day per source), so a broken connection never
builds a silent backlog. Nothing here holds personal data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from connectors.http import Deadline

from ..audit import record as audit
from ..extensions import db
from ..models import ActionStatus, AuditEvent, RequestAction, SourceEvent, utcnow
from ..policy import current_policy
from ..reminders import mail_privacy_contact

log = logging.getLogger(__name__)

#: This many failures in a row (with no success in between) flag a source.
FLAG_AFTER = 3
#: The window of "recent" failures shown per kind.
RECENT = timedelta(days=7)
#: A flagged source is mailed about at most this often.
MAIL_EVERY = timedelta(hours=24)
#: Budget of one health check of one source.
CHECK_BUDGET = 15.0

#: Short staff-facing names of the kinds of failure (:class:`connectors.errors.ErrorKind`).
FAILURE_KINDS = {
    "auth": _l("credentials refused"),
    "rate_limited": _l("rate limited"),
    "down": _l("unreachable"),
    "timeout": _l("too slow"),
    "bad_data": _l("unreadable answer"),
    "not_found": _l("not found"),
    "rejected": _l("refused"),
    "not_configured": _l("not set up"),
    "not_supported": _l("not supported"),
    "no_identifier": _l("no usable identifier"),
    "mismatch": _l("record no longer matches"),
    "internal": _l("error in the portal"),
    "unconfirmed": _l("not confirmed by a fresh read"),
    # why the API cannot change this one record (connectors.errors.NotSupported.reason)
    "marked_spam": _l(
        "marked as spam in Freshdesk, which its API cannot delete: open the ticket in"
        " Freshdesk's Spam view and delete it there (or choose 'Not spam' first, then delete"
        " it); it then waits in the trash, which Freshdesk empties after 30 days"
    ),
    "woo_order_by_hand": _l(
        "WooCommerce's API would recalculate the order's totals and VAT, so the order is"
        " anonymised by hand: in WooCommerce › Orders, tick this order, choose the bulk action"
        " 'Remove personal data' and click Apply. That replaces its addresses, e-mail address,"
        " phone numbers, IP address, browser and transaction id, takes it out of the customer's"
        " account and deletes its notes; the amounts stay. (WordPress's Tools › Erase Personal"
        " Data does the same to every order of the e-mail address, also those the law makes us"
        " keep, and only with 'Remove personal data from orders on request' switched on under"
        " WooCommerce › Settings › Accounts & Privacy.)"
    ),
    # an erasure step to anonymise a record the system would delete (portal.dsr.erasure)
    "takes_along": _l(
        "deleting it would also delete or end records below it (such as its tickets,"
        " subscriptions or mandates), or the system refuses it while they exist (such as"
        " invoices), and this erasure keeps them or does not cover them: do not delete"
        " it; remove its personal data by hand (names, e-mail addresses, phone numbers,"
        " address, notes) and leave the record"
    ),
    # connectors.base.NOT_WRITTEN
    "not_written": _l(
        "the system answered without the new value: its API ignores this field, so change it"
        " by hand"
    ),
}


#: The kinds of failure the e-mail about failing sources words by cause (else ``other``).
CAUSES = {"auth": "credentials", "down": "unreachable", "timeout": "unreachable"}


def failure_kind(kind: str | None) -> str:
    """The staff-facing name of a kind of failure."""
    return str(FAILURE_KINDS.get(kind or "internal", kind or ""))


def record(
    source: str,
    operation: str,
    *,
    ok: bool,
    outcome: str,
    error_kind: str | None = None,
    elapsed: float | None = None,
) -> None:
    """Note one answer of a source (in the current transaction)."""
    db.session.add(
        SourceEvent(
            source=source,
            operation=operation,
            ok=ok,
            outcome=outcome,
            error_kind=error_kind,
            elapsed_ms=None if elapsed is None else int(elapsed * 1000),
        )
    )


@dataclass
class SourceHealth:
    """What the health page shows for one source."""

    key: str
    name: str
    connector: str
    last_success: datetime | None = None
    last_failure: datetime | None = None
    #: Failed reads (gathering, checks) since the last successful read.
    failures_in_a_row: int = 0
    #: Failed writes since the last successful write: a key that may read but not write (or a
    #: vendor refusing changes) fails every write while reads keep succeeding.
    write_failures_in_a_row: int = 0
    recent_failures: dict[str, int] = field(default_factory=dict)
    #: The kind of the last failure (:data:`FAILURE_KINDS`), None if it never failed.
    last_error_kind: str | None = None
    waiting_actions: int = 0
    failed_actions: int = 0
    manual_actions: int = 0

    @property
    def flagged(self) -> bool:
        """Reading, or writing, failing again and again with no success of it since."""
        return max(self.failures_in_a_row, self.write_failures_in_a_row) >= FLAG_AFTER

    @property
    def cause(self) -> str:
        """Why it fails, as its last failure says: ``credentials`` (refused), ``unreachable``
        (down or too slow) or ``other``."""
        return CAUSES.get(self.last_error_kind or "", "other")

    @property
    def state(self) -> str:
        """``ok``, ``failing`` (the last read or write failed), ``flagged`` or ``unknown``."""
        if self.flagged:
            return "flagged"
        if self.failures_in_a_row or self.write_failures_in_a_row:
            return "failing"
        return "ok" if self.last_success else "unknown"


#: The operations a source's health counts as reading, and as writing.
READS = ("gather", "check")
WRITES = ("write",)


def _failures_in_a_row(source: str, operations: Sequence[str]) -> int:
    """Failed ``operations`` of ``source`` since its last successful one of them."""
    of_them = (SourceEvent.source == source, SourceEvent.operation.in_(operations))
    last_ok = db.session.scalar(
        select(func.max(SourceEvent.created_at)).where(*of_them, SourceEvent.ok.is_(True))
    )
    failed = select(func.count()).where(*of_them, SourceEvent.ok.is_(False))
    if last_ok is not None:
        failed = failed.where(SourceEvent.created_at > last_ok)
    return int(db.session.scalar(failed) or 0)


def overview(now: datetime | None = None, locale: str = "nl") -> list[SourceHealth]:
    """Every source of the policy with its state, in policy order."""
    now = now or utcnow()
    result = []
    for source in current_policy().sources:
        item = SourceHealth(source.key, source.name.get(locale), source.connector)
        item.last_success = db.session.scalar(
            select(func.max(SourceEvent.created_at)).where(
                SourceEvent.source == source.key, SourceEvent.ok.is_(True)
            )
        )
        item.last_failure = db.session.scalar(
            select(func.max(SourceEvent.created_at)).where(
                SourceEvent.source == source.key, SourceEvent.ok.is_(False)
            )
        )
        item.last_error_kind = db.session.scalar(
            select(SourceEvent.error_kind)
            .where(SourceEvent.source == source.key, SourceEvent.ok.is_(False))
            .order_by(SourceEvent.created_at.desc(), SourceEvent.id.desc())
            .limit(1)
        )
        item.failures_in_a_row = _failures_in_a_row(source.key, READS)
        item.write_failures_in_a_row = _failures_in_a_row(source.key, WRITES)
        for kind, count in db.session.execute(
            select(SourceEvent.error_kind, func.count())
            .where(
                SourceEvent.source == source.key,
                SourceEvent.ok.is_(False),
                SourceEvent.created_at >= now - RECENT,
            )
            .group_by(SourceEvent.error_kind)
        ):
            item.recent_failures[kind or "unknown"] = int(count)
        for status, count in db.session.execute(
            select(RequestAction.status, func.count())
            .where(RequestAction.source == source.key)
            .group_by(RequestAction.status)
        ):
            if status in (ActionStatus.PENDING.value, ActionStatus.RUNNING.value):
                item.waiting_actions += int(count)
            elif status == ActionStatus.FAILED.value:
                item.failed_actions += int(count)
            elif status == ActionStatus.MANUAL.value:
                item.manual_actions += int(count)
        result.append(item)
    return result


def check_all() -> list[SourceHealth]:
    """Ask every source whether it answers our credentials; record it; flag and mail.

    Commits. Returns the overview after the checks.
    """
    from ..gathering.sources import build_sources

    settings = current_app.extensions["portal.settings"]
    built = build_sources(current_policy(), settings.connectors, Path(current_app.instance_path))
    try:
        for key, kind in built.unavailable.items():
            record(key, "check", ok=False, outcome="failed", error_kind=kind.value)
        for key, connector in built.connectors.items():
            started = time.monotonic()
            try:
                health = connector.check(deadline=Deadline(CHECK_BUDGET))
            except Exception:  # noqa: BLE001 - a broken connector is a failed check
                log.exception("health check of %s raised", key)
                record(key, "check", ok=False, outcome="failed", error_kind="internal")
                continue
            record(
                key, "check", ok=health.ok, outcome="ok" if health.ok else "failed",
                error_kind=health.error_kind.value if health.error_kind else None,
                elapsed=time.monotonic() - started,
            )  # fmt: skip
    finally:
        built.close()
    db.session.commit()
    items = overview()
    outbox = notify_flagged(items)
    db.session.commit()
    from ..tasks import enqueue_mail

    for outbox_id in outbox:
        enqueue_mail(outbox_id)
    return items


def notify_flagged(items: Sequence[SourceHealth], now: datetime | None = None) -> list[int]:
    """Mail the privacy contact about flagged sources not mailed about in the last day.

    Flushes; returns the outbox ids to enqueue after the commit.
    """
    now = now or utcnow()
    to_mail = []
    for item in items:
        if not item.flagged:
            continue
        last = db.session.scalar(
            select(func.max(AuditEvent.created_at)).where(
                AuditEvent.action == "source.flagged", AuditEvent.subject_id == item.key
            )
        )
        if last is not None and now - last < MAIL_EVERY:
            continue
        to_mail.append(item)
        audit(
            "source.flagged", actor_type="system", subject_type="source", subject_id=item.key,
            details={"failures_in_a_row": item.failures_in_a_row,
                     "write_failures_in_a_row": item.write_failures_in_a_row,
                     "kinds": item.recent_failures},
        )  # fmt: skip
    if not to_mail:
        return []
    row = mail_privacy_contact(
        "backoffice/email/sources_failing", {"sources": to_mail, "failure_kind": failure_kind}
    )
    if row is None:
        log.warning("sources are failing but the policy names no privacy contact to tell")
        return []
    return [row.id]
