"""Device cookies (OWASP: "Slow down online guessing attacks with device cookies"): a browser
where someone signed in keeps its own sign-in allowance for that account, so strangers who
guess at the account cannot lock its owner out.

:class:`DeviceCookie` is one such cookie, parametrised by its name, the salt that separates its
signatures from every other use of the application secret, and the setting that says how many
days it stays valid. The value, signed with the application secret, holds a random id of the
browser and the keyed hashes of the accounts signed in with there (never an address or id in
the clear), most recent first. A cookie that was changed, is too old, signed for another
purpose, or of the wrong shape gives nothing. The customer's cookie is
:mod:`portal.auth.known_browser`, the back office's :mod:`portal.staff.known_browser`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from .settings import Settings

#: What a browser id and an account hash look like (anything else is not ours).
_BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")
_ACCOUNT_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class KnownBrowser:
    """What a valid cookie says: this browser's random id, and the keyed hashes of the
    accounts signed in with here, most recent first."""

    browser_id: str
    accounts: tuple[str, ...]


@dataclass(frozen=True)
class DeviceCookie:
    """One device cookie: its name (with ``__Host-`` in front over HTTPS, as the session cookie:
    only this host can set it, Secure, for the whole site), the salt of its signatures, its
    lifetime in days (read from the settings at each use), how many accounts it remembers and
    its ``SameSite`` attribute."""

    name: str
    salt: str
    days: Callable[[Settings], int]
    max_accounts: int = 5
    samesite: Literal["Lax", "Strict"] = "Lax"

    def _max_age(self) -> int:
        settings: Settings = current_app.extensions["portal.settings"]
        return self.days(settings) * 24 * 3600

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=self.salt)

    @staticmethod
    def _secure() -> bool:
        return bool(current_app.config["SESSION_COOKIE_SECURE"])

    def cookie_name(self) -> str:
        """The cookie's name in this application (with ``__Host-`` over HTTPS)."""
        return "__Host-" + self.name if self._secure() else self.name

    def current(self) -> KnownBrowser | None:
        """This request's browser as its cookie describes it, if the cookie is valid: signed by
        us for this purpose, young enough, and of the right shape. ``None`` outside a request."""
        if not has_request_context():
            return None
        raw = request.cookies.get(self.cookie_name())
        if not raw:
            return None
        try:
            data = self._serializer().loads(raw, max_age=self._max_age())
        except BadSignature:  # also a signature that expired
            return None
        if not isinstance(data, dict):
            return None
        browser_id, accounts = data.get("b"), data.get("a")
        if not isinstance(browser_id, str) or not _BROWSER_ID.fullmatch(browser_id):
            return None
        if not isinstance(accounts, list):
            return None
        valid = [a for a in accounts if isinstance(a, str) and _ACCOUNT_HASH.fullmatch(a)]
        return KnownBrowser(browser_id, tuple(valid[: self.max_accounts]))

    def browser_id_for(self, account_hash: str) -> str | None:
        """This browser's id if its cookie lists the account with ``account_hash``, else
        ``None``."""
        known = self.current()
        if known is None or account_hash not in known.accounts:
            return None
        return known.browser_id

    def remember(self, response: Response, account_hash: str) -> None:
        """Make this browser known for the account with ``account_hash`` (after a sign-in with
        it): a new or renewed cookie on ``response``, with this account first and the browser's
        id kept if it had one."""
        known = self.current()
        browser_id = known.browser_id if known else secrets.token_urlsafe(24)
        earlier = [a for a in known.accounts if a != account_hash] if known else []
        value = self._serializer().dumps(
            {"b": browser_id, "a": [account_hash, *earlier][: self.max_accounts]}
        )
        response.set_cookie(
            self.cookie_name(),
            value,
            max_age=self._max_age(),
            path="/",
            httponly=True,
            samesite=self.samesite,
            secure=self._secure(),
        )

    def forget(self, response: Response) -> None:
        """Remove the cookie: this browser is no longer known for any account."""
        response.delete_cookie(
            self.cookie_name(), path="/", httponly=True, samesite=self.samesite,
            secure=self._secure(),
        )  # fmt: skip
