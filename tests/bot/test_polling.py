"""The poller against every kind of answer a Bot API, or a proxy in front of it, gives:
each failure is one log line (type and status, never the body), a capped backoff, and the
next update is still processed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from bot_api import FakeBotAPI
from sqlmodel import col, select

from bot.application import build_application
from bot.polling import OK, TOKEN_REFUSED, UNREACHABLE, Poller
from bot.settings import Settings
from bot.tasks import Backoff
from flows.clock import system_clock
from flows.intake import Intake
from handlers.telegram.sender import OutboxSender
from handlers.telegram.updates import UpdateProcessor
from storage.db import Database
from storage.models import InboxUpdate

CHAT = 5151
# A marker in every failing body: it must never reach the log, at any level.
MARK = "BODY-MUST-NOT-BE-LOGGED"
PROXY_PAGE = f"<html><head><title>502 Bad Gateway</title></head><body>{MARK}{'x' * 20000}</body>"


@asynccontextmanager
async def polling(
    api: FakeBotAPI,
    db: Database,
    intake: Intake,
    *,
    backoff: Backoff | None = None,
    refused_backoff: Backoff | None = None,
) -> AsyncIterator[tuple[Poller, asyncio.Task[None]]]:
    """The Telegram side's poller and PTB application against the fake, with short waits."""
    settings = Settings(telegram_token=api.token, telegram_api_url=api.base_url)
    processor = UpdateProcessor(db=db, intake=intake, clock=system_clock)
    application = build_application(settings, processor)
    await application.initialize()
    # A turn's replies are delivered by the channel's sender right after its commit.
    processor.sender = OutboxSender(
        db=db, bot=application.bot, directory=intake.directory, clock=system_clock
    )
    poller = Poller(
        bot=application.bot,
        db=db,
        dispatch=application.process_update,
        clock=system_clock,
        timeout=1,
        backoff=backoff or Backoff(0.01, 0.05),
        refused_backoff=refused_backoff or Backoff(0.02, 0.05),
        read_timeout=0.5,  # a held answer times out quickly
    )
    task = asyncio.create_task(poller.run())
    try:
        yield poller, task
    finally:
        poller.stop()
        await asyncio.wait_for(task, 15)
        await poller.drain()
        await application.shutdown()


async def _menu(api: FakeBotAPI, chat: int) -> None:
    await api.wait_for(
        lambda c: c.method == "sendMessage" and "护童之声" in (c.text or ""),
        chat_id=chat,
        timeout=20,
    )


def _poller_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.polling" and r.levelno >= logging.WARNING]


def _assert_no_body_logged(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        text = record.getMessage()
        # PTB's own "cannot read this answer" lines (which quote it whole) are cut down to a
        # short DEBUG line; PTB's DEBUG lines quote every answer anyway, so INFO and up.
        assert not text.startswith(("Can not load invalid JSON", "Error while parsing updates"))
        if record.levelno >= logging.INFO:
            assert MARK not in text and "PERSONAL" not in text, record.name
            assert record.exc_info is None or record.levelno < logging.ERROR, record.name


WRONG_SHAPES = {
    "result not a list": f'{{"ok": true, "result": {{"update_id": 1, "note": "{MARK}"}}}}',
    "no result": '{"ok": true, "description": "BODY-MUST-NOT-BE-LOGGED"}',
    "not an object": '["BODY-MUST-NOT-BE-LOGGED"]',
    "update of the wrong shape": (
        '{"ok": true, "result": [{"update_id": 77, "message": {"text": "PERSONAL story",'
        ' "chat": "PERSONAL", "from": {"first_name": "PERSONAL name"}}}]}'
    ),
    "update_id not a number": (
        '{"ok": true, "result": [{"update_id": "PERSONAL", "message": {"message_id": 1,'
        ' "date": 0, "chat": {"id": 1, "type": "private"}, "text": "PERSONAL story"}}]}'
    ),
    "update_id out of range": '{"ok": true, "result": [{"update_id": 99999999999999999999}]}',
}

# kind -> fail_next arguments, the error type the log line names, its HTTP status, and level
FAILURES: dict[str, tuple[dict[str, Any], str, str, int]] = {
    "html with 200": (
        {"status": 200, "body": PROXY_PAGE},
        "TelegramError",
        "HTTP 200",
        logging.WARNING,
    ),
    "html with 502": (
        {"status": 502, "body": PROXY_PAGE},
        "NetworkError",
        "HTTP 502",
        logging.WARNING,
    ),
    "401": ({"status": 401}, "InvalidToken", "HTTP 401", logging.CRITICAL),
    "404 html from a gateway": (
        {"status": 404, "body": PROXY_PAGE},
        "InvalidToken",
        "HTTP 404",
        logging.CRITICAL,
    ),
    "500": ({"status": 500}, "NetworkError", "HTTP 500", logging.WARNING),
    "409 another poller": ({"status": 409}, "Conflict", "HTTP 409", logging.WARNING),
    "connection reset": ({"reset": True}, "NetworkError", "no answer", logging.WARNING),
    "timeout": (
        {"delay": 30, "status": 200, "body": "late"},
        "TimedOut",
        "no answer",
        logging.WARNING,
    ),
    **{
        f"json of the wrong shape: {name}": (
            {"status": 200, "body": body, "content_type": "application/json"},
            "",
            "HTTP 200",
            logging.WARNING,
        )
        for name, body in WRONG_SHAPES.items()
    },
}


@pytest.mark.parametrize("kind", list(FAILURES))
async def test_every_failure_is_one_line_a_backoff_and_the_next_update_is_processed(
    kind: str,
    bot_api: FakeBotAPI,
    db: Database,
    intake: Intake,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fail, error_type, status, level = FAILURES[kind]
    bot_api.fail_next("getUpdates", times=2, **fail)
    update_id = bot_api.push_text(CHAT, "/start")

    async with polling(bot_api, db, intake) as (poller, task):
        await _menu(bot_api, CHAT)
        assert not task.done()
        assert poller.status == OK

    lines = _poller_lines(caplog)
    assert len(lines) == 2, [r.getMessage() for r in lines]  # one per failed answer
    for line in lines:
        message = line.getMessage()
        assert line.levelno == level
        assert f"{error_type}, {status})" in message, message
        assert len(message) < 200
        assert line.exc_info is None
    if level == logging.CRITICAL:
        assert "HUTONG_TELEGRAM_TOKEN" in lines[0].getMessage()
        assert "HUTONG_TELEGRAM_API_URL" in lines[0].getMessage()
    _assert_no_body_logged(caplog)
    async with db.unit() as session:
        row = (
            await session.exec(select(InboxUpdate).where(col(InboxUpdate.update_id) == update_id))
        ).one()
    assert row.status == "done"


async def test_status_says_what_the_last_answer_was(
    bot_api: FakeBotAPI, db: Database, intake: Intake
) -> None:
    slow = Backoff(3600, 3600)
    bot_api.fail_next("getUpdates", status=401)
    async with polling(bot_api, db, intake, backoff=slow, refused_backoff=slow) as (poller, _):
        await _until(lambda: poller.status is not None)
        assert poller.status == TOKEN_REFUSED
    bot_api.fail_next("getUpdates", status=200, body=PROXY_PAGE)
    async with polling(bot_api, db, intake, backoff=slow, refused_backoff=slow) as (poller, _):
        await _until(lambda: poller.status is not None)
        assert poller.status == UNREACHABLE


async def test_backoff_grows_to_its_cap_and_restarts_after_a_good_answer(
    bot_api: FakeBotAPI, db: Database, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.polling")
    bot_api.fail_next("getUpdates", status=502, times=4)
    bot_api.push_text(CHAT, "/start")
    async with polling(bot_api, db, intake, backoff=Backoff(0.01, 0.03)):
        await _menu(bot_api, CHAT)
        mark = len(bot_api.calls)
        bot_api.fail_next("getUpdates", status=502)
        bot_api.push_text(CHAT + 1, "/start")
        await _menu(bot_api, CHAT + 1)
        assert len(bot_api.calls) > mark
    delays = [r.args[-1] for r in _poller_lines(caplog) if isinstance(r.args, tuple)]
    assert delays == [0.01, 0.02, 0.03, 0.03, 0.01]


async def test_stopping_interrupts_a_backoff_at_once(
    bot_api: FakeBotAPI, db: Database, intake: Intake
) -> None:
    hour = Backoff(3600, 3600)
    for fail in ({"status": 502, "body": PROXY_PAGE}, {"status": 401}):
        bot_api.fail_next("getUpdates", **fail)
        async with polling(bot_api, db, intake, backoff=hour, refused_backoff=hour) as (
            poller,
            task,
        ):
            await _until(lambda: poller.status is not None)
            poller.stop()
            await asyncio.wait_for(task, 5)  # not an hour


async def _until(condition: Any) -> None:
    async with asyncio.timeout(20):
        while not condition():  # noqa: ASYNC110 - state of the poller, no event to wait on
            await asyncio.sleep(0.01)


POISON = {
    "message": {
        "message_id": 1,
        "date": 0,
        "chat": "PERSONAL chat",  # PTB cannot build a Chat from this
        "text": "PERSONAL story",
    }
}


async def test_an_update_that_cannot_be_read_is_parked_and_the_rest_go_on(
    bot_api: FakeBotAPI, db: Database, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot_api.push_text(CHAT, "/start")
    poison_id = bot_api.push_raw(POISON)
    bot_api.push_text(CHAT + 1, "/start")
    async with polling(bot_api, db, intake) as (poller, task):
        await _menu(bot_api, CHAT)
        await _menu(bot_api, CHAT + 1)
        assert poller.status == OK and not task.done()
    assert bot_api.pending_updates == 0  # all confirmed: nothing blocks the next poll
    async with db.unit() as session:
        rows = {r.update_id: r for r in (await session.exec(select(InboxUpdate))).all()}
    assert rows[poison_id].status == "failed"
    assert rows[poison_id].error == "cannot be read (TypeError)"
    assert rows[poison_id].payload["update_id"] == poison_id  # kept for the operator
    assert [r.status for i, r in sorted(rows.items()) if i != poison_id] == ["done", "done"]
    parked = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert parked == [
        f"update {poison_id} cannot be read (TypeError); parked in the inbox as failed"
    ]
    _assert_no_body_logged(caplog)


async def test_a_recorded_update_that_cannot_be_read_does_not_block_polling(
    bot_api: FakeBotAPI, db: Database, intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    from storage import inbox

    async with db.unit() as session:
        await inbox.record(
            session,
            channel="telegram",
            update_id=10**6,
            payload={"update_id": 10**6, **POISON},
            chat_key=None,
            now=system_clock(),
        )
    bot_api.push_text(CHAT, "/start")
    async with polling(bot_api, db, intake) as (_, task):
        await _menu(bot_api, CHAT)
        assert not task.done()
    async with db.unit() as session:
        row = (
            await session.exec(select(InboxUpdate).where(col(InboxUpdate.update_id) == 10**6))
        ).one()
    assert (row.status, row.error) == ("failed", "cannot be read (TypeError)")
    assert "PERSONAL" not in caplog.text


async def test_the_person_whose_update_cannot_be_read_is_told_to_send_it_again(
    bot_api: FakeBotAPI, db: Database, intake: Intake
) -> None:
    """PTB cannot read the update, but its raw JSON still names the chat."""
    chat = CHAT + 7
    bot_api.push_raw(
        {
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": chat, "type": "private"},
                "from": {"id": chat, "is_bot": False, "first_name": "P"},
                "text": "PERSONAL story",
                "entities": "PERSONAL",  # PTB cannot build entities from this
            }
        }
    )
    async with polling(bot_api, db, intake) as (poller, _):
        sender = OutboxSender(db=db, bot=poller.bot, directory=intake.directory, clock=system_clock)
        told = None
        for _ in range(100):  # bounded: the poller parks it, the sender delivers the notice
            await sender.run_once()
            told = next(
                (
                    c
                    for c in bot_api.calls_for(chat, "sendMessage")
                    if "没能处理成功" in (c.text or "")
                ),
                None,
            )
            if told is not None:
                break
            await asyncio.sleep(0.05)
    assert told is not None
    async with db.unit() as session:
        row = (await session.exec(select(InboxUpdate))).one()
    assert (row.status, row.chat_key) == ("failed", str(chat))


async def test_the_inbox_keeps_each_update_as_telegram_sent_it(
    bot_api: FakeBotAPI, db: Database, intake: Intake
) -> None:
    """The JSON of the answer, not PTB's rendering of what it read (which adds defaults
    such as ``channel_chat_created: false``, and drops nulls)."""
    raw = {
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "A"},
            "text": "/start",
            "caption": None,
            "a_field_of_tomorrow": {"x": [1, None]},
        }
    }
    update_id = bot_api.push_raw(raw)
    async with polling(bot_api, db, intake):
        await _menu(bot_api, CHAT)
    async with db.unit() as session:
        row = (await session.exec(select(InboxUpdate))).one()
    assert row.payload == {"update_id": update_id, **raw}
