"""MoneyBird simulator: Bearer auth, fuzzy query, exact customer number, invoices."""

from __future__ import annotations

import httpx

from simulators import SimulatorHandle, World

SANNE_ID = "431877251120719881"


def test_auth_errors(mb: SimulatorHandle) -> None:
    url = f"{mb.base_url}/{mb.credentials['administration_id']}/contacts.json"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Token x"}):
        response = httpx.get(url, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "Token is invalid or expired"}


def test_unknown_administration(mb: SimulatorHandle) -> None:
    response = httpx.get(
        f"{mb.base_url}/123/contacts.json",
        headers={"Authorization": f"Bearer {mb.credentials['token']}"},
    )
    assert response.status_code == 404 and response.json() == {"error": "record not found"}


def test_query_is_fuzzy_customer_id_is_exact(mb_client: httpx.Client) -> None:
    fuzzy = mb_client.get("/contacts.json", params={"query": "sanne.devries@example.nl"})
    emails = {c["email"] for c in fuzzy.json()}
    assert {"sanne.devries@example.nl", "sanne.de.vries@example.nl"} <= emails
    by_name = mb_client.get("/contacts.json", params={"query": "sanne", "per_page": 100})
    assert len(by_name.json()) >= 2
    by_phone = mb_client.get("/contacts.json", params={"query": "+31612345678"}).json()
    assert {c["firstname"] for c in by_phone} >= {"Sanne", "Kees"}
    exact = mb_client.get("/contacts/customer_id/1042.json")
    assert exact.status_code == 200 and exact.json()["id"] == SANNE_ID
    assert isinstance(exact.json()["id"], str)
    assert mb_client.get("/contacts/customer_id/9999.json").status_code == 404
    nothing = mb_client.get("/contacts.json", params={"query": "nobody@example.nl"})
    assert nothing.status_code == 200 and nothing.json() == []
    full = mb_client.get(f"/contacts/{SANNE_ID}.json").json()
    assert full["notes"] and full["events"] and full["sepa_iban"].startswith("NL00TEST")


def test_pagination_links(mb_client: httpx.Client) -> None:
    first = mb_client.get("/contacts.json", params={"per_page": 3})
    assert len(first.json()) == 3
    assert set(first.links) == {"next"}
    second = mb_client.get(first.links["next"]["url"])
    assert set(second.links) == {"next", "prev"}
    ids: list[str] = []
    url: str | None = first.url.__str__()
    while url:
        page = mb_client.get(url)
        ids += [c["id"] for c in page.json()]
        url = page.links.get("next", {}).get("url")
    assert len(ids) == len(set(ids)) > 30


def test_invoices_default_period_and_state_all(mb_client: httpx.Client, world: World) -> None:
    plain = mb_client.get(
        "/sales_invoices.json", params={"filter": f"contact_id:{SANNE_ID},state:all"}
    ).json()
    this_year = str(world.today.year)
    assert plain and all(i["invoice_date"].startswith(this_year) for i in plain)
    everything = mb_client.get(
        "/sales_invoices.json",
        params={
            "filter": f"contact_id:{SANNE_ID},state:all,period:20000101..20991231",
            "per_page": 100,
        },
    ).json()
    years = {i["invoice_date"][:4] for i in everything}
    assert "2019" in years and len(everything) > len(plain)
    assert {i["contact_id"] for i in everything} == {SANNE_ID}
    assert everything[0]["contact"]["id"] == SANNE_ID
    paid = mb_client.get(
        "/sales_invoices.json",
        params={"filter": f"contact_id:{SANNE_ID},state:paid,period:20000101..20991231"},
    ).json()
    assert paid and {i["state"] for i in paid} == {"paid"}
    one = mb_client.get(f"/sales_invoices/{everything[0]['id']}.json")
    assert one.status_code == 200 and one.json()["invoice_id"] == everything[0]["invoice_id"]


def test_patch_is_visible_and_validated(mb_client: httpx.Client) -> None:
    body = {"contact": {"address1": "Nieuwegracht 7", "zipcode": "3512 LB"}}
    patched = mb_client.patch(f"/contacts/{SANNE_ID}.json", json=body)
    assert patched.status_code == 200 and patched.json()["address1"] == "Nieuwegracht 7"
    assert mb_client.get("/contacts/customer_id/1042.json").json()["zipcode"] == "3512 LB"
    blank = {"contact": {"firstname": "", "lastname": "", "company_name": ""}}
    invalid = mb_client.patch(f"/contacts/{SANNE_ID}.json", json=blank)
    assert invalid.status_code == 422
    assert invalid.json()["error"]["firstname"] == ["is required"]


def test_delete(mb_client: httpx.Client, world: World) -> None:
    refused = mb_client.delete(f"/contacts/{SANNE_ID}.json")
    assert refused.status_code == 422
    invoiced = {i["contact_id"] for i in world.moneybird["sales_invoices"]}
    free = next(c["id"] for c in world.moneybird["contacts"] if c["id"] not in invoiced)
    assert mb_client.delete(f"/contacts/{free}.json").status_code == 204
    assert mb_client.get(f"/contacts/{free}.json").status_code == 404


def test_patch_validates_email_addresses(mb_client: httpx.Client) -> None:
    bad = mb_client.patch(
        "/contacts/431877251120719881.json",
        json={"contact": {"send_invoices_to_email": "sanne(at)example.nl", "phone": "06"}},
    )
    assert bad.status_code == 422
    assert bad.json() == {"error": {"send_invoices_to_email": ["is invalid"]}}
    several = mb_client.patch(
        "/contacts/431877251120719881.json",
        json={"contact": {"send_invoices_to_email": "a@example.nl, b@example.nl"}},
    )
    assert several.status_code == 200


def test_patch_drops_email_and_attention(mb_client: httpx.Client) -> None:
    """MoneyBird stopped taking a contact's ``email`` and ``attention`` (changelog 2016-03-10):
    Rails drops them without a word, the rest is written."""
    path = "/contacts/431877251120719881.json"
    before = mb_client.get(path).json()
    body = {"contact": {"email": "x(at)y", "attention": "Mr X", "city": "Zeist"}}
    answer = mb_client.patch(path, json=body)
    assert answer.status_code == 200
    after = answer.json()
    assert (after["email"], after["attention"], after["city"]) == (
        before["email"],
        before["attention"],
        "Zeist",
    )


def test_contact_people_are_searched_read_changed_and_deleted(mb_client: httpx.Client) -> None:
    company, person = "431877251405932555", "431877251522324493"
    found = mb_client.get("/contacts.json", params={"query": "fleur@jansenkoffie.example.nl"})
    assert [c["id"] for c in found.json()] == [company]  # found through its contact person
    path = f"/contacts/{company}/contact_people/{person}.json"
    fleur = mb_client.get(path).json()
    assert (fleur["firstname"], fleur["department"]) == ("Fleur", "Administratie")
    changed = mb_client.patch(path, json={"contact_person": {"department": "Inkoop", "id": "1"}})
    assert changed.status_code == 200
    assert (changed.json()["department"], changed.json()["id"]) == ("Inkoop", person)
    assert changed.json()["updated_at"] != fleur["updated_at"]
    nameless = {"contact_person": {"firstname": "", "lastname": " "}}
    assert mb_client.patch(path, json=nameless).status_code == 422
    bad = mb_client.patch(path, json={"contact_person": {"email": "fleur(at)example.nl"}})
    assert bad.status_code == 422 and bad.json() == {"error": {"email": ["is invalid"]}}
    assert mb_client.patch(path, json={"person": {}}).status_code == 400
    assert mb_client.get(f"/contacts/{company}/contact_people/1.json").status_code == 404
    assert mb_client.delete(path).status_code == 204
    assert mb_client.get(path).status_code == 404
    assert mb_client.delete(path).status_code == 404
    people = mb_client.get(f"/contacts/{company}.json").json()["contact_people"]
    assert [p["firstname"] for p in people] == ["Daan"]


def test_archived_contacts_are_listed_only_when_asked(mb_client: httpx.Client) -> None:
    """An archived contact drops out of the list (and its search) unless
    ``include_archived=true``; by id and by customer number it is still there."""
    archived = mb_client.patch(f"/contacts/{SANNE_ID}/archive.json")
    assert archived.status_code == 200 and archived.json()["archived"] is True
    query = {"query": "sanne.devries@example.nl"}
    hidden = {c["id"] for c in mb_client.get("/contacts.json", params=query).json()}
    assert SANNE_ID not in hidden and hidden  # the near matches are still listed
    asked = mb_client.get("/contacts.json", params={**query, "include_archived": "true"}).json()
    assert SANNE_ID in {c["id"] for c in asked}
    assert next(c for c in asked if c["id"] == SANNE_ID)["archived"] is True
    assert mb_client.get(f"/contacts/{SANNE_ID}.json").json()["archived"] is True
    assert mb_client.get("/contacts/customer_id/1042.json").json()["id"] == SANNE_ID
    assert mb_client.patch("/contacts/1/archive.json").status_code == 404
