"""Pages of a long list: clamped numbers, and a short row of page links however many pages."""

from __future__ import annotations

import pytest

from portal.paging import Page


def test_a_number_out_of_range_shows_the_nearest_page() -> None:
    assert Page.of(41, 99, 20).number == 3
    assert Page.of(41, -4, 20).number == 1
    assert Page.of(0, 1, 20).pages == 1


@pytest.mark.parametrize(
    ("number", "pages", "expected"),
    [
        (1, 1, [1]),
        (1, 5, [1, 2, 3, 4, 5]),
        (1, 125, [1, 2, 3, None, 125]),
        (60, 125, [1, None, 58, 59, 60, 61, 62, None, 125]),
        (125, 125, [1, None, 123, 124, 125]),
        (4, 9, [1, 2, 3, 4, 5, 6, None, 9]),
        (5, 7, [1, 2, 3, 4, 5, 6, 7]),  # a gap of one page is that page, not an ellipsis
    ],
)
def test_the_page_links_are_the_first_the_last_and_those_around(
    number: int, pages: int, expected: list[int | None]
) -> None:
    page = Page.of(pages * 20, number, 20)
    assert page.window() == expected
