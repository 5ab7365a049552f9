"""Queueing outbox rows: one (``enqueue``) or a transaction's many together (``Batch``)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.base import instance_dict
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, table

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
UNDELIVERED: Final = ("pending", "sending")
# A row for the bot's command lists (``flows.commands``): its target names the scope it sets
# (a chat's id, or a scope such as ``all_private_chats:en``). Sent as it is, like a chat's
# row, in its own line: a command list never holds up a chat's messages, nor they it.
SCOPE: Final = "scope"
# The kinds of target the sender claims as they are; any other is a role's, expanded first.
DIRECT: Final = ("chat", SCOPE)


def fit_key(key: str) -> str:
    """``key`` if it fits the column, else its head and a hash of the whole: cutting it
    short could make two different messages one (and the second would never be sent)."""
    if len(key) <= DEDUP_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key[: DEDUP_KEY_MAX - len(digest) - 1]}#{digest}"


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


_OUTBOX = table(OutboxMessage)
# INSERT … ON CONFLICT (dedup_key) DO NOTHING: one statement that skips an existing key,
# rather than a savepoint per row that may fail (three round trips each). Core, built once
# per dialect: a turn's replies and a sweep's notices run no ORM.
_INSERT = {
    name: dialect.insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedup_key"])
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_INSERT_ONE = {name: insert.returning(_OUTBOX.c.id) for name, insert in _INSERT.items()}
_WAITING = (
    select(_OUTBOX.c.id)
    .where(
        _OUTBOX.c.target_kind == "chat",
        _OUTBOX.c.target == bindparam("b_chat"),
        _OUTBOX.c.status.in_(UNDELIVERED),
    )
    .limit(1)
)


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
    conn = await session.connection()
    inserted = (await conn.execute(_INSERT_ONE[conn.dialect.name], row)).first()
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
            conn = await session.connection()
            await conn.execute(_INSERT[conn.dialect.name], rows)
        self._rows.clear()


_DEFAULTS: Final = {
    "channel": "telegram",
    "ticket_id": None,
    "parent_id": None,
    "message_id": None,
    "sent_at": None,
    "error": None,
    "requeued_at": None,
    "failed_at": None,
    "scrubbed": False,
}


def as_row(**values: Any) -> OutboxMessage:
    """An ``OutboxMessage`` holding these values (the rest at their defaults), made the way
    the ORM makes a row it loads: no validation, no attribute events. A turn hands its reply
    rows to the sender like this without reading them back; ``OutboxMessage(...)`` cost a
    hundred times as much, once per reply."""
    manager = OutboxMessage._sa_class_manager  # type: ignore[attr-defined]
    if not manager.mapper.configured:
        configure_mappers()
    row = manager.new_instance()
    instance_dict(row).update(_DEFAULTS, **values)
    return cast(OutboxMessage, row)


async def waiting_for(session: AsyncSession, *, chat_id: str) -> bool:
    """Whether messages to this chat are still waiting (queued, or being sent by someone):
    a new reply must then queue behind them, not overtake them."""
    conn = await session.connection()
    return (await conn.execute(_WAITING, {"b_chat": chat_id})).first() is not None
