"""flows.pager: a list shown a page at a time, used by the intake and the township picker."""

from __future__ import annotations

from flows.messages import Button
from flows.pager import PER_PAGE, grid, nav_row, page_count, page_of


def test_page_count_rounds_up_and_is_at_least_one() -> None:
    assert page_count(0) == 1
    assert page_count(PER_PAGE) == 1
    assert page_count(PER_PAGE + 1) == 2
    assert page_count(25, per_page=5) == 5


def test_pages_cover_the_list_once_in_order() -> None:
    items = list(range(30))
    pages = [page_of(items, n) for n in range(page_count(len(items)))]
    assert [x for p in pages for x in p.items] == items
    assert [len(p.items) for p in pages] == [12, 12, 6]
    assert {p.count for p in pages} == {3}


def test_a_page_past_either_end_is_clamped() -> None:
    """An old ▶ button may ask for a page the list no longer has."""
    items = list(range(30))
    assert page_of(items, 7).number == 2
    assert page_of(items, 7).items == items[24:]
    assert page_of(items, -3).number == 0
    empty = page_of([], 4)
    assert (empty.number, empty.count, list(empty.items)) == (0, 1, [])


def test_navigation_offers_only_the_ways_there_are() -> None:
    def turn(label: str, number: int) -> Button:
        return Button(label, f"page:{number}")

    items = list(range(30))
    first = nav_row(page_of(items, 0), turn, prev="◀", next="▶")
    middle = nav_row(page_of(items, 1), turn, prev="◀", next="▶")
    last = nav_row(page_of(items, 2), turn, prev="◀", next="▶")
    only = nav_row(page_of(items[:5], 0), turn, prev="◀", next="▶")
    assert [b.data for b in first] == ["page:1"]
    assert [(b.label, b.data) for b in middle] == [("◀", "page:0"), ("▶", "page:2")]
    assert [b.data for b in last] == ["page:1"]
    assert only == []


def test_grid_fills_rows_of_the_given_width() -> None:
    buttons = [Button(str(i), str(i)) for i in range(7)]
    rows = grid(buttons, 3)
    assert [[b.label for b in row] for row in rows] == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert grid([], 3) == []
