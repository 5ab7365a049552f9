"""``hutong inbox failed|retry`` and ``hutong outbox failed|retry``: listed without what people
wrote, and a retried row is really taken again by the running service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_runner import Run, hutong
from factories import file_in, row_of
from sqlmodel import col, select, update

from flows.clock import system_clock
from flows.outbox import payload_of
from storage import inbox
from storage.db import Database
from storage.models import InboxUpdate, OutboxMessage
from storage.outbox import enqueue

Hutong = Callable[..., Awaitable[Run]]
PHONE, NAME, WORDS = "13912345678", "王小明", "孩子被锁在家里"


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, db: Database) -> Hutong:
    async def _run(*args: str) -> Run:
        return await hutong(monkeypatch, tmp_path, database_url, *args)

    return _run


def _message(update_id: int, chat: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": chat, "type": "private", "first_name": NAME},
            "from": {"id": chat, "is_bot": False, "first_name": NAME},
            "text": text,
        },
    }


async def _park(db: Database, update_id: int, chat: int, text: str) -> int:
    """An update recorded ten minutes ago whose processing failed five times (in one
    transaction: the running service's replay must not find it pending in between)."""
    at = system_clock() - timedelta(minutes=10)
    async with db.unit() as session:
        await inbox.record(
            session,
            channel="telegram",
            update_id=update_id,
            payload=_message(update_id, chat, text),
            chat_key=str(chat),
            now=at,
        )
        for _ in range(5):
            await inbox.mark_failed_attempt(
                session,
                channel="telegram",
                update_id=update_id,
                error="OperationalError('database is locked')",
                max_attempts=5,
                now=at,
            )
    async with db.unit() as session:
        row = (
            await session.exec(select(InboxUpdate).where(col(InboxUpdate.update_id) == update_id))
        ).one()
    assert row.status == "failed" and row.id is not None
    return row.id


async def test_inbox_failed_lists_parked_updates_and_retry_gets_them_processed(
    service: Any, run: Hutong
) -> None:
    api, db = service.api, service.db
    first = await _park(db, 900001, 9401, "/start")
    second = await _park(db, 900002, 9402, f"{WORDS}，电话 {PHONE}")
    erased = await _park(db, 900003, 9403, "/start")
    async with db.unit() as session:  # the third was parked long ago: its payload is gone
        await session.exec(
            update(InboxUpdate)
            .where(col(InboxUpdate.id) == erased)
            .values(processed_at=system_clock() - timedelta(days=8))
        )
        await inbox.scrub(session, processed_before=system_clock() - timedelta(days=7))

    listed = await run("inbox", "failed")
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert lines[0].startswith("3 parked update(s)")
    assert lines[1].split() == [
        "id", "update_id", "chat", "attempts", "received", "processed", "error"
    ]  # fmt: skip
    assert lines[2].split()[:4] == [str(first), "900001", "9401", "5"]
    assert "OperationalError('database is locked')" in lines[2]
    assert lines[4].split()[:4] == [str(erased), "900003", "—", "5"]
    for private in (PHONE, NAME, WORDS, "/start"):  # never the payload
        assert private not in listed.out

    result = await run("inbox", "retry", str(first))
    assert result.code == 0, result.err
    row = await row_of(db, InboxUpdate, first)
    assert (row.status, row.attempts, row.error, row.processed_at) == ("pending", 0, None, None)
    # The service's retry job (every 15 s, updates older than a minute) takes it again.
    mark = len(api.calls)
    assert await service.poller.replay_pending(older_than_seconds=60) == 1
    await api.wait_for(lambda c: c.method == "sendMessage", after=mark, chat_id=9401)
    assert (await row_of(db, InboxUpdate, first)).status == "done"

    for args, fragment in (
        ((str(erased),), f"update {erased} cannot be retried: its content was erased"),
        ((str(first),), f"no parked update with id {first}"),  # done now
        (("424242",), "no parked update with id 424242"),
    ):
        result = await run("inbox", "retry", *args)
        assert result.code == 2 and fragment in result.err, result.err
    for args in ((), (str(second), "--all"), ("x",)):
        assert (await run("inbox", "retry", *args)).code == 2  # usage error

    result = await run("inbox", "retry", "--all")
    assert result.code == 0, result.err
    assert result.out.strip() == (
        "1 update(s) back to pending; 1 erased one(s) cannot be retried;"
        " the running service takes them within 15 s"
    )
    assert await service.poller.replay_pending(older_than_seconds=60) == 1  # not the erased
    await api.wait_for(lambda c: c.method == "sendMessage", chat_id=9402)
    assert (await row_of(db, InboxUpdate, second)).status == "done"
    assert (await row_of(db, InboxUpdate, erased)).status == "failed"
    assert (await run("inbox", "failed")).out.splitlines()[0].startswith("1 parked update(s)")


async def _failed_row(
    db: Database, key: str, chat: str, *, ticket_id: int | None = None, scrubbed: bool = False
) -> int:
    now = system_clock()
    async with db.unit() as session:
        await enqueue(
            session,
            dedup_key=key,
            kind="reporter_update",
            now=now,
            payload=payload_of(f"{WORDS} {PHONE}"),
            chat_id=chat,
            ticket_id=ticket_id,
        )
        row = (
            await session.exec(select(OutboxMessage).where(col(OutboxMessage.dedup_key) == key))
        ).one()
        row.status, row.attempts, row.failed_at = "failed", 8, now
        row.error = "gave up after 8 attempts: NetworkError"
        if scrubbed:
            row.payload, row.scrubbed = {}, True
        session.add(row)
    assert row.id is not None
    return row.id


async def _until_status(db: Database, row_id: int, status: str) -> None:
    """Wait (at most 5 s) until the row's ``status`` is committed. The fake Bot API records a
    message as soon as it is sent, before the sender has committed ``mark_sent``: reading the
    row at that moment can still see it ``sending``."""
    async with asyncio.timeout(5):
        while (await row_of(db, OutboxMessage, row_id)).status != status:  # noqa: ASYNC110 - the sender's
            # commit has no event to wait on
            await asyncio.sleep(0.01)


async def test_outbox_failed_lists_rows_and_retry_sends_them_again(
    service: Any, directory: Any, run: Hutong
) -> None:
    api, db = service.api, service.db
    async with db.unit() as session:
        ticket = await file_in(
            session,
            directory,
            now=system_clock(),
            chat="9501",
            sex="m",
            concerns=["illness"],
            story=WORDS,
        )
        # The referral is not what this test is about: out of the sender's way.
        await session.exec(update(OutboxMessage).values(status="sent", sent_at=system_clock()))
    ticket_id = ticket.id
    with_ticket = await _failed_row(db, "a", "9501", ticket_id=ticket_id)
    plain = await _failed_row(db, "b", "9502")
    erased = await _failed_row(db, "c", "9503", scrubbed=True)

    listed = await run("outbox", "failed")
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert lines[0].startswith("3 failed message(s)")
    assert lines[1].split() == [
        "id", "kind", "target", "ticket", "attempts", "failed", "error"
    ]  # fmt: skip
    assert lines[2].split()[:6] == [
        str(with_ticket), "reporter_update", "chat", "9501", ticket.code, "8"
    ]  # fmt: skip
    assert lines[3].split()[:6] == [str(plain), "reporter_update", "chat", "9502", "—", "8"]
    assert "gave up after 8 attempts: NetworkError" in lines[2]
    for private in (PHONE, WORDS):  # never the text
        assert private not in listed.out

    result = await run("outbox", "retry", str(with_ticket))
    assert result.code == 0, result.err
    row = await row_of(db, OutboxMessage, with_ticket)
    # Back in the queue with a clean slate; the running sender may have taken it already.
    assert (row.failed_at, row.error) == (None, None) and row.status != "failed"
    assert row.attempts <= 1 and row.requeued_at is not None
    await service.sender.run_once()
    sent = await api.wait_for(lambda c: PHONE in (c.text or ""), chat_id=9501)
    assert sent.method == "sendMessage"
    await _until_status(db, with_ticket, "sent")

    for args, fragment in (
        ((str(erased),), f"message {erased} cannot be sent again: its content was erased"),
        ((str(with_ticket),), f"no failed message with id {with_ticket}"),  # sent now
        (("424242",), "no failed message with id 424242"),
    ):
        result = await run("outbox", "retry", *args)
        assert result.code == 2 and fragment in result.err, result.err

    result = await run("outbox", "retry", "--all")
    assert result.code == 0, result.err
    assert result.out.strip() == "1 message(s) back in the queue; 1 erased one(s) cannot be sent"
    await service.sender.run_once()
    await api.wait_for(lambda c: PHONE in (c.text or ""), chat_id=9502)
    await _until_status(db, plain, "sent")
    assert (await row_of(db, OutboxMessage, erased)).status == "failed"
    assert (await run("outbox", "failed")).out.splitlines()[0].startswith("1 failed message(s)")
