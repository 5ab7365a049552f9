"""Writing what the system must say, in the caller's transaction.

A row goes to one chat (``chat_id``), or to a role (``role_target``: a station, a county's
supervisors), which ``flows.notices.expand`` turns into one row per chat when the sender gets
to it, so a member enrolled after dispatch still receives the referral.

The replies of a dialogue turn are rows too, written with the turn (``send_now``): the
channel sends them right after the commit and marks them sent; if the process dies in
between, their short lease runs out and the sender delivers them once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.messages import Button, Reply
from storage.models import OutboxMessage

# How long a reply being sent right after its turn is left alone by the background sender:
# long enough for the direct send, short enough that after a crash the person (whose next
# replies queue behind it) waits little.
DIRECT_LEASE: Final = timedelta(seconds=15)

DEDUP_KEY_MAX = 128  # outbox.dedup_key


def payload_of(text: str, buttons: Sequence[Sequence[Button]] = ()) -> dict[str, Any]:
    return {"text": text, "buttons": [[[b.label, b.data] for b in row] for row in buttons]}


def buttons_of(payload: dict[str, Any]) -> list[list[Button]]:
    return [[Button(label, data) for label, data in row] for row in payload.get("buttons", [])]


def reply_payload(reply: Reply, *, locale: str, edit_message_id: int | None) -> dict[str, Any]:
    """A dialogue reply as an outbox payload; ``edit_message_id`` is the message whose
    button was pressed, replaced in place when the reply asks for it."""
    payload = payload_of(reply.text, reply.buttons)
    payload["locale"] = locale
    if reply.ask_contact:
        payload["ask_contact"] = True
    if reply.remove_keyboard:
        payload["remove_keyboard"] = True
    if reply.edit and edit_message_id is not None:
        payload["edit_message_id"] = edit_message_id
    return payload


def reply_of(payload: dict[str, Any]) -> Reply:
    """The reply a per-chat payload says; raises KeyError/ValueError/TypeError when the
    payload cannot be read (the caller marks such a row failed instead of retrying it)."""
    text = payload["text"]
    if not isinstance(text, str):
        raise TypeError("payload text is not a string")
    return Reply(
        text,
        buttons_of(payload),
        ask_contact=bool(payload.get("ask_contact")),
        remove_keyboard=bool(payload.get("remove_keyboard")),
        edit="edit_message_id" in payload,
    )


def fit_key(key: str) -> str:
    """``key`` if it fits the column, else its head and a hash of the whole: cutting it
    short could make two different messages one (and the second would never be sent)."""
    if len(key) <= DEDUP_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key[: DEDUP_KEY_MAX - len(digest) - 1]}#{digest}"


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
) -> int | None:
    """Add one outbox row unless its dedup key exists; its id, or None when it did, or
    when the chat is unknown (a ticket's reporting chat erased after retention: nobody to
    tell).

    ``send_now``: the caller sends the row itself right after the commit (a dialogue reply),
    so it starts out leased to that caller.
    """
    if (chat_id is None) == (role_target is None):
        raise ValueError("give exactly one of chat_id and role_target")
    if chat_id == "":
        return None
    target_kind, target = ("chat", chat_id) if chat_id is not None else role_target  # type: ignore[misc]
    if send_now and target_kind != "chat":
        raise ValueError("only a row for one chat can be sent at once")
    values = {
        "dedup_key": fit_key(dedup_key),
        "kind": kind,
        "target_kind": target_kind,
        "target": str(target),
        "channel": "telegram",
        "ticket_id": ticket_id,
        "parent_id": parent_id,
        "payload": payload,
        "status": "sending" if send_now else "pending",
        "attempts": 1 if send_now else 0,
        "next_attempt_at": now + DIRECT_LEASE if send_now else now,
        "created_at": now,
    }
    # One statement that skips an existing key, rather than a savepoint per row that may
    # fail: a sweep writes thousands of rows per tick, and a savepoint costs three round trips.
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(OutboxMessage.id)
    )
    inserted = (await session.exec(statement)).first()
    return int(inserted[0]) if inserted is not None else None


async def waiting_for(session: AsyncSession, *, chat_id: str) -> bool:
    """Whether messages to this chat are still waiting in the outbox (queued, or being sent
    by someone): a new reply must then queue behind them, not overtake them."""
    found = await session.exec(
        select(OutboxMessage.id)
        .where(
            col(OutboxMessage.target_kind) == "chat",
            col(OutboxMessage.target) == chat_id,
            col(OutboxMessage.status).in_(("pending", "sending")),
        )
        .limit(1)
    )
    return found.first() is not None


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
