"""Outbox rows the sender gave up on: listing them, and putting them back in line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, Ticket

# The start of the error of a message withdrawn because its chat is no longer entitled to it
# (a member left, a group was unbound): never put back in line.
WITHDRAWN = "withdrawn: "


async def failed(
    session: AsyncSession, *, limit: int = 500
) -> Sequence[tuple[OutboxMessage, str | None]]:
    """Failed rows, oldest first, each with its ticket's code (None: no ticket)."""
    return (
        await session.exec(
            select(OutboxMessage, Ticket.code)
            .outerjoin(Ticket, col(Ticket.id) == col(OutboxMessage.ticket_id))
            .where(col(OutboxMessage.status) == "failed")
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        )
    ).all()


async def retry_failed(
    session: AsyncSession, *, now: datetime, ids: Sequence[int] | None = None
) -> int:
    """Failed rows (these ids, or all) are due again at once, as if new: their age for the
    sender's retries counts from ``requeued_at``. A row whose payload was erased has nothing
    left to send, and a withdrawn one is not for its chat any more: both stay failed."""
    query = update(OutboxMessage).where(
        col(OutboxMessage.status) == "failed",
        col(OutboxMessage.scrubbed).is_(False),
        or_(
            col(OutboxMessage.error).is_(None),
            col(OutboxMessage.error).not_like(f"{WITHDRAWN}%"),
        ),
    )
    if ids is not None:
        query = query.where(col(OutboxMessage.id).in_(ids))
    result = await session.exec(
        query.values(
            status="pending",
            attempts=0,
            requeued_at=now,
            next_attempt_at=now,
            failed_at=None,
            error=None,
        )
    )
    return int(result.rowcount)
