"""The service stopped while two deadlines pass, started again: each fires exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import aiohttp
from factories import county_supervisor, file_ticket
from harness import FakeClock
from serve_process import answers_ok, free_port
from sqlmodel import col, select

from bot.service import serve
from bot.settings import Settings
from flows.places import Directory
from storage.db import Database
from storage.models import OutboxMessage, TicketEvent


async def _run_for_a_while(settings: Settings, clock: FakeClock) -> None:
    """Start `serve`, let it sweep several times, stop it."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, clock=clock, stop=stop, handle_signals=False))
    url = f"http://{settings.http_host}:{settings.http_port}/healthz"
    async with aiohttp.ClientSession() as http:
        for _ in range(200):  # bounded: until it answers
            if await answers_ok(http, url):
                break
            assert not task.done(), task.exception()
            await asyncio.sleep(0.05)
    # Several sweep intervals, so a rung that could fire twice would.
    await asyncio.sleep(settings.sweep_seconds * 6)
    stop.set()
    await asyncio.wait_for(task, 30)


async def test_deadlines_passed_while_down_fire_once_after_start(
    database_url: str, db: Database, directory: Directory, clock: FakeClock
) -> None:
    settings = Settings(
        database_url=database_url,
        http_port=free_port(),
        sweep_seconds=0.1,
    )
    start = clock()
    await county_supervisor(db, now=start, user="7201", name="督导")
    await file_ticket(
        db,
        directory,
        now=start,
        chat="7001",
        danger="yes",
        reporter="teacher",
        sex="m",
        concerns=["physical"],
        story="孩子被打",
    )

    clock.advance(minutes=1)  # running, nothing due yet
    await _run_for_a_while(settings, clock)
    # 孩子被打 raised a red flag (violence) when it was filed: that is its third event.
    assert await _kinds(db) == Counter({"submitted": 1, "dispatched": 1, "red_flags": 1})

    clock.advance(minutes=19)  # while stopped: the reminder (7.5 min) and L1 (15 min) pass
    await _run_for_a_while(settings, clock)
    await _run_for_a_while(settings, clock)  # and once more, with nothing new due
    kinds = await _kinds(db)
    assert kinds["reminder"] == 1 and kinds["escalated"] == 1
    async with db.unit() as session:
        rows = (
            await session.exec(
                select(OutboxMessage.dedup_key).where(
                    col(OutboxMessage.kind).in_(("reminder", "escalated")),
                    col(OutboxMessage.parent_id).is_(None),
                )
            )
        ).all()
    assert len(rows) == 3  # reminder to the station; L1 to the county and the station
    assert clock() - start == timedelta(minutes=20)


async def _kinds(db: Database) -> Counter[str]:
    async with db.unit() as session:
        return Counter((await session.exec(select(TicketEvent.kind))).all())
