"""Freshdesk simulator: exact filters, the hidden 30-day ticket window, paging, writes."""

from __future__ import annotations

from typing import Any

import httpx

from simulators import SimulatorHandle, World
from simulators.world import PHONE_ONLY_FRESHDESK_ID

SANNE = "sanne.devries@example.nl"
SANNE_ID = 80012345671


def test_auth_errors(fd: SimulatorHandle) -> None:
    expected = {
        "code": "invalid_credentials",
        "message": "You have to be logged in to perform this action.",
    }
    for auth in (None, ("wrong", "X")):
        response = httpx.get(fd.url("/contacts"), auth=auth)
        assert response.status_code == 401 and response.json() == expected


def test_exact_filters(fd_client: httpx.Client) -> None:
    one = fd_client.get("/contacts", params={"email": SANNE})
    assert [c["id"] for c in one.json()] == [SANNE_ID]
    assert int(one.headers["X-RateLimit-Remaining"]) < int(one.headers["X-RateLimit-Total"])
    assert one.headers["X-RateLimit-Used-CurrentRequest"] == "1"
    none = fd_client.get("/contacts", params={"email": "nobody@example.nl"})
    assert none.status_code == 200 and none.json() == []
    other = fd_client.get("/contacts", params={"email": "sanne.de.vries@example.nl"}).json()
    assert [c["id"] for c in other] == [80012345702]
    # a phone filter matches the number as stored: Kees's "+31612345678", Sanne's
    # "+31 6 12345678"
    shared = fd_client.get("/contacts", params={"mobile": "+31612345678"}).json()
    assert {c["name"] for c in shared} == {"Kees de Vries"}
    spelled = fd_client.get("/contacts", params={"mobile": "+31 6 12345678"}).json()
    assert [c["id"] for c in spelled] == [SANNE_ID]
    # the filter also matches other addresses, which only the contact's own view shows
    second = fd_client.get("/contacts", params={"email": "S.devries.werk@example.nl"}).json()
    assert [c["id"] for c in second] == [SANNE_ID] and "other_emails" not in second[0]
    full = fd_client.get(f"/contacts/{SANNE_ID}").json()
    assert full["other_emails"] == ["s.devries.werk@example.nl"] and full["deleted"] is False
    assert fd_client.get("/contacts/1").status_code == 404


def test_phone_filters_match_the_stored_spelling_only(fd_client: httpx.Client) -> None:
    """Lieke's mobile is stored as "06 13572468": only that spelling finds her."""
    for spelling in ("+31613572468", "0613572468", "06-13572468", "+31 6 13572468"):
        assert fd_client.get("/contacts", params={"mobile": spelling}).json() == []
    found = fd_client.get("/contacts", params={"mobile": "06 13572468"}).json()
    assert [(c["id"], c["email"]) for c in found] == [(PHONE_ONLY_FRESHDESK_ID, None)]
    assert fd_client.get("/contacts", params={"phone": "06 13572468"}).json() == []


def test_pagination_link_next_only(fd_client: httpx.Client) -> None:
    first = fd_client.get("/contacts", params={"per_page": 3})
    assert set(first.links) == {"next"}
    seen = [c["id"] for c in first.json()]
    url: str | None = first.links["next"]["url"]
    while url:
        page = fd_client.get(url)
        assert "prev" not in page.links
        seen += [c["id"] for c in page.json()]
        url = page.links.get("next", {}).get("url")
    assert len(seen) == len(set(seen)) > 30
    too_big = fd_client.get("/contacts", params={"per_page": 101})
    assert too_big.status_code == 400
    assert too_big.json()["errors"][0]["field"] == "per_page"


def test_ticket_list_hides_old_tickets_without_updated_since(
    fd_client: httpx.Client, world: World
) -> None:
    recent = fd_client.get("/tickets", params={"email": SANNE}).json()
    everything: list[dict[str, Any]] = []
    params: dict[str, str | int] = {
        "email": SANNE,
        "updated_since": "2015-01-01T00:00:00Z",
        "include": "requester,stats,description",
        "per_page": 5,
    }
    response = fd_client.get("/tickets", params=params)
    assert response.headers["X-RateLimit-Used-CurrentRequest"] == "4"
    while True:
        everything += response.json()
        if "next" not in response.links:
            break
        response = fd_client.get(response.links["next"]["url"])
    assert 0 < len(recent) < len(everything) and len(everything) >= 15
    assert {1190, 1207, 1233} <= {t["id"] for t in everything}
    assert {1190, 1207, 1233}.isdisjoint({t["id"] for t in recent})
    first = everything[0]
    assert first["requester"]["email"] == SANNE and "stats" in first and "description" in first
    assert "description" not in recent[0] and "requester" not in recent[0]
    by_id = fd_client.get(
        "/tickets", params={"requester_id": SANNE_ID, "updated_since": "2015-01-01T00:00:00Z"}
    )
    assert len(by_id.json()) == min(len(everything), 30)
    assert fd_client.get("/tickets", params={"page": 301}).status_code == 400


def test_ticket_and_conversations(fd_client: httpx.Client) -> None:
    ticket = fd_client.get("/tickets/1207").json()
    assert ticket["subject"] == "Bestelling 2088 nog niet ontvangen"
    conversations = fd_client.get("/tickets/1207/conversations").json()
    assert [c["private"] for c in conversations] == [False, False, True]


def test_update_and_conflict(fd_client: httpx.Client) -> None:
    body = {"address": "Nieuwegracht 7, 3512 LB Utrecht"}
    updated = fd_client.put(f"/contacts/{SANNE_ID}", json=body)
    assert updated.status_code == 200 and updated.json()["address"] == body["address"]
    assert fd_client.get(f"/contacts/{SANNE_ID}").json()["address"] == body["address"]
    conflict = fd_client.put(f"/contacts/{SANNE_ID}", json={"email": "sanne.de.vries@example.nl"})
    assert conflict.status_code == 409
    assert conflict.json()["errors"][0]["code"] == "duplicate_value"
    invalid = fd_client.put(f"/contacts/{SANNE_ID}", json={"email": "not-an-address"})
    assert invalid.status_code == 400


def test_soft_and_hard_delete(fd_client: httpx.Client) -> None:
    assert fd_client.delete(f"/contacts/{SANNE_ID}/hard_delete").status_code == 400
    assert fd_client.delete(f"/contacts/{SANNE_ID}").status_code == 204
    assert fd_client.get("/contacts", params={"email": SANNE}).json() == []
    deleted = fd_client.get("/contacts", params={"state": "deleted"}).json()
    assert SANNE_ID in [c["id"] for c in deleted]
    found = fd_client.get("/contacts", params={"state": "deleted", "email": SANNE}).json()
    assert [(c["id"], c["deleted"]) for c in found] == [(SANNE_ID, True)]
    again = fd_client.delete(f"/contacts/{SANNE_ID}")  # deleted already: only GET is allowed
    assert (again.status_code, again.headers["Allow"]) == (405, "GET")
    assert fd_client.get(f"/contacts/{SANNE_ID}").json()["deleted"] is True
    assert fd_client.delete(f"/contacts/{SANNE_ID}/hard_delete").status_code == 204
    assert fd_client.get(f"/contacts/{SANNE_ID}").status_code == 404
    forced = fd_client.delete("/contacts/80012345702/hard_delete", params={"force": "true"})
    assert forced.status_code == 204


def test_search_api(fd_client: httpx.Client) -> None:
    result = fd_client.get(
        "/search/contacts", params={"query": "\"email:'sanne.de.vries@example.nl'\""}
    ).json()
    assert result["total"] == 1 and result["results"][0]["id"] == 80012345702
    unquoted = fd_client.get("/search/contacts", params={"query": "email:'x@example.nl'"})
    assert unquoted.status_code == 400


def test_ticket_delete_moves_to_trash(fd_client: httpx.Client) -> None:
    since = {"updated_since": "2000-01-01T00:00:00Z", "requester_id": "80012345671"}
    assert fd_client.delete("/tickets/1207").status_code == 204
    # as Freshdesk: a ticket in the trash is still read by its id, with its conversations
    view = fd_client.get("/tickets/1207")
    assert view.status_code == 200 and view.json()["deleted"] is True
    assert fd_client.get("/tickets/1207/conversations").json()
    listed = {t["id"] for t in fd_client.get("/tickets", params=since).json()}
    assert 1207 not in listed
    trashed = fd_client.get("/tickets", params={**since, "filter": "deleted"}).json()
    assert [(t["id"], t["deleted"]) for t in trashed] == [(1207, True)]
    again = fd_client.delete("/tickets/1207")  # only GET is allowed on a trashed ticket
    assert (again.status_code, again.headers["Allow"]) == (405, "GET")
    assert fd_client.put("/tickets/1207/restore").status_code == 204
    assert "deleted" not in fd_client.get("/tickets/1207").json()
    assert fd_client.put("/tickets/1207/restore").status_code == 404
