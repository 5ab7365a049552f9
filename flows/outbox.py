"""Writing what the system must say, in the caller's transaction.

A row goes to one chat (``chat_id``), or to a role (``role_target``: a station, a county's
supervisors), which ``flows.notices.expand`` turns into one row per chat when the sender gets
to it, so a member enrolled after dispatch still receives the referral.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.messages import Button
from storage.models import OutboxMessage


def payload_of(text: str, buttons: Sequence[Sequence[Button]] = ()) -> dict[str, Any]:
    return {"text": text, "buttons": [[[b.label, b.data] for b in row] for row in buttons]}


def buttons_of(payload: dict[str, Any]) -> list[list[Button]]:
    return [[Button(label, data) for label, data in row] for row in payload.get("buttons", [])]


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
    row = OutboxMessage(
        dedup_key=dedup_key[:128],
        kind=kind,
        target_kind=target_kind,
        target=str(target),
        ticket_id=ticket_id,
        parent_id=parent_id,
        payload=payload,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True
