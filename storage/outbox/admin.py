"""Operators' view of failed rows, and retention: payloads emptied once delivered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, Ticket
from storage.outbox.queue import SCOPE, WITHDRAWN


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


def _delivered_before(cutoff: datetime) -> ColumnElement[bool]:
    return or_(
        and_(col(OutboxMessage.status) == "sent", col(OutboxMessage.sent_at) < cutoff),
        and_(
            col(OutboxMessage.status) == "failed",
            # Rows given up before failed_at existed carry only their last try or creation.
            func.coalesce(
                col(OutboxMessage.failed_at),
                col(OutboxMessage.sent_at),
                col(OutboxMessage.created_at),
            )
            < cutoff,
        ),
    )


async def erase_delivered(session: AsyncSession, *, before: datetime, batch: int) -> int:
    """Empty the payloads of messages sent, or given up, before ``before``.

    A payload is the text as sent (a referral with the story, a reason, a reply to a
    citizen). The row stays: its message_id is what a later edit of the message needs, and
    its status and times are the delivery record.

    A command list is kept: it says nothing of anyone, and it is the record of what Telegram
    shows, which the start-up check (``flows.commands.reconcile``) compares against."""
    ids = (
        await session.exec(
            select(OutboxMessage.id)
            .where(
                col(OutboxMessage.scrubbed).is_(False),
                col(OutboxMessage.target_kind) != SCOPE,
                _delivered_before(before),
            )
            .order_by(col(OutboxMessage.id))
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not ids:
        return 0
    result = await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids), _delivered_before(before))
        .values(payload={}, scrubbed=True)
    )
    return int(result.rowcount)
