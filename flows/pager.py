"""One list shown a page at a time with ◀/▶ buttons: the townships of a county, for a
citizen choosing a place (flows.screens) and a supervisor re-dispatching (flows.staff_views)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from flows.messages import Button

PER_PAGE: Final = 12
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int  # from 0
    count: int  # at least 1, also for an empty list


def page_count(total: int, per_page: int = PER_PAGE) -> int:
    return max(1, -(-total // per_page))


def page_of(items: Sequence[T], number: int, per_page: int = PER_PAGE) -> Page[T]:
    """The page ``number`` of ``items``, clamped to the pages there are (an old button may
    ask for a page past the end after the list changed)."""
    count = page_count(len(items), per_page)
    number = min(max(number, 0), count - 1)
    return Page(items[number * per_page : (number + 1) * per_page], number, count)


def grid(buttons: Sequence[Button], width: int) -> list[list[Button]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def nav_row(
    page: Page[T], turn: Callable[[str, int], Button], *, prev: str, next: str
) -> list[Button]:
    """◀ and ▶ where there is a page that way; ``turn(label, page_number)`` makes a button."""
    row = []
    if page.number > 0:
        row.append(turn(prev, page.number - 1))
    if page.number + 1 < page.count:
        row.append(turn(next, page.number + 1))
    return row
