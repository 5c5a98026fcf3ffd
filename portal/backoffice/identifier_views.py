"""Numbers to check (``/beheer/nummers``): the phone and customer numbers customers added with
a proof that staff must check, oldest first, each with an approve and a reject form.

Only a privacy officer may open the list or decide: a number that is approved lets its customer
see everything the sources hold under it, so a wrong decision discloses another person's data.
An agent gets 403. Every decision is a POST form with its CSRF token, decided once (a second
submission, or a colleague's decision at the same moment, is told so and changes nothing), and
written to the audit log; the customer is mailed after the commit.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ..auth.services import DecisionError, approve_identifier, reject_identifier
from ..extensions import db
from ..kept_input import BUTTON
from ..models import CustomerIdentifier
from ..staff.decorators import current_staff, keeps_staff_input, officer_required
from ..tasks import enqueue_mail
from . import identifiers
from .blueprint import bp
from .forms import ApproveIdentifierForm, RejectIdentifierForm

__all__ = ["bp"]

#: Why a decision was not carried out, from :class:`DecisionError` codes.
DECISION_ERRORS = {
    "decided": _l(
        "This number was already approved or rejected, by you or a colleague, so nothing was"
        " changed. It is no longer in the list."
    ),
    "taken": _l(
        "This number is already confirmed for another customer, so it was not confirmed for"
        " this one. A number can belong to one customer only: reject it, or contact both"
        " customers first."
    ),
    "kind": _l("An e-mail address is confirmed by the code sent to it, not by staff."),
}


def _staff_id() -> int:
    member = current_staff()
    assert member is not None  # officer_required
    return member.id


def _page_number() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


def _render(
    *,
    status: int = 200,
    reject_form: RejectIdentifierForm | None = None,
    error_for: int | None = None,
    kept_for: int | None = None,
) -> tuple[str, int]:
    rows, page = identifiers.pending_page(_page_number(), staff_id=_staff_id())
    db.session.commit()  # the audit entry of this view
    return render_template(
        "backoffice/identifiers.html",
        rows=rows,
        page=page,
        kind_names=identifiers.KIND_NAMES,
        proof_names=identifiers.PROOF_NAMES,
        approve_form=ApproveIdentifierForm(formdata=None),
        reject_form=reject_form or RejectIdentifierForm(formdata=None),
        error_for=error_for,
        kept_for=kept_for,
    ), status


@bp.get("/nummers")
@officer_required
def identifiers_page() -> tuple[str, int]:
    """The numbers to check, the oldest first, 25 a page."""
    return _render()


def _pending_one(ident_id: int) -> CustomerIdentifier:
    ident = db.session.get(CustomerIdentifier, ident_id)
    if ident is None:
        abort(404)
    return ident


def _back() -> Response:
    return redirect(url_for("backoffice.identifiers_page", page=_page_number()), code=303)


def _refused(exc: DecisionError) -> Response:
    db.session.rollback()
    flash(str(DECISION_ERRORS[exc.code]), "error")
    return _back()


def _approve_again(ident_id: int) -> tuple[str, int]:
    """The numbers to check again, for a new press of the button to approve one."""
    _pending_one(ident_id)
    return _render()


@bp.post("/nummers/<int:ident_id>/goedkeuren")
@keeps_staff_input(_approve_again, officer=True, message=BUTTON)
@officer_required
def approve_identifier_view(ident_id: int) -> Any:
    """The proof shows the number is the customer's: confirm it and tell them."""
    if not ApproveIdentifierForm().validate_on_submit():
        abort(400)
    ident = _pending_one(ident_id)
    try:
        approve_identifier(ident, staff_id=_staff_id())
    except DecisionError as exc:
        return _refused(exc)
    outbox = identifiers.tell_customer(ident, approved=True)
    db.session.commit()
    for outbox_id in outbox:
        enqueue_mail(outbox_id)
    if outbox:
        flash(_("The number is confirmed. The customer was told by e-mail."), "success")
    else:
        flash(
            _("The number is confirmed, but the customer has no e-mail address we can write to:"
              " nobody was told."),
            "warning",
        )  # fmt: skip
    return _back()


def _reject_again(ident_id: int) -> tuple[str, int]:
    """The numbers to check again, with the reason typed for this one."""
    _pending_one(ident_id)
    return _render(reject_form=RejectIdentifierForm(), kept_for=ident_id)


@bp.post("/nummers/<int:ident_id>/afwijzen")
@keeps_staff_input(_reject_again, form=lambda ident_id: RejectIdentifierForm, officer=True)
@officer_required
def reject_identifier_view(ident_id: int) -> Any:
    """The proof does not show the number is the customer's: reject it and tell them why."""
    form = RejectIdentifierForm()
    if not form.validate_on_submit():
        if form.errors.get("csrf_token"):
            abort(400)
        _pending_one(ident_id)
        return _render(status=400, reject_form=form, error_for=ident_id)
    ident = _pending_one(ident_id)
    reason = form.reject_reason.data or ""
    try:
        reject_identifier(ident, staff_id=_staff_id(), reason_given=bool(reason))
    except DecisionError as exc:
        return _refused(exc)
    outbox = identifiers.tell_customer(ident, approved=False, reason=reason)
    db.session.commit()
    for outbox_id in outbox:
        enqueue_mail(outbox_id)
    if outbox:
        flash(_("The number is rejected. The customer was told by e-mail."), "success")
    else:
        flash(
            _("The number is rejected, but the customer has no e-mail address we can write to:"
              " nobody was told."),
            "warning",
        )  # fmt: skip
    return _back()
