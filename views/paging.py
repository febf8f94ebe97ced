"""How /timeline cuts an item's history into pages (its buttons carry the page number)."""

from __future__ import annotations

from dataclasses import dataclass

from views.events import EventView

PER_PAGE = 10


def page_count(total: int) -> int:
    return max(1, -(-total // PER_PAGE))


@dataclass(frozen=True, slots=True)
class TimelinePage:
    events: tuple[EventView, ...]
    page: int
    total: int

    @property
    def pages(self) -> int:
        return page_count(self.total)
