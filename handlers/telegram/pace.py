"""Telegram's sending limits: about 30 messages a second from the bot overall, one a second
to a private chat on average (short bursts tolerated), 20 a minute to a group.

``LocalPace`` keeps them in memory, for one sending process (``hutong serve``, role all).
``SharedPace`` keeps them in the database (``storage.pace``), so that several worker
processes sending at once stay within them together.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from aiolimiter import AsyncLimiter

from flows.clock import Clock
from storage import pace
from storage.db import Database

GLOBAL_PER_SECOND: Final = 30
PRIVATE_INTERVAL: Final = 1.0  # seconds between messages to one private chat, on average
PRIVATE_BURST: Final = 3  # a turn's few replies go out together
GROUP_INTERVAL: Final = 3.0  # 20 a minute
LATE: Final = 0.05  # seconds after its slot that a message may still take it
# A sending process reserves the overall slots of this long at once (one statement for
# several messages, at most BLOCK_MAX): at 30 a second, three at a time. Slots it cannot
# use in time are let go, so at most this much of the bot's rate is ever held idle.
BLOCK_SECONDS: Final = 0.1
BLOCK_MAX: Final = 64


class Pace(Protocol):
    async def take(self, chat_id: str) -> datetime | None:
        """A message to the chat may go now (None: its slot is taken), or from when."""

    def turn(self) -> AbstractAsyncContextManager[object]:
        """Wait for this message's turn within the bot's overall rate."""

    async def hold(self, chat_id: str, seconds: float) -> None:
        """Nothing to this chat for ``seconds`` (a 429's retry_after, a backoff)."""


class ChatPacer:
    """When each chat may next be written to (in this process), by the service clock.

    A token bucket per chat (kept as the generic cell rate algorithm: one "theoretical
    arrival time" per chat): on average one message per ``interval``, with up to ``burst``
    at once. Direct replies and outbox rows share it.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        private: float = PRIVATE_INTERVAL,
        group: float = GROUP_INTERVAL,
        private_burst: int = PRIVATE_BURST,
        group_burst: int = 1,
    ) -> None:
        self.clock = clock
        self.private = private
        self.group = group
        self.private_burst = private_burst
        self.group_burst = group_burst
        self._tat: dict[str, datetime] = {}

    def _shape(self, chat_id: str) -> tuple[timedelta, int]:
        if chat_id.startswith("-"):
            return timedelta(seconds=self.group), self.group_burst
        return timedelta(seconds=self.private), self.private_burst

    def ready_at(self, chat_id: str) -> datetime | None:
        """None when the chat may be written to now, else when it may."""
        tat = self._tat.get(chat_id)
        if tat is None:
            return None
        interval, burst = self._shape(chat_id)
        at = tat - interval * (burst - 1)
        return at if at > self.clock() else None

    def sent(self, chat_id: str) -> None:
        interval, _ = self._shape(chat_id)
        now = self.clock()
        self._tat[chat_id] = max(self._tat.get(chat_id, now), now) + interval

    def hold(self, chat_id: str, seconds: float) -> None:
        """Nothing to this chat for ``seconds`` (a 429's retry_after)."""
        interval, burst = self._shape(chat_id)
        until = self.clock() + timedelta(seconds=seconds) + interval * (burst - 1)
        self._tat[chat_id] = max(self._tat.get(chat_id, until), until)


class LocalPace:
    """The limits of one sending process, in memory."""

    def __init__(self, chats: ChatPacer, *, per_second: float = GLOBAL_PER_SECOND) -> None:
        self.chats = chats
        self.limiter = AsyncLimiter(per_second, 1)

    async def take(self, chat_id: str) -> datetime | None:
        ready_at = self.chats.ready_at(chat_id)
        if ready_at is None:
            self.chats.sent(chat_id)
        return ready_at

    def turn(self) -> AbstractAsyncContextManager[object]:
        return self.limiter

    async def hold(self, chat_id: str, seconds: float) -> None:
        self.chats.hold(chat_id, seconds)


class SharedPace:
    """The limits of every sending process together, kept in the database: one statement
    per chat slot, and one per block of overall slots (``BLOCK_SECONDS``), each taken
    atomically."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        per_second: float = GLOBAL_PER_SECOND,
        private: float = PRIVATE_INTERVAL,
        group: float = GROUP_INTERVAL,
        private_burst: int = PRIVATE_BURST,
    ) -> None:
        self.db = db
        self.clock = clock
        self.interval = 1 / per_second
        self.private = private
        self.group = group
        self.private_burst = private_burst
        self._slots: deque[float] = deque()  # overall slots reserved, not yet used
        self._reserving = asyncio.Lock()
        self._block = max(1, min(BLOCK_MAX, round(BLOCK_SECONDS * per_second)))

    def _shape(self, chat_id: str) -> tuple[float, int]:
        if chat_id.startswith("-"):
            return self.group, 1
        return self.private, self.private_burst

    async def take(self, chat_id: str) -> datetime | None:
        interval, burst = self._shape(chat_id)
        async with self.db.unit() as session:
            at = await pace.take(
                session, key=chat_id, now=self.clock().timestamp(), interval=interval, burst=burst
            )
        return None if at is None else datetime.fromtimestamp(at, UTC)

    async def _next_slot(self) -> float:
        async with self._reserving:
            now = self.clock().timestamp()
            while self._slots and now - self._slots[0] > max(self.interval, LATE):
                self._slots.popleft()  # its time has passed: let it go
            if not self._slots:
                async with self.db.unit() as session:
                    first = await pace.reserve_many(
                        session,
                        key=pace.OVERALL,
                        now=now,
                        interval=self.interval,
                        count=self._block,
                    )
                self._slots.extend(first + i * self.interval for i in range(self._block))
            return self._slots.popleft()

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        while True:
            at = await self._next_slot()
            now = self.clock().timestamp()
            if at > now:
                await asyncio.sleep(at - now)
            # A slot used late would crowd the next second with the slots after it (this
            # loop was busy, the database slow): a late caller lets it go and queues again.
            if self.clock().timestamp() - at <= max(self.interval, LATE):
                break
        yield

    def turn(self) -> AbstractAsyncContextManager[object]:
        return self._turn()

    async def hold(self, chat_id: str, seconds: float) -> None:
        interval, burst = self._shape(chat_id)
        until = self.clock() + timedelta(seconds=seconds)
        async with self.db.unit() as session:
            await pace.hold(
                session, key=chat_id, until=until.timestamp(), interval=interval, burst=burst
            )

    async def forget_idle(self, *, older_than: timedelta = timedelta(days=1)) -> int:
        """Rows of chats not written to for a while (called by a periodic job)."""
        async with self.db.unit() as session:
            return await pace.forget(session, before=(self.clock() - older_than).timestamp())
