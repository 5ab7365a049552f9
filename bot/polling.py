"""Long polling that records each update in the inbox before confirming it to Telegram.

PTB's own Updater confirms updates (by the next getUpdates offset) as soon as they are
queued in memory, so a crash loses them. Here an update is confirmed only after its inbox
row is committed; a crash before processing leaves a pending row that is replayed on start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Update
from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from flows.clock import Clock
from flows.faults import describe
from handlers.telegram.updates import CHANNEL, chat_key_of
from storage import inbox
from storage.db import Database

log = logging.getLogger(__name__)

# my_chat_member: the bot was removed from a group, whose station binding then ends.
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


class Poller:
    def __init__(
        self,
        *,
        bot: Bot,
        db: Database,
        dispatch: Callable[[Update], Coroutine[Any, Any, None]],
        clock: Clock,
        timeout: int,
    ) -> None:
        self.bot = bot
        self.db = db
        # Application.process_update: handlers run in the order of creation of these tasks,
        # and the per-chat lock they take first keeps one chat's updates in order.
        self.dispatch = dispatch
        self.clock = clock
        self.timeout = timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._long_poll: asyncio.Future[Any] | None = None

    def stop(self) -> None:
        """Stop after the current step; only the idle long poll is interrupted, never the
        recording of updates (a cancelled database write could leave SQLite locked)."""
        self._stopping = True
        if self._long_poll is not None:
            self._long_poll.cancel()

    def _spawn(self, update: Update) -> None:
        task = asyncio.create_task(self.dispatch(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def replay_pending(self, *, older_than_seconds: float = 0) -> int:
        """Process updates recorded but never finished (a crash, or a failed attempt)."""
        from datetime import timedelta

        cutoff = self.clock() - timedelta(seconds=older_than_seconds)
        async with self.db.unit() as session:
            rows = await inbox.pending(session, channel=CHANNEL, received_before=cutoff)
            payloads = [r.payload for r in rows]
        for payload in payloads:
            update = Update.de_json(payload, self.bot)
            if update is not None:
                await self.dispatch(update)
        return len(payloads)

    async def run(self) -> None:
        # No offset at first: Telegram resends what it holds unconfirmed (the inbox knows a
        # redelivery). An offset from the highest id ever recorded would silently drop
        # everything after Telegram renumbers (it does after a week without updates).
        offset: int | None = None
        await self.replay_pending()
        backoff = 1.0
        while not self._stopping:
            self._long_poll = asyncio.ensure_future(
                self.bot.get_updates(
                    offset=offset, timeout=self.timeout, allowed_updates=ALLOWED_UPDATES
                )
            )
            try:
                updates = await self._long_poll
            except asyncio.CancelledError:
                if self._stopping:
                    return
                raise
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except (InvalidToken, Forbidden):
                log.critical("Telegram refused the bot token; polling stopped")
                raise
            except (TimedOut, NetworkError, Conflict) as exc:
                # Conflict: another process polls with this token (an overlapping deploy).
                log.warning("getUpdates failed (%s); retrying in %.0f s", describe(exc), backoff)
                backoff = await _pause(backoff)
                continue
            if not updates:
                backoff = 1.0
                continue
            try:
                await self._record(updates)
            except (SQLAlchemyError, OSError) as exc:
                # Not confirmed to Telegram, so fetched again: nothing is lost, and a short
                # database outage does not stop the bot.
                log.error(
                    "recording updates failed (%s); retrying in %.0f s", describe(exc), backoff
                )
                backoff = await _pause(backoff)
                continue
            backoff = 1.0
            offset = updates[-1].update_id + 1
            for update in updates:
                self._spawn(update)

    async def _record(self, updates: tuple[Update, ...]) -> None:
        now = self.clock()
        async with self.db.unit() as session:
            for update in updates:
                await inbox.record(
                    session,
                    channel=CHANNEL,
                    update_id=update.update_id,
                    payload=update.to_dict(),
                    chat_key=chat_key_of(update),
                    now=now,
                )

    async def drain(self) -> None:
        """Let updates being processed finish (on shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def _pause(backoff: float) -> float:
    """Sleep ``backoff`` seconds; the next pause is twice as long, at most 30 s."""
    await asyncio.sleep(backoff)
    return min(backoff * 2, 30.0)


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
