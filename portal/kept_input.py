"""A customer's form that arrives too late loses nothing they typed.

A form can come back after its page expired in two ways:

* **Its CSRF token no longer fits.** The browser's session was renewed since the page was
  made (a sign-in or sign-out in another tab, a restarted browser): Flask-WTF refuses the form
  before any view runs. For a view marked with :func:`keeps_input`, :func:`form_expired` shows
  its page again, filled in with what was posted, with a fresh token and a message to check it
  and send it again. Nothing is done: the view itself does not run.
* **The customer's session ended while they typed** (idle time, maximum time, or signed out
  elsewhere), but the token still fits: the view would send them to sign in and drop the
  form. :func:`signed_out_page` instead shows what they typed, *only in this response*, with a
  way to sign in (in another tab) and a button that posts it all back. That button carries no
  token on purpose: its form always takes the first way, so once they are signed in it comes
  back filled in, and it can never carry out anything itself.

Staff forms in the back office do the same (:func:`portal.staff.decorators.keeps_staff_input`):
there a :attr:`Keeper.check` first makes sure the staff session is alive with its second factor
(else the staff signed-out page) and that the member may use the form at all (else its
refusal, without the form), before anything typed is shown back.

Nothing typed is kept on the server or in the cookie, nor logged: it lives only in the pages
the browser holds (which no cache keeps, :mod:`portal.security`). A password is never put back
on a page, nor a code from the authenticator app. Either way, what was posted is shown back
only when the browser says our own page sent it (``Sec-Fetch-Site: same-origin``): another site
could otherwise put words of its choosing into a customer's form. A browser that does not say
so gets the plain "this form has expired" page, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import current_app, flash, make_response, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

#: The message on a page shown again, filled in, in place of a form that had expired.
TYPED = _l(
    "Your form was not sent, because its page had expired (it was open a long time, or you"
    " signed in again in the meantime). Everything you entered is still here: check it and"
    " send it again."
)
#: The message for a form that is only a button (withdraw, download, sign out).
BUTTON = _l(
    "Nothing was done, because the page had expired (it was open a long time, or you signed in"
    " again in the meantime). Press the button again if you still want to."
)

#: Field types whose value is never put back on a page (by their class name).
SECRET_FIELDS = frozenset({"PasswordField", "OneTimeCodeField"})


@dataclass(frozen=True)
class Keeper:
    """How a view's page is shown again in place of a form that had expired.

    ``again`` is called with the view's arguments and renders the page from the posted form
    (``request.form``) without acting on it; ``form`` (with the same arguments) gives the form
    class whose typed text the signed-out page lists; ``needs_customer``: the page is one of a
    signed-in customer; ``message``: flashed before ``again`` (``None``: ``again`` says it);
    ``check``: called before anything else, returns the answer in place of the page (a
    signed-out page, a redirect) or ``None`` to go on, and may raise an HTTP error (a refusal);
    ``staff``: a back-office form (the staff signed-out page).
    """

    again: Callable[..., ResponseReturnValue]
    form: Callable[..., type[FlaskForm] | None] | None = None
    needs_customer: bool = True
    message: Any = TYPED
    check: Callable[[], ResponseReturnValue | None] | None = None
    staff: bool = False


def keeps_input(
    again: Callable[..., ResponseReturnValue],
    *,
    form: Callable[..., type[FlaskForm] | None] | None = None,
    needs_customer: bool = True,
    message: Any = TYPED,
    check: Callable[[], ResponseReturnValue | None] | None = None,
    staff: bool = False,
) -> Callable[[Any], Any]:
    """Mark a view whose form, sent after its page expired, is shown again instead of lost.
    Put it right under the route decorator."""

    def decorate(view: Any) -> Any:
        view.keeps_input = Keeper(again, form, needs_customer, message, check, staff)
        return view

    return decorate


def keeper() -> Keeper | None:
    """The :class:`Keeper` of the view this POST is for, if it has one."""
    if request.method != "POST" or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    found = getattr(view, "keeps_input", None)
    return found if isinstance(found, Keeper) else None


def from_our_page() -> bool:
    """Whether the browser says one of our own pages sent this request."""
    return request.headers.get("Sec-Fetch-Site") == "same-origin"


def form_expired() -> ResponseReturnValue | None:
    """The answer to a form whose CSRF token no longer fits, for a view that keeps its input:
    its page again, filled in (400, nothing done), or :func:`signed_out_page` if the customer
    it needs is no longer signed in (for a staff form: whatever its :attr:`Keeper.check`
    answers in place of the page). ``None``: the plain "form expired" page."""
    kept = keeper()
    if kept is None or not from_our_page():
        return None
    flashed = False
    try:
        if kept.check is not None:
            instead = kept.check()
            if instead is not None:
                return instead
        elif kept.needs_customer and not current_user.is_authenticated:
            return signed_out_page(kept)
        if kept.message is not None:
            flash(str(kept.message), "warning")
            flashed = True
        response = make_response(kept.again(**(request.view_args or {})))
    except HTTPException as refused:
        # Raised in this error handler (no right to the page, the request is gone): Flask
        # would answer 500; its own error page, as the view would have had, without the form.
        if flashed and session.get("_flashes"):
            session["_flashes"] = session["_flashes"][:-1]  # not about this page after all
        return current_app.handle_http_exception(refused)
    if response.status_code == 200:
        response.status_code = 400  # not accepted as sent: nothing was done
    return response


def signed_out_page(kept: Keeper | None = None) -> Response | None:
    """What a customer whose session ended sees in place of the sign-in page when they send a
    form: what they typed, how to sign in again, and a button that brings the form back.
    ``None`` if this is no such form (the caller sends them to sign in as usual)."""
    kept = kept or keeper()
    if kept is None or not from_our_page():
        return None
    form_class = kept.form(**(request.view_args or {})) if kept.form is not None else None
    form = form_class(formdata=request.form, meta={"csrf": False}) if form_class else None
    # Never a password back on a page, not even in a hidden field; nor a one-time code from
    # the authenticator app (it works once; a new one is asked for); nor the old token.
    dropped = {current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")}
    dropped |= {field.name for field in _fields(form) if field.type in SECRET_FIELDS}
    carried = [
        (name, value) for name, value in request.form.items(multi=True) if name not in dropped
    ]
    typed = list(_typed(form)) if form is not None else []
    if kept.staff:
        from .staff.auth import IDLE  # the back office's own idle limit

        template, minutes = "staff/signed_out.html", int(IDLE.total_seconds() // 60)
    else:
        settings = current_app.extensions["portal.settings"]
        template, minutes = "errors/signed_out.html", settings.session_idle_minutes
    html = render_template(
        template,
        typed=typed,
        carried=carried,
        action=request.full_path.rstrip("?"),
        minutes=minutes,
    )
    return make_response(html, 401)


def _fields(form: Any) -> Iterator[Any]:
    """Every field of ``form``, those inside lists and sub-forms too."""
    if form is None:
        return
    for field in form:
        if field.type == "FieldList":
            for entry in field.entries:
                yield from _fields([entry])
        elif field.type == "FormField":
            yield from _fields(field.form)
        else:
            yield field


def _typed(form: Any) -> Iterator[tuple[str, str]]:
    """``(label, text)`` of every text field of ``form`` the customer filled in, in order."""
    for field in form:
        if field.type in ("FieldList", "FormField"):
            yield from _typed(field.entries if field.type == "FieldList" else field.form)
        elif field.type in ("StringField", "TextAreaField", "EmailField", "TelField"):
            value = field.data if isinstance(field.data, str) else ""
            if value.strip():
                yield str(field.label.text), value
        elif field.type in ("DateField", "DayField"):  # as typed, a wrong date too
            value = field.raw_data[0] if field.raw_data else ""
            if isinstance(value, str) and value.strip():
                yield str(field.label.text), value
