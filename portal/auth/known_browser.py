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
forget it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from ..settings import Settings

#: The cookie's name. Over HTTPS it carries the ``__Host-`` prefix, as the session cookie does
#: (:mod:`portal.security`): only this host can set it, Secure, for the whole site.
COOKIE = "portal_known_browser"
SECURE_COOKIE = "__Host-" + COOKIE
#: Separates this cookie's signatures from every other use of the application secret.
SALT = "portal.auth.known-browser"
#: At most this many addresses are remembered per browser (the most recent ones).
MAX_ADDRESSES = 5
#: What a browser id and an address hash look like (anything else is not ours).
_BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")
_ADDRESS_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class KnownBrowser:
    """What a valid cookie says: this browser's random id, and the keyed hashes of the
    addresses signed in with here, most recent first."""

    browser_id: str
    addresses: tuple[str, ...]


def _settings() -> Settings:
    settings: Settings = current_app.extensions["portal.settings"]
    return settings


def _max_age() -> int:
    return _settings().known_browser_days * 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _secure() -> bool:
    return bool(current_app.config["SESSION_COOKIE_SECURE"])


def cookie_name() -> str:
    """The cookie's name in this application (with ``__Host-`` over HTTPS)."""
    return SECURE_COOKIE if _secure() else COOKIE


def current() -> KnownBrowser | None:
    """This request's browser as its cookie describes it, if the cookie is valid: signed by us
    for this purpose, younger than ``known_browser_days``, and of the right shape."""
    raw = request.cookies.get(cookie_name())
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=_max_age())
    except BadSignature:  # also a signature that expired
        return None
    if not isinstance(data, dict):
        return None
    browser_id, addresses = data.get("b"), data.get("a")
    if not isinstance(browser_id, str) or not _BROWSER_ID.fullmatch(browser_id):
        return None
    if not isinstance(addresses, list):
        return None
    valid = [a for a in addresses if isinstance(a, str) and _ADDRESS_HASH.fullmatch(a)]
    return KnownBrowser(browser_id, tuple(valid[:MAX_ADDRESSES]))


def rate_key(address_hash: str) -> str | None:
    """This browser's own rate-limit key for the address with ``address_hash``, if it is known
    for that address; else ``None`` (the address's shared key applies)."""
    known = current()
    if known is None or address_hash not in known.addresses:
        return None
    return f"addr:{address_hash}:browser:{known.browser_id}"


def remember(response: Response, address_hash: str) -> None:
    """Make this browser known for the address with ``address_hash`` (after a sign-in with it):
    a new or renewed cookie on ``response``, with this address first and the browser's id kept
    if it had one."""
    known = current()
    browser_id = known.browser_id if known else secrets.token_urlsafe(24)
    earlier = [a for a in known.addresses if a != address_hash] if known else []
    value = _serializer().dumps({"b": browser_id, "a": [address_hash, *earlier][:MAX_ADDRESSES]})
    response.set_cookie(
        cookie_name(),
        value,
        max_age=_max_age(),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_secure(),
    )


def forget(response: Response) -> None:
    """Remove the cookie: this browser is no longer known for any address."""
    response.delete_cookie(cookie_name(), path="/", httponly=True, samesite="Lax", secure=_secure())
