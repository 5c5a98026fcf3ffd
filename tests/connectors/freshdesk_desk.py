"""A Freshdesk simulator with a connector for it, for the tests of what Freshdesk's lists
leave out (deleted, blocked, trashed and spam records): the ``desk`` fixture (conftest)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from werkzeug.wrappers import Request, Response

from connectors import BaseConnector, FetchResult, Identity, RecordRef
from simulators import SimulatorHandle
from simulators.world import build_world

SANNE = "sanne.devries@example.nl"
SANNE_ID = 80012345671
#: The other Sanne: same name, near-identical e-mail address, a different person.
OTHER_SANNE = "sanne.de.vries@example.nl"
OTHER_SANNE_ID = 80012345702
WORLD = build_world()


class Desk:
    """A running Freshdesk simulator, a connector for it and plain HTTP calls to it."""

    def __init__(self, handle: SimulatorHandle, connector: BaseConnector) -> None:
        self.handle = handle
        self.connector = connector
        self.app: Any = handle.app
        self.auth = (handle.credentials["api_key"], "X")

    def call(self, method: str, path: str) -> httpx.Response:
        return httpx.request(method, f"{self.handle.base_url}/{path}", auth=self.auth)

    def fetch(self, email: str = SANNE) -> FetchResult:
        return self.connector.fetch(Identity.of(emails=[email]))

    def ref(self, record_type: str, record_id: object) -> RecordRef:
        return RecordRef(self.connector.instance_name, record_type, str(record_id))

    def patch(
        self, endpoint: str, answer: Callable[[Request, Callable[..., Response]], Any]
    ) -> None:
        """Let ``answer(request, original)`` answer ``endpoint`` in place of the simulator."""
        original = getattr(self.app, f"on_{endpoint}")
        setattr(self.app, f"on_{endpoint}", lambda request, **kw: answer(request, original, **kw))


def tickets_of(result: FetchResult) -> dict[str, dict[str, Any]]:
    return {r.record_id: dict(r.fields) for r in result.records if r.record_type == "ticket"}
