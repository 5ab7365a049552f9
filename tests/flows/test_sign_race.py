"""Two people change one ticket at the same moment, in two database sessions."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from factories import (
    JIANGPU,
    county_supervisor,
    event_kinds,
    file_ticket,
    row_of,
    sign_in,
    station_member,
)
from sqlmodel import col, select

from flows import work
from flows.events import Person, Press
from flows.places import Directory
from storage.db import Database
from storage.models import OutboxMessage, StaffMember, Ticket, TicketEvent


async def _setup(db: Database, directory: Directory, clock: Any) -> tuple[int, list[int]]:
    """A P0 ticket at 街口街道 and two of its station's members."""
    members = [await station_member(db, now=clock(), user=str(uid)) for uid in (901, 902)]
    ticket = await file_ticket(
        db,
        directory,
        now=clock(),
        danger="yes",
        reporter="teacher",
        sex="m",
        concerns=["physical"],
        story="孩子身上有很多伤",
    )
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
            out = await sign_in(session, directory, member=member, ticket=ticket, now=clock())
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
    outsider = await station_member(db, now=clock(), station=JIANGPU, user="999", name="外站")
    async with db.unit() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        out = await sign_in(session, directory, member=outsider, ticket=ticket, now=clock())
    assert out.notice == "您无权处理这个工单。"
    ticket = await row_of(db, Ticket, ticket_id)
    kinds = await event_kinds(db, ticket_id)
    assert ticket.state == "dispatched" and ticket.assignee_id is None
    assert "refused" in kinds and "signed" not in kinds


async def test_two_supervisors_approve_one_extension_at_once_it_counts_once(
    db: Database, directory: Directory, clock: Any
) -> None:
    """Both sessions have read the waiting request before either decides: the row lock makes
    the second wait, re-read, and find nothing left to decide."""
    ticket_id, _ = await _setup(db, directory, clock)
    for uid in (951, 952):
        await county_supervisor(db, now=clock(), user=str(uid), name=f"督导{uid}")
    async with db.unit() as session:
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
    ticket = await row_of(db, Ticket, ticket_id)
    kinds = await event_kinds(db, ticket_id)
    assert ticket.pending_extension_days is None
    assert ticket.resolve_due_at == due_before + timedelta(days=3)
    assert list(kinds).count("extension_approved") == 1
