"""flows.messages: what a button's data may carry as a number."""

from __future__ import annotations

import pytest

from flows.messages import number_in


@pytest.mark.parametrize(
    ("data", "number"),
    [("0", 0), ("12", 12), ("-1", None), ("1.5", None), ("", None), ("٣", None), ("1e3", None)],
)
def test_only_plain_non_negative_numbers_are_numbers(data: str, number: int | None) -> None:
    assert number_in(data) == number
