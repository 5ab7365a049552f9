"""Refused attempts leave one trace per person per ticket per hour, however many are forged."""

from __future__ import annotations

from collections import Counter

from factories import city_supervisor, file_ticket, station_member
from harness import FakeClock
from sqlmodel import col, select

from flows import work
from flows.events import Command, Person, Press
from flows.places import Directory
from storage.db import Database
from storage.models import Ticket, TicketEvent

JIEKOU, JIANGPU = "440117001000", "440117002000"


async def _tickets(db: Database, directory: Directory, clock: FakeClock, n: int) -> list[Ticket]:
    return [
        await file_ticket(
            db,
            directory,
            now=clock(),
            chat="8001",
            sex="m",
            concerns=["illness"],
            story="孩子生病没人管",
        )
        for _ in range(n)
    ]


def _person(user: str) -> Person:
    return Person(
        channel="telegram",
        user_id=user,
        chat_id=user,
        in_group=False,
        display_name="x",
        locale="zh",
    )


async def _press(
    db: Database, directory: Directory, clock: FakeClock, user: str, data: str
) -> str | None:
    """One forged press, in its own transaction, as the update processor runs it."""
    async with db.unit() as session:
        out = await work.handle(
            session=session,
            directory=directory,
            person=_person(user),
            event=Press(data),
            now=clock(),
        )
    return out.notice


async def _refusals(db: Database) -> Counter[tuple[int, str]]:
    async with db.unit() as session:
        rows = (
            await session.exec(
                select(TicketEvent.ticket_id, TicketEvent.actor).where(
                    col(TicketEvent.kind) == "refused"
                )
            )
        ).all()
    return Counter((ticket_id, actor) for ticket_id, actor in rows)


async def test_forged_presses_leave_one_event_per_person_ticket_and_hour(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    one, two, three = await _tickets(db, directory, clock, 3)
    actions = ("sign", "det", "done", "exa", "note")
    for i in range(200):  # a script hammering one ticket with every kind of button
        notice = await _press(db, directory, clock, "8101", f"w:{actions[i % 5]}:{one.id}")
        assert notice == "您无权处理这个工单。"
        clock.advance(seconds=10)  # 200 presses over 33 minutes: still within the hour
    assert await _refusals(db) == Counter({(one.id, "telegram:8101"): 1})

    for ticket in (one, two, three):  # other tickets each keep their own trace
        await _press(db, directory, clock, "8101", f"w:sign:{ticket.id}")
    await _press(db, directory, clock, "8102", f"w:sign:{one.id}")  # and another person
    assert await _refusals(db) == Counter(
        {
            (one.id, "telegram:8101"): 1,
            (two.id, "telegram:8101"): 1,
            (three.id, "telegram:8101"): 1,
            (one.id, "telegram:8102"): 1,
        }
    )

    clock.advance(minutes=27)  # an hour after the first refusal on ticket one
    for _ in range(50):
        await _press(db, directory, clock, "8101", f"w:sign:{one.id}")
    counts = await _refusals(db)
    assert counts[(one.id, "telegram:8101")] == 2
    assert sum(counts.values()) == 5


async def test_staff_of_another_station_typing_codes_is_coalesced_too(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """/ticket and /reassign refusals of an enrolled member go through the same rule."""
    (ticket,) = await _tickets(db, directory, clock, 1)
    await station_member(db, now=clock(), station=JIANGPU, user="8201", name="x")
    await city_supervisor(db, now=clock(), city="440300000000", user="8202", name="x")  # 深圳
    for _ in range(20):
        for user, command in (("8201", "ticket"), ("8202", "reassign"), ("8202", "ticket")):
            async with db.unit() as session:
                out = await work.handle(
                    session=session,
                    directory=directory,
                    person=_person(user),
                    event=Command(command, ticket.code),
                    now=clock(),
                )
            assert "没有找到" in out.replies[0].text
    counts = await _refusals(db)
    assert sorted(counts.values()) == [1, 1] and len(counts) == 2
