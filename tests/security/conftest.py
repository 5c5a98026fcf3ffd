"""Fixtures of the security tests: the back office's staff members and roomy rate limits."""

from __future__ import annotations

import pytest

from ..staff.conftest import (  # noqa: F401 - shared fixtures
    _light_argon2,
    agent,
    officer,
    settings_overrides,
)


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Every request gets its own context, as in production (no pushed test context)."""
