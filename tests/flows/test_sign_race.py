"""Two people change one ticket at the same moment, in two database sessions."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from flows import lifecycle, work
from flows.events import Person, Press
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.tickets import file_report
from storage.db import Database
from storage.models import OutboxMessage, StaffMember, Ticket, TicketEvent

JIEKOU = "440117001000"


async def _setup(db: Database, directory: Directory, clock: Any) -> tuple[int, list[int]]:
    async with db.unit() as session:
        members = [
            StaffMember(
                user_id=str(uid),
                chat_id=str(uid),
                display_name=f"社工{uid}",
                role="station",
                scope_level="township",
                scope_code=JIEKOU,
                joined_at=clock(),
            )
            for uid in (901, 902)
        ]
        session.add_all(members)
        await file_report(
            session=session,
            directory=directory,
            answers={
                "danger": "yes",
                "reporter": "teacher",
                "place": JIEKOU,
                "age": "6-11",
                "sex": "m",
                "concerns": ["physical"],
                "story": "孩子身上有很多伤",
            },
            channel="telegram",
            chat_id="900",
            intake_key="telegram:900:1",
            locale="zh",
            now=clock(),
            policy=DEFAULT_POLICY,
        )
        await session.flush()
        ticket = (await session.exec(select(Ticket))).one()
        assert ticket.id is not None
        return ticket.id, [m.id for m in members if m.id is not None]


async def test_two_sessions_sign_at_once_one_wins(
    db: Database, directory: Directory, clock: Any
) -> None:
    ticket_id, member_ids = await _setup(db, directory, clock)
    # On PostgreSQL both transactions are open before either updates (a real race); SQLite
    # allows one writer, so there the two simply queue.
    barrier = asyncio.Barrier(1 if db.sqlite else 2)

    async def press(member_id: int) -> str | None:
        async with db.unit() as session:
            member = await session.get(StaffMember, member_id)
            ticket = await session.get(Ticket, ticket_id)
            assert member is not None and ticket is not None
            await barrier.wait()
            out = await lifecycle.sign(
                session=session, directory=directory, member=member, ticket=ticket, now=clock()
            )
            return out.notice

    notices = await asyncio.gather(*(press(m) for m in member_ids))
    assert sorted(str(n) for n in notices)[0] == "签收"
    assert sorted(str(n) for n in notices)[1].startswith("这个工单已被")
    async with db.unit() as session:
        ticket = await session.get(Ticket, ticket_id)
        signed = (
            await session.exec(
                select(TicketEvent).where(
                    col(TicketEvent.ticket_id) == ticket_id, col(TicketEvent.kind) == "signed"
                )
            )
        ).all()
        told = (
            await session.exec(
                select(OutboxMessage).where(col(OutboxMessage.kind) == "reporter_update")
            )
        ).all()
    assert ticket is not None and ticket.state == "acknowledged"
    assert ticket.assignee_id in member_ids
    assert len(signed) == 1 and signed[0].actor == f"staff:{ticket.assignee_id}"
    assert len(told) == 1  # the reporter hears it once


async def test_station_of_another_township_cannot_sign(
    db: Database, directory: Directory, clock: Any
) -> None:
    ticket_id, _ = await _setup(db, directory, clock)
    async with db.unit() as session:
        outsider = StaffMember(
            user_id="999",
            chat_id="999",
            display_name="外站",
            role="station",
            scope_level="township",
            scope_code="440117002000",
            joined_at=clock(),
        )
        session.add(outsider)
        await session.flush()
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        out = await lifecycle.sign(
            session=session, directory=directory, member=outsider, ticket=ticket, now=clock()
        )
    assert out.notice == "您无权处理这个工单。"
    async with db.unit() as session:
        ticket = await session.get(Ticket, ticket_id)
        kinds = (
            await session.exec(
                select(TicketEvent.kind).where(col(TicketEvent.ticket_id) == ticket_id)
            )
        ).all()
    assert ticket is not None and ticket.state == "dispatched" and ticket.assignee_id is None
    assert "refused" in kinds and "signed" not in kinds


async def test_two_supervisors_approve_one_extension_at_once_it_counts_once(
    db: Database, directory: Directory, clock: Any
) -> None:
    """Both sessions have read the waiting request before either decides: the row lock makes
    the second wait, re-read, and find nothing left to decide."""
    ticket_id, _ = await _setup(db, directory, clock)
    async with db.unit() as session:
        supervisors = [
            StaffMember(
                user_id=str(uid),
                chat_id=str(uid),
                display_name=f"督导{uid}",
                role="supervisor",
                scope_level="county",
                scope_code="440117000000",
                joined_at=clock(),
            )
            for uid in (951, 952)
        ]
        session.add_all(supervisors)
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.resolve_due_at is not None
        ticket.state, ticket.pending_extension_days = "in_progress", 3
        due_before = ticket.resolve_due_at
        session.add(ticket)
    barrier = asyncio.Barrier(1 if db.sqlite else 2)

    async def approve(uid: int) -> str | None:
        async with db.unit() as session:
            await session.get(Ticket, ticket_id)  # read before the other decides
            await barrier.wait()
            person = Person(
                channel="telegram",
                user_id=str(uid),
                chat_id=str(uid),
                in_group=False,
                display_name=f"督导{uid}",
                locale="zh",
            )
            out = await work.handle(
                session=session,
                directory=directory,
                person=person,
                event=Press(f"w:exa:{ticket_id}"),
                now=clock(),
            )
            return out.notice

    await asyncio.gather(approve(951), approve(952))
    async with db.unit() as session:
        ticket = await session.get(Ticket, ticket_id)
        kinds = (
            await session.exec(
                select(TicketEvent.kind).where(col(TicketEvent.ticket_id) == ticket_id)
            )
        ).all()
    assert ticket is not None and ticket.pending_extension_days is None
    assert ticket.resolve_due_at == due_before + timedelta(days=3)
    assert list(kinds).count("extension_approved") == 1
