"""Forms of the back office. Error messages are English message ids, shown translated."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class SignInForm(FlaskForm):
    """E-mail address and password: the first step."""

    email = StringField(
        _l("E-mail address"),
        validators=[
            DataRequired(message=_l("Enter your e-mail address")),
            Length(max=254, message=_l("An e-mail address has at most 254 characters")),
        ],
        filters=[_strip],
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Enter your password")),
            Length(max=1024, message=_l("This is too long")),
        ],
    )


class OneTimeCodeField(StringField):
    """A 6-digit code from the authenticator app. A type of its own, so that a form kept
    for a signed-out staff member never carries the code along (:mod:`portal.kept_input`):
    it works once, and for a minute or so."""


def code_field() -> OneTimeCodeField:
    """The code field of every step that asks for the authenticator app: signing in, and
    re-authentication before a sensitive action."""
    return OneTimeCodeField(
        _l("Code from your authenticator app"),
        validators=[
            DataRequired(message=_l("Enter the 6-digit code from your authenticator app")),
            Regexp(
                r"^\s*\d{3}\s?\d{3}\s*$",
                message=_l("The code has 6 digits; enter them without letters"),
            ),
        ],
    )


class CodeForm(FlaskForm):
    """A 6-digit code from the authenticator app."""

    code = code_field()


class RecoveryCodeForm(FlaskForm):
    """One of the recovery codes, when the authenticator app is not at hand."""

    recovery_code = StringField(
        _l("Recovery code"),
        validators=[
            DataRequired(message=_l("Enter one of your recovery codes")),
            Length(max=32, message=_l("This is too long")),
        ],
        filters=[_strip],
    )


class ConfirmForm(FlaskForm):
    """A button and nothing else (the CSRF token): signing out, staff actions."""


#: The roles a staff member can have, as an officer chooses them.
ROLE_CHOICES = [
    SelectChoice("agent", _l("Agent: handles requests")),
    SelectChoice("officer", _l("Privacy officer: everything, including staff accounts")),
]


class DisableForm(FlaskForm):
    """Disable a colleague, and whom their open requests go to (choices set by the view:
    nobody, or another active staff member)."""

    hand_over_to = SelectField(_l("Give their open requests to"), default="")


class RoleForm(FlaskForm):
    """Change a colleague's role, confirmed with a fresh code from the authenticator app."""

    role = RadioField(
        _l("Role"), choices=ROLE_CHOICES, validators=[DataRequired(message=_l("Choose a role"))]
    )
    code = code_field()


class NewStaffForm(FlaskForm):
    """A new colleague in the back office, confirmed with a fresh code from the authenticator
    app (the officer sees their one-time password next)."""

    display_name = StringField(
        _l("Name"),
        validators=[
            DataRequired(message=_l("Enter the name")),
            Length(max=120, message=_l("A name has at most 120 characters")),
        ],
        filters=[_strip],
    )
    email = StringField(
        _l("E-mail address"),
        validators=[
            DataRequired(message=_l("Enter the e-mail address")),
            Length(max=254, message=_l("An e-mail address has at most 254 characters")),
            Email(
                message=_l("Enter an e-mail address in the right format, like name@example.nl"),
                check_deliverability=False,
            ),
        ],
        filters=[_strip],
    )
    role = RadioField(
        _l("Role"), choices=ROLE_CHOICES, validators=[DataRequired(message=_l("Choose a role"))]
    )
    code = code_field()


class PasswordChangeForm(FlaskForm):
    """Change one's own password."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[
            DataRequired(message=_l("Enter your current password")),
            Length(max=1024, message=_l("This is too long")),
        ],
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(message=_l("Enter a new password")),
            Length(min=12, message=_l("A password has at least 12 characters")),
            Length(max=1024, message=_l("This is too long")),
        ],
    )
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(message=_l("Enter the new password again")),
            EqualTo("new_password", message=_l("The two new passwords are not the same")),
        ],
    )


class PasskeyForm(FlaskForm):
    """Add a passkey: its name, and a fresh code from the authenticator app to confirm it is
    really the staff member (sent as JSON by the passkey script)."""

    name = StringField(
        _l("Name of the passkey"),
        validators=[
            DataRequired(message=_l("Enter a name for the passkey")),
            Length(max=60, message=_l("A name has at most 60 characters")),
        ],
        filters=[_strip],
    )
    code = code_field()
