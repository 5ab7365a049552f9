"""flows.states: the state groups that rules and queries ask about agree with each other
and with the lifecycle (docs/design.md)."""

from __future__ import annotations

from flows.states import (
    OPEN,
    QUEUED,
    RESOLVING,
    RETURNABLE,
    UNSIGNED,
    WORKABLE,
    State,
)


def test_states_compare_equal_to_what_the_database_holds() -> None:
    assert State.DISPATCHED == "dispatched"
    assert State("in_progress") is State.IN_PROGRESS


def test_groups_are_open_states_and_split_the_open_ones() -> None:
    for group in (UNSIGNED, WORKABLE, RESOLVING, RETURNABLE, QUEUED):
        assert set(group) <= set(OPEN), group
    # Every open ticket is either waiting for a sign-for or being worked on, never both.
    assert set(UNSIGNED) | set(WORKABLE) == set(OPEN)
    assert not set(UNSIGNED) & set(WORKABLE)
    assert set(RESOLVING) <= set(WORKABLE)
    assert set(QUEUED) <= set(UNSIGNED)


def test_finished_and_history_only_states_are_not_open() -> None:
    assert not {State.SUBMITTED, State.RESOLVED, State.CLOSED} & set(OPEN)
