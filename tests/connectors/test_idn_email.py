"""An e-mail address with an internationalised domain, over real HTTP against the simulators.

A system may hold ``jan@bücher.nl`` as the customer typed it, or its ASCII (punycode) form
``jan@xn--bcher-kva.nl``; to every vendor these are different strings. The customer verified
``jan@Bücher.nl``, normalised to the ASCII form. Each connector looks the address up in both
spellings, so their records are found whichever one a system holds; what is found is still
compared exactly after normalisation, so ``jan@bucher.nl`` (another mailbox, which MySQL's
accent-insensitive collation finds in WooCommerce) is never theirs. For a plain ASCII address
nothing changes: one spelling, no extra request.

Jan's records are Sanne de Vries (Groningen)'s records of the demo world, their address changed
through each simulator's own API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors import Identity, RetryPolicy, SourceStatus, create, gather
from connectors.base import BaseConnector
from connectors.gather import GatherResult
from connectors.identity import (
    IdentifierKind,
    InvalidIdentifier,
    email_spellings,
    normalize_mailbox,
)
from simulators import SimulatorGroup
from simulators.world import Person

UNICODE = "jan@bücher.nl"
PUNYCODE = "jan@xn--bcher-kva.nl"
#: Another mailbox: ``u`` is not ``ü``.
NEAR_MISS = "jan@bucher.nl"
JAN = Identity.of(emails=["jan@Bücher.nl"])
SANNE = "sanne.devries@example.nl"
VENDORS = ("woocommerce", "moneybird", "zammad", "freshdesk", "mollie")
#: A guest order of the demo world (billed to Susanne's address) that becomes Jan's.
GUEST_ORDER = 2076

#: The request each connector looks an address up with (method, path after the API root) and
#: the query parameter that carries it (Zammad's ``email:`` query carries it after the colon).
LOOKUPS = {
    "woocommerce": [("customers", "email"), ("orders", "search")],
    "moneybird": [("contacts.json", "query")],
    "zammad": [("users/search", "query")],
    "freshdesk": [("contacts", "email")],
    "mollie": [],  # no search: every customer is read
}


@pytest.fixture
def sims(simulators: SimulatorGroup) -> Iterator[SimulatorGroup]:
    """The five simulators with the demo world's data (changed by the test, then put back)."""
    simulators.reset()
    yield simulators
    simulators.reset()


@pytest.fixture
def connectors(sims: SimulatorGroup, no_wait: RetryPolicy) -> Iterator[list[BaseConnector]]:
    """A connector for each simulator."""
    made = []
    for vendor in VENDORS:
        handle = sims[vendor]
        config: dict[str, Any] = {"base_url": handle.base_url, **handle.credentials}
        config.pop("username", None)  # Zammad's simulator also offers Basic auth
        config.pop("password", None)
        made.append(create(vendor, config, retry=no_wait))
    yield made
    for connector in made:
        connector.close()


def call(sims: SimulatorGroup, vendor: str, method: str, path: str, body: Any) -> Any:
    """One write through the vendor's own API; it must succeed."""
    handle = sims[vendor]
    creds = handle.credentials
    auth: Any = None
    headers: dict[str, str] = {}
    if vendor == "woocommerce":
        auth = (creds["consumer_key"], creds["consumer_secret"])
    elif vendor == "freshdesk":
        auth = (creds["api_key"], "X")
    elif vendor == "zammad":
        headers["Authorization"] = f"Token token={creds['token']}"
    else:
        headers["Authorization"] = (
            f"Bearer {creds['token'] if vendor == 'moneybird' else creds['api_key']}"
        )
    base = handle.base_url
    if vendor == "moneybird":
        base = f"{base}/{creds['administration_id']}"
    answer = httpx.request(method, f"{base}/{path}", json=body, auth=auth, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def store(sims: SimulatorGroup, vendor: str, address: str) -> set[tuple[str, str]]:
    """Give Sanne (Groningen)'s records in ``vendor`` the e-mail ``address`` (as written) and
    return the top records that are then the address's."""
    person: Person = sims.world.person("sanne_groningen")
    if vendor == "woocommerce":
        customer = person.woocommerce_id
        change = {"email": address, "billing": {"email": address}}
        assert call(sims, vendor, "PUT", f"customers/{customer}", change)["email"] == address
        order = call(sims, vendor, "PUT", f"orders/{GUEST_ORDER}", {"billing": {"email": address}})
        assert order["customer_id"] == 0 and order["billing"]["email"] == address
        return {("customer", str(customer)), ("order", str(GUEST_ORDER))}
    daan = sims.world.person("daan")
    if vendor == "moneybird":
        path = f"contacts/{person.moneybird_id}.json"
        change = {"send_invoices_to_email": "", "send_estimates_to_email": ""}
        assert call(sims, vendor, "PATCH", path, {"contact": change})
        # MoneyBird's API no longer takes a contact's own `email`: as typed in its web app
        sims[vendor].app.contacts[person.moneybird_id]["email"] = address  # type: ignore[attr-defined]
        # Daan's company sends its invoices to Jan too: only that address is Jan's
        path = f"contacts/{daan.moneybird_id}.json"
        change = {"send_invoices_to_email": f"{daan.email}, {address}"}
        assert call(sims, vendor, "PATCH", path, {"contact": change})
        return {
            ("contact", person.moneybird_id),
            ("recipient", f"{daan.moneybird_id}/send_invoices_to_email"),
        }
    if vendor == "zammad":
        assert call(sims, vendor, "PUT", f"users/{person.zammad_id}", {"email": address})
        return {("user", str(person.zammad_id))}
    if vendor == "freshdesk":
        assert call(sims, vendor, "PUT", f"contacts/{person.freshdesk_id}", {"email": address})
        # Daan's contact lists Jan's address among its other ones, in the other spelling
        # (Freshdesk keeps an address on one contact only, but to it they are two strings)
        other = {UNICODE: PUNYCODE, PUNYCODE: UNICODE}.get(address, address)
        path = f"contacts/{daan.freshdesk_id}"
        assert call(sims, vendor, "PUT", path, {"other_emails": [other]})
        return {
            ("contact", str(person.freshdesk_id)),
            ("listed_email", f"{daan.freshdesk_id}/other_emails"),
        }
    ids = set()
    for customer_id in person.mollie_ids:
        assert call(sims, vendor, "PATCH", f"customers/{customer_id}", {"email": address})
        ids.add(("customer", customer_id))
    return ids


def top_records(result: GatherResult, vendor: str) -> set[tuple[str, str]]:
    source = result.sources[vendor]
    assert source.status == SourceStatus.COMPLETE, source
    assert source.duplicates == 0
    return {(r.record_type, r.record_id) for r in source.records if r.parent is None}


def asked(sims: SimulatorGroup, vendor: str) -> list[str]:
    """The addresses each lookup request of ``vendor`` asked for, in order."""
    handle = sims[vendor]
    prefix = handle.base_url.split("://", 1)[1].split("/", 1)[1]
    if vendor == "moneybird":
        prefix += f"/{handle.credentials['administration_id']}"
    values = []
    for record in handle.requests:
        for path, param in LOOKUPS[vendor]:
            if record.path == f"/{prefix}/{path}" and param in record.query:
                values.append(record.query[param].removeprefix("email:"))
    return values


LAYOUTS = {
    "every system in Unicode": dict.fromkeys(VENDORS, UNICODE),
    "every system in punycode": dict.fromkeys(VENDORS, PUNYCODE),
    "mixed": {
        "woocommerce": UNICODE,
        "moneybird": PUNYCODE,
        "zammad": UNICODE,
        "freshdesk": PUNYCODE,
        "mollie": UNICODE,
    },
}


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_found_whichever_spelling_a_system_holds(
    sims: SimulatorGroup, connectors: list[BaseConnector], layout: dict[str, str]
) -> None:
    assert email_spellings(PUNYCODE) == [PUNYCODE, UNICODE]
    expected = {vendor: store(sims, vendor, layout[vendor]) for vendor in VENDORS}
    for vendor in VENDORS:
        sims[vendor].clear_requests()

    result = gather(connectors, JAN)

    for vendor in VENDORS:
        assert expected[vendor] <= top_records(result, vendor), vendor
        records = result.sources[vendor].records
        assert all(r.matched is not None and r.matched.value == PUNYCODE for r in records)
    # the account's own orders come with it, whatever their billing address
    account = sims.world.person("sanne_groningen").woocommerce_id
    own = {str(o["id"]) for o in sims.world.woocommerce["orders"] if o["customer_id"] == account}
    orders = {
        r.record_id for r in result.sources["woocommerce"].records if r.record_type == "order"
    }
    assert own and own | {str(GUEST_ORDER)} <= orders
    # each lookup asked in both spellings, each once (for WooCommerce's orders: once with
    # the default statuses and once in the trash)
    for vendor in ("moneybird", "freshdesk"):
        spelled = asked(sims, vendor)
        if vendor == "freshdesk":  # active, deleted and blocked contacts
            assert spelled == [PUNYCODE, UNICODE] * 3
        else:
            assert spelled == [PUNYCODE, UNICODE]
    assert asked(sims, "zammad") == [PUNYCODE, PUNYCODE, UNICODE, UNICODE]
    assert sorted(asked(sims, "woocommerce")) == sorted([PUNYCODE, UNICODE] * 3)


@pytest.mark.parametrize(
    ("stored", "verified"),
    [(NEAR_MISS, "jan@Bücher.nl"), (UNICODE, NEAR_MISS), (PUNYCODE, NEAR_MISS)],
    ids=["bucher-stored", "buecher-stored-unicode", "buecher-stored-punycode"],
)
def test_a_near_miss_is_never_found(
    sims: SimulatorGroup, connectors: list[BaseConnector], stored: str, verified: str
) -> None:
    for vendor in VENDORS:
        store(sims, vendor, stored)

    result = gather(connectors, Identity.of(emails=[verified]))

    for vendor in VENDORS:
        assert top_records(result, vendor) == set(), vendor
    if stored != PUNYCODE:
        # WooCommerce (MySQL, accent-insensitive) answered with the other mailbox's account
        # and guest order: the exact comparison dropped them
        assert result.sources["woocommerce"].dropped >= 2


def test_an_ascii_address_is_asked_once(
    sims: SimulatorGroup, connectors: list[BaseConnector]
) -> None:
    assert email_spellings(SANNE) == [SANNE]

    result = gather(connectors, Identity.of(emails=[SANNE]))

    assert result.complete and all(s.records for s in result.sources.values())
    assert asked(sims, "woocommerce").count(SANNE) == 3  # account; guest orders, and trash
    assert asked(sims, "moneybird") == [SANNE]
    assert asked(sims, "zammad") == [SANNE, SANNE]  # ``email:`` and the bare address
    assert asked(sims, "freshdesk") == [SANNE] * 3  # active, deleted and blocked contacts
    for vendor in VENDORS:
        assert result.sources[vendor].requests == sims[vendor].request_count(), vendor


@pytest.mark.parametrize(
    ("written", "modern", "old"),
    [
        ("jan@straße.de", "jan@xn--strae-oqa.de", "jan@strasse.de"),
        ("jan@οδος.gr", "jan@xn--pxavbm.gr", "jan@xn--pxavbq.gr"),
    ],
)
def test_a_domain_that_old_and_new_idna_send_to_different_places_matches_neither(
    written: str, modern: str, old: str
) -> None:
    """ß, final ς, ZWJ and ZWNJ are kept by IDNA2008 and mapped away by IDNA2003 (transitional
    processing, still the default of PHP's idn_to_ascii and Python's ``idna`` codec): a shop
    that holds ``jan@straße.de`` may have mailed ``jan@strasse.de`` all along. Whose address it
    is cannot be told, so it matches neither mailbox, and is no address to verify."""
    for mailbox in (modern, old):
        identity = Identity.of(emails=[mailbox])
        assert identity.match([(IdentifierKind.EMAIL, written)]) is None
        assert identity.match([(IdentifierKind.EMAIL, mailbox)]) is not None
    with pytest.raises(InvalidIdentifier):
        normalize_mailbox(written)
