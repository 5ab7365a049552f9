"""Test harness pieces shared by tests and benchmarks: a clock to move by hand, and the
Telegram side of the service running in-process against the fake Bot API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from bot_api import FakeBotAPI

from flows.intake import Intake
from storage.db import Database


class FakeClock:
    """A clock tests move by hand; nothing in the tests sleeps to wait for time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class BotService:
    """The Telegram side of `hutong serve` in this process, wired by the same composition
    root (``bot.service.TelegramSide``: PTB Application, inbox poller, outbox sender),
    against the fake Bot API. Rate pacing is shortened so tests run quickly, and the loops
    are started directly rather than by the background connect step."""

    def __init__(
        self,
        api: FakeBotAPI,
        db: Database,
        intake: Intake,
        *,
        clock: Any = None,
        pace: tuple[float, float] = (0.05, 0.1),
    ) -> None:
        from flows.clock import system_clock

        self.api = api
        self.db = db
        self.intake = intake
        self.clock = clock or system_clock
        self.pace = pace  # seconds between messages to one private chat, to one group
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        from bot.settings import Settings
        from bot.telegram_side import TelegramSide
        from handlers.telegram.pace import ChatPacer

        settings = Settings(
            telegram_token=self.api.token, telegram_api_url=self.api.base_url, poll_timeout=1
        )
        self.side = TelegramSide(
            settings,
            db=self.db,
            intake=self.intake,
            clock=self.clock,
            pacer=ChatPacer(self.clock, private=self.pace[0], group=self.pace[1]),
        )
        self.processor = self.side.processor
        self.app = self.side.application
        assert self.side.sender is not None
        self.sender = self.side.sender
        self.poller = self.side.poller
        await self.app.initialize()
        self.tasks = [
            asyncio.create_task(self.poller.run()),
            asyncio.create_task(self.sender.run(idle_seconds=0.2)),
        ]

    async def stop(self) -> None:
        self.poller.stop()
        self.sender.stop()
        await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 15)
        await self.poller.drain()
        await self.side.close()
