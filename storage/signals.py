"""Waking other processes: PostgreSQL's LISTEN/NOTIFY on one channel.

A web process that committed outbox rows says so (``announce``); worker processes listening
(``listen``) wake their sender at once instead of at its next poll. A lost notification
costs only that poll's delay: the sender also looks every second on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database

OUTBOX: str = "hutong_outbox"


async def announce(db: Database, channel: str = OUTBOX) -> None:
    """Tell every listener of ``channel`` (after the commit that made the news)."""
    async with db.engine.connect() as conn:
        await conn.execute(text(f"NOTIFY {channel}"))
        await conn.commit()


def plain_dsn(url: str) -> str:
    """The SQLAlchemy URL as asyncpg takes it (``postgresql://``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(
    url: str, *, on_notify: Callable[[], None], stopping: asyncio.Event, channel: str = OUTBOX
) -> None:
    """Call ``on_notify`` for each notification until ``stopping`` is set. Raises
    ``ConnectionError`` when the connection is lost (the caller's supervisor reconnects)."""
    conn = await asyncpg.connect(plain_dsn(url))
    lost = asyncio.Event()
    try:
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(channel, lambda *_args: on_notify())
        on_notify()  # what was announced while nobody listened
        waits = [asyncio.create_task(lost.wait()), asyncio.create_task(stopping.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if lost.is_set() and not stopping.is_set():
            raise ConnectionError("the listening connection to PostgreSQL was lost")
    finally:
        if not conn.is_closed():
            await conn.close()


class Announcer:
    """Coalesces announcements: however many turns commit rows meanwhile, one NOTIFY at a
    time is in flight."""

    def __init__(self, db: Database, channel: str = OUTBOX) -> None:
        self.db = db
        self.channel = channel
        self._due = asyncio.Event()

    def wake(self) -> None:
        self._due.set()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            due = asyncio.create_task(self._due.wait())
            stop = asyncio.create_task(stopping.wait())
            await asyncio.wait((due, stop), return_when=asyncio.FIRST_COMPLETED)
            due.cancel()
            stop.cancel()
            if self._due.is_set():
                self._due.clear()
                await announce(self.db, self.channel)
