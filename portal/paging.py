"""Pages of a long list (a category of the customer's data, the staff queue, the audit log):
numbered from 1, the number asked for clamped to the pages there are, so a stale or edited link
still shows a page."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """Page ``number`` of ``pages``, of ``total`` items, ``size`` a page."""

    number: int
    pages: int
    total: int
    size: int

    @classmethod
    def of(cls, total: int, asked: int | None, size: int) -> Page:
        pages = max(1, -(-total // size))
        return cls(min(max(asked or 1, 1), pages), pages, total, size)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_item(self) -> int:
        """The position (from 1) of the page's first item; 0 on an empty list."""
        return min(self.offset + 1, self.total)

    @property
    def last_item(self) -> int:
        return min(self.offset + self.size, self.total)

    def window(self, around: int = 2) -> list[int | None]:
        """The page numbers to link: the first, the last, and ``around`` on either side of
        this one; ``None`` where numbers are left out (shown as an ellipsis). A list of
        hundreds of pages stays a short row of links."""
        shown = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        numbers: list[int | None] = []
        last = 0
        for n in sorted(x for x in shown if 1 <= x <= self.pages):
            if n - last == 2:
                numbers.append(last + 1)  # an ellipsis would stand for just one page
            elif n - last > 2 and numbers:
                numbers.append(None)
            numbers.append(n)
            last = n
        return numbers
