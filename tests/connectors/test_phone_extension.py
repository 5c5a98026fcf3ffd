"""A phone number with an extension is one person's line at a switchboard, not the main
number: over real HTTP, a record holding ``030 1112233 x12`` (and no e-mail address) is not
matched for whoever verified ``030 1112233``.

E.164, to which numbers are normalised, has no extension: ``030 1112233 x12`` came out as
``+31301112233``, the switchboard's own number, and matched it exactly.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from connectors import Identity, RetryPolicy, create
from connectors.identity import InvalidIdentifier, normalize_phone, try_normalize
from simulators import start
from simulators.runner import SimulatorHandle
from simulators.world import PHONE_ONLY_ZAMMAD_ID

SWITCHBOARD = "030 1112233"


@pytest.fixture
def desk() -> Iterator[SimulatorHandle]:
    """A Zammad simulator of its own (a user's phone is changed)."""
    handle = start("zammad")
    try:
        yield handle
    finally:
        handle.stop()


def set_phone(handle: SimulatorHandle, user_id: int, phone: str) -> None:
    answer = httpx.put(
        f"{handle.base_url}/users/{user_id}",
        json={"phone": phone, "mobile": ""},
        headers={"Authorization": f"Token token={handle.credentials['token']}"},
    )
    assert answer.status_code == 200 and answer.json()["phone"] == phone
    assert not answer.json().get("email")  # the caller has no e-mail address


def test_an_extension_is_not_the_switchboard_s_number(
    desk: SimulatorHandle, no_wait: RetryPolicy
) -> None:
    set_phone(desk, PHONE_ONLY_ZAMMAD_ID, f"{SWITCHBOARD} x12")
    config = {"base_url": desk.base_url, "token": desk.credentials["token"]}
    with create("zammad", config, retry=no_wait) as connector:
        result = connector.fetch(Identity.of(phones=[SWITCHBOARD]))
        # the fuzzy phone search found the caller's record, and it was not matched
        assert result.records == () and result.dropped == 1
        # the same record with the number itself is the holder's
        set_phone(desk, PHONE_ONLY_ZAMMAD_ID, SWITCHBOARD)
        found = connector.fetch(Identity.of(phones=[SWITCHBOARD]))
    assert [r.record_id for r in found.records if r.record_type == "user"] == [
        str(PHONE_ONLY_ZAMMAD_ID)
    ]


@pytest.mark.parametrize("written", ["030 1112233 x12", "+31 30 1112233 ext. 12", "0301112233#12"])
def test_a_number_with_an_extension_is_no_identifier(written: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalize_phone(written)
    assert try_normalize("phone", written) is None
    assert normalize_phone(SWITCHBOARD) == "+31301112233"
