"""Local HTTP simulators of the five vendor APIs the privacy portal talks to.

Quick start::

    from simulators import start, start_all

    with start_all() as sims:                 # all five on free ports, one shared world
        woo = sims["woocommerce"]
        woo.base_url                          # http://127.0.0.1:PORT/wp-json/wc/v3
        woo.credentials                       # {"consumer_key": ..., "consumer_secret": ...}
        woo.set_fault("rate_limit", count=2, retry_after=1)
        woo.requests                          # [RequestRecord(method, path, query, ...)]

``python -m simulators`` serves all five on ports 5101-5105 for the demo. See
``simulators/README.md`` for the people in the demo world and every identifier.
"""

from simulators.base import (
    FAULT_MODES,
    RETRY_AFTER_FORMATS,
    FaultConfig,
    RequestRecord,
    SimulatorApp,
)
from simulators.runner import (
    APP_CLASSES,
    DEFAULT_PORTS,
    VENDORS,
    SimulatorGroup,
    SimulatorHandle,
    create_app,
    start,
    start_all,
)
from simulators.world import ADMINISTRATION_ID, DEMO_CUSTOMER, DEMO_SEED, Person, World, build_world

__all__ = [
    "ADMINISTRATION_ID",
    "APP_CLASSES",
    "DEFAULT_PORTS",
    "DEMO_CUSTOMER",
    "DEMO_SEED",
    "FAULT_MODES",
    "RETRY_AFTER_FORMATS",
    "VENDORS",
    "FaultConfig",
    "Person",
    "RequestRecord",
    "SimulatorApp",
    "SimulatorGroup",
    "SimulatorHandle",
    "World",
    "build_world",
    "create_app",
    "start",
    "start_all",
]
