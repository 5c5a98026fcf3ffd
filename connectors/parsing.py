"""Small validators and parsers for vendor payloads.

Connectors validate the shape they rely on with these helpers, so a vendor answering with a
different shape raises :class:`~connectors.errors.BadResponse` at once instead of a ``KeyError``
or ``TypeError`` somewhere later.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from .errors import BadResponse

JSONDict = dict[str, Any]


def expect_dict(value: object, what: str) -> JSONDict:
    """Return ``value`` if it is a JSON object.

    :raises BadResponse: otherwise; the message names ``what``, never the value.
    """
    if not isinstance(value, dict):
        raise BadResponse(f"{what}: expected an object, got {type(value).__name__}")
    return value


def expect_list(value: object, what: str) -> list[JSONDict]:
    """Return ``value`` if it is a JSON array of objects.

    :raises BadResponse: otherwise.
    """
    if not isinstance(value, list):
        raise BadResponse(f"{what}: expected an array, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, dict):
            raise BadResponse(f"{what}: expected an array of objects")
    return value


def expect_id(record: JSONDict, what: str, key: str = "id") -> str:
    """Return ``record[key]`` as a string id.

    :raises BadResponse: if it is missing or not a string or integer.
    """
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise BadResponse(f"{what}: missing or invalid {key!r}")
    return str(value)


def parse_datetime(value: object, what: str = "timestamp") -> datetime | None:
    """Parse an ISO 8601 timestamp into an aware datetime; ``None`` for null or empty.

    Timestamps without an offset are taken as UTC (WooCommerce's ``*_gmt`` fields).

    :raises BadResponse: if the value is not a parsable timestamp.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadResponse(f"{what}: expected a timestamp string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadResponse(f"{what}: not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def parse_date(value: object, what: str = "date") -> date | None:
    """Parse a ``YYYY-MM-DD`` date; ``None`` for null or empty.

    :raises BadResponse: if the value is not a date.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadResponse(f"{what}: expected a date string")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise BadResponse(f"{what}: not an ISO 8601 date") from None


def pick(record: JSONDict, *keys: str) -> JSONDict:
    """Return the given keys of ``record`` that are present (missing keys are left out)."""
    return {key: record[key] for key in keys if key in record}
