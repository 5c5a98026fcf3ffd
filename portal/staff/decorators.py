"""Access to staff pages: a staff session whose second factor is done, and for some pages the
privacy officer's role.

Anyone else, a signed-in customer too, is sent to the staff sign-in page and sees no staff
content; a session that has passed only the password is sent to the second-factor step.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from ..models import StaffMember, StaffSession

F = TypeVar("F", bound=Callable[..., Any])

#: Pages a staff member with a one-time password may still open (to change it).
PASSWORD_CHANGE_ENDPOINTS = {"staff.account"}


def current_staff() -> StaffMember | None:
    """The staff member of this browser's session (second factor done or not)."""
    member: StaffMember | None = g.get("staff")
    return member


def current_staff_session() -> StaffSession | None:
    """This browser's staff session row, if alive."""
    row: StaffSession | None = g.get("staff_session")
    return row


def second_factor_done() -> bool:
    """Whether this browser's staff session has passed the second factor."""
    row = current_staff_session()
    return row is not None and row.second_factor_at is not None


def pending_step() -> str:
    """The endpoint a password-only session continues at."""
    member = current_staff()
    if member is not None and not member.totp_enrolled:
        return "staff.enrol"
    return "staff.second_factor"


def staff_required(view: F) -> F:
    """Only for a staff member who passed both factors (and has no one-time password left)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        row = current_staff_session()
        member = current_staff()
        if row is None or member is None:
            flash(_("Sign in to see this page."), "info")
            return redirect(url_for("staff.login"), code=303)
        if row.second_factor_at is None:
            return redirect(url_for(pending_step()), code=303)
        if member.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            flash(_("Choose your own password first."), "info")
            return redirect(url_for("staff.account"), code=303)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def officer_required(view: F) -> F:
    """Only for a privacy officer who passed both factors; an agent gets 403."""

    @wraps(view)
    def check_role(*args: Any, **kwargs: Any) -> Any:
        member = current_staff()
        if member is None or not member.is_officer:
            abort(403)
        return view(*args, **kwargs)

    return staff_required(check_role)  # type: ignore[return-value]
