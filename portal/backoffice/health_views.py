"""The sources' health page (``/beheer/bronnen``): per source of the policy its state, the last
successful answer, recent failures by kind and the open requests waiting on it; flagged sources
first, with what to do. A privacy officer can ask every source at once whether it answers.

Nothing here shows personal data: sources are policy keys, requests their references.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import flash, redirect, render_template, session, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from ..audit import record as audit
from ..extensions import db, limiter
from ..kinds import staff_kind_name
from ..models import ActionStatus, DataRequest, RequestAction, RequestStatus
from ..staff import auth as staff_auth
from ..staff.decorators import current_staff, officer_required, staff_required
from ..staff.forms import ConfirmForm
from . import health
from .blueprint import bp

__all__ = ["bp"]

#: How often one officer may ask every source at once (each check calls every vendor).
CHECK_LIMIT = "3 per minute;20 per hour"

#: The states of a source in words (never colour alone).
STATE_NAMES = {
    "ok": _l("Working"),
    "failing": _l("Failing"),
    "flagged": _l("Keeps failing"),
    "unknown": _l("Not yet asked"),
}

#: Statuses of a change at a source that keep a request waiting on it.
WAITING_STATUSES = (
    ActionStatus.PENDING.value,
    ActionStatus.RUNNING.value,
    ActionStatus.FAILED.value,
    ActionStatus.MANUAL.value,
)
FINAL_STATUSES = [status.value for status in RequestStatus if status.final]


@dataclass
class WaitingRequest:
    """An open request that waits on a source: in its scope, or with changes there to do."""

    id: int
    reference: str
    kind: str
    deadline: date
    in_scope: bool = False
    actions: dict[str, int] = field(default_factory=dict)

    @property
    def kind_name(self) -> str:
        return staff_kind_name(self.kind)

    @property
    def to_do(self) -> int:
        """Changes at the source still waiting or running."""
        return self.actions.get(ActionStatus.PENDING.value, 0) + self.actions.get(
            ActionStatus.RUNNING.value, 0
        )


def waiting_requests(keys: list[str]) -> dict[str, list[WaitingRequest]]:
    """Per source key, the open requests waiting on it, nearest deadline first."""
    rows = db.session.execute(
        select(
            DataRequest.id,
            DataRequest.reference,
            DataRequest.kind,
            DataRequest.deadline,
            DataRequest.scope,
        ).where(DataRequest.status.not_in(FINAL_STATUSES))
    ).all()
    found: dict[str, dict[int, WaitingRequest]] = {key: {} for key in keys}

    def entry(key: str, request_id: int) -> WaitingRequest:
        row = by_id[request_id]
        return found[key].setdefault(
            request_id, WaitingRequest(row.id, row.reference, row.kind, row.deadline)
        )

    by_id = {row.id: row for row in rows}
    for row in rows:
        for key in (row.scope or {}).get("sources") or []:
            if key in found:
                entry(key, row.id).in_scope = True
    if by_id:
        for source, request_id, status, count in db.session.execute(
            select(
                RequestAction.source, RequestAction.request_id, RequestAction.status, func.count()
            )
            .where(
                RequestAction.status.in_(WAITING_STATUSES),
                RequestAction.request_id.in_(list(by_id)),
            )
            .group_by(RequestAction.source, RequestAction.request_id, RequestAction.status)
        ):
            if source in found:
                item = entry(source, request_id)
                item.actions[status] = item.actions.get(status, 0) + int(count)
    return {
        key: sorted(items.values(), key=lambda w: (w.deadline, w.reference))
        for key, items in found.items()
    }


@bp.get("/bronnen")
@staff_required
def sources() -> str:
    """Every source of the policy with its state and the work waiting on it."""
    items = health.overview(locale=str(get_locale() or "nl"))
    member = current_staff()
    return render_template(
        "backoffice/health.html",
        items=items,
        flagged=[item for item in items if item.flagged],
        waiting=waiting_requests([item.key for item in items]),
        state_names=STATE_NAMES,
        failure_kind=health.failure_kind,
        flag_after=health.FLAG_AFTER,
        recent_days=health.RECENT.days,
        check_form=ConfirmForm() if member is not None and member.is_officer else None,
    )


def _check_key() -> str:
    """Rate-limit key: the staff member of this browser's session."""
    data = session.get(staff_auth.SESSION_KEY)
    staff_id = data.get("id") if isinstance(data, dict) else None
    return f"source-check:{staff_id}"


@bp.post("/bronnen/controleren")
@officer_required
@limiter.limit(CHECK_LIMIT, key_func=_check_key)
def check_sources() -> Response:
    """Ask every source now whether it answers our credentials; show the outcome."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("backoffice.sources"), code=303)
    member = current_staff()
    assert member is not None  # officer_required
    items = health.check_all()
    failing = [item for item in items if item.state in ("failing", "flagged")]
    audit(
        "sources.checked", actor_type="staff", actor_id=member.id,
        details={"sources": len(items), "failing": [item.key for item in failing]},
    )  # fmt: skip
    db.session.commit()
    if failing:
        flash(
            ngettext(
                "Checked %(total)s sources: %(num)s does not answer: %(names)s.",
                "Checked %(total)s sources: %(num)s do not answer: %(names)s.",
                len(failing),
                total=len(items),
                names=", ".join(item.name for item in failing),
            ),
            "warning",
        )
    else:
        flash(_("Checked %(total)s sources: all answer.", total=len(items)), "success")
    return redirect(url_for("backoffice.sources"), code=303)
