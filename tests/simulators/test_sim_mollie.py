"""Mollie simulator: Bearer auth, cursor pagination, customers, payments, mandates,
subscriptions."""

from __future__ import annotations

from typing import Any

import httpx

from simulators import SimulatorHandle

SANNE = "cst_Vd3sNq7Lw2"


def _all(client: httpx.Client, url: str, kind: str) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        body = client.get(next_url).json()
        pages += 1
        assert body["count"] == len(body["_embedded"][kind])
        items += body["_embedded"][kind]
        next_url = body["_links"]["next"]["href"] if body["_links"]["next"] else None
    return items, pages


def test_auth_error(mollie: SimulatorHandle) -> None:
    for headers in ({}, {"Authorization": "Bearer test_wrong"}):
        response = httpx.get(mollie.url("/customers"), headers=headers)
        assert response.status_code == 401
        assert response.headers["Content-Type"].startswith("application/hal+json")
        assert response.json()["detail"] == "Missing authentication, or failed to authenticate"


def test_cursor_pagination(mollie_client: httpx.Client) -> None:
    first = mollie_client.get("/customers", params={"limit": 3}).json()
    assert first["count"] == 3 and first["_links"]["previous"] is None
    next_href = first["_links"]["next"]["href"]
    second = mollie_client.get(next_href).json()
    assert second["_embedded"]["customers"][0]["id"] in next_href
    assert first["_embedded"]["customers"][0]["id"] in second["_links"]["previous"]["href"]
    customers, pages = _all(mollie_client, "/customers?limit=10", "customers")
    assert pages >= 4 and len(customers) == len({c["id"] for c in customers})
    emails = [c["email"] for c in customers]
    # No e-mail filter: the list mixes both Sannes, and Sanne has a second customer
    # object whose address differs only in letter case.
    matches = [c["id"] for c in customers if c["email"].lower() == "sanne.devries@example.nl"]
    assert sorted(matches) == sorted([SANNE, "cst_Tz4Kd8Wm1S"])
    assert "sanne.de.vries@example.nl" in emails
    bad = mollie_client.get("/customers", params={"limit": 251})
    assert bad.status_code == 400 and bad.json()["field"] == "limit"


def test_customer_payments_and_mandates(mollie_client: httpx.Client) -> None:
    customer = mollie_client.get(f"/customers/{SANNE}").json()
    assert {"payments", "mandates"} <= set(customer["_links"])
    payments, pages = _all(mollie_client, f"/customers/{SANNE}/payments?limit=5", "payments")
    assert pages >= 3 and all(p["customerId"] == SANNE for p in payments)
    assert {"tr_Sv7Hq2WnXa", "tr_Nd4Kp9RtYe", "tr_Rb6Yt3UvQm"} <= {p["id"] for p in payments}
    assert "tr_Gk2Mw8PxLs" not in {p["id"] for p in payments}
    guest = mollie_client.get("/payments/tr_Gk2Mw8PxLs").json()
    assert "customerId" not in guest and "customer" not in guest["_links"]
    mandates = mollie_client.get(f"/customers/{SANNE}/mandates").json()
    assert mandates["_embedded"]["mandates"][0]["details"]["consumerAccount"] == (
        "NL00TEST0123456789"
    )
    missing = mollie_client.get("/customers/cst_Nn0tThere1")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "No customer exists with token cst_Nn0tThere1."


def test_patch_and_delete(mollie_client: httpx.Client) -> None:
    patched = mollie_client.patch(f"/customers/{SANNE}", json={"name": "S. de Vries"})
    assert patched.status_code == 200 and patched.json()["name"] == "S. de Vries"
    assert mollie_client.get(f"/customers/{SANNE}").json()["name"] == "S. de Vries"
    invalid = mollie_client.patch(f"/customers/{SANNE}", json={"email": "sanne.devries@"})
    assert invalid.status_code == 422 and invalid.json()["field"] == "email"
    deleted = mollie_client.delete(f"/customers/{SANNE}")
    assert deleted.status_code == 204 and deleted.content == b""
    gone = mollie_client.get(f"/customers/{SANNE}")
    assert gone.status_code == 410 and gone.json()["title"] == "Gone"
    payment = mollie_client.get("/payments/tr_Sv7Hq2WnXa").json()
    assert payment["customerId"] == SANNE


def test_subscriptions_by_state(mollie_client: httpx.Client) -> None:
    """Her active and her canceled subscription, paged by ``from``/``limit``, each with the
    fields of its state; the other Sanne's are listed only under her own customer."""
    customer = mollie_client.get(f"/customers/{SANNE}").json()
    assert customer["_links"]["subscriptions"]["href"].endswith(f"/customers/{SANNE}/subscriptions")
    url = f"/customers/{SANNE}/subscriptions?limit=1"
    subs, pages = _all(mollie_client, url, "subscriptions")
    assert pages == 2 and {s["customerId"] for s in subs} == {SANNE}
    by_status = {s["status"]: s for s in subs}
    assert set(by_status) == {"active", "canceled"}
    active, canceled = by_status["active"], by_status["canceled"]
    assert "nextPaymentDate" in active and "canceledAt" not in active
    assert "canceledAt" in canceled and "nextPaymentDate" not in canceled
    assert active["_links"]["customer"]["href"].endswith(f"/customers/{SANNE}")
    assert active["_links"]["mandate"]["href"].endswith(f"/mandates/{active['mandateId']}")
    one = mollie_client.get(f"/customers/{SANNE}/subscriptions/{active['id']}").json()
    assert one["id"] == active["id"] and one["resource"] == "subscription"
    other = mollie_client.get("/customers/cst_Pm8xTq2Hn6/subscriptions").json()
    theirs = {s["id"] for s in other["_embedded"]["subscriptions"]}
    assert theirs and not theirs & {s["id"] for s in subs}
    # someone else's subscription is not found under her customer
    stranger = mollie_client.get(f"/customers/{SANNE}/subscriptions/{next(iter(theirs))}")
    assert stranger.status_code == 404


def test_cancel_and_delete_cancel_subscriptions(
    mollie: SimulatorHandle, mollie_client: httpx.Client
) -> None:
    page = mollie_client.get(f"/customers/{SANNE}/subscriptions").json()
    active = next(s for s in page["_embedded"]["subscriptions"] if s["status"] == "active")
    path = f"/customers/{SANNE}/subscriptions/{active['id']}"
    canceled = mollie_client.delete(path)
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert "canceledAt" in canceled.json() and "nextPaymentDate" not in canceled.json()
    assert mollie_client.delete(path).status_code == 422  # canceled already
    # deleting a customer cancels their subscriptions (and the customer answers 410)
    other = "cst_Pm8xTq2Hn6"
    assert mollie_client.delete(f"/customers/{other}").status_code == 204
    assert mollie_client.get(f"/customers/{other}/subscriptions").status_code == 410
    held = [s for s in mollie.app.subscriptions.values() if s["customerId"] == other]  # type: ignore[attr-defined]
    assert held and all(s["status"] == "canceled" and s["canceledAt"] for s in held)
