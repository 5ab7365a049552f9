"""What an undelivered message means for its ticket (flows.delivery), against the real
database: a referral that reached nobody escalates once, at once; a copy still on its way
holds that back until the grace runs out; other messages only leave a trace."""

from __future__ import annotations

from datetime import timedelta

from factories import event_kinds, file_ticket, station_member, ticket_in
from harness import FakeClock
from sqlmodel import col, select

from flows import delivery
from flows.notices import expand
from flows.places import Directory
from flows.states import State
from storage.db import Database
from storage.models import OutboxMessage, Ticket, TicketEvent
from storage.outbox import WITHDRAWN, enqueue


async def _referral_copies(
    db: Database, directory: Directory, clock: FakeClock, members: int = 2
) -> tuple[Ticket, list[int]]:
    """A ticket whose referral was expanded into one copy per station member."""
    for n in range(members):
        await station_member(db, now=clock(), user=f"91{n}")
    ticket = await file_ticket(db, directory, now=clock())
    async with db.unit() as session:
        await expand(session, directory=directory, now=clock())
        copies = (
            await session.exec(
                select(OutboxMessage.id)
                .where(col(OutboxMessage.parent_id).is_not(None))
                .order_by(col(OutboxMessage.id))
            )
        ).all()
    assert len(copies) == members
    return ticket, [c for c in copies if c is not None]


async def _give_up(db: Database, clock: FakeClock, row_id: int, why: str = "forbidden") -> None:
    async with db.unit() as session:
        await delivery.give_up(session=session, row_id=row_id, why=why, now=clock())


async def test_a_referral_escalates_only_when_every_copy_failed_and_only_once(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket, (one, two) = await _referral_copies(db, directory, clock)
    await _give_up(db, clock, one)
    assert "not_notified" not in await event_kinds(db, ticket.id)  # the other may still arrive
    await _give_up(db, clock, two)
    kinds = await event_kinds(db, ticket.id)
    assert kinds.count("delivery_failed") == 2 and kinds.count("not_notified") == 1
    async with db.unit() as session:
        after = await session.get(Ticket, ticket.id)
        again = await delivery.escalate_unnotified(
            session=session, ticket_id=ticket.id or 0, now=clock(), why="x"
        )
        gone = await delivery.escalate_unnotified(
            session=session, ticket_id=424242, now=clock(), why="x"
        )
    assert after is not None and after.next_due_at == clock()  # L1 now, no reminder
    assert again is False and gone is False


async def test_a_waiting_referral_copy_escalates_after_the_grace_unless_one_was_sent(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket, (one, _) = await _referral_copies(db, directory, clock)
    async with db.unit() as session:
        row = await session.get(OutboxMessage, one)
        assert row is not None
        assert delivery.grace_ends(row) == row.created_at + delivery.REFERRAL_GRACE
        await delivery.retry_later(
            session=session, row_id=one, seconds=30, why="timeout", count_attempt=True, now=clock()
        )
    assert "not_notified" not in await event_kinds(db, ticket.id)  # within the grace
    clock.advance(seconds=delivery.REFERRAL_GRACE.total_seconds())
    async with db.unit() as session:
        await delivery.retry_later(
            session=session, row_id=one, seconds=30, why="timeout", count_attempt=True, now=clock()
        )
        waiting = await session.get(OutboxMessage, one)
    assert waiting is not None and waiting.status == "pending"
    assert waiting.next_attempt_at == clock() + timedelta(seconds=30)
    assert (await event_kinds(db, ticket.id)).count("not_notified") == 1


async def test_a_sent_copy_holds_back_the_escalation_of_a_late_one(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket, (one, two) = await _referral_copies(db, directory, clock)
    async with db.unit() as session:
        sent = await session.get(OutboxMessage, two)
        assert sent is not None
        sent.status = "sent"
        session.add(sent)
    clock.advance(minutes=30)
    async with db.unit() as session:
        await delivery.retry_later(
            session=session, row_id=one, seconds=30, why="x", count_attempt=False, now=clock()
        )
    await _give_up(db, clock, one)
    assert "not_notified" not in await event_kinds(db, ticket.id)


async def test_other_messages_only_leave_a_trace_and_rows_without_ticket_nothing(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock())
    async with db.unit() as session:
        told = await enqueue(
            session,
            dedup_key="r",
            kind="reporter_update",
            now=clock(),
            payload={"text": "x"},
            chat_id="900",
            ticket_id=ticket.id,
        )
        loose = await enqueue(
            session, dedup_key="l", kind="reply", now=clock(), payload={"text": "x"}, chat_id="901"
        )
    assert told is not None and loose is not None
    await _give_up(db, clock, told, "forbidden: " + "y" * 1000)
    await _give_up(db, clock, loose)
    async with db.unit() as session:
        events = (
            await session.exec(
                select(TicketEvent).where(col(TicketEvent.kind) == "delivery_failed")
            )
        ).all()
        row = await session.get(OutboxMessage, loose)
    assert len(events) == 1 and events[0].note is not None
    assert events[0].note.startswith("reporter_update to 900: forbidden")
    assert "not_notified" not in await event_kinds(db, ticket.id)
    assert row is not None and row.status == "failed"


async def test_withdraw_fails_staff_copies_for_a_chat_and_may_escalate(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket, (only,) = await _referral_copies(db, directory, clock, members=1)
    async with db.unit() as session:
        await enqueue(
            session,
            dedup_key="reply",
            kind="reply",
            now=clock(),
            payload={"text": "x"},
            chat_id="910",
        )
        assert (
            await delivery.withdraw(
                session=session, chat_id="910", why="recipient left", now=clock()
            )
            == 1
        )
        assert (
            await delivery.withdraw(session=session, chat_id="910", why="again", now=clock()) == 0
        )
        copy = await session.get(OutboxMessage, only)
    assert copy is not None and copy.error == f"{WITHDRAWN}recipient left"
    assert "not_notified" in await event_kinds(db, ticket.id)  # the only copy: nobody has it now


async def test_escalating_unnotified_skips_the_reminder_only_while_unsigned(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    unsigned = await file_ticket(db, directory, now=clock())
    signed = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock())
    due = signed.next_due_at
    clock.advance(minutes=1)
    async with db.unit() as session:
        for ticket in (unsigned, signed):
            assert await delivery.escalate_unnotified(
                session=session, ticket_id=ticket.id or 0, now=clock(), why="nobody"
            )
    async with db.unit() as session:
        now_due = await session.get(Ticket, unsigned.id)
        still_due = await session.get(Ticket, signed.id)
    assert now_due is not None and now_due.next_due_at == clock()  # L1 at once
    assert still_due is not None and still_due.next_due_at == due  # signed: left alone
    assert "not_notified" in await event_kinds(db, signed.id)
