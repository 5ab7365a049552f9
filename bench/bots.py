"""The bots under test: the baseline or ``hutong serve`` started against the fake Bot API,
by long polling or by webhook, and their process watched (CPU, peak RSS).

What ``intake.py`` and ``latency.py`` share: their bot options (:func:`add_bot_arguments`),
:func:`bot_under_test` to start one bot and stop it afterwards, and the database count
afterwards. Imported as ``bots`` (``python bench/<name>.py`` puts this folder on ``sys.path``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiohttp
import telegram
from common import ROOT, check_loopback, git_commit, reset_postgres
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import async_url, make_engine

sys.path.insert(0, str(ROOT / "tests" / "fakes"))

from bot_api import FakeBotAPI
from citizen import REPLY_METHODS

LOOPBACK = "127.0.0.1"
LOG_TAIL_LINES = 25
BASELINE = "baseline"
LIMITED = "baseline-30/s"  # the baseline with PTB's AIORateLimiter
BASELINES = (BASELINE, LIMITED)
BASELINE_SCRIPT = ROOT / "bench" / "baseline_bot.py"
# hutong's webhook route on its HTTP port (handlers/web/app.py); the baseline listens on the
# same path. Both register an https URL, as Telegram requires and hutong's settings check;
# the fake posts to the loopback address it stands for.
WEBHOOK_PATH = "/telegram/webhook"
WEBHOOK_URL = "https://bench.invalid" + WEBHOOK_PATH
# The split row: hutong on PostgreSQL as N `serve --role web` processes and one
# `--role worker`, named by split_row(N).
SPLIT_PREFIX = "postgresql web×"

R = TypeVar("R", bound="Outcome")


# ---------------------------------------------------------------------- options


def add_bot_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose and start the bots under test."""
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also run bench/baseline_bot.py (in-memory python-telegram-bot) and print "
        "hutong's figures next to it",
    )
    parser.add_argument(
        "--baseline-limited",
        action="store_true",
        help=f"also run the baseline with PTB's AIORateLimiter (row {LIMITED}): the overall "
        "30 messages/s that hutong's sender keeps too",
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL on loopback: hutong runs on it after SQLite; its schema public "
        "is DROPPED before each run",
    )
    parser.add_argument(
        "--skip-sqlite", action="store_true", help="with --database-url: PostgreSQL only"
    )
    parser.add_argument(
        "--webhook",
        action="store_true",
        help="updates reach the bots by webhook (the fake POSTs each one, 40 connections) "
        "instead of getUpdates; the baseline uses PTB's run_webhook",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin the bot process to one CPU (the last usable) and this bench to the others",
    )
    parser.add_argument(
        "--startup", type=float, default=120.0, help="seconds allowed for a bot's start"
    )
    parser.add_argument("--poll-timeout", type=int, default=10, help="getUpdates long poll, s")
    parser.add_argument(
        "--telegram-limits",
        action="store_true",
        help="hutong keeps Telegram's sending limits (30 messages/s, 1/s per chat); by "
        "default they are lifted, as the unlimited baseline has none",
    )
    parser.add_argument("--keep", action="store_true", help="keep work dirs (db, bot log)")


def check_bot_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Validate the bot options; set ``args.bots`` (the rows to run, in order),
    ``args.usable_cpus`` and ``args.pin_cpu``."""
    if args.database_url:
        backend = make_url(async_url(args.database_url)).get_backend_name()
        if backend != "postgresql":
            parser.error("--database-url must be PostgreSQL (SQLite runs use a temp file)")
        check_loopback(args.database_url)
    elif args.skip_sqlite:
        parser.error("--skip-sqlite needs --database-url")
    args.bots = [
        *([BASELINE] if args.baseline else []),
        *([LIMITED] if args.baseline_limited else []),
        *([] if args.skip_sqlite else ["sqlite"]),
        *(["postgresql"] if args.database_url else []),
    ]
    usable = os.sched_getaffinity(0)
    args.usable_cpus = len(usable)
    args.pin_cpu = max(usable)
    if args.pin and len(usable) < 2:
        parser.error("--pin needs at least two usable CPUs (one for the bot, one for the rest)")


def header(args: argparse.Namespace, *extra: str) -> str:
    """The line every table is printed under: commit, CPUs, how the bots get updates, where
    they run, ``extra``, versions."""
    pin = f"bot pinned to CPU {args.pin_cpu}" if args.pin else "not pinned"
    updates = "webhook (40 connections)" if args.webhook else "long polling"
    return " · ".join(
        (
            f"commit {git_commit()}",
            f"{os.cpu_count()} CPUs ({args.usable_cpus} usable)",
            updates,
            pin,
            *extra,
            f"Python {platform.python_version()}",
            f"python-telegram-bot {telegram.__version__}",
        )
    )


class Outcome(Protocol):
    @property
    def ok(self) -> bool: ...


def run_bench(
    args: argparse.Namespace,
    runs: Callable[[], Coroutine[Any, Any, Sequence[R]]],
    table: Callable[[Sequence[R]], None],
    *extra: str,
) -> int:
    """The header, the runs (the bench kept off the bot's CPU with ``--pin``), the header
    and table again; exit status 1 when a run had a problem."""
    print(header(args, *extra), flush=True)
    if args.pin:
        os.sched_setaffinity(0, os.sched_getaffinity(0) - {args.pin_cpu})
    results = asyncio.run(runs())
    print()
    print(header(args, *extra))
    table(results)
    return 0 if all(r.ok for r in results) else 1


def split_row(web_processes: int) -> str:
    """The row of hutong as ``web_processes`` web processes and a worker."""
    return f"{SPLIT_PREFIX}{web_processes}"


def web_processes_of(bot: str) -> int:
    """N for the row ``split_row(N)``; 0 for every other row (one process)."""
    return int(bot.removeprefix(SPLIT_PREFIX)) if bot.startswith(SPLIT_PREFIX) else 0


# ---------------------------------------------------------------------- database


async def count_rows(url: str) -> tuple[int, dict[str, int]]:
    """Tickets, and inbox rows by status."""
    engine = make_engine(url, pool_size=1)
    try:
        async with asyncio.timeout(60), engine.connect() as conn:
            tickets = (await conn.execute(text("SELECT count(*) FROM ticket"))).scalar_one()
            inbox = {
                str(status): int(n)
                for status, n in await conn.execute(
                    text("SELECT status, count(*) FROM inbox_update GROUP BY status")
                )
            }
    finally:
        await engine.dispose()
    return int(tickets), inbox


async def settle(api: FakeBotAPI, quiet: float = 0.5, limit: float = 10.0) -> None:
    """Until the bot made no Bot API call for ``quiet`` seconds (at most ``limit``): hutong
    answers a button and sends its reply side by side, so the last answerCallbackQuery may
    come after the reply a citizen waited for."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        seen = len(api.calls)
        await asyncio.sleep(quiet)
        if len(api.calls) == seen:
            return


def duplicate_replies(api: FakeBotAPI, chats: Sequence[int]) -> int:
    """Replies sent again with the same parameters to the same chat. Every prompt of the
    report dialogue carries a new button version, so an identical repeat is a message sent
    twice."""
    repeats = 0
    for chat in chats:
        seen = Counter(
            json.dumps(c.params, sort_keys=True)
            for c in api.calls_for(chat)
            if c.method in REPLY_METHODS
        )
        repeats += sum(k - 1 for k in seen.values())
    return repeats


# ---------------------------------------------------------------------- the bot process


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def service_env(
    api: FakeBotAPI,
    database_url: str,
    http_port: int,
    poll_timeout: int,
    *,
    limits: bool,
    webhook_secret: str | None,
) -> dict[str, str]:
    """``limits`` False: Telegram's sending limits lifted (the fake has none, nor has the
    baseline), so the figure is what the bot can do, not what Telegram lets through."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUTONG_")}
    env.update(
        HUTONG_DATABASE_URL=database_url,
        HUTONG_TELEGRAM_TOKEN=api.token,
        HUTONG_TELEGRAM_API_URL=api.base_url,
        HUTONG_HTTP_HOST=LOOPBACK,
        HUTONG_HTTP_PORT=str(http_port),
        HUTONG_POLL_TIMEOUT=str(poll_timeout),
        HUTONG_LOG_LEVEL="WARNING",
    )
    if webhook_secret is not None:
        env.update(HUTONG_WEBHOOK_URL=WEBHOOK_URL, HUTONG_WEBHOOK_SECRET=webhook_secret)
    if not limits:
        env.update(
            HUTONG_TELEGRAM_MESSAGES_PER_SECOND="100000",
            HUTONG_TELEGRAM_CHAT_MESSAGES_PER_SECOND="100000",
        )
    return env


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(content[-lines:]) or "(empty log)"


async def run_cli(
    args: Sequence[str], *, env: dict[str, str], cwd: Path, log: Path, limit: float
) -> None:
    """Run ``python -m bot.cli ARGS`` to completion (bounded); raise on failure."""
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *args, cwd=cwd, env=env, stdout=out, stderr=out
        )
        try:
            async with asyncio.timeout(limit):
                code = await proc.wait()
        finally:
            await stop_process(proc)
    if code != 0:
        raise RuntimeError(f"hutong {' '.join(args)} exited {code}:\n{log_tail(log)}")


async def stop_process(proc: asyncio.subprocess.Process, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.wait_for(proc.wait(), grace)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a live process, all its threads (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def peak_rss_bytes(pid: int) -> int | None:
    """The high-water mark of a live process's resident set (``VmHWM``, Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def pin_process(pid: int, cpu: int) -> None:
    """Every thread of ``pid`` on one CPU. Threads inherit their creator's affinity, so
    pinning right after the start and again once ready leaves none out."""
    try:
        tids = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tids = [pid]
    for tid in tids:
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(tid, {cpu})


async def _until(
    proc: asyncio.subprocess.Process,
    what: str,
    log: Path,
    limit: float,
    probe: Callable[[], Awaitable[bool]],
) -> None:
    """Ask ``probe`` every 0.2 s until it says ready, the bot exits, or ``limit`` runs out."""
    deadline = time.monotonic() + limit
    while True:
        if proc.returncode is not None:
            raise RuntimeError(f"the bot exited {proc.returncode}:\n{log_tail(log)}")
        if await probe():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready within {limit}s:\n{log_tail(log)}")
        await asyncio.sleep(0.2)


async def wait_healthy(
    proc: asyncio.subprocess.Process, port: int, log: Path, limit: float
) -> None:
    url = f"http://{LOOPBACK}:{port}/healthz"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:

        async def healthy() -> bool:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(url) as response:
                    return response.status == 200
            return False

        await _until(proc, "/healthz", log, limit, healthy)


async def wait_telegram_ok(
    proc: asyncio.subprocess.Process, port: int, log: Path, limit: float
) -> None:
    """Until hutong's /healthz says its Telegram side is ok."""
    url = f"http://{LOOPBACK}:{port}/healthz"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:

        async def ok() -> bool:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                async with http.get(url) as response:
                    body = await response.json()
                    return response.status == 200 and body.get("telegram") == "ok"
            return False

        await _until(proc, "/healthz telegram ok", log, limit, ok)


async def wait_listening(
    proc: asyncio.subprocess.Process, port: int, log: Path, limit: float
) -> None:
    """Until the port accepts connections: PTB's run_webhook registers the webhook before
    its server listens."""

    async def listening() -> bool:
        try:
            _, writer = await asyncio.open_connection(LOOPBACK, port)
        except OSError:
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    await _until(proc, f"webhook port {port}", log, limit, listening)


async def wait_updates_route(
    proc: asyncio.subprocess.Process, api: FakeBotAPI, log: Path, limit: float, *, webhook: bool
) -> None:
    """Until the bot parks a getUpdates long poll, or (``webhook``) has called setWebhook."""

    async def ready() -> bool:
        if webhook:
            return bool(api.webhook_url)
        with contextlib.suppress(TimeoutError):
            await api.wait_for_poll(timeout=0.2)
            return True
        return False

    await _until(proc, "setWebhook" if webhook else "getUpdates", log, limit, ready)


@dataclass
class RunningBot:
    """A started bot: its processes (one, or hutong's web processes and worker) and, for
    hutong, its database."""

    name: str
    procs: list[asyncio.subprocess.Process]
    database_url: str | None  # None for the baseline
    roles: list[str] = field(default_factory=lambda: ["all"])  # per process, for the log

    @property
    def proc(self) -> asyncio.subprocess.Process:
        return self.procs[0]

    @property
    def is_baseline(self) -> bool:
        return self.database_url is None

    def cpu_each(self) -> list[float | None]:
        return [process_cpu_seconds(p.pid) for p in self.procs]

    def peak_rss_each(self) -> list[int | None]:
        return [peak_rss_bytes(p.pid) for p in self.procs]

    def cpu_seconds(self) -> float | None:
        """User + system CPU, summed over the processes (None when one is gone)."""
        each = self.cpu_each()
        return sum(x for x in each if x is not None) if None not in each else None

    def peak_rss(self) -> int | None:
        """Each process's VmHWM, summed: what the processes held at most together (an upper
        bound: their peaks need not coincide). One process: its VmHWM."""
        each = self.peak_rss_each()
        return sum(x for x in each if x is not None) if None not in each else None


def bot_logs(workdir: Path) -> list[Path]:
    """The bot's logs in ``workdir``: ``bot.log``, or one per process of a split row."""
    return [p for p in [workdir / "bot.log", *sorted(workdir.glob("bot-*.log"))] if p.exists()]


@contextlib.asynccontextmanager
async def bot_under_test(
    bot: str,
    api: FakeBotAPI,
    workdir: Path,
    args: argparse.Namespace,
    *,
    fresh_database: bool = True,
) -> AsyncIterator[RunningBot]:
    """Start ``bot`` (a baseline row, ``sqlite``, ``postgresql`` or a split row) against the
    started fake ``api``; yield once it takes updates (polls, or has set its webhook and
    listens); stop it afterwards. hutong gets a fresh database: a file in ``workdir``, or
    ``args.database_url`` with schema public dropped and ``hutong db upgrade`` run. With
    ``args.webhook`` the fake posts every update to the bot's webhook on loopback.
    ``fresh_database`` False: hutong starts again on the database an earlier start in
    ``workdir`` left (a restart)."""
    web = web_processes_of(bot)
    if web:
        async with split_under_test(bot, web, api, workdir, args) as running:
            yield running
        return
    log = workdir / "bot.log"
    # Hex: a leading "-" (token_urlsafe) would read as an option on the baseline's command line.
    secret = secrets.token_hex(16) if args.webhook else None
    env: dict[str, str] | None = None
    url: str | None = None
    port = free_port()  # hutong's HTTP port (health, webhook), the baseline's webhook port
    if bot in BASELINES:
        command = [
            sys.executable,
            str(BASELINE_SCRIPT),
            "--token",
            api.token,
            "--base-url",
            api.bot_url,
            *(["--rate-limiter"] if bot == LIMITED else []),
        ]
        if secret is not None:
            command += ["--webhook-port", str(port), "--webhook-url", WEBHOOK_URL]
            command += ["--webhook-secret", secret]
    else:
        if bot == "sqlite":
            url = f"sqlite+aiosqlite:///{workdir / 'hutong.db'}"
        else:
            url = async_url(args.database_url)
        env = service_env(
            api,
            url,
            port,
            args.poll_timeout,
            limits=args.telegram_limits,
            webhook_secret=secret,
        )
        if bot == "postgresql" and fresh_database:
            await fresh_postgres(env, workdir, args.startup)
        command = [sys.executable, "-m", "bot.cli", "serve"]
    if secret is not None:
        api.deliver_webhook(f"http://{LOOPBACK}:{port}{WEBHOOK_PATH}")
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            *command, cwd=workdir, env=env, stdout=out, stderr=out
        )
        try:
            if args.pin:
                pin_process(proc.pid, args.pin_cpu)
            if url is not None:
                await wait_healthy(proc, port, log, args.startup)
            await wait_updates_route(proc, api, log, args.startup, webhook=args.webhook)
            if args.webhook:
                await wait_listening(proc, port, log, args.startup)
            if args.pin:
                pin_process(proc.pid, args.pin_cpu)
            yield RunningBot(bot, [proc], url)
        finally:
            await stop_process(proc)


async def fresh_postgres(env: dict[str, str], workdir: Path, limit: float) -> None:
    """Schema public of ``HUTONG_DATABASE_URL`` dropped, then ``hutong db upgrade``."""
    await reset_postgres(env["HUTONG_DATABASE_URL"])
    await run_cli(["db", "upgrade"], env=env, cwd=workdir, log=workdir / "upgrade.log", limit=limit)


@contextlib.asynccontextmanager
async def split_under_test(
    bot: str, web: int, api: FakeBotAPI, workdir: Path, args: argparse.Namespace
) -> AsyncIterator[RunningBot]:
    """hutong as ``web`` ``serve --role web`` processes and one ``--role worker`` on a fresh
    ``args.database_url`` (one ``db upgrade`` first), by webhook: the fake posts each update
    to the next web process in turn, as a load balancer in front of one webhook URL would, so
    a chat's updates are handled by all of them. Each process logs to ``bot-ROLE.log``."""
    secret = secrets.token_hex(16)
    url = async_url(args.database_url)
    names = [*(f"web{i + 1}" for i in range(web)), "worker"]
    ports: list[int] = []
    while len(ports) < len(names):  # distinct, should the kernel hand a port out twice
        port = free_port()
        if port not in ports:
            ports.append(port)
    envs = [
        service_env(
            api, url, port, args.poll_timeout, limits=args.telegram_limits, webhook_secret=secret
        )
        for port in ports
    ]
    await fresh_postgres(envs[0], workdir, args.startup)
    api.deliver_webhook([f"http://{LOOPBACK}:{port}{WEBHOOK_PATH}" for port in ports[:web]])
    procs: list[asyncio.subprocess.Process] = []
    try:
        for name, env in zip(names, envs, strict=True):
            role = "worker" if name == "worker" else "web"
            with (workdir / f"bot-{name}.log").open("ab") as out:
                procs.append(
                    await asyncio.create_subprocess_exec(
                        *(sys.executable, "-m", "bot.cli", "serve", "--role", role),
                        cwd=workdir,
                        env=env,
                        stdout=out,
                        stderr=out,
                    )
                )
        # Web processes say ok once their setWebhook worked, the worker once it reached the
        # Bot API (its sender runs): then every process takes its part.
        await asyncio.gather(
            *(
                wait_telegram_ok(proc, port, workdir / f"bot-{name}.log", args.startup)
                for proc, port, name in zip(procs, ports, names, strict=True)
            )
        )
        yield RunningBot(bot, procs, url, names)
    finally:
        await asyncio.gather(*(stop_process(proc) for proc in procs))
