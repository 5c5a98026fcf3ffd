"""The "known browser" cookie: a browser where someone signed in with an address keeps its own
sign-in allowance for that address (OWASP: "Slow down online guessing attacks with device
cookies").

The per-address limits on asking for and entering codes count every request for an address,
from anyone: a stranger who asks codes for someone else's address would otherwise use up the
owner's allowance and lock them out for a day. After a sign-in by e-mail code or link, the
browser gets a long-lived cookie, signed with the application secret, that lists the keyed
hashes of the addresses signed in with there (the ones the rate limiter counts under, never an
address itself, most recent first) and a random id of this browser. A request from that
browser about one of those addresses counts under its own key, (address, browser id), with the
same limits; strangers still share the one per-address key, and the limits per IP address
apply to everybody. A cookie that was changed, is too old, or does not list the address gives
nothing.

The cookie is about the browser, not the session: signing out keeps it; *My account* offers to
forget it. The cookie itself is a :class:`portal.device_cookies.DeviceCookie`.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from ..device_cookies import DeviceCookie, KnownBrowser

__all__ = ["KnownBrowser", "cookie_name", "current", "forget", "rate_key", "remember"]

#: The cookie's name. Over HTTPS it carries the ``__Host-`` prefix, as the session cookie does
#: (:mod:`portal.security`): only this host can set it, Secure, for the whole site.
COOKIE = "portal_known_browser"
SECURE_COOKIE = "__Host-" + COOKIE
#: Separates this cookie's signatures from every other use of the application secret.
SALT = "portal.auth.known-browser"
#: At most this many addresses are remembered per browser (the most recent ones).
MAX_ADDRESSES = 5

_COOKIE = DeviceCookie(
    name=COOKIE, salt=SALT, days=lambda settings: settings.known_browser_days,
    max_accounts=MAX_ADDRESSES,
)  # fmt: skip


def cookie_name() -> str:
    """The cookie's name in this application (with ``__Host-`` over HTTPS)."""
    return _COOKIE.cookie_name()


def current() -> KnownBrowser | None:
    """This request's browser as its cookie describes it (``accounts``: the keyed hashes of the
    addresses), if the cookie is valid: signed by us for this purpose, younger than
    ``known_browser_days``, and of the right shape."""
    return _COOKIE.current()


def rate_key(address_hash: str) -> str | None:
    """This browser's own rate-limit key for the address with ``address_hash``, if it is known
    for that address; else ``None`` (the address's shared key applies)."""
    browser_id = _COOKIE.browser_id_for(address_hash)
    return None if browser_id is None else f"addr:{address_hash}:browser:{browser_id}"


def remember(response: Response, address_hash: str) -> None:
    """Make this browser known for the address with ``address_hash`` (after a sign-in with it):
    a new or renewed cookie on ``response``, with this address first and the browser's id kept
    if it had one."""
    _COOKIE.remember(response, address_hash)


def forget(response: Response) -> None:
    """Remove the cookie: this browser is no longer known for any address."""
    _COOKIE.forget(response)
