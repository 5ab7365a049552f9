"""The sender's side: rows claimed with a lease, then marked sent, put back in line or
given up; a lease renewed, or a claimed row released untried."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, func
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, table
from storage.outbox.queue import DIRECT, LEASE, UNDELIVERED


async def due_for_roles(
    session: AsyncSession, *, now: datetime, limit: int
) -> Sequence[OutboxMessage]:
    """Role-targeted rows due to be turned into per-chat rows, locked for this transaction."""
    return (
        await session.exec(
            select(OutboxMessage)
            .where(
                col(OutboxMessage.status) == "pending",
                col(OutboxMessage.target_kind).not_in(DIRECT),
                col(OutboxMessage.next_attempt_at) <= now,
            )
            .order_by(col(OutboxMessage.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def claim(
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta = LEASE
) -> list[OutboxMessage]:
    """Due per-chat rows (and command-list rows), leased to the caller for ``lease``.

    Only the chats whose oldest undelivered message is among them: a chat whose older
    message waits (in backoff, or being sent by someone) keeps its later ones back, so one
    chat's messages arrive in the order they were written. A target's line is its kind and
    its name: a chat's command list waits behind that chat's earlier lists only.
    """
    due = list(
        (
            await session.exec(
                select(OutboxMessage)
                .where(
                    col(OutboxMessage.target_kind).in_(DIRECT),
                    col(OutboxMessage.status).in_(UNDELIVERED),  # sending: its lease ran out
                    col(OutboxMessage.next_attempt_at) <= now,
                )
                .order_by(col(OutboxMessage.id))
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    if not due:
        return []
    heads = {
        (kind, target): head
        for kind, target, head in (
            await session.exec(
                select(OutboxMessage.target_kind, OutboxMessage.target, func.min(OutboxMessage.id))
                .where(
                    col(OutboxMessage.target_kind).in_({row.target_kind for row in due}),
                    col(OutboxMessage.target).in_({row.target for row in due}),
                    col(OutboxMessage.status).in_(UNDELIVERED),
                )
                .group_by(col(OutboxMessage.target_kind), col(OutboxMessage.target))
            )
        ).all()
    }
    claimed_ids = {row.id for row in due}
    rows = [row for row in due if heads.get((row.target_kind, row.target)) in claimed_ids]
    for row in rows:
        row.status = "sending"
        row.attempts += 1
        row.next_attempt_at = now + lease
        session.add(row)
    return rows


_OUTBOX = table(OutboxMessage)
# Core, built once (its cache key too), run as one executemany for a whole group of rows.
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(status="sent", sent_at=bindparam("at"), message_id=bindparam("mid"), error=None)
)


async def mark_sent(
    session: AsyncSession, *, delivered: Sequence[tuple[int, int | None]], now: datetime
) -> None:
    """Rows the channel accepted: (row id, the channel's message id)."""
    if delivered:
        conn = await session.connection()
        await conn.execute(
            _MARK_SENT, [{"row_id": row_id, "at": now, "mid": mid} for row_id, mid in delivered]
        )


async def reschedule(
    session: AsyncSession,
    *,
    row_id: int,
    at: datetime,
    why: str,
    count_attempt: bool,
    parts_sent: int = 0,
) -> OutboxMessage:
    """Back in line until ``at``. ``count_attempt`` False: waiting (a rate limit), not a
    failed try. ``parts_sent``: of a long message, those the next try starts after."""
    row = await session.get(OutboxMessage, row_id)
    assert row is not None
    row.status = "pending"
    row.next_attempt_at = at
    row.error = why[:500]
    if not count_attempt:
        row.attempts = max(0, row.attempts - 1)
    if parts_sent > int(row.payload.get("parts_sent", 0)):
        row.payload = {**row.payload, "parts_sent": parts_sent}
    session.add(row)
    return row


async def release(
    session: AsyncSession, *, leases: Sequence[tuple[int, datetime]], at: datetime
) -> None:
    """Rows claimed but not tried (their chat must wait): back to pending, untouched.
    ``leases``: (row id, end of the caller's lease); a row someone claimed since is theirs."""
    for row_id, held_until in leases:  # sending ⇒ attempts ≥ 1: the try is taken back
        values = {"status": "pending", "attempts": col(OutboxMessage.attempts) - 1}
        await session.exec(
            update(OutboxMessage)
            .where(*_held(row_id, held_until))
            .values(next_attempt_at=at, **values)
        )


async def renew(
    session: AsyncSession, *, row_id: int, held_until: datetime, until: datetime
) -> bool:
    """Extend a lease the caller still holds; False when someone claimed the row after it
    ran out (a send that waited long for its turn must not go then: the other has it)."""
    held = update(OutboxMessage).where(*_held(row_id, held_until))
    return bool((await session.exec(held.values(next_attempt_at=until))).rowcount == 1)


def _held(row_id: int, held_until: datetime) -> tuple[ColumnElement[bool], ...]:
    # A claim moves next_attempt_at on, so the lease's end identifies its holder.
    return (
        col(OutboxMessage.id) == row_id,
        col(OutboxMessage.status) == "sending",
        col(OutboxMessage.next_attempt_at) == held_until,
    )


async def fail(session: AsyncSession, *, row_id: int, why: str, now: datetime) -> OutboxMessage:
    """Given up, with the reason."""
    row = await session.get(OutboxMessage, row_id)
    assert row is not None
    row.status = "failed"
    row.failed_at = now
    row.error = why[:500]
    session.add(row)
    return row


async def original(session: AsyncSession, *, row_id: int) -> OutboxMessage | None:
    """The row an edit refers to (its status and message id)."""
    return await session.get(OutboxMessage, row_id)


async def move_chat(session: AsyncSession, *, old_chat_id: str, new_chat_id: str) -> None:
    """A group became a supergroup: what still waits for the old id goes to the new one
    (its messages, and a command list being set for it)."""
    await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.target_kind).in_(DIRECT),
            col(OutboxMessage.target) == old_chat_id,
            col(OutboxMessage.status).in_(UNDELIVERED),
        )
        .values(target=new_chat_id)
    )


async def release_in_flight(session: AsyncSession, *, now: datetime) -> int:
    """At start, before anything is sent: messages a stopped or killed process was sending
    go out again now, not when their lease would run out — the person's next replies queue
    behind them. (A duplicate is preferred to a lost message; with several sending
    processes this must only take rows of processes known to be gone.)"""
    result = await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == "sending")
        .values(status="pending", next_attempt_at=now)
    )
    return int(result.rowcount)
