"""Helpers for configured base URLs: API roots, site roots and the HTTPS rule."""

from __future__ import annotations

from urllib.parse import urlsplit

from .errors import NotConfigured

#: Hosts where plain HTTP is allowed (local simulators and tests).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def require_safe_scheme(vendor: str, url: str) -> str:
    """Return ``url`` without a trailing slash if it is HTTPS, or HTTP on a local host.

    Credentials must never travel over plain HTTP to a remote host.

    :raises NotConfigured: for any other URL (the message does not echo it).
    """
    parts = urlsplit(url.strip())
    if not parts.hostname or parts.scheme not in ("https", "http"):
        raise NotConfigured(f"{vendor}: 'base_url' must be an http(s) URL", vendor=vendor)
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise NotConfigured(f"{vendor}: 'base_url' must use HTTPS", vendor=vendor)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise NotConfigured(
            f"{vendor}: 'base_url' must not hold credentials, a query or a fragment",
            vendor=vendor,
        )
    return url.strip().rstrip("/")


def api_root(base_url: str, api_path: str) -> str:
    """Return the API root: ``base_url`` if it already ends with ``api_path``, else joined."""
    base = base_url.rstrip("/")
    return base if base.endswith(api_path) else base + api_path


def site_root(api_url: str, api_path: str) -> str:
    """Return the site root of an API root that ends with ``api_path``."""
    api = api_url.rstrip("/")
    return api[: -len(api_path)] if api_path and api.endswith(api_path) else api
