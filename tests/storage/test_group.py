"""storage.group.GroupWriter: callers that arrive together share a transaction, and each
returns only once its own items are committed (or raises what the write raised)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from harness import FakeClock
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import outbox
from storage.db import Database
from storage.group import GroupWriter
from storage.models import OutboxMessage


async def _queued(db: Database, clock: FakeClock, n: int) -> list[int]:
    ids = []
    async with db.unit() as session:
        for i in range(n):
            row_id = await outbox.enqueue(
                session, dedup_key=f"g{i}", kind="reply", now=clock(), payload={}, chat_id=str(i)
            )
            assert row_id is not None
            ids.append(row_id)
    return ids


async def _statuses(db: Database, ids: Sequence[int]) -> list[str]:
    async with db.unit() as session:
        rows = await session.exec(
            select(OutboxMessage.status).where(col(OutboxMessage.id).in_(ids))
        )
        return list(rows.all())


async def test_callers_arriving_together_share_one_transaction_and_see_their_commit(
    db: Database, clock: FakeClock
) -> None:
    ids = await _queued(db, clock, 6)
    groups: list[int] = []
    writing = asyncio.Event()

    async def mark(session: AsyncSession, rows: Sequence[tuple[int, int | None]]) -> None:
        groups.append(len(rows))
        writing.set()
        await outbox.mark_sent(session, delivered=rows, now=clock())

    writer: GroupWriter[tuple[int, int | None]] = GroupWriter(db, mark)

    async def one(row_id: int) -> list[str]:
        await writer.add([(row_id, 100 + row_id)])
        return await _statuses(db, [row_id])  # committed by the time add returns

    first = asyncio.ensure_future(one(ids[0]))
    await writing.wait()  # the first is being written alone
    seen = await asyncio.gather(first, *(one(i) for i in ids[1:]))
    assert seen == [["sent"]] * 6
    assert groups == [1, 5]  # the five that came meanwhile shared the next transaction


async def test_a_failed_write_is_raised_to_every_caller_of_its_group_and_the_next_goes_on(
    db: Database,
) -> None:
    written: list[str] = []
    entered, gate = asyncio.Event(), asyncio.Event()

    async def write(session: AsyncSession, items: Sequence[str]) -> None:
        entered.set()
        await gate.wait()
        if "bad" in items:
            raise RuntimeError("refused")
        written.extend(items)

    writer: GroupWriter[str] = GroupWriter(db, write)
    first = asyncio.ensure_future(writer.add(["a"]))
    await entered.wait()  # "a" is being written alone; these two wait for the next group
    rest = [asyncio.ensure_future(writer.add(["b"])), asyncio.ensure_future(writer.add(["bad"]))]
    gate.set()
    results = await asyncio.gather(first, *rest, return_exceptions=True)
    assert results[0] is None
    assert [type(r) for r in results[1:]] == [RuntimeError, RuntimeError]
    await writer.add(["c"])
    assert written == ["a", "c"]
