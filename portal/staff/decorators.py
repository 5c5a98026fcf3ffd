"""Access to staff pages: a staff session whose second factor is done, and for some pages the
privacy officer's role.

Anyone else, a signed-in customer too, is sent to the staff sign-in page and sees no staff
content; a session that has passed only the password is sent to the second-factor step.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, flash, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..kept_input import keeps_input, signed_out_page
from ..models import StaffMember, StaffSession
from . import auth

F = TypeVar("F", bound=Callable[..., Any])

#: Pages a staff member with a one-time password may still open (to change it).
PASSWORD_CHANGE_ENDPOINTS = {"staff.account"}


#: The message on a back-office page shown again, filled in, in place of a form whose page had
#: expired (the form sits somewhere on a long page, so it says where to look).
STAFF_TYPED = _l(
    "Nothing was done, because the page had expired (it was open a long time, or you signed in"
    " again in the meantime). What you typed is back in its form on this page: check it and"
    " submit it again."
)


def load_staff() -> None:
    """Put this browser's live staff session in ``g.staff_session`` and its member in
    ``g.staff``. Each request decides afresh, before the view changes anything."""
    g.pop("staff", None)
    g.pop("staff_session", None)
    if request.endpoint == "staff.static":
        return
    row, reason = auth.load_session()
    if row is None:
        if reason is not None:
            session.pop(auth.SESSION_KEY, None)
        if reason == "idle":
            flash(_("You were signed out because you were inactive for 30 minutes."), "info")
        elif reason == "expired":
            flash(_("You were signed out because your session reached its maximum time."), "info")
        return
    g.staff_session = row
    g.staff = row.staff


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
        if row is None or member is None or row.second_factor_at is None:
            # A form sent after the session ended, or with only the password done again: what
            # was typed is shown back, not dropped on the way to signing in (kept_input).
            kept = signed_out_page()
            if kept is not None:
                return kept
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


#: What :func:`_passes` returns when the access check let the request through.
_ALLOWED = object()


def _passes() -> object:
    return _ALLOWED


def keeps_staff_input(
    again: Callable[..., ResponseReturnValue],
    *,
    form: Callable[..., Any] | None = None,
    officer: bool = False,
    message: Any = STAFF_TYPED,
) -> Callable[[F], F]:
    """Mark a staff view whose form, sent after its page expired, is shown again instead of
    lost (:mod:`portal.kept_input`). Put it between the route decorator and the access one.

    The form comes back only through the same access check as the view's own: a session
    with both factors done (else the signed-out page, with what was typed), and for
    ``officer`` the privacy officer's role (else the refusal, without the form). ``again``
    renders the page from the posted form without acting on it.
    """
    guard = officer_required if officer else staff_required

    def check() -> ResponseReturnValue | None:
        load_staff()  # the CSRF check refused the form before the blueprint loaded it
        answer = guard(_passes)()
        return None if answer is _ALLOWED else answer

    return keeps_input(  # type: ignore[return-value]
        again, form=form, needs_customer=False, message=message, check=check, staff=True
    )
