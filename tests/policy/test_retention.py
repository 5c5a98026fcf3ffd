"""Retention periods and due dates: calendar arithmetic, month ends, leap years, fiscal years."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from portal.policy.schema import Period, Retention

CALENDAR_YEAR = (12, 31)


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("7 years", Period(years=7)),
        ("1 year", Period(years=1)),
        ("24 months", Period(months=24)),
        ("1 month", Period(months=1)),
        ("2 weeks", Period(days=14)),
        ("30 days", Period(days=30)),
        ("  12   months ", Period(months=12)),
    ],
)
def test_parse_period(text: str, period: Period) -> None:
    assert Period.parse(text) == period


@pytest.mark.parametrize("text", ["7 jaren", "7", "years", "-1 days", "7 years 2 months", ""])
def test_parse_rejects_other_forms(text: str) -> None:
    with pytest.raises(ValueError, match="is not a period"):
        Period.parse(text)


@pytest.mark.parametrize(
    ("start", "period", "expected"),
    [
        # Month-end clamping.
        (date(2024, 1, 31), "1 month", date(2024, 2, 29)),  # leap year
        (date(2023, 1, 31), "1 month", date(2023, 2, 28)),
        (date(2023, 3, 31), "1 month", date(2023, 4, 30)),
        (date(2023, 11, 30), "3 months", date(2024, 2, 29)),  # across the year end
        (date(2023, 1, 15), "1 month", date(2023, 2, 15)),
        # Leap days.
        (date(2024, 2, 29), "1 year", date(2025, 2, 28)),
        (date(2024, 2, 29), "4 years", date(2028, 2, 29)),
        (date(2024, 2, 29), "12 months", date(2025, 2, 28)),
        # Days count real calendar days.
        (date(2024, 2, 1), "30 days", date(2024, 3, 2)),
        (date(2023, 2, 1), "30 days", date(2023, 3, 3)),
        (date(2024, 12, 25), "2 weeks", date(2025, 1, 8)),
        (date(2024, 6, 30), "24 months", date(2026, 6, 30)),
    ],
)
def test_period_after(start: date, period: str, expected: date) -> None:
    assert Period.parse(period).after(start) == expected


def _fiscal(years: str = "7 years") -> Retention:
    return Retention(kind="period", period=years, starts="end_of_fiscal_year")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("invoice_date", "fiscal_year_end", "expected"),
    [
        (date(2024, 3, 15), CALENDAR_YEAR, date(2031, 12, 31)),
        (date(2024, 12, 31), CALENDAR_YEAR, date(2031, 12, 31)),
        (date(2025, 1, 1), CALENDAR_YEAR, date(2032, 12, 31)),
        # A fiscal year ending 30 June: before and after the year end.
        (date(2024, 6, 30), (6, 30), date(2031, 6, 30)),
        (date(2024, 7, 1), (6, 30), date(2032, 6, 30)),
        # A fiscal year ending 28 February: 2024 is a leap year, the year still ends on the 28th.
        (date(2024, 2, 29), (2, 28), date(2032, 2, 28)),
    ],
)
def test_fiscal_retention_runs_from_the_end_of_the_fiscal_year(
    invoice_date: date, fiscal_year_end: tuple[int, int], expected: date
) -> None:
    assert _fiscal().due_date({"invoice_date": invoice_date}, fiscal_year_end) == expected


def test_fiscal_retention_accepts_datetimes_and_falls_back_to_created() -> None:
    retention = _fiscal()
    assert retention.due_date({"created": datetime(2020, 5, 1, 13, 0)}, CALENDAR_YEAR) == date(
        2027, 12, 31
    )
    # invoice_date wins over created.
    dates = {"invoice_date": date(2021, 1, 1), "created": date(2020, 5, 1)}
    assert retention.due_date(dates, CALENDAR_YEAR) == date(2028, 12, 31)


def test_due_date_unknown_without_the_start_date() -> None:
    assert _fiscal().due_date({"closed": date(2024, 1, 1)}, CALENDAR_YEAR) is None


@pytest.mark.parametrize(
    "retention",
    [
        Retention(kind="while_customer", period="24 months"),  # type: ignore[arg-type]
        Retention(kind="period", period="10 years", starts="end_of_contract"),  # type: ignore[arg-type]
        Retention(kind="until_withdrawn"),
        Retention(kind="undecided", decide="how long"),
    ],
)
def test_due_date_none_when_not_computable_from_the_record(retention: Retention) -> None:
    assert not retention.computable
    assert retention.due_date({"created": date(2024, 1, 1)}, CALENDAR_YEAR) is None


def test_while_customer_with_a_period_runs_from_the_end_of_the_contract() -> None:
    retention = Retention(kind="while_customer", period="24 months")  # type: ignore[arg-type]
    assert retention.starts == "end_of_contract"


def test_ticket_retention_runs_from_closing() -> None:
    retention = Retention(kind="period", period="24 months", starts="ticket_closed")  # type: ignore[arg-type]
    dates = {"created": date(2023, 1, 1), "closed": date(2024, 2, 29)}
    assert retention.due_date(dates, CALENDAR_YEAR) == date(2026, 2, 28)
