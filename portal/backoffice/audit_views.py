"""The audit log for the privacy officer (``/beheer/audit``): newest first, 50 a page, filtered
by action, actor, subject and dates; a button that verifies the hash chain; an export of the
filtered log as CSV or as JSON with the hashes, so that a third party can verify it again.

Every verification and every export is itself written to the log (``audit.verified``,
``audit.exported``). The log holds references only; so do its exports.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import abort, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import Select, func, select
from werkzeug.wrappers import Response
from wtforms import Form, SelectField, StringField
from wtforms.fields import DateField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from ..audit import ANCHOR_BROKEN, GENESIS, UNSEALED, Anchor, head, verify_chain
from ..audit import record as audit
from ..export.writers import neutralise
from ..extensions import db
from ..models import AuditEvent, DataRequest, StaffMember, utcnow
from ..paging import Page
from ..settings import firm_zone
from ..staff.decorators import current_staff, keeps_staff_input, officer_required
from ..staff.forms import ConfirmForm
from .blueprint import bp
from .queue_views import EVENT_NAMES

__all__ = ["bp"]

PAGE_SIZE = 50
#: Entries read from the database per batch while an export streams.
EXPORT_BATCH = 500
CSV_COLUMNS = (
    "id",
    "created_at",
    "actor_type",
    "actor_id",
    "action",
    "subject_type",
    "subject_id",
    "details",
    "prev_hash",
    "hash",
)
#: How a third party recomputes each ``hash`` (see :func:`portal.audit._digest`).
HASHING = (
    "hash = sha256 hex of the JSON object {created_at, actor_type, actor_id, action, "
    "subject_type, subject_id, details, prev_hash} with sorted keys, separators ',' and ':' "
    "and non-ASCII characters escaped (Python json.dumps(obj, sort_keys=True, "
    "separators=(',', ':'))); prev_hash is the hash of the entry before it, the genesis value "
    "for the first entry, or the last_hash of an audit.purged entry after old entries were "
    "deleted."
)

#: What staff read for the actions the portal writes; any other action is shown as it is.
ACTION_NAMES = {
    "auth.login": _l("Customer signed in"),
    "auth.logout": _l("Customer signed out"),
    "customer.created": _l("Customer account created"),
    "customer.forgotten": _l("Customer forgotten"),
    "identifier.added": _l("Identifier added"),
    "identifier.verified": _l("Identifier confirmed"),
    "identifier.rejected": _l("Identifier not accepted by staff"),
    "identifiers.viewed": _l("Numbers to check viewed"),
    "identifiers.staff_told": _l("Privacy contact told that numbers wait to be checked"),
    "data.gathered": _l("Data gathered from the sources"),
    "export.downloaded": _l("Customer downloaded their own data"),
    "request.submitted": _l("Request submitted"),
    "action.done": _l("Change made at a source"),
    "action.confirmed": _l("Change at a source confirmed"),
    "action.failed": _l("Change at a source failed"),
    "action.manual": _l("Change at a source left to staff"),
    "action.retried": _l("Change at a source tried again"),
    "source.flagged": _l("Source keeps failing; privacy contact told"),
    "sources.checked": _l("Sources checked"),
    "staff.login": _l("Staff member signed in"),
    "staff.login_failed": _l("Staff sign-in failed"),
    "staff.logout": _l("Staff member signed out"),
    "staff.locked": _l("Staff account locked"),
    "staff.password_verified": _l("Staff password accepted"),
    "staff.recovery_code_used": _l("Recovery code used"),
    "staff.recovery_codes_generated": _l("New recovery codes made"),
    "staff.totp_enrolled": _l("Authenticator app set up"),
    "retention.purged": _l("Old data deleted (retention)"),
    "retention.kept_due": _l("Kept records due for deletion: steps for staff made"),
    "audit.purged": _l("Old audit entries deleted (retention)"),
    "audit.verified": _l("Audit log verified"),
    "audit.exported": _l("Audit log exported"),
    "audit.anchored": _l("Audit log anchor sent"),
    "audit.sealed": _l("Audit entries sealed"),
    "action.skipped": _l("Change at a source not needed"),
    "action.keep_until_set": _l("Date until which a kept record must be kept, checked by staff"),
    "action.cancelled": _l("Change at a source cancelled: the request ended first"),
    "action.unconfirmed": _l("Change at a source not confirmed by reading it again"),
    "request.viewed": _l("Request opened"),
    "request.data_viewed": _l("Customer's data viewed"),
    "request.assignee": _l("Request assigned"),
    "request.linked": _l("Request linked to a customer"),
    "request.close_override": _l("Request closed with changes still open (officer)"),
    "request.recipients_told": _l("Recipients of the data told of the change (art. 19)"),
    "request.restriction_lifted": _l(
        "End of a restriction of use announced, customer told before it ends (art. 18(3))"
    ),
    "staff.created": _l("Staff member added"),
    "staff.role_changed": _l("Staff member's role changed"),
    "staff.disabled": _l("Staff member disabled"),
    "staff.enabled": _l("Staff member enabled again"),
    "staff.unlocked": _l("Staff account unlocked"),
    "staff.password_changed": _l("Staff member changed their password"),
    "staff.password_reset": _l("Staff member given a new one-time password"),
    "staff.second_factor_reset": _l("Staff member's authenticator app reset"),
    "staff.passkey_added": _l("Passkey added"),
    "staff.passkey_removed": _l("Passkey removed"),
}
ACTOR_TYPES = {
    "staff": _l("Staff member"),
    "customer": _l("Customer"),
    "system": _l("System"),
}


def action_name(action: str) -> str:
    """Plain words for an action (a request's step as its history names it), else the
    action itself."""
    name = ACTION_NAMES.get(action)
    if name is None and action.startswith("request."):
        name = EVENT_NAMES.get(action.removeprefix("request."))
    return str(name) if name is not None else action


# --- filters ----------------------------------------------------------------------------------

#: A request's reference as staff type it (the log itself holds the request's number).
REFERENCE_RE = re.compile(r"^AVG-[A-Z0-9]{8}$", re.IGNORECASE)


def _request_id(reference: str) -> int | None:
    return db.session.scalar(
        select(DataRequest.id).where(DataRequest.reference == reference.strip().upper())
    )


def _anchor_text(form: Any, field: StringField) -> None:
    if field.data:
        try:
            Anchor.parse(field.data)
        except ValueError as exc:
            raise ValidationError(
                _(
                    "Enter the anchor as in the weekly e-mail: the entry's number, a colon and its"
                    " hash of 64 characters"
                )
            ) from exc


class VerifyForm(FlaskForm):
    """Check the chain, and optionally against an anchor kept outside the portal."""

    anchor = StringField(
        _l("Anchor (optional)"), validators=[Optional(), Length(max=90), _anchor_text]
    )


class FilterForm(Form):
    """The log's filters (GET, or hidden fields of the export form): no CSRF needed to read."""

    action = StringField(
        _l("Action starts with"),
        validators=[Optional(), Length(max=64, message=_l("This is too long"))],
    )
    actor_type = SelectField(
        _l("Actor"),
        choices=[SelectChoice("", _l("Anyone"))]
        + [SelectChoice(key, name) for key, name in ACTOR_TYPES.items()],
        default="",
        validate_choice=True,
    )
    actor_id = StringField(
        _l("Actor id"), validators=[Optional(), Length(max=64, message=_l("This is too long"))]
    )
    subject_type = StringField(
        _l("Subject type"),
        validators=[Optional(), Length(max=32, message=_l("This is too long"))],
    )
    subject_id = StringField(
        _l("Subject id"), validators=[Optional(), Length(max=64, message=_l("This is too long"))]
    )
    #: The request's number when ``subject_id`` is a reference (AVG-...), set by validation.
    subject_request_id: int | None = None
    date_from = DateField(
        _l("From (date)"),
        validators=[Optional()],
        format="%Y-%m-%d",
    )
    date_to = DateField(_l("To (date)"), validators=[Optional()], format="%Y-%m-%d")

    def validate_subject_id(self, field: StringField) -> None:
        """A request's reference (AVG-...) stands for its number, which the log holds."""
        self.subject_request_id = None
        value = str(field.data or "").strip()
        if not REFERENCE_RE.match(value):
            return
        if str(self.subject_type.data or "").strip() not in ("", "request"):
            raise ValidationError(_("A reference like AVG-… is the subject type request"))
        found = _request_id(value)
        if found is None:
            raise ValidationError(
                _("No request has the reference %(reference)s", reference=value.upper())
            )
        self.subject_request_id = found

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_("The end date is before the start date"))

    def validate(self, extra_validators: Any = None) -> bool:
        """As WTForms does, with our own words for a date that is not a date."""
        ok = super().validate(extra_validators)
        for field in (self.date_from, self.date_to):
            if field.errors and field.raw_data and field.data is None:
                field.errors = [_("Enter a date as year-month-day, for example 2026-03-31")]
        return ok


@dataclass(frozen=True)
class AuditCriteria:
    """What part of the log to show or export (empty means any)."""

    action: str = ""
    actor_type: str = ""
    actor_id: str = ""
    subject_type: str = ""
    subject_id: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_form(cls, form: FilterForm) -> AuditCriteria:
        def text(value: Any) -> str:
            return str(value or "").strip()

        subject_type, subject_id = text(form.subject_type.data), text(form.subject_id.data)
        if form.subject_request_id is not None:  # a reference: the request's number
            subject_type, subject_id = "request", str(form.subject_request_id)
        return cls(
            action=text(form.action.data),
            actor_type=text(form.actor_type.data),
            actor_id=text(form.actor_id.data),
            subject_type=subject_type,
            subject_id=subject_id,
            date_from=form.date_from.data,
            date_to=form.date_to.data,
        )

    def as_args(self) -> dict[str, str]:
        """The filters that are set, as query or form values."""
        args = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value:
                args[item.name] = value.isoformat() if isinstance(value, date) else value
        return args

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` narrowed to these criteria; dates are days in the portal's time zone."""
        if self.action:
            stmt = stmt.where(AuditEvent.action.startswith(self.action, autoescape=True))
        if self.actor_type:
            stmt = stmt.where(AuditEvent.actor_type == self.actor_type)
        if self.actor_id:
            stmt = stmt.where(AuditEvent.actor_id == self.actor_id)
        if self.subject_type:
            stmt = stmt.where(AuditEvent.subject_type == self.subject_type)
        if self.subject_id:
            stmt = stmt.where(AuditEvent.subject_id == self.subject_id)
        zone = firm_zone()
        if self.date_from:
            start = datetime.combine(self.date_from, time.min, tzinfo=zone)
            stmt = stmt.where(AuditEvent.created_at >= start)
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=zone)
            stmt = stmt.where(AuditEvent.created_at < end)
        return stmt


def _criteria(values: Mapping[str, Any]) -> tuple[FilterForm, AuditCriteria | None]:
    form = FilterForm(values)
    if not form.validate():
        return form, None
    return form, AuditCriteria.from_form(form)


# --- export -----------------------------------------------------------------------------------


def _entries(criteria: AuditCriteria, through_id: int) -> Iterator[AuditEvent]:
    """The matching entries up to ``through_id``, oldest first, read in batches."""
    last_id = 0
    while True:
        rows = db.session.scalars(
            criteria.apply(select(AuditEvent))
            .where(AuditEvent.id > last_id, AuditEvent.id <= through_id)
            .order_by(AuditEvent.id)
            .limit(EXPORT_BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def entry_dict(event: AuditEvent) -> dict[str, Any]:
    """One entry as exported: every field its hash covers, and the hashes."""
    return {
        "id": event.id,
        "created_at": event.created_at.isoformat(),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def csv_chunks(criteria: AuditCriteria, through_id: int) -> Iterator[bytes]:
    """The CSV export: ``;``-separated, UTF-8 with a byte order mark (for Excel), every cell
    that a spreadsheet could run as a formula made plain text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    for count, event in enumerate(_entries(criteria, through_id), start=1):
        row = entry_dict(event)
        row["details"] = json.dumps(event.details, sort_keys=True, ensure_ascii=False)
        writer.writerow(["" if row[c] is None else neutralise(str(row[c])) for c in CSV_COLUMNS])
        if count % EXPORT_BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def json_chunks(criteria: AuditCriteria, through_id: int, exported_at: datetime) -> Iterator[bytes]:
    """The JSON export: a header, then the entries one per line with their hashes."""
    header = {
        "format": "privacy-portal-audit-log",
        "version": 1,
        "exported_at": exported_at.isoformat(),
        "through_id": through_id,
        "filters": criteria.as_args(),
        "genesis": GENESIS,
        "hashing": HASHING,
    }
    head = json.dumps(header, ensure_ascii=False, indent=1)
    yield (head[:-2] + ',\n "entries": [\n').encode()
    first = True
    for event in _entries(criteria, through_id):
        line = json.dumps(entry_dict(event), ensure_ascii=False, sort_keys=True)
        yield (("  " if first else ",\n  ") + line).encode()
        first = False
    yield b"\n ]\n}\n"


def last_id() -> int:
    """The id of the newest entry (0 when the log is empty)."""
    return int(db.session.scalar(select(func.max(AuditEvent.id))) or 0)


def count_entries(criteria: AuditCriteria, through_id: int) -> int:
    stmt = criteria.apply(select(func.count(AuditEvent.id))).where(AuditEvent.id <= through_id)
    return int(db.session.scalar(stmt) or 0)


def export_filename(fmt: str, moment: datetime) -> str:
    return f"auditlog-{moment.astimezone(firm_zone()).date().isoformat()}.{fmt}"


# --- pages ------------------------------------------------------------------------------------


def _actor_names(events: list[AuditEvent]) -> dict[str, str]:
    ids = {
        int(e.actor_id)
        for e in events
        if e.actor_type == "staff" and e.actor_id is not None and e.actor_id.isdigit()
    }
    if not ids:
        return {}
    rows = db.session.execute(
        select(StaffMember.id, StaffMember.display_name).where(StaffMember.id.in_(ids))
    )
    return {str(staff_id): name for staff_id, name in rows}


def _request_references(events: list[AuditEvent]) -> dict[str, str]:
    """The references of the requests the entries are about (by the number in the log)."""
    ids = {
        int(e.subject_id)
        for e in events
        if e.subject_type == "request" and e.subject_id is not None and e.subject_id.isdigit()
    }
    if not ids:
        return {}
    rows = db.session.execute(
        select(DataRequest.id, DataRequest.reference).where(DataRequest.id.in_(ids))
    )
    return {str(request_id): reference for request_id, reference in rows}


def detail_text(value: Any) -> str:
    """A detail's value as text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@bp.get("/audit")
@officer_required
def audit_log() -> tuple[str, int]:
    """The log, newest first, filtered and paged."""
    form, criteria = _criteria(request.args)
    events: list[AuditEvent] = []
    page = Page.of(0, 1, PAGE_SIZE)
    if criteria is not None:
        total = int(db.session.scalar(criteria.apply(select(func.count(AuditEvent.id)))) or 0)
        page = Page.of(total, request.args.get("page", 1, type=int), PAGE_SIZE)
        events = list(
            db.session.scalars(
                criteria.apply(select(AuditEvent))
                .order_by(AuditEvent.id.desc())
                .offset(page.offset)
                .limit(PAGE_SIZE)
            )
        )
    args = criteria.as_args() if criteria is not None else {}
    return render_template(
        "backoffice/audit.html",
        form=form,
        events=events,
        page=page,
        args=args,
        filtered=bool(args),
        actor_names=_actor_names(events),
        references=_request_references(events),
        actor_types=ACTOR_TYPES,
        action_name=action_name,
        detail_text=detail_text,
        action_form=ConfirmForm(),
        verify_form=VerifyForm(),
    ), (200 if criteria is not None else 400)


def _verify_again() -> tuple[str, int]:
    """The form to check the chain again, with the anchor typed."""
    return render_template(
        "backoffice/audit_verify.html", form=VerifyForm(), breaks=[], kept=True
    ), 200


@bp.post("/audit/controleren")
@keeps_staff_input(_verify_again, form=lambda: VerifyForm, officer=True)
@officer_required
def audit_verify() -> tuple[str, int]:
    """Check the whole chain (and an anchor, if given); write the outcome to the log; show it."""
    form = VerifyForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return render_template("backoffice/audit_verify.html", form=form, breaks=[]), 400
    member = current_staff()
    assert member is not None  # officer_required
    anchor = Anchor.parse(form.anchor.data) if form.anchor.data else None
    checked = last_id()
    breaks = list(verify_chain(anchor=anchor))
    audit(
        "audit.verified", actor_type="staff", actor_id=member.id,
        details={"through_id": checked, "intact": not breaks, "breaks": len(breaks),
                 "broken_ids": sorted({b.event_id for b in breaks})[:50],
                 "anchor": str(anchor) if anchor else None},
    )  # fmt: skip
    db.session.commit()
    reasons = [(brk.event_id, _break_text(brk.reason)) for brk in breaks]
    return render_template(
        "backoffice/audit_verify.html",
        form=form,
        breaks=reasons,
        anchor=anchor,
        newest=head(),
        checked=checked,
        total=count_entries(AuditCriteria(), checked),
    ), 200


def _break_text(reason: str) -> str:
    if reason.startswith(ANCHOR_BROKEN):
        if "gone" in reason:
            return _("The anchor's entry is no longer in the log: the log was cut off, or entries"
                     " were removed")  # fmt: skip
        return _("The anchor's entry has another hash now: the log was rewritten since")
    if reason.startswith("previous"):
        return _("An entry before it was removed, or the order was changed")
    if reason.startswith(UNSEALED):
        return _("It has no seal: either it was written before seals existed (an administrator"
                 " seals such entries once, checked against the newest weekly anchor), or its"
                 " seal was removed")  # fmt: skip
    if reason.startswith("seal"):
        return _("Its seal does not fit: it was written or rewritten without the portal's key")
    return _("Its content was changed after it was written")


@bp.post("/audit/export")
@officer_required
def audit_export() -> Response:
    """The filtered log as a CSV or JSON download, streamed; the export is logged first."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    fmt = request.form.get("format", "")
    if fmt not in ("csv", "json"):
        abort(400)
    _form, criteria = _criteria(request.form)
    if criteria is None:
        abort(400)
    member = current_staff()
    assert member is not None  # officer_required
    through_id = last_id()
    count = count_entries(criteria, through_id)
    audit(
        "audit.exported", actor_type="staff", actor_id=member.id,
        details={"format": fmt, "entries": count, "through_id": through_id,
                 "filters": criteria.as_args()},
    )  # fmt: skip
    db.session.commit()
    now = utcnow()
    if fmt == "csv":
        body = stream_with_context(csv_chunks(criteria, through_id))
        mimetype = "text/csv; charset=utf-8"
    else:
        body = stream_with_context(json_chunks(criteria, through_id, now))
        mimetype = "application/json"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{export_filename(fmt, now)}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def page_url(args: Mapping[str, str], number: int) -> str:
    """The log's address with the same filters, at page ``number``."""
    return url_for("backoffice.audit_log", **dict(args), page=number)


@bp.app_template_global("audit_page_url")
def _audit_page_url(args: Mapping[str, str], number: int) -> str:
    return page_url(args, number)
