"""Paginators follow every page once and stop on repeated next URLs or cursors."""

from __future__ import annotations

import httpx
import pytest

from connectors.errors import BadResponse, PaginationLoop
from connectors.http import Deadline, HttpClient, RetryPolicy
from connectors.pagination import cursor_pages, items, link_header_pages, short_page_pages

BASE = "https://api.example.test/v2"


def session_for(handler, no_wait: RetryPolicy):  # type: ignore[no-untyped-def]
    client = HttpClient("testvendor", BASE, retry=no_wait, transport=httpx.MockTransport(handler))
    return client, client.session(Deadline(10))


def test_link_header_pages_follow_next_until_absent(no_wait: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        headers = {"Link": f'<{BASE}/contacts?page={page + 1}&per_page=2>; rel="next"'}
        return httpx.Response(200, json=[{"id": page}], headers=headers if page < 3 else {})

    client, session = session_for(handler, no_wait)
    with client:
        found = list(items(link_header_pages(session, "contacts", per_page=2)))
    assert found == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert session.stats.requests == 3 and session.stats.duplicates == 0


def test_link_header_loop_raises(no_wait: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        link = f'<{BASE}/contacts?page=2&per_page=2>; rel="next"'
        return httpx.Response(200, json=[{"id": 1}], headers={"Link": link})

    client, session = session_for(handler, no_wait)
    with client, pytest.raises(PaginationLoop):
        list(link_header_pages(session, "contacts", per_page=2))
    assert session.stats.requests == 2


def test_link_header_page_of_wrong_shape_is_bad_response(no_wait: RetryPolicy) -> None:
    client, session = session_for(lambda r: httpx.Response(200, json={"items": []}), no_wait)
    with client, pytest.raises(BadResponse):
        list(link_header_pages(session, "contacts"))


def test_short_page_pages_stop_at_a_short_page(no_wait: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(
            200, json=[{"id": page * 10 + i} for i in range(2 if page < 3 else 1)]
        )

    client, session = session_for(handler, no_wait)
    with client:
        pages = list(short_page_pages(session, "users/search", per_page=2))
    assert [len(p) for p in pages] == [2, 2, 1]


def test_short_page_pages_stop_on_an_empty_full_boundary(no_wait: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(200, json=[{"id": page}] if page == 1 else [])

    client, session = session_for(handler, no_wait)
    with client:
        assert [len(p) for p in short_page_pages(session, "users", per_page=1)] == [1, 0]


def test_short_page_pages_raise_when_the_server_ignores_page(no_wait: RetryPolicy) -> None:
    client, session = session_for(
        lambda r: httpx.Response(200, json=[{"id": 1}, {"id": 2}]), no_wait
    )
    with client, pytest.raises(PaginationLoop):
        list(short_page_pages(session, "users", per_page=2))
    assert session.stats.requests == 2


def hal(ids: list[str], next_href: str | None) -> dict[str, object]:
    return {
        "count": len(ids),
        "_embedded": {"customers": [{"id": i} for i in ids]},
        "_links": {"next": None if next_href is None else {"href": next_href}},
    }


def test_cursor_pages_follow_links_next(no_wait: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "from" not in request.url.params:
            return httpx.Response(200, json=hal(["cst_a", "cst_b"], f"{BASE}/customers?from=cst_c"))
        return httpx.Response(200, json=hal(["cst_c"], None))

    client, session = session_for(handler, no_wait)
    with client:
        found = [c["id"] for c in items(cursor_pages(session, "customers", embedded="customers"))]
    assert found == ["cst_a", "cst_b", "cst_c"]


def test_cursor_loop_raises(no_wait: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=hal(["cst_a"], f"{BASE}/customers?from=cst_b"))

    client, session = session_for(handler, no_wait)
    with client, pytest.raises(PaginationLoop):
        list(cursor_pages(session, "customers", embedded="customers"))


def test_cursor_page_of_wrong_shape_is_bad_response(no_wait: RetryPolicy) -> None:
    client, session = session_for(
        lambda r: httpx.Response(200, json={"_embedded": {"customers": "x"}}), no_wait
    )
    with client, pytest.raises(BadResponse):
        list(cursor_pages(session, "customers", embedded="customers"))


def test_max_pages_guard(no_wait: RetryPolicy) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        link = f'<{BASE}/c?page={page + 1}>; rel="next"'
        return httpx.Response(200, json=[{"id": page}], headers={"Link": link})

    client, session = session_for(handler, no_wait)
    with client, pytest.raises(PaginationLoop):
        list(link_header_pages(session, "c", max_pages=5))
