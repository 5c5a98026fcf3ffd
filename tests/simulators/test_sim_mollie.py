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


def test_refunds_and_chargebacks_per_payment(
    mollie: SimulatorHandle, mollie_client: httpx.Client
) -> None:
    """A payment links to its refunds and chargebacks only when it has some, and shows
    ``amountChargedBack`` only when charged back; the lists are paged like every list."""
    payments, _pages = _all(mollie_client, f"/customers/{SANNE}/payments?limit=250", "payments")
    with_refunds = [p for p in payments if "refunds" in p["_links"]]
    with_chargebacks = [p for p in payments if "chargebacks" in p["_links"]]
    assert [p["id"] for p in with_refunds] == ["tr_Nd4Kp9RtYe"]
    assert len(with_chargebacks) == 1 and with_chargebacks[0]["method"] == "directdebit"
    assert [p["id"] for p in payments if "amountChargedBack" in p] == [with_chargebacks[0]["id"]]
    # paid payments without refunds show their (zero) refunded amount, and no link
    plain = next(p for p in payments if p["id"] == "tr_Sv7Hq2WnXa")
    assert plain["amountRefunded"]["value"] == "0.00" and "refunds" not in plain["_links"]
    refunded = with_refunds[0]
    assert (refunded["amountRefunded"]["value"], refunded["amountRemaining"]["value"]) == (
        "24.95",
        "125.05",
    )
    refunds, pages = _all(mollie_client, refunded["_links"]["refunds"]["href"], "refunds")
    assert pages == 1 and [r["id"] for r in refunds] == ["re_Hq4Tn8Wd2K"]
    refund = refunds[0]
    assert refund["resource"] == "refund" and refund["paymentId"] == "tr_Nd4Kp9RtYe"
    assert "De Vries" in refund["description"] and refund["status"] == "refunded"
    assert refund["_links"]["payment"]["href"].endswith("/payments/tr_Nd4Kp9RtYe")
    one = mollie_client.get(refund["_links"]["self"]["href"]).json()
    assert one["id"] == "re_Hq4Tn8Wd2K"
    chargebacks, _ = _all(
        mollie_client, with_chargebacks[0]["_links"]["chargebacks"]["href"], "chargebacks"
    )
    (chargeback,) = chargebacks
    assert chargeback["reason"]["code"] == "MD06" and chargeback["reversedAt"] is None
    assert chargeback["amount"] == with_chargebacks[0]["amountChargedBack"]
    # a second refund: two pages at limit=1, newest first
    second = dict(mollie.app.refunds["re_Hq4Tn8Wd2K"], id="re_Second2nd1")  # type: ignore[attr-defined]
    second["createdAt"] = "2024-12-09T09:00:00+00:00"
    mollie.app.refunds[second["id"]] = second  # type: ignore[attr-defined]
    paged, pages = _all(mollie_client, "/payments/tr_Nd4Kp9RtYe/refunds?limit=1", "refunds")
    assert pages == 2 and [r["id"] for r in paged] == ["re_Second2nd1", "re_Hq4Tn8Wd2K"]
    # none: an empty list; unknown payment or refund: 404; a refund under another payment: 404
    empty = mollie_client.get("/payments/tr_Sv7Hq2WnXa/refunds").json()
    assert empty["count"] == 0 and empty["_embedded"]["refunds"] == []
    assert mollie_client.get("/payments/tr_Nn0tThere1/refunds").status_code == 404
    assert mollie_client.get("/payments/tr_Nn0tThere1/chargebacks").status_code == 404
    assert mollie_client.get("/payments/tr_Sv7Hq2WnXa/refunds/re_Hq4Tn8Wd2K").status_code == 404
    # the guest payment (no customer) has its own refund
    guest = mollie_client.get("/payments/tr_Gk2Mw8PxLs").json()
    assert "refunds" in guest["_links"] and "chargebacks" not in guest["_links"]


def test_the_other_sanne_has_her_own_refund(mollie_client: httpx.Client) -> None:
    other, _ = _all(mollie_client, "/customers/cst_Pm8xTq2Hn6/payments?limit=250", "payments")
    (refunded,) = [p for p in other if "refunds" in p["_links"]]
    refunds = mollie_client.get(refunded["_links"]["refunds"]["href"]).json()
    (theirs,) = refunds["_embedded"]["refunds"]
    assert theirs["paymentId"] == refunded["id"] and theirs["id"] != "re_Hq4Tn8Wd2K"
    hers = mollie_client.get("/payments/tr_Nd4Kp9RtYe/refunds").json()["_embedded"]["refunds"]
    assert theirs["description"] == hers[0]["description"]  # near-identical: same note
