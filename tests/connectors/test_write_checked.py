"""A correction is done only when the vendor's answer shows it, and a vendor's refusal of one
record is no credentials failure; over real HTTP against the simulators.

Every vendor answers a write with the whole record. An API that does not take a field drops it
without a word (Rails' and WordPress's unpermitted parameters: MoneyBird's ``email`` and
``attention`` since its changelog of 2016-03-10) and answers 200 with the old value: that is no
correction, and the portal must not mark it done.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors import (
    ConnectorError,
    CorrectableField,
    ErrorKind,
    FieldKind,
    Identity,
    NotSupported,
    RecordRef,
    RecordRefused,
    RetryPolicy,
    create,
)
from connectors.base import NOT_WRITTEN, BaseConnector
from simulators import SimulatorHandle, start

from .over_http import connect

SANNE = "sanne.devries@example.nl"
MONEYBIRD_CONTACT = "431877251120719881"
VENDOR_API = Path("/work/shared/vendor-api")

#: Sanne's main record in each system, a correction to it, the simulator's endpoints that
#: change and read that record, and how its id is passed to them.
CASES: dict[str, tuple[str, str, str, str, str, str, dict[str, Any]]] = {
    "woocommerce": (
        "customer", "101", "billing_phone", "+31 6 11112222",
        "customer_update", "customer", {"cid": 101},
    ),
    "moneybird": (
        "contact", MONEYBIRD_CONTACT, "phone", "+31 6 11112222",
        "contact_update", "contact", {"cid": MONEYBIRD_CONTACT},
    ),
    "zammad": ("user", "27", "phone", "+31 6 11112222", "user_update", "user", {"uid": 27}),
    "freshdesk": (
        "contact", "80012345671", "phone", "+31 6 11112222",
        "contact_update", "contact", {"cid": 80012345671},
    ),
    "mollie": (
        "customer", "cst_Vd3sNq7Lw2", "name", "Sanne de Vries-Bakker",
        "customer_update", "customer", {"cid": "cst_Vd3sNq7Lw2"},
    ),
}  # fmt: skip
#: The vendors whose API drops an attribute it does not know (Freshdesk refuses it: 400).
DROP_UNKNOWN = ["woocommerce", "moneybird", "zammad", "mollie"]


@pytest.fixture
def sanne() -> Identity:
    return Identity.of(emails=[SANNE])


def _connected(vendor: str, retry: RetryPolicy, **options: Any) -> Iterator[Any]:
    handle = start(vendor, **options)
    if vendor == "zammad":  # the token, not the admin's Basic login
        config = {"base_url": handle.base_url, "token": handle.credentials["token"]}
        connector = create(vendor, config, retry=retry)
    else:
        connector = connect(handle, retry)
    try:
        yield handle, connector
    finally:
        connector.close()
        handle.stop()


def _writes(handle: SimulatorHandle) -> list[str]:
    return [f"{r.method} {r.path}" for r in handle.requests if r.method in ("PUT", "PATCH")]


def _fields(connector: BaseConnector, record_type: str, record_id: str) -> dict[str, Any]:
    for record in connector.fetch(Identity.of(emails=[SANNE])).records:
        if (record.record_type, record.record_id) == (record_type, record_id):
            return dict(record.fields)
    raise AssertionError(f"{record_type} {record_id} not found")


def _offering(connector: BaseConnector, record_type: str, **more: CorrectableField) -> None:
    """Let this connector offer fields its vendor does not take (as if declared by mistake)."""
    correctable = {k: dict(v) for k, v in connector.correctable.items()}
    correctable[record_type].update(more)
    connector.correctable = correctable  # type: ignore[misc]


# -- MoneyBird: a contact's own e-mail address and attention cannot be written ---------------


def test_moneybird_offers_no_correction_of_email_or_attention(no_wait: RetryPolicy) -> None:
    for handle, connector in _connected("moneybird", no_wait):
        fields = connector.correctable_fields("contact")
        assert "email" not in fields and "attention" not in fields
        # what it still offers are fields MoneyBird takes (the reference's writable list)
        assert {"send_invoices_to_email", "send_estimates_to_email", "phone"} <= set(fields)
        ref = RecordRef(connector.instance_name, "contact", MONEYBIRD_CONTACT)
        with pytest.raises(NotSupported) as info:
            connector.apply_correction(ref, "email", "sanne.nieuw@example.nl")
        assert info.value.reason is None  # no API for it at all: staff, by hand
        assert _writes(handle) == []
        # staff are pointed at the field
        assert connector.describe_target(ref, "email") == (
            f"MoneyBird › Contacts › #{MONEYBIRD_CONTACT} › E-mail address "
            f"(API: contacts/{MONEYBIRD_CONTACT}.json)"
        )


def test_moneybird_simulator_drops_email_and_attention_as_moneybird_does() -> None:
    handle = start("moneybird")
    try:
        url = handle.url(
            f"/{handle.credentials['administration_id']}/contacts/{MONEYBIRD_CONTACT}.json"
        )
        headers = {"Authorization": f"Bearer {handle.credentials['token']}"}
        before = httpx.get(url, headers=headers).json()
        body = {"contact": {"email": "x@example.nl", "attention": "Mr X", "city": "Zeist"}}
        answer = httpx.patch(url, headers=headers, json=body)
        assert answer.status_code == 200  # Rails drops the attributes it does not permit
        after = answer.json()
        assert (after["email"], after["attention"]) == (before["email"], before["attention"])
        assert after["city"] == "Zeist"  # the rest is written
        assert httpx.get(url, headers=headers).json()["email"] == before["email"]
    finally:
        handle.stop()


def test_moneybird_email_correction_is_never_sent_to_a_vendor_that_ignores_it(
    no_wait: RetryPolicy,
) -> None:
    """The reviewer's case: MoneyBird answers the PATCH 200 with the contact unchanged."""
    contact = json.loads(
        (VENDOR_API / "moneybird" / f"GET_contacts_{MONEYBIRD_CONTACT}.json").read_text()
    )
    sent: list[dict[str, Any]] = []

    def vendor(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            sent.append(json.loads(request.content))
        return httpx.Response(200, json=contact)

    connector = create(
        "moneybird",
        {"administration_id": "431877250663540736", "token": "t",
         "base_url": "https://moneybird.test/api/v2"},
        retry=no_wait, transport=httpx.MockTransport(vendor),
    )  # fmt: skip
    ref = RecordRef(connector.instance_name, "contact", MONEYBIRD_CONTACT)
    with pytest.raises(NotSupported):
        connector.apply_correction(
            ref, "email", "sanne.nieuw@example.nl", identity=Identity.of(emails=[SANNE])
        )
    assert sent == []
    # and were it offered, the unchanged answer would not count as written
    _offering(connector, "contact", email=CorrectableField(FieldKind.EMAIL, "email", "E-mail"))
    with pytest.raises(NotSupported) as info:
        connector.apply_correction(ref, "email", "sanne.nieuw@example.nl")
    assert info.value.reason == NOT_WRITTEN
    assert sent == [{"contact": {"email": "sanne.nieuw@example.nl"}}]


# -- every vendor: the answer must show the new value ------------------------------------------


@pytest.mark.parametrize("vendor", DROP_UNKNOWN)
def test_a_field_the_vendor_drops_is_not_reported_written(
    vendor: str, no_wait: RetryPolicy, sanne: Identity
) -> None:
    """The simulator drops an attribute its vendor does not take (200, record unchanged)."""
    record_type, record_id, *_ = CASES[vendor]
    dropped = "email" if vendor == "moneybird" else "nickname"
    for handle, connector in _connected(vendor, no_wait):
        _offering(
            connector, record_type, **{dropped: CorrectableField(FieldKind.TEXT, dropped, "X")}
        )
        before = _fields(connector, record_type, record_id)
        ref = RecordRef(connector.instance_name, record_type, record_id)
        with pytest.raises(NotSupported) as info:
            connector.apply_correction(ref, dropped, "sanne.nieuw@example.nl", identity=sanne)
        assert info.value.kind == ErrorKind.NOT_SUPPORTED and info.value.reason == NOT_WRITTEN
        assert SANNE not in str(info.value) and "nieuw" not in str(info.value)
        assert len(_writes(handle)) == 1  # it was sent, and answered 200
        assert _fields(connector, record_type, record_id) == before


def test_freshdesk_refuses_a_field_it_does_not_take(no_wait: RetryPolicy) -> None:
    for _handle, connector in _connected("freshdesk", no_wait):
        _offering(connector, "contact", nickname=CorrectableField(FieldKind.TEXT, "nickname", "X"))
        ref = RecordRef(connector.instance_name, "contact", "80012345671")
        with pytest.raises(ConnectorError) as info:
            connector.apply_correction(ref, "nickname", "Sanne")
        assert info.value.kind == ErrorKind.REJECTED and info.value.status == 400


@pytest.mark.parametrize("vendor", list(CASES))
def test_an_answer_without_the_new_value_is_no_correction(
    vendor: str, no_wait: RetryPolicy, sanne: Identity
) -> None:
    """The vendor answers 200 with the record as it was (it ignored the change)."""
    record_type, record_id, field, value, update, read, ids = CASES[vendor]
    for handle, connector in _connected(vendor, no_wait):
        app: Any = handle.app
        getter = getattr(app, f"on_{read}")
        app_update = f"on_{update}"
        setattr(app, app_update, lambda request, _read=getter, **values: _read(request, **values))
        ref = RecordRef(connector.instance_name, record_type, record_id)
        with pytest.raises(NotSupported) as info:
            connector.apply_correction(ref, field, value, identity=sanne)
        assert info.value.reason == NOT_WRITTEN
        assert len(_writes(handle)) == 1
        delattr(app, app_update)  # the vendor takes it again
        connector.apply_correction(ref, field, value, identity=sanne)
        assert _fields(connector, record_type, record_id)[field] == value


@pytest.mark.parametrize(
    ("vendor", "field", "value"),
    [
        # the vendor writes an address in lower case, a number as typed: still the value sent
        ("zammad", "email", "Sanne.Nieuw@Example.NL"),
        ("woocommerce", "billing_phone", "06-11112222"),
        ("woocommerce", "billing_address", {"address_1": "Lange Nieuwstraat 4", "city": "Utrecht"}),
        ("moneybird", "address", {"address1": "Lange Nieuwstraat 4"}),
        ("moneybird", "send_invoices_to_email", "sanne.nieuw@example.nl"),
        ("freshdesk", "address", "Lange Nieuwstraat 4, Utrecht"),
        ("mollie", "email", "sanne.nieuw@example.nl"),
    ],
)
def test_a_written_value_is_recognised_in_the_answer(
    vendor: str, field: str, value: Any, no_wait: RetryPolicy
) -> None:
    record_type, record_id, *_ = CASES[vendor]
    for handle, connector in _connected(vendor, no_wait):
        ref = RecordRef(connector.instance_name, record_type, record_id)
        connector.apply_correction(ref, field, value)
        assert len(_writes(handle)) == 1


def test_a_contact_person_s_answer_is_checked_too(no_wait: RetryPolicy) -> None:
    for handle, connector in _connected("moneybird", no_wait):
        app: Any = handle.app
        contact = next(c for c in app.contacts.values() if c.get("contact_people"))
        person = contact["contact_people"][0]
        ref = RecordRef(
            connector.instance_name, "contact_person", f"{contact['id']}/{person['id']}"
        )
        connector.apply_correction(ref, "department", "Inkoop")
        assert person["department"] == "Inkoop"
        app.on_person_update = lambda request, _app=app, **values: _app.on_person(request, **values)
        with pytest.raises(NotSupported) as info:
            connector.apply_correction(ref, "department", "Verkoop")
        assert info.value.reason == NOT_WRITTEN


# -- a refusal of one record is not a credentials failure ------------------------------------


def test_woocommerce_refusing_to_edit_one_user_is_no_credentials_failure(
    no_wait: RetryPolicy, sanne: Identity
) -> None:
    """WooCommerce answers 403 ``woocommerce_rest_cannot_edit`` when the key's user may not
    edit this user (a shop manager's account): our key works, this record is refused."""
    for handle, connector in _connected("woocommerce", no_wait):
        app: Any = handle.app
        app.customers[101]["role"] = "shop_manager"
        ref = RecordRef(connector.instance_name, "customer", "101")
        with pytest.raises(RecordRefused) as info:
            connector.apply_correction(ref, "email", "sanne.nieuw@example.nl", identity=sanne)
        assert info.value.kind == ErrorKind.REJECTED and info.value.status == 403
        assert connector.check().ok  # the key itself is fine


def test_a_zammad_403_on_one_ticket_is_refused_for_that_ticket(no_wait: RetryPolicy) -> None:
    """A ticket outside the agent's groups: Zammad's 403 "Not authorized" on that ticket."""
    for handle, connector in _connected("zammad", no_wait):
        app: Any = handle.app
        app.on_ticket = lambda request, _app=app, **values: _app._err(
            "Not authorized", 403, failure=True
        )
        ref = RecordRef(connector.instance_name, "ticket", "118")
        with pytest.raises(RecordRefused) as info:
            connector.erase(ref)
        assert info.value.status == 403
        assert connector.check().ok


def test_a_zammad_token_without_the_data_privacy_permission_is_a_credentials_failure(
    no_wait: RetryPolicy,
) -> None:
    """The token lacks a permission the portal needs: refused on the list of data privacy
    tasks, which names no record, so staff see the key's permissions are wrong."""
    for _handle, connector in _connected(
        "zammad", no_wait, permissions=frozenset({"ticket.agent", "admin.user"})
    ):
        with pytest.raises(ConnectorError) as info:
            connector.erase(RecordRef(connector.instance_name, "ticket", "118"))
        assert info.value.kind == ErrorKind.AUTH and info.value.status == 403


def test_a_403_on_the_connection_check_is_still_a_credentials_failure(
    no_wait: RetryPolicy,
) -> None:
    for handle, connector in _connected("woocommerce", no_wait):
        handle.app.on_customers = lambda request, _app=handle.app, **values: _app.json(  # type: ignore[attr-defined]
            {"code": "woocommerce_rest_cannot_view", "message": "Sorry.", "data": {"status": 403}},
            403,
        )
        health = connector.check()
        assert not health.ok and health.error_kind == ErrorKind.AUTH
