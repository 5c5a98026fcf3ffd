"""Forms of the request queue and the request page. Messages are English ids, shown translated.

Every form is a :class:`~flask_wtf.FlaskForm`, so every POST carries the CSRF token.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..dsr.forms import RequestForm
from ..dsr.services import consent_purposes, objectable_purposes
from ..models import RequestKind
from ..policy import current_policy
from ..settings import firm_today
from .queue import MAX_RECEIVED_AGE

MESSAGE_MAX = 4000


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _message(label: str, required: str) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            DataRequired(message=required),
            Length(max=MESSAGE_MAX, message=_l("Use at most 4000 characters")),
        ],
        filters=[_strip],
    )


class DayField(DateField):
    """A date typed as ``YYYY-MM-DD`` (the browser's date input), with our own message."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Enter a real date, for example 2026-01-31")) from exc


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class QueueFilterForm(FlaskForm):
    """The queue's filters: a GET form, so no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    kind = SelectField(_l("Kind"), default="")
    status = SelectField(_l("Status"), default="open")
    assignee = SelectField(_l("Assigned to"), default="anyone")
    due = SelectField(_l("Deadline"), default="")


class AssignForm(FlaskForm):
    assignee = SelectField(
        _l("Assign to"), validators=[InputRequired(message=_l("Choose a staff member"))]
    )


class NoteForm(FlaskForm):
    note = _message(_l("Internal note"), _l("Enter the note"))


class AskInformationForm(FlaskForm):
    question = _message(_l("What do you need from the customer?"), _l("Enter your question"))


class RecordAnswerForm(FlaskForm):
    """The customer's answer to staff's question, received by post, e-mail or phone."""

    answer = _message(
        _l("Their answer, as it reached us"), _l("Enter their answer, or what it says")
    )


class ExtendForm(FlaskForm):
    months = RadioField(
        _l("Extend by how much in all?"),
        choices=[
            SelectChoice("1", _l("1 further month")),
            SelectChoice("2", _l("2 further months")),
        ],
        validators=[InputRequired(message=_l("Choose by how many months"))],
    )
    extend_reason = _message(
        _l("Why do you need more time?"), _l("Enter the reason for the extension")
    )


class RefuseForm(FlaskForm):
    refuse_reason = _message(
        _l("Why do you refuse the request?"), _l("Enter the reason for refusing")
    )


class LiftRestrictionForm(FlaskForm):
    lift_reason = _message(
        _l("Why may the data be used again?"), _l("Enter why the restriction ends")
    )


class CloseForm(FlaskForm):
    recipients_told = BooleanField(
        _l(
            "We told the recipients listed above of this change, or doing so proved impossible"
            " or would take disproportionate effort"
        )
    )
    closing_message = TextAreaField(
        _l("Message to the customer (optional)"),
        validators=[
            Optional(),
            Length(max=MESSAGE_MAX, message=_l("Use at most 4000 characters")),
        ],
        filters=[_strip],
    )
    override_reason = TextAreaField(
        _l("Close anyway: why (privacy officer only)"),
        validators=[
            Optional(),
            Length(max=MESSAGE_MAX, message=_l("Use at most 4000 characters")),
        ],
        filters=[_strip],
    )


class ActionForm(FlaskForm):
    """A button and nothing else (the CSRF token): start, approve, retry, confirm."""


class KeepUntilForm(FlaskForm):
    """The date until which the law requires keeping a record, once staff checked it.

    Not a day in the past: the customer is told "kept until" that day, and a kept record is
    deleted the day after its date (:func:`portal.retention.due_kept`). A record whose
    retention has ended already is kept until today, and so deleted tomorrow."""

    keep_until = DayField(
        _l("Kept until (the date you checked)"),
        validators=[InputRequired(message=_l("Enter the date until which we must keep it"))],
    )

    def validate_keep_until(self, field: DateField) -> None:
        if field.data is not None and field.data < firm_today():
            raise ValidationError(
                _l(
                    "The date cannot be in the past. If the law no longer requires us to keep"
                    " this record, enter today's date: the record becomes a step to delete it"
                    " tomorrow."
                )
            )


class CorrectReceivedOnForm(FlaskForm):
    """A privacy officer corrects the day a request staff entered was received. The view sets
    :attr:`bounds` and :attr:`current` from the request before validating."""

    corrected_received_on = DayField(
        _l("Date it was really received"),
        validators=[InputRequired(message=_l("Enter the date the request was received"))],
    )
    correction_reason = _message(
        _l("Why was the date wrong?"), _l("Enter why the date received was wrong")
    )

    #: The first and last day allowed (:func:`portal.dsr.services.received_on_bounds`).
    bounds: tuple[date, date] | None = None
    #: The day received as recorded now.
    current: date | None = None

    def validate_corrected_received_on(self, field: DateField) -> None:
        from ..customer.texts import format_day

        if field.data is None or self.bounds is None:
            return
        earliest, latest = self.bounds
        if field.data > latest:
            if latest >= firm_today():
                raise ValidationError(_l("The date received cannot be in the future"))
            raise ValidationError(
                _l(
                    "The date received cannot be after %(date)s, the day the request was entered",
                    date=format_day(latest),
                )
            )
        if field.data < earliest:
            raise ValidationError(
                _l(
                    "The date received cannot be before %(date)s: at most 3 months before the"
                    " request was entered",
                    date=format_day(earliest),
                )
            )
        if field.data == self.current:
            raise ValidationError(
                _l("This is the date received already: enter the date it was really received")
            )


class ReferenceSearchForm(FlaskForm):
    """Find a request by its reference: a GET form, so no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    reference = StringField(
        _l("Reference"),
        validators=[Length(max=40, message=_l("A reference is shorter: check what you typed"))],
        filters=[_strip],
    )


#: The kinds of request that are about purposes, and the policy's purposes each may name.
PURPOSE_KINDS = {
    RequestKind.OBJECTION.value: objectable_purposes,
    RequestKind.WITHDRAW_CONSENT.value: consent_purposes,
}


class NewRequestForm(RequestForm):
    """A request received by post, e-mail or phone. Its hidden one-time ``key`` (made when the
    form is first shown) makes the same form sent twice enter one request."""

    channel = RadioField(
        _l("How did the request reach us?"),
        choices=[
            SelectChoice("post", _l("By post")),
            SelectChoice("email", _l("By e-mail")),
            SelectChoice("phone", _l("By phone")),
        ],
        validators=[InputRequired(message=_l("Choose how the request reached us"))],
    )
    received_on = DayField(
        _l("Date received"),
        validators=[InputRequired(message=_l("Enter the date the request was received"))],
    )
    kind = RadioField(
        _l("What do they ask?"),
        validators=[InputRequired(message=_l("Choose what they ask"))],
    )
    name = StringField(
        _l("Name of the person who asks"),
        validators=[
            DataRequired(message=_l("Enter the name")),
            Length(max=200, message=_l("Use at most 200 characters")),
        ],
        filters=[_strip],
    )
    email = StringField(
        _l("E-mail address (optional)"),
        validators=[
            Optional(),
            Length(max=254, message=_l("An e-mail address has at most 254 characters")),
            Email(message=_l("Enter an e-mail address like name@example.nl")),
        ],
        filters=[_strip],
    )
    address = TextAreaField(
        _l("Postal address (optional)"),
        validators=[Optional(), Length(max=500, message=_l("Use at most 500 characters"))],
        filters=[_strip],
    )
    phone = StringField(
        _l("Phone number (optional)"),
        validators=[Optional(), Length(max=40, message=_l("Use at most 40 characters"))],
        filters=[_strip],
    )
    identity_verification = RadioField(
        _l("How did you verify who they are?"),
        choices=[
            SelectChoice(
                "known_email", _l("They wrote from, or answered at, an e-mail address we know")
            ),
            SelectChoice("id_document_seen", _l("We saw a copy of their ID and did not keep it")),
            SelectChoice(
                "customer_and_invoice_number", _l("They gave their customer and invoice number")
            ),
            SelectChoice("known_in_person", _l("We know them in person or by phone")),
            SelectChoice("other", _l("Another way (explain below)")),
        ],
        validators=[InputRequired(message=_l("Choose how you verified who they are"))],
    )
    identity_note = StringField(
        _l("How, in a few words"),
        validators=[Optional(), Length(max=300, message=_l("Use at most 300 characters"))],
        filters=[_strip],
    )
    subject = StringField(
        _l("Subject (for a question)"),
        validators=[Optional(), Length(max=200, message=_l("Use at most 200 characters"))],
        filters=[_strip],
    )
    text = _message(_l("What do they ask, in their words"), _l("Enter what they ask"))
    sources = MultiCheckboxField(_l("Only these systems (leave empty for all)"), default=[])
    #: One group per kind about purposes (:data:`PURPOSE_KINDS`): a purpose that is both
    #: objectable and on consent (a newsletter) is in both, each group with its own meaning.
    objection_purposes = MultiCheckboxField(
        _l("For an objection: what do they object to?"), default=[], validate_choice=False
    )
    consent_purposes = MultiCheckboxField(
        _l("For a withdrawal of consent: for what do they withdraw it?"),
        default=[],
        validate_choice=False,
    )
    locale = RadioField(
        _l("Language for the answer"),
        choices=[SelectChoice("nl", "Nederlands"), SelectChoice("en", "English")],
        default="nl",
        validators=[InputRequired(message=_l("Choose the language for the answer"))],
    )

    def validate_received_on(self, field: DateField) -> None:
        if field.data is None:
            return
        today = firm_today()
        if field.data > today:
            raise ValidationError(_l("The date received cannot be in the future"))
        if field.data < today - MAX_RECEIVED_AGE:
            raise ValidationError(_l("The date received can be at most 3 months ago"))

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.identity_verification.data == "other" and not self.identity_note.data:
            self.identity_note.errors = [_l("Explain how you verified who they are")]
            valid = False
        # an objection or a withdrawal of consent is about purposes of the policy, each from
        # its own group; a purpose ticked in the other group (or for another kind) is a mistake
        # to show, not to drop in silence
        for kind, field in self.purpose_fields().items():
            chosen = set(field.data or [])
            if kind != self.kind.data:
                if chosen and self.kind.data:
                    field.errors = [self.OTHER_KIND_ERRORS[kind]]
                    valid = False
                continue
            allowed = {purpose.key for purpose in PURPOSE_KINDS[kind](current_policy())}
            if not chosen:
                field.errors = [self.MISSING_ERRORS[kind]]
                valid = False
            elif not chosen <= allowed:
                field.errors = [_l("Choose from the list")]
                valid = False
        return valid

    #: The error for purposes left empty, by kind.
    MISSING_ERRORS = {
        RequestKind.OBJECTION.value: _l("Choose what they object to"),
        RequestKind.WITHDRAW_CONSENT.value: _l("Choose what they withdraw their consent for"),
    }
    #: The error for purposes ticked in a group that does not fit the chosen kind.
    OTHER_KIND_ERRORS = {
        RequestKind.OBJECTION.value: _l(
            "These purposes are for an objection only, and this request is not one: untick"
            " them, or choose the objection as what they ask"
        ),
        RequestKind.WITHDRAW_CONSENT.value: _l(
            "These purposes are for a withdrawal of consent only, and this request is not one:"
            " untick them, or choose the withdrawal of consent as what they ask"
        ),
    }

    def purpose_fields(self) -> dict[str, MultiCheckboxField]:
        """The purpose group of each kind about purposes."""
        return {
            RequestKind.OBJECTION.value: self.objection_purposes,
            RequestKind.WITHDRAW_CONSENT.value: self.consent_purposes,
        }

    def chosen_purposes(self) -> list[str]:
        """The purposes of the group that fits the chosen kind (empty for other kinds)."""
        field = self.purpose_fields().get(self.kind.data or "")
        return list(field.data or []) if field is not None else []


class ApproveIdentifierForm(FlaskForm):
    """A button and nothing else (the CSRF token): the number is the customer's."""


class RejectIdentifierForm(FlaskForm):
    """Why the number is not accepted: optional, mailed to the customer as typed."""

    reject_reason = TextAreaField(
        _l("Reason for the customer (optional)"),
        validators=[Optional(), Length(max=MESSAGE_MAX, message=_l("Use at most 4000 characters"))],
        filters=[_strip],
    )
