"""The back office's "known browser" cookie (OWASP: "Slow down online guessing attacks with
device cookies"): someone who knows a staff member's address must not be able to keep them
out by typing wrong passwords.

After a staff member completes both steps of signing in (the password, then a TOTP code, a
recovery code or a passkey), the browser gets a cookie, signed with the application secret
under its own salt, that lists keyed hashes of the staff ids signed in with there (never an
address or an id in the clear) and a random id of this browser. For those members, that
browser

- counts under its own keys of the per-account rate limits (same budgets), not the shared
  ones that anybody typing the address uses up;
- while signing in, is not held by the lock-out after :data:`.auth.MAX_FAILURES` failures,
  and its own failures do not count towards it (they are still audited, and limited by its own
  budgets); a complete sign-in from it leaves the shared count and lock alone, as they are
  about the other browsers. Re-authenticating inside a signed-in session (a fresh code for a
  sensitive action) counts and is held as before.

Other browsers still share the per-account keys and the lock-out; the limits per IP address
apply to everybody. A cookie that was changed, is older than ``staff_known_browser_days``, or
does not list the member gives nothing. Signing out keeps the cookie (it is about the browser,
not the session); "Forget this browser" on the account page removes it.
"""

from __future__ import annotations

from flask import g, has_request_context
from werkzeug.wrappers import Response

from .. import crypto
from ..device_cookies import DeviceCookie

#: Unlike the customer's cookie (``portal_known_browser``), never sent with a request from
#: another site: the sign-in form posts from this one.
COOKIE = DeviceCookie(
    name="portal_staff_browser",
    salt="portal.staff.known-browser",
    days=lambda settings: settings.staff_known_browser_days,
    samesite="Strict",
)
_HASH_PURPOSE = "staff-known-browser"
_G_REMEMBER = "staff_known_browser_remember"


def member_hash(staff_id: int) -> str:
    """The keyed hash of ``staff_id`` the cookie lists."""
    return crypto.keyed_hash(_HASH_PURPOSE, str(staff_id))


def browser_id(staff_id: int) -> str | None:
    """This browser's id if its cookie is valid and lists ``staff_id``; else ``None``."""
    return COOKIE.browser_id_for(member_hash(staff_id))


def knows(staff_id: int) -> bool:
    """Whether this request comes from a browser known for ``staff_id``."""
    return browser_id(staff_id) is not None


def remember_after_request(staff_id: int) -> None:
    """Make this browser known for ``staff_id`` on this request's response (set by
    :func:`apply` once the view has answered): called when both steps are done."""
    if has_request_context():
        setattr(g, _G_REMEMBER, staff_id)


def apply(response: Response) -> Response:
    """Set the cookie on ``response`` if this request completed a sign-in (an ``after_request``
    hook of the back office)."""
    staff_id = g.pop(_G_REMEMBER, None)
    if isinstance(staff_id, int) and response.status_code < 400:
        COOKIE.remember(response, member_hash(staff_id))
    return response
