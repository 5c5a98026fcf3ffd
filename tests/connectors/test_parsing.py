"""Field values as plain JSON data, whatever a source hands over (connectors.parsing)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from connectors.parsing import MAX_DEPTH, json_value, valid_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sanne", "Sanne"),
        ("Crème brûlée", "Crème brûlée"),
        (12, 12),
        (1.5, 1.5),
        (True, True),
        (None, None),
        (Decimal("119.79"), "119.79"),
        (Decimal("NaN"), None),
        (float("inf"), None),
        (2**70, str(2**70)),
        (-(2**63), -(2**63)),
        (b"plain text", "plain text"),
        (b"\x89PNG\r\n\x1a\n", "base64:iVBORw0KGgo="),
        (timedelta(hours=27, minutes=30), "27:30:00"),
        (timedelta(minutes=-5), "-0:05:00"),
        (date(2024, 3, 14), "2024-03-14"),
        (datetime(2024, 3, 14, 9, 12), "2024-03-14T09:12:00"),
        (time(9, 30), "09:30:00"),
        ({1: Decimal("2.50")}, {"1": "2.50"}),
        ((1, "a"), [1, "a"]),
        ({"b", "a"}, ["a", "b"]),
        ("Storing \ud83d", "Storing \ufffd"),
    ],
)
def test_values_become_json_data(value: Any, expected: Any) -> None:
    result = json_value(value)
    assert result == expected
    assert type(result) is type(expected)
    orjson.dumps(result)  # raises on anything orjson cannot write


def test_deep_nesting_is_kept_as_text_below_the_limit() -> None:
    value: Any = "bottom"
    for _level in range(300):  # orjson refuses nesting deeper than 254 levels
        value = {"meta": value}
    result = json_value(value)
    orjson.dumps(result)
    inner = result
    for _level in range(MAX_DEPTH):
        inner = inner["meta"]
    assert isinstance(inner, str) and inner.startswith('{"meta": {"meta":')
    assert inner.endswith('"bottom"' + "}" * (300 - MAX_DEPTH))


def test_valid_text_keeps_whole_emoji_and_replaces_halves() -> None:
    assert valid_text("Fijn 😀") == "Fijn 😀"
    assert valid_text("\ude00 en \ud83d") == "\ufffd en \ufffd"


def test_keys_that_become_the_same_text_keep_both_values() -> None:
    assert json_value({1: "a", "1": "b"}) == {"1": "a", "1'": "b"}


def test_a_float_subclass_is_a_number() -> None:
    class Money(float):
        pass

    assert json_value(Money(2.5)) == 2.5 and type(json_value(Money(2.5))) is float
    assert json_value(Money("nan")) is None
