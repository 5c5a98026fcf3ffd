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
forget it. The cookie itself is a :class:`portal.device_cookies.DeviceCookie` (:data:`COOKIE`).
"""

from __future__ import annotations

from ..device_cookies import DeviceCookie

#: Separates this cookie's signatures from every other use of the application secret.
SALT = "portal.auth.known-browser"
#: At most this many addresses are remembered per browser (the most recent ones).
MAX_ADDRESSES = 5
#: The cookie (``portal_known_browser``, with ``__Host-`` over HTTPS, as the session cookie:
#: only this host can set it, Secure, for the whole site); its ``accounts`` are the keyed
#: hashes of the addresses.
COOKIE = DeviceCookie(
    name="portal_known_browser", salt=SALT, days=lambda settings: settings.known_browser_days,
    max_accounts=MAX_ADDRESSES,
)  # fmt: skip


def rate_key(address_hash: str) -> str | None:
    """This browser's own rate-limit key for the address with ``address_hash``, if it is known
    for that address; else ``None`` (the address's shared key applies)."""
    browser_id = COOKIE.browser_id_for(address_hash)
    return None if browser_id is None else f"addr:{address_hash}:browser:{browser_id}"
