"""Next-page links that name another address for the same API, over real HTTP.

A vendor writes its ``Link`` header from its own idea of its address: WordPress behind a
proxy that ends TLS writes ``http://`` or its internal host, Freshdesk links to
``{sub}.freshdesk.com`` while the firm configured its custom help-desk domain. Such a link is
followed on the configured host (credentials never go elsewhere), instead of failing every
list longer than one page. A link to a path outside the API root is still refused.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from connectors import ErrorKind, Identity, RetryPolicy, SourceStatus, gather

from .scripted import ScriptedServer

SANNE = Identity.of(emails=["sanne.devries@example.nl"])


def _gather(server: ScriptedServer, retry: RetryPolicy) -> Any:
    with server.connector(retry) as connector:
        return gather([connector], SANNE).sources[server.vendor]


def _relinked(server: ScriptedServer, request: Request, elsewhere: str, **query: str) -> Response:
    """The simulator's answer in small pages, its ``Link`` naming ``elsewhere`` instead."""
    answer = server.forward(request, **query)
    if "Link" in answer.headers:
        answer.headers["Link"] = answer.headers["Link"].replace(server.root_url, elsewhere)
    return answer


def test_woocommerce_links_to_the_shop_s_internal_address_are_followed_here(
    no_wait: RetryPolicy,
) -> None:
    def script(request: Request) -> Response | None:
        if request.path == "/wp-json/wc/v3/orders" and "customer" in request.args:
            return _relinked(server, request, "http://shop.internal:8080", per_page="10")
        return None

    with ScriptedServer("woocommerce") as server:
        expected = _gather(server, no_wait)
        server.script = script
        source = _gather(server, no_wait)
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    assert {r.ref for r in source.records} == {r.ref for r in expected.records}
    pages = [p for m, p in server.requests if p == "/wp-json/wc/v3/orders"]
    assert len(pages) > 4  # her 27 orders in pages of 10, and those in the trash


def test_freshdesk_links_to_its_own_domain_are_followed_on_the_custom_domain(
    no_wait: RetryPolicy,
) -> None:
    def script(request: Request) -> Response | None:
        if request.path == "/api/v2/tickets" and "requester_id" in request.args:
            return _relinked(
                server, request, "https://koffiebarutrecht.freshdesk.com", per_page="5"
            )
        return None

    with ScriptedServer("freshdesk") as server:
        expected = _gather(server, no_wait)
        server.script = script
        source = _gather(server, no_wait)
    assert (source.status, source.missing) == (SourceStatus.COMPLETE, ())
    assert {r.ref for r in source.records} == {r.ref for r in expected.records}


def test_a_link_outside_the_api_is_not_followed(no_wait: RetryPolicy) -> None:
    def script(request: Request) -> Response | None:
        if request.path == "/api/v2/tickets" and "requester_id" in request.args:
            answer = server.forward(request, per_page="5")
            if "Link" in answer.headers:
                answer.headers["Link"] = '<https://elsewhere.test/export?page=2>; rel="next"'
            return answer
        return None

    with ScriptedServer("freshdesk", script) as server:
        source = _gather(server, no_wait)
    assert source.status == SourceStatus.PARTIAL
    assert ("tickets", ErrorKind.BAD_DATA) in [(m.what, m.kind) for m in source.missing]
    assert not [p for _, p in server.requests if p == "/export"]
