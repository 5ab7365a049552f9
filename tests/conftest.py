"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when
HUTONG_TEST_DATABASE_URL is set), the directory, a controllable clock and the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from telegram import Bot

from flows.intake import Intake
from flows.places import Directory
from storage.db import Database, async_url, make_engine
from storage.directory_data import read_bundled_divisions
from storage.migrate import seed_directory, upgrade

# Test helpers are imported by module name: the fakes (``from harness import …``) and the
# shared builders (``from factories import …``).
sys.path.insert(0, str(Path(__file__).parent / "fakes"))
sys.path.insert(0, str(Path(__file__).parent))

from bot_api import FakeBotAPI
from harness import BotService, FakeClock

# Tables a test may write; the directory and stations are loaded once per run.
_MUTABLE = (
    "outbox",
    "ticket_event",
    "ticket_attachment",
    "ticket_contact",
    "ticket",
    "conversation",
    "inbox_update",
    "station_group",
    "web_session",
    "api_token",
    "staff_member",
    "invite",
    "send_pace",
    "faq_entry",
)


async def _prepare(url: str, *, reset_schema: bool) -> None:
    if reset_schema:
        # Start from an empty schema so the migrations are exercised from scratch.
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    await asyncio.to_thread(upgrade, url)
    db = Database(make_engine(url))
    await seed_directory(db)
    await db.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("HUTONG_TEST_DATABASE_URL")
    if url:
        url = async_url(url)
        asyncio.run(_prepare(url, reset_schema=True))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'hutong-test.db'}"
        asyncio.run(_prepare(url, reset_schema=False))
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(make_engine(database_url))
    async with database.engine.begin() as conn:
        for table in _MUTABLE:
            await conn.execute(text(f"DELETE FROM {table}"))
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def directory() -> Directory:
    return Directory.from_rows(read_bundled_divisions())


@pytest.fixture(scope="session")
def intake(directory: Directory) -> Intake:
    return Intake(directory)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def bot(bot_api: FakeBotAPI) -> AsyncIterator[Bot]:
    """A python-telegram-bot ``Bot`` pointed at the fake Bot API, for tests that drive the
    sender or the update processor without the whole service."""
    b = Bot(bot_api.token, base_url=bot_api.bot_url)
    await b.initialize()
    yield b
    await b.shutdown()


@pytest.fixture
async def service(bot_api: FakeBotAPI, db: Database, intake: Intake) -> AsyncIterator[BotService]:
    svc = BotService(bot_api, db, intake)
    await svc.start()
    yield svc
    await svc.stop()
