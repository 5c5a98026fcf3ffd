"""Where a customer goes after signing in: back to the page that asked them to, if any.

The page is kept in the session (never in the URL, so no link can send someone elsewhere)
and only a path on this site is followed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, session, url_for

#: The session key of the page a signed-out visitor asked for.
AFTER_SIGN_IN = "after_sign_in"
#: The longest page address kept: the session is a cookie, and a crafted long link must not
#: fill it so far that signing in no longer fits.
MAX_PATH = 512


def remember_requested_page() -> None:
    """Keep the page of this request (a GET) to return to after signing in: with its query
    when short enough, else without, else not at all."""
    if request.method != "GET":
        return
    for path in (request.full_path.rstrip("?"), request.path):
        if len(path) <= MAX_PATH and is_local_path(path):
            session[AFTER_SIGN_IN] = path
            return
    session.pop(AFTER_SIGN_IN, None)


def is_local_path(path: object) -> bool:
    """Whether ``path`` is a path on this site (``/export/``), not another site's address."""
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        return False
    if "\\" in path or any(ord(c) < 32 for c in path):
        return False  # browsers read "/\\evil.example" as another host
    parts = urlsplit(path)
    return not parts.scheme and not parts.netloc


def local_path(path: object) -> str | None:
    """``path`` when it is a path on this site, else None (for a "back" link from a form)."""
    return path if is_local_path(path) else None  # type: ignore[return-value]


def after_sign_in_url() -> str:
    """The page to go to once signed in: the one asked for (read before the session is
    renewed), else the customer's account page."""
    target = session.get(AFTER_SIGN_IN)
    return target if is_local_path(target) else url_for("auth.account")
