"""The composition root: database, directory, web server, scheduler and bot, in one process
or split by role (``bot/roles.py``)."""

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

from bot.jobs import Jobs
from bot.retention import RETENTION_SECONDS, apply_retention
from bot.roles import Role
from bot.settings import Settings, SettingsError
from bot.tasks import Supervisor
from bot.telegram_side import TelegramSide
from flows import client_limits, escalation, web_sessions
from flows.clock import Clock, system_clock
from flows.intake import Intake
from flows.places import Directory, DirectoryBuilder
from flows.sla import Policy, PolicyError, load_policy
from handlers.metrics import SWEEP_FIRED, SWEEP_LAST_RUN, SWEEP_SECONDS
from handlers.telegram.sender import OutboxSender
from handlers.web.api.context import Api
from handlers.web.app import init_app
from handlers.web.probes import Probes, off
from storage import inbox
from storage.db import Database, make_engine
from storage.migrate import division_batches, schema_is_current, seed_directory, upgrade_async
from storage.outbox import release_in_flight
from storage.signals import Announcer, listen

log = logging.getLogger("hutong")

INBOX_RETRY_SECONDS = 15
INBOX_SCRUB_SECONDS = 3600
DIGEST_SECONDS = 60  # how often the daily digests are looked for (sent once a day)
INBOX_KEEP = timedelta(days=7)  # raw updates kept this long after processing, for inquiries


async def load_directory(db: Database) -> Directory:
    """The directory as stored, built batch by batch as it is read: never all rows at once."""
    builder = DirectoryBuilder()
    async for rows in division_batches(db):
        builder.add_rows(rows)
    return builder.build()


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
    role: Role = Role.ALL,
    clock: Clock = system_clock,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM) if handle_signals else ():
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    check_role(settings, role)
    try:  # before anything else: a bad policy file must stop start-up at once
        policy = load_policy(settings.sla_file)
    except PolicyError as exc:
        raise SettingsError(str(exc)) from None
    db = await prepare_database(settings)
    if not role.is_split:
        # Only a process that is the only sender may take back what was being sent when
        # it stopped; split workers wait for the leases of others to run out.
        async with db.unit() as session:
            released = await release_in_flight(session, now=clock())
        if released:
            log.info(
                "%d message(s) being sent when the service last stopped go out again", released
            )
    jobs = Jobs()
    tasks = Supervisor()
    bot: TelegramSide | None = None
    runner: web.AppRunner | None = None
    try:
        intake = Intake(await load_directory(db), policy, settings.public_url)
        announcer = Announcer(db) if role is Role.WEB else None
        if announcer is not None:
            tasks.spawn("outbox-announcer", lambda: announcer.run(stop))
        if settings.telegram_token is not None:
            bot = TelegramSide(
                settings,
                db=db,
                intake=intake,
                clock=clock,
                role=role,
                on_outbox=announcer.wake if announcer is not None else None,
            )
        else:
            log.info("HUTONG_TELEGRAM_TOKEN not set: the Telegram bot is off")
        runner = web.AppRunner(
            init_app(
                db=db,
                clock=clock,
                webhook=bot.webhook if bot else None,
                api=Api(
                    directory=intake.directory,
                    policy=policy,
                    trusted_proxies=settings.proxies,
                ),
                probes=Probes(
                    telegram=bot.state if bot else off,
                    scheduler=jobs.state if role.runs_jobs else off,
                    sender=bot.sender_state if bot else off,
                    # A load balancer stops sending requests once shutdown has begun.
                    accepting=lambda: not stop.is_set(),
                ),
            )
        )
        await runner.setup()
        await web.TCPSite(runner, settings.http_host, settings.http_port).start()
        log.info("HTTP on http://%s:%s (role %s)", settings.http_host, settings.http_port, role)
        if bot is not None:
            # In the background: a Bot API that is down or refuses the token must not keep
            # the web intake, the sweep and the other jobs from running.
            bot.start(jobs, tasks)
        sender = bot.sender if bot is not None else None
        if role is Role.WORKER and sender is not None:
            # Web processes announce the rows they commit: the sender looks at once.
            tasks.spawn(
                "outbox-listener",
                lambda: listen(settings.database_url, on_notify=sender.wake, stopping=stop),
            )
        if role.runs_jobs:
            schedule_jobs(
                jobs, settings, db=db, intake=intake, policy=policy, clock=clock, sender=sender
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
        tasks.stop()
        await tasks.finish("outbox-listener", grace=5)
        await tasks.finish("outbox-announcer", grace=5)
        await jobs.stop()
        if runner is not None:
            await runner.cleanup()
        if bot is not None:
            await bot.close()
        await db.dispose()


def check_role(settings: Settings, role: Role) -> None:
    """A split deployment needs what lets several processes share the work."""
    if not role.is_split:
        return
    if settings.is_sqlite:
        raise SettingsError(
            f"--role {role.value} needs PostgreSQL (HUTONG_DATABASE_URL): SQLite has one"
            " writer; run one process with --role all"
        )
    if settings.telegram_token is not None and not settings.webhook_url:
        raise SettingsError(
            f"--role {role.value} needs HUTONG_WEBHOOK_URL: only one process can long-poll,"
            " so a split deployment takes updates by webhook"
        )


def schedule_jobs(
    jobs: Jobs,
    settings: Settings,
    *,
    db: Database,
    intake: Intake,
    policy: Policy,
    clock: Clock,
    sender: OutboxSender | None,
) -> None:
    """The deadline sweep, the daily digests, the inbox's scrub and retention; each runs
    once at start, so what fell due while the service was down fires now."""

    def advanced(n: int) -> None:
        log.info("deadline sweep advanced %d ticket(s)", n)
        if sender is not None:  # the sweep wrote messages: look now, not at the next tick
            sender.wake()

    jobs.every(
        settings.sweep_seconds,
        sweep_deadlines,
        first_now=True,
        db=db,
        directory=intake.directory,
        policy=policy,
        clock=clock,
        on_advanced=advanced,
        batch=settings.sweep_batch,
        with_digests=False,
    )
    jobs.every(
        DIGEST_SECONDS,
        escalation.send_digests,
        first_now=True,
        db=db,
        directory=intake.directory,
        policy=policy,
        clock=clock,
    )
    jobs.every(INBOX_SCRUB_SECONDS, scrub_inbox, first_now=True, db=db, clock=clock)
    jobs.every(3600, forget_client_limits, db=db, clock=clock)
    jobs.every(
        RETENTION_SECONDS,
        apply_retention,
        first_now=True,
        db=db,
        clock=clock,
        days=settings.retention_days,
    )


async def sweep_deadlines(**kwargs: Any) -> int:
    """The sweep, timed and counted for /metrics."""
    with SWEEP_SECONDS.time():
        n = await escalation.sweep_deadlines(**kwargs)
    SWEEP_FIRED.inc(n)
    SWEEP_LAST_RUN.set_to_current_time()
    return n


async def forget_client_limits(*, db: Database, clock: Clock) -> int:
    """Idle addresses' limits, and web sign-ins long over."""
    async with db.unit() as session:
        n = await client_limits.forget_idle(session=session, now=clock())
        return n + await web_sessions.forget(session=session, now=clock())


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
