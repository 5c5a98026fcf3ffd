"""Zammad simulator: 403 without credentials, fuzzy user search, tickets, privacy tasks."""

from __future__ import annotations

import base64

import httpx

from simulators import SimulatorHandle, start
from simulators.world import PHONE_ONLY_ZAMMAD_ID


def test_auth_errors(zammad: SimulatorHandle) -> None:
    missing = httpx.get(zammad.url("/users/27"))
    assert missing.status_code == 403
    assert missing.json() == {
        "error": "Authentication required",
        "error_human": "Authentication required",
    }
    assert missing.headers["X-Failure"] == "Authentication required"
    wrong = httpx.get(zammad.url("/users/27"), headers={"Authorization": "Token token=nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "Can't find User for Token"
    bad_basic = httpx.get(zammad.url("/users/27"), auth=("admin", "nope"))
    assert bad_basic.status_code == 401
    assert bad_basic.json()["error"] == "Invalid BasicAuth credentials"
    creds = zammad.credentials
    basic = httpx.get(zammad.url("/users/27"), auth=(creds["username"], creds["password"]))
    assert basic.status_code == 200
    bearer = httpx.get(
        zammad.url("/users/27"), headers={"Authorization": f"Bearer {creds['token']}"}
    )
    assert bearer.status_code == 200
    token = base64.b64encode(b"x").decode()
    assert httpx.get(zammad.url("/users/27"), headers={"Authorization": token}).status_code == 403


def test_user_search_is_fuzzy(zammad_client: httpx.Client) -> None:
    found = zammad_client.get("/users/search", params={"query": "email:sanne.devries@example.nl"})
    emails = [u["email"] for u in found.json()]
    assert "sanne.devries@example.nl" in emails and "sanne.de.vries@example.nl" in emails
    assert "Link" not in found.headers
    page = zammad_client.get("/users/search", params={"query": "sanne", "page": 1, "per_page": 3})
    assert len(page.json()) == 3
    phone = zammad_client.get("/users/search", params={"query": 'phone:"+31 6 12345678"'})
    assert 27 in [u["id"] for u in phone.json()]
    clamped = zammad_client.get("/users", params={"per_page": 10_000})
    assert clamped.status_code == 200 and len(clamped.json()) > 30
    assert zammad_client.get("/users/9999").json()["error"] == "Couldn't find User with 'id'=9999"


def test_a_phone_search_needs_the_stored_spelling(zammad_client: httpx.Client) -> None:
    """Zammad keeps a number as typed: Lieke's "06-13572468" is found by that spelling (or a
    part of it), not by another one; Sanne's "+31 6 12345678" not by "+31612345678"."""

    def ids(query: str) -> list[int]:
        return [u["id"] for u in zammad_client.get("/users/search", params={"query": query}).json()]

    for spelling in ("+31613572468", "0613572468", "06 13572468", "+31 6 13572468"):
        assert ids(f'phone:"{spelling}"') == []
    assert ids('phone:"06-13572468"') == ids("phone:13572468") == [PHONE_ONLY_ZAMMAD_ID]
    assert ids('mobile:"06-13572468"') == []
    assert 27 not in ids('phone:"+31612345678"')


def test_ticket_search_shapes_and_paging(zammad_client: httpx.Client) -> None:
    params: dict[str, str | int] = {"query": "customer_id:27", "expand": "true", "per_page": 5}
    ids: list[int] = []
    page = 1
    while True:
        chunk = zammad_client.get("/tickets/search", params={**params, "page": page}).json()
        assert all(t["customer"] == "sanne.devries@example.nl" for t in chunk)
        assert all(isinstance(t["number"], str) and t["state"] for t in chunk)
        ids += [t["id"] for t in chunk]
        if len(chunk) < 5:
            break
        page += 1
    assert len(ids) >= 15 and {118, 163, 171} <= set(ids) and page >= 3
    full = zammad_client.get(
        "/tickets/search",
        params={"query": "customer_id:27", "full": "true", "with_total_count": "true"},
    ).json()
    assert full["total_count"] == len(ids)
    assert set(full["assets"]["Ticket"]) == {str(i) for i in full["record_ids"]}
    condition = zammad_client.post(
        "/tickets/search",
        json={
            "condition": {"ticket.customer_id": {"operator": "is", "value": "27"}},
            "expand": True,
            "limit": 200,
        },
    ).json()
    assert sorted(t["id"] for t in condition) == sorted(ids)


def test_articles(zammad_client: httpx.Client) -> None:
    articles = zammad_client.get("/ticket_articles/by_ticket/118").json()
    assert [a["id"] for a in articles] == [301, 302, 303]
    assert articles[2]["internal"] is True and articles[2]["type"] == "note"
    assert articles[0]["attachments"][0]["filename"] == "lekkage.jpg"
    assert zammad_client.get("/ticket_articles/by_ticket/99999").status_code == 404


def test_update_user(zammad_client: httpx.Client) -> None:
    body = {"address": "Nieuwegracht 7\n3512 LB Utrecht"}
    updated = zammad_client.put("/users/27", json=body)
    assert updated.status_code == 200 and updated.json()["address"] == body["address"]
    assert zammad_client.get("/users/27").json()["address"] == body["address"]
    taken = zammad_client.put("/users/27", json={"email": "sanne.de.vries@example.nl"})
    assert taken.status_code == 422
    assert taken.json()["error"] == (
        "Email address 'sanne.de.vries@example.nl' is already used for another user."
    )


def test_data_privacy_task(zammad_client: httpx.Client) -> None:
    created = zammad_client.post(
        "/data_privacy_tasks", json={"deletable_type": "User", "deletable_id": 27}
    )
    assert created.status_code == 201
    task = created.json()
    assert task["state"] == "in process"
    assert task["preferences"]["user"]["email"] == "s*s@e*e.nl"
    assert {118, 163, 171} <= set(task["preferences"]["customer_tickets"])
    assert zammad_client.get("/users/27").status_code == 200
    polled = zammad_client.get(f"/data_privacy_tasks/{task['id']}").json()
    assert polled["state"] == "in process"
    polled = zammad_client.get(f"/data_privacy_tasks/{task['id']}").json()
    assert polled["state"] == "completed"
    assert zammad_client.get("/users/27").status_code == 404
    assert zammad_client.get("/ticket_articles/by_ticket/118").status_code == 404
    assert zammad_client.get("/users/41").status_code == 200


def test_data_privacy_tasks_are_listed_and_not_duplicated(zammad_client: httpx.Client) -> None:
    assert zammad_client.get("/data_privacy_tasks").json() == []
    body = {"deletable_type": "User", "deletable_id": 27}
    created = zammad_client.post("/data_privacy_tasks", json=body)
    assert created.status_code == 201
    listed = zammad_client.get("/data_privacy_tasks").json()
    assert [(t["id"], t["deletable_id"], t["state"]) for t in listed] == [
        (created.json()["id"], 27, "in process")
    ]
    again = zammad_client.post("/data_privacy_tasks", json=body)
    assert again.status_code == 422
    assert set(again.json()) == {"error", "error_human"}


def test_delete_ticket_needs_admin_rights(
    zammad: SimulatorHandle, zammad_client: httpx.Client
) -> None:
    """``DELETE /tickets/{id}`` (and ``/users/{id}``) needs full admin rights, which the
    portal's token (``ticket.agent``, ``admin.user``, ``admin.data_privacy``) lacks."""
    for path in ("/tickets/118", "/users/41"):
        refused = zammad_client.delete(path)
        assert refused.status_code == 403
        assert refused.json()["error"] == "Not authorized"
    assert zammad_client.get("/tickets/118").status_code == 200
    creds = zammad.credentials
    with httpx.Client(
        base_url=zammad.base_url, auth=(creds["username"], creds["password"])
    ) as admin:
        response = admin.delete("/tickets/118")
        assert (response.status_code, response.text) == (200, "")
        assert admin.get("/tickets/118").status_code == 404
        assert admin.get("/ticket_articles/by_ticket/118").status_code == 404
        assert admin.delete("/tickets/118").status_code == 404


def test_a_ticket_is_deleted_by_a_data_privacy_task(zammad_client: httpx.Client) -> None:
    created = zammad_client.post(
        "/data_privacy_tasks", json={"deletable_type": "Ticket", "deletable_id": 118}
    )
    assert created.status_code == 201
    task = created.json()
    while task["state"] != "completed":
        task = zammad_client.get(f"/data_privacy_tasks/{task['id']}").json()
    assert zammad_client.get("/tickets/118").status_code == 404
    assert zammad_client.get("/ticket_articles/by_ticket/118").status_code == 404
    assert zammad_client.get("/users/27").status_code == 200  # only the ticket


def test_data_privacy_tasks_need_their_permission() -> None:
    handle = start("zammad", permissions=frozenset({"ticket.agent", "admin.user"}))
    try:
        headers = {"Authorization": f"Token token={handle.credentials['token']}"}
        body = {"deletable_type": "Ticket", "deletable_id": 118}
        refused = httpx.post(handle.url("/data_privacy_tasks"), json=body, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"] == "Not authorized"
    finally:
        handle.stop()


def test_without_elasticsearch_searches_are_sql_contains() -> None:
    """Zammad's SQL fallback: the whole query as a substring (``email:…`` and
    ``customer_id:27`` are text), while the condition search stays exact."""
    handle = start("zammad", elasticsearch=False)
    headers = {"Authorization": f"Token token={handle.credentials['token']}"}
    try:
        with httpx.Client(base_url=handle.base_url, headers=headers) as client:
            by_field = client.get(
                "/users/search", params={"query": "email:sanne.devries@example.nl"}
            )
            assert by_field.status_code == 200 and by_field.json() == []
            bare = client.get("/users/search", params={"query": "sanne.devries@example.nl"})
            assert {u["email"] for u in bare.json()} >= {"sanne.devries@example.nl"}
            by_phone = client.get("/users/search", params={"query": 'phone:"+31 6 12345678"'})
            assert by_phone.json() == []
            query = {"query": "customer_id:27", "expand": "true"}
            assert client.get("/tickets/search", params=query).json() == []
            condition = {"ticket.customer_id": {"operator": "is", "value": "27"}}
            found = client.post(
                "/tickets/search", json={"condition": condition, "expand": True, "per_page": 100}
            ).json()
            assert len(found) == 17 and {t["customer_id"] for t in found} == {27}
    finally:
        handle.stop()
