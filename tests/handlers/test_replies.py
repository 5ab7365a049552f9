"""A turn's replies are outbox rows written with the turn: sent right after the commit, re-sent
once after a crash, paced per chat, and never overtaking older messages to the same chat."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from bot_api import FakeBotAPI
from sqlmodel import col, select
from telegram import Bot, Update

from flows.intake import Intake
from flows.outbox import payload_of
from handlers.telegram.sender import OutboxSender
from handlers.telegram.updates import CHANNEL, MAX_ATTEMPTS, UpdateProcessor
from storage import inbox
from storage.db import Database
from storage.models import InboxUpdate, OutboxMessage
from storage.outbox import DIRECT_LEASE, enqueue

CHAT = 8801
_ids = itertools.count(70_000)


@pytest.fixture
def processor(db: Database, intake: Intake, clock: Any, bot: Bot) -> UpdateProcessor:
    p = UpdateProcessor(db=db, intake=intake, clock=clock)
    p.sender = OutboxSender(db=db, bot=bot, directory=intake.directory, clock=clock)
    return p


async def command(db: Database, clock: Any, bot: Bot, text: str) -> Update:
    """A command from CHAT, recorded in the inbox as the poller would."""
    update_id = next(_ids)
    payload = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "P"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }
    async with db.unit() as session:
        await inbox.record(
            session,
            channel=CHANNEL,
            update_id=update_id,
            payload=payload,
            chat_key=str(CHAT),
            now=clock(),
        )
    update = Update.de_json(payload, bot)
    assert update is not None
    return update


async def replies(db: Database) -> list[OutboxMessage]:
    async with db.unit() as session:
        query = select(OutboxMessage).where(col(OutboxMessage.target) == str(CHAT))
        return list((await session.exec(query.order_by(col(OutboxMessage.id)))).all())


def sent_to(api: FakeBotAPI) -> list[str]:
    return [c.text or "" for c in api.calls_for(CHAT, "sendMessage") if c.error is None]


async def test_a_crash_between_commit_and_send_re_sends_the_reply_once(
    db: Database,
    clock: Any,
    bot: Bot,
    bot_api: FakeBotAPI,
    processor: UpdateProcessor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def died(rows: list[OutboxMessage]) -> None:
        """The process dies right after the turn's commit, before any call."""

    assert processor.sender is not None
    monkeypatch.setattr(processor.sender, "send_now", died)
    assert await processor.process(await command(db, clock, bot, "/start"), bot)
    [row] = await replies(db)
    assert (row.kind, row.status) == ("reply", "sending") and sent_to(bot_api) == []

    restarted = OutboxSender(db=db, bot=bot, directory=processor.intake.directory, clock=clock)
    await restarted.run_once()
    assert sent_to(bot_api) == []  # the lease of the dead process still runs
    clock.advance(seconds=DIRECT_LEASE.total_seconds())
    await restarted.run_once()
    await restarted.run_once()
    assert len(sent_to(bot_api)) == 1 and "护童之声" in sent_to(bot_api)[0]
    assert [r.status for r in await replies(db)] == ["sent"]


async def test_replies_are_sent_at_once_and_marked_sent(
    db: Database, clock: Any, bot: Bot, bot_api: FakeBotAPI, processor: UpdateProcessor
) -> None:
    assert await processor.process(await command(db, clock, bot, "/start"), bot)
    assert len(sent_to(bot_api)) == 1
    [row] = await replies(db)
    assert row.status == "sent" and row.sent_at == clock()


async def test_a_reply_queues_behind_an_older_message_to_the_same_chat(
    db: Database, clock: Any, bot: Bot, bot_api: FakeBotAPI, processor: UpdateProcessor
) -> None:
    async with db.unit() as session:  # waiting out a 429 for this chat
        await enqueue(
            session,
            dedup_key="older",
            kind="reporter_update",
            now=clock() + timedelta(seconds=5),
            payload=payload_of("older news"),
            chat_id=str(CHAT),
        )
    assert await processor.process(await command(db, clock, bot, "/help"), bot)
    assert sent_to(bot_api) == []  # not overtaking the older message
    assert [r.status for r in await replies(db)] == ["pending", "pending"]
    clock.advance(seconds=5)
    assert processor.sender is not None
    await processor.sender.run_once()
    texts = sent_to(bot_api)
    assert texts[0] == "older news" and "/start" in texts[1]


async def test_direct_replies_keep_the_chats_pace(
    db: Database, clock: Any, bot: Bot, bot_api: FakeBotAPI, processor: UpdateProcessor
) -> None:
    """Five commands at once: a burst of three answers, then one a second through the outbox
    (the test's clock does not move by itself)."""
    for _ in range(5):
        assert await processor.process(await command(db, clock, bot, "/help"), bot)
    assert len(sent_to(bot_api)) == 3
    assert [r.status for r in await replies(db)] == ["sent"] * 3 + ["pending"] * 2
    assert processor.sender is not None
    await processor.sender.run_once()
    assert len(sent_to(bot_api)) == 3
    clock.advance(seconds=1)
    await processor.sender.run_once()
    assert len(sent_to(bot_api)) == 4
    clock.advance(seconds=1)
    await processor.sender.run_once()
    assert len(sent_to(bot_api)) == 5


async def test_an_update_parked_for_good_tells_the_person_to_try_again(
    db: Database,
    clock: Any,
    bot: Bot,
    bot_api: FakeBotAPI,
    processor: UpdateProcessor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import handlers.telegram.updates as updates

    async def broken(**kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(updates, "take_turn", broken)
    update = await command(db, clock, bot, "/start")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert not await processor.process(update, bot)
        async with db.unit() as session:
            row = (await session.exec(select(InboxUpdate))).one()
        assert row.attempts == attempt
        told = [r for r in await replies(db) if r.kind == "update_failed"]
        assert len(told) == (1 if attempt == MAX_ATTEMPTS else 0)  # once, when parked
    assert row.status == "failed"
    assert processor.sender is not None
    await processor.sender.run_once()
    [text] = sent_to(bot_api)
    assert "没能处理成功" in text and "/start" in text and "12355" in text


async def test_replies_to_an_update_id_telegram_used_before_are_sent(
    db: Database, clock: Any, bot: Bot, bot_api: FakeBotAPI, processor: UpdateProcessor
) -> None:
    """Telegram numbers afresh after a quiet week: an update id seen a month ago comes
    again, and the replies of the new update must not be taken for the old ones."""
    update = await command(db, clock, bot, "/start")
    assert await processor.process(update, bot)
    clock.advance(days=30)
    async with db.unit() as session:  # the same id, a new update
        assert await inbox.record(
            session,
            channel=CHANNEL,
            update_id=update.update_id,
            payload=update.to_dict(),
            chat_key=str(CHAT),
            now=clock(),
        )
    assert await processor.process(update, bot)
    assert len(sent_to(bot_api)) == 2


async def test_a_restart_sends_what_was_in_flight_at_once(
    db: Database,
    clock: Any,
    bot: Bot,
    bot_api: FakeBotAPI,
    processor: UpdateProcessor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A killed process's replies need not wait out their lease: `hutong serve` releases
    them at start, before anything else is sent, and the next replies queue behind them."""
    from storage.outbox import release_in_flight

    async def died(rows: list[OutboxMessage]) -> None:
        """Killed right after the turn's commit."""

    assert processor.sender is not None
    monkeypatch.setattr(processor.sender, "send_now", died)
    assert await processor.process(await command(db, clock, bot, "/start"), bot)
    async with db.unit() as session:  # the restart
        assert await release_in_flight(session, now=clock()) == 1
    restarted = OutboxSender(db=db, bot=bot, directory=processor.intake.directory, clock=clock)
    await restarted.run_once()
    assert len(sent_to(bot_api)) == 1 and [r.status for r in await replies(db)] == ["sent"]


def answered(rows: list[OutboxMessage]) -> list[int]:
    """The update each reply answers, in the order the replies were written."""
    return [int(row.dedup_key.split(":")[2]) for row in rows if row.kind == "reply"]


async def test_a_chats_update_taken_in_by_another_process_is_answered_first(
    db: Database, clock: Any, bot: Bot, processor: UpdateProcessor
) -> None:
    """Two web processes each record one of a person's updates; the one that processes
    first takes the older update too, so the answers keep the person's order."""
    older = await command(db, clock, bot, "/start")  # recorded by the other process
    newer = await command(db, clock, bot, "/help")
    assert await processor.process(newer, bot)
    assert answered(await replies(db)) == [older.update_id, newer.update_id]
    written = len(await replies(db))
    assert await processor.process(older, bot)  # the other process gets to it: done already
    assert len(await replies(db)) == written
    async with db.unit() as session:
        statuses = (await session.exec(select(InboxUpdate.status))).all()
    assert statuses == ["done", "done"]


async def test_an_older_update_that_fails_does_not_hold_the_chat_up(
    db: Database, clock: Any, bot: Bot, processor: UpdateProcessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import handlers.telegram.updates as updates

    real = updates.take_turn

    async def fails_on_start(**kwargs: Any) -> Any:
        if getattr(kwargs["event"], "name", None) == "start":
            raise RuntimeError("a bug")
        return await real(**kwargs)

    monkeypatch.setattr(updates, "take_turn", fails_on_start)
    older = await command(db, clock, bot, "/start")
    newer = await command(db, clock, bot, "/help")
    assert await processor.process(newer, bot)
    assert answered(await replies(db)) == [newer.update_id]
    async with db.unit() as session:
        rows = {r.update_id: r for r in (await session.exec(select(InboxUpdate))).all()}
    assert (rows[older.update_id].status, rows[older.update_id].attempts) == ("pending", 1)
    assert rows[newer.update_id].status == "done"
