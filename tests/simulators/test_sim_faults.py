"""Fault modes, latency, the request log and the HTTP control endpoint, for every vendor."""

from __future__ import annotations

import email.utils
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from simulators import FAULT_MODES, SimulatorGroup, SimulatorHandle


@dataclass(frozen=True)
class Probe:
    """An authenticated request that normally succeeds, and the vendor's expiry answer."""

    path: str
    auth: Any
    headers: dict[str, str]
    expired_status: int
    expired_body: dict[str, Any]


def _probe(handle: SimulatorHandle) -> Probe:
    c = handle.credentials
    if handle.vendor == "woocommerce":
        return Probe(
            "/customers",
            (c["consumer_key"], c["consumer_secret"]),
            {},
            401,
            {
                "code": "woocommerce_rest_cannot_view",
                "message": "Sorry, you cannot list resources.",
                "data": {"status": 401},
            },
        )
    if handle.vendor == "moneybird":
        return Probe(
            f"/{c['administration_id']}/contacts.json",
            None,
            {"Authorization": f"Bearer {c['token']}"},
            401,
            {"error": "Token is invalid or expired"},
        )
    if handle.vendor == "zammad":
        message = "Not authorized (token expired)!"
        return Probe(
            "/users",
            None,
            {"Authorization": f"Token token={c['token']}"},
            401,
            {"error": message, "error_human": message},
        )
    if handle.vendor == "freshdesk":
        return Probe(
            "/contacts",
            (c["api_key"], "X"),
            {},
            401,
            {
                "code": "invalid_credentials",
                "message": "You have to be logged in to perform this action.",
            },
        )
    return Probe(
        "/customers",
        None,
        {"Authorization": f"Bearer {c['api_key']}"},
        401,
        {
            "status": 401,
            "title": "Unauthorized Request",
            "detail": "Missing authentication, or failed to authenticate",
            "_links": {
                "documentation": {
                    "href": "https://docs.mollie.com/overview/authentication",
                    "type": "text/html",
                }
            },
        },
    )


VENDORS = ["woocommerce", "moneybird", "zammad", "freshdesk", "mollie"]


@pytest.fixture(params=VENDORS)
def handle(request: pytest.FixtureRequest, sims: SimulatorGroup) -> SimulatorHandle:
    """Each simulator in turn."""
    return sims[request.param]


def _get(client: httpx.Client, handle: SimulatorHandle) -> httpx.Response:
    probe = _probe(handle)
    return client.get(handle.url(probe.path), auth=probe.auth, headers=probe.headers)


def test_down_refuses_connections_and_comes_back(handle: SimulatorHandle) -> None:
    port = handle.port
    with httpx.Client() as client:
        assert _get(client, handle).status_code == 200  # leaves a keep-alive connection
        handle.set_fault("down")
        assert not handle.running
        with pytest.raises(httpx.ConnectError):
            _get(client, handle)
        with pytest.raises(httpx.ConnectError):
            httpx.get(handle.root_url + "/__simulator__/fault")
        handle.set_fault("none")
        assert handle.running and handle.port == port
        assert _get(client, handle).status_code == 200


def test_down_over_http_for_seconds(handle: SimulatorHandle) -> None:
    control = httpx.post(
        handle.root_url + "/__simulator__/fault", json={"mode": "down", "for_seconds": 0.3}
    )
    assert control.status_code == 200 and control.json()["fault"]["mode"] == "down"
    with httpx.Client() as client:
        with pytest.raises(httpx.ConnectError):
            _get(client, handle)
        deadline = time.monotonic() + 5
        while not handle.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _get(client, handle).status_code == 200
    assert handle.fault.mode == "none"


def test_slow_and_latency(handle: SimulatorHandle) -> None:
    with httpx.Client() as client:
        handle.set_fault("slow", delay=0.2, count=1)
        started = time.monotonic()
        assert _get(client, handle).status_code == 200
        assert time.monotonic() - started >= 0.2
        started = time.monotonic()
        assert _get(client, handle).status_code == 200
        assert time.monotonic() - started < 0.2
        handle.set_latency(0.1)
        started = time.monotonic()
        assert _get(client, handle).status_code == 200
        assert time.monotonic() - started >= 0.1


def test_peak_in_flight_counts_the_requests_answered_at_once(handle: SimulatorHandle) -> None:
    with httpx.Client() as client:
        for _ in range(2):
            assert _get(client, handle).status_code == 200
    assert handle.peak_in_flight == 1  # one after another
    handle.set_latency(0.3)
    with httpx.Client() as client, ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _: _get(client, handle), range(3)))
    assert [a.status_code for a in answers] == [200] * 3
    assert 1 < handle.peak_in_flight <= 3
    handle.clear_requests()
    assert handle.peak_in_flight == 0


def test_rate_limit_for_k_requests_then_success(handle: SimulatorHandle) -> None:
    handle.set_fault("rate_limit", count=2, retry_after=3)
    with httpx.Client() as client:
        for _ in range(2):
            limited = _get(client, handle)
            assert limited.status_code == 429
            assert limited.headers["Retry-After"] == "3"
        assert _get(client, handle).status_code == 200
    assert [r.status for r in handle.requests] == [429, 429, 200]
    assert [r.fault for r in handle.requests] == ["rate_limit", "rate_limit", "none"]


def test_retry_after_as_an_http_date(handle: SimulatorHandle) -> None:
    """Hosts and proxies write ``Retry-After`` as an HTTP date too: the date that many
    seconds from now, for a 429 and for a 503 alike."""
    for mode, status in (("rate_limit", 429), ("unavailable", 503)):
        handle.set_fault(mode, count=1, retry_after=120, retry_after_format="http-date")
        with httpx.Client() as client:
            answer = _get(client, handle)
        assert answer.status_code == status
        when = email.utils.parsedate_to_datetime(answer.headers["Retry-After"])
        assert answer.headers["Retry-After"].endswith(" GMT")
        assert 115 <= (when - datetime.now(UTC)).total_seconds() <= 120
    with pytest.raises(ValueError, match="Retry-After format"):
        handle.set_fault("rate_limit", retry_after_format="minutes")


def test_unavailable_for_k_requests_then_success(handle: SimulatorHandle) -> None:
    """Maintenance or an overloaded host: 503 with ``Retry-After`` in seconds by default
    (WooCommerce: WordPress's HTML maintenance page)."""
    handle.set_fault("unavailable", count=1, retry_after=600)
    with httpx.Client() as client:
        down = _get(client, handle)
        assert (down.status_code, down.headers["Retry-After"]) == (503, "600")
        html = down.headers["Content-Type"].startswith("text/html")
        assert html == (handle.vendor in ("woocommerce", "zammad"))
        assert _get(client, handle).status_code == 200


def test_html_page_with_200(handle: SimulatorHandle) -> None:
    """A firewall's or host's page in front of the API: status 200, HTML, no data."""
    handle.set_fault("html_page", count=1)
    with httpx.Client() as client:
        page = _get(client, handle)
        assert page.status_code == 200
        assert page.headers["Content-Type"].startswith("text/html")
        assert page.text.startswith("<!DOCTYPE html>")
        assert _get(client, handle).status_code == 200
    assert [r.fault for r in handle.requests] == ["html_page", "none"]


def test_cut_off_closes_the_connection_mid_body(handle: SimulatorHandle) -> None:
    """The answer announces its full length, sends half and closes; the request itself was
    handled (a write is done)."""
    handle.set_fault("cut_off", count=1)
    with httpx.Client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            _get(client, handle)
        assert _get(client, handle).status_code == 200
    assert [(r.status, r.fault) for r in handle.requests] == [(200, "cut_off"), (200, "none")]


def test_server_error_then_success(handle: SimulatorHandle) -> None:
    handle.set_fault("server_error", count=1)
    with httpx.Client() as client:
        assert _get(client, handle).status_code == 500
        assert _get(client, handle).status_code == 200


def test_malformed_and_wrong_shape(handle: SimulatorHandle) -> None:
    with httpx.Client() as client:
        normal = _get(client, handle).json()
        handle.set_fault("malformed")
        broken = _get(client, handle)
        assert broken.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            broken.json()
        handle.set_fault("wrong_shape")
        odd = _get(client, handle)
        assert odd.status_code == 200
        assert type(odd.json()) is not type(normal)


def test_expired_credentials(handle: SimulatorHandle) -> None:
    probe = _probe(handle)
    handle.set_fault("expired_credentials")
    with httpx.Client() as client:
        response = _get(client, handle)
    assert response.status_code == probe.expired_status
    assert response.json() == probe.expired_body


def test_request_log(handle: SimulatorHandle) -> None:
    with httpx.Client() as client:
        probe = _probe(handle)
        client.get(
            handle.url(probe.path),
            params={"page": 2, "per_page": 3},
            auth=probe.auth,
            headers=probe.headers,
        )
        client.get(handle.root_url + "/__simulator__/requests")
    log = handle.requests
    assert len(log) == 1 and handle.request_count("GET") == 1
    assert log[0].method == "GET" and log[0].path == handle.app.api_prefix + probe.path
    assert log[0].query == {"page": "2", "per_page": "3"}
    handle.clear_requests()
    assert handle.requests == []


def test_control_endpoint(sims: SimulatorGroup) -> None:
    handle = sims["freshdesk"]
    root = handle.root_url + "/__simulator__"
    info = httpx.get(root).json()
    assert info["vendor"] == "freshdesk" and info["fault_modes"] == list(FAULT_MODES)
    assert httpx.post(root + "/fault", json={"mode": "nonsense"}).status_code == 400
    response = httpx.post(
        root + "/fault", json={"mode": "rate_limit", "count": 1, "retry_after": 2, "latency": 0.01}
    )
    assert response.json()["fault"]["remaining"] == 1 and response.json()["latency"] == 0.01
    assert handle.fault.mode == "rate_limit"
    assert httpx.post(root + "/latency", json={"seconds": 0}).json() == {"latency": 0.0}
    with httpx.Client(auth=(handle.credentials["api_key"], "X")) as client:
        assert client.get(handle.url("/contacts")).status_code == 429
        assert client.get(handle.url("/contacts")).status_code == 200
    log = httpx.get(root + "/requests").json()
    assert [r["status"] for r in log] == [429, 200]
    assert httpx.delete(root + "/requests").status_code == 204
    assert httpx.post(root + "/reset").json() == {"reset": True}
    assert handle.requests == []


def test_invalid_fault_mode(sims: SimulatorGroup) -> None:
    with pytest.raises(ValueError, match="unknown fault mode"):
        sims["mollie"].set_fault("explode")
    with pytest.raises(ValueError):
        sims["mollie"].set_fault("rate_limit", count=0)


def test_reset_restores_data_and_server(sims: SimulatorGroup) -> None:
    woo = sims["woocommerce"]
    auth = (woo.credentials["consumer_key"], woo.credentials["consumer_secret"])
    httpx.put(woo.url("/customers/101"), auth=auth, json={"first_name": "Changed"})
    woo.set_fault("down")
    woo.reset()
    assert woo.running
    assert httpx.get(woo.url("/customers/101"), auth=auth).json()["first_name"] == "Sanne"
