"""The shared, deterministic demo world behind all five vendor simulators.

One set of fictional people (see ``simulators/README.md``) is spread over WooCommerce,
MoneyBird, Zammad, Freshdesk and Mollie, with cross-links between the systems (order ↔
payment ids, ticket texts that mention order and invoice numbers). Records that exist in
the reference samples (``simulators/data/samples/``) are taken from them verbatim; the rest
is generated from those samples as templates with a seeded :class:`random.Random`, so the
same ``seed`` and ``today`` always give the same world.

Records are stored in the vendor's own JSON shape, minus the parts a simulator renders per
request (``_links``, Zammad's expanded names, MoneyBird's embedded contact, ...).
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "ADMINISTRATION_ID",
    "DEMO_CUSTOMER",
    "DEMO_SEED",
    "PHONE_ONLY_FRESHDESK_ID",
    "PHONE_ONLY_NUMBER",
    "PHONE_ONLY_ZAMMAD_ID",
    "Person",
    "World",
    "build_world",
    "load_sample",
]

#: Seed of the default demo world.
DEMO_SEED = 20250301
#: MoneyBird administration ("Koffiebar Utrecht B.V.") used in every MoneyBird URL.
ADMINISTRATION_ID = "431877250663540736"
#: Key of the demo data subject in :attr:`World.people`.
DEMO_CUSTOMER = "sanne"
#: A caller who only ever phoned (Lieke Hoekstra): a Freshdesk contact and a Zammad user
#: without an e-mail address, her number stored as the agent typed it, in a national
#: spelling that differs per system. Only her verified number finds her, in any spelling.
PHONE_ONLY_NUMBER = "+31613572468"
PHONE_ONLY_FRESHDESK_ID = 80012349001
PHONE_ONLY_ZAMMAD_ID = 901

SAMPLES_DIR = Path(__file__).parent / "data" / "samples"

Json = dict[str, Any]


@cache
def _sample_text(vendor: str, name: str) -> str:
    return (SAMPLES_DIR / vendor / name).read_text(encoding="utf-8")


def load_sample(vendor: str, name: str) -> Any:
    """Return a fresh copy of one reference sample, e.g. ``load_sample("mollie", "x.json")``."""
    return json.loads(_sample_text(vendor, name))


@dataclass(frozen=True)
class Person:
    """One fictional person (or company contact) and their ids in every vendor system.

    ``phone`` is spelled the way the systems store it. ``mollie_ids`` may hold several
    customers (Mollie allows duplicates); the first is the main one.
    """

    key: str
    first_name: str
    last_name: str
    email: str
    phone: str
    street: str
    postcode: str
    city: str
    country: str = "NL"
    company: str = ""
    description: str = ""
    woocommerce_id: int = 0
    moneybird_id: str = ""
    moneybird_customer_id: str = ""
    zammad_id: int = 0
    freshdesk_id: int = 0
    mollie_ids: tuple[str, ...] = ()
    created: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC))

    @property
    def name(self) -> str:
        """Full display name."""
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def mollie_id(self) -> str:
        """The main Mollie customer id."""
        return self.mollie_ids[0] if self.mollie_ids else ""


@dataclass
class World:
    """The demo world: the people and each vendor's records (plain JSON-able dicts)."""

    seed: int
    today: date
    people: dict[str, Person]
    woocommerce: dict[str, Any]
    moneybird: dict[str, Any]
    zammad: dict[str, Any]
    freshdesk: dict[str, Any]
    mollie: dict[str, Any]

    def person(self, key: str) -> Person:
        """Return the person with this key (e.g. ``"sanne"``)."""
        return self.people[key]

    def by_email(self, email: str) -> list[Person]:
        """Return the people whose e-mail equals ``email`` after lower-casing and trimming."""
        needle = email.strip().lower()
        return [p for p in self.people.values() if p.email.lower() == needle]


# ----------------------------------------------------------------------------- formatting


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def iso_ms(dt: datetime) -> str:
    """``2024-03-14T09:12:40.118Z`` (MoneyBird, Zammad)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_s(dt: datetime) -> str:
    """``2024-12-03T08:14:27Z`` (Freshdesk)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_offset(dt: datetime) -> str:
    """``2024-03-12T13:18:05+00:00`` (Mollie)."""
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def _last_sunday(year: int, month: int) -> date:
    d = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def nl_local(dt: datetime) -> datetime:
    """Convert a UTC time to naive Europe/Amsterdam wall-clock time (EU DST rules)."""
    dt = dt.astimezone(UTC)
    start = datetime.combine(_last_sunday(dt.year, 3), datetime.min.time(), UTC) + timedelta(
        hours=1
    )
    end = datetime.combine(_last_sunday(dt.year, 10), datetime.min.time(), UTC) + timedelta(hours=1)
    offset = 2 if start <= dt < end else 1
    return (dt + timedelta(hours=offset)).replace(tzinfo=None, microsecond=0)


def wc_dates(dt: datetime | None) -> tuple[str | None, str | None]:
    """WooCommerce ``(date_x, date_x_gmt)``: shop-local and UTC, both without offset."""
    if dt is None:
        return None, None
    return (
        nl_local(dt).isoformat(),
        dt.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat(),
    )


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _mb_money(value: Decimal) -> str:
    """MoneyBird decimal string without fixed scale: ``99.0``, ``119.79``, ``302.5``."""
    text = format(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize(), "f")
    return text if "." in text else text + ".0"


# ------------------------------------------------------------------------------- people

_SANNE_CREATED = datetime(2024, 3, 12, 13, 5, 31, tzinfo=UTC)
#: Randomly dated records lie before this moment, so their ids and dates do not depend on
#: ``today``; only the few explicitly "recent" records are placed relative to ``today``.
_HORIZON = datetime(2025, 2, 28, 18, 0, tzinfo=UTC)

_FIXED_PEOPLE: list[Person] = [
    Person(
        key="sanne",
        first_name="Sanne",
        last_name="de Vries",
        email="sanne.devries@example.nl",
        phone="+31 6 12345678",
        street="Oudegracht 112",
        postcode="3511 AX",
        city="Utrecht",
        description="The demo data subject. Data in every system.",
        woocommerce_id=101,
        moneybird_id="431877251120719881",
        moneybird_customer_id="1042",
        zammad_id=27,
        freshdesk_id=80012345671,
        mollie_ids=("cst_Vd3sNq7Lw2", "cst_Tz4Kd8Wm1S"),
        created=_SANNE_CREATED,
    ),
    Person(
        key="sanne_groningen",
        first_name="Sanne",
        last_name="de Vries",
        email="sanne.de.vries@example.nl",
        phone="+31 6 98765432",
        street="Zuiderdiep 45",
        postcode="9711 HG",
        city="Groningen",
        description="A DIFFERENT person: same name, near-identical e-mail.",
        woocommerce_id=102,
        moneybird_id="431877251294783498",
        moneybird_customer_id="1057",
        zammad_id=41,
        freshdesk_id=80012345702,
        mollie_ids=("cst_Pm8xTq2Hn6",),
        created=datetime(2024, 6, 30, 18, 12, 4, tzinfo=UTC),
    ),
    Person(
        key="daan",
        first_name="Daan",
        last_name="Jansen",
        email="daan.jansen@example.nl",
        phone="+31 10 1234567",
        street="Witte de Withstraat 8",
        postcode="3012 BP",
        city="Rotterdam",
        company="Jansen Koffie & Co",
        description="Bystander; a company contact with a contact person in MoneyBird.",
        woocommerce_id=103,
        moneybird_id="431877251405932555",
        moneybird_customer_id="1063",
        zammad_id=44,
        freshdesk_id=80012345733,
        mollie_ids=("cst_Bj5Zr9Wk1Y",),
        created=datetime(2024, 9, 1, 9, 1, 33, tzinfo=UTC),
    ),
    Person(
        key="kees",
        first_name="Kees",
        last_name="de Vries",
        email="kees.devries@example.nl",
        phone="+31612345678",
        street="Oudegracht 112",
        postcode="3511 AX",
        city="Utrecht",
        description="Same household and SAME phone number as Sanne (stored as +31612345678). "
        "A different person: never match Sanne by phone or address alone.",
        created=datetime(2024, 5, 6, 17, 30, 12, tzinfo=UTC),
    ),
    Person(
        key="sanne_plus",
        first_name="Sanne",
        last_name="de Vries",
        email="sanne.devries+shop@example.nl",
        phone="+31 6 55501234",
        street="Langestraat 3",
        postcode="3811 AA",
        city="Amersfoort",
        description="Plus-tag address; a separate account (WooCommerce role 'subscriber'). "
        "Exact e-mail matching must not return it for sanne.devries@example.nl.",
        created=datetime(2024, 8, 14, 12, 2, 44, tzinfo=UTC),
    ),
    Person(
        key="sanne_evil",
        first_name="Sanne",
        last_name="de Vries",
        email="sanne.devries@example.nl.evil.com",
        phone="+31 6 66600066",
        street="Kalverstraat 1",
        postcode="1012 NX",
        city="Amsterdam",
        description="Substring near-miss: her address is a prefix of this one.",
        created=datetime(2024, 10, 2, 22, 41, 9, tzinfo=UTC),
    ),
    Person(
        key="xsanne",
        first_name="Susanne",
        last_name="de Vries",
        email="xsanne.devries@example.nl",
        phone="+31 6 44403322",
        street="Grote Houtstraat 20",
        postcode="2011 SR",
        city="Haarlem",
        description="Substring near-miss: her address is a suffix of this one.",
        created=datetime(2024, 4, 19, 8, 15, 0, tzinfo=UTC),
    ),
    Person(
        key="sanne_com",
        first_name="Sanne",
        last_name="de Vries",
        email="sanne.devries@example.com",
        phone="+32 470 12 34 56",
        street="Meir 10",
        postcode="2000",
        city="Antwerpen",
        country="BE",
        description="Near-miss on the domain (.com instead of .nl), lives in Belgium.",
        created=datetime(2024, 11, 7, 19, 55, 31, tzinfo=UTC),
    ),
    Person(
        key="devries_advies",
        first_name="Pieter",
        last_name="de Vries",
        email="info@devriesadvies.example.nl",
        phone="+31 30 2345678",
        street="Oudegracht 112",
        postcode="3511 AX",
        city="Utrecht",
        company="De Vries Advies B.V.",
        description="Company contact at Sanne's address (office downstairs); contact person "
        "Pieter de Vries. Shares the address, nothing else.",
        created=datetime(2023, 9, 12, 9, 0, 0, tzinfo=UTC),
    ),
    Person(
        key="mila",
        first_name="Mila",
        last_name="Bakker",
        email="mila.bakker@example.nl",
        phone="+31 6 23456789",
        street="Twijnstraat 33",
        postcode="3511 ZH",
        city="Utrecht",
        description="Bystander from the Mollie samples.",
        mollie_ids=("cst_Hy7Lc4Vn8R",),
        created=datetime(2024, 2, 7, 15, 44, 9, tzinfo=UTC),
    ),
    Person(
        key="joris",
        first_name="Joris",
        last_name="van Dijk",
        email="joris.vandijk@example.nl",
        phone="+31 6 34567890",
        street="Biltstraat 150",
        postcode="3572 BM",
        city="Utrecht",
        description="Bystander from the Mollie samples.",
        mollie_ids=("cst_Qa2Wd6Ft9E",),
        created=datetime(2023, 11, 21, 10, 2, 57, tzinfo=UTC),
    ),
]

_FIRST = [
    "Emma", "Lucas", "Julia", "Noah", "Tess", "Levi", "Fenna", "Sem", "Lotte", "Finn",
    "Evi", "Milan", "Bram", "Sophie", "Thijs", "Anouk", "Ruben", "Iris", "Jesse", "Femke",
    "Stijn", "Lisa", "Tim", "Noor", "Jasper", "Eva", "Lars", "Roos", "Gijs", "Maud",
]  # fmt: skip
_LAST = [
    "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
    "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits",
    "de Graaf", "van der Meer", "Kok", "Jacobs", "Vermeulen", "van den Berg", "Willems",
]  # fmt: skip
_PLACES = [
    ("Amsterdam", "1015", "Prinsengracht"), ("Rotterdam", "3011", "Hoogstraat"),
    ("Den Haag", "2513", "Lange Poten"), ("Utrecht", "3512", "Lange Nieuwstraat"),
    ("Eindhoven", "5611", "Stratumseind"), ("Zwolle", "8011", "Diezerstraat"),
    ("Leiden", "2312", "Breestraat"), ("Nijmegen", "6511", "Molenstraat"),
    ("Amersfoort", "3811", "Krommestraat"), ("Arnhem", "6811", "Jansstraat"),
    ("Delft", "2611", "Oude Delft"), ("Breda", "4811", "Ginnekenweg"),
]  # fmt: skip
_ALPHANUM = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
_FILLER_COUNT = 30


def _rand_id(rng: random.Random, prefix: str, taken: set[str]) -> str:
    while True:
        value = prefix + "".join(rng.choice(_ALPHANUM) for _ in range(10))
        if value not in taken:
            taken.add(value)
            return value


def _make_people(rng: random.Random) -> list[Person]:
    people = list(_FIXED_PEOPLE)
    pairs = [(f, last) for f in _FIRST for last in _LAST]
    rng.shuffle(pairs)
    used_phones = {"12345678", "98765432"}
    for i, (first, last) in enumerate(pairs[:_FILLER_COUNT]):
        city, pc, street = _PLACES[i % len(_PLACES)]
        while True:
            digits = f"{rng.randrange(20000000, 99999999)}"
            if digits not in used_phones:
                used_phones.add(digits)
                break
        local = (first + "." + last.replace(" ", "")).lower()
        people.append(
            Person(
                key=f"filler_{i + 1:02d}",
                first_name=first,
                last_name=last,
                email=f"{local}@example.nl",
                phone=f"+31 6 {digits}",
                street=f"{street} {rng.randrange(1, 180)}",
                postcode=f"{pc} {rng.choice('ABCDEFGHJK')}{rng.choice('ABCDEFGHJK')}",
                city=city,
                description="Filler customer.",
                created=datetime(2022, 1, 10, tzinfo=UTC)
                + timedelta(minutes=rng.randrange(0, 60 * 24 * 365 * 3)),
            )
        )
    # Assign ids in every system that the fixed definitions leave open.
    mollie_taken = {m for p in people for m in p.mollie_ids}
    out: list[Person] = []
    wc_next, zm_next, fd_next, mb_nr = 104, 45, 80012345764, 1070
    for idx, p in enumerate(people):
        changes: dict[str, Any] = {}
        if not p.woocommerce_id:
            changes["woocommerce_id"] = wc_next
            wc_next += 1
        if not p.moneybird_id:
            changes["moneybird_id"] = str(431877251520000000 + idx * 1_000_003 + rng.randrange(999))
            if p.key == "kees":
                changes["moneybird_customer_id"] = "1043"
            else:
                changes["moneybird_customer_id"] = str(mb_nr)
                mb_nr += 1
        if not p.zammad_id:
            changes["zammad_id"] = zm_next
            zm_next += rng.randrange(1, 4)
        if not p.freshdesk_id:
            changes["freshdesk_id"] = fd_next
            fd_next += rng.randrange(17, 40)
        if not p.mollie_ids:
            changes["mollie_ids"] = (_rand_id(rng, "cst_", mollie_taken),)
        out.append(_replace(p, **changes))
    return out


def _replace(p: Person, **changes: Any) -> Person:
    return replace(p, **changes)


# ------------------------------------------------------------------------- timeline helpers


class _Clock:
    """Hands out deterministic timestamps."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def between(self, start: datetime, end: datetime) -> datetime:
        span = max(int((end - start).total_seconds()), 1)
        dt = start + timedelta(seconds=self.rng.randrange(span))
        return dt.replace(microsecond=self.rng.randrange(1000) * 1000)

    def after(self, dt: datetime, lo_minutes: int, hi_minutes: int) -> datetime:
        dt = dt + timedelta(minutes=self.rng.randrange(lo_minutes, hi_minutes + 1))
        return dt.replace(microsecond=self.rng.randrange(1000) * 1000)


def _assign_ids(items: list[Json], fixed: set[int]) -> None:
    """Number the items without ``id`` in time order (``_t``) around the fixed ids.

    Ids increase with time and continue after each fixed id that has been passed, the way
    an auto-increment column does, so the sample records keep their place in the sequence.
    """
    ordered = sorted(items, key=lambda x: x["_t"])
    anchors = [x["id"] for x in ordered if x.get("id") is not None]
    before_first = 0
    for x in ordered:
        if x.get("id") is not None:
            break
        before_first += 1
    next_id = (min(anchors) if anchors else 100) - before_first - 1
    for item in ordered:
        if item.get("id") is not None:
            next_id = max(next_id, item["id"] + 1)
            continue
        while next_id in fixed:
            next_id += 1
        item["id"] = next_id
        next_id += 1


# ---------------------------------------------------------------------------- WooCommerce

_PRODUCTS = [
    (57, "Koffiebonen Huismelange 1 kg", "KB-HUIS-1KG", "24.79", 812),
    (58, "Koffiebonen Decaf 500 g", "KB-DEC-500", "13.22", 813),
    (64, "Melkopschuimer Inductie", "MO-IND-01", "41.28", 820),
    (71, "Espressomachine Compact (refurbished)", "EM-COMP-RF", "123.97", 845),
    (88, "Filterzakjes nr. 4 (80 st.)", "FZ-4-80", "8.26", 861),
    (92, "Ontkalker Citrus 500 ml", "ONT-CIT-500", "7.40", 866),
    (97, "Cappuccinokopjes (set van 2)", "CK-SET-2", "16.53", 871),
    (103, "Waterfilter Claris", "WF-CLAR", "14.05", 874),
]


def _wc_address(p: Person, *, with_email: bool, email: str | None = None) -> Json:
    addr: Json = {
        "first_name": p.first_name,
        "last_name": p.last_name,
        "company": p.company,
        "address_1": p.street,
        "address_2": "",
        "city": p.city,
        "state": "",
        "postcode": p.postcode,
        "country": p.country,
    }
    if with_email:
        addr["email"] = email or p.email
        addr["phone"] = p.phone
    else:
        addr["phone"] = ""
    return addr


def _wc_customer(p: Person, template: Json, rng: random.Random, role: str = "customer") -> Json:
    c = copy.deepcopy(template)
    created = p.created
    modified = created + timedelta(days=rng.randrange(0, 200), minutes=rng.randrange(600))
    c["id"] = p.woocommerce_id
    c["date_created"], c["date_created_gmt"] = wc_dates(created)
    c["date_modified"], c["date_modified_gmt"] = wc_dates(modified)
    c["email"] = p.email
    c["first_name"] = p.first_name
    c["last_name"] = p.last_name
    c["role"] = role
    c["username"] = p.email.split("@")[0].replace("+", "")[:20]
    c["billing"] = _wc_address(p, with_email=True)
    c["shipping"] = _wc_address(p, with_email=False)
    c["is_paying_customer"] = rng.random() < 0.6
    c["avatar_url"] = (
        f"https://secure.gravatar.com/avatar/{rng.getrandbits(128):032x}?s=96&d=mm&r=g"
    )
    c["meta_data"] = []
    return c


class _WooBuilder:
    def __init__(self, rng: random.Random, clock: _Clock) -> None:
        self.rng = rng
        self.clock = clock
        self.template = load_sample("woocommerce", "GET_orders_2041.json")
        self.item_seq = 4000
        self.orders: list[Json] = []
        self.notes: dict[int, list[Json]] = {}
        self.note_seq = 9000

    def order(
        self,
        p: Person,
        customer_id: int,
        created: datetime,
        *,
        billing_email: str | None = None,
        status: str | None = None,
        payment: str = "ideal",
        transaction_id: str = "",
        items: list[tuple[int, int]] | None = None,
        customer_note: str = "",
    ) -> Json:
        o = copy.deepcopy(self.template)
        o.pop("_links", None)
        rng = self.rng
        if items is None:
            chosen = rng.sample(range(len(_PRODUCTS)), rng.randrange(1, 3))
            items = [(i, rng.randrange(1, 4)) for i in chosen]
        lines: list[Json] = []
        cart = Decimal(0)
        cart_tax = Decimal(0)
        for prod_idx, qty in items:
            pid, name, sku, price, img = _PRODUCTS[prod_idx]
            sub = Decimal(price) * qty
            tax = (sub * Decimal("0.21")).quantize(Decimal("0.01"), ROUND_HALF_UP)
            cart += sub
            cart_tax += tax
            self.item_seq += 1
            lines.append(
                {
                    "id": self.item_seq,
                    "name": name,
                    "product_id": pid,
                    "variation_id": 0,
                    "quantity": qty,
                    "tax_class": "",
                    "subtotal": _money(sub),
                    "subtotal_tax": _money(tax),
                    "total": _money(sub),
                    "total_tax": _money(tax),
                    "taxes": [{"id": 1, "total": _money(tax), "subtotal": _money(tax)}],
                    "meta_data": [],
                    "sku": sku,
                    "price": float(price),
                    "image": {
                        "id": img,
                        "src": f"https://shop.example.nl/wp-content/uploads/2024/02/{sku.lower()}.jpg",
                    },
                    "parent_name": None,
                }
            )
        ship, ship_tax = Decimal("4.95"), Decimal("1.04")
        total = cart + cart_tax + ship + ship_tax
        if status is None:
            status = "completed" if payment == "ideal" else "on-hold"
        paid_at = created + timedelta(minutes=1, seconds=rng.randrange(10, 59))
        modified = paid_at + timedelta(days=2, minutes=rng.randrange(0, 600))
        completed = modified if status == "completed" else None
        paid: datetime | None = paid_at
        if payment != "ideal" and status == "on-hold":
            paid = None
        key = "wc_order_" + "".join(rng.choice(_ALPHANUM) for _ in range(13))
        o.update(
            {
                "id": None,
                "status": status,
                "discount_total": "0.00",
                "discount_tax": "0.00",
                "shipping_total": _money(ship),
                "shipping_tax": _money(ship_tax),
                "cart_tax": _money(cart_tax),
                "total": _money(total),
                "total_tax": _money(cart_tax + ship_tax),
                "customer_id": customer_id,
                "order_key": key,
                "billing": _wc_address(p, with_email=True, email=billing_email),
                "shipping": _wc_address(p, with_email=False),
                "customer_ip_address": f"198.51.100.{rng.randrange(2, 250)}",
                "customer_note": customer_note,
                "line_items": lines,
                "is_editable": status in ("pending", "on-hold"),
                "needs_payment": status in ("pending", "failed"),
                "needs_processing": True,
            }
        )
        if payment == "ideal":
            o["payment_method"] = "mollie_wc_gateway_ideal"
            o["payment_method_title"] = "iDEAL"
            o["transaction_id"] = transaction_id
        else:
            o["payment_method"] = "bacs"
            o["payment_method_title"] = "Directe bankoverschrijving"
            o["transaction_id"] = ""
        for name, dt in (
            ("created", created),
            ("modified", modified),
            ("completed", completed),
            ("paid", paid),
        ):
            o[f"date_{name}"], o[f"date_{name}_gmt"] = wc_dates(dt)
        o["_t"] = created
        o["_payment_value"] = _money(total)
        self.orders.append(o)
        return o

    def finish_order(self, o: Json) -> None:
        """Fill the parts that need the order id."""
        oid = o["id"]
        o["number"] = str(oid)
        o["payment_url"] = (
            f"https://shop.example.nl/afrekenen/order-pay/{oid}/?pay_for_order=true&key={o['order_key']}"
        )
        meta = []
        if o["transaction_id"]:
            meta.append(
                {"id": oid * 10 + 1, "key": "_mollie_payment_id", "value": o["transaction_id"]}
            )
        meta.append({"id": oid * 10 + 3, "key": "is_vat_exempt", "value": "no"})
        o["meta_data"] = meta
        base = self.item_seq
        self.item_seq += 3
        o["tax_lines"] = [
            {
                "id": base + 2,
                "rate_code": "NL-BTW HOOG-1",
                "rate_id": 1,
                "label": "BTW 21%",
                "compound": False,
                "tax_total": o["cart_tax"],
                "shipping_tax_total": o["shipping_tax"],
                "rate_percent": 21,
                "meta_data": [],
            }
        ]
        items_text = ", ".join(f"{li['name']} &times; {li['quantity']}" for li in o["line_items"])
        o["shipping_lines"] = [
            {
                "id": base + 1,
                "method_title": "PostNL pakket",
                "method_id": "flat_rate",
                "instance_id": "2",
                "total": o["shipping_total"],
                "total_tax": o["shipping_tax"],
                "taxes": [{"id": 1, "total": o["shipping_tax"], "subtotal": ""}],
                "meta_data": [
                    {
                        "id": (base + 1) * 10 + 1,
                        "key": "Items",
                        "value": items_text,
                        "display_key": "Items",
                        "display_value": items_text,
                    }
                ],
            }
        ]

    def add_note(
        self, order: Json, when: datetime, text: str, *, customer: bool = False, author: str = ""
    ) -> None:
        self.note_seq += self.rng.randrange(1, 9)
        local, gmt = wc_dates(when)
        self.notes.setdefault(order["id"], []).append(
            {
                "id": self.note_seq,
                "author": author or ("WooCommerce" if customer else "system"),
                "date_created": local,
                "date_created_gmt": gmt,
                "note": text,
                "customer_note": customer,
            }
        )

    def default_notes(self, o: Json) -> None:
        created = _dt(o["date_created_gmt"] + "Z")
        if o["payment_method"] == "bacs":
            self.add_note(
                o,
                created + timedelta(seconds=5),
                "Wacht op BACS-betaling Bestelstatus gewijzigd van In afwachting van betaling "
                "naar In de wacht.",
            )
            return
        if o["transaction_id"]:
            self.add_note(
                o,
                created + timedelta(minutes=1),
                f"Bestelling voltooid met Mollie – iDEAL betaling ({o['transaction_id']}).",
            )
        if o["status"] == "completed":
            self.add_note(
                o,
                created + timedelta(days=1, hours=3),
                f"Je pakket is verzonden met PostNL, track & trace 3SPOST{o['id']:010d}.",
                customer=True,
            )
            self.add_note(
                o,
                created + timedelta(days=2),
                "Bestelstatus gewijzigd van Verwerken naar Afgerond.",
            )


# ------------------------------------------------------------------------------ the world


def build_world(seed: int = DEMO_SEED, today: date | None = None) -> World:
    """Build the demo world deterministically from ``seed`` and ``today``.

    ``today`` (default: the current UTC date) anchors the few "recent" records: a recent
    order and payment, Freshdesk tickets inside the 30-day window, a MoneyBird invoice of
    the current year and a recent Zammad ticket. Everything else has fixed dates.
    """
    if today is None:
        today = datetime.now(UTC).date()
    rng = random.Random(seed)  # noqa: S311 - reproducible fictional data, not security
    clock = _Clock(rng)
    people_list = _make_people(rng)
    people = {p.key: p for p in people_list}
    now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=9)
    mollie_taken = {m for p in people_list for m in p.mollie_ids}

    woo, mollie_order_payments = _build_woocommerce(
        people_list, people, rng, clock, now, mollie_taken
    )
    moneybird = _build_moneybird(people_list, people, rng, clock, now)
    zammad = _build_zammad(people_list, people, rng, clock, now)
    freshdesk = _build_freshdesk(people_list, people, rng, clock, now)
    mollie = _build_mollie(
        people_list, people, rng, clock, now, mollie_order_payments, mollie_taken
    )
    return World(
        seed=seed,
        today=today,
        people=people,
        woocommerce=woo,
        moneybird=moneybird,
        zammad=zammad,
        freshdesk=freshdesk,
        mollie=mollie,
    )


def _build_woocommerce(
    people_list: list[Person],
    people: dict[str, Person],
    rng: random.Random,
    clock: _Clock,
    now: datetime,
    mollie_taken: set[str],
) -> tuple[Json, list[Json]]:
    sample_customers = {
        c["id"]: c for c in load_sample("woocommerce", "GET_customers_page=1_per_page=3.json")
    }
    template = sample_customers[102]
    customers: list[Json] = []
    for p in people_list:
        if p.woocommerce_id in sample_customers:
            c = copy.deepcopy(sample_customers[p.woocommerce_id])
            if p.woocommerce_id == 101:
                c = load_sample("woocommerce", "GET_customers_101.json")
        else:
            role = "subscriber" if p.key == "sanne_plus" else "customer"
            c = _wc_customer(p, template, rng, role=role)
        c.pop("_links", None)
        customers.append(c)

    wb = _WooBuilder(rng, clock)
    payments: list[Json] = []  # Mollie payments created for WooCommerce orders

    def paid_via_mollie(o: Json, p: Person, with_customer: bool) -> None:
        tr = _rand_id(rng, "tr_", mollie_taken)
        o["transaction_id"] = tr
        payments.append(
            {
                "id": tr,
                "order": o,
                "person": p.key,
                "customer": p.mollie_id if with_customer else None,
            }
        )

    # Sample orders: Sanne's three account orders and her 2023 guest order.
    fixed_orders = load_sample("woocommerce", "GET_orders_search=sanne.devries@example.nl.json")
    fixed_ids = {o["id"] for o in fixed_orders}
    for o in fixed_orders:
        o.pop("_links", None)
        o["_t"] = _dt(o["date_created_gmt"] + "Z")
        wb.orders.append(o)

    sanne = people["sanne"]
    # 23 more account orders between April 2024 and January 2025, plus a recent one.
    for i in range(23):
        start = datetime(2024, 3, 20, tzinfo=UTC) + timedelta(days=i * 13)
        created = clock.between(start, start + timedelta(days=10))
        if i % 6 == 5:
            o = wb.order(sanne, 101, created, payment="bacs", status="completed")
        else:
            o = wb.order(sanne, 101, created)
            paid_via_mollie(o, sanne, with_customer=True)
    recent = wb.order(sanne, 101, now - timedelta(days=6, hours=3), status="processing")
    paid_via_mollie(recent, sanne, with_customer=True)
    # A 2022 guest order typed with a different letter case: the same address after
    # lower-casing, so it IS hers.
    guest_case = wb.order(
        sanne,
        0,
        datetime(2022, 10, 4, 18, 22, 41, tzinfo=UTC),
        billing_email="Sanne.DeVries@Example.NL",
        customer_note="Graag bij de buren afgeven als ik niet thuis ben.",
    )
    paid_via_mollie(guest_case, sanne, with_customer=False)

    # Near-identical people and bystanders.
    specs: list[tuple[str, int, bool]] = [
        ("sanne_groningen", 3, True),
        ("daan", 2, True),
        ("kees", 2, True),
        ("sanne_plus", 1, True),
        ("sanne_evil", 1, False),
        ("xsanne", 1, False),
        ("sanne_com", 1, False),
        ("devries_advies", 1, True),
        ("mila", 1, True),
        ("joris", 1, True),
    ]
    for i in range(_FILLER_COUNT):
        specs.append((f"filler_{i + 1:02d}", rng.randrange(0, 3), rng.random() < 0.8))
    for key, count, has_account in specs:
        p = people[key]
        for _ in range(count):
            created = clock.between(max(p.created, datetime(2022, 1, 1, tzinfo=UTC)), _HORIZON)
            cid = p.woocommerce_id if has_account else 0
            if rng.random() < 0.8:
                o = wb.order(p, cid, created)
                paid_via_mollie(o, p, with_customer=has_account)
            else:
                o = wb.order(p, cid, created, payment="bacs", status="completed")

    _assign_ids(wb.orders, fixed_ids)
    for o in wb.orders:
        if o["id"] not in fixed_ids:
            wb.finish_order(o)
            wb.default_notes(o)
    # Notes on the sample orders, including one with extra personal data.
    by_id = {o["id"]: o for o in wb.orders}
    for oid in (2041, 2088):
        wb.default_notes(by_id[oid])
    wb.add_note(
        by_id[2088],
        datetime(2024, 11, 29, 9, 14, 2, tzinfo=UTC),
        "Klant belde (06-12345678): pakket mag bij de buren op nr. 114.",
        author="Emma Bakker",
    )
    wb.add_note(
        by_id[2103],
        datetime(2025, 2, 3, 8, 35, 52, tzinfo=UTC),
        "Wacht op BACS-betaling Bestelstatus gewijzigd van In afwachting van betaling naar "
        "In de wacht.",
    )
    for o in wb.orders:
        o.pop("_payment_value", None)
    refunds, downloads = _woo_refunds_and_downloads(wb.orders, people)
    orders = sorted(wb.orders, key=lambda x: x["_t"], reverse=True)
    for o in orders:
        del o["_t"]
    for n in wb.notes.values():
        n.sort(key=lambda x: x["date_created_gmt"], reverse=True)
    return (
        {
            "customers": customers,
            "orders": orders,
            "order_notes": wb.notes,
            "refunds": refunds,
            "downloads": downloads,
        },
        payments,
    )


def _woo_refunds_and_downloads(
    orders: list[Json], people: dict[str, Person]
) -> tuple[dict[int, list[Json]], dict[int, list[Json]]]:
    """Refunds (by order id) and download permissions (by customer id): Sanne's and those of
    the other Sanne de Vries (Groningen), on one order each. Fixed values, no random draws, so
    the rest of the world stays as it was."""
    next_id = max(o["id"] for o in orders) + 1  # refunds are posts too: ids after the orders
    by_id = {o["id"]: o for o in orders}
    groningen = people["sanne_groningen"].woocommerce_id
    hers = min(o["id"] for o in orders if o["customer_id"] == groningen)
    refunds: dict[int, list[Json]] = {}
    for oid, item_index, reason, when in (
        (
            2041,
            1,
            "Melkopschuimer retour: werkt niet op de inductieplaat van mevrouw De Vries.",
            datetime(2024, 3, 20, 10, 12, 5, tzinfo=UTC),
        ),
        (
            hers,
            0,
            "Beschadigd aangekomen, klant in Groningen stuurde foto's.",
            _dt(by_id[hers]["date_created_gmt"] + "Z") + timedelta(days=9, minutes=17),
        ),
    ):
        order = by_id[oid]
        line = order["line_items"][item_index]
        # one piece of the line back, with its VAT
        each = (Decimal(line["total"]) / line["quantity"]).quantize(Decimal("0.01"))
        each_tax = (Decimal(line["total_tax"]) / line["quantity"]).quantize(Decimal("0.01"))
        local, gmt = wc_dates(when)
        refund = {
            "id": next_id,
            "date_created": local,
            "date_created_gmt": gmt,
            "amount": _money(each + each_tax),
            "reason": reason,
            "refunded_by": 1,  # the shop manager's WordPress user
            "refunded_payment": order["payment_method"].startswith("mollie"),
            "meta_data": [],
            "line_items": [
                {
                    "id": next_id * 10 + 1,
                    "name": line["name"],
                    "product_id": line["product_id"],
                    "variation_id": 0,
                    "quantity": -1,
                    "tax_class": "",
                    "subtotal": _money(-each),
                    "subtotal_tax": _money(-each_tax),
                    "total": _money(-each),
                    "total_tax": _money(-each_tax),
                    "taxes": [{"id": 1, "total": _money(-each_tax), "subtotal": _money(-each_tax)}],
                    "meta_data": [
                        {
                            "id": next_id * 10 + 2,
                            "key": "_refunded_item_id",
                            "value": str(line["id"]),
                        }
                    ],
                    "sku": line["sku"],
                    "price": -float(each),
                }
            ],
            "shipping_lines": [],
            "tax_lines": [],
            "fee_lines": [],
        }
        refunds[oid] = [refund]
        order["refunds"] = [{"id": next_id, "reason": reason, "total": "-" + refund["amount"]}]
        next_id += 1
    downloads: dict[int, list[Json]] = {}
    for customer_id, oid, key in (
        (101, 2088, "3f9c1d2e8b7a6c5d4e3f2a1b0c9d8e7f"),
        (groningen, hers, "7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d"),
    ):
        order = by_id[oid]
        line = order["line_items"][0]
        downloads[customer_id] = [
            {
                "download_id": key,
                "download_url": (
                    f"https://shop.example.nl/?download_file={line['product_id']}"
                    f"&order={order['order_key']}&uid={key[:16]}&key={key}"
                ),
                "product_id": line["product_id"],
                "product_name": line["name"],
                "download_name": "Handleiding (PDF)",
                "order_id": oid,
                "order_key": order["order_key"],
                "downloads_remaining": "3",
                "access_expires": "never",
                "access_expires_gmt": "never",
                "file": {
                    "name": "Handleiding (PDF)",
                    "file": f"https://shop.example.nl/wp-content/uploads/woocommerce_uploads/"
                    f"handleiding-{line['sku'].lower()}.pdf",
                },
            }
        ]
    return refunds, downloads


# ------------------------------------------------------------------------------ MoneyBird


def _build_moneybird(
    people_list: list[Person],
    people: dict[str, Person],
    rng: random.Random,
    clock: _Clock,
    now: datetime,
) -> Json:
    samples = {c["id"]: c for c in load_sample("moneybird", "GET_contacts_page=1_per_page=3.json")}
    sanne_full = load_sample("moneybird", "GET_contacts_431877251120719881.json")
    # She has been a MoneyBird contact since her first maintenance contract in 2019.
    sanne_full["created_at"] = "2019-02-11T10:22:05.310Z"
    sanne_full["events"][0]["created_at"] = sanne_full["events"][0]["updated_at"] = (
        "2019-02-11T10:22:05.322Z"
    )
    samples[sanne_full["id"]] = sanne_full
    template = samples["431877251294783498"]
    contacts: list[Json] = []
    for p in people_list:
        if p.moneybird_id in samples:
            c = copy.deepcopy(samples[p.moneybird_id])
            c.setdefault("events", _mb_events(c["created_at"]))
        else:
            c = copy.deepcopy(template)
            created = p.created - timedelta(days=rng.randrange(0, 30))
            updated = created + timedelta(days=rng.randrange(0, 90), seconds=rng.randrange(9999))
            created = created.replace(microsecond=rng.randrange(1000) * 1000)
            c.update(
                {
                    "id": p.moneybird_id,
                    "company_name": p.company,
                    "firstname": "" if p.company else p.first_name,
                    "lastname": "" if p.company else p.last_name,
                    "address1": p.street,
                    "zipcode": p.postcode,
                    "city": p.city,
                    "country": p.country,
                    "phone": p.phone,
                    "customer_id": p.moneybird_customer_id,
                    "email": p.email,
                    "send_invoices_to_email": p.email,
                    "send_estimates_to_email": p.email,
                    "created_at": iso_ms(created),
                    "updated_at": iso_ms(updated),
                    "version": int(updated.timestamp()),
                    "notes": [],
                    "custom_fields": [],
                    "contact_people": [],
                    "archived": False,
                }
            )
            c["events"] = _mb_events(c["created_at"])
            if p.company:
                c["contact_people"] = [
                    {
                        "id": str(int(p.moneybird_id) + 11),
                        "administration_id": ADMINISTRATION_ID,
                        "firstname": p.first_name,
                        "lastname": p.last_name,
                        "phone": p.phone,
                        "email": p.email,
                        "department": "Directie",
                        "created_at": c["created_at"],
                        "updated_at": c["created_at"],
                        "version": int(created.timestamp()),
                    }
                ]
            if p.key == "kees":
                c["notes"] = [
                    _mb_note(
                        c["id"],
                        str(int(c["id"]) + 7),
                        "Partner van Sanne de Vries (klantnr. 1042), zelfde adres.",
                        "2024-05-06T17:31:02.114Z",
                    )
                ]
        c["sales_invoices_url"] = (
            f"https://moneybird.com/{ADMINISTRATION_ID}/sales_invoices/"
            f"{rng.getrandbits(256):064x}/all"
        )
        if p.key == "sanne":
            c["sales_invoices_url"] = sanne_full["sales_invoices_url"]
        contacts.append(c)
    # Daan's company gets a second contact person sharing the company address.
    for c in contacts:
        if c["id"] == people["daan"].moneybird_id:
            c["contact_people"].append(
                {
                    "id": "431877251522324493",
                    "administration_id": ADMINISTRATION_ID,
                    "firstname": "Fleur",
                    "lastname": "Jansen",
                    "phone": "+31 10 1234568",
                    "email": "fleur@jansenkoffie.example.nl",
                    "department": "Administratie",
                    "created_at": "2024-10-01T08:00:00.000Z",
                    "updated_at": "2024-10-01T08:00:00.000Z",
                    "version": 1727769600,
                }
            )
    contacts.sort(key=lambda c: int(c["id"]))

    sample_invoices = load_sample(
        "moneybird", "GET_sales_invoices_filter=contact_id-431877251120719881,state-all.json"
    )
    template_inv = copy.deepcopy(sample_invoices[-1])  # the paid one
    invoices: list[Json] = []
    for inv in sample_invoices:
        inv.pop("contact", None)
        invoices.append(inv)
    seq = [431877260400000000]

    def invoice(
        p: Person, number: str, day: date, state: str, desc: str, price: str, ref: str
    ) -> None:
        seq[0] += rng.randrange(100_000, 900_000)
        inv_id = str(seq[0])
        inv = copy.deepcopy(template_inv)
        inv.pop("contact", None)
        excl = Decimal(price)
        tax = (excl * Decimal("0.21")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        incl = excl + tax
        created = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
            hours=7, seconds=3, microseconds=502000
        )
        paid = state == "paid"
        pay_date = day + timedelta(days=rng.randrange(2, 12))
        ref_code = f"RF18{number.replace('-', '')}0000000000000"
        inv.update(
            {
                "id": inv_id,
                "contact_id": p.moneybird_id,
                "invoice_id": number,
                "state": state,
                "invoice_date": day.isoformat(),
                "due_date": (day + timedelta(days=14)).isoformat(),
                "payment_reference": ref_code,
                "short_payment_reference": ref_code[:12],
                "reference": ref,
                "paid_at": pay_date.isoformat() if paid else None,
                "sent_at": day.isoformat(),
                "created_at": iso_ms(created),
                "updated_at": iso_ms(
                    created + timedelta(days=(pay_date - day).days if paid else 0)
                ),
                "version": int(created.timestamp()),
                "total_paid": _mb_money(incl) if paid else "0.0",
                "total_unpaid": "0.0" if paid else _mb_money(incl),
                "total_unpaid_base": "0.0" if paid else _mb_money(incl),
                "total_price_excl_tax": _mb_money(excl),
                "total_price_excl_tax_base": _mb_money(excl),
                "total_price_incl_tax": _mb_money(incl),
                "total_price_incl_tax_base": _mb_money(incl),
                "next_reminder": None if paid else (day + timedelta(days=14)).isoformat(),
                "url": inv["url"].rsplit("/", 1)[0] + "/" + inv_id[-8:],
                "payment_url": inv["payment_url"].rsplit("/", 2)[0] + f"/{inv_id[-8:]}/pay_invoice",
            }
        )
        detail = copy.deepcopy(template_inv["details"][0])
        detail.update(
            {
                "id": str(seq[0] + 1),
                "description": desc,
                "price": _mb_money(excl),
                "period": None,
                "total_price_excl_tax_with_discount": _mb_money(excl),
                "total_price_excl_tax_with_discount_base": _mb_money(excl),
                "created_at": iso_ms(created),
                "updated_at": iso_ms(created),
            }
        )
        inv["details"] = [detail]
        inv["payments"] = []
        if paid:
            pay = copy.deepcopy(template_inv["payments"][0])
            pay.update(
                {
                    "id": str(seq[0] + 2),
                    "invoice_id": inv_id,
                    "price": _mb_money(incl),
                    "price_base": _mb_money(incl),
                    "payment_date": pay_date.isoformat(),
                    "financial_mutation_id": str(seq[0] + 3),
                    "created_at": iso_ms(created + timedelta(days=(pay_date - day).days)),
                    "updated_at": iso_ms(created + timedelta(days=(pay_date - day).days)),
                }
            )
            inv["payments"] = [pay]
        for ev in inv["events"]:
            ev["created_at"] = ev["updated_at"] = iso_ms(created + timedelta(milliseconds=18))
            if ev["action"] == "sales_invoice_send_email":
                ev["data"] = {
                    "email_address": p.email,
                    "email_message": f"Beste {p.name},\n\nIn de bijlage vindt u factuur "
                    f"{number}.\n\nMet vriendelijke groet,\n\nKoffiebar Utrecht B.V.",
                }
        inv["tax_totals"] = [
            {
                "tax_rate_id": "431877250612160514",
                "taxable_amount": _mb_money(excl),
                "taxable_amount_base": _mb_money(excl),
                "tax_amount": _mb_money(tax),
                "tax_amount_base": _mb_money(tax),
            }
        ]
        invoices.append(inv)

    sanne = people["sanne"]
    invoice(
        sanne,
        "2019-0044",
        date(2019, 5, 14),
        "paid",
        "Installatie espressomachine",
        "185.0",
        "Werkbon 3120",
    )
    invoice(
        sanne,
        "2020-0131",
        date(2020, 9, 1),
        "paid",
        "Onderhoudsbeurt espressomachine",
        "99.0",
        "Abonnement SV-1042",
    )
    invoice(
        sanne,
        "2021-0102",
        date(2021, 8, 2),
        "paid",
        "Onderhoudsbeurt espressomachine",
        "99.0",
        "Abonnement SV-1042",
    )
    invoice(
        sanne,
        "2022-0076",
        date(2022, 6, 7),
        "paid",
        "Vervangen maalschijven",
        "64.5",
        "Werkbon 4388",
    )
    invoice(
        sanne,
        "2023-0150",
        date(2023, 10, 3),
        "paid",
        "Onderhoudsbeurt espressomachine",
        "99.0",
        "Abonnement SV-1042",
    )
    this_year = max(date(now.year, 1, 2), now.date() - timedelta(days=40))
    invoice(
        sanne,
        f"{this_year.year}-0112",
        this_year,
        "open",
        "Onderhoudsabonnement espressomachine",
        "99.0",
        "Abonnement SV-1042",
    )
    invoice(
        people["sanne_groningen"],
        "2024-0102",
        date(2024, 7, 9),
        "paid",
        "Barista-workshop",
        "75.0",
        "Workshop juli",
    )
    invoice(
        people["kees"],
        "2024-0121",
        date(2024, 8, 20),
        "paid",
        "Reparatie melkopschuimer",
        "45.0",
        "Werkbon 5102",
    )
    invoice(
        people["daan"],
        "2024-0140",
        date(2024, 9, 16),
        "paid",
        "Levering koffiebonen (zakelijk)",
        "480.0",
        "PO JK-2024-17",
    )
    invoice(
        people["daan"],
        "2024-0177",
        date(2024, 11, 15),
        "late",
        "Levering koffiebonen (zakelijk)",
        "480.0",
        "PO JK-2024-29",
    )
    invoice(
        people["devries_advies"],
        "2023-0133",
        date(2023, 9, 20),
        "paid",
        "Koffieautomaat kantoor (huur)",
        "120.0",
        "Contract DVA-01",
    )
    invoice(
        people["devries_advies"],
        "2024-0058",
        date(2024, 3, 20),
        "paid",
        "Koffieautomaat kantoor (huur)",
        "120.0",
        "Contract DVA-01",
    )
    for i in range(12):
        p = people[f"filler_{rng.randrange(1, _FILLER_COUNT + 1):02d}"]
        day = (clock.between(datetime(2022, 2, 1, tzinfo=UTC), _HORIZON)).date()
        state = rng.choice(["paid", "paid", "paid", "open", "late"])
        invoice(
            p,
            f"{day.year}-{200 + i:04d}",
            day,
            state,
            "Onderhoudsbeurt espressomachine",
            "99.0",
            "Werkbon",
        )
    invoices.sort(key=lambda i: (i["invoice_date"], i["id"]), reverse=True)
    estimates = _mb_estimates(people, now)
    recurring = _mb_recurring(people, now)
    # Her maintenance subscription's invoices were made by her recurring sales invoice.
    subscription = recurring[0]
    for inv in invoices:
        if (
            inv["contact_id"] == subscription["contact_id"]
            and inv["reference"] == (subscription["reference"])
        ):
            inv["recurring_sales_invoice_id"] = subscription["id"]
    return {
        "administration_id": ADMINISTRATION_ID,
        "contacts": contacts,
        "sales_invoices": invoices,
        "estimates": estimates,
        "recurring_sales_invoices": recurring,
    }


def _mb_detail(detail_id: str, description: str, price: str, at: str, amount: str = "1 x") -> Json:
    """One line of an estimate or a recurring sales invoice (as on a sales invoice)."""
    return {
        "id": detail_id,
        "administration_id": ADMINISTRATION_ID,
        "tax_rate_id": "431877250612160514",
        "ledger_account_id": "431877250601674753",
        "project_id": None,
        "product_id": None,
        "amount": amount,
        "amount_decimal": amount.split(" ", 1)[0] + ".0",
        "description": description,
        "price": price,
        "period": None,
        "row_order": 1,
        "total_price_excl_tax_with_discount": price,
        "total_price_excl_tax_with_discount_base": price,
        "tax_report_reference": ["NL/1a"],
        "created_at": at,
        "updated_at": at,
    }


def _mb_estimates(people: dict[str, Person], now: datetime) -> list[Json]:
    """Quotes ("offertes"): the demo customer's accepted first quote (2019, outside any default
    period), one still open from this year, and one of the other Sanne de Vries (Groningen)."""

    def estimate(
        p: Person,
        estimate_id: str,
        number: str,
        day: date,
        state: str,
        description: str,
        price: str,
        reference: str,
        pre_text: str,
    ) -> Json:
        excl = Decimal(price)
        incl = excl + (excl * Decimal("0.21")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        created = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=8, minutes=14)
        at = iso_ms(created)
        answered = iso_ms(created + timedelta(days=6, hours=3))
        return {
            "id": estimate_id,
            "administration_id": ADMINISTRATION_ID,
            "contact_id": p.moneybird_id,
            "contact_person_id": None,
            "contact_person": None,
            "estimate_id": number,
            "workflow_id": "431877250643617796",
            "document_style_id": "431877250654103556",
            "identity_id": "431877250633132034",
            "draft_id": None,
            "state": state,
            "estimate_date": day.isoformat(),
            "due_date": (day + timedelta(days=30)).isoformat(),
            "reference": reference,
            "language": "nl",
            "currency": "EUR",
            "exchange_rate": "1.0",
            "discount": "0.0",
            "original_estimate_id": None,
            "show_tax": True,
            "sign_online": True,
            "sent_at": day.isoformat(),
            "accepted_at": answered if state in ("accepted", "billed") else None,
            "rejected_at": answered if state == "rejected" else None,
            "archived_at": None,
            "created_at": at,
            "updated_at": answered if state != "open" else at,
            "public_view_code": None,
            "version": int(created.timestamp()),
            "pre_text": pre_text,
            "post_text": "Deze offerte is 30 dagen geldig.",
            "details": [_mb_detail(str(int(estimate_id) + 1), description, _mb_money(excl), at)],
            "total_price_excl_tax": _mb_money(excl),
            "total_price_excl_tax_base": _mb_money(excl),
            "total_price_incl_tax": _mb_money(incl),
            "total_price_incl_tax_base": _mb_money(incl),
            "total_discount": "0.0",
            "url": f"https://moneybird.com/{ADMINISTRATION_ID}/estimates/{estimate_id[-8:]}",
            "custom_fields": [],
            "notes": [],
            "attachments": [],
            "events": [],
        }

    sanne, other = people["sanne"], people["sanne_groningen"]
    recent = max(date(now.year, 1, 3), now.date() - timedelta(days=20))
    found = [
        estimate(
            sanne,
            "431877261100040017",
            "2019-0007",
            date(2019, 1, 28),
            "billed",
            "Espressomachine Rancilio Silvia, geleverd en geïnstalleerd",
            "1185.0",
            "Offerte SV-1042-1",
            "Beste Sanne de Vries,\n\nHierbij onze offerte voor de espressomachine en de "
            "installatie aan de Oudegracht 112.",
        ),
        estimate(
            sanne,
            "431877261100310029",
            f"{recent.year}-0021",
            recent,
            "open",
            "Vervangen zetgroep en pakkingen",
            "145.0",
            "Offerte SV-1042-2",
            "Beste Sanne de Vries,\n\nZoals besproken aan de telefoon de offerte voor het "
            "vervangen van de zetgroep.",
        ),
        estimate(
            other,
            "431877261100520031",
            "2024-0033",
            date(2024, 6, 20),
            "accepted",
            "Barista-workshop voor twee personen",
            "150.0",
            "Offerte workshop juli",
            "Beste Sanne de Vries,\n\nHierbij de offerte voor de workshop in Groningen.",
        ),
    ]
    found[-1]["notes"] = [
        {
            **_mb_note(other.moneybird_id, "431877261100520041", "", "2024-06-21T10:02:00.000Z"),
            "entity_id": "431877261100520031",
            "entity_type": "Estimate",
            "note": "Wil graag een zaterdag; partner komt mee.",
        }
    ]
    return found


def _mb_recurring(people: dict[str, Person], now: datetime) -> list[Json]:
    """Recurring sales invoices: the demo customer's running maintenance subscription
    (yearly, the first one the invoices name) and the other Sanne de Vries' monthly beans."""

    def recurring(
        p: Person,
        recurring_id: str,
        start: date,
        next_date: date,
        frequency_type: str,
        description: str,
        price: str,
        reference: str,
    ) -> Json:
        excl = Decimal(price)
        incl = excl + (excl * Decimal("0.21")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        created = datetime.combine(start, datetime.min.time(), UTC) - timedelta(days=3)
        at = iso_ms(created + timedelta(hours=9, minutes=41))
        return {
            "id": recurring_id,
            "administration_id": ADMINISTRATION_ID,
            "contact_id": p.moneybird_id,
            "contact_person_id": None,
            "contact_person": None,
            "workflow_id": "431877250643617795",
            "identity_id": "431877250633132034",
            "document_style_id": "431877250654103556",
            "state": "active",
            "start_date": start.isoformat(),
            "invoice_date": next_date.isoformat(),
            "last_date": None,
            "active": True,
            "payment_conditions": "Wij incasseren het bedrag van {document.total_price} "
            "rond {document.due_date} van uw rekening.",
            "reference": reference,
            "language": "nl",
            "currency": "EUR",
            "discount": "0.0",
            "first_due_interval": 14,
            "auto_send": True,
            "sending_scheduled_at": None,
            "sending_scheduled_user_id": None,
            "frequency_type": frequency_type,
            "frequency": 1,
            "has_desired_count": False,
            "desired_count": None,
            "mergeable": False,
            "prices_are_incl_tax": False,
            "total_price_excl_tax": _mb_money(excl),
            "total_price_excl_tax_base": _mb_money(excl),
            "total_price_incl_tax": _mb_money(incl),
            "total_price_incl_tax_base": _mb_money(incl),
            "created_at": at,
            "updated_at": at,
            "version": int(created.timestamp()),
            "details": [_mb_detail(str(int(recurring_id) + 1), description, _mb_money(excl), at)],
            "custom_fields": [],
            "notes": [],
            "attachments": [],
            "events": [],
        }

    sanne, other = people["sanne"], people["sanne_groningen"]
    return [
        recurring(
            sanne,
            "431877261500120011",
            date(2020, 9, 1),
            date(now.year + 1, 1, 6),
            "year",
            "Onderhoudsabonnement espressomachine",
            "99.0",
            "Abonnement SV-1042",
        ),
        recurring(
            other,
            "431877261500370023",
            date(2024, 8, 1),
            date(now.year + (now.month == 12), now.month % 12 + 1, 1),
            "month",
            "Koffiebonen huismelange, 1 kg per maand",
            "24.5",
            "Bonenabonnement SV-1057",
        ),
    ]


def _mb_events(created_at: str) -> list[Json]:
    return [
        {
            "administration_id": ADMINISTRATION_ID,
            "user_id": "431877250570217472",
            "action": "contact_created",
            "link_entity_id": None,
            "link_entity_type": None,
            "data": {},
            "created_at": created_at,
            "updated_at": created_at,
        }
    ]


def _mb_note(contact_id: str, note_id: str, text: str, at: str) -> Json:
    return {
        "id": note_id,
        "administration_id": ADMINISTRATION_ID,
        "entity_id": contact_id,
        "entity_type": "Contact",
        "user_id": "431877250570217472",
        "assignee_id": None,
        "todo": False,
        "note": text,
        "completed_at": None,
        "completed_by_id": None,
        "todo_type": None,
        "data": {},
        "created_at": at,
        "updated_at": at,
    }


# --------------------------------------------------------------------------------- Zammad

_ZAMMAD_AGENTS = [
    (3, "Admin", "Koffiebar", "admin@koffiebar-utrecht.example.nl", [1, 2]),
    (5, "Emma", "Bakker", "emma.bakker@koffiebar-utrecht.example.nl", [2]),
]

_SUBJECTS = [
    (
        "Espressomachine maakt vreemd geluid",
        "Sinds vanochtend maakt mijn machine een ratelend geluid bij het malen.",
    ),
    ("Vraag over levertijd", "Wanneer wordt mijn bestelling verzonden?"),
    ("Factuur dubbel ontvangen", "Ik heb dezelfde factuur twee keer gekregen, klopt dat?"),
    ("Ontkalken: welk middel?", "Welk ontkalkingsmiddel raden jullie aan voor mijn machine?"),
    ("Melkopschuimer werkt niet meer", "De melkopschuimer blijft koud. Kunnen jullie helpen?"),
    (
        "Adres wijzigen voor bezorging",
        "Kunnen jullie mijn volgende levering naar mijn werkadres sturen?",
    ),
    ("Retour aanvragen", "Ik wil graag de kopjes retourneren, ze zijn te klein."),
    ("Onderhoudsafspraak verzetten", "Kan de monteur een week later komen?"),
]  # fmt: skip


def _build_zammad(
    people_list: list[Person],
    people: dict[str, Person],
    rng: random.Random,
    clock: _Clock,
    now: datetime,
) -> Json:
    sample_users = {u["id"]: u for u in load_sample("zammad", "GET_users_page=1_per_page=3.json")}
    template = sample_users[41]
    users: list[Json] = []
    for uid, first, last, email, roles in _ZAMMAD_AGENTS:
        u = copy.deepcopy(template)
        u.update(
            {
                "id": uid,
                "login": email,
                "firstname": first,
                "lastname": last,
                "email": email,
                "phone": "+31 30 7654321",
                "address": "",
                "verified": True,
                "preferences": {"locale": "nl-nl"},
                "role_ids": roles,
                "created_at": "2023-01-09T08:00:00.000Z",
                "updated_at": "2024-01-09T08:00:00.000Z",
                "group_ids": {"2": ["full"]},
            }
        )
        users.append(u)
    for p in people_list:
        if p.zammad_id in sample_users:
            u = copy.deepcopy(sample_users[p.zammad_id])
        else:
            u = copy.deepcopy(template)
            created = p.created + timedelta(days=rng.randrange(0, 20), seconds=rng.randrange(9999))
            created = created.replace(microsecond=rng.randrange(1000) * 1000)
            u.update(
                {
                    "id": p.zammad_id,
                    "login": p.email,
                    "firstname": p.first_name,
                    "lastname": p.last_name,
                    "email": p.email,
                    "phone": p.phone,
                    "address": f"{p.street}\n{p.postcode} {p.city}",
                    "note": "",
                    "created_at": iso_ms(created),
                    "updated_at": iso_ms(created + timedelta(minutes=rng.randrange(1, 600))),
                    "preferences": {"tickets_closed": 0, "tickets_open": 0},
                }
            )
            if p.key == "kees":
                u["note"] = "Partner van Sanne de Vries; deelt telefoonnummer."
                u["mobile"] = p.phone
            if p.key == "devries_advies":
                u["department"] = p.company
        users.append(u)
    caller = copy.deepcopy(template)
    caller.update(
        {
            "id": PHONE_ONLY_ZAMMAD_ID,
            "login": "lieke.hoekstra",
            "firstname": "Lieke",
            "lastname": "Hoekstra",
            "email": "",
            "phone": "06-13572468",
            "mobile": "",
            "address": "",
            "note": "Belt altijd; geen e-mailadres.",
            "created_at": "2024-03-12T10:20:31.000Z",
            "updated_at": "2024-03-12T10:22:05.000Z",
            "preferences": {"tickets_closed": 0, "tickets_open": 0},
        }
    )
    users.append(caller)
    users.sort(key=lambda u: u["id"])

    ticket_sample = load_sample(
        "zammad", "GET_tickets_search_query=customer_id-27_expand=true.json"
    )
    expanded = {
        "referencing_checklists", "group", "organization", "ticket_time_accounting", "state",
        "priority", "owner", "customer", "created_by", "updated_by", "create_article_type",
        "create_article_sender",
    }  # fmt: skip
    tickets: list[Json] = []
    for t in ticket_sample:
        for k in expanded:
            t.pop(k, None)
        t["_t"] = _dt(t["created_at"])
        tickets.append(t)
    fixed_ticket_ids = {t["id"] for t in tickets}
    articles: list[Json] = []
    for tid in (118, 163):
        for a in load_sample("zammad", f"GET_ticket_articles_by_ticket_{tid}.json"):
            for k in ("type", "sender", "created_by", "updated_by"):
                a.pop(k, None)
            a["_t"] = _dt(a["created_at"])
            articles.append(a)
    fixed_article_ids = {a["id"] for a in articles} | {517}
    ticket_template = copy.deepcopy(tickets[0])
    article_template = copy.deepcopy(articles[0])
    pending_articles: list[tuple[Json, list[Json]]] = []
    sanne_171 = next(t for t in tickets if t["id"] == 171)
    a517 = copy.deepcopy(article_template)
    a517.update(
        {
            "id": 517,
            "ticket_id": 171,
            "type_id": 5,
            "sender_id": 2,
            "from": "Sanne de Vries",
            "to": None,
            "subject": "Adreswijziging per maart",
            "message_id": None,
            "content_type": "text/html",
            "body": "Per 1 maart woon ik op Nieuwegracht 7, 3512 LB Utrecht. Willen jullie dat "
            "aanpassen? Klantnummer 1042.",
            "created_at": sanne_171["created_at"],
            "updated_at": sanne_171["created_at"],
            "attachments": [],
            "_t": _dt(sanne_171["created_at"]),
        }
    )
    articles.append(a517)

    def ticket(p: Person, created: datetime, state_id: int, subject: str, body: str) -> None:
        t = copy.deepcopy(ticket_template)
        closed = state_id == 4
        answered = clock.after(created, 20, 600)
        t.update(
            {
                "id": None,
                "priority_id": rng.choice([1, 2, 2, 3]),
                "state_id": state_id,
                "title": subject,
                "customer_id": p.zammad_id,
                "created_by_id": p.zammad_id,
                "first_response_at": iso_ms(answered),
                "close_at": iso_ms(answered) if closed else None,
                "last_close_at": iso_ms(answered) if closed else None,
                "last_contact_at": iso_ms(answered),
                "last_contact_agent_at": iso_ms(answered),
                "last_contact_customer_at": iso_ms(created),
                "last_owner_update_at": iso_ms(created),
                "create_article_type_id": 1,
                "article_count": 2,
                "created_at": iso_ms(created),
                "updated_at": iso_ms(answered),
                "_t": created,
            }
        )
        a1 = copy.deepcopy(article_template)
        a1.update(
            {
                "id": None,
                "type_id": 1,
                "sender_id": 2,
                "from": f"{p.name} <{p.email}>",
                "to": "support@koffiebar-utrecht.example.nl",
                "subject": subject,
                "message_id": f"<{created:%Y%m%d%H%M%S}.{rng.getrandbits(24):06x}@mail.example.nl>",
                "content_type": "text/plain",
                "body": f"{body}\n\nGroet,\n{p.name}\n{p.phone}",
                "updated_by_id": p.zammad_id,
                "created_by_id": p.zammad_id,
                "created_at": iso_ms(created),
                "updated_at": iso_ms(created),
                "attachments": [],
                "_t": created,
            }
        )
        a2 = copy.deepcopy(article_template)
        a2.update(
            {
                "id": None,
                "type_id": 1,
                "sender_id": 1,
                "from": "Emma Bakker via Koffiebar Utrecht <support@koffiebar-utrecht.example.nl>",
                "to": f"{p.name} <{p.email}>",
                "subject": f"RE: {subject}",
                "message_id": None,
                "content_type": "text/html",
                "body": f"Beste {p.first_name},<br><br>Bedankt voor je bericht, we helpen je graag."
                "<br><br>Met vriendelijke groet,<br>Emma Bakker",
                "updated_by_id": 5,
                "created_by_id": 5,
                "created_at": iso_ms(answered),
                "updated_at": iso_ms(answered),
                "attachments": [],
                "_t": answered,
            }
        )
        arts = [a1, a2]
        if rng.random() < 0.3:
            note = copy.deepcopy(article_template)
            when = clock.after(answered, 5, 120)
            note.update(
                {
                    "id": None,
                    "type_id": 10,
                    "sender_id": 1,
                    "from": "Emma Bakker",
                    "to": None,
                    "subject": None,
                    "message_id": None,
                    "content_type": "text/html",
                    "body": f"Interne notitie: klant {p.name} teruggebeld op {p.phone}.",
                    "internal": True,
                    "updated_by_id": 5,
                    "created_by_id": 5,
                    "created_at": iso_ms(when),
                    "updated_at": iso_ms(when),
                    "attachments": [],
                    "_t": when,
                }
            )
            arts.append(note)
        t["article_count"] = len(arts)
        tickets.append(t)
        pending_articles.append((t, arts))
        articles.extend(arts)

    sanne = people["sanne"]
    for i in range(13):
        start = datetime(2024, 4, 1, tzinfo=UTC) + timedelta(days=i * 24)
        created = clock.between(start, start + timedelta(days=18))
        subject, body = _SUBJECTS[i % len(_SUBJECTS)]
        ticket(sanne, created, 4 if i < 11 else 2, subject, body)
    ticket(
        sanne,
        now - timedelta(days=20, hours=2),
        2,
        "Bonen te grof gemalen",
        "De laatste zak bonen is te grof gemalen voor mijn machine.",
    )
    ticket(
        people["sanne_groningen"],
        datetime(2024, 7, 3, 9, 12, 5, tzinfo=UTC),
        4,
        "Workshop verzetten",
        "Kan ik de barista-workshop een week later volgen?",
    )
    ticket(
        people["daan"],
        datetime(2024, 11, 14, 10, 0, 0, tzinfo=UTC),
        2,
        "Zakelijke levering",
        "Graag de levering van volgende week een dag eerder.",
    )
    ticket(
        people["kees"],
        datetime(2024, 9, 2, 19, 40, 0, tzinfo=UTC),
        4,
        "Melkopschuimer werkt niet meer",
        "De melkopschuimer blijft koud.",
    )
    ticket(
        people["sanne_evil"],
        datetime(2024, 10, 3, 1, 2, 0, tzinfo=UTC),
        4,
        "Wachtwoord vergeten",
        "Stuur mijn wachtwoord naar dit adres.",
    )
    for i in range(_FILLER_COUNT):
        for _ in range(rng.randrange(0, 2)):
            p = people[f"filler_{i + 1:02d}"]
            subject, body = rng.choice(_SUBJECTS)
            ticket(
                p,
                clock.between(datetime(2024, 3, 21, tzinfo=UTC), _HORIZON),
                rng.choice([2, 4, 4]),
                subject,
                body,
            )
    _assign_ids(tickets, fixed_ticket_ids)
    _assign_ids(articles, fixed_article_ids)
    for t, arts in pending_articles:
        t["number"] = f"84{t['id']}"
        t["article_ids"] = [a["id"] for a in arts]
        for a in arts:
            a["ticket_id"] = t["id"]
            if a["sender_id"] == 1 and a["subject"]:
                a["subject"] = f"{a['subject']} [Ticket#{t['number']}]"
    for coll in (tickets, articles):
        coll.sort(key=lambda x: x["id"])
        for x in coll:
            x.pop("_t", None)
    # Keep the users' ticket counters consistent.
    for u in users:
        mine = [t for t in tickets if t["customer_id"] == u["id"]]
        if mine:
            u["preferences"]["tickets_closed"] = sum(1 for t in mine if t["state_id"] == 4)
            u["preferences"]["tickets_open"] = sum(1 for t in mine if t["state_id"] != 4)
    return {"users": users, "tickets": tickets, "articles": articles}


# ------------------------------------------------------------------------------ Freshdesk

_FD_CONTACT_LIST_KEYS = (
    "active", "address", "company_id", "description", "email", "id", "job_title", "language",
    "mobile", "name", "phone", "time_zone", "twitter_id", "custom_fields", "facebook_id",
    "created_at", "updated_at", "csat_rating", "preferred_source", "unique_external_id",
)  # fmt: skip


def _build_freshdesk(
    people_list: list[Person],
    people: dict[str, Person],
    rng: random.Random,
    clock: _Clock,
    now: datetime,
) -> Json:
    listed = {c["id"]: c for c in load_sample("freshdesk", "GET_contacts_page=1_per_page=3.json")}
    full_sanne = load_sample("freshdesk", "GET_contacts_80012345671.json")
    extra_defaults = {
        "view_all_tickets": False,
        "deleted": False,
        "other_emails": [],
        "other_companies": [],
        "tags": [],
        "avatar": None,
    }
    contacts: list[Json] = []
    for p in people_list:
        if p.freshdesk_id == full_sanne["id"]:
            c = copy.deepcopy(full_sanne)
        elif p.freshdesk_id in listed:
            c = copy.deepcopy(listed[p.freshdesk_id])
        else:
            c = copy.deepcopy(listed[80012345702])
            created = p.created + timedelta(days=rng.randrange(0, 20), seconds=rng.randrange(9999))
            c.update(
                {
                    "address": f"{p.street}, {p.postcode} {p.city}",
                    "email": p.email,
                    "id": p.freshdesk_id,
                    "mobile": p.phone if p.phone.startswith("+31 6") or p.key == "kees" else None,
                    "phone": None if (p.phone.startswith("+31 6") or p.key == "kees") else p.phone,
                    "name": p.name,
                    "custom_fields": {"klantnummer": None},
                    "created_at": iso_s(created),
                    "updated_at": iso_s(created + timedelta(minutes=rng.randrange(0, 9000))),
                    "unique_external_id": f"woo-{p.woocommerce_id}",
                }
            )
        for k, v in extra_defaults.items():
            c.setdefault(k, copy.deepcopy(v))
        first, _, last = c["name"].partition(" ")
        c.setdefault("first_name", first)
        c.setdefault("last_name", last)
        c["_state"] = "verified"
        contacts.append(c)
    caller = copy.deepcopy(listed[80012345702])
    caller.update(
        {
            "id": PHONE_ONLY_FRESHDESK_ID,
            "name": "Lieke Hoekstra",
            "first_name": "Lieke",
            "last_name": "Hoekstra",
            "email": None,
            "mobile": "06 13572468",
            "phone": None,
            "address": None,
            "custom_fields": {"klantnummer": None},
            "unique_external_id": None,
            "preferred_source": "phone",
            "created_at": "2024-03-12T10:24:10Z",
            "updated_at": "2024-03-12T10:24:10Z",
            **copy.deepcopy(extra_defaults),
            "_state": "verified",
        }
    )
    contacts.append(caller)
    contacts.sort(key=lambda c: (c["created_at"], c["id"]))

    sample_list = load_sample(
        "freshdesk",
        "GET_tickets_email=sanne.devries@example.nl_updated_since=2015-01-01T00-00-00Z_include"
        "=requester,stats,description.json",
    )
    tickets: list[Json] = []
    for t in sample_list:
        t.pop("requester", None)
        t["_stats"] = t.pop("stats")
        t["attachments"] = []
        t["_t"] = _dt(t["created_at"])
        tickets.append(t)
    fixed_ids = {t["id"] for t in tickets}
    conversations = load_sample("freshdesk", "GET_tickets_1207_conversations.json")
    template = copy.deepcopy(tickets[1])
    conv_template = copy.deepcopy(conversations[0])
    pending: list[tuple[Json, list[Json]]] = []

    def ticket(
        p: Person, created: datetime, status: int, subject: str, body: str, source: int = 1
    ) -> None:
        t = copy.deepcopy(template)
        responded = clock.after(created, 15, 900)
        resolved = clock.after(responded, 60, 3000) if status in (4, 5) else None
        updated = resolved or responded
        t.update(
            {
                "id": None,
                "priority": rng.choice([1, 2, 2, 3]),
                "requester_id": p.freshdesk_id,
                "source": source,
                "status": status,
                "subject": subject,
                "type": rng.choice(["Question", "Problem", None]),
                "due_by": iso_s(created + timedelta(days=2)),
                "fr_due_by": iso_s(created + timedelta(hours=8)),
                "custom_fields": {"cf_ordernummer": None},
                "created_at": iso_s(created),
                "updated_at": iso_s(updated),
                "tags": [],
                "description": f"<div>{body}<br>Groet, {p.first_name}</div>",
                "description_text": f"{body}\nGroet, {p.first_name}",
                "_stats": {
                    "agent_responded_at": iso_s(responded),
                    "requester_responded_at": iso_s(created),
                    "first_responded_at": iso_s(responded),
                    "status_updated_at": iso_s(updated),
                    "reopened_at": None,
                    "resolved_at": iso_s(resolved) if resolved else None,
                    "closed_at": iso_s(resolved) if status == 5 and resolved else None,
                    "pending_since": iso_s(responded) if status == 3 else None,
                },
                "_t": created,
            }
        )
        convs = []
        c1 = copy.deepcopy(conv_template)
        c1.update(
            {
                "body": f"<div>Hoi {p.first_name}, dank voor je bericht. We kijken ernaar.</div>",
                "body_text": f"Hoi {p.first_name}, dank voor je bericht. We kijken ernaar.",
                "to_emails": [p.email],
                "created_at": iso_s(responded),
                "updated_at": iso_s(responded),
                "_t": responded,
            }
        )
        convs.append(c1)
        if resolved:
            c2 = copy.deepcopy(conversations[2])
            c2.update(
                {
                    "body": f"<div>Opgelost; klant gebeld op {p.phone}.</div>",
                    "body_text": f"Opgelost; klant gebeld op {p.phone}.",
                    "created_at": iso_s(resolved),
                    "updated_at": iso_s(resolved),
                    "_t": resolved,
                }
            )
            convs.append(c2)
        tickets.append(t)
        pending.append((t, convs))

    sanne = people["sanne"]
    for i in range(11):
        start = datetime(2024, 3, 20, tzinfo=UTC) + timedelta(days=i * 21)
        subject, body = _SUBJECTS[(i + 3) % len(_SUBJECTS)]
        ticket(
            sanne,
            clock.between(start, start + timedelta(days=15)),
            rng.choice([4, 5]),
            subject,
            body,
        )
    ticket(
        sanne,
        now - timedelta(days=45, hours=5),
        5,
        "Kopje gebroken bij levering",
        "Eén van de kopjes was gebroken bij aankomst.",
    )
    ticket(
        sanne,
        now - timedelta(days=12, hours=1),
        2,
        "Vraag over bonenabonnement",
        "Kan ik het bonenabonnement een maand pauzeren?",
        source=2,
    )
    ticket(
        sanne,
        now - timedelta(days=2, hours=4),
        2,
        "Machine lekt opnieuw",
        "De machine lekt weer onder de zetgroep.",
    )
    ticket(
        people["sanne_groningen"],
        datetime(2024, 7, 2, 10, 30, 0, tzinfo=UTC),
        5,
        "Workshop verzetten",
        "Kan ik de workshop later volgen?",
    )
    ticket(
        people["sanne_groningen"],
        now - timedelta(days=5),
        2,
        "Nieuwe workshopdata?",
        "Zijn er nieuwe data voor de barista-workshop?",
    )
    ticket(
        people["kees"],
        now - timedelta(days=8),
        2,
        "Melkopschuimer werkt niet meer",
        "De melkopschuimer blijft koud.",
        source=3,
    )
    ticket(
        people["daan"],
        datetime(2024, 11, 15, 15, 35, 0, tzinfo=UTC),
        4,
        "Zakelijke levering",
        "Graag de levering een dag eerder.",
    )
    for i in range(_FILLER_COUNT):
        p = people[f"filler_{i + 1:02d}"]
        for _ in range(rng.randrange(0, 2)):
            subject, body = rng.choice(_SUBJECTS)
            ticket(
                p,
                clock.between(datetime(2024, 3, 1, tzinfo=UTC), _HORIZON),
                rng.choice([2, 4, 5]),
                subject,
                body,
            )
    ticket(
        people["filler_03"],
        now - timedelta(days=3),
        2,
        "Bestelling niet compleet",
        "Er ontbreekt een zak bonen.",
    )
    _assign_ids(tickets, fixed_ids)
    conv_seq = 80044400100
    for t, convs in sorted(pending, key=lambda x: x[0]["id"]):
        for cv in convs:
            conv_seq += rng.randrange(3, 40)
            cv["id"] = conv_seq
            cv["ticket_id"] = t["id"]
            cv.pop("_t", None)
            if cv["private"] is False and cv["incoming"] is False:
                cv["user_id"] = 80001111222
            conversations.append(cv)
    ratings = _fd_ratings(tickets, people)
    tickets.sort(key=lambda x: x["_t"], reverse=True)
    for t in tickets:
        del t["_t"]
    return {
        "contacts": contacts,
        "tickets": tickets,
        "conversations": conversations,
        "satisfaction_ratings": ratings,
    }


def _fd_ratings(tickets: list[Json], people: dict[str, Person]) -> list[Json]:
    """Satisfaction ratings (Freshdesk's survey results): Sanne's of ticket 1207 and the other
    Sanne de Vries's (Groningen) of her closed workshop ticket. Fixed values, no random draws,
    so the rest of the world stays as it was."""
    groningen = people["sanne_groningen"].freshdesk_id
    hers = next(
        t
        for t in tickets
        if t["requester_id"] == groningen and t["subject"] == "Workshop verzetten"
    )
    out = []
    for rating_id, ticket, ratings, feedback in (
        (
            80055500011,
            next(t for t in tickets if t["id"] == 1207),
            {"default_question": -102, "question_80000003": 101},
            "Pakket kwam pas na drie dagen; de medewerker was wel erg vriendelijk.",
        ),
        (
            80055500017,
            hers,
            {"default_question": 103},
            "Snel geregeld, dank je wel!",
        ),
    ):
        closed = ticket["_stats"].get("closed_at") or ticket["_stats"].get("resolved_at")
        at = iso_s(_dt(closed) + timedelta(hours=2, minutes=13))
        out.append(
            {
                "id": rating_id,
                "survey_id": 80000000001,
                "user_id": ticket["requester_id"],
                "agent_id": ticket.get("responder_id"),
                "feedback": feedback,
                "group_id": ticket.get("group_id"),
                "ticket_id": ticket["id"],
                "ratings": ratings,
                "created_at": at,
                "updated_at": at,
            }
        )
    return out


# --------------------------------------------------------------------------------- Mollie


def _build_mollie(
    people_list: list[Person],
    people: dict[str, Person],
    rng: random.Random,
    clock: _Clock,
    now: datetime,
    order_payments: list[Json],
    taken: set[str],
) -> Json:
    sample_customers = {
        c["id"]: c
        for name in ("GET_customers_limit=3.json", "GET_customers_from=cst_Hy7Lc4Vn8R_limit=3.json")
        for c in load_sample("mollie", name)["_embedded"]["customers"]
    }
    template = sample_customers["cst_Hy7Lc4Vn8R"]
    customers: list[Json] = []
    for p in people_list:
        for cst in p.mollie_ids:
            if cst in sample_customers:
                c = copy.deepcopy(sample_customers[cst])
            else:
                c = copy.deepcopy(template)
                created = p.created - timedelta(minutes=rng.randrange(1, 90))
                c.update(
                    {
                        "id": cst,
                        "name": p.name,
                        "email": p.email,
                        "metadata": {"woocommerce_customer_id": p.woocommerce_id},
                        "createdAt": iso_offset(created),
                    }
                )
                if cst == "cst_Tz4Kd8Wm1S":
                    # A second, older customer object for Sanne created by the booking
                    # plugin, with her address typed in another letter case.
                    c.update(
                        {
                            "name": "S. de Vries",
                            "email": "Sanne.DeVries@Example.NL",
                            "metadata": None,
                            "createdAt": "2022-06-01T12:30:00+00:00",
                        }
                    )
            c.pop("_links", None)
            customers.append(c)
    customers.sort(key=lambda c: (c["createdAt"], c["id"]), reverse=True)

    sample_payments = load_sample("mollie", "GET_customers_cst_Vd3sNq7Lw2_payments_limit=5.json")
    payments: list[Json] = []
    for pay in sample_payments["_embedded"]["payments"]:
        pay.pop("_links", None)
        payments.append(pay)
    full = load_sample("mollie", "GET_payments_tr_Rb6Yt3UvQm.json")
    full.pop("_links", None)
    payments[0] = full
    ideal_template = copy.deepcopy(payments[-1])
    dd_template = copy.deepcopy(full)
    known = {p["id"] for p in payments}

    iban_of = {"sanne": ("S. de Vries", "NL00TEST0123456789", "TESTNL2A")}

    def bank(p: Person) -> tuple[str, str, str]:
        if p.key not in iban_of:
            iban_of[p.key] = (
                f"{p.first_name[0]}. {p.last_name}",
                f"NL00TEST{rng.randrange(10**9, 10**10)}",
                "TESTNL2A",
            )
        return iban_of[p.key]

    # Payments that belong to WooCommerce orders (the sample ones already exist).
    for op in order_payments:
        o = op["order"]
        if op["id"] in known:
            continue
        p = people[op["person"]]
        created = _dt(o["date_created_gmt"] + "Z") + timedelta(seconds=3)
        pay = copy.deepcopy(ideal_template)
        name, iban, bic = bank(p)
        value = o["total"]
        pay.update(
            {
                "id": op["id"],
                "createdAt": iso_offset(created),
                "amount": {"value": value, "currency": "EUR"},
                "description": f"Bestelling {o['id']}",
                "metadata": {"order_id": str(o["id"])},
                "paidAt": iso_offset(created + timedelta(minutes=1, seconds=30)),
                "amountRemaining": {"value": value, "currency": "EUR"},
                "settlementAmount": {"value": value, "currency": "EUR"},
                "customerId": op["customer"],
                "redirectUrl": f"https://shop.example.nl/afrekenen/order-received/{o['id']}/?key={o['order_key']}",
                "webhookUrl": f"https://shop.example.nl/wc-api/mollie_wc_gateway_ideal?order_id={o['id']}",
                "details": {"consumerName": name, "consumerAccount": iban, "consumerBic": bic},
            }
        )
        pay.pop("mandateId", None)
        if op["customer"] is None:
            del pay["customerId"]
        payments.append(pay)
    # The guest payment of sample order 1977: no customer object at all.
    guest = copy.deepcopy(ideal_template)
    guest.update(
        {
            "id": "tr_Gk2Mw8PxLs",
            "createdAt": "2023-12-19T09:03:30+00:00",
            "amount": {"value": "35.97", "currency": "EUR"},
            "description": "Bestelling 1977",
            "metadata": {"order_id": "1977"},
            "paidAt": "2023-12-19T09:04:54+00:00",
            "amountRemaining": {"value": "35.97", "currency": "EUR"},
            "settlementAmount": {"value": "35.97", "currency": "EUR"},
            "redirectUrl": "https://shop.example.nl/afrekenen/order-received/1977/?key=wc_order_Zx5Cn1Vb8Qw3E",
            "webhookUrl": "https://shop.example.nl/wc-api/mollie_wc_gateway_ideal?order_id=1977",
        }
    )
    del guest["customerId"]
    payments.append(guest)
    # Monthly direct debits of her coffee-bean subscription, May–Dec 2024.
    for month in range(5, 13):
        pay = copy.deepcopy(dd_template)
        tr = _rand_id(rng, "tr_", taken)
        created = datetime(2024, month, 2, 6, 0, rng.randrange(10, 59), tzinfo=UTC)
        pay.update(
            {
                "id": tr,
                "createdAt": iso_offset(created),
                "description": f"Bonenabonnement {_MONTHS_NL[month - 1]} 2024",
                "metadata": {"subscription": "bonen-maandelijks", "period": f"2024-{month:02d}"},
                "paidAt": iso_offset(created + timedelta(days=5, hours=-2)),
            }
        )
        pay["details"] = dict(
            pay["details"],
            transferReference="SD67-" + "-".join(str(rng.randrange(1000, 9999)) for _ in range(3)),
            dueDate=(created + timedelta(days=4)).date().isoformat(),
            endToEndIdentifier=f"E2E-{tr}",
        )
        payments.append(pay)
    # Two payments on her second (case-variant) customer object.
    for when, desc, value in (
        (datetime(2022, 6, 1, 12, 31, 4, tzinfo=UTC), "Barista-workshop juni 2022", "45.00"),
        (datetime(2022, 11, 19, 15, 2, 40, tzinfo=UTC), "Cadeaubon", "25.00"),
    ):
        pay = copy.deepcopy(ideal_template)
        pay.update(
            {
                "id": _rand_id(rng, "tr_", taken),
                "createdAt": iso_offset(when),
                "amount": {"value": value, "currency": "EUR"},
                "description": desc,
                "metadata": None,
                "paidAt": iso_offset(when + timedelta(minutes=2)),
                "amountRemaining": {"value": value, "currency": "EUR"},
                "settlementAmount": {"value": value, "currency": "EUR"},
                "customerId": "cst_Tz4Kd8Wm1S",
                "redirectUrl": "https://koffiebar-utrecht.example.nl/workshops/bedankt",
                "webhookUrl": "https://koffiebar-utrecht.example.nl/mollie/webhook",
                "details": {
                    "consumerName": "S. de Vries",
                    "consumerAccount": "NL00TEST0123456789",
                    "consumerBic": "TESTNL2A",
                },
            }
        )
        payments.append(pay)
    payments.sort(key=lambda x: (x["createdAt"], x["id"]), reverse=True)

    mandates_sample = load_sample("mollie", "GET_customers_cst_Vd3sNq7Lw2_mandates.json")
    mandates = []
    for m in mandates_sample["_embedded"]["mandates"]:
        m.pop("_links", None)
        m["_customerId"] = "cst_Vd3sNq7Lw2"
        mandates.append(m)
    # The other Sanne de Vries (Groningen) pays her own coffee subscription by direct debit.
    mandates.append(
        {
            "resource": "mandate",
            "id": "mdt_Wq3Lx7Nc5T",
            "mode": "live",
            "status": "valid",
            "method": "directdebit",
            "details": {
                "consumerName": "S. de Vries",
                "consumerAccount": "NL00TEST9876543210",
                "consumerBic": "TESTNL2A",
            },
            "mandateReference": "KBU-1057-0001",
            "signatureDate": "2024-07-01",
            "createdAt": "2024-07-01T08:15:37+00:00",
            "_customerId": "cst_Pm8xTq2Hn6",
        }
    )
    subscriptions = [
        _subscription(
            "sub_Bn3Mk7Qw2X",
            "cst_Vd3sNq7Lw2",
            created="2024-04-02T11:41:05+00:00",
            amount="24.95",
            interval="1 month",
            start="2024-05-02",
            description="Bonenabonnement",
            mandate="mdt_Hn5Rq8Zc4P",
            webhook="https://shop.example.nl/wc-api/mollie_wc_gateway_directdebit",
            metadata={"subscription": "bonen-maandelijks"},
            next_payment="2025-02-02",
        ),
        # Her tea trial, which she stopped after three months.
        _subscription(
            "sub_Jt6Vw4Hs9C",
            "cst_Vd3sNq7Lw2",
            created="2024-06-10T09:12:44+00:00",
            amount="12.50",
            interval="1 month",
            start="2024-07-10",
            description="Theeproefpakket",
            mandate="mdt_Hn5Rq8Zc4P",
            webhook="https://shop.example.nl/wc-api/mollie_wc_gateway_directdebit",
            metadata={"subscription": "thee-proef"},
            canceled="2024-09-28T19:03:11+00:00",
        ),
        # The other Sanne's: near-identical, and never hers.
        _subscription(
            "sub_Kx8Pd2Rv6M",
            "cst_Pm8xTq2Hn6",
            created="2024-07-01T08:15:38+00:00",
            amount="19.95",
            interval="2 weeks",
            start="2024-07-15",
            description="Bonenabonnement",
            mandate="mdt_Wq3Lx7Nc5T",
            webhook="https://shop.example.nl/wc-api/mollie_wc_gateway_directdebit",
            metadata={"subscription": "bonen-tweewekelijks"},
            next_payment="2025-03-10",
        ),
    ]
    refunds, chargebacks = _refunds_and_chargebacks(payments)
    return {
        "customers": customers,
        "payments": payments,
        "mandates": mandates,
        "subscriptions": subscriptions,
        "refunds": refunds,
        "chargebacks": chargebacks,
    }


def _refunds_and_chargebacks(payments: list[Json]) -> tuple[list[Json], list[Json]]:
    """Refunds and chargebacks of a few payments, with fixed ids and amounts (no random numbers,
    so no other data moves), and each payment's ``amountRefunded``/``amountRemaining``/
    ``amountChargedBack`` to match, as Mollie shows them (``amountChargedBack`` only when not
    zero):

    * Sanne's order 2088 (``tr_Nd4Kp9RtYe``): part refunded, with a note about her;
    * her guest order 1977 (``tr_Gk2Mw8PxLs``, reached only through the order): part refunded;
    * her coffee subscription's October 2024 direct debit: charged back by her bank;
    * the other Sanne de Vries (``cst_Pm8xTq2Hn6``): her first payment part refunded, with a
      near-identical note; never Sanne's.
    """
    by_id = {p["id"]: p for p in payments}
    october = next(
        p
        for p in payments
        if p.get("customerId") == "cst_Vd3sNq7Lw2"
        and p["description"] == "Bonenabonnement oktober 2024"
    )
    others = sorted(
        (p for p in payments if p.get("customerId") == "cst_Pm8xTq2Hn6" and p.get("paidAt")),
        key=lambda p: (p["createdAt"], p["id"]),
    )
    refunds = [
        _refund(
            "re_Hq4Tn8Wd2K",
            by_id["tr_Nd4Kp9RtYe"],
            "24.95",
            "Retour: molen beschadigd bezorgd, mevrouw De Vries houdt de bonen",
            "2024-12-03T10:14:22+00:00",
            metadata={"order_id": "2088", "reason": "damaged"},
        ),
        _refund(
            "re_Lx7Pv3Zs9B",
            by_id["tr_Gk2Mw8PxLs"],
            "11.99",
            "Bestelling 1977: één zak bonen niet geleverd",
            "2023-12-22T15:40:05+00:00",
            metadata={"order_id": "1977"},
        ),
    ]
    if others:  # the other Sanne's orders paid through Mollie with her customer
        first = others[0]
        refunds.append(
            _refund(
                "re_Mw2Kc6Yr8N",
                first,
                "5.00",
                "Retour: molen beschadigd bezorgd, mevrouw De Vries houdt de bonen",
                iso_offset(_dt(first["paidAt"]) + timedelta(days=4)),
                metadata={"reason": "damaged"},
            )
        )
    chargebacks = [
        {
            "resource": "chargeback",
            "id": "chb_Rt5Gw9Ke3V",
            "amount": dict(october["amount"]),
            "settlementAmount": {"value": f"-{october['amount']['value']}", "currency": "EUR"},
            "createdAt": iso_offset(_dt(october["paidAt"]) + timedelta(days=9)),
            "reason": {"code": "MD06", "description": "Return of funds requested by end customer"},
            "reversedAt": None,
            "paymentId": october["id"],
        }
    ]
    october["amountChargedBack"] = dict(october["amount"])
    return refunds, chargebacks


def _refund(
    rid: str,
    payment: Json,
    value: str,
    description: str,
    created: str,
    *,
    metadata: Json | None = None,
) -> Json:
    """A settled (``refunded``) refund of ``value`` EUR on ``payment``, whose refunded and
    remaining amounts it updates."""
    refunded = Decimal(payment["amountRefunded"]["value"]) + Decimal(value)
    payment["amountRefunded"] = {"value": f"{refunded:.2f}", "currency": "EUR"}
    remaining = Decimal(payment["amount"]["value"]) - refunded
    payment["amountRemaining"] = {"value": f"{remaining:.2f}", "currency": "EUR"}
    return {
        "resource": "refund",
        "id": rid,
        "mode": "live",
        "amount": {"value": value, "currency": "EUR"},
        "settlementAmount": {"value": f"-{value}", "currency": "EUR"},
        "description": description,
        "metadata": metadata,
        "status": "refunded",
        "createdAt": created,
        "paymentId": payment["id"],
    }


def _subscription(
    sid: str,
    customer: str,
    *,
    created: str,
    amount: str,
    interval: str,
    start: str,
    description: str,
    mandate: str | None,
    webhook: str,
    metadata: Json | None,
    next_payment: str | None = None,
    canceled: str | None = None,
    times: int | None = None,
) -> Json:
    """A Mollie subscription as the API shows it, without ``_links``: ``canceledAt`` only on a
    canceled one, ``nextPaymentDate`` only while payments are still due."""
    sub: Json = {
        "resource": "subscription",
        "id": sid,
        "mode": "live",
        "createdAt": created,
        "status": "canceled" if canceled else "active",
        "amount": {"value": amount, "currency": "EUR"},
        "times": times,
        "timesRemaining": times,
        "interval": interval,
        "startDate": start,
        "description": description,
        "method": None,
        "mandateId": mandate,
        "webhookUrl": webhook,
        "metadata": metadata,
        "customerId": customer,
    }
    if next_payment and not canceled:
        sub["nextPaymentDate"] = next_payment
    if canceled:
        sub["canceledAt"] = canceled
    return sub


_MONTHS_NL = [
    "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
    "oktober", "november", "december",
]  # fmt: skip
