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

Nothing typed is kept on the server or in the cookie: it lives only in the pages the browser
holds (which no cache keeps, :mod:`portal.security`). Either way, what was posted is shown back
only when the browser says our own page sent it (``Sec-Fetch-Site: same-origin``): another site
could otherwise put words of its choosing into a customer's form. A browser that does not say
so gets the plain "this form has expired" page, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import current_app, flash, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
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


@dataclass(frozen=True)
class Keeper:
    """How a view's page is shown again in place of a form that had expired.

    ``again`` is called with the view's arguments and renders the page from the posted form
    (``request.form``) without acting on it; ``form`` (with the same arguments) gives the form
    class whose typed text the signed-out page lists; ``needs_customer``: the page is one of a
    signed-in customer; ``message``: flashed before ``again`` (``None``: ``again`` says it).
    """

    again: Callable[..., ResponseReturnValue]
    form: Callable[..., type[FlaskForm] | None] | None = None
    needs_customer: bool = True
    message: Any = TYPED


def keeps_input(
    again: Callable[..., ResponseReturnValue],
    *,
    form: Callable[..., type[FlaskForm] | None] | None = None,
    needs_customer: bool = True,
    message: Any = TYPED,
) -> Callable[[Any], Any]:
    """Mark a view whose form, sent after its page expired, is shown again instead of lost.
    Put it right under the route decorator."""

    def decorate(view: Any) -> Any:
        view.keeps_input = Keeper(again, form, needs_customer, message)
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
    it needs is no longer signed in. ``None``: the plain "form expired" page."""
    kept = keeper()
    if kept is None or not from_our_page():
        return None
    if kept.needs_customer and not current_user.is_authenticated:
        return signed_out_page(kept)
    if kept.message is not None:
        flash(str(kept.message), "warning")
    response = make_response(kept.again(**(request.view_args or {})))
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
    csrf_field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    carried = [
        (name, value) for name, value in request.form.items(multi=True) if name != csrf_field
    ]
    form_class = kept.form(**(request.view_args or {})) if kept.form is not None else None
    typed = (
        list(_typed(form_class(formdata=request.form, meta={"csrf": False}))) if form_class else []
    )
    settings = current_app.extensions["portal.settings"]
    html = render_template(
        "errors/signed_out.html",
        typed=typed,
        carried=carried,
        action=request.full_path.rstrip("?"),
        minutes=settings.session_idle_minutes,
    )
    return make_response(html, 401)


def _typed(form: Any) -> Iterator[tuple[str, str]]:
    """``(label, text)`` of every text field of ``form`` the customer filled in, in order."""
    for field in form:
        if field.type in ("FieldList", "FormField"):
            yield from _typed(field.entries if field.type == "FieldList" else field.form)
        elif field.type in ("StringField", "TextAreaField", "EmailField", "TelField"):
            value = field.data if isinstance(field.data, str) else ""
            if value.strip():
                yield str(field.label.text), value
