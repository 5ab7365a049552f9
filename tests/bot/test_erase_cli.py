"""``hutong erase --ticket CODE`` and the retention job in ``hutong serve``."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from factories import file_in, mark_outbox_sent
from harness import FakeClock
from serve_process import free_port
from sqlmodel import col, select

from bot import cli
from bot.service import serve
from bot.settings import Settings
from flows.places import Directory
from storage.db import Database
from storage.models import Conversation, OutboxMessage, Ticket, TicketContact, TicketEvent

STORY, PHONE, NOTE = "STORY-楼下孩子整夜哭", "+8613900139000", "NOTE-已上门两次"


async def ticket(
    db: Database, directory: Directory, clock: FakeClock, *, n: int, closed: bool
) -> tuple[int, str]:
    """A report with a phone number and a staff note; closed at the clock's time, or open."""
    async with db.unit() as session:
        row = await file_in(
            session,
            directory,
            now=clock(),
            chat="5501",
            n=n,
            age="3-5",
            concerns=["basic_needs"],
            story=STORY,
            phone=PHONE,
        )
        assert row.id is not None
        session.add(
            TicketEvent(ticket_id=row.id, at=clock(), actor="staff:1", kind="note", note=NOTE)
        )
        if closed:
            row.state, row.outcome, row.closed_at = "closed", "medical", clock()
            row.resolved_at = clock() - timedelta(days=3)
            session.add(row)
        found = (row.id, row.code)
    return found


async def hutong(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str
) -> int:
    """The console command, in this process (its own event loop, in a thread)."""
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("HUTONG_DATABASE_URL", database_url)
    return await asyncio.to_thread(cli.main, list(args))


async def state_of(db: Database, tid: int) -> tuple[Ticket, bool, list[tuple[str, str | None]]]:
    async with db.unit() as session:
        found = await session.get(Ticket, tid)
        assert found is not None
        contact = await session.get(TicketContact, tid) is not None
        events = (
            await session.exec(
                select(TicketEvent.actor, TicketEvent.note).where(
                    col(TicketEvent.ticket_id) == tid,
                    col(TicketEvent.kind).in_(("note", "erased")),
                )
            )
        ).all()
    return found, contact, list(events)


async def test_erase_a_closed_ticket_then_again(
    database_url: str,
    db: Database,
    directory: Directory,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tid, code = await ticket(db, directory, clock, n=1, closed=True)
    before, _, _ = await state_of(db, tid)
    assert await hutong(database_url, tmp_path, monkeypatch, "erase", "--ticket", code.lower()) == 0
    out = capsys.readouterr()
    assert out.out.strip() == (
        f"erased ticket {code}: reporter contact deleted, 0 photo(s), 1 note(s), story,"
        " place words and reporting chat; statistics kept"
    )
    found, contact, events = await state_of(db, tid)
    assert (found.story, found.reporter_chat_id, contact) == ("", "", False)
    assert (found.state, found.outcome, found.priority, found.closed_at) == (
        "closed",
        "medical",
        before.priority,
        before.closed_at,
    )
    assert found.erased_at is not None
    assert sorted(events, key=str) == [("operator", "on request"), ("staff:1", None)]

    assert await hutong(database_url, tmp_path, monkeypatch, "erase", "--ticket", code) == 0
    again = capsys.readouterr()
    assert again.out.startswith(f"ticket {code} was already erased on ")
    assert len(again.out.strip().splitlines()) == 1
    assert len((await state_of(db, tid))[2]) == 2  # no second "erased" event
    for text in (STORY, PHONE, NOTE):
        assert text not in out.out + out.err + again.out + again.err


async def test_erase_refuses_an_open_ticket_unless_forced(
    database_url: str,
    db: Database,
    directory: Directory,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tid, code = await ticket(db, directory, clock, n=1, closed=False)
    assert await hutong(database_url, tmp_path, monkeypatch, "erase", "--ticket", code) == 2
    refused = capsys.readouterr()
    assert refused.out == ""
    assert refused.err.strip().splitlines() == [
        f"hutong: ticket {code} is still open (dispatched) and its case needs the story:"
        " close it first, or add --force"
    ]
    found, contact, events = await state_of(db, tid)
    assert (found.story, found.reporter_chat_id, contact, found.erased_at) == (
        STORY,
        "5501",
        True,
        None,
    )
    assert events == [("staff:1", NOTE)]

    args = ("erase", "--ticket", code, "--force")
    assert await hutong(database_url, tmp_path, monkeypatch, *args) == 0
    assert capsys.readouterr().out.startswith(f"erased ticket {code}: reporter contact deleted")
    found, contact, events = await state_of(db, tid)
    assert (found.story, contact, found.state) == ("", False, "dispatched")
    assert ("operator", "on request, open (dispatched)") in events


async def test_erase_an_unknown_code_is_one_line(
    database_url: str,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await hutong(database_url, tmp_path, monkeypatch, "erase", "--ticket", "nosuch22") == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["hutong: no ticket NOSUCH22"]


async def test_serve_runs_the_retention_job_at_start(
    database_url: str,
    db: Database,
    directory: Directory,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What fell due while the service was down is forgotten when it starts."""
    caplog.set_level(logging.INFO)
    tid, _ = await ticket(db, directory, clock, n=1, closed=True)
    async with db.unit() as session:
        session.add(
            Conversation(
                channel="telegram",
                chat_id="5601",
                step="story",
                answers={"story": STORY},
                updated_at=clock(),
            )
        )
        await mark_outbox_sent(session, now=clock())
    clock.advance(days=366)
    settings = Settings(database_url=database_url, http_port=free_port())
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, clock=clock, stop=stop, handle_signals=False))
    try:
        for _ in range(400):  # bounded: until the job has run
            assert not task.done(), task.exception()
            found, _, _ = await state_of(db, tid)
            if found.erased_at is not None:
                break
            await asyncio.sleep(0.05)
        async with aiohttp.ClientSession() as http:
            url = f"http://{settings.http_host}:{settings.http_port}/healthz"
            async with http.get(url) as resp:
                assert resp.status == 200
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    found, contact, _ = await state_of(db, tid)
    assert found.erased_at == clock() and found.story == "" and not contact
    async with db.unit() as session:
        conv = (
            await session.exec(select(Conversation).where(col(Conversation.chat_id) == "5601"))
        ).one()
        payloads = (await session.exec(select(OutboxMessage.payload))).all()
    assert (conv.step, conv.answers) == ("menu", {})
    assert payloads and all(p == {} for p in payloads)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "retention: 1 unfinished dialogue(s) discarded" in logged
    assert STORY not in logged and PHONE not in logged
