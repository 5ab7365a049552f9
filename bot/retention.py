"""The hourly retention job: forgetting what is kept no longer (flows.retention)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlmodel.ext.asyncio.session import AsyncSession

from flows import retention
from flows.clock import Clock
from storage.db import Database

log = logging.getLogger(__name__)

RETENTION_SECONDS: Final = 3600
MAX_BATCHES: Final = 100  # per kind and run; what is left waits for the next hour


@dataclass(frozen=True, slots=True)
class Forgotten:
    dialogues: int
    payloads: int
    tickets: int


async def _drain(
    db: Database, step: Callable[[AsyncSession], Awaitable[int]], *, batch: int
) -> int:
    """Batches, each its own transaction, until one comes back short."""
    total = 0
    for _ in range(MAX_BATCHES):
        async with db.unit() as session:
            n = await step(session)
        total += n
        if n < batch:
            break
    return total


async def apply_retention(
    *,
    db: Database,
    clock: Clock,
    days: int,
    batch: int = retention.BATCH,
    ticket_batch: int = retention.TICKET_BATCH,
) -> Forgotten:
    """Unfinished dialogues, delivered messages' texts, closed tickets' personal data."""
    now: datetime = clock()
    done = Forgotten(
        dialogues=await _drain(
            db,
            lambda s: retention.discard_dialogues(session=s, now=now, batch=batch),
            batch=batch,
        ),
        payloads=await _drain(
            db, lambda s: retention.scrub_outbox(session=s, now=now, batch=batch), batch=batch
        ),
        tickets=await _drain(
            db,
            lambda s: retention.erase_closed(session=s, now=now, days=days, batch=ticket_batch),
            batch=ticket_batch,
        ),
    )
    if done.dialogues or done.payloads or done.tickets:  # counts only, never what it was
        log.info(
            "retention: %d unfinished dialogue(s) discarded, %d message text(s) erased,"
            " %d closed ticket(s) erased after %d days",
            done.dialogues,
            done.payloads,
            done.tickets,
            days,
        )
    return done
