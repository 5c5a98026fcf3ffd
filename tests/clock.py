"""Today as the portal counts it, for tests that compare with what it shows or checks."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

#: The ``timezone`` setting's default; the tests do not change it.
FIRM_TIME_ZONE = ZoneInfo("Europe/Amsterdam")


def firm_today() -> date:
    """Today in the firm's time zone: a day ahead of UTC for an hour or two around midnight,
    so ``date.today()`` on a UTC machine would be yesterday then."""
    return datetime.now(FIRM_TIME_ZONE).date()
