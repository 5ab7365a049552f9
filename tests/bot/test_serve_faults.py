"""`serve` keeps running whatever the Bot API does: the web server, the sweep and the jobs
start regardless, the Telegram side connects in the background (retrying), /healthz says
how it is, a failing background task is restarted, and stopping is prompt and drains."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from bot_api import FakeBotAPI
from harness import FakeClock
from serve_process import free_port
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot.service import TelegramSide, serve
from bot.settings import Settings
from storage.db import Database

PAGE = "<html><body>502 Bad Gateway PAGE-BODY</body></html>"


class FailsOnce:
    """Stands in for an async function: the first call raises ``error`` (the database away
    for a moment), every later one is passed to ``real``; ``calls`` counts them all."""

    def __init__(self, real: Callable[..., Any], error: Exception) -> None:
        self.real, self.error, self.calls = real, error, 0

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise self.error
        return await self.real(*args, **kwargs)


class Running:
    def __init__(self, settings: Settings, task: asyncio.Task[None], stop: asyncio.Event) -> None:
        self.settings = settings
        self.task = task
        self.stop = stop
        self.url = f"http://127.0.0.1:{settings.http_port}/healthz"

    async def health(self) -> tuple[int, dict[str, str]]:
        async with aiohttp.ClientSession() as http, http.get(self.url) as resp:
            return resp.status, await resp.json()

    async def until_telegram(self, state: str) -> dict[str, str]:
        """/healthz until the Telegram side reports ``state`` (bounded)."""
        body: dict[str, str] = {}
        async with asyncio.timeout(30):
            while body.get("telegram") != state:
                assert not self.task.done(), self.task
                status, body = await self.health()
                assert status == 200, body
                await asyncio.sleep(0.02)
        return body


@asynccontextmanager
async def running(settings: Settings, clock: FakeClock) -> AsyncIterator[Running]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, clock=clock, stop=stop, handle_signals=False))
    service = Running(settings, task, stop)
    try:
        async with asyncio.timeout(30):
            while True:  # until the web server answers
                assert not task.done(), task.exception()
                try:
                    await service.health()
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.02)
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def _settings(database_url: str, api: FakeBotAPI, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        http_port=free_port(),
        telegram_token=api.token,
        telegram_api_url=api.base_url,
        poll_timeout=1,
        **extra,
    )


def _menu_to(chat: int) -> Callable[[Any], bool]:
    return lambda c: c.method == "sendMessage" and c.chat_id == chat and "护童之声" in c.text


async def test_a_refused_token_keeps_the_service_up_and_is_retried_slowly_and_loudly(
    database_url: str,
    db: Database,
    bot_api: FakeBotAPI,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(TelegramSide, "refused_delays", (0.2, 0.2))
    settings = _settings(database_url, bot_api)
    good_token = bot_api.token
    bot_api.token = "999:SOMEONE-ELSE"  # the fake now refuses the configured token
    async with running(settings, clock) as service:
        body = await service.until_telegram("token refused")
        # The sender waits for a token that works; the scheduler runs on regardless.
        assert body == {
            "status": "ok",
            "database": "ok",
            "telegram": "token refused",
            "scheduler": "ok",
            "sender": "starting",
        }
        critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
        assert critical and "getMe: InvalidToken, HTTP 401" in critical[0].getMessage()
        assert "HUTONG_TELEGRAM_TOKEN" in critical[0].getMessage()
        assert good_token.split(":")[1] not in caplog.text  # the token is never logged

        bot_api.token = good_token  # the operator fixed the gateway: the next try connects
        await service.until_telegram("ok")
        bot_api.push_text(6101, "/start")
        await bot_api.wait_for(_menu_to(6101), timeout=20)


async def test_a_bot_api_that_answers_html_at_start_is_retried_until_it_works(
    database_url: str,
    db: Database,
    bot_api: FakeBotAPI,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(TelegramSide, "connect_delays", (0.05, 0.1))
    bot_api.fail_next("getMe", status=502, body=PAGE, times=2)
    bot_api.fail_next("deleteWebhook", status=200, body=PAGE)
    bot_api.push_text(6102, "/start")
    async with running(_settings(database_url, bot_api), clock):
        await bot_api.wait_for(_menu_to(6102), timeout=30)
    warnings = [r.getMessage() for r in caplog.records if r.name == "hutong" and r.levelno >= 30]
    assert warnings == [
        f"cannot reach the Bot API at {bot_api.base_url} ({what}); retrying in 0 s"
        for what in (
            "getMe: NetworkError, HTTP 502",
            "getMe: NetworkError, HTTP 502",
            "deleteWebhook: TelegramError, HTTP 200",
        )
    ]
    assert "PAGE-BODY" not in caplog.text


async def test_a_polling_loop_that_fails_is_restarted_and_serve_keeps_running(
    database_url: str,
    db: Database,
    bot_api: FakeBotAPI,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from storage import inbox

    # The database is away for a moment when polling starts.
    gone = OperationalError("SELECT", {"story": "PERSONAL"}, ConnectionError("gone"))
    monkeypatch.setattr(inbox, "pending", FailsOnce(inbox.pending, gone))
    bot_api.push_text(6103, "/start")
    async with running(_settings(database_url, bot_api), clock) as service:
        await bot_api.wait_for(_menu_to(6103), timeout=30)
        assert not service.task.done()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.tasks"]
    assert len(lines) == 1
    assert lines[0].startswith("background task telegram-polling failed (OperationalError at ")
    assert "PERSONAL" not in caplog.text


async def test_stopping_while_the_connection_waits_to_retry_is_prompt(
    database_url: str, db: Database, bot_api: FakeBotAPI, clock: FakeClock
) -> None:
    settings = _settings(database_url, bot_api)
    bot_api.token = "999:SOMEONE-ELSE"
    async with running(settings, clock) as service:
        await service.until_telegram("token refused")  # now waiting a minute to retry
        service.stop.set()
        await asyncio.wait_for(asyncio.shield(service.task), 10)


async def test_a_sweep_that_fails_once_runs_again_at_the_next_tick(
    database_url: str,
    db: Database,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows import escalation

    gone = OperationalError("UPDATE", {"phone": "PERSONAL"}, ConnectionError("gone"))
    sweep = FailsOnce(escalation.sweep, gone)
    monkeypatch.setattr(escalation, "sweep", sweep)
    settings = Settings(database_url=database_url, http_port=free_port(), sweep_seconds=0.05)
    async with running(settings, clock) as service:
        async with asyncio.timeout(20):
            while sweep.calls < 3:  # noqa: ASYNC110 - counting the scheduler's ticks
                await asyncio.sleep(0.02)
        status, body = await service.health()
        assert status == 200
        assert body == {
            "status": "ok",
            "database": "ok",
            "telegram": "off",
            "scheduler": "ok",  # a job that failed once is not a stalled scheduler
            "sender": "off",
        }
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.jobs"]
    assert len(lines) == 1
    assert lines[0].startswith("job sweep_deadlines failed (OperationalError at ")
    assert "PERSONAL" not in caplog.text


async def test_stopping_lets_an_update_being_processed_finish_before_the_database_closes(
    database_url: str,
    db: Database,
    bot_api: FakeBotAPI,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.polling import Poller
    from handlers.telegram.updates import UpdateProcessor

    order: list[str] = []
    entered, draining, release = asyncio.Event(), asyncio.Event(), asyncio.Event()
    real_process, real_drain, real_dispose = UpdateProcessor.process, Poller.drain, Database.dispose

    async def slow_process(self: UpdateProcessor, update: Any, bot: Any) -> bool:
        entered.set()
        await release.wait()  # still being processed when the service is told to stop
        done = await real_process(self, update, bot)
        order.append("processed")
        return done

    async def drain(self: Poller) -> None:
        draining.set()
        await real_drain(self)

    async def dispose(self: Database) -> None:
        order.append("database closed")
        await real_dispose(self)

    monkeypatch.setattr(UpdateProcessor, "process", slow_process)
    monkeypatch.setattr(Poller, "drain", drain)
    monkeypatch.setattr(Database, "dispose", dispose)
    bot_api.push_text(6104, "/start")
    async with running(_settings(database_url, bot_api), clock) as service:
        await asyncio.wait_for(entered.wait(), 30)
        service.stop.set()
        await asyncio.wait_for(draining.wait(), 30)
        release.set()
        await asyncio.wait_for(asyncio.shield(service.task), 30)
    assert order[:2] == ["processed", "database closed"]
    assert bot_api.calls_for(6104, "sendMessage")  # its reply went out before the end


async def test_the_command_lists_wait_for_telegram_and_are_retried_until_it_takes_them(
    database_url: str,
    db: Database,
    bot_api: FakeBotAPI,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Queued at start whatever Telegram does (flows.commands.reconcile), sent by the outbox
    once the bot has connected; a list Telegram fails is tried again, none is lost."""
    from flows.commands import CITIZEN, KIND
    from storage.models import OutboxMessage

    monkeypatch.setattr(TelegramSide, "connect_delays", (0.05, 0.1))
    bot_api.fail_next("getMe", status=502, times=2)
    bot_api.fail_next("setMyCommands", status=500, times=2)
    citizens = [c.name for c in CITIZEN]

    async def statuses() -> list[str]:
        async with db.unit() as session:
            query = select(OutboxMessage).where(OutboxMessage.kind == KIND)
            return sorted(r.status for r in (await session.exec(query)).all())

    async with running(_settings(database_url, bot_api), clock):
        async with asyncio.timeout(30):
            # Every row delivered, not only the lists seen: the clearings may go out after.
            while [bot_api.visible_commands(6105, language_code=lang) for lang in ("zh", "en")] != [
                citizens,
                citizens,
            ] or await statuses() != ["sent"] * 4:
                clock.advance(seconds=1)  # the failed lists' pause passes
                await asyncio.sleep(0.05)
    failed = [c for c in bot_api.calls if c.method == "setMyCommands" and c.error == 500]
    assert len(failed) == 2
    assert await statuses() == ["sent"] * 4  # two lists, two clearings


async def test_a_username_setting_that_is_not_the_tokens_bot_is_warned_about(
    database_url: str,
    db: Database,
    bot_api: FakeBotAPI,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`hutong staff invite` would print links to another bot: serve says so at connect."""
    settings = _settings(database_url, bot_api, telegram_username="another_bot")
    async with running(settings, clock) as service:
        await service.until_telegram("ok")
    warned = [
        r.getMessage() for r in caplog.records if "HUTONG_TELEGRAM_USERNAME" in r.getMessage()
    ]
    assert warned == [
        "HUTONG_TELEGRAM_USERNAME is another_bot but the token is the bot @hutong_test_bot:"
        " the invitation links `hutong staff invite` prints lead to the wrong bot"
    ]
