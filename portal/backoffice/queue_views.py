"""The request queue (``/beheer/verzoeken``), one request's page with the staff steps, and
entering a request received by post, e-mail or phone (``/beheer/verzoeken/nieuw``).

Every route needs a staff member who passed both factors. Every step is a POST form with its
CSRF token; a step that is not valid shows the page again with an error summary. Mail and
changes at the sources are handed to the queue only after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from ..audit import record as audit
from ..customer.services import display_value
from ..customer.texts import field_label, record_type_label, speaks_codes, value_label
from ..dsr import erasure
from ..dsr import services as dsr
from ..dsr.deadlines import response_deadline
from ..dsr.flows import describe
from ..dsr.services import RequestError
from ..dsr.texts import status_name
from ..extensions import db
from ..kept_input import BUTTON
from ..kinds import staff_kind_name
from ..models import (
    ActionKind,
    ActionStatus,
    DataRequest,
    RequestAction,
    RequestChannel,
    RequestKind,
    RequestStatus,
    StaffMember,
)
from ..policy import LegalBasis, Purpose, current_policy
from ..settings import firm_today
from ..staff.decorators import (
    current_staff,
    keeps_staff_input,
    officer_required,
    staff_required,
)
from ..tasks import enqueue_mail
from . import actions, health, queue
from .blueprint import bp
from .forms import (
    PURPOSE_KINDS,
    ActionForm,
    AskInformationForm,
    AssignForm,
    CloseForm,
    CorrectReceivedOnForm,
    ExtendForm,
    KeepUntilForm,
    LiftRestrictionForm,
    NewRequestForm,
    NoteForm,
    QueueFilterForm,
    RecordAnswerForm,
    ReferenceSearchForm,
    RefuseForm,
)

__all__ = ["bp"]

CHANNEL_NAMES = {
    RequestChannel.PORTAL.value: _l("Portal"),
    RequestChannel.EMAIL.value: _l("E-mail"),
    RequestChannel.POST.value: _l("Post"),
    RequestChannel.PHONE.value: _l("Phone"),
}

#: Statuses as staff read them (the customer's words say "you").
STAFF_STATUS_NAMES = {
    RequestStatus.WAITING_FOR_CUSTOMER.value: _l("Waiting for the customer"),
}

IDENTITY_NAMES = {
    "known_email": _l("Wrote from, or answered at, a known e-mail address"),
    "id_document_seen": _l("Copy of ID seen and not kept"),
    "customer_and_invoice_number": _l("Customer number and invoice number"),
    "known_in_person": _l("Known in person or by phone"),
    "other": _l("Another way"),
}

#: A customer's identifiers, as staff read their kind and state.
IDENTIFIER_KIND_NAMES = {
    "email": _l("E-mail address"),
    "phone": _l("Phone number"),
    "customer_number": _l("Customer number"),
}
IDENTIFIER_STATUS_NAMES = {
    "verified": _l("verified"),
    "pending": _l("not verified yet"),
    "rejected": _l("not accepted"),
}

#: History steps as staff read them.
EVENT_NAMES = {
    "received": _l("Received"),
    "status": _l("Work started"),
    "extended": _l("Deadline extended"),
    "received_on_corrected": _l("Date received corrected; deadline counted again"),
    "info_requested": _l("Customer asked for information"),
    "info_added": _l("Customer sent information"),
    "info_withdrawn": _l("Question to the customer withdrawn"),
    "info_recorded": _l("Customer's answer by post, e-mail or phone, recorded by staff"),
    "withdrawn": _l("Withdrawn by the customer"),
    "refused": _l("Refused"),
    "partly_refused": _l("Objection refused except for direct marketing, which stays stopped"),
    "done": _l("Closed"),
    "assigned": _l("Assigned"),
    "note": _l("Internal note"),
    "restriction_lifted": _l("End of the restriction announced to the customer"),
    "reminder": _l("Deadline reminder sent"),
    "correction_approved": _l("Correction approved"),
    "erasure_started": _l("Erasure carried out at the sources"),
    "forget_postponed": _l(
        "Person not forgotten yet: other requests or changes at the sources are still open"
    ),
    "not_forgotten": _l("Closed before everything was erased: the portal keeps the person"),
}

ACTION_STATUS_NAMES = {
    ActionStatus.PENDING.value: _l("Waiting in the queue"),
    ActionStatus.RUNNING.value: _l("Being carried out"),
    ActionStatus.DONE.value: _l("Done, waiting for confirmation"),
    ActionStatus.CONFIRMED.value: _l("Confirmed"),
    ActionStatus.MANUAL.value: _l("To do by hand"),
    ActionStatus.FAILED.value: _l("Failed"),
    ActionStatus.SKIPPED.value: _l("Kept (nothing to do)"),
    ActionStatus.CANCELLED.value: _l("Cancelled: the request ended first"),
}

ACTION_KIND_NAMES = {
    ActionKind.CORRECT.value: _l("Correct the record"),
    ActionKind.DELETE.value: _l("Delete"),
    ActionKind.ANONYMISE.value: _l("Anonymise"),
    ActionKind.KEEP.value: _l("Keep"),
}

#: Why a step was not possible, from :class:`RequestError` codes.
STEP_ERRORS = {
    "final": _l("This request is finished: nothing more can be done."),
    "transition": _l("This step is not possible in the request's current status."),
    "extension": _l("Extend by one or two further months in all, and not less than now."),
    "extension_late": _l(
        "The deadline can no longer be extended: the law requires the customer to be told of an"
        " extension within one month of receipt, and that month is over."
    ),
    "approved": _l("This was done already: see the changes at the sources."),
    "recipients": _l(
        'Tell the recipients listed under "Recipients to tell" of this change first, and'
        " tick that you did (or that it proved impossible or disproportionate)."
    ),
    "not_restricted": _l("No restriction of this request is in force."),
    "lift_announced": _l(
        "The end of this restriction was announced already: the customer was told the day it ends."
    ),
    "unconditional": _l(
        "A withdrawal of consent or an objection to direct marketing cannot be refused: stop"
        " that use and close the request."
    ),
    "unconditional_extension": _l(
        "A withdrawal of consent or an objection to direct marketing applies from its receipt:"
        " its deadline cannot be extended. Stop that use now and close the request."
    ),
    "carried_out": _l(
        "The work at the sources has started for this request (the erasure was carried out or"
        " the correction approved), so it can no longer be refused. Close the request instead,"
        " with a message that tells the customer what was done and what was not, and why."
    ),
    "waiting": _l(
        "You asked the customer for information and their answer is still awaited. Wait for"
        " their answer, or withdraw the question first (the customer is then told they need"
        " not answer)."
    ),
    "started": _l("Work on this request has started already."),
    "entered_by_you": _l(
        "You entered this request yourself, so a colleague carries out the erasure, or you do"
        " once the customer has had a week to see it: the date is on the page."
    ),
    "not_waiting": _l("No question to the customer is open."),
    "kind": _l("This step does not fit this kind of request."),
    "empty": _l("There is nothing to correct in this request."),
    "no_customer": _l(
        "The portal does not know this person as a customer, so it cannot look up their data."
        " Erase it by hand in each system."
    ),
    "incomplete": _l(
        "Not every system answered completely, so not all data could be seen. Nothing was"
        " changed. Try again later, or check the sources page."
    ),
    "unsettled": _l(
        "Not every change at the sources is confirmed yet. Wait, retry or confirm them by"
        " hand; a privacy officer can close anyway with a reason."
    ),
    "not_erased": _l(
        "Nothing was erased yet: carry out the erasure first, and close the request when every"
        " change at the sources is confirmed. A privacy officer can close anyway with a reason;"
        " the portal then does not forget the person."
    ),
    "not_corrected": _l(
        "Nothing was corrected yet: approve the correction first, and close the request when"
        " every change at the sources is confirmed. A privacy officer can close anyway with a"
        " reason."
    ),
    "portal_received": _l(
        "The customer sent this request in the portal: it was received at the moment they sent"
        " it, so its date received is exact and cannot be corrected."
    ),
    "received_reason": _l("Enter why the date received was wrong."),
    "received_range": _l(
        "The date received cannot be in the future, after the day the request was entered or"
        " more than 3 months before it."
    ),
    "received_same": _l("This is the date received already: nothing was changed."),
    "conflict": _l(
        "Someone else changed this request at the same moment, so your step was not carried"
        " out. Nothing was done twice. Check the request below and try again if it is still"
        " needed."
    ),
}


def staff_status_name(status: str) -> str:
    """A status as staff read it."""
    name = STAFF_STATUS_NAMES.get(status)
    return str(name) if name is not None else status_name(status)


def data_value(record: Mapping[str, Any], name: str, value: Any) -> tuple[Any, str | None]:
    """A field of a gathered record as the customer reads it (words for codes, yes and no,
    addresses with their parts named: :func:`~portal.customer.services.display_value`), and
    the system's own code when the words stand for one (``processing``), which staff may
    need to find or set the value in that system; else None."""
    codes = speaks_codes(record)
    shown = display_value(value, name, codes)
    code = value if codes and isinstance(value, str) and value_label(name, value) else None
    return shown, code


def _locale() -> str:
    return str(get_locale() or "nl")


def _me() -> StaffMember:
    member = current_staff()
    assert member is not None  # staff_required
    return member


def _found(reference: str) -> DataRequest:
    found = queue.find(reference)
    if found is None:
        abort(404)
    return found


def _text(name: str) -> str:
    value = request.form.get(name, "")
    return value.strip()


def _send(outbox_ids: list[int]) -> None:
    for outbox_id in outbox_ids:
        enqueue_mail(outbox_id)


def _told(outbox_ids: list[int], told: str, found: DataRequest | None = None) -> None:
    """Flash that the customer was told (``told``), or, when no e-mail went out (a letter
    writer without an e-mail address), that staff must tell them by post or phone."""
    if outbox_ids:
        flash(told, "success")
    else:
        _tell_by_post(found)


def _tell_by_post(found: DataRequest | None = None) -> None:
    flash(
        _("Done, but no e-mail address is known for this person, so nothing was sent: tell"
          " them by post or phone. The history shows what to tell them."),
        "error",
    )  # fmt: skip
    _note_how_told(found)


def _note_how_told(found: DataRequest | None) -> None:
    """While the request is open, point staff to the internal note to record how they told
    the person, and what the person said (a finished request takes no notes)."""
    if found is not None and found.is_open:
        flash(
            _('Then record how and when you told them, and what they said, under "Add an'
              ' internal note" below. The customer does not see it.'),
            "info",
        )  # fmt: skip


def _back(found: DataRequest, anchor: str = "") -> Response:
    target = url_for("backoffice.request_page", reference=found.reference)
    return redirect(target + (f"#{anchor}" if anchor else ""), code=303)


@bp.app_context_processor
def _queue_helpers() -> dict[str, object]:
    return {
        "bo_kind_name": staff_kind_name,
        "bo_status_name": staff_status_name,
        "bo_channel_names": CHANNEL_NAMES,
    }


def staff_label(member: StaffMember) -> str:
    """A staff member's name, marked when they are disabled (they cannot sign in, so nobody
    works on what is assigned to them)."""
    if member.active:
        return member.display_name
    return _("%(name)s (disabled)", name=member.display_name)


def _assignees(staff: list[StaffMember], current: StaffMember | None = None) -> list[SelectChoice]:
    """Nobody, then the active staff. A disabled ``current`` assignee is offered too (and only
    then), so the form shows the assignment as it is and changes nothing unless staff choose
    someone else."""
    shown = list(staff)
    if current is not None and not current.active:
        shown.insert(0, current)
    return [SelectChoice("", _("Nobody"))] + [
        SelectChoice(str(m.id), staff_label(m)) for m in shown
    ]


def _assignee_of(found: DataRequest) -> StaffMember | None:
    return db.session.get(StaffMember, found.assignee_id) if found.assignee_id else None


# --- the queue ------------------------------------------------------------------------------


def _filter_form(staff: list[StaffMember]) -> QueueFilterForm:
    form = QueueFilterForm(formdata=request.args)
    form.kind.choices = [SelectChoice("", _("All kinds"))] + [
        SelectChoice(k.value, staff_kind_name(k.value)) for k in RequestKind
    ]
    form.status.choices = [
        SelectChoice("open", _("Open")),
        SelectChoice("all", _("All, finished ones too")),
        SelectChoice(queue.STATUS_ANSWERED, _("Open, the customer replied")),
    ] + [SelectChoice(s.value, staff_status_name(s.value)) for s in RequestStatus]
    form.assignee.choices = [
        SelectChoice(queue.ASSIGNEE_ANYONE, _("Anyone")),
        SelectChoice(queue.ASSIGNEE_ME, _("Me")),
        SelectChoice(queue.ASSIGNEE_NOBODY, _("Nobody, or a disabled staff member")),
    ] + [SelectChoice(str(m.id), staff_label(m)) for m in staff + queue.disabled_assignees()]
    form.due.choices = [
        SelectChoice("", _("Any deadline")),
        SelectChoice(queue.DUE_OVERDUE, _("Overdue")),
        SelectChoice(queue.DUE_SOON, _("Due within %(days)s days", days=queue.DUE_SOON_DAYS)),
    ]
    for field in (form.kind, form.status, form.assignee, form.due):
        if field.data not in {c.value for c in field.choices}:
            field.data = field.default
    return form


def _search(form: ReferenceSearchForm) -> DataRequest | str | None:
    """The request the search form names, or why it names none (an error for the field);
    None when nobody searched."""
    if "reference" not in request.args:
        return None
    if not form.validate():
        return str(form.reference.errors[0])
    wanted = queue.typed_reference(form.reference.data or "")
    if wanted is None:
        return _("Enter a reference, for example AVG-7KQ2M9XP")
    found = queue.find(wanted)
    if found is None:
        return _(
            "No request has the reference %(reference)s. Check it and try again; capitals and"
            " spaces do not matter.",
            reference=form.reference.data,
        )
    return found


@bp.get("/verzoeken")
@staff_required
def queue_page() -> Any:
    """All requests by deadline, with filters and counts; a search by reference goes straight
    to the request it finds."""
    search = ReferenceSearchForm(formdata=request.args)
    searched = _search(search)
    if isinstance(searched, DataRequest):
        return redirect(url_for("backoffice.request_page", reference=searched.reference), code=303)
    if searched is not None:
        search.reference.errors = [searched]
    staff = queue.staff_members()
    form = _filter_form(staff)
    filters = queue.QueueFilters(
        kind=form.kind.data or "", status=form.status.data or "open",
        assignee=form.assignee.data or queue.ASSIGNEE_ANYONE, due=form.due.data or "",
    )  # fmt: skip
    rows, page = queue.queue(filters, staff_id=_me().id, page=request.args.get("page", 1, type=int))
    args = {
        name: value
        for name, value in (
            ("kind", filters.kind), ("status", filters.status), ("assignee", filters.assignee),
            ("due", filters.due),
        )
        if value != getattr(queue.QueueFilters(), name)
    }  # fmt: skip
    return render_template(
        "backoffice/queue.html",
        form=form,
        rows=rows,
        page=page,
        page_args=args,
        counts=queue.counts(),
        filtered=filters != queue.QueueFilters(),
        due_soon_days=queue.DUE_SOON_DAYS,
        search=search,
        errors=_form_errors(search),
    )


# --- one request ----------------------------------------------------------------------------


def _forms(found: DataRequest) -> dict[str, Any]:
    staff = queue.staff_members()
    assign = AssignForm(formdata=None)
    assign.assignee.choices = _assignees(staff, _assignee_of(found))
    return {
        "assign_form": assign,
        "note_form": NoteForm(formdata=None),
        "ask_form": AskInformationForm(formdata=None),
        "answer_form": RecordAnswerForm(formdata=None),
        "extend_form": ExtendForm(formdata=None),
        "refuse_form": RefuseForm(formdata=None),
        "lift_form": LiftRestrictionForm(formdata=None),
        "close_form": CloseForm(formdata=None),
        "action_form": ActionForm(formdata=None),
        "keep_form": KeepUntilForm(formdata=None),
        "received_form": CorrectReceivedOnForm(formdata=None),
    }


def _names_of_staff() -> dict[int, str]:
    return {m.id: m.display_name for m in db.session.query(StaffMember)}


def _render(
    found: DataRequest,
    *,
    status: int = 200,
    live: bool = False,
    errors: list[tuple[str, str]] | None = None,
    extra_error: str | None = None,
    **forms: Any,
) -> tuple[str, int]:
    me = _me()
    policy = current_policy()
    locale = _locale()
    customer = queue.customer_of(found)
    details = dsr.details_of(found)
    page_forms = _forms(found)
    page_forms.update(forms)
    page_forms["assign_form"].assignee.data = str(found.assignee_id or "")
    # Only extensions that extend further (not "1 further month" once extended by one).
    months = page_forms["extend_form"].months
    months.choices = [c for c in months.choices if int(c.value) > found.extension_months]
    snapshot = (
        queue.current_data(found, customer, live=live, staff_id=me.id)
        if customer is not None
        else None
    )
    audit(
        "request.viewed", actor_type="staff", actor_id=me.id, subject_type="request",
        subject_id=found.id,
    )  # fmt: skip
    db.session.commit()
    rows = actions.actions_of(found)
    source_names = {s.key: s.name.get(locale) for s in policy.sources}
    categories = {c.key: c for c in policy.categories}
    kept = queue.kept_of(found)
    grounds = {}
    for group in kept:
        category = policy.category(group.category)
        ground = erasure.statutory(policy, category) if category else None
        grounds[group.category] = ground.get(locale) if ground else ""
    kept_also = {
        (g.source, g.category): queue.kept_also_names(policy, locale, g.also) for g in kept
    }
    unsettled = [a for a in rows if not a.status_enum.settled]
    close_problem = queue.not_done_code(found) if found.is_open else None
    return render_template(
        "backoffice/request.html",
        req=found,
        details=details,
        # a withdrawal of consent holds only its purposes, in the scope
        rows=(
            describe(
                found.kind,
                found.scope,
                details,
                policy,
                locale,
                finished=found.status == "done",
                for_staff=True,
            )  # fmt: skip
            if details or found.scope.get("purposes")
            else []
        ),
        requester=dsr.requester_of(found),
        # whether the portal writes to them (else staff answer by post or phone)
        mailable=dsr.recipient_of(found, customer) is not None,
        direct_marketing=[
            policy.purpose(key).name.get(locale)  # type: ignore[union-attr]
            for key in dsr.direct_marketing_objected(found, policy)
        ],
        unconditional=dsr.unconditional(found, policy),
        # an objection naming direct marketing and other purposes: those others may be refused
        weighed=dsr.purpose_names(dsr.weighed_objected(found, policy), locale)
        if dsr.mixed_objection(found, policy)
        else [],
        marketing_stopped=dsr.purpose_names(dsr.direct_marketing_stopped(found, policy), locale),
        recipients_to_tell=queue.recipients_to_tell(found, policy),
        restricted=dsr.restriction_in_force(found),
        restriction_ends_on=dsr.restriction_ends_on(found),
        lift_notice_days=dsr.LIFT_NOTICE_DAYS,
        other_restrictions=[
            r for r in dsr.restrictions_in_force(found.customer_id) if r.id != found.id
        ]
        if found.customer_id is not None
        else [],
        identifiers=queue.identifiers_of(customer) if customer is not None else [],
        customer=customer,
        # an erasure this member entered themselves: when they may carry it out
        erase_waits=queue.erasure_waits_until(found, me.id),
        days_left=dsr.days_left(found),
        can_extend=dsr.extension_possible(found) and not dsr.unconditional(found, policy),
        answered=queue.answered(found),
        history=found.events,
        message_of=dsr.message_of,
        staff_names=_names_of_staff(),
        assignee=_assignee_of(found),
        staff_label=staff_label,
        actions=rows,
        unsettled=unsettled,
        # changes by hand that wait for the actions below them, and how many
        waiting=actions.unsettled_below(rows),
        waits_for_below=waits_for_below,
        value_of=actions.value_of,
        kept=kept,
        grounds=grounds,
        kept_also=kept_also,
        categories=categories,
        snapshot=snapshot,
        records=queue.concerned_records(found, snapshot) if snapshot is not None else [],
        source_names=source_names,
        record_type_label=record_type_label,
        field_label=field_label,
        data_value=data_value,
        event_names=EVENT_NAMES,
        identity_names=IDENTITY_NAMES,
        identifier_kind_names=IDENTIFIER_KIND_NAMES,
        identifier_status_names=IDENTIFIER_STATUS_NAMES,
        action_status_names=ACTION_STATUS_NAMES,
        action_kind_names=ACTION_KIND_NAMES,
        failure_kind=health.failure_kind,
        errors=errors or [],
        extra_error=extra_error,
        deadline_after={m: response_deadline(found.received_on, m) for m in (1, 2)},
        today=firm_today(),
        # a request staff entered: the days a privacy officer may correct its date received to
        received_bounds=dsr.received_on_bounds(found)
        if found.channel != RequestChannel.PORTAL.value
        else None,
        first_month_end=response_deadline(found.received_on),
        is_correction=found.kind == RequestKind.CORRECTION.value,
        is_erasure=found.kind == RequestKind.ERASURE.value,
        covers_everything=queue.covers_everything(found),
        carried_out=queue.carried_out(found),
        close_problem=close_problem,
        **page_forms,
    ), status


def _form_errors(form: Any) -> list[tuple[str, str]]:
    return [
        (field.id, str(field.errors[0]))
        for field in form
        if field.errors and field.name != "csrf_token"
    ]


def _invalid(found: DataRequest, key: str, form: Any) -> tuple[str, int]:
    if form.errors.get("csrf_token"):
        abort(400)
    return _render(found, status=400, errors=_form_errors(form), **{key: form})


def _step_error(found: DataRequest, exc: RequestError) -> tuple[str, int]:
    db.session.rollback()
    message = STEP_ERRORS.get(exc.code, STEP_ERRORS["transition"])
    return _render(found, status=409, extra_error=str(message))


# --- a form sent after its page expired (portal.kept_input) ---------------------------------


def _keeps(key: str, form_class: type[Any], *, officer: bool = False) -> Callable[[Any], Any]:
    """Mark a step whose form (``key`` on the request page), sent after its page expired,
    comes back filled in on the request page: nothing is done, and the form has a fresh token.
    """

    def again(reference: str) -> tuple[str, int]:
        return _render(_found(reference), **{key: form_class()})

    return keeps_staff_input(again, form=lambda reference: form_class, officer=officer)


def _page_again(reference: str, action_id: int | None = None) -> tuple[str, int]:
    """The request page again, for a new press of a button whose page had expired."""
    found = _found(reference)
    if action_id is not None:
        _action_of(found, action_id)
    return _render(found)


#: A button on the request page (or a choice, like whom to assign): pressed after its page
#: expired, nothing is done and the page says to press it again.
_keeps_button = keeps_staff_input(_page_again, message=BUTTON)


@bp.get("/verzoeken/<reference>")
@staff_required
def request_page(reference: str) -> tuple[str, int]:
    """One request: who, what, its history, the changes at the sources and the current data."""
    return _render(_found(reference))


@bp.post("/verzoeken/<reference>/gegevens")
@_keeps_button
@staff_required
def show_data(reference: str) -> tuple[str, int]:
    """Gather the customer's data live from the sources and show it (audited)."""
    found = _found(reference)
    if not ActionForm().validate_on_submit():
        abort(400)
    if found.customer_id is None:
        abort(409)
    return _render(found, live=True)


@bp.post("/verzoeken/<reference>/toewijzen")
@_keeps_button
@staff_required
def assign(reference: str) -> Any:
    found = _found(reference)
    staff = queue.staff_members()
    form = AssignForm()
    form.assignee.choices = _assignees(staff, _assignee_of(found))
    if not form.validate_on_submit():
        return _invalid(found, "assign_form", form)
    if form.assignee.data == str(found.assignee_id or ""):
        # The form shows the current assignee (a disabled one too): unchanged, nothing to do.
        flash(_("Nothing changed: the request is assigned as before."), "info")
        return _back(found)
    chosen = next((m for m in staff if str(m.id) == form.assignee.data), None)
    try:
        queue.assign(found, chosen, staff_id=_me().id)
    except RequestError as exc:
        return _step_error(found, exc)
    db.session.commit()
    flash(
        _("Assigned to %(name)s.", name=chosen.display_name)
        if chosen
        else _("Assigned to nobody."),
        "success",
    )
    return _back(found)


@bp.post("/verzoeken/<reference>/mij")
@_keeps_button
@staff_required
def assign_to_me(reference: str) -> Any:
    found = _found(reference)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        queue.assign(found, _me(), staff_id=_me().id)
    except RequestError as exc:
        return _step_error(found, exc)
    db.session.commit()
    flash(_("Assigned to you."), "success")
    return _back(found)


@bp.post("/verzoeken/<reference>/starten")
@_keeps_button
@staff_required
def start(reference: str) -> Any:
    found = _found(reference)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        queue.start(found, staff_id=_me().id)
    except RequestError as exc:
        return _step_error(found, exc)
    db.session.commit()
    flash(_("The request is in progress."), "success")
    return _back(found)


@bp.post("/verzoeken/<reference>/vraag-intrekken")
@_keeps_button
@staff_required
def withdraw_question(reference: str) -> Any:
    """Withdraw the open question to the customer: the request goes back to work and the
    customer is told they need not answer."""
    found = _found(reference)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        outbox = queue.withdraw_question(found, staff_id=_me().id)
    except RequestError as exc:
        return _step_error(found, exc)
    db.session.commit()
    _send(outbox)
    _told(outbox, _("The question was withdrawn. The customer was told they need not answer."))
    return _back(found)


@bp.post("/verzoeken/<reference>/antwoord")
@_keeps("answer_form", RecordAnswerForm)
@staff_required
def record_answer(reference: str) -> Any:
    """Record the customer's answer to the open question that reached us by post, e-mail or
    phone: the request goes back to work; nothing is sent to the customer."""
    found = _found(reference)
    form = RecordAnswerForm()
    if not form.validate_on_submit():
        return _invalid(found, "answer_form", form)
    try:
        queue.record_answer(found, form.answer.data, staff_id=_me().id)
    except RequestError as exc:
        return _step_error(found, exc)
    db.session.commit()
    flash(
        _("Their answer is recorded in the history and the request is back at work. Nothing"
          " was sent to the customer."),
        "success",
    )  # fmt: skip
    return _back(found, "history")


@bp.post("/verzoeken/<reference>/notitie")
@_keeps("note_form", NoteForm)
@staff_required
def note(reference: str) -> Any:
    found = _found(reference)
    form = NoteForm()
    if not form.validate_on_submit():
        return _invalid(found, "note_form", form)
    try:
        queue.add_note(found, form.note.data, staff_id=_me().id)
    except RequestError as exc:
        return _step_error(found, exc)
    db.session.commit()
    flash(_("Note added. The customer does not see it."), "success")
    return _back(found, "history")


@bp.post("/verzoeken/<reference>/informatie")
@_keeps("ask_form", AskInformationForm)
@staff_required
def ask_information(reference: str) -> Any:
    found = _found(reference)
    form = AskInformationForm()
    if not form.validate_on_submit():
        return _invalid(found, "ask_form", form)
    try:
        outbox = queue.ask_information(found, form.question.data, staff_id=_me().id)
    except RequestError as exc:
        return _step_error(found, exc)
    db.session.commit()
    _send(outbox)
    _told(outbox, _("Your question was sent to the customer."), found)
    return _back(found)


@bp.post("/verzoeken/<reference>/verlengen")
@_keeps("extend_form", ExtendForm)
@staff_required
def extend(reference: str) -> Any:
    found = _found(reference)
    form = ExtendForm()
    if not form.validate_on_submit():
        return _invalid(found, "extend_form", form)
    before = found.deadline
    try:
        outbox = queue.extend(
            found, int(form.months.data), form.extend_reason.data, staff_id=_me().id
        )
    except RequestError as exc:
        return _step_error(found, exc)
    db.session.commit()
    _send(outbox)
    from ..customer.texts import format_day

    _told(
        outbox,
        _(
            "The deadline moved from %(before)s to %(after)s. The customer was told why.",
            before=format_day(before), after=format_day(found.deadline),
        ),
        found,
    )  # fmt: skip
    return _back(found)


@bp.post("/verzoeken/<reference>/ontvangstdatum")
@_keeps("received_form", CorrectReceivedOnForm, officer=True)
@officer_required
def correct_received_on(reference: str) -> Any:
    """Correct the day a request staff entered was received (privacy officers, with a reason):
    the deadline is counted again, and the customer told it when it moved."""
    from ..customer.texts import format_day

    found = _found(reference)
    if found.channel == RequestChannel.PORTAL.value:
        return _step_error(found, RequestError("portal_received", "sent in the portal"))
    if not found.is_open:
        return _step_error(found, RequestError("final", f"request is {found.status}"))
    form = CorrectReceivedOnForm()
    form.bounds = dsr.received_on_bounds(found)
    form.current = found.received_on
    if not form.validate_on_submit() or form.corrected_received_on.data is None:
        return _invalid(found, "received_form", form)
    try:
        done = queue.correct_received_on(
            found, form.corrected_received_on.data, form.correction_reason.data,
            staff_id=_me().id,
        )  # fmt: skip
    except RequestError as exc:
        return _step_error(found, exc)
    db.session.commit()
    _send(done.outbox_ids)
    flash(
        _("The date received is now %(after)s (it was %(before)s).",
          after=format_day(found.received_on), before=format_day(done.received_on_before)),
        "success",
    )  # fmt: skip
    if found.deadline == done.deadline_before:
        flash(
            _("The deadline stays %(date)s, so nothing was sent to the customer.",
              date=format_day(found.deadline)),
            "info",
        )  # fmt: skip
    else:
        _told(
            done.outbox_ids,
            _("The deadline moved from %(before)s to %(after)s. The customer was told the new"
              " deadline.",
              before=format_day(done.deadline_before), after=format_day(found.deadline)),
            found,
        )  # fmt: skip
    if done.extension_dropped:
        flash(
            _("The extension no longer counts: the customer was told of it more than one month"
              " after the corrected date received, later than the law allows (GDPR art. 12(3)).")
            if not found.extension_months
            else _("Only the first extension, by 1 further month, still counts: the customer was"
                   " told of the second more than one month after the corrected date received,"
                   " later than the law allows (GDPR art. 12(3))."),
            "warning",
        )  # fmt: skip
    _warn_deadline(found, entered=False)
    return _back(found)


def _step_with_reason(
    reference: str,
    form_class: type[Any],
    form_key: str,
    run: Callable[[DataRequest, Any], list[int]],
    told: str | Callable[[DataRequest], str],
) -> Any:
    """A step that needs a valid form and mails the customer (``told`` is flashed then; a
    callable gets the request as it was before the step)."""
    found = _found(reference)
    form = form_class()
    if not form.validate_on_submit():
        return _invalid(found, form_key, form)
    if callable(told):
        told = told(found)
    try:
        outbox = run(found, form)
    except RequestError as exc:
        return _step_error(found, exc)
    db.session.commit()
    _send(outbox)
    _told(outbox, told, found)
    return _back(found)


@bp.post("/verzoeken/<reference>/weigeren")
@_keeps("refuse_form", RefuseForm)
@staff_required
def refuse(reference: str) -> Any:
    return _step_with_reason(
        reference, RefuseForm, "refuse_form",
        lambda found, form: queue.refuse(found, form.refuse_reason.data, staff_id=_me().id),
        lambda found: (
            _("The objection to the other purposes was refused; direct marketing stays stopped."
              " The customer was told both, and why.")
            if dsr.mixed_objection(found)
            else _("The request was refused. The customer was told why.")
        ),
    )  # fmt: skip


@bp.post("/verzoeken/<reference>/beperking-opheffen")
@_keeps("lift_form", LiftRestrictionForm)
@staff_required
def lift_restriction(reference: str) -> Any:
    """Announce the end of a restriction in force: the customer is told now, with the reason,
    and it ends :data:`~portal.dsr.services.LIFT_NOTICE_DAYS` later (art. 18(3))."""
    from ..customer.texts import format_day

    return _step_with_reason(
        reference, LiftRestrictionForm, "lift_form",
        lambda found, form: dsr.lift_restriction(
            found, form.lift_reason.data, staff_id=_me().id
        ),
        lambda found: _(
            "The customer was told why the restriction ends, and that we use the data again"
            " from %(date)s. Until then it stays in force.",
            date=format_day(firm_today() + timedelta(days=dsr.LIFT_NOTICE_DAYS)),
        ),
    )  # fmt: skip


@bp.post("/verzoeken/<reference>/afsluiten")
@_keeps("close_form", CloseForm)
@staff_required
def close(reference: str) -> Any:
    found = _found(reference)
    form = CloseForm()
    if not form.validate_on_submit():
        return _invalid(found, "close_form", form)
    me = _me()
    try:
        closed = queue.close_request(
            found, form.closing_message.data, staff=me,
            override_reason=form.override_reason.data if me.is_officer else None,
            recipients_told=bool(form.recipients_told.data),
        )  # fmt: skip
    except RequestError as exc:
        return _step_error(found, exc)
    anonymised = found.anonymised_at is not None  # the erasure that made the portal forget
    db.session.commit()
    _send(closed.outbox_ids)
    if not closed.outbox_ids:
        _tell_by_post()  # a letter writer without an e-mail address
    if closed.forgotten and anonymised:
        flash(
            _("The request is closed. The portal has forgotten the person; only this anonymised"
              " record of the request stays."),
            "success",
        )  # fmt: skip
    elif closed.forgotten:
        flash(
            _("The request is closed and the customer was told. They had asked to erase all"
              " their data and nothing else of theirs is open, so the portal has now forgotten"
              " them."),
            "success",
        )  # fmt: skip
    elif closed.kept == "unfinished":
        flash(
            _("The request is closed and the customer was told. The portal forgets the person"
              " when their other requests are finished and every change at the sources is"
              " confirmed."),
            "success",
        )  # fmt: skip
    elif closed.kept == "not_erased":
        flash(
            _("The request is closed without erasing everything at the sources, so the portal"
              " has not forgotten the person."),
            "warning",
        )  # fmt: skip
    elif closed.outbox_ids:
        flash(_("The request is closed. The customer was told."), "success")
    return _back(found)


@bp.post("/verzoeken/<reference>/goedkeuren")
@_keeps_button
@staff_required
def approve_correction(reference: str) -> Any:
    found = _found(reference)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        ids = queue.approve_correction(found, staff_id=_me().id)
    except RequestError as exc:
        return _step_error(found, exc)
    db.session.commit()
    actions.enqueue(ids)
    flash(_("The corrections are being written back. Their state is shown below."), "success")
    return _back(found, "actions")


@bp.post("/verzoeken/<reference>/wissen")
@_keeps_button
@staff_required
def carry_out_erasure(reference: str) -> Any:
    found = _found(reference)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        ids = queue.carry_out_erasure(found, staff_id=_me().id)
    except RequestError as exc:
        return _step_error(found, exc)
    db.session.commit()
    actions.enqueue(ids)
    flash(_("The erasure is being carried out. The state per record is shown below."), "success")
    return _back(found, "actions")


def _action_of(found: DataRequest, action_id: int) -> RequestAction:
    action = db.session.get(RequestAction, action_id)
    if action is None or action.request_id != found.id:
        abort(404)
    return action


@bp.post("/verzoeken/<reference>/acties/<int:action_id>/opnieuw")
@_keeps_button
@staff_required
def retry_action(reference: str, action_id: int) -> Any:
    found = _found(reference)
    action = _action_of(found, action_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        actions.retry(action, staff_id=_me().id)
    except ValueError:
        return _render(found, status=409, extra_error=_("This change cannot be retried now."))
    db.session.commit()
    actions.enqueue([action.id])
    flash(_("The change was tried again. Its state is shown below."), "success")
    return _back(found, "actions")


@bp.post("/verzoeken/<reference>/acties/<int:action_id>/bevestigen")
@_keeps_button
@staff_required
def confirm_action(reference: str, action_id: int) -> Any:
    found = _found(reference)
    action = _action_of(found, action_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        actions.confirm_by_hand(action, staff_id=_me().id)
    except actions.WaitsForBelow as exc:
        return _render(found, status=409, extra_error=waits_for_below(exc.count))
    except ValueError:
        return _render(found, status=409, extra_error=_("This change cannot be confirmed now."))
    db.session.commit()
    flash(_("You confirmed that the change was made."), "success")
    return _back(found, "actions")


def waits_for_below(count: int) -> str:
    """Why a change by hand waits for ``count`` actions below it
    (:func:`.actions.unsettled_below`), on the request page and when it is confirmed early."""
    return ngettext(
        "Wait until the change to the record below it is done: the system finds that record"
        " through this one. Then make this change.",
        "Wait until the %(num)d changes to records below it are done: the system finds those"
        " records through this one. Then make this change.",
        count,
    )


def _keep_until_again(reference: str, action_id: int) -> tuple[str, int]:
    """The request page again with the date typed for one kept record."""
    found = _found(reference)
    action = _action_of(found, action_id)
    return _render(found, keep_form=KeepUntilForm(), keep_error_for=action.id)


@bp.post("/verzoeken/<reference>/acties/<int:action_id>/bewaren-tot")
@keeps_staff_input(_keep_until_again, form=lambda reference, action_id: KeepUntilForm)
@staff_required
def keep_until_action(reference: str, action_id: int) -> Any:
    """Record until when a kept record must be kept, once staff checked it (its date could
    not be read from the record); also on a finished request, as the deletion is owed."""
    found = _found(reference)
    action = _action_of(found, action_id)
    form = KeepUntilForm()
    if not form.validate_on_submit() or form.keep_until.data is None:
        # the date typed stays in its field, with the error next to it and in the summary
        errors = [(f"keep-until-{action.id}", str(e)) for e in form.keep_until.errors[:1]]
        return _render(found, status=400, keep_form=form, keep_error_for=action.id, errors=errors)
    try:
        outbox = queue.date_kept(found, action, form.keep_until.data, staff_id=_me().id)
    except ValueError:
        return _render(found, status=409, extra_error=_("This date cannot be set now."))
    db.session.commit()
    _send(outbox)
    _told(
        outbox,
        _("Saved, and the customer was told the date. The record becomes a step to delete it"
          " the day after that date."),
    )  # fmt: skip
    return _back(found, "actions")


# --- a request received by post, e-mail or phone --------------------------------------------

#: Legal bases as staff name them, after a purpose's name on the form.
BASIS_NAMES = {
    LegalBasis.CONSENT: _l("consent"),
    LegalBasis.CONTRACT: _l("contract"),
    LegalBasis.LEGAL_OBLIGATION: _l("legal obligation"),
    LegalBasis.VITAL_INTERESTS: _l("vital interests"),
    LegalBasis.PUBLIC_TASK: _l("public task"),
    LegalBasis.LEGITIMATE_INTERESTS: _l("legitimate interest"),
}


def purpose_label(purpose: Purpose, locale: str) -> str:
    """A purpose's name with its own legal basis, and "direct marketing" where it is, e.g.
    "Newsletter (consent, direct marketing)"."""
    notes = [str(BASIS_NAMES[purpose.legal_basis])]
    if purpose.direct_marketing:
        notes.append(_("direct marketing"))
    return f"{purpose.name.get(locale)} ({', '.join(notes)})"


def _new_form() -> NewRequestForm:
    form = NewRequestForm()
    form.kind.choices = [SelectChoice(k.value, staff_kind_name(k.value)) for k in RequestKind]
    locale = _locale()
    policy = current_policy()
    form.sources.choices = [SelectChoice(s.key, s.name.get(locale)) for s in policy.sources]
    for kind, field in form.purpose_fields().items():
        field.choices = [
            SelectChoice(p.key, purpose_label(p, locale)) for p in PURPOSE_KINDS[kind](policy)
        ]
    return form


#: A request entered this close to its deadline (days) gets a warning.
DEADLINE_WARNING_DAYS = 5


def _warn_deadline(found: DataRequest, *, entered: bool = True) -> None:
    """Warn staff when a request they entered late (received days ago), or whose date received
    they corrected (``entered`` False), is past its legal deadline, or close to it."""
    from ..customer.texts import format_day

    left = dsr.days_left(found)
    day = format_day(found.deadline)
    if left < 0 and entered:
        flash(
            ngettext("The legal deadline of this request was %(date)s: it is %(num)d day"
                     " overdue. Answer as soon as possible; the receipt tells the customer so.",
                     "The legal deadline of this request was %(date)s: it is %(num)d days"
                     " overdue. Answer as soon as possible; the receipt tells the customer so.",
                     -left, date=day),
            "error",
        )  # fmt: skip
        return
    if left < 0:
        flash(
            ngettext("The legal deadline of this request was %(date)s: it is %(num)d day"
                     " overdue. Answer as soon as possible.",
                     "The legal deadline of this request was %(date)s: it is %(num)d days"
                     " overdue. Answer as soon as possible.",
                     -left, date=day),
            "error",
        )  # fmt: skip
        return
    if left > DEADLINE_WARNING_DAYS:
        return
    when = (
        _("The legal deadline of this request is today, %(date)s.", date=day)
        if left == 0
        else ngettext("The legal deadline of this request is %(date)s: %(num)d day left.",
                      "The legal deadline of this request is %(date)s: %(num)d days left.",
                      left, date=day)
    )  # fmt: skip
    advice = (
        _("Answer before then, or extend the deadline now and tell the customer why.")
        if left > 0 and dsr.extension_possible(found) and not dsr.unconditional(found)
        else _("Answer in time.")
    )
    flash(f"{when} {advice}", "warning")


def _no_receipt_sent(found: DataRequest) -> None:
    """No e-mail address is known for the person who asked: staff send the receipt."""
    from ..customer.texts import format_day

    flash(
        _("No e-mail address is known for this person, so no receipt was sent: confirm by"
          " post or phone that we received the request, with its reference %(reference)s and"
          " the deadline %(deadline)s.",
          reference=found.reference, deadline=format_day(found.deadline)),
        "error",
    )  # fmt: skip
    _note_how_told(found)


def _new_request_again() -> tuple[str, int]:
    """The form to enter a request again, with what was typed (and its key, so that the
    request is entered once however often it is sent)."""
    form = _new_form()
    form.ensure_key()
    return render_template("backoffice/new_request.html", form=form, errors=[]), 200


@bp.route("/verzoeken/nieuw", methods=["GET", "POST"])
@keeps_staff_input(_new_request_again, form=lambda: NewRequestForm)
@staff_required
def new_request() -> Any:
    """Enter a request received by post, e-mail or phone."""
    form = _new_form()
    key = form.ensure_key()
    if request.method == "POST":
        if form.validate_on_submit():
            result = queue.enter_request(
                kind=RequestKind(form.kind.data),
                channel=RequestChannel(form.channel.data),
                received_on=form.received_on.data,
                name=form.name.data,
                email=form.email.data or None,
                address=form.address.data or None,
                phone=form.phone.data or None,
                identity_verification=form.identity_verification.data,
                identity_note=form.identity_note.data or None,
                text=form.text.data,
                subject=form.subject.data or None,
                sources=form.sources.data or [],
                purposes=form.chosen_purposes(),
                locale=form.locale.data,
                staff_id=_me().id,
                idempotency_key=key,
            )
            db.session.commit()
            if not result.created:
                flash(
                    _("This request was entered already as %(reference)s; it was not entered"
                      " twice.", reference=result.request.reference),
                    "info",
                )  # fmt: skip
                return _back(result.request)
            _send(result.outbox_ids)
            flash(
                _("The request %(reference)s was entered.", reference=result.request.reference),
                "success",
            )
            _warn_deadline(result.request)
            if not result.outbox_ids:
                _no_receipt_sent(result.request)
            return _back(result.request)
        if form.errors.get("csrf_token"):
            abort(400)
        return render_template(
            "backoffice/new_request.html", form=form, errors=_form_errors(form)
        ), 400
    return render_template("backoffice/new_request.html", form=form, errors=[])
