"""The update inbox: every update recorded once, processed once, retried if processing failed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import bindparam, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import InboxUpdate, table

# Telegram keeps an unconfirmed update for 24 hours; a day and a margin.
REDELIVERY_WINDOW: Final = timedelta(hours=36)


_INBOX = table(InboxUpdate)
# Core statements built once (their cache keys too): the hot path runs no ORM.
_INSERT = {
    name: dialect.insert(_INBOX)
    .on_conflict_do_nothing(index_elements=["channel", "update_id"])
    .returning(_INBOX.c.update_id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_TAKE = (
    update(_INBOX)
    .where(
        _INBOX.c.channel == bindparam("b_channel"),
        _INBOX.c.update_id == bindparam("b_update_id"),
        _INBOX.c.status == "pending",
    )
    .values(status="done", attempts=_INBOX.c.attempts + 1)  # processed_at: a parameter
    .returning(_INBOX.c.received_at)
)

_LOCK_CHAT = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("b_key"), 0)))
_PENDING_OF_CHAT = (
    select(_INBOX.c.id)
    .where(
        _INBOX.c.channel == bindparam("b_channel"),
        _INBOX.c.chat_key == bindparam("b_chat"),
        _INBOX.c.status == "pending",
        _INBOX.c.update_id <= bindparam("b_up_to"),
    )
    .order_by(_INBOX.c.update_id)
    .limit(1)
)


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
    stored = await record_many(
        session, channel=channel, updates=[(update_id, payload, chat_key)], now=now
    )
    return update_id in stored


async def record_many(
    session: AsyncSession,
    *,
    channel: str,
    updates: Sequence[tuple[int, dict[str, Any], str | None]],
    now: datetime,
) -> set[int]:
    """Store updates (update_id, payload, chat key) in one statement; the ids stored, the
    others having been recorded already (redeliveries).

    Only the unique key (channel, update_id) makes an update a redelivery: any other
    constraint that fails raises, and nothing of the batch is stored (or confirmed).

    Telegram keeps an update for at most a day, and after a week without updates it starts
    numbering afresh from a random id: a row older than ``REDELIVERY_WINDOW`` with the same
    id is an earlier, different update, and the new one takes its place.
    """
    if not updates:
        return set()
    conn = await session.connection()
    rows = [
        {
            "channel": channel,
            "update_id": update_id,
            "chat_key": chat_key,
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "error": None,
            "received_at": now,
            "processed_at": None,
            "scrubbed": False,
        }
        for update_id, payload, chat_key in updates
    ]
    inserted = await conn.execute(_INSERT[conn.dialect.name], rows)
    stored = {int(update_id) for (update_id,) in inserted}
    for update_id, payload, chat_key in updates:
        if update_id not in stored and await _reuse(
            session,
            channel=channel,
            update_id=update_id,
            payload=payload,
            chat_key=chat_key,
            now=now,
        ):
            stored.add(update_id)
    return stored


async def _reuse(
    session: AsyncSession,
    *,
    channel: str,
    update_id: int,
    payload: dict[str, Any],
    chat_key: str | None,
    now: datetime,
) -> bool:
    """The row of an id Telegram numbered afresh takes the new update (see record_many)."""
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


async def take(
    session: AsyncSession, *, channel: str, update_id: int, now: datetime
) -> datetime | None:
    """Claim a pending update for the caller's transaction and count it done, in one
    statement; when it was received, or None when it is not pending (done already: a
    redelivery, or a retry that lost the race). The row stays locked until the transaction
    ends: done if the turn commits, pending again if it fails and rolls back."""
    conn = await session.connection()
    found = await conn.execute(
        _TAKE, {"b_channel": channel, "b_update_id": update_id, "processed_at": now}
    )
    received_at = found.scalar_one_or_none()
    return cast(datetime | None, received_at)


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


async def take_next(
    session: AsyncSession,
    *,
    channel: str,
    chat_key: str,
    up_to: int,
    now: datetime,
    skip: Sequence[int] = (),
) -> tuple[int, datetime] | None:
    """Take the chat's earliest pending update with an id up to ``up_to`` (those in ``skip``
    aside) as ``take`` does: claimed and counted done in one statement. Its id and when it
    was received; None when there is none left.

    The chat itself is locked first, for the whole transaction (on PostgreSQL an advisory
    lock on its key; SQLite has one writer): processes that received updates of one chat
    (several web processes behind a load balancer) take them one at a time, oldest first,
    so a person's answers are read in the order they were sent whichever process got them.
    """
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        await conn.execute(_LOCK_CHAT, {"b_key": f"{channel}:{chat_key}"})
    first = _PENDING_OF_CHAT
    if skip:
        first = first.where(_INBOX.c.update_id.not_in(list(skip)))
    statement = (
        update(_INBOX)
        .where(_INBOX.c.id == first.scalar_subquery())
        .values(status="done", attempts=_INBOX.c.attempts + 1)  # processed_at: a parameter
        .returning(_INBOX.c.update_id, _INBOX.c.received_at)
    )
    found = await conn.execute(
        statement,
        {"b_channel": channel, "b_chat": chat_key, "b_up_to": up_to, "processed_at": now},
    )
    row = found.first()
    return None if row is None else (int(row[0]), cast(datetime, row[1]))


async def payload_of(session: AsyncSession, *, channel: str, update_id: int) -> dict[str, Any]:
    """The update as it was recorded (for one recorded by another process)."""
    found = await session.exec(
        select(InboxUpdate.payload).where(
            col(InboxUpdate.channel) == channel, col(InboxUpdate.update_id) == update_id
        )
    )
    return dict(found.one())


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
