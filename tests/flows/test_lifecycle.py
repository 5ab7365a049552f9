"""Ticket state changes after sign-for (flows.lifecycle) against the real database: each
writes its event and the messages it causes, and refuses (NotNow) in a state where it makes
no sense, such as a button pressed a second time."""

from __future__ import annotations

from typing import Any

import pytest
from factories import (
    JIEKOU,
    REPORTER,
    event_kinds,
    events_of,
    file_ticket,
    outbox_rows,
    station_member,
    ticket_in,
)
from harness import FakeClock
from sqlalchemy import text
from sqlmodel import select

from flows import lifecycle, states, tickets
from flows.places import Directory
from flows.states import State
from flows.texts import phrase
from storage.db import Database
from storage.models import StaffMember, Ticket

DONGGUAN_TOWN = "441900003000"  # a township of 东莞, a city without counties


async def _do(db: Database, ticket: Ticket, change: Any) -> Ticket:
    """Run ``change(session, locked_ticket)`` in one transaction; the ticket after it."""
    assert ticket.id is not None
    async with db.unit() as session:
        locked = await tickets.locked_ticket(session, ticket.id)
        assert locked is not None
        await change(session, locked)
    return locked


async def _worker(db: Database, clock: FakeClock) -> StaffMember:
    async with db.unit() as session:
        member = (await session.exec(select(StaffMember))).first()
    return member or await station_member(db, now=clock())


async def test_locked_ticket_reads_the_row_anew_and_none_for_no_ticket(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock())
    async with db.unit() as session:
        assert await tickets.locked_ticket(session, 424242) is None
        held = await session.get(Ticket, ticket.id)
        assert held is not None
        # Changed behind the identity map (as another transaction's commit would be seen):
        # a plain get keeps the stale object, the locked read refreshes it.
        conn = await session.connection()
        await conn.execute(text("UPDATE ticket SET story = '另一处改过'"))
        assert (await session.get(Ticket, ticket.id)) is held and held.story == ticket.story
        fresh = await tickets.locked_ticket(session, ticket.id or 0)
    assert fresh is held and fresh.story == "另一处改过"


async def test_first_action_moves_to_in_progress_tells_the_reporter_and_only_once(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock())
    worker = await _worker(db, clock)
    clock.advance(minutes=10)

    async def first(session: Any, x: Ticket) -> None:
        await lifecycle.first_action(
            session=session, directory=directory, ticket=x, member=worker, how="visit", now=clock()
        )

    after = await _do(db, ticket, first)
    assert after.state == State.IN_PROGRESS and after.first_action_at == clock()
    assert after.next_due_at == after.resolve_due_at
    told = await outbox_rows(db, ticket_id=ticket.id, kind="reporter_update")
    assert told[-1].target == REPORTER and ticket.code in told[-1].payload["text"]
    with pytest.raises(lifecycle.NotNow):  # the button pressed again
        await _do(db, ticket, first)
    assert (await event_kinds(db, ticket.id)).count("first_action") == 1


async def test_notes_only_on_a_workable_ticket(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    dispatched = await file_ticket(db, directory, now=clock())
    working = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock(), member=worker)

    def note(text: str) -> Any:
        return lambda s, x: lifecycle.add_note(
            session=s, ticket=x, member=worker, text=text, now=clock()
        )

    await _do(db, working, note("已电话联系"))
    with pytest.raises(lifecycle.NotNow):
        await _do(db, dispatched, note("未签收"))
    notes = [(e.kind, e.note, e.actor) for e in await events_of(db, working.id) if e.kind == "note"]
    assert notes == [("note", "已电话联系", f"staff:{worker.id}")]
    assert (await event_kinds(db, dispatched.id)) == ["submitted", "dispatched"]


async def test_an_extension_request_waits_for_the_county_and_one_at_a_time(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock())
    worker = await _worker(db, clock)

    def ask(days: int) -> Any:
        return lambda s, x: lifecycle.request_extension(
            session=s,
            directory=directory,
            ticket=x,
            member=worker,
            days=days,
            reason="等学校",
            now=clock(),
        )

    after = await _do(db, ticket, ask(3))
    assert after.pending_extension_days == 3
    with pytest.raises(lifecycle.NotNow):  # one request waits already
        await _do(db, ticket, ask(7))
    [asked] = await outbox_rows(db, ticket_id=ticket.id, kind="extension")
    assert (asked.target_kind, asked.target) == ("county", "440117000000")
    assert asked.payload["key"] == "notify.extension" and asked.payload["values"]["days"] == 3
    assert [label for label, _ in asked.payload["buttons"][0]] == ["btn.approve", "btn.deny"]


async def test_resolve_asks_the_reporter_for_feedback_and_refuses_a_bad_outcome(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock())
    worker = await _worker(db, clock)

    def resolve(outcome: str) -> Any:
        return lambda s, x: lifecycle.resolve(
            session=s,
            directory=directory,
            ticket=x,
            member=worker,
            outcome=outcome,
            note="已送医",
            now=clock(),
        )

    with pytest.raises(lifecycle.NotNow):
        await _do(db, ticket, resolve("made_up"))
    after = await _do(db, ticket, resolve("medical"))
    assert (after.state, after.outcome, after.resolution_note) == (
        State.RESOLVED,
        "medical",
        "已送医",
    )
    assert after.feedback_due_at == clock() + lifecycle.FEEDBACK_WINDOW == after.next_due_at
    told = (await outbox_rows(db, ticket_id=ticket.id, kind="reporter_update"))[-1]
    assert worker.display_name not in told.payload["text"]  # never a staff name
    assert [data for _, data in told.payload["buttons"][0]] == [
        f"f:{ticket.id}:{f}" for f in states.FEEDBACK
    ]
    with pytest.raises(lifecycle.NotNow):  # resolved already
        await _do(db, ticket, resolve("medical"))


async def test_a_return_goes_to_the_supervisors_queue_but_not_once_work_began(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await file_ticket(db, directory, now=clock())
    working = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock(), member=worker)

    def give_back(reason: Any) -> Any:
        return lambda s, x: lifecycle.return_ticket(
            session=s, directory=directory, ticket=x, member=worker, reason=reason, now=clock()
        )

    after = await _do(db, ticket, give_back(phrase("reason.area")))
    assert (after.state, after.owner_level, after.owner_code) == (
        State.RETURNED,
        "county",
        "440117000000",
    )
    assert after.station_code == JIEKOU  # remembered for a rejected return
    returned = [e for e in await events_of(db, ticket.id) if e.kind == "returned"]
    assert returned[0].note == "不在本辖区"  # an offered reason: kept in Chinese
    [told] = await outbox_rows(db, ticket_id=ticket.id, kind="returned")
    assert told.payload["values"]["reason"] == phrase("reason.area")
    with pytest.raises(lifecycle.NotNow):
        await _do(db, working, give_back("太忙"))
    with pytest.raises(lifecycle.NotNow):  # returned already
        await _do(db, ticket, give_back("太忙"))


async def test_supervisors_of_a_ticket_are_its_county_or_a_countyless_citys(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    here = await file_ticket(db, directory, now=clock())
    dongguan = await file_ticket(db, directory, now=clock(), place=DONGGUAN_TOWN)
    assert tickets.supervisors_of(here) == ("county", "440117000000")
    assert tickets.supervisors_of(dongguan) == ("city", "441900000000")


def test_state_event_moves_the_state_only_when_given_one() -> None:
    ticket = Ticket(id=1, state=State.ACKNOWLEDGED)
    plain = lifecycle.state_event(ticket, actor="a", kind="note", now=None, note="n")  # type: ignore[arg-type]
    assert (plain.from_state, plain.to_state, ticket.state) == (None, None, State.ACKNOWLEDGED)
    moved = lifecycle.state_event(ticket, actor="a", kind="x", now=None, to_state=State.IN_PROGRESS)  # type: ignore[arg-type]
    assert (moved.from_state, moved.to_state, ticket.state) == (
        State.ACKNOWLEDGED,
        State.IN_PROGRESS,
        State.IN_PROGRESS,
    )
    assert lifecycle.notice("k", [[("btn.a", "d")]], x=1) == {
        "key": "k",
        "values": {"x": 1},
        "buttons": [[["btn.a", "d"]]],
    }
