"""Group commit: many small writes that arrive together share one transaction.

Each caller still waits until its own items are committed (or the write failed, which it
then sees raised), so nothing is acknowledged before it is stored; but while one
transaction is being written, the items that arrive meanwhile are gathered and written by
the next one. Idle, an item is written at once; busy, the cost of a transaction (BEGIN,
COMMIT, a round trip each, and on SQLite the one write lock) is shared by all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database

T = TypeVar("T")


class GroupWriter(Generic[T]):
    """Writes items with ``write(session, items)``, one transaction per group of callers."""

    def __init__(
        self, db: Database, write: Callable[[AsyncSession, Sequence[T]], Awaitable[None]]
    ) -> None:
        self.db = db
        self.write = write
        self._waiting: list[tuple[Sequence[T], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, items: Sequence[T]) -> None:
        """Returns once ``items`` are committed; raises what the write raised."""
        if not items:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Read even when its caller was cancelled meanwhile: no "never retrieved" warning.
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiting.append((items, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        await asyncio.shield(done)  # a caller cancelled does not cancel the others' write

    async def _drain(self) -> None:
        group: list[tuple[Sequence[T], asyncio.Future[None]]] = []
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    async with self.db.unit() as session:
                        await self.write(session, [item for items, _ in group for item in items])
                except Exception as exc:
                    _settle(group, exc)
                else:
                    _settle(group, None)
        finally:
            self._writer = None
            # Cancelled (the loop is closing): whoever still waits hears it.
            for _, done in group + self._waiting:
                done.cancel()
            self._waiting = []


def _settle(group: list[tuple[Sequence[T], asyncio.Future[None]]], exc: Exception | None) -> None:
    for _, done in group:
        if done.done():
            continue
        if exc is None:
            done.set_result(None)
        else:
            done.set_exception(exc)
