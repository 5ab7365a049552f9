"""The composition root: database, directory, web server, scheduler and bot in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from telegram.error import BadRequest, InvalidToken

from bot import polling
from bot.application import build_application
from bot.jobs import Jobs
from bot.polling import ALLOWED_UPDATES, Poller
from bot.retention import RETENTION_SECONDS, apply_retention
from bot.settings import Settings, SettingsError
from bot.tasks import Backoff, Supervisor, pause
from flows import escalation
from flows.clock import Clock, system_clock
from flows.intake import Intake
from flows.places import Directory
from flows.sla import PolicyError, load_policy
from handlers.telegram.sender import ChatPacer, OutboxSender
from handlers.telegram.updates import UpdateProcessor
from handlers.telegram.webhook import WebhookReceiver
from handlers.web.app import init_app
from handlers.web.webhook import Webhook
from storage import inbox
from storage.db import Database, make_engine
from storage.migrate import load_divisions, schema_is_current, seed_directory, upgrade_async
from storage.outbox import release_in_flight

log = logging.getLogger("hutong")

INBOX_RETRY_SECONDS = 15
INBOX_SCRUB_SECONDS = 3600
INBOX_KEEP = timedelta(days=7)  # raw updates kept this long after processing, for inquiries


async def load_directory(db: Database) -> Directory:
    return Directory.from_rows(await load_divisions(db))


def _unreachable(settings: Settings, exc: Exception) -> SettingsError:
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return SettingsError(f"cannot open the database {where}: {reason}")


async def prepare_database(settings: Settings) -> Database:
    """Open the database, turning "cannot reach it" into one line for the operator."""
    try:
        return await _prepare_database(settings)
    except (OSError, SQLAlchemyError) as exc:
        raise _unreachable(settings, exc) from None


async def _prepare_database(settings: Settings) -> Database:
    """Migrate the embedded SQLite; insist that PostgreSQL was migrated by the operator."""
    if settings.is_sqlite:
        await upgrade_async(settings.database_url)
    db = Database(make_engine(settings.database_url))
    if not settings.is_sqlite and not await schema_is_current(db.engine):
        await db.dispose()
        raise SettingsError("the database schema is not current: run `hutong db upgrade`")
    if await seed_directory(db):
        log.info("loaded the bundled division directory")
    return db


async def serve(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM) if handle_signals else ():
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    try:  # before anything else: a bad policy file must stop start-up at once
        policy = load_policy(settings.sla_file)
    except PolicyError as exc:
        raise SettingsError(str(exc)) from None
    db = await prepare_database(settings)
    async with db.unit() as session:
        released = await release_in_flight(session, now=clock())
    if released:
        log.info("%d message(s) being sent when the service last stopped go out again", released)
    jobs = Jobs()
    bot: TelegramSide | None = None
    runner: web.AppRunner | None = None
    try:
        intake = Intake(await load_directory(db), policy)
        if settings.telegram_token is not None:
            bot = TelegramSide(settings, db=db, intake=intake, clock=clock)
        else:
            log.info("HUTONG_TELEGRAM_TOKEN not set: the Telegram bot is off")
        runner = web.AppRunner(
            init_app(
                db=db,
                webhook=bot.webhook if bot else None,
                telegram=bot.state if bot else None,
            )
        )
        await runner.setup()
        await web.TCPSite(runner, settings.http_host, settings.http_port).start()
        log.info("HTTP on http://%s:%s", settings.http_host, settings.http_port)
        if bot is not None:
            # In the background: a Bot API that is down or refuses the token must not keep
            # the web intake, the sweep and the other jobs from running.
            bot.start(jobs, Supervisor())
        # The first sweep runs at once: what fell due while the service was down fires now.
        sender = bot.sender if bot is not None else None

        def advanced(n: int) -> None:
            log.info("deadline sweep advanced %d ticket(s)", n)
            if sender is not None:  # the sweep wrote messages: look now, not at the next tick
                sender.wake()

        jobs.every(
            settings.sweep_seconds,
            escalation.sweep_deadlines,
            first_now=True,
            db=db,
            directory=intake.directory,
            policy=policy,
            clock=clock,
            on_advanced=advanced,
            batch=settings.sweep_batch,
        )
        jobs.every(INBOX_SCRUB_SECONDS, scrub_inbox, first_now=True, db=db, clock=clock)
        jobs.every(
            RETENTION_SECONDS,
            apply_retention,
            first_now=True,
            db=db,
            clock=clock,
            days=settings.retention_days,
        )
        jobs.start()
        await stop.wait()
    finally:
        log.info("shutting down")
        # Updates stop coming in and those being processed finish, the sender ends its
        # batch, then the jobs; the web server and the bot's connections close last, so
        # what is still running can use them.
        if bot is not None:
            await bot.stop()
        await jobs.stop()
        if runner is not None:
            await runner.cleanup()
        if bot is not None:
            await bot.close()
        await db.dispose()


class TelegramSide:
    """The bot: PTB Application, outbox sender, and updates by long polling or webhook."""

    def __init__(
        self,
        settings: Settings,
        *,
        db: Database,
        intake: Intake,
        clock: Clock,
        pacer: ChatPacer | None = None,
    ) -> None:
        """``pacer``: Telegram's per-chat limits by default; tests pass a faster one."""
        self.settings = settings
        self.db = db
        self.clock = clock
        self.processor = UpdateProcessor(db=db, intake=intake, clock=clock)
        self.application = build_application(settings, self.processor)
        self.sender = OutboxSender(
            db=db,
            bot=self.application.bot,
            directory=intake.directory,
            clock=clock,
            duty_chat=str(settings.duty_chat_id) if settings.duty_chat_id else None,
            deliver_for=timedelta(hours=settings.outbox_deliver_hours),
            retry_max=settings.outbox_retry_max_seconds,
            per_second=settings.telegram_messages_per_second,
            pacer=pacer
            or ChatPacer(clock, private=1 / settings.telegram_chat_messages_per_second),
        )
        self.processor.on_outbox = self.sender.wake
        self.processor.sender = self.sender
        self.webhook: Webhook | None = None
        if settings.webhook_url and settings.webhook_secret:
            receiver = WebhookReceiver(
                bot=self.application.bot, db=db, processor=self.processor, clock=clock
            )
            self.webhook = Webhook(settings.webhook_secret.get_secret_value(), receiver)
        self.poller = Poller(
            bot=self.application.bot,
            db=db,
            dispatch=self.application.process_update,
            clock=clock,
            timeout=settings.poll_timeout,
        )
        self.poll_task: asyncio.Task[None] | None = None
        self.send_task: asyncio.Task[None] | None = None

    # Set by start(); class defaults so that stop() and state() work before it.
    _tasks: Supervisor | None = None
    _state: str | None = polling.CONNECTING  # None once the poller's own status applies
    # (first, cap) seconds between attempts to connect; a refused token is retried slowly.
    connect_delays = (polling.FIRST_BACKOFF, 60.0)
    refused_delays = (polling.REFUSED_FIRST_BACKOFF, polling.REFUSED_MAX_BACKOFF)

    def state(self) -> str:
        """What /healthz shows: connecting, ok, token refused, unreachable, conflict,
        webhook refused."""
        if self._state is None:
            return self.poller.status or polling.OK
        return self._state

    def start(self, jobs: Jobs, tasks: Supervisor) -> None:
        """Connect to the Bot API in the background; returns at once."""
        self._tasks = tasks
        tasks.spawn("telegram-connect", lambda: self.connect(jobs, tasks))

    async def connect(self, jobs: Jobs, tasks: Supervisor) -> None:
        """getMe, then tell Telegram where updates go, each retried until it works; then
        the sender and (without a webhook) the poller run under ``tasks``."""
        if not await self._until_done("getMe", self.application.initialize, tasks):
            return
        # Each step once, should the supervisor start this again after a fault.
        if not self.application.running:
            await self.application.start()
        if self.send_task is None:
            self.send_task = tasks.spawn("outbox-sender", self.sender.run)
        bot = self.application.bot
        if self.webhook is not None:
            assert self.settings.webhook_url is not None
            webhook_url, secret = self.settings.webhook_url, self.webhook.secret

            async def register() -> None:
                await bot.set_webhook(
                    url=webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
                )

            if not await self._until_done("setWebhook", register, tasks):
                return
            self._state = polling.OK
            log.info("Telegram bot @%s on webhook %s", bot.username, webhook_url)
        else:
            # getUpdates is refused while a webhook is set (from an earlier webhook run).
            if not await self._until_done("deleteWebhook", bot.delete_webhook, tasks):
                return
            self.poller.status = None
            self._state = None
            self.poll_task = tasks.spawn("telegram-polling", self.poller.run)
            log.info("Telegram bot @%s polling %s", bot.username, self.settings.telegram_api_url)
        # Updates whose processing failed are retried; the first try was immediate.
        jobs.every(INBOX_RETRY_SECONDS, self.poller.replay_pending, older_than_seconds=60)

    async def _until_done(
        self, what: str, call: Callable[[], Awaitable[Any]], tasks: Supervisor
    ) -> bool:
        """Call until it works (True), with capped backoff, or until stopping (False). A
        refused token (or webhook URL) needs the operator: retried slowly, logged loudly."""
        backoff, refused = Backoff(*self.connect_delays), Backoff(*self.refused_delays)
        while True:
            polling.reset_status()
            try:
                await call()
                return True
            except Exception as exc:  # any answer at all, as in the poller
                what_failed = polling.answer(exc, polling.last_status())
                self._state = polling.state_of(exc)
                if isinstance(exc, InvalidToken):
                    delay = refused.next()
                    log.critical(
                        "Telegram refused the bot token at %s (%s: %s): %s; retrying in %.0f s",
                        self.settings.telegram_api_url,
                        what,
                        what_failed,
                        polling.TOKEN_HINT,
                        delay,
                    )
                elif isinstance(exc, BadRequest) and self.webhook is not None:
                    self._state = polling.WEBHOOK_REFUSED
                    delay = refused.next()
                    log.critical(
                        "Telegram refused the webhook (%s: %s): check HUTONG_WEBHOOK_URL;"
                        " retrying in %.0f s",
                        what,
                        what_failed,
                        delay,
                    )
                else:
                    delay = backoff.next()
                    log.warning(
                        "cannot reach the Bot API at %s (%s: %s); retrying in %.0f s",
                        self.settings.telegram_api_url,
                        what,
                        what_failed,
                        delay,
                    )
            if not await pause(tasks.stopping, delay):
                return False

    async def stop(self) -> None:
        """Stop taking updates, let those being processed finish, let the sender end its
        batch. The bot's connections stay open for the jobs still running (``close``)."""
        tasks = self._tasks
        if tasks is not None:
            tasks.stop()  # no restarts; the connect step gives up where it is
        self.poller.stop()
        if tasks is not None:
            await tasks.cancel("telegram-connect")  # Bot API calls only: nothing half-written
            await tasks.finish("telegram-polling", grace=15)
        await self.poller.drain()
        self.sender.stop()
        if tasks is not None:
            await tasks.finish("outbox-sender", grace=15)

    async def close(self) -> None:
        if self.application.running:  # not when it never connected
            await self.application.stop()
        await self.application.shutdown()
        # A getMe that failed leaves the HTTP clients open and the application uninitialised.
        await self.application.bot.shutdown()


async def scrub_inbox(*, db: Database, clock: Clock) -> int:
    async with db.unit() as session:
        return await inbox.scrub(session, processed_before=clock() - INBOX_KEEP)


async def upgrade_and_seed(settings: Settings) -> None:
    """``hutong db upgrade``: migrations, then the directory on first run."""
    try:
        await upgrade_async(settings.database_url)
    except (OSError, SQLAlchemyError) as exc:
        raise _unreachable(settings, exc) from None
    db = Database(make_engine(settings.database_url))
    try:
        await seed_directory(db)
    finally:
        await db.dispose()


async def with_database(settings: Settings, work: Callable[[Database], Awaitable[str]]) -> str:
    """Run one console command against a prepared database."""
    db = await prepare_database(settings)
    try:
        return await work(db)
    finally:
        await db.dispose()
