"""Forms of the sign-in pages. Error messages are English message ids, shown translated."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp


class EmailForm(FlaskForm):
    """The address to send a sign-in code to."""

    email = StringField(
        _l("E-mail address"),
        validators=[
            DataRequired(message=_l("Enter your e-mail address")),
            Length(max=254, message=_l("An e-mail address has at most 254 characters")),
            Email(
                message=_l("Enter an e-mail address in the right format, like name@example.nl"),
                check_deliverability=False,
            ),
        ],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )


class CodeForm(FlaskForm):
    """The one-time code from the e-mail."""

    code = StringField(
        _l("Sign-in code"),
        validators=[
            DataRequired(message=_l("Enter the code from the e-mail")),
            Regexp(
                r"^\s*\d{3}[\s-]?\d{3}\s*$",
                message=_l("The code has 6 digits; enter them without letters"),
            ),
        ],
    )


class ConfirmForm(FlaskForm):
    """A button and nothing else (the CSRF token): signing in from a link, signing out."""


class IdentifierForm(FlaskForm):
    """Another identifier to add: an e-mail address, a phone number or a customer number."""

    kind = RadioField(
        _l("What do you want to add?"),
        choices=[
            SelectChoice("email", _l("Another e-mail address")),
            SelectChoice("phone", _l("A phone number")),
            SelectChoice("customer_number", _l("A customer number")),
        ],
        validators=[DataRequired(message=_l("Choose what you want to add"))],
    )
    value = StringField(
        _l("E-mail address, phone number or customer number"),
        validators=[
            DataRequired(message=_l("Enter the address or number")),
            Length(max=254, message=_l("This is too long")),
        ],
    )
    proof = StringField(
        _l("Proof: the number of an invoice we sent you"),
        validators=[Optional(), Length(max=64, message=_l("This is too long"))],
    )
