"""Forms of the request pages. Error messages are English message ids, shown translated.

Every request form carries ``key``: a random idempotency key made when the form is first shown,
kept through the check page and handed to :func:`portal.dsr.services.submit`, so the same form
sent twice makes one request. Choices that come from the policy (sources, categories, purposes)
are set by the view before validation.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")

#: Longest texts a customer can type.
EXPLANATION_MAX = 2000
QUESTION_MAX = 5000
SUBJECT_MAX = 150
VALUE_MAX = 500
#: Most fields in one correction request.
MAX_ITEMS = 40


def new_key() -> str:
    """A fresh idempotency key."""
    return secrets.token_urlsafe(24)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes (rendered by hand in the templates)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        # Unknown values are an error of the form, not a crash.
        known = {str(value) for value, *_ in self.iter_choices()}
        if self.data and any(str(v) not in known for v in self.data):
            raise ValidationError(_l("Choose from the list"))


class RequestForm(FlaskForm):
    """What every request form has: the idempotency key."""

    key = HiddenField()

    def ensure_key(self) -> str:
        """The form's key, made now if it has none (or a malformed one)."""
        if not isinstance(self.key.data, str) or not KEY_RE.match(self.key.data):
            self.key.data = new_key()
        return str(self.key.data)


class CorrectionItemForm(Form):
    """One field to correct: which record and field (hidden), and the new value."""

    source = HiddenField()
    record_type = HiddenField()
    record_id = HiddenField()
    field = HiddenField()
    new_value = TextAreaField(
        _l("New value"),
        filters=[_strip],
        validators=[Optional(), Length(max=VALUE_MAX, message=_l("Use at most 500 characters"))],
    )


class CorrectionForm(RequestForm):
    """Art. 16: one or more fields with their new values, and an optional explanation."""

    items = FieldList(FormField(CorrectionItemForm), min_entries=0, max_entries=MAX_ITEMS)
    explanation = TextAreaField(
        _l("Explanation (optional)"),
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=EXPLANATION_MAX, message=_l("Use at most 2000 characters")),
        ],
    )
    add_record = SelectField(_l("Add the data of another record"), validate_choice=False)


class ErasureForm(RequestForm):
    """Art. 17: all data, the data in chosen systems, or chosen kinds of data."""

    scope = RadioField(
        _l("What should we delete?"),
        validators=[DataRequired(message=_l("Choose what we should delete"))],
    )
    sources = MultiCheckboxField(_l("Which systems?"))
    categories = MultiCheckboxField(_l("Which kinds of data?"))
    explanation = TextAreaField(
        _l("Explanation (optional)"),
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=EXPLANATION_MAX, message=_l("Use at most 2000 characters")),
        ],
    )

    def validate_sources(self, field: Field) -> None:
        if self.scope.data == "sources" and not field.data:
            raise ValidationError(_l("Choose at least one system"))

    def validate_categories(self, field: Field) -> None:
        if self.scope.data == "categories" and not field.data:
            raise ValidationError(_l("Choose at least one kind of data"))


class RestrictionForm(RequestForm):
    """Art. 18: which data, on which of the four grounds, and why."""

    scope = RadioField(
        _l("Which data should we restrict?"),
        validators=[DataRequired(message=_l("Choose which data we should restrict"))],
    )
    categories = MultiCheckboxField(_l("Which kinds of data?"))
    ground = RadioField(
        _l("Why should we restrict it?"),
        validators=[DataRequired(message=_l("Choose why we should restrict your data"))],
    )
    explanation = TextAreaField(
        _l("Explanation (optional)"),
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=EXPLANATION_MAX, message=_l("Use at most 2000 characters")),
        ],
    )

    def validate_categories(self, field: Field) -> None:
        if self.scope.data == "categories" and not field.data:
            raise ValidationError(_l("Choose at least one kind of data"))


class ObjectionForm(RequestForm):
    """Art. 21: purposes on legitimate interests, and the customer's particular situation."""

    purposes = MultiCheckboxField(
        _l("What do you object to?"),
        validators=[DataRequired(message=_l("Choose at least one purpose"))],
    )
    explanation = TextAreaField(
        _l("Your situation (optional)"),
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=EXPLANATION_MAX, message=_l("Use at most 2000 characters")),
        ],
    )


class WithdrawConsentForm(RequestForm):
    """Art. 7(3): purposes on consent."""

    purposes = MultiCheckboxField(
        _l("For what do you withdraw your consent?"),
        validators=[DataRequired(message=_l("Choose at least one purpose"))],
    )


class QuestionForm(RequestForm):
    """A free question to the privacy contact."""

    subject = StringField(
        _l("Subject"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Enter a subject")),
            Length(max=SUBJECT_MAX, message=_l("Use at most 150 characters")),
        ],
    )
    question = TextAreaField(
        _l("Your question"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Enter your question")),
            Length(max=QUESTION_MAX, message=_l("Use at most 5000 characters")),
        ],
    )


class AddInformationForm(FlaskForm):
    """The customer's answer when the firm asked for information."""

    text = TextAreaField(
        _l("Your answer"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Enter your answer")),
            Length(max=QUESTION_MAX, message=_l("Use at most 5000 characters")),
        ],
    )


class ConfirmForm(FlaskForm):
    """A button and nothing else (the CSRF token)."""
