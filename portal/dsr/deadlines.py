"""The legal deadline of a data subject request, counted as the law counts it.

GDPR art. 12(3): the controller answers "within one month of receipt of the request", which
"may be extended by two further months where necessary". Periods in EU law are counted by
Regulation (EEC, Euratom) No 1182/71:

- art. 3(2)(c): a period in months ends at the end of the day in the last month with the same
  date as the day it runs from (the day of receipt); if that date does not exist in the last
  month (31 January + 1 month), it ends at the end of that month's last day;
- art. 3(4): if the last day is a public holiday, a Saturday or a Sunday, the period ends at
  the end of the next working day.

Public holidays are those of the Netherlands as the Algemene termijnenwet names them (art.
3(1) and (2)): New Year's Day, Good Friday, Easter Monday, King's Day (26 April when 27 April
is a Sunday), Liberation Day (5 May, every year), Ascension Day, Whit Monday, Christmas and
Boxing Day. Easter and Whit Sunday are Sundays anyway. The days a royal decree adds every few
years (art. 3(3), such as the Friday after Ascension Day) are left out: without them a
deadline can only come out earlier, never later than the law's, so the firm is never late by
trusting it.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import cache

from dateutil.easter import easter

#: GDPR art. 12(3): one month, extendable by at most two further months.
BASE_MONTHS = 1
MAX_EXTENSION_MONTHS = 2


def add_months(start: date, months: int) -> date:
    """The same date ``months`` later, or the last day of that month if it has no such date."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@cache
def dutch_public_holidays(year: int) -> frozenset[date]:
    """The public holidays of ``year`` that move the end of a period (Algemene termijnenwet)."""
    easter_sunday = easter(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == calendar.SUNDAY:
        kings_day = date(year, 4, 26)
    return frozenset(
        {
            date(year, 1, 1),
            easter_sunday - timedelta(days=2),  # Good Friday (art. 3(2))
            easter_sunday + timedelta(days=1),  # Easter Monday
            kings_day,
            date(year, 5, 5),  # Liberation Day ("de vijfde mei", every year)
            easter_sunday + timedelta(days=39),  # Ascension Day
            easter_sunday + timedelta(days=50),  # Whit Monday
            date(year, 12, 25),
            date(year, 12, 26),
        }
    )


def is_working_day(day: date) -> bool:
    """Not a Saturday, Sunday or Dutch public holiday."""
    return day.weekday() < calendar.SATURDAY and day not in dutch_public_holidays(day.year)


def next_working_day(day: date) -> date:
    """``day`` itself if it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def response_deadline(received: date, extension_months: int = 0) -> date:
    """The last day on which the answer is on time (the deadline ends at the end of that day).

    :param received: the day the request was received (not the day it was entered).
    :param extension_months: 0, 1 or 2 further months (GDPR art. 12(3)).
    :raises ValueError: for an extension beyond two months or below zero.
    """
    if not 0 <= extension_months <= MAX_EXTENSION_MONTHS:
        raise ValueError("a deadline can be extended by at most two further months")
    # The further months may be read as running from the receipt (three months from 30
    # January: 30 April) or from the end of the first month (28 February, then 28 April):
    # the earlier of the two is never late under either reading.
    whole = add_months(received, BASE_MONTHS + extension_months)
    in_steps = add_months(add_months(received, BASE_MONTHS), extension_months)
    return next_working_day(min(whole, in_steps))
