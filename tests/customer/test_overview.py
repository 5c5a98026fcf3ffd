"""The customer's overview of their data, gathered live from the vendor simulators (or, for
records the simulators do not give, held as a snapshot the test writes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.customer.services import Entry, build_overview
from portal.extensions import db
from portal.gathering import Snapshot, SourceOutcome
from portal.models import AuditEvent, GatheredSnapshot
from portal.models.base import utcnow
from portal.policy import current_policy
from simulators import SimulatorGroup

from ..snapshots import hold_snapshot
from .conftest import sign_in

NEAR_MISSES = ("sanne.de.vries@example.nl", "Groningen", "+shop")
SOURCE_NAMES = (
    "Webwinkel",
    "Boekhouding (Moneybird)",
    "Storingsmeldingen (Zammad)",
    "Klantenservice (Freshdesk)",
    "Betalingen (Mollie)",
    "Werkplaats (eigen administratie)",
)
CATEGORIES = ("identity", "contact", "address", "customer_account", "orders", "invoices")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _page(client: FlaskClient, path: str = "/mijn-gegevens/") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_data(as_text=True)


def _try_again(client: FlaskClient, page: str, **data: str):  # type: ignore[no-untyped-def]
    token = CSRF_RE.search(page)
    assert token, "no try-again form"
    return client.post("/mijn-gegevens/opnieuw", data={"csrf_token": token.group(1), **data})


def test_the_overview_shows_every_source_summary_first_then_per_category(
    sanne: FlaskClient,
) -> None:
    page = _page(sanne)
    summary = page.index("Samenvatting")
    assert summary < page.index("Uw gegevens per soort")
    for name in SOURCE_NAMES:
        assert name in page
    assert page.count("Volledig") >= len(SOURCE_NAMES)
    assert "Niet alles kon worden opgehaald" not in page
    for key in CATEGORIES:
        assert f'id="cat-{key}"' in page
    assert "Oudegracht 112" in page
    # why, how long, who else receives it, where it came from
    assert "Facturen en belastingadministratie" in page
    assert "Een wettelijke verplichting (AVG art. 6 lid 1 sub c)" in page
    assert "Zolang u klant bij ons bent" in page
    assert "Freshworks Inc. (Verwerker (werkt in onze opdracht), Verenigde Staten)" in page
    assert "Waar het vandaan komt" in page
    # collapsible groups without JavaScript
    assert '<details class="records">' in page and "<summary>" in page
    assert "<script" not in page
    # how records are found, and where to add another address or number
    assert "omdat wij niet kunnen zien van wie het is" in page
    assert 'href="/account">Voeg een ander adres of nummer toe' in page


def test_an_invoice_from_2019_shows_its_due_date_and_its_reference(sanne: FlaskClient) -> None:
    page = _page(sanne, "/mijn-gegevens/invoices")
    assert "Boekhouding (Moneybird): Factuur" in page
    assert "31-12-2026" in page  # 7 years after the end of fiscal year 2019
    assert "Moneybird B.V. (Verwerker (werkt in onze opdracht), Nederland)" in page
    assert "Belastingdienst (" in page and "Dutch Tax Administration" not in page
    assert "Waar onze medewerkers het vinden:" in page
    assert '<a href="https://moneybird.com' not in page  # a reference, not a link to click


def test_nobody_else_s_data_is_shown(sanne: FlaskClient) -> None:
    pages = [_page(sanne)]
    for key in (*CATEGORIES, "payment", "support", "technical", "service_jobs"):
        pages.append(_page(sanne, f"/mijn-gegevens/{key}"))
        pages.append(_page(sanne, f"/mijn-gegevens/{key}?pagina=2"))
    for page in pages:
        for other in NEAR_MISSES:
            assert other not in page


def test_vendor_html_is_shown_as_text_and_nested_values_readably(sanne: FlaskClient) -> None:
    page = _page(sanne, "/mijn-gegevens/support")
    assert "Bedankt voor je bericht" in page
    assert "&lt;br&gt;" not in page and "<br>Bedankt" not in page
    orders = _page(sanne, "/mijn-gegevens/orders")
    assert '<dl class="nested">' in orders  # addresses and line items as definition lists
    assert "{&#39;" not in orders and "[{" not in orders  # never a Python repr
    assert "bijbehorende gegevens" in orders  # an order's notes go with it


def test_long_categories_are_paged(sanne: FlaskClient) -> None:
    first = _page(sanne, "/mijn-gegevens/orders")
    assert "Pagina 1 van 2." in first
    assert 'href="/mijn-gegevens/orders?pagina=2"' in first
    assert 'aria-current="page"><span class="visually-hidden">Pagina </span>1<' in first
    second = _page(sanne, "/mijn-gegevens/orders?pagina=2")
    assert "Pagina 2 van 2." in second
    assert 'rel="prev"' in second
    first_orders = set(re.findall(r"<summary>Bestelling (\d+)", first))
    second_orders = set(re.findall(r"<summary>Bestelling (\d+)", second))
    assert len(first_orders) == 20 and len(first_orders | second_orders) == 29
    assert not first_orders & second_orders
    # an order's number is called a number, not a count (as an order line's quantity is)
    number = r"</dt>\s*<dd><span class=\"text\">20\d\d</span>"
    assert re.search("<dt>Nummer" + number, first)
    assert not re.search("<dt>Aantal" + number, first)
    # an order is named once: its number is its id (no "Bestelling 2110 · 2110")
    assert not re.search(r"<summary>Bestelling (\d+) · \1\b", first)
    jobs = _page(sanne, "/mijn-gegevens/service_jobs")  # a row of the firm's own file
    # named by the row's own id, without the file's internal key ("werkbonnen:")
    assert re.search(r"<summary>Werkbon WB-[\d-]+ · ", jobs)
    assert not re.search(r"<summary>Werkbon (WB-[\d-]+) · \1\b", jobs)
    assert "Werkbon werkbonnen:" not in jobs, re.findall(r".{80}Werkbon werkbonnen:.{40}", jobs)
    assert "record_id=werkbonnen:WB-" in jobs.replace("%3A", ":")  # links keep the full id
    assert re.search(r"<summary>Bestelling \d+ · ", first)  # its date follows
    assert "Pagina 2 van 2." in _page(sanne, "/mijn-gegevens/orders?pagina=99")
    # the count says how many are listed (29 orders and 2 quotes from the bookkeeping), and
    # how many with their notes
    counted = re.search(
        r"Pagina 1 van 2\. 31 gegevens, (\d+) met de bijbehorende gegevens\.", first
    )
    assert counted and int(counted.group(1)) > 31
    overview = _page(sanne)
    assert 'href="/mijn-gegevens/orders"' in overview


def test_a_category_or_record_on_one_page_says_no_page_number(sanne: FlaskClient) -> None:
    """ "Page 1 of 1." tells nothing: a list that fits one page only says how many it holds."""
    names = _page(sanne, "/mijn-gegevens/identity")
    assert "Pagina 1 van 1." not in names
    assert re.search(r"<p>\d+ gegevens\.</p>", names)
    ticket = _page(sanne, "/mijn-gegevens/support/gegeven?bron=helpdesk&soort=ticket&id=172")
    assert "Pagina 1 van 1." not in ticket
    assert "<p>2 bijbehorende gegevens.</p>" in ticket


def test_every_category_with_data_links_to_its_own_page_outside_its_group(
    sanne: FlaskClient,
) -> None:
    """A category page is reached without opening anything first, short categories too."""
    overview = _page(sanne)
    for key in ("orders", "invoices", "service_jobs"):
        section = overview[overview.index(f'id="cat-{key}"') :]
        section = section[: section.index("</section>")]
        link = section.index(f'href="/mijn-gegevens/{key}"')
        assert link < section.index("<details"), key


def test_later_visits_use_the_held_snapshot(app: Flask, sanne: FlaskClient) -> None:
    _page(sanne)
    with app.app_context():
        first = db.session.scalars(sa.select(GatheredSnapshot.id)).one()
    _page(sanne)
    _page(sanne, "/mijn-gegevens/orders")
    with app.app_context():
        assert db.session.scalars(sa.select(GatheredSnapshot.id)).one() == first


def test_a_source_that_is_down_is_named_at_the_top_and_try_again_works(
    sanne: FlaskClient, simulators: SimulatorGroup
) -> None:
    simulators["zammad"].set_fault("down")
    page = _page(sanne)
    top = page.index("Niet alles kon worden opgehaald")
    assert top < page.index("Samenvatting")
    problems = page[top : page.index("Samenvatting")]
    assert "Storingsmeldingen (Zammad)" in problems
    assert "Het systeem was niet bereikbaar." in problems
    assert "Opnieuw proberen" in problems
    assert "mogelijk onvolledig" in page
    support = _page(sanne, "/mijn-gegevens/support")
    assert "Mogelijk onvolledig:" in page
    assert "Het systeem was niet bereikbaar." in support and "Opnieuw proberen" in support

    simulators["zammad"].clear_fault()
    response = _try_again(sanne, page)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/mijn-gegevens/")
    page = _page(sanne)
    assert "Alle systemen hebben geantwoord" in page
    assert "Niet alles kon worden opgehaald" not in page
    row = page[page.index("Storingsmeldingen (Zammad)") :][:300]
    assert "Volledig" in row


def test_try_again_from_a_category_returns_there(sanne: FlaskClient) -> None:
    page = _page(sanne)
    response = _try_again(sanne, page, category="orders")
    assert response.headers["Location"].endswith("/mijn-gegevens/orders")
    assert sanne.post("/mijn-gegevens/opnieuw").status_code == 400  # no CSRF token


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    for path in ("/mijn-gegevens/", "/mijn-gegevens/orders"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/inloggen")


def test_someone_we_hold_nothing_about_is_told_so_at_the_top(
    app: Flask, sanne: FlaskClient, simulators: SimulatorGroup
) -> None:
    """The sign-in page promises that an unknown address shows we hold nothing under it: the
    overview says so in words, not only as a column of zeros; not while a system is missing."""
    sanne.set_cookie("portal_lang", "en")
    assert 'id="nothing-found"' not in _page(sanne)
    stranger = app.test_client()
    sign_in(app, stranger, "nobody.known@example.nl")
    stranger.set_cookie("portal_lang", "en")
    page = _page(stranger)
    assert "We found no data about you under the e-mail addresses and numbers you confirmed" in page
    assert page.index('id="nothing-found"') < page.index('id="summary-title"')
    simulators["zammad"].set_fault("down")
    try:
        other = app.test_client()
        sign_in(app, other, "also.unknown@example.nl")
        assert 'id="nothing-found"' not in _page(other)  # Zammad may hold something
    finally:
        simulators["zammad"].clear_fault()


def test_a_customer_sees_only_their_own_data(app: Flask, client: FlaskClient) -> None:
    sign_in(app, client)
    _page(client)
    other = app.test_client()
    sign_in(app, other, "iemand.anders@example.nl")
    page = _page(other)
    assert "Oudegracht" not in page and "sanne" not in page.lower()
    assert "In deze soort gegevens hebben we niets van u gevonden." in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(GatheredSnapshot)) == 2


def test_a_contact_person_at_a_company_sees_their_own_entry(
    app: Flask, client: FlaskClient
) -> None:
    """Fleur is in the bookkeeping only as a contact person of Daan's company: she sees that
    entry (naming the company) and can ask to correct it, never the company's account, its
    invoices or her colleague."""
    sign_in(app, client, "fleur@jansenkoffie.example.nl")
    overview = _page(client)
    assert "Boekhouding (Moneybird)" in overview
    identity = _page(client, "/mijn-gegevens/identity")
    assert "Boekhouding (Moneybird): Contactpersoon bij een bedrijf" in identity
    assert "Fleur" in identity and "Jansen" in identity
    account = _page(client, "/mijn-gegevens/customer_account")
    assert "Jansen Koffie &amp; Co" in account and "Administratie" in account
    assert "Bedrijf" in account and "Afdeling" in account
    correction = (
        "source=invoicing&amp;record_type=contact_person"
        "&amp;record_id=431877251405932555/431877251522324493"
    )
    assert correction in identity and f"{correction}&amp;field=department" in account
    # the company's name is the company's: shown, never offered for correction on her entry
    assert f"{correction}&amp;field=company_name" not in account
    query = correction.replace("&amp;", "&")
    form = _page(client, f"/verzoeken/nieuw/correctie?{query}&field=department")
    assert "Nu: Administratie" in form
    assert 'value="company_name"' not in form  # not among the fields offered either
    invoices = _page(client, "/mijn-gegevens/invoices")
    assert "In deze soort gegevens hebben we niets van u gevonden." in invoices
    pages = overview + identity + account + invoices
    assert "Daan" not in pages and "daan.jansen" not in pages and "Witte de With" not in pages


def test_someone_who_receives_another_customer_s_invoices_sees_only_their_address(
    app: Flask, client: FlaskClient, simulators: SimulatorGroup
) -> None:
    """Sanne's invoices also go to Kees: Kees is told his address is there, and sees nothing
    else of Sanne's (her bookkeeping contact, its invoices)."""
    contact = simulators["moneybird"].app.contacts["431877251120719881"]
    contact["send_invoices_to_email"] = "sanne.devries@example.nl, kees.devries@example.nl"
    try:
        sign_in(app, client, "kees.devries@example.nl")
        page = _page(client, "/mijn-gegevens/contact")
    finally:
        simulators.reset()
    assert "Boekhouding (Moneybird): Uw adressen op facturen of offertes van iemand anders" in page
    assert "Facturen gestuurd naar" in page and "kees.devries@example.nl" in page
    assert "sanne.devries@example.nl" not in page and "431877251120719881/" in page
    invoices = _page(client, "/mijn-gegevens/invoices")
    assert "2024-0187" not in invoices and "Oudegracht" not in page + invoices


def test_unknown_category_is_not_found(sanne: FlaskClient) -> None:
    assert sanne.get("/mijn-gegevens/geheim").status_code == 404


def test_english(sanne: FlaskClient) -> None:
    sanne.set_cookie("portal_lang", "en")
    page = _page(sanne)
    assert "<h1>My data</h1>" in page
    assert "Web shop" in page and "Complete" in page
    assert "Why we have it" in page and "Invoices and tax records" in page
    assert "because we cannot tell whose it is" in page
    invoices = _page(sanne, "/mijn-gegevens/invoices")
    assert "Dec 31, 2026" in invoices
    assert "Bookkeeping (Moneybird): Invoice" in invoices
    assert "Belastingdienst (Dutch Tax Administration) (" in invoices  # the recipient's name


def test_each_shown_field_links_to_a_correction_request(sanne: FlaskClient) -> None:
    page = _page(sanne, "/mijn-gegevens/identity")
    link = "/verzoeken/nieuw/correctie?source=webshop&amp;record_type=customer&amp;record_id=101"
    assert f'href="{link}' in page
    # the form leads back to the page the customer came from (never to another site)
    href = re.search(r'href="(/verzoeken/nieuw/correctie\?[^"]+field=first_name[^"]*)"', page)
    assert href and "terug=/mijn-gegevens/identity" in href.group(1).replace("%2F", "/")
    form = _page(sanne, href.group(1).replace("&amp;", "&"))
    assert '<a href="/mijn-gegevens/identity">' in form
    foreign = href.group(1).replace("&amp;", "&").split("&terug=")[0] + "&terug=//evil.example/"
    assert '<a href="/mijn-gegevens/">' in _page(sanne, foreign)
    # the link's name says which field of which record (a screen reader lists links alone)
    # (the field quoted, the record in the sentence; needs the Dutch catalogue)
    assert 'Wijzig<span class="visually-hidden"> „Voornaam” van klantgegevens 101</span>' in page
    sanne.set_cookie("portal_lang", "en")
    english = _page(sanne, "/mijn-gegevens/identity")
    assert 'Correct<span class="visually-hidden"> “First name” of customer record 101<' in english
    sanne.set_cookie("portal_lang", "nl")
    # a system's own record of what happened is not offered for correction
    orders = _page(sanne, "/mijn-gegevens/orders")
    addresses = _page(sanne, "/mijn-gegevens/address")
    assert re.search(r"Wijzig<span[^>]*> „Factuuradres” van bestelling \d+<", addresses)
    assert not re.search(r"Wijzig<span[^>]*> „(Status|Nummer|Totaal)” van bestelling", orders)


CORRECT_RE = re.compile(
    r'href="/verzoeken/nieuw/correctie\?source=[^&]+&amp;record_type=([a-z_]+)&amp;'
    r"record_id=([^&]+)&amp;field=([A-Za-z_]+)&"
)


def _every_page(client: FlaskClient, path: str) -> str:
    """All pages of a category, one after the other."""
    pages = [_page(client, path)]
    while f'href="{path}?pagina={len(pages) + 1}"' in pages[-1]:
        pages.append(_page(client, f"{path}?pagina={len(pages) + 1}"))
    return "".join(pages)


def _correctable(page: str) -> dict[str, set[str]]:
    """The fields offered for correction on ``page``, per record type."""
    found: dict[str, set[str]] = {}
    for record_type, _record_id, field in CORRECT_RE.findall(page):
        found.setdefault(record_type, set()).add(field)
    return found


def test_quotes_recurring_invoices_and_downloads_offer_no_correction_of_the_systems_record(
    sanne: FlaskClient,
) -> None:
    """A quote's number and dates, a recurring invoice's schedule and a download's product,
    file and limits are the system's record of what was agreed or granted, like an invoice's
    number or an order's status: no "Correct" beside them. What the firm wrote to the
    customer (a quote's texts, a reference) still may be corrected."""
    orders = _every_page(sanne, "/mijn-gegevens/orders")
    invoices = _every_page(sanne, "/mijn-gegevens/invoices")
    offered = _correctable(orders + invoices)
    assert "Offertenummer" in orders and "Herhaalperiode" in invoices  # shown all the same
    assert offered["estimate"] == {"reference", "language", "pre_text", "post_text"}
    assert offered["recurring_invoice"] == {"reference", "language"}
    assert "download" not in offered
    assert "Handleiding (PDF)" in orders
    # nor may they be asked for by hand: the correction form does not open for them
    estimate = re.search(r"record_type=estimate&amp;record_id=(\d+)", orders)
    assert estimate
    form = sanne.get(
        "/verzoeken/nieuw/correctie?source=invoicing&record_type=estimate"
        f"&record_id={estimate.group(1)}&field=estimate_id"
    )
    assert "Offertenummer" not in form.get_data(as_text=True)


def test_no_correction_links_where_the_policy_does_not_offer_correction(
    app: Flask, sanne: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.policy import _EXTENSION

    policy = app.extensions[_EXTENSION]
    offered = tuple(r for r in policy.rights.offered if r != "rectification")
    rights = policy.rights.model_copy(update={"offered": offered})
    monkeypatch.setitem(app.extensions, _EXTENSION, policy.model_copy(update={"rights": rights}))

    page = _page(sanne, "/mijn-gegevens/identity")

    assert "/verzoeken/nieuw/correctie" not in page
    assert "Wijzig<span" not in page
    assert "Voornaam" in page  # the data is shown all the same


def test_the_account_page_and_menu_link_to_the_overview(sanne: FlaskClient) -> None:
    page = sanne.get("/account").get_data(as_text=True)
    assert 'href="/mijn-gegevens/"' in page
    assert "Mijn gegevens" in page


def test_the_home_page_of_a_signed_in_customer_leads_to_their_data(sanne: FlaskClient) -> None:
    """Signed in, the home page offers the customer's data, not signing in again."""
    home = sanne.get("/").get_data(as_text=True)
    assert '<a class="button" href="/mijn-gegevens/">Bekijk wat wij over u bewaren</a>' in home
    assert 'href="/inloggen"' not in home and "geen wachtwoord nodig" not in home
    token = CSRF_RE.search(home)
    assert token, "no sign-out form"
    sanne.post("/uitloggen", data={"csrf_token": token.group(1)})
    signed_out = sanne.get("/").get_data(as_text=True)
    assert '<a class="button" href="/inloggen">Inloggen met uw e-mailadres</a>' in signed_out


#: Fields whose nested names are data themselves (a custom field's name), shown as they are.
FREE_FORM = frozenset({"custom_fields", "metadata"})


def _nested_keys(value: object) -> set[str]:
    """The names inside a nested value: a dict's keys, in lists and dicts at any depth."""
    if isinstance(value, dict):
        return set(value).union(*(_nested_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_nested_keys(v) for v in value))
    return set()


def test_every_field_of_the_demo_customer_has_a_label_in_both_languages(
    app: Flask, sanne: FlaskClient
) -> None:
    """What the built-in connectors gather is named in Dutch and in English: never the
    vendor's own key (``sepa_iban``, ``sequenceType``) on a Dutch page."""
    from flask_babel import force_locale

    from portal.customer.texts import FIELD_LABELS, field_label
    from portal.gathering import latest
    from portal.models import Customer
    from portal.policy import current_policy

    _page(sanne)  # gathers
    with app.test_request_context():
        customer = db.session.scalars(sa.select(Customer)).one()
        snapshot = latest(customer)
        assert snapshot is not None
        policy = current_policy()
        unnamed = set()
        for record in snapshot.records:
            for name, key in record["categories"].items():
                category = policy.category(key)
                if not (category and any(f.key == name for f in category.fields)):
                    if name not in FIELD_LABELS:
                        unnamed.add(f"{record['source']}/{record['record_type']}.{name}")
            for name, value in record["fields"].items():
                # the parts of a nested value too (an order line's "quantity"), but not the
                # names in free-form data the firm or its systems chose (custom fields)
                if name not in FREE_FORM:
                    for part in _nested_keys(value):
                        if part not in FIELD_LABELS:
                            unnamed.add(f"{record['source']}/{record['record_type']}.{name}.{part}")
        assert not unnamed, sorted(unnamed)
        with force_locale("nl"):
            dutch = field_label(None, "sepa_iban", "nl")
        with force_locale("en"):
            english = field_label(None, "sepa_iban", "en")
    assert (dutch, english) == ("IBAN voor automatische incasso", "IBAN for direct debit")


# Records whose every value the vendor left empty ("fields": {}): still the customer's data.

Record = dict[str, Any]
EMPTY_ORDERS = 23  # more than a page of them (PAGE_SIZE = 20)


def _record(record_type: str, record_id: str, fields: Record, **extra: object) -> Record:
    return {
        "source": "webshop",
        "system": "woocommerce",
        "record_type": record_type,
        "record_id": record_id,
        "link": f"https://shop.example/wp-admin/post.php?post={record_id}",
        "fields": fields,
        "categories": {name: "identity" for name in fields},
        "dates": {"created": "2024-05-01T10:00:00+00:00"},
        "matched": "email",
        "parent": None,
        **extra,
    }


def _empty_records() -> list[Record]:
    """A record with a value, and three without: an order, its note, and another order."""
    order = {"source": "webshop", "record_type": "order", "record_id": "5001"}
    return [
        _record("customer", "101", {"first_name": "Sanne"}),
        _record("order", "5001", {}),
        _record("order_note", "9001", {}, parent=order),
        _record("order", "<i>5002</i>", {}),
    ]


def _signed_in_with(app: Flask, client: FlaskClient, records: list[Record]) -> FlaskClient:
    hold_snapshot(app, sign_in(app, client), records)
    return client


def test_a_record_with_every_value_empty_is_listed_with_its_reference(
    app: Flask, client: FlaskClient
) -> None:
    sanne = _signed_in_with(app, client, _empty_records())
    page = _page(sanne)
    group = page[page.index('id="cat-_empty"') :]
    assert "<h3" in group and "Gegevens waarin niets is ingevuld</h3>" in group
    assert "Onze systemen hebben deze gegevens over u" in group
    assert "Webwinkel (3 gegevens)" in group  # as many as the list shows
    assert "<summary>Bestelling 5001" in group
    assert (
        "In Webwinkel staat dit gegeven (Bestelling 5001), maar er is op dit moment niets in "
        "ingevuld." in group
    )
    # a note without values goes with its order, and says the same of itself
    note = group[group.index('<ol class="children">') :]
    assert '<p class="child-head">Notitie bij bestelling 9001' in note
    assert "In Webwinkel staat dit gegeven (Notitie bij bestelling 9001), maar" in note
    assert "Waar onze medewerkers het vinden:" in group
    assert "https://shop.example/wp-admin/post.php?post=5001" in group
    # the vendor's reference is text, never markup
    assert "(Bestelling &lt;i&gt;5002&lt;/i&gt;)" in group and "<i>5002" not in page
    # the summary counts the group too
    summary = page[page.index('id="categories-caption"') : page.index('id="data-title"')]
    assert 'href="#cat-_empty">Gegevens waarin niets is ingevuld</a>' in summary
    # the record with values is shown as before, with its correction link; the empty ones not
    assert "record_id=101" in page and "Voornaam" in page
    assert "record_id=5001" not in page and "record_id=9001" not in page


def test_records_with_every_value_empty_in_english(app: Flask, client: FlaskClient) -> None:
    sanne = _signed_in_with(app, client, _empty_records())
    sanne.set_cookie("portal_lang", "en")
    page = _page(sanne)
    group = page[page.index('id="cat-_empty"') :]
    assert "Records with nothing filled in</h3>" in group
    assert "Our systems hold these records about you, but every value in them is empty" in group
    assert (
        "Web shop holds this record (Order 5001), but none of its values are filled in at the "
        "moment." in group
    )
    category = _page(sanne, "/mijn-gegevens/_empty")
    assert "<h1>Records with nothing filled in</h1>" in category
    assert "Web shop holds this record (Order 5001)" in category


def test_a_page_of_only_records_without_values_renders_and_pages(
    app: Flask, client: FlaskClient
) -> None:
    records = [_record("order", str(6000 + n), {}) for n in range(EMPTY_ORDERS)]
    sanne = _signed_in_with(app, client, records)
    overview = _page(sanne)
    assert f"Webwinkel ({EMPTY_ORDERS} gegevens)" in overview
    assert (
        "In deze soort gegevens hebben we niets van u gevonden." in overview
    )  # the policy's categories
    assert 'href="/mijn-gegevens/_empty"' in overview  # more than the overview's preview

    first = _page(sanne, "/mijn-gegevens/_empty")
    assert "<h1>Gegevens waarin niets is ingevuld</h1>" in first
    assert "Pagina 1 van 2." in first
    assert 'href="/mijn-gegevens/_empty?pagina=2"' in first
    second = _page(sanne, "/mijn-gegevens/_empty?pagina=2")
    assert "Pagina 2 van 2." in second and 'rel="prev"' in second
    shown = set(re.findall(r"<summary>Bestelling (\d+)", first))
    shown |= set(re.findall(r"<summary>Bestelling (\d+)", second))
    assert shown == {r["record_id"] for r in records}
    assert second.count("In Webwinkel staat dit gegeven (Bestelling") == EMPTY_ORDERS - 20
    for page in (overview, first, second):
        assert "/verzoeken/nieuw/correctie" not in page
        assert "Wijzig<span" not in page


def test_every_record_of_a_snapshot_is_listed_somewhere(app: Flask) -> None:
    """The per-system count and the lists agree: no record is left out of every group."""
    records = _empty_records()
    outcome = SourceOutcome("webshop", "woocommerce", "complete", None, None, (), len(records), 0.1)
    now = utcnow()
    snapshot = Snapshot(
        id=0, gathered_at=now, expires_at=now, sources=(outcome,), records=tuple(records)
    )
    with app.test_request_context():
        overview = build_overview(current_policy(), snapshot)

    def listed(entries: list[Entry]) -> Iterator[str]:
        for entry in entries:
            yield entry.part.record_id
            yield from listed(entry.children)

    shown = {rid for section in overview.categories for rid in listed(section.entries)}
    assert shown == {r["record_id"] for r in records}
    empty = overview.category("_empty")
    assert empty is not None and empty.record_count == 3
    assert [f for e in empty.entries for f in e.fields] == []
    assert overview.categories[-1] is empty


# Long lists: an order with hundreds of notes, and hundreds of orders.

NOTES = 235
ORDERS = 300  # 15 pages of 20


def _long_records() -> list[Record]:
    orders = {"number": "orders"}
    order = {"source": "webshop", "record_type": "order", "record_id": "7000"}
    records = [
        _record("order", str(7000 + n), {"number": str(7000 + n)}, categories=orders)
        for n in range(ORDERS)
    ]
    for n in range(NOTES):
        created = f"2024-05-01T10:{n // 60:02d}:{n % 60:02d}+00:00"
        records.append(
            _record(
                "order_note",
                f"7000/{9000 + n}",
                {"note": f"Bericht {n + 1}"},
                categories={"note": "orders"},
                parent=order,
                dates={"created": created},
            )  # fmt: skip
        )
    return records


def test_a_long_thread_shows_its_first_messages_and_the_rest_page_by_page(
    app: Flask, client: FlaskClient
) -> None:
    sanne = _signed_in_with(app, client, _long_records())
    record = "/mijn-gegevens/orders/gegeven?bron=webshop&amp;soort=order&amp;id=7000"
    for page in (_page(sanne), _page(sanne, "/mijn-gegevens/orders")):
        block = page[page.index("<summary>Bestelling 7000") :]
        block = block[: block.index("</details>")]
        assert block.count('<p class="child-head">') == 10  # the first ten, oldest first
        assert "Bericht 1<" in block and "Bericht 10<" in block and "Bericht 11<" not in block
        assert f'<a href="{record}">Alle {NOTES} bijbehorende gegevens van Bestelling 7000' in block

    first = _page(sanne, record.replace("&amp;", "&"))
    assert "<h1>Bestelling 7000</h1>" in first
    assert "Pagina 1 van 12." in first and f"{NOTES} bijbehorende gegevens." in first
    assert first.count('<p class="child-head">') == 20 and '<ol class="children">' in first
    assert 'class="correct"' in first  # each field still has its way to a correction
    last = _page(sanne, record.replace("&amp;", "&") + "&pagina=12")
    assert last.count('<p class="child-head">') == NOTES - 220
    assert '<ol class="children" start="221">' in last and "Bericht 235<" in last
    assert f'href="{record}&amp;pagina=11" rel="prev"' in last
    # nobody else's record, and no made-up one
    for query in ("bron=webshop&soort=order&id=9999", "bron=helpdesk&soort=order&id=7000", ""):
        assert sanne.get(f"/mijn-gegevens/orders/gegeven?{query}").status_code == 404
    assert sanne.get("/mijn-gegevens/geheim/gegeven?bron=webshop").status_code == 404


def test_hundreds_of_orders_link_a_few_pages_around_this_one(
    app: Flask, client: FlaskClient
) -> None:
    sanne = _signed_in_with(app, client, _long_records())
    page = _page(sanne, "/mijn-gegevens/orders?pagina=7")
    links = re.findall(r'href="/mijn-gegevens/orders\?pagina=(\d+)"( aria-current="page")?', page)
    numbers = [int(n) for n, _current in links]
    assert numbers == [6, 1, 5, 6, 7, 8, 9, 15, 8]  # previous, 1 … 5-9 … 15, next
    assert [int(n) for n, current in links if current] == [7]
    assert page.count('<li class="gap" aria-hidden="true">…</li>') == 2


def test_names_inside_nested_values_are_named_as_they_mean_there(app: Flask) -> None:
    """A MoneyBird invoice line's ``amount`` is how many (``2,5 uur``), a payment's ``amount``
    money; an address's ``state`` a province; two names with one label keep both values."""
    from flask_babel import force_locale

    from portal.customer.services import display_value
    from portal.export.offline import display

    line = {"description": "Onderhoud", "amount": "2,5 uur", "price": "60.0"}
    with app.test_request_context(), force_locale("nl"):
        assert display_value([line], "lines") == [
            {"Omschrijving": "Onderhoud", "Aantal": "2,5 uur", "Prijs per stuk": "60,00"}
        ]
        assert display_value({"amount": "10.00"}, "details") == {"Bedrag": "10.00"}
        assert display_value({"state": "UT"}, "billing_address") == {"Provincie": "UT"}
        both = display_value({"key": "_klant", "name": "Sanne"}, "meta_data")
        assert both == {"Naam (key)": "_klant", "Naam (name)": "Sanne"}
        # index.html says the same
        assert (
            display([line], "lines")
            == "Omschrijving: Onderhoud\nAantal: 2,5 uur\nPrijs per stuk: 60,00"
        )
    with app.test_request_context(), force_locale("en"):
        assert display_value({"state": "UT"}, "shipping_address") == {"Province": "UT"}


def test_an_order_s_extra_data_and_its_notes_read_as_they_mean(sanne: FlaskClient) -> None:
    """WooCommerce's meta data is a list of names with values: shown as names in words with
    their values; an order note's ``customer_note`` says whether it was sent to the customer,
    and who wrote a note and whether it was sent are the shop's record, not to correct."""
    orders = _page(sanne, "/mijn-gegevens/orders")
    assert '<dt>Betalingsnummer bij Mollie</dt><dd><span class="text">tr_' in orders
    assert '<dt>Vrijgesteld van btw</dt><dd><span class="text">Nee</span>' in orders
    assert "_mollie_payment_id" not in orders and "is_vat_exempt" not in orders
    assert "<dt>Aan u gestuurd</dt>" in orders
    assert "Het systeem van de webwinkel" in orders
    assert not re.search(r"> „(Aan u gestuurd|Geschreven door)” van notitie bij bestelling", orders)
    assert re.search(r"> „Notitie” van notitie bij bestelling", orders)  # the text may be wrong
    # an order's own customer_note is what the customer wrote, and may be corrected
    assert "<dt>Opmerking van u</dt>" in orders
    assert re.search(r"> „Opmerking van u” van bestelling \d+<", orders)
    sanne.set_cookie("portal_lang", "en")
    english = _page(sanne, "/mijn-gegevens/orders")
    assert "<dt>Payment number at Mollie</dt>" in english and "<dt>Sent to you</dt>" in english
    assert re.search(r"Correct<span[^>]*> “Note from you” of order \d+<", english)


def test_codes_of_how_an_order_was_placed_and_paid_and_languages_read_in_words(
    app: Flask, sanne: FlaskClient
) -> None:
    orders = _page(sanne, "/mijn-gegevens/orders")
    assert (
        '<dt>Aangemaakt via</dt>\n  <dd><span class="text">Bij het afrekenen in de webwinkel'
        in (orders)
    )
    assert ">checkout<" not in orders
    payment = _page(sanne, "/mijn-gegevens/payment")
    assert ">iDEAL via Mollie<" in payment and "mollie_wc_gateway" not in payment
    assert ">Bankoverschrijving<" in payment and ">bacs<" not in payment
    account = _page(sanne, "/mijn-gegevens/customer_account")
    assert ">Nederlands (Nederland)<" in account or ">Nederlands<" in account
    assert ">nl_NL<" not in account and ">nl<" not in account

    from flask_babel import force_locale

    from portal.customer.texts import value_label

    with app.test_request_context(), force_locale("en"):
        assert value_label("locale", "nl_NL") == "Dutch (Netherlands)"
        assert value_label("language", "en-GB") == "English (United Kingdom)"
        assert value_label("locale", "not a language") is None
        assert value_label("language", "und") is None  # undetermined: no guess
        assert value_label("payment_method", "bacs") == "Bank transfer"
        assert value_label("payment_method", "mollie_wc_gateway_creditcard") == (
            "Credit card via Mollie"
        )
        assert value_label("payment_method", "mollie_wc_gateway_unknown") is None
        assert value_label("created_via", "admin") == "By our staff"
        # an order the shop moved to its trash: still held, so shown, in words
        assert value_label("status", "trash") == "In the trash"


def test_pairs_of_names_and_values_keep_every_value(app: Flask) -> None:
    from flask_babel import force_locale

    from portal.customer.services import display_value
    from portal.export.offline import display

    meta = [
        {"key": "_marketing_opt_in", "value": "yes"},
        {"key": "gift", "value": "a"},
        {"key": "gift", "value": "b"},
        {"key": "is_vat_exempt", "value": "no"},
    ]
    with app.test_request_context(), force_locale("nl"):
        assert display_value(meta, "meta_data") == {
            "Marketing opt in": "Ja", "Gift (1)": "a", "Gift (2)": "b",
            "Vrijgesteld van btw": "Nee",
        }  # fmt: skip
        assert display(meta, "meta_data") == (
            "Marketing opt in: Ja\nGift (1): a\nGift (2): b\nVrijgesteld van btw: Nee"
        )
        # anything else in that field, or such pairs in another field, is shown as it is
        odd = [{"key": "x", "value": "1", "id": 7}]
        assert display_value(odd, "meta_data") == [{"Naam": "x", "Waarde": "1", "id": 7}]
        assert display_value(meta[:1], "custom_fields") == [
            {"Naam": "_marketing_opt_in", "Waarde": "yes"}
        ]
        # the fields a firm added in Freshdesk, named as the firm named them
        assert display_value({"cf_order_nummer": None}, "custom_fields") == {"Order nummer": None}
        assert display({"cf_ordernummer": "2110"}, "custom_fields") == "Ordernummer: 2110"
        # a firm's own file is never read as a system's pairs
        assert display_value(meta[:1], "meta_data", codes=False) == [
            {"Naam": "_marketing_opt_in", "Waarde": "yes"}
        ]


def test_a_record_s_page_names_a_system_that_did_not_answer_completely(
    app: Flask, client: FlaskClient
) -> None:
    partial = SourceOutcome(
        "webshop", "woocommerce", "partial", None, None, (("order_notes", "down"),), 1, 0.1
    )
    order = _record("order", "7000", {"number": "7000"}, categories={"number": "orders"})
    hold_snapshot(app, sign_in(app, client), [order], [partial])
    page = _page(client, "/mijn-gegevens/orders/gegeven?bron=webshop&soort=order&id=7000")
    problems = page[page.index('class="notice notice-warning problems"') :]
    assert "Niet alles kon worden opgehaald" in problems
    assert "notities bij bestellingen" in problems
    assert 'action="/mijn-gegevens/opnieuw"' in problems  # try again
    assert "bovenaan de pagina" not in page  # no pointer to a list this page does not have


def test_a_recipient_outside_the_eea_is_shown_with_its_safeguards(sanne: FlaskClient) -> None:
    """GDPR art. 15(2): the customer is told how data sent outside the EEA is safeguarded."""
    page = _page(sanne, "/mijn-gegevens/support")
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Verenigde Staten). EU-VS Data Privacy Framework en standaardcontractbepalingen." in text


# A record found through a record of another system: a guest order's Mollie payment.


def _found_through_records() -> list[Record]:
    order = _record("order", "1977", {"transaction_id": "tr_Gk2Mw8PxLs", "total": "35.97"})
    order["categories"] = {"transaction_id": "payment", "total": "orders"}
    payment = _record("payment", "tr_Gk2Mw8PxLs", {"amount": "35.97 EUR", "method": "ideal"})
    payment.update(
        source="payments",
        system="mollie",
        link=None,
        categories={"amount": "payment", "method": "payment"},
        parent={"source": "webshop", "record_type": "order", "record_id": "1977"},
    )
    return [order, payment]


def test_a_record_found_through_another_system_s_record_says_so(
    app: Flask, client: FlaskClient
) -> None:
    records = _found_through_records()
    outcomes = [
        SourceOutcome("webshop", "woocommerce", "complete", None, None, (), 1, 0.1),
        SourceOutcome("payments", "mollie", "complete", None, None, (), 1, 0.1),
    ]
    hold_snapshot(app, sign_in(app, client), records, outcomes)
    client.set_cookie("portal_lang", "en")
    page = _page(client, "/mijn-gegevens/payment")
    # an entry of its own system's, not a related record of the order in the other system
    assert '<ol class="children">' not in page
    assert "<summary>Payment tr_Gk2Mw8PxLs" in page and "<summary>Order 1977" in page
    found = r"<dt>Found through</dt>\s*<dd>Web shop: Order 1977</dd>"
    assert len(re.findall(found, page)) == 1  # the payment's; the order was found itself
    record = _page(
        client, "/mijn-gegevens/payment/gegeven?bron=payments&soort=payment&id=tr_Gk2Mw8PxLs"
    )
    assert re.search(found, record)
    with app.test_request_context():
        snapshot = Snapshot(
            id=0, gathered_at=utcnow(), expires_at=utcnow(), sources=tuple(outcomes),
            records=tuple(records),
        )  # fmt: skip
        section = build_overview(current_policy(), snapshot).category("payment")
        assert section is not None
        through = {e.part.record_id: e.found_through for e in section.entries}
    assert through == {"1977": None, "tr_Gk2Mw8PxLs": ("webshop", "Bestelling", "1977")}


@pytest.mark.parametrize(
    ("lang", "label", "words"),
    [
        ("nl", "Gevonden via", "Wat wij na uw verzoek om verwijdering wettelijk moeten bewaren"),
        ("en", "Found through", "What we must keep by law after your request to erase"),
    ],
)
def test_a_record_kept_by_law_after_an_erasure_says_why_it_is_still_there(
    app: Flask, client: FlaskClient, lang: str, label: str, words: str
) -> None:
    """A payment read again by id because the firm keeps it (no record or identifier of the
    customer's names it any more) says so where another record says what it was found
    through; a payment found the usual way says nothing of the kind."""
    kept = _record("payment", "tr_6MVYvbBCmS", {"amount": "12.50 EUR"}, matched=None)
    own = _record("payment", "tr_V6RyTnJoPb", {"amount": "8.00 EUR"})
    for payment in (kept, own):
        payment.update(
            source="payments", system="mollie", link=None, categories={"amount": "payment"}
        )
    outcomes = [SourceOutcome("payments", "mollie", "complete", None, None, (), 2, 0.1)]
    hold_snapshot(app, sign_in(app, client), [kept, own], outcomes)
    client.set_cookie("portal_lang", lang)
    page = _page(client, "/mijn-gegevens/payment")
    found = rf"<dt>{label}</dt>\s*<dd>{words}</dd>"
    assert len(re.findall(found, page)) == 1
    record = _page(
        client, "/mijn-gegevens/payment/gegeven?bron=payments&soort=payment&id=tr_6MVYvbBCmS"
    )
    assert re.search(found, record)
    other = _page(
        client, "/mijn-gegevens/payment/gegeven?bron=payments&soort=payment&id=tr_V6RyTnJoPb"
    )
    assert label not in other


def test_the_guest_order_s_mollie_payment_is_shown_found_through_the_order(
    sanne: FlaskClient,
) -> None:
    sanne.set_cookie("portal_lang", "en")
    record = _page(
        sanne, "/mijn-gegevens/payment/gegeven?bron=payments&soort=payment&id=tr_Gk2Mw8PxLs"
    )
    assert "<h1>Payment tr_Gk2Mw8PxLs" in record
    assert re.search(r"<dt>Found through</dt>\s*<dd>Web shop: Order 1977</dd>", record)
    assert "NL00TEST0123456789" in record


def test_signing_out_deletes_the_held_data(app: Flask, client: FlaskClient) -> None:
    """What was gathered for the pages is held only while it serves them: signing out
    deletes it (another customer's held data stays), and signing in again gathers anew."""
    sanne_id = sign_in(app, client)
    assert "Oudegracht" in _page(client)
    other = app.test_client()
    other_id = sign_in(app, other, "iemand.anders@example.nl")
    _page(other)
    token = CSRF_RE.search(client.get("/account").get_data(as_text=True))
    assert token is not None
    response = client.post("/uitloggen", data={"csrf_token": token.group(1)})
    assert response.status_code == 303
    with app.app_context():
        held = db.session.scalars(sa.select(GatheredSnapshot.customer_id)).all()
        assert held == [other_id]
        assert "auth.logout" in db.session.scalars(sa.select(AuditEvent.action)).all()
    sign_in(app, client)
    assert "Oudegracht" in _page(client)  # gathered again
    with app.app_context():
        held = db.session.scalars(sa.select(GatheredSnapshot.customer_id)).all()
        assert sorted(held) == sorted([sanne_id, other_id])
