"""Writing what the system must say, in the caller's transaction.

A row goes to one chat (``chat_id``), or to a role (``role_target``: a station, a county's
supervisors), which ``flows.notices.expand`` turns into one row per chat when the sender gets
to it, so a member enrolled after dispatch still receives the referral.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.messages import Button
from storage.models import OutboxMessage

DEDUP_KEY_MAX = 128  # outbox.dedup_key


def payload_of(text: str, buttons: Sequence[Sequence[Button]] = ()) -> dict[str, Any]:
    return {"text": text, "buttons": [[[b.label, b.data] for b in row] for row in buttons]}


def buttons_of(payload: dict[str, Any]) -> list[list[Button]]:
    return [[Button(label, data) for label, data in row] for row in payload.get("buttons", [])]


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
) -> bool:
    """Add one outbox row unless its dedup key exists; False when it did."""
    if (chat_id is None) == (role_target is None):
        raise ValueError("give exactly one of chat_id and role_target")
    target_kind, target = ("chat", chat_id) if chat_id is not None else role_target  # type: ignore[misc]
    values = {
        "dedup_key": fit_key(dedup_key),
        "kind": kind,
        "target_kind": target_kind,
        "target": str(target),
        "channel": "telegram",
        "ticket_id": ticket_id,
        "parent_id": parent_id,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
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
    return inserted is not None
