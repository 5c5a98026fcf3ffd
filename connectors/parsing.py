"""Small validators and parsers for vendor payloads.

Connectors validate the shape they rely on with these helpers, so a vendor answering with a
different shape raises :class:`~connectors.errors.BadResponse` at once instead of a ``KeyError``
or ``TypeError`` somewhere later.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from math import isfinite
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


def try_datetime(value: object) -> datetime | None:
    """:func:`parse_datetime`, with ``None`` for a value that is no timestamp: for a date
    taken across many records (a customer's last order), where one unreadable record is
    reported on its own and must not fail the others."""
    try:
        return parse_datetime(value)
    except BadResponse:
        return None


def try_date(value: object) -> date | None:
    """:func:`parse_date`, with ``None`` for a value that is no date (see :func:`try_datetime`)."""
    try:
        return parse_date(value)
    except BadResponse:
        return None


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


#: The deepest nesting a field value keeps as structure; deeper parts become their JSON text.
MAX_DEPTH = 32
#: The integers JSON readers (orjson, JavaScript's safe range aside) take as numbers.
_INT_RANGE = (-(2**63), 2**64 - 1)


def json_value(value: Any, depth: int = 0) -> Any:
    """A field value as plain JSON data, whatever a source handed over.

    Vendors and a firm's own files can hold values that are legal where they come from but no
    JSON: a ``Decimal`` (a NUMERIC column), ``bytes`` (a BLOB), a ``timedelta`` (a spreadsheet's
    ``[h]:mm`` cell), a text cut off mid-emoji (a lone surrogate), an integer over 64 bits, or
    nesting hundreds of levels deep. Each is kept, as text where it cannot be itself, so the
    customer still sees it and every writer can serialise it.
    """
    kind = value.__class__
    if kind is str:
        return value if value.isascii() else valid_text(value)
    if value is None or kind is bool or kind is float and isfinite(value):
        return value
    if isinstance(value, float):
        return float(value) if isfinite(value) else None  # NaN or infinity: no number
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value) if _INT_RANGE[0] <= value <= _INT_RANGE[1] else str(value)
    if isinstance(value, str):
        return json_value(str(value), depth)
    if isinstance(value, Mapping):
        if depth >= MAX_DEPTH:
            return _json_text(value)
        made: dict[str, Any] = {}
        for k, v in value.items():
            name = json_value(str(k), depth)
            while name in made:  # {1: "a", "1": "b"}: both kept
                name += "'"
            made[name] = json_value(v, depth + 1)
        return made
    if isinstance(value, list | tuple | set | frozenset):
        if depth >= MAX_DEPTH:
            return _json_text(value)
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [json_value(item, depth + 1) for item in items]
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        try:
            return valid_text(data.decode("utf-8"))
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(data).decode("ascii")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    return valid_text(str(value))


def valid_text(text: str) -> str:
    """``text`` with any lone surrogate (half of an emoji cut off) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _duration(value: timedelta) -> str:
    """A duration as hours, minutes and seconds, as a spreadsheet shows it: ``27:30:00``."""
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _json_text(value: Any) -> str:
    """A too deeply nested value as its JSON text (``…`` where even that gives up)."""
    try:
        return valid_text(json.dumps(value, ensure_ascii=False, default=str))
    except (ValueError, TypeError, RecursionError):
        return "…"
