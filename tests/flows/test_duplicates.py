"""flows.duplicates: a new report at the same station within 7 days of an open ticket, with
a matching age band and sex and a shared concern, is a possible duplicate of it (at filing,
or once an urgent report's concerns arrive); anything else is not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from factories import (
    CONGHUA,
    JIANGPU,
    events_of,
    file_ticket,
    outbox_rows,
    station_member,
    ticket_in,
)
from harness import FakeClock

from flows import tickets
from flows.notices import expand
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.states import State
from storage.db import Database
from storage.models import Ticket


async def _pair(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    *,
    later: timedelta = timedelta(hours=1),
    first: dict[str, Any] | None = None,
    **second: Any,
) -> tuple[Ticket, Ticket]:
    """A report (``first``'s answers over the factories' default), and ``later`` another
    from another chat (``second``'s answers)."""
    one = await file_ticket(db, directory, now=clock(), chat="801", **(first or {}))
    clock.now += later
    two = await file_ticket(db, directory, now=clock(), chat="802", **second)
    return one, two


async def test_the_same_child_reported_twice_is_flagged_with_the_older_code(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    one, two = await _pair(db, directory, clock, story="另一位邻居说的情况")
    assert one.duplicate_of_id is None and two.duplicate_of_id == one.id
    assert two.state == State.DISPATCHED and two.merged_into_id is None  # named, not merged
    [*_, suspected] = await events_of(db, two.id)
    assert (suspected.actor, suspected.kind, suspected.note) == (
        "system",
        "duplicate_suspected",
        one.code,
    )
    assert "duplicate_suspected" not in [e.kind for e in await events_of(db, one.id)]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"sex": "unknown"}, {}),  # the first reporter could not tell: any sex matches
        ({}, {"age": "unknown", "sex": "unknown"}),
        ({"concerns": ["no_carer", "illness"]}, {"concerns": ["illness", "basic_needs"]}),
    ],
)
async def test_unknown_age_or_sex_matches_any_and_one_shared_concern_is_enough(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    first: dict[str, Any],
    second: dict[str, Any],
) -> None:
    one, two = await _pair(db, directory, clock, first=first, **second)
    assert two.duplicate_of_id == one.id


@pytest.mark.parametrize(
    ("later", "first", "second"),
    [
        (timedelta(hours=1), {}, {"place": JIANGPU}),  # another township
        (timedelta(days=8), {}, {}),  # a week and a day later
        (timedelta(hours=1), {"age": "3-5"}, {}),  # another age band
        (timedelta(hours=1), {"sex": "m"}, {}),  # a boy, then a girl
        (timedelta(hours=1), {"concerns": ["bullying"]}, {}),  # no concern in common
        (timedelta(hours=1), {"place": CONGHUA}, {}),  # the first is in the county's queue
    ],
)
async def test_other_reports_are_not_flagged(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    later: timedelta,
    first: dict[str, Any],
    second: dict[str, Any],
) -> None:
    _, two = await _pair(db, directory, clock, later=later, first=first, **second)
    assert two.duplicate_of_id is None
    assert "duplicate_suspected" not in [e.kind for e in await events_of(db, two.id)]


async def test_seven_days_is_still_within_the_window(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    one, two = await _pair(db, directory, clock, later=timedelta(days=7))
    assert two.duplicate_of_id == one.id


@pytest.mark.parametrize("state", [State.RESOLVED, State.CLOSED, State.RETURNED])
async def test_a_ticket_resolved_closed_or_given_back_is_not_a_candidate(
    db: Database, directory: Directory, clock: FakeClock, state: State
) -> None:
    await ticket_in(db, directory, state=state, now=clock())
    clock.advance(hours=1)
    two = await file_ticket(db, directory, now=clock(), chat="802")
    assert two.duplicate_of_id is None


async def test_of_several_matches_the_oldest_is_named(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    one, two = await _pair(db, directory, clock)
    clock.advance(hours=1)
    three = await file_ticket(db, directory, now=clock(), chat="803")
    assert (two.duplicate_of_id, three.duplicate_of_id) == (one.id, one.id)


async def test_an_urgent_report_is_matched_when_its_concerns_arrive_and_the_station_told(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """Filed at its place (age, sex and concerns not known yet) it matches nothing; its
    concerns, added afterwards, show the same child as an older P1 report: the 补充信息
    message says so, and that it is the more urgent one (no 合并)."""
    await station_member(db, now=clock())
    one = await file_ticket(db, directory, now=clock(), chat="801")
    clock.advance(minutes=20)
    urgent = await file_ticket(
        db,
        directory,
        now=clock(),
        chat="802",
        danger="yes",
        age="unknown",
        sex="unknown",
        concerns=[],
        story="",
    )
    assert urgent.priority == "P0" and urgent.duplicate_of_id is None
    clock.advance(minutes=2)
    assert urgent.id is not None
    async with db.unit() as session:
        await tickets.add_to_report(
            session=session,
            directory=directory,
            ticket_id=urgent.id,
            fields=("concerns",),
            answers={"concerns": ["no_carer", "physical"]},
            policy=DEFAULT_POLICY,
            now=clock(),
        )
    async with db.unit() as session:
        await expand(session, directory=directory, now=clock())
        found = await session.get(Ticket, urgent.id)
    assert found is not None and found.duplicate_of_id == one.id
    assert [e.kind for e in await events_of(db, urgent.id)][-2:] == [
        "addition",
        "duplicate_suspected",
    ]
    [copy] = await outbox_rows(db, kind="addition", target_kind="chat")
    assert copy.payload["text"] == (
        f"📎 <b>补充信息 <code>{urgent.code}</code></b> · 🔴 P0 紧急\n"
        "情况：无人照料 / 独自在家、身体伤害或虐待\n\n"
        f"⚠️ 可能重复：与 <code>{one.code}</code>（提交于 2026-11-23 10:00）\n"
        "这份报告比它更紧急，不能并入：请按这份报告自己的时限处理。"
    )
    assert [d for row in copy.payload["buttons"] for _, d in row] == [f"w:det:{urgent.id}"]


async def test_an_urgent_report_of_a_child_already_reported_urgently_may_be_merged(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    await station_member(db, now=clock())
    one = await file_ticket(db, directory, now=clock(), chat="801", danger="yes")
    clock.advance(minutes=5)
    urgent = await file_ticket(
        db, directory, now=clock(), chat="802", danger="yes", concerns=[], story=""
    )
    assert urgent.id is not None and urgent.duplicate_of_id is None
    async with db.unit() as session:
        await tickets.add_to_report(
            session=session,
            directory=directory,
            ticket_id=urgent.id,
            fields=("concerns",),
            answers={"concerns": ["no_carer"]},
            policy=DEFAULT_POLICY,
            now=clock(),
        )
        await expand(session, directory=directory, now=clock())
    [copy] = await outbox_rows(db, kind="addition", target_kind="chat")
    assert [d for row in copy.payload["buttons"] for _, d in row] == [
        f"w:mg:{urgent.id}:{one.id}",
        f"w:det:{urgent.id}",
    ]
