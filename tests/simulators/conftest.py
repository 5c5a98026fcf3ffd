"""Fixtures for the simulator tests: all five simulators on free ports, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulators import SimulatorGroup, SimulatorHandle, World, start_all


@pytest.fixture(scope="session")
def sims() -> Iterator[SimulatorGroup]:
    """The five simulators, started once for the whole session."""
    with start_all() as group:
        yield group


@pytest.fixture(autouse=True)
def _fresh(sims: SimulatorGroup) -> Iterator[None]:
    """Every test starts from the seeded data, without faults and with an empty log."""
    yield
    sims.reset()


@pytest.fixture
def world(sims: SimulatorGroup) -> World:
    """The shared world behind the running simulators."""
    return sims.world


@pytest.fixture
def woo(sims: SimulatorGroup) -> SimulatorHandle:
    """The WooCommerce simulator."""
    return sims["woocommerce"]


@pytest.fixture
def mb(sims: SimulatorGroup) -> SimulatorHandle:
    """The MoneyBird simulator."""
    return sims["moneybird"]


@pytest.fixture
def zammad(sims: SimulatorGroup) -> SimulatorHandle:
    """The Zammad simulator."""
    return sims["zammad"]


@pytest.fixture
def fd(sims: SimulatorGroup) -> SimulatorHandle:
    """The Freshdesk simulator."""
    return sims["freshdesk"]


@pytest.fixture
def mollie(sims: SimulatorGroup) -> SimulatorHandle:
    """The Mollie simulator."""
    return sims["mollie"]


@pytest.fixture
def woo_client(woo: SimulatorHandle) -> Iterator[httpx.Client]:
    """An authenticated WooCommerce client (Basic ck:cs)."""
    creds = woo.credentials
    with httpx.Client(
        base_url=woo.base_url, auth=(creds["consumer_key"], creds["consumer_secret"])
    ) as client:
        yield client


@pytest.fixture
def mb_client(mb: SimulatorHandle) -> Iterator[httpx.Client]:
    """An authenticated MoneyBird client whose base URL includes the administration."""
    creds = mb.credentials
    with httpx.Client(
        base_url=f"{mb.base_url}/{creds['administration_id']}",
        headers={"Authorization": f"Bearer {creds['token']}"},
    ) as client:
        yield client


@pytest.fixture
def zammad_client(zammad: SimulatorHandle) -> Iterator[httpx.Client]:
    """An authenticated Zammad client (``Token token=…``)."""
    with httpx.Client(
        base_url=zammad.base_url,
        headers={"Authorization": f"Token token={zammad.credentials['token']}"},
    ) as client:
        yield client


@pytest.fixture
def fd_client(fd: SimulatorHandle) -> Iterator[httpx.Client]:
    """An authenticated Freshdesk client (Basic api_key:X)."""
    with httpx.Client(base_url=fd.base_url, auth=(fd.credentials["api_key"], "X")) as client:
        yield client


@pytest.fixture
def mollie_client(mollie: SimulatorHandle) -> Iterator[httpx.Client]:
    """An authenticated Mollie client (Bearer live_…)."""
    with httpx.Client(
        base_url=mollie.base_url,
        headers={"Authorization": f"Bearer {mollie.credentials['api_key']}"},
    ) as client:
        yield client
