"""What a message that did not reach its chat means for its ticket.

The channel's sender reports here; the decisions live here, in one place: a message given up
is recorded on its ticket, and a referral that reached nobody at the station escalates the
ticket at once (skipping the reminder) — when every copy was refused for good, when nobody is
enrolled to receive it, or when it has waited undelivered longer than ``REFERRAL_GRACE``
(the channel is down). A waiting copy is still delivered when the channel comes back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import sla
from flows.states import UNSIGNED
from flows.tickets import locked_ticket
from storage import outbox
from storage.models import NOTE_MAX, OutboxMessage, Ticket, TicketEvent
from storage.outbox import WITHDRAWN

# A referral not delivered to anyone within this time escalates as if nobody had been told:
# a third of the shortest (P0, 15 minutes) sign-for window.
REFERRAL_GRACE: Final = timedelta(minutes=5)
# Messages written straight to one staff chat (not a role's copy).
STAFF_ONLY_KINDS: Final = ("digest", "staff_menu")


async def given_up(*, session: AsyncSession, row: OutboxMessage, why: str, now: datetime) -> None:
    """``row`` will not be delivered (refused for good, unreadable, or too old)."""
    if row.ticket_id is None:
        return
    # A referral's ticket is locked before anything is written about it: copies failing at
    # the same moment in two transactions must not each see the other still being sent
    # (and neither escalate), nor deadlock on the event rows' reference to the ticket.
    referral = row.kind == "referral"
    if referral and await locked_ticket(session, row.ticket_id) is None:
        return
    note = f"{row.kind} to {row.target}: {why}"
    session.add(
        TicketEvent(
            ticket_id=row.ticket_id,
            at=now,
            actor="system",
            kind="delivery_failed",
            note=note[:NOTE_MAX],
        )
    )
    if not referral:
        return
    if row.parent_id is not None:
        statuses = await _copies(session, row.parent_id)
        if not statuses or any(status != "failed" for status in statuses):
            return
    # Every copy, or the referral itself (not a chat's copy), given up: it reached nobody.
    await escalate_unnotified(
        session=session, ticket_id=row.ticket_id, now=now, why="referral delivered to nobody"
    )


async def delayed(*, session: AsyncSession, row: OutboxMessage, now: datetime) -> None:
    """``row`` did not go out now and will be tried again: a referral that has reached
    nobody at the station for ``REFERRAL_GRACE`` escalates the ticket (once per dispatch)."""
    if row.kind != "referral" or row.parent_id is None or row.ticket_id is None:
        return
    if now - row.created_at < REFERRAL_GRACE:
        return
    if await locked_ticket(session, row.ticket_id) is None:  # as in given_up: lock first
        return
    if "sent" in await _copies(session, row.parent_id):
        return
    await escalate_unnotified(
        session=session,
        ticket_id=row.ticket_id,
        now=now,
        why=f"referral not delivered within {int(REFERRAL_GRACE.total_seconds() // 60)} minutes",
    )


def grace_ends(row: OutboxMessage) -> datetime | None:
    """When an undelivered referral copy must be tried (and judged) again at the latest."""
    if row.kind != "referral" or row.parent_id is None:
        return None
    return row.created_at + REFERRAL_GRACE


async def retry_later(
    *,
    session: AsyncSession,
    row_id: int,
    seconds: float,
    why: str,
    count_attempt: bool,
    now: datetime,
    parts_sent: int = 0,
) -> None:
    """The channel could not deliver the row now: back in line after ``seconds``; a
    referral still undelivered after its grace escalates (waiting on a rate limit too)."""
    row = await outbox.reschedule(
        session,
        row_id=row_id,
        at=now + timedelta(seconds=seconds),
        why=why,
        count_attempt=count_attempt,
        parts_sent=parts_sent,
    )
    await delayed(session=session, row=row, now=now)


async def give_up(*, session: AsyncSession, row_id: int, why: str, now: datetime) -> None:
    """The channel will not deliver the row (refused for good, unreadable, too old)."""
    row = await outbox.fail(session, row_id=row_id, why=why, now=now)
    await given_up(session=session, row=row, why=why, now=now)


async def withdraw(*, session: AsyncSession, chat_id: str, why: str, now: datetime) -> int:
    """Staff messages still waiting for a chat that is no longer entitled to them (a member
    who left, a group unbound) are not sent: failed as withdrawn (an operator's retry leaves
    them alone), and a referral that now reaches nobody escalates. Returns how many."""
    rows = (
        await session.exec(
            select(OutboxMessage)
            .where(
                col(OutboxMessage.target_kind) == "chat",
                col(OutboxMessage.target) == chat_id,
                col(OutboxMessage.status) == "pending",
                or_(
                    col(OutboxMessage.parent_id).is_not(None),  # a role's copy: staff
                    col(OutboxMessage.kind).in_(STAFF_ONLY_KINDS),
                ),
            )
            .order_by(col(OutboxMessage.id))
        )
    ).all()
    for row in rows:
        row.status, row.failed_at, row.error = "failed", now, f"{WITHDRAWN}{why}"
        session.add(row)
        await given_up(session=session, row=row, why=row.error, now=now)
    return len(rows)


async def escalate_unnotified(
    *, session: AsyncSession, ticket_id: int, now: datetime, why: str
) -> bool:
    """Nobody at the station has the referral: L1 now. Once per dispatch, however many
    copies fail; False when it had already happened (or the ticket is gone)."""
    # Under the row lock: a sign-for committing meanwhile must not be overwritten.
    ticket = await locked_ticket(session, ticket_id)
    if ticket is None:
        return False
    since = ticket.dispatched_at or ticket.created_at
    done = (
        await session.exec(
            select(TicketEvent.id).where(
                col(TicketEvent.ticket_id) == ticket_id,
                col(TicketEvent.kind) == "not_notified",
                col(TicketEvent.at) >= since,
            )
        )
    ).first()
    if done is not None:
        return False
    session.add(_escalate_now(ticket, now=now, why=why))
    session.add(ticket)
    return True


async def _copies(session: AsyncSession, parent_id: int) -> list[str]:
    """The delivery status of every chat's copy of one role-targeted message."""
    return list(
        (
            await session.exec(
                select(OutboxMessage.status).where(col(OutboxMessage.parent_id) == parent_id)
            )
        ).all()
    )


def _escalate_now(ticket: Ticket, *, now: datetime, why: str) -> TicketEvent:
    """A referral that reached nobody at the station: skip the reminder, go to L1 at once."""
    assert ticket.id is not None
    if ticket.state in UNSIGNED:
        sla.breach_now(ticket, now=now)
    return TicketEvent(ticket_id=ticket.id, at=now, actor="system", kind="not_notified", note=why)
