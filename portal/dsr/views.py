"""The customer's request pages (blueprint ``requests``, under ``/verzoeken``).

Every kind goes form -> check page -> send -> confirmation. The form carries a random
idempotency key through the check page, so a double click or a resent form finds the request it
already made. The request is committed *before* the confirmation is shown; when the commit
fails the customer is told, with a 503, that nothing was received and what they typed is still
there to send again. Every route with a reference goes through
:func:`portal.dsr.services.request_of`: another customer's request is "not found".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from .. import crypto
from ..extensions import db, limiter
from ..kept_input import BUTTON, keeps_input
from ..policy import current_policy
from ..tasks import enqueue_mail
from . import duplicates, services
from .flows import (
    BY_SLUG,
    FLOWS,
    Context,
    CorrectionFlow,
    Flow,
    describe,
    error_list,
    restricted_data,
    stored,
)
from .forms import AddInformationForm, ConfirmForm, new_key
from .services import RequestError
from .texts import KIND_EXPLANATIONS, PARTLY_REFUSED, event_name, kind_name, status_name

bp = Blueprint("requests", __name__, url_prefix="/verzoeken")

#: Requests a customer can send, so that a script cannot flood staff. ``DSR_SUBMIT_LIMIT`` in
#: the app config overrides it.
SUBMIT_LIMIT = "20 per hour"


def _submit_limit() -> str:
    return str(current_app.config.get("DSR_SUBMIT_LIMIT", SUBMIT_LIMIT))


def _customer_key() -> str:
    """Rate-limit key of the signed-in customer: their number, so that signing in again (a new
    session) starts no new count. Never ``get_id()``: that is the session's secret token."""
    return f"customer:{current_user.id if current_user.is_authenticated else 'anonymous'}"


def _locale() -> str:
    return str(get_locale() or "nl")


@bp.app_context_processor
def _helpers() -> dict[str, object]:
    # App-wide: the e-mail templates are also rendered from staff pages and tasks.
    from ..customer.texts import format_day

    return {
        "request_day": format_day,
        "request_kind_name": kind_name,
        "request_status_name": status_name,
        "request_event_name": event_name,
        "request_rows": _rows,
        "request_unconditional": services.unconditional,
        "request_mixed_objection": services.mixed_objection,
        "request_overdue": _overdue,
        "request_marketing_names": _marketing_names,
        "request_weighed_names": _weighed_names,
        "request_marketing_stopped": _marketing_stopped,
        "request_status_label": _status_label,
        "request_restriction_in_force": services.restriction_in_force,
        "request_restriction_ends_on": services.restriction_ends_on,
        "request_restricted_data": _restricted_data,
    }


@bp.app_template_filter("fromiso")
def _fromiso(value: str) -> date:
    """An ISO date string (as stored in a request's details) as a date."""
    return date.fromisoformat(value)


def _overdue(found: Any) -> bool:
    """Whether the request's legal deadline has passed (one staff entered late)."""
    return bool(services.days_left(found) < 0)


def _marketing_names(found: Any) -> str:
    """The direct-marketing purposes an objection names, in the current language."""
    return ", ".join(services.purpose_names(services.direct_marketing_objected(found), _locale()))


def _weighed_names(found: Any) -> str:
    """The other purposes an objection names (weighed), in the current language."""
    return ", ".join(services.purpose_names(services.weighed_objected(found), _locale()))


def _marketing_stopped(found: Any) -> str:
    """The direct-marketing purposes this objection stopped, in the current language; empty
    when it stopped none."""
    return ", ".join(services.purpose_names(services.direct_marketing_stopped(found), _locale()))


def _restricted_data(found: Any) -> str:
    """Which data a restriction covers, in the current language ("all your data", or the
    kinds of data or systems it names)."""
    return restricted_data(found.scope or {}, current_policy(), _locale())


def _status_label(found: Any) -> str:
    """The request's status as the customer reads it: "Partly refused" for an objection whose
    direct marketing was stopped and the rest refused."""
    if services.partly_refused(found):
        return str(PARTLY_REFUSED)
    return status_name(found.status)


def _rows(found: Any) -> list[Any]:
    return describe(
        found.kind, found.scope, services.details_of(found), current_policy(), _locale(),
        finished=found.status == "done",
    )  # fmt: skip


def _context() -> Context:
    return Context(current_policy(), _locale(), current_user)


def _offered(flow: Flow) -> None:
    if flow.kind not in services.offered_kinds(current_policy()):
        abort(404)


@bp.app_template_global("request_offered")
def request_offered(kind: str) -> bool:
    """Whether the firm's policy lets customers ask for ``kind`` (a :class:`RequestKind`
    value) here: pages link to a request form only then."""
    offered = g.get("requests_offered")
    if offered is None:  # once per page: a long list asks for every field
        offered = g.requests_offered = {k.value for k in services.offered_kinds(current_policy())}
    return kind in offered


def _mine(reference: str) -> Any:
    """The signed-in customer's request, or 404 (also for another customer's)."""
    found = services.request_of(current_user, reference)
    if found is None:
        # The same page whether the reference exists or not: it tells nobody anything. A
        # customer who had all their data erased lands here from their last e-mails.
        abort(make_response(render_template("dsr/request_not_found.html"), 404))
    return found


# --- list and start -------------------------------------------------------------------------


@bp.get("/")
@login_required
def index() -> str:
    """Mijn verzoeken: every request of the customer, newest first."""
    return render_template(
        "dsr/index.html",
        requests=services.requests_of(current_user),
        days_left=services.days_left,
        offered=bool(services.offered_kinds(current_policy())),
    )


@bp.get("/nieuw")
@login_required
def new() -> str:
    """The start page: the kinds the firm's policy offers, each in one sentence."""
    kinds = services.offered_kinds(current_policy())
    return render_template(
        "dsr/new.html",
        choices=[(FLOWS[k], KIND_EXPLANATIONS[k]) for k in kinds if k in FLOWS],
    )


# --- the forms ------------------------------------------------------------------------------


def _render_form(flow: Flow, form: Any, ctx: Context, *, show_errors: bool, status: int = 200):  # type: ignore[no-untyped-def]
    errors = error_list(form) if show_errors else []
    return (
        render_template(
            flow.template,
            flow=flow,
            form=form,
            errors=errors,
            items=list(zip(getattr(form, "items", []), ctx.choices, strict=False)),
            policy=ctx.policy,
            today=ctx.today,
            # the customer's open requests of this kind: named on the form, with a link each
            open_requests=duplicates.open_of_kind(ctx.customer, flow.kind),
        ),
        status,
    )


def _render_check(
    flow: Flow, form: Any, ctx: Context, scope: dict[str, list[str]], details: dict[str, Any],
    *, failed: bool = False, same: Any = None, status: int = 200, changed: bool = False,
):  # type: ignore[no-untyped-def]  # fmt: skip
    rows = describe(flow.kind, scope, details, ctx.policy, ctx.locale)
    return (
        render_template(
            "dsr/check.html",
            flow=flow,
            form=form,
            rows=rows,
            details=details,
            failed=failed,
            changed=changed,
            shown=_shown(details),
            same=same,
            same_days_left=services.days_left(same) if same is not None else None,
        ),
        503 if failed else status,
    )


def _shown(details: Mapping[str, Any]) -> str | None:
    """A fingerprint of what the check page tells the customer will happen (an erasure's
    preview), sent back with it: the stored request holds what they saw, or they see the
    new one first."""
    if "preview" not in details:
        return None
    text = json.dumps(details["preview"], sort_keys=True, ensure_ascii=False, default=str)
    return crypto.keyed_hash("dsr-check-shown", text)


def _form_view(flow: Flow) -> Any:
    _offered(flow)
    ctx = _context()
    form = flow.form(ctx)
    form.ensure_key()
    if request.method == "GET":
        found = flow.start(form, ctx)
        db.session.commit()  # a live gathering is kept for the next page
        if not found:
            return render_template("dsr/not_found.html"), 404
        return _render_form(flow, form, ctx, show_errors=False)
    if ctx.unchecked:
        return _not_checked(ctx)
    step = request.form.get("step", "check")
    if step in ("change", "add"):
        # The customer changes what they ask: a new key, so that sending the changed request
        # (even after sending the first one and coming back) makes it, and a double click of
        # that makes it once. Unchanged, the check page resent keeps its key: one request.
        form.key.data = new_key()
    if step == "change":
        db.session.commit()
        return _render_form(flow, form, ctx, show_errors=False)
    if step == "add" and isinstance(flow, CorrectionFlow):
        added = flow.add(form, ctx)  # type: ignore[arg-type]
        db.session.commit()
        return _render_form(flow, form, ctx, show_errors=not added)
    if _nothing_left(flow, form):
        return _gone()
    if not flow.validate(form, ctx):
        db.session.commit()
        return _render_form(flow, form, ctx, show_errors=True)
    scope, details = flow.submission(form, ctx)
    # An open request that already asks all this one does: the check page offers it, and
    # sending needs a confirmation (see send).
    same = duplicates.already_asked(
        current_user, flow.kind, scope, stored(details), key=form.key.data
    )
    db.session.commit()
    return _render_check(flow, form, ctx, scope, details, same=same)


def _nothing_left(flow: Flow, form: Any) -> bool:
    """A correction whose every field was dropped: the records are gone from the customer's
    data (changed at the source since), or were never theirs. There is nothing to ask."""
    return isinstance(flow, CorrectionFlow) and not form.items.entries


def _not_checked(ctx: Context) -> tuple[str, int, dict[str, str]]:
    """A correction of data in systems that did not answer just now: not sent, nor dropped
    from it (the customer goes back to the page with it and sends it again later)."""
    db.session.commit()  # a live gathering is kept for the next page
    names = {s.key: s.name.get(ctx.locale) for s in ctx.policy.sources}
    systems = [names.get(key) or key for key in ctx.unchecked]
    return render_template("dsr/not_checked.html", systems=systems), 503, {"Retry-After": "60"}


def _gone() -> tuple[str, int]:
    db.session.commit()  # a live gathering is kept for the next page
    return render_template("dsr/not_found.html"), 404


# --- a form sent after its page expired (portal.kept_input) ---------------------------------


def _form_again(slug: str) -> Any:
    """A request form again, filled in from what was posted to it, to its send route (from
    the check page), or from the signed-out page; nothing is checked or sent."""
    flow = BY_SLUG.get(slug)
    if flow is None:
        abort(404)
    _offered(flow)
    ctx = _context()
    form = flow.form(ctx)
    form.ensure_key()
    if _nothing_left(flow, form):
        return _gone()
    db.session.commit()  # a live gathering is kept for the next page
    return _render_form(flow, form, ctx, show_errors=False)


def _flow_form(slug: str) -> Any:
    flow = BY_SLUG.get(slug)
    return flow.form_class if flow is not None else None


def _keeps_flow(slug: str) -> Any:
    return keeps_input(lambda: _form_again(slug), form=lambda: _flow_form(slug))


def _answer_again(reference: str) -> Any:
    """The request's page again with the answer the customer typed."""
    found = _mine(reference)
    if found.status_enum is not services.RequestStatus.WAITING_FOR_CUSTOMER:
        return _render_detail(found, AddInformationForm(formdata=None), 409)
    return _render_detail(found, AddInformationForm())


def _withdraw_again(reference: str) -> Any:
    """The confirmation page of withdrawing again, for a new press of its button."""
    found = _mine(reference)
    status = 409 if found.status_enum.final else 200
    return render_template("dsr/withdraw.html", req=found, form=ConfirmForm()), status


@bp.route("/nieuw/correctie", methods=["GET", "POST"])
@_keeps_flow("correctie")
@login_required
def new_correction() -> Any:
    """Art. 16: correct one or more fields of the customer's own records."""
    return _form_view(BY_SLUG["correctie"])


@bp.route("/nieuw/wissen", methods=["GET", "POST"])
@_keeps_flow("wissen")
@login_required
def new_erasure() -> Any:
    """Art. 17: erase all data, or that of some systems or kinds; with a preview."""
    return _form_view(BY_SLUG["wissen"])


@bp.route("/nieuw/beperken", methods=["GET", "POST"])
@_keeps_flow("beperken")
@login_required
def new_restriction() -> Any:
    """Art. 18: restrict processing."""
    return _form_view(BY_SLUG["beperken"])


@bp.route("/nieuw/bezwaar", methods=["GET", "POST"])
@_keeps_flow("bezwaar")
@login_required
def new_objection() -> Any:
    """Art. 21: object to processing on legitimate interests."""
    return _form_view(BY_SLUG["bezwaar"])


@bp.route("/nieuw/toestemming", methods=["GET", "POST"])
@_keeps_flow("toestemming")
@login_required
def new_withdrawal() -> Any:
    """Art. 7(3): withdraw consent."""
    return _form_view(BY_SLUG["toestemming"])


@bp.route("/nieuw/vraag", methods=["GET", "POST"])
@_keeps_flow("vraag")
@login_required
def new_question() -> Any:
    """A free question to the privacy contact."""
    return _form_view(BY_SLUG["vraag"])


@bp.post("/nieuw/<slug>/versturen")
@keeps_input(_form_again, form=_flow_form)
@login_required
@limiter.limit(_submit_limit, key_func=_customer_key, scope="dsr-submit")
def send(slug: str) -> Any:
    """Send a checked request: commit first, then confirm (redirect) and hand mail to the queue."""
    flow = BY_SLUG.get(slug)
    if flow is None:
        abort(404)
    _offered(flow)
    ctx = _context()
    form = flow.form(ctx)
    key = form.ensure_key()
    if ctx.unchecked:
        return _not_checked(ctx)
    if _nothing_left(flow, form):
        return _gone()
    if not flow.validate(form, ctx):
        db.session.commit()
        return _render_form(flow, form, ctx, show_errors=True)
    scope, details = flow.submission(form, ctx)
    if _shown(details) != (request.form.get("shown") or None):
        # what would happen changed since the check page (a system answered otherwise, the
        # data changed): they see it again rather than send what they did not read
        db.session.commit()
        return _render_check(flow, form, ctx, scope, details, changed=True, status=409)
    same = duplicates.already_asked(current_user, flow.kind, scope, stored(details), key=key)
    if same is not None and request.form.get("same_as") != same.reference:
        # Not confirmed against this open request (the check page's "send anyway" names it):
        # the check page again, with it, rather than a second request nobody meant.
        db.session.commit()
        return _render_check(flow, form, ctx, scope, details, same=same, status=409)
    try:
        result = services.submit(
            current_user,
            flow.kind,
            scope=scope,
            details=stored(details),
            idempotency_key=key,
            locale=ctx.locale,
            actor_id=current_user.id,
        )
        reference = result.request.reference
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.warning("request not stored: %s", type(exc).__name__)
        return _render_check(flow, form, ctx, scope, details, failed=True)
    for outbox_id in result.outbox_ids:
        enqueue_mail(outbox_id)
    # no receipt could be queued (no address mail can go to): the page must not claim one
    unmailed = {"zonder_bon": 1} if result.created and not result.outbox_ids else {}
    return redirect(url_for("requests.received", reference=reference, **unmailed), code=303)


# --- one request ----------------------------------------------------------------------------


@bp.get("/<reference>/ontvangen")
@login_required
def received(reference: str) -> str:
    """The confirmation after sending: the reference, what happens next, the deadline."""
    found = _mine(reference)
    return render_template(
        "dsr/received.html", req=found, receipt=request.args.get("zonder_bon") != "1"
    )


@bp.get("/<reference>")
@login_required
def detail(reference: str) -> str:
    """What was asked, the status, the deadline and the history."""
    found = _mine(reference)
    return _render_detail(found, AddInformationForm(formdata=None))[0]


def _render_detail(found: Any, form: AddInformationForm, status: int = 200) -> tuple[str, int]:
    history = [(event, services.message_of(event)) for event in services.visible_history(found)]
    actions = {event.action for event, _ in history}
    return (
        render_template(
            "dsr/detail.html",
            req=found,
            rows=_rows(found),
            details=services.details_of(found),
            history=history,
            days_left=services.days_left(found),
            complaint=bool(actions & {"extended", "refused", "partly_refused"}),
            form=form,
            errors=error_list(form),
        ),
        status,
    )


@bp.post("/<reference>/aanvullen")
@keeps_input(_answer_again, form=lambda reference: AddInformationForm)
@login_required
def add_information(reference: str) -> Any:
    """The customer answers the firm's question; the request goes back to work."""
    found = _mine(reference)
    form = AddInformationForm()
    if found.status_enum is not services.RequestStatus.WAITING_FOR_CUSTOMER:
        return _render_detail(found, AddInformationForm(formdata=None), 409)
    if not form.validate_on_submit():
        return _render_detail(found, form)
    from ..backoffice.queue import tell_assignee

    try:
        services.add_information(found, str(form.text.data), actor_id=current_user.id)
    except RequestError:  # staff changed it at the same moment
        db.session.rollback()
        return _render_detail(found, AddInformationForm(formdata=None), 409)
    try:
        outbox = tell_assignee(found)  # the staff member handling it, if any
        db.session.commit()
    except SQLAlchemyError as exc:
        # as for a new request (send): not received, said so, and the answer kept
        db.session.rollback()
        current_app.logger.warning("answer not stored: %s", type(exc).__name__)
        form.text.errors = [
            _(
                "Something went wrong on our side while saving your answer. We did not"
                " receive it. Your answer is still here: please send it again in a moment."
            )
        ]
        return _render_detail(found, form, 503)
    for outbox_id in outbox:
        enqueue_mail(outbox_id)
    flash(_("Thank you for your answer. We continue with your request."), "success")
    return redirect(url_for("requests.detail", reference=found.reference), code=303)


@bp.route("/<reference>/intrekken", methods=["GET", "POST"])
@keeps_input(_withdraw_again, message=BUTTON)
@login_required
def withdraw(reference: str) -> Any:
    """Withdraw a request that is not finished: a confirmation page, then the POST does it."""
    found = _mine(reference)
    form = ConfirmForm()
    if request.method == "POST" and found.status_enum is services.RequestStatus.WITHDRAWN:
        # the button pressed twice: what the customer asked for is done, not refused
        flash(_withdrawn_message(found.reference), "success")
        return redirect(url_for("requests.detail", reference=found.reference), code=303)
    if found.status_enum.final:
        return render_template("dsr/withdraw.html", req=found, form=form), 409
    if request.method == "POST" and form.validate_on_submit():
        try:
            outbox = services.withdraw(found, actor_id=current_user.id)
        except RequestError:  # finished, or staff changed it at the same moment
            db.session.rollback()
            return render_template("dsr/withdraw.html", req=found, form=form), 409
        db.session.commit()
        for outbox_id in outbox:
            enqueue_mail(outbox_id)
        flash(_withdrawn_message(found.reference), "success")
        return redirect(url_for("requests.detail", reference=found.reference), code=303)
    return render_template("dsr/withdraw.html", req=found, form=form)


def _withdrawn_message(reference: str) -> str:
    return _(
        "You withdrew your request %(reference)s. We have stopped working on it.",
        reference=reference,
    )
