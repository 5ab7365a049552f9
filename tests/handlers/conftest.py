"""Fixtures of the Telegram-side tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bot_api import FakeBotAPI
from harness import BotService, FakeClock

from flows.intake import Intake
from storage.db import Database


@pytest.fixture
async def svc(
    bot_api: FakeBotAPI, db: Database, intake: Intake, clock: FakeClock
) -> AsyncIterator[BotService]:
    """The bot on the test's clock, without send pacing: time moves only when the test
    moves it."""
    service = BotService(bot_api, db, intake, clock=clock, pace=(0.0, 0.0))
    await service.start()
    yield service
    await service.stop()
