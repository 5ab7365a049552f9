"""The Telegram side of the service: PTB's Application, the outbox sender, and updates by
long polling or webhook — each part present only in the roles that run it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, InvalidToken

from bot import polling
from bot.application import build_application
from bot.jobs import Jobs
from bot.polling import ALLOWED_UPDATES, Poller
from bot.roles import Role
from bot.settings import Settings
from bot.tasks import Backoff, Supervisor, pause
from flows.clock import Clock
from flows.commands import reconcile
from flows.intake import Intake
from handlers.telegram.pace import ChatPacer, LocalPace, Pace, SharedPace
from handlers.telegram.sender import OutboxSender
from handlers.telegram.updates import UpdateProcessor
from handlers.telegram.webhook import WebhookReceiver
from handlers.web.probes import OFF, STOPPED
from handlers.web.webhook import Webhook
from storage.db import Database

log = logging.getLogger("hutong")

INBOX_RETRY_SECONDS = 15


class TelegramSide:
    """The bot: PTB Application, outbox sender, and updates by long polling or webhook."""

    def __init__(
        self,
        settings: Settings,
        *,
        db: Database,
        intake: Intake,
        clock: Clock,
        role: Role = Role.ALL,
        pacer: ChatPacer | None = None,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        """``pacer``: Telegram's per-chat limits by default; tests pass a faster one.
        ``on_outbox``: how a turn that wrote outbox rows wakes a sender in another process
        (role web); where this process sends, its own sender is woken."""
        self.settings = settings
        self.db = db
        self.clock = clock
        self.role = role
        self.processor = UpdateProcessor(db=db, intake=intake, clock=clock)
        self.application = build_application(settings, self.processor)
        self.sender: OutboxSender | None = None
        if role.sends:
            self.sender = OutboxSender(
                db=db,
                bot=self.application.bot,
                directory=intake.directory,
                clock=clock,
                duty_chat=str(settings.duty_chat_id) if settings.duty_chat_id else None,
                deliver_for=timedelta(hours=settings.outbox_deliver_hours),
                retry_max=settings.outbox_retry_max_seconds,
                pace=self._pace(pacer),
            )
            self.processor.on_outbox = self.sender.wake
            self.processor.sender = self.sender
        else:
            self.processor.on_outbox = on_outbox
        self.webhook: Webhook | None = None
        if role.receives and settings.webhook_url and settings.webhook_secret:
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

    def _pace(self, pacer: ChatPacer | None) -> Pace:
        settings = self.settings
        private = 1 / settings.telegram_chat_messages_per_second
        if self.role.shares_limits:  # other workers send too: the limits are kept in the db
            return SharedPace(
                self.db,
                self.clock,
                per_second=settings.telegram_messages_per_second,
                private=private,
            )
        return LocalPace(
            pacer or ChatPacer(self.clock, private=private),
            per_second=settings.telegram_messages_per_second,
        )

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

    def sender_state(self) -> str:
        """For /healthz: "off" where this role does not send, "starting" until the Bot API
        answered getMe, then what the sender says."""
        if self.sender is None:
            return OFF
        if self.send_task is None:
            return "starting"
        if self.send_task.done():
            return STOPPED
        return self.sender.state()

    def start(self, jobs: Jobs, tasks: Supervisor) -> None:
        """Connect to the Bot API in the background; returns at once."""
        self._tasks = tasks
        tasks.spawn("telegram-connect", lambda: self.connect(jobs, tasks))
        if self.role.sends:  # restarted by the supervisor should the database fail it
            tasks.spawn("bot-commands", self.publish_commands)

    async def publish_commands(self) -> None:
        """Queue the bot's command lists that differ from what was last sent (a new
        release's, staff enrolled before there were lists): sent by the outbox sender once
        the Bot API answers, retried like any message while it does not."""
        async with self.db.unit() as session:
            queued = await reconcile(session=session, now=self.clock())
        if queued:
            log.info("%d command list(s) queued for Telegram", queued)
            if self.sender is not None:
                self.sender.wake()

    async def connect(self, jobs: Jobs, tasks: Supervisor) -> None:
        """getMe, then tell Telegram where updates go, each retried until it works; then
        the sender and (without a webhook) the poller run under ``tasks``."""
        if not await self._until_done("getMe", self.application.initialize, tasks):
            return
        # Each step once, should the supervisor start this again after a fault.
        if not self.application.running:
            await self.application.start()
        if self.send_task is None and self.sender is not None:
            self.send_task = tasks.spawn("outbox-sender", self.sender.run)
        bot = self.application.bot
        named = self.settings.telegram_username
        if named is not None and bot.username and named.lower() != bot.username.lower():
            log.warning(
                "HUTONG_TELEGRAM_USERNAME is %s but the token is the bot @%s: the invitation"
                " links `hutong staff invite` prints lead to the wrong bot",
                named,
                bot.username,
            )
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
        elif self.role.receives:
            # getUpdates is refused while a webhook is set (from an earlier webhook run).
            if not await self._until_done("deleteWebhook", bot.delete_webhook, tasks):
                return
            self.poller.status = None
            self._state = None
            self.poll_task = tasks.spawn("telegram-polling", self.poller.run)
            log.info("Telegram bot @%s polling %s", bot.username, self.settings.telegram_api_url)
        else:  # a worker: the web processes receive
            self._state = polling.OK
            log.info("Telegram bot @%s sending (role %s)", bot.username, self.role.value)
        if self.role.runs_jobs:
            # Updates whose processing failed are retried; the first try was immediate.
            jobs.every(INBOX_RETRY_SECONDS, self.poller.replay_pending, older_than_seconds=60)
        shared = self.sender.pace if self.sender is not None else None
        if isinstance(shared, SharedPace):
            jobs.every(3600, shared.forget_idle)

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
        if self.sender is not None:
            self.sender.stop()
        if tasks is not None:
            await tasks.finish("outbox-sender", grace=15)

    async def close(self) -> None:
        if self.application.running:  # not when it never connected
            await self.application.stop()
        await self.application.shutdown()
        # A getMe that failed leaves the HTTP clients open and the application uninitialised.
        await self.application.bot.shutdown()
