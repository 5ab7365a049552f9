"""The outbox: every message the system must say, as rows in the database.

The one place that writes and moves outbox rows. A row is queued (``enqueue``) in the
transaction of the change that causes it, for one chat or for a role (a station, a
county's supervisors) that ``flows.notices.expand`` turns into one row per chat. The
channel's sender claims due rows with a lease (``claim``), and marks each sent, rescheduled
or failed; operators list and requeue failed rows; retention empties old payloads.

A row's life: ``pending`` → ``sending`` (claimed, or written by a dialogue turn that sends
it itself right after its commit) → ``sent`` | back to ``pending`` (a passing failure, a
chat that must wait) | ``failed`` (given up, with the reason in ``error``).

What a failure means for a ticket (escalation) is decided in ``flows.delivery``, not here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, Ticket

# How long a reply being sent right after its turn is left alone by the background sender:
# long enough for the direct send, short enough that after a crash the person (whose next
# replies queue behind it) waits little.
DIRECT_LEASE: Final = timedelta(seconds=15)
# How long a row claimed by the sender is its own; then another try may take it.
LEASE: Final = timedelta(seconds=60)
DEDUP_KEY_MAX: Final = 128  # outbox.dedup_key
# The start of the error of a message withdrawn because its chat is no longer entitled to it
# (a member left, a group was unbound): never put back in line.
WITHDRAWN: Final = "withdrawn: "
_UNDELIVERED: Final = ("pending", "sending")


def fit_key(key: str) -> str:
    """``key`` if it fits the column, else its head and a hash of the whole: cutting it
    short could make two different messages one (and the second would never be sent)."""
    if len(key) <= DEDUP_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key[: DEDUP_KEY_MAX - len(digest) - 1]}#{digest}"


# ---- queueing ---------------------------------------------------------------------------


def _row(
    *,
    dedup_key: str,
    kind: str,
    now: datetime,
    payload: dict[str, Any],
    chat_id: str | None = None,
    role_target: tuple[str, str] | None = None,
    ticket_id: int | None = None,
    parent_id: int | None = None,
    send_now: bool = False,
    channel: str = "telegram",
) -> dict[str, Any] | None:
    """The column values of one row, or None when the chat is unknown."""
    if (chat_id is None) == (role_target is None):
        raise ValueError("give exactly one of chat_id and role_target")
    if chat_id == "":
        return None
    target_kind, target = ("chat", chat_id) if chat_id is not None else role_target  # type: ignore[misc]
    if send_now and target_kind != "chat":
        raise ValueError("only a row for one chat can be sent at once")
    return {
        "dedup_key": fit_key(dedup_key),
        "kind": kind,
        "target_kind": target_kind,
        "target": str(target),
        "channel": channel,
        "ticket_id": ticket_id,
        "parent_id": parent_id,
        "payload": payload,
        "status": "sending" if send_now else "pending",
        "attempts": 1 if send_now else 0,
        "next_attempt_at": now + DIRECT_LEASE if send_now else now,
        "created_at": now,
    }


def _insert(session: AsyncSession) -> Any:
    """INSERT … ON CONFLICT (dedup_key) DO NOTHING: one statement that skips an existing
    key, rather than a savepoint per row that may fail (three round trips each)."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    return dialect.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedup_key"])


async def enqueue(
    session: AsyncSession,
    *,
    dedup_key: str,
    kind: str,
    now: datetime,
    payload: dict[str, Any],
    chat_id: str | None = None,
    role_target: tuple[str, str] | None = None,
    ticket_id: int | None = None,
    parent_id: int | None = None,
    send_now: bool = False,
    channel: str = "telegram",
) -> int | None:
    """Add one outbox row unless its dedup key exists; its id, or None when it did, or
    when the chat is unknown (a ticket's reporting chat erased after retention: nobody to
    tell).

    ``send_now``: the caller sends the row itself right after the commit (a dialogue reply),
    so it starts out leased to that caller.
    """
    row = _row(
        dedup_key=dedup_key,
        kind=kind,
        now=now,
        payload=payload,
        chat_id=chat_id,
        role_target=role_target,
        ticket_id=ticket_id,
        parent_id=parent_id,
        send_now=send_now,
        channel=channel,
    )
    if row is None:
        return None
    statement = _insert(session).values(**row).returning(OutboxMessage.id)
    inserted = (await session.exec(statement)).first()
    return int(inserted[0]) if inserted is not None else None


class Batch:
    """Rows gathered while a transaction does many tickets' work and written together before
    it commits (the sweep queues a thousand notices a tick; a statement each was most of its
    cost). Same rules as ``enqueue``; within a batch the first row of a dedup key wins."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def add(
        self,
        *,
        dedup_key: str,
        kind: str,
        now: datetime,
        payload: dict[str, Any],
        chat_id: str | None = None,
        role_target: tuple[str, str] | None = None,
        ticket_id: int | None = None,
        channel: str = "telegram",
    ) -> None:
        row = _row(
            dedup_key=dedup_key,
            kind=kind,
            now=now,
            payload=payload,
            chat_id=chat_id,
            role_target=role_target,
            ticket_id=ticket_id,
            channel=channel,
        )
        if row is not None:
            self._rows.setdefault(row["dedup_key"], row)

    async def write(self, session: AsyncSession) -> None:
        rows = list(self._rows.values())
        if rows:  # one executemany: the driver sends it as multi-row inserts
            await session.exec(_insert(session), params=rows)
        self._rows.clear()


async def waiting_for(session: AsyncSession, *, chat_id: str) -> bool:
    """Whether messages to this chat are still waiting (queued, or being sent by someone):
    a new reply must then queue behind them, not overtake them."""
    found = await session.exec(
        select(OutboxMessage.id)
        .where(
            col(OutboxMessage.target_kind) == "chat",
            col(OutboxMessage.target) == chat_id,
            col(OutboxMessage.status).in_(_UNDELIVERED),
        )
        .limit(1)
    )
    return found.first() is not None


# ---- the sender's side ------------------------------------------------------------------


async def due_for_roles(
    session: AsyncSession, *, now: datetime, limit: int
) -> Sequence[OutboxMessage]:
    """Role-targeted rows due to be turned into per-chat rows, locked for this transaction."""
    return (
        await session.exec(
            select(OutboxMessage)
            .where(
                col(OutboxMessage.status) == "pending",
                col(OutboxMessage.target_kind) != "chat",
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
    """Due per-chat rows, leased to the caller for ``lease``.

    Only the chats whose oldest undelivered message is among them: a chat whose older
    message waits (in backoff, or being sent by someone) keeps its later ones back, so one
    chat's messages arrive in the order they were written.
    """
    due = list(
        (
            await session.exec(
                select(OutboxMessage)
                .where(
                    col(OutboxMessage.target_kind) == "chat",
                    col(OutboxMessage.status).in_(_UNDELIVERED),  # sending: its lease ran out
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
    heads = dict(
        (
            await session.exec(
                select(OutboxMessage.target, func.min(OutboxMessage.id))
                .where(
                    col(OutboxMessage.target_kind) == "chat",
                    col(OutboxMessage.target).in_({row.target for row in due}),
                    col(OutboxMessage.status).in_(_UNDELIVERED),
                )
                .group_by(col(OutboxMessage.target))
            )
        ).all()
    )
    claimed_ids = {row.id for row in due}
    rows = [row for row in due if heads.get(row.target) in claimed_ids]
    for row in rows:
        row.status = "sending"
        row.attempts += 1
        row.next_attempt_at = now + lease
        session.add(row)
    return rows


async def mark_sent(
    session: AsyncSession, *, delivered: Sequence[tuple[int, int | None]], now: datetime
) -> None:
    """Rows the channel accepted: (row id, the channel's message id)."""
    for row_id, message_id in delivered:
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == row_id)
            .values(status="sent", sent_at=now, message_id=message_id, error=None)
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


async def release(session: AsyncSession, *, row_ids: Sequence[int], at: datetime) -> None:
    """Rows claimed but not tried (their chat must wait): back to pending, untouched."""
    for row_id in row_ids:
        row = await session.get(OutboxMessage, row_id)
        assert row is not None
        row.status = "pending"
        row.attempts = max(0, row.attempts - 1)
        row.next_attempt_at = at
        session.add(row)


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
    """A group became a supergroup: what still waits for the old id goes to the new one."""
    await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.target_kind) == "chat",
            col(OutboxMessage.target) == old_chat_id,
            col(OutboxMessage.status).in_(_UNDELIVERED),
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


# ---- operators --------------------------------------------------------------------------


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


# ---- retention --------------------------------------------------------------------------


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
    its status and times are the delivery record."""
    ids = (
        await session.exec(
            select(OutboxMessage.id)
            .where(col(OutboxMessage.scrubbed).is_(False), _delivered_before(before))
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
