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
