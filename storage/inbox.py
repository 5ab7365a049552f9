"""The update inbox: every update recorded once, processed once, retried if processing failed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import InboxUpdate


async def record(
    session: AsyncSession,
    *,
    channel: str,
    update_id: int,
    payload: dict[str, Any],
    chat_key: str | None,
    now: datetime,
) -> bool:
    """Store an update; False if this update_id was already recorded (a redelivery)."""
    row = InboxUpdate(
        channel=channel, update_id=update_id, chat_key=chat_key, payload=payload, received_at=now
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


async def claim(session: AsyncSession, *, channel: str, update_id: int) -> InboxUpdate | None:
    """Lock the update's row for processing; None when it is already done (or unknown)."""
    row = (
        await session.exec(
            select(InboxUpdate)
            .where(col(InboxUpdate.channel) == channel, col(InboxUpdate.update_id) == update_id)
            .with_for_update()
        )
    ).first()
    if row is None or row.status != "pending":
        return None
    return row


def mark_done(session: AsyncSession, row: InboxUpdate, *, now: datetime) -> None:
    row.status = "done"
    row.processed_at = now
    row.attempts += 1
    session.add(row)


async def mark_failed_attempt(
    session: AsyncSession,
    *,
    channel: str,
    update_id: int,
    error: str,
    max_attempts: int,
    now: datetime,
) -> None:
    """Count a failed attempt; after ``max_attempts`` the update is parked as failed."""
    row = await claim(session, channel=channel, update_id=update_id)
    if row is None:
        return
    row.attempts += 1
    row.error = error[:500]
    if row.attempts >= max_attempts:
        row.status = "failed"
        row.processed_at = now
    session.add(row)


async def pending(
    session: AsyncSession, *, channel: str, received_before: datetime, limit: int = 100
) -> Sequence[InboxUpdate]:
    """Updates recorded but not processed (a crash, or a failure to retry), oldest first."""
    return (
        await session.exec(
            select(InboxUpdate)
            .where(
                col(InboxUpdate.channel) == channel,
                col(InboxUpdate.status) == "pending",
                col(InboxUpdate.received_at) < received_before,
            )
            .order_by(col(InboxUpdate.update_id))
            .limit(limit)
        )
    ).all()


async def next_offset(session: AsyncSession, *, channel: str) -> int | None:
    """The getUpdates offset that confirms everything already recorded."""
    top = (
        await session.exec(
            select(func.max(InboxUpdate.update_id)).where(col(InboxUpdate.channel) == channel)
        )
    ).first()
    return None if top is None else int(top) + 1


async def scrub(session: AsyncSession, *, processed_before: datetime) -> int:
    """Empty the payloads of updates processed before the cutoff.

    A raw update holds what a person typed (a child's situation, a phone number); once the
    turn is committed the ticket and dialogue hold what is needed. The row itself stays: its
    update_id is what makes a late redelivery recognisable.
    """
    result = await session.exec(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.status) == "done",
            col(InboxUpdate.processed_at) < processed_before,
            col(InboxUpdate.chat_key).is_not(None),
        )
        .values(payload={}, chat_key=None)
    )
    return int(result.rowcount)
