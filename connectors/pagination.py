"""Page iterators for the vendors' pagination schemes, each with a loop guard.

* :func:`link_header_pages`: ``Link: <…>; rel="next"`` plus ``page``/``per_page``
  (WooCommerce, MoneyBird, Freshdesk), checked against WordPress's ``X-WP-TotalPages`` and
  ``X-WP-Total`` where a list carries them.
* :func:`short_page_pages`: ``page``/``per_page`` until a page comes back shorter than
  ``per_page`` (Zammad).
* :func:`cursor_pages`: HAL ``_links.next.href`` with the items in ``_embedded.<key>`` (Mollie).

Each yields one page (a list of JSON objects) per request, validates the page's shape
(:class:`~connectors.errors.BadResponse` otherwise) and raises
:class:`~connectors.errors.PaginationLoop` when a next URL or cursor repeats, or when
``max_pages`` is exceeded: a misbehaving API must not keep a gathering busy forever.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx

from .errors import BadResponse, PaginationLoop
from .http import HttpSession, Params
from .parsing import JSONDict, expect_dict, expect_list

#: Safety cap on the number of pages of one list.
DEFAULT_MAX_PAGES = 500


def link_header_pages(
    session: HttpSession,
    path: str,
    *,
    params: Params | None = None,
    per_page: int = 100,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Iterator[list[JSONDict]]:
    """Yield pages of a JSON-array list, following the ``Link`` header's ``rel="next"`` URL.

    The first request sends ``page=1&per_page={per_page}``; later requests use the next URL
    exactly as given (it must be on the configured host).

    WordPress (WooCommerce) also says how long the list is: ``X-WP-TotalPages`` and
    ``X-WP-Total``. A proxy, a security plugin or a shop without pretty permalinks may drop
    or mangle the ``Link`` header; stopping there would pass the first page off as the whole
    list. So when those headers say more pages follow and no next link came, the next page is
    asked for by number (``page`` is a documented parameter; the URL is the one just read
    with ``page`` raised by one), which reads the whole list instead of failing the source.
    At the end, the number of items read must equal ``X-WP-Total`` of the last page: a list
    that changed under our feet or headers that lie cannot be told from a complete one
    otherwise.

    :raises PaginationLoop: a next URL repeats, or more than ``max_pages`` pages.
    :raises BadResponse: a page is not a JSON array of objects, the totals are not numbers,
        or the items read do not add up to ``X-WP-Total``.
    """
    url: str = path
    page_params: Params | None = {**(params or {}), "page": 1, "per_page": per_page}
    seen: set[str] = set()
    read = 0
    vendor = session.vendor
    for _ in range(max_pages):
        body, response = session.get_json(url, params=page_params)
        page = expect_list(body, f"{vendor} list page")
        read += len(page)
        yield page
        next_url = _next_link(session, response) or _next_by_number(session, response)
        if next_url is None:
            total = _header_count(session, response, "X-WP-Total")
            if total is not None and total != read:
                raise BadResponse(
                    f"{vendor}: list pages hold {read} items, X-WP-Total says {total}",
                    vendor=vendor,
                )
            return
        if next_url in seen or next_url == str(response.request.url):
            raise PaginationLoop(f"{vendor}: next-page link repeats", vendor=vendor)
        seen.add(next_url)
        url, page_params = next_url, None
    raise PaginationLoop(f"{vendor}: more than {max_pages} pages", vendor=vendor)


def short_page_pages(
    session: HttpSession,
    path: str,
    *,
    params: Params | None = None,
    per_page: int = 100,
    max_pages: int = DEFAULT_MAX_PAGES,
    search: Mapping[str, Any] | None = None,
) -> Iterator[list[JSONDict]]:
    """Yield pages of a JSON-array list by ``page``/``per_page`` until a short page.

    With ``search``, each page is asked for with ``POST`` and that JSON body, ``page`` and
    ``per_page`` added to it (Zammad's condition search): a search that changes nothing, so
    it is retried like a ``GET``.

    There is no next URL to compare, so the guard compares page contents: a page identical to
    an earlier non-empty page means the server ignores ``page`` and would repeat forever.

    :raises PaginationLoop: a page repeats, or more than ``max_pages`` pages.
    :raises BadResponse: a page is not a JSON array of objects.
    """
    seen: set[str] = set()
    for page in range(1, max_pages + 1):
        if search is None:
            body, _ = session.get_json(
                path, params={**(params or {}), "page": page, "per_page": per_page}
            )
        else:
            json_body = {**search, "page": page, "per_page": per_page}
            response = session.request("POST", path, params=params, json=json_body, idempotent=True)
            body = session.decode(response, path)
        items = expect_list(body, f"{session.vendor} list page")
        if items:
            fingerprint = _fingerprint(items)
            if fingerprint in seen:
                raise PaginationLoop(
                    f"{session.vendor}: page {page} repeats", vendor=session.vendor
                )
            seen.add(fingerprint)
        yield items
        if len(items) < per_page:
            return
    raise PaginationLoop(f"{session.vendor}: more than {max_pages} pages", vendor=session.vendor)


def cursor_pages(
    session: HttpSession,
    path: str,
    *,
    embedded: str,
    params: Params | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Iterator[list[JSONDict]]:
    """Yield the ``_embedded[embedded]`` items of a HAL list, following ``_links.next.href``.

    Every page must carry both: ``_embedded[embedded]`` as an array (Mollie sends it for an
    empty list too) and ``_links``, whose ``next`` is null on the last page. A page without
    them is not an empty last page but an answer we cannot read (an error object, a proxy's
    ``{}``): taking it for the end would report a partial list as complete. ``count``, the
    number of items on the page, must agree with them when it is given.

    :raises PaginationLoop: a next cursor URL repeats, or more than ``max_pages`` pages.
    :raises BadResponse: a page lacks ``_embedded``/``_links`` of the expected shape.
    """
    url: str = path
    page_params = params
    seen: set[str] = set()
    vendor = session.vendor
    what = f"{vendor} list page"
    for _ in range(max_pages):
        body, response = session.get_json(url, params=page_params)
        page = expect_dict(body, what)
        found = expect_dict(page.get("_embedded"), f"{what} _embedded").get(embedded)
        if found is None:
            raise BadResponse(f"{what}: no _embedded.{embedded}", vendor=vendor)
        rows = expect_list(found, what)
        count = page.get("count")
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count != len(rows)
        ):
            raise BadResponse(f"{what}: count does not match its items", vendor=vendor)
        links = expect_dict(page.get("_links"), f"{what} _links")
        yield rows
        next_link = links.get("next")
        if next_link is None:
            return
        href = expect_dict(next_link, what).get("href")
        if not isinstance(href, str) or not href:
            raise BadResponse(f"{what}: next link without href", vendor=vendor)
        href = _on_our_host(session, _joined(session, response, href))
        if href in seen or href == str(response.request.url):
            raise PaginationLoop(f"{vendor}: next cursor repeats", vendor=vendor)
        seen.add(href)
        url, page_params = href, None
    raise PaginationLoop(f"{vendor}: more than {max_pages} pages", vendor=vendor)


def items(pages: Iterable[list[JSONDict]]) -> Iterator[JSONDict]:
    """Flatten pages into items."""
    for page in pages:
        yield from page


def _next_link(session: HttpSession, response: httpx.Response) -> str | None:
    link = response.links.get("next")
    if not link:
        return None
    url = link.get("url")
    if not url:
        return None
    return _on_our_host(session, _joined(session, response, url))


def _joined(session: HttpSession, response: httpx.Response, url: str) -> str:
    """``url`` resolved against the URL of the page that gave it.

    :raises BadResponse: it is no URL.
    """
    try:
        return str(response.request.url.join(url))
    except httpx.InvalidURL:
        raise BadResponse(
            f"{session.vendor}: a next-page link that is no URL", vendor=session.vendor
        ) from None


def _on_our_host(session: HttpSession, url: str) -> str:
    """``url`` (a next page's) on the configured scheme, host and port, when it names another
    one for a path below the API root.

    A vendor builds its links from its own idea of its address: WordPress behind a proxy that
    ends TLS writes ``http://``, or its site address differs from the one configured
    (``www.``); Freshdesk links to ``{sub}.freshdesk.com`` while a custom help-desk domain is
    configured. Following the link elsewhere would send the credentials there, and refusing
    it would fail every list longer than a page; the same path and query on the configured
    host is the page the link means. A link to a path outside the API root is left as it is
    (and refused when requested).
    """
    link = httpx.URL(url)  # valid: made by _joined
    client = session.client
    if client.same_origin(link):
        return url
    root = client.base_url.path.rstrip("/") + "/"
    if not link.path.startswith(root):
        return url
    base = client.base_url
    return str(link.copy_with(scheme=base.scheme, host=base.host, port=base.port))


def _next_by_number(session: HttpSession, response: httpx.Response) -> str | None:
    """The URL of the next page by number, when ``X-WP-TotalPages`` says there is one."""
    total_pages = _header_count(session, response, "X-WP-TotalPages")
    if total_pages is None:
        return None
    url = response.request.url
    try:
        number = int(url.params.get("page", "1"))
    except ValueError:
        number = 0
    if number < 1:
        raise BadResponse(
            f"{session.vendor}: list page without a page number", vendor=session.vendor
        )
    if number >= total_pages:
        return None
    return str(url.copy_set_param("page", number + 1))


def _header_count(session: HttpSession, response: httpx.Response, name: str) -> int | None:
    """The count in header ``name``, or ``None`` without it. :raises BadResponse: not a count."""
    value = response.headers.get(name)
    if value is None:
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        raise BadResponse(f"{session.vendor}: {name} is not a count", vendor=session.vendor)
    return int(value)


def _fingerprint(items: list[JSONDict]) -> str:
    ids = [item.get("id") for item in items]
    if all(i is not None for i in ids):
        text = json.dumps(ids, default=str)
    else:
        text = json.dumps(items, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
