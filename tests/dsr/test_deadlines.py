"""GDPR art. 12(3) deadlines counted per Regulation 1182/71, with Dutch public holidays."""

from __future__ import annotations

from datetime import date

import pytest

from portal.dsr.deadlines import (
    add_months,
    dutch_public_holidays,
    is_working_day,
    response_deadline,
)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 3, 15), 1, date(2026, 4, 15)),  # same date next month
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # shorter month: its last day
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 1, 29), 1, date(2028, 2, 29)),
        (date(2026, 1, 29), 1, date(2026, 2, 28)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),  # over the year end
        (date(2026, 11, 30), 3, date(2027, 2, 28)),  # extended by two months
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_deadline_is_the_same_date_next_month_on_a_working_day() -> None:
    assert response_deadline(date(2026, 11, 24)) == date(2026, 12, 24)  # a Thursday


def test_deadline_on_a_saturday_moves_to_monday() -> None:
    # received Wednesday 14 January 2026; 14 February 2026 is a Saturday
    assert response_deadline(date(2026, 1, 14)) == date(2026, 2, 16)


def test_end_of_february_in_a_leap_year_then_weekend() -> None:
    # 31 January 2032 -> 29 February 2032 (a Sunday) -> Monday 1 March
    assert response_deadline(date(2032, 1, 31)) == date(2032, 3, 1)


def test_christmas_and_boxing_day_and_the_weekend_are_skipped() -> None:
    # 25 November 2027 -> Saturday 25 December 2027, Sunday 26th; Monday 27th is a working day
    assert response_deadline(date(2027, 11, 25)) == date(2027, 12, 27)
    # 25 November 2026 -> Friday 25 December (Christmas), Saturday 26th, Sunday -> Monday 28th
    assert response_deadline(date(2026, 11, 25)) == date(2026, 12, 28)


def test_kings_day_moves_to_the_26th_when_the_27th_is_a_sunday() -> None:
    assert date(2025, 4, 26) in dutch_public_holidays(2025)  # 27 April 2025 was a Sunday
    assert date(2025, 4, 27) not in dutch_public_holidays(2025)
    assert date(2026, 4, 27) in dutch_public_holidays(2026)


def test_easter_ascension_and_whit_monday() -> None:
    holidays = dutch_public_holidays(2026)  # Easter Sunday is 5 April 2026
    assert {date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25)} <= holidays
    # received 6 March 2026 -> Monday 6 April 2026 is Easter Monday -> Tuesday 7 April
    assert response_deadline(date(2026, 3, 6)) == date(2026, 4, 7)


def test_liberation_day_every_year_and_good_friday() -> None:
    """Algemene termijnenwet art. 3: "de vijfde mei" (every year), and Good Friday (lid 2)."""
    assert date(2030, 5, 5) in dutch_public_holidays(2030)
    assert date(2026, 5, 5) in dutch_public_holidays(2026)
    assert not is_working_day(date(2026, 5, 5))  # a Tuesday
    # received 5 April 2026 -> Tuesday 5 May 2026 -> Wednesday 6 May
    assert response_deadline(date(2026, 4, 5)) == date(2026, 5, 6)
    assert date(2026, 4, 3) in dutch_public_holidays(2026)  # Good Friday 2026
    # received 3 March 2026 -> Good Friday 3 April -> (weekend, Easter Monday) Tuesday 7 April
    assert response_deadline(date(2026, 3, 3)) == date(2026, 4, 7)


def test_extension_by_up_to_two_months() -> None:
    received = date(2026, 11, 30)
    assert response_deadline(received, extension_months=1) == date(2027, 2, 1)  # 30 Jan: Sat
    assert response_deadline(received, extension_months=2) == date(2027, 3, 1)  # 28 Feb: Sun
    with pytest.raises(ValueError, match="at most two further months"):
        response_deadline(received, extension_months=3)


def test_extension_counted_from_the_end_of_the_first_month_when_that_is_earlier() -> None:
    # 30 January + 1 month ends 28 February; two further months from then end 28 April, two
    # days before three months from receipt would (30 April): the earlier reading counts.
    assert response_deadline(date(2026, 1, 30), extension_months=2) == date(2026, 4, 28)
    # 31 August: first month ends 30 September, one more month 30 October (a Friday), not
    # 31 October (a Saturday, which would move to Monday 2 November).
    assert response_deadline(date(2026, 8, 31), extension_months=1) == date(2026, 10, 30)
    # Where both readings agree nothing changes.
    assert response_deadline(date(2026, 3, 10), extension_months=2) == date(2026, 6, 10)
