"""The update inbox: every update recorded once, processed once, retried if processing failed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import InboxUpdate

# Telegram keeps an unconfirmed update for 24 hours; a day and a margin.
REDELIVERY_WINDOW: Final = timedelta(hours=36)


async def record(
    session: AsyncSession,
    *,
    channel: str,
    update_id: int,
    payload: dict[str, Any],
    chat_key: str | None,
    now: datetime,
) -> bool:
    """Store an update; False if this update_id was already recorded (a redelivery).

    Telegram keeps an update for at most a day, and after a week without updates it starts
    numbering afresh from a random id: a row older than ``REDELIVERY_WINDOW`` with the same
    id is an earlier, different update, and the new one takes its place.
    """
    row = InboxUpdate(
        channel=channel, update_id=update_id, chat_key=chat_key, payload=payload, received_at=now
    )
    try:
        async with session.begin_nested():
            session.add(row)
        return True
    except IntegrityError:
        # Only the unique key makes it a redelivery: any other constraint that failed means
        # the update is NOT stored, and must not be confirmed to Telegram as if it were.
        if await _stored(session, channel=channel, update_id=update_id) is None:
            raise
    reused = await session.exec(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.channel) == channel,
            col(InboxUpdate.update_id) == update_id,
            col(InboxUpdate.received_at) < now - REDELIVERY_WINDOW,
        )
        .values(
            chat_key=chat_key,
            payload=payload,
            status="pending",
            attempts=0,
            error=None,
            received_at=now,
            processed_at=None,
        )
    )
    return reused.rowcount == 1


async def _stored(session: AsyncSession, *, channel: str, update_id: int) -> int | None:
    found = await session.exec(
        select(InboxUpdate.id).where(
            col(InboxUpdate.channel) == channel, col(InboxUpdate.update_id) == update_id
        )
    )
    return found.first()


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


async def claim_next(
    session: AsyncSession,
    *,
    channel: str,
    chat_key: str,
    up_to: int,
    skip: Sequence[int] = (),
) -> InboxUpdate | None:
    """The chat's earliest pending update with an id up to ``up_to``, locked for processing
    (those in ``skip`` aside); None when there is none left.

    The chat itself is locked first, for the whole transaction (on PostgreSQL an advisory
    lock on its key; SQLite has one writer): processes that received updates of one chat
    (several web processes behind a load balancer) take them one at a time, oldest first,
    so a person's answers are read in the order they were sent whichever process got them.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.exec(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"{channel}:{chat_key}", 0)))
        )
    query = select(InboxUpdate).where(
        col(InboxUpdate.channel) == channel,
        col(InboxUpdate.chat_key) == chat_key,
        col(InboxUpdate.status) == "pending",
        col(InboxUpdate.update_id) <= up_to,
    )
    if skip:
        query = query.where(col(InboxUpdate.update_id).not_in(skip))
    found = await session.exec(
        query.order_by(col(InboxUpdate.update_id)).limit(1).with_for_update()
    )
    return found.first()


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
) -> bool:
    """Count a failed attempt; after ``max_attempts`` the update is parked as failed.
    True when this attempt parked it."""
    row = await claim(session, channel=channel, update_id=update_id)
    if row is None:
        return False
    row.attempts += 1
    row.error = error[:500]
    if row.attempts >= max_attempts:
        row.status = "failed"
        row.processed_at = now
    session.add(row)
    return row.status == "failed"


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


async def scrub(session: AsyncSession, *, processed_before: datetime) -> int:
    """Empty the payloads of updates processed before the cutoff.

    A raw update holds what a person typed (a child's situation, a phone number); once the
    turn is committed the ticket and dialogue hold what is needed. The row itself stays: its
    update_id is what makes a late redelivery recognisable.
    """
    result = await session.exec(
        update(InboxUpdate)
        .where(
            # Parked failures too: what a person typed is not kept because it failed.
            col(InboxUpdate.status).in_(("done", "failed")),
            col(InboxUpdate.processed_at) < processed_before,
            col(InboxUpdate.scrubbed).is_(False),
        )
        .values(payload={}, chat_key=None, scrubbed=True)
    )
    return int(result.rowcount)


async def failed(session: AsyncSession, *, limit: int = 500) -> Sequence[InboxUpdate]:
    """Updates parked after repeated failures, oldest first, for an operator to look at."""
    return (
        await session.exec(
            select(InboxUpdate)
            .where(col(InboxUpdate.status) == "failed")
            .order_by(col(InboxUpdate.received_at), col(InboxUpdate.id))
            .limit(limit)
        )
    ).all()


async def retry_failed(session: AsyncSession, *, ids: Sequence[int] | None = None) -> int:
    """Put parked updates (these row ids, or all) back to pending with no attempts counted,
    so the replay job processes them again. Its filter is on ``received_at``, which is left
    alone: a parked update is older than any replay cutoff, and is taken at the next run.

    An update whose payload was emptied (scrubbed) cannot be processed and stays parked.
    """
    query = update(InboxUpdate).where(
        col(InboxUpdate.status) == "failed", col(InboxUpdate.scrubbed).is_(False)
    )
    if ids is not None:
        query = query.where(col(InboxUpdate.id).in_(ids))
    result = await session.exec(
        query.values(status="pending", attempts=0, error=None, processed_at=None)
    )
    return int(result.rowcount)
