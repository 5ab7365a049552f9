"""Counts for monitoring, read from the database when ``/metrics`` is scraped.

Read from the tables, not counted in a process: every process of a split deployment then
reports the same backlog and the same open tickets, and a restart loses nothing. Each is one
aggregate over an index (``ix_outbox_pending``, ``ix_ticket_open_due``, ``ix_ticket_next_due``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, Ticket

# Rows the sender still owes: waiting, or taken and not yet settled.
UNSENT = ("pending", "sending")


@dataclass(frozen=True, slots=True)
class Backlog:
    channel: str
    rows: int
    oldest_seconds: float  # age of the oldest unsent row; 0 when there is none


@dataclass(frozen=True, slots=True)
class OpenTickets:
    state: str
    overdue_level: int  # 0 not overdue; 1 the county told; 2 the city told
    count: int


def _age(now: datetime, then: datetime | None) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:  # SQLite hands naive UTC back
        then = then.replace(tzinfo=now.tzinfo)
    return max((now - then).total_seconds(), 0.0)


async def outbox_backlog(session: AsyncSession, *, now: datetime) -> list[Backlog]:
    """Unsent rows per channel and the age of the oldest (from when it was written)."""
    rows = await session.exec(
        select(
            OutboxMessage.channel,
            func.count(),
            func.min(OutboxMessage.created_at),
        )
        .where(col(OutboxMessage.status).in_(UNSENT))
        .group_by(col(OutboxMessage.channel))
    )
    return [Backlog(channel, n, _age(now, oldest)) for channel, n, oldest in rows]


async def open_tickets(session: AsyncSession, *, states: Sequence[str]) -> list[OpenTickets]:
    """Tickets in ``states`` (the caller's idea of open), by state and overdue level."""
    rows = await session.exec(
        select(Ticket.state, Ticket.overdue_level, func.count())
        .where(col(Ticket.state).in_(list(states)))
        .group_by(col(Ticket.state), col(Ticket.overdue_level))
    )
    return [OpenTickets(str(state), level, n) for state, level, n in rows]


async def sweep_lag(session: AsyncSession, *, now: datetime) -> float:
    """Seconds since the oldest deadline that has passed without the sweep firing it: near
    0 while the sweep keeps up, growing when it has stopped or fallen behind."""
    oldest = (
        await session.exec(
            select(func.min(Ticket.next_due_at)).where(col(Ticket.next_due_at) <= now)
        )
    ).one()
    return _age(now, oldest)
