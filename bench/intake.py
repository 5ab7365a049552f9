"""Intake throughput: N concurrent citizens file full reports against the fake Bot API.

The fake Telegram Bot API (``tests/fakes/bot_api.py``) runs in this process; ``hutong serve``
runs as a subprocess pointed at it, with a fresh database for every size. Each simulated
citizen (``tests/fakes/citizen.py``) files the shortest report by buttons (14 updates) and
every update's latency is measured from the moment it is pushed to the fake until the bot's
first reply message in that chat arrives.

With ``--baseline`` every size first runs ``bench/baseline_bot.py`` (the same dialogue as a
plain in-memory python-telegram-bot bot) the same way, and hutong's updates/s is printed as a
ratio to it; the baseline's and hutong's messages to the first chat are compared, so both
are seen to hold the same dialogue.

    python bench/intake.py --citizens 100 500 --baseline --pin
    python bench/intake.py --citizens 100 --baseline \
        --database-url postgresql://postgres@127.0.0.1:5432/bench

With ``--database-url`` pointing at PostgreSQL hutong runs on SQLite and then on PostgreSQL
(``--skip-sqlite``: PostgreSQL only); the schema ``public`` of that database is DROPPED and
recreated before every size: never point it at a database you care about.

Only figures are printed; nothing asserts wall-clock times. The exit status is non-zero when
a citizen timed out, the database does not hold exactly one ticket per citizen, or the
baseline's dialogue differs from hutong's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import telegram
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import async_url, make_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fakes"))

from bot_api import Call, FakeBotAPI
from citizen import REPLY_METHODS, Citizen
from common import check_loopback, fmt, memory_bytes, percentile, print_rows, reset_postgres

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
FIRST_CHAT_ID = 700_000_001
LOG_TAIL_LINES = 25
BASELINE = "baseline"
LIMITED = "baseline-30/s"  # the baseline with PTB's AIORateLimiter
BASELINE_SCRIPT = ROOT / "bench" / "baseline_bot.py"
# What the bot sends in answer to citizens; counted per run to compare the bots' work.
ANSWER_METHODS = (*REPLY_METHODS, "answerCallbackQuery")


@dataclass
class RunResult:
    bot: str  # baseline | sqlite | postgresql
    citizens: int
    reports: int = 0
    updates: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    tickets_in_db: int | None = None
    inbox: dict[str, int] = field(default_factory=dict)
    service_cpu: float | None = None
    peak_rss: int | None = None  # bytes, the bot process's VmHWM
    bench_cpu: float = 0.0
    log_lines: int = 0
    answers: dict[str, int] = field(default_factory=dict)  # calls by method, during the run
    transcript: list[str] = field(default_factory=list)  # the first chat's replies
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rate(self) -> float:
        return self.updates / self.wall if self.wall > 0 else math.nan


# ---------------------------------------------------------------------- figures


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def print_header(args: argparse.Namespace) -> None:
    pin = f"bot pinned to CPU {args.pin_cpu}" if args.pin else "not pinned"
    print(
        f"commit {git_commit()} · {os.cpu_count()} CPUs ({args.usable_cpus} usable) · {pin} · "
        f"Python {platform.python_version()} · python-telegram-bot {telegram.__version__}",
        flush=True,
    )


def print_table(results: Sequence[RunResult]) -> None:
    baseline_rate = {r.citizens: r.rate for r in results if r.bot == BASELINE and r.ok}
    headers = (
        "bot",
        "citizens",
        "reports",
        "updates",
        "wall s",
        "updates/s",
        "× baseline",
        "cpu ms/upd",
        "p50 ms",
        "p99 ms",
        "max ms",
        "peak RSS MiB",
        "tickets",
        "ok",
    )
    rows: list[tuple[str, ...]] = []
    for r in results:
        lat = sorted(r.latencies)
        base = baseline_rate.get(r.citizens)
        rows.append(
            (
                r.bot,
                str(r.citizens),
                str(r.reports),
                str(r.updates),
                fmt(r.wall, ".2f"),
                fmt(r.rate, ".1f"),
                fmt(r.rate / base if base else None, ".2f"),
                fmt(
                    r.service_cpu * 1000 / r.updates if r.service_cpu and r.updates else None,
                    ".2f",
                ),
                fmt(percentile(lat, 50) * 1000, ".1f"),
                fmt(percentile(lat, 99) * 1000, ".1f"),
                fmt(lat[-1] * 1000 if lat else None, ".1f"),
                fmt(r.peak_rss / 2**20 if r.peak_rss else None, ".0f"),
                fmt(r.tickets_in_db, "d"),
                "yes" if r.ok else "NO",
            )
        )
    print_rows(headers, rows)


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


# ---------------------------------------------------------------------- the bot process


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def service_env(
    api: FakeBotAPI, database_url: str, http_port: int, poll_timeout: int, *, limits: bool
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
    return memory_bytes(pid).get("VmHWM")


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


async def wait_healthy(
    proc: asyncio.subprocess.Process, port: int, log: Path, limit: float
) -> None:
    url = f"http://{LOOPBACK}:{port}/healthz"
    deadline = time.monotonic() + limit
    timeout = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"hutong serve exited {proc.returncode}:\n{log_tail(log)}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"/healthz not ready within {limit}s:\n{log_tail(log)}")
            await asyncio.sleep(0.2)


async def wait_polling(
    proc: asyncio.subprocess.Process, api: FakeBotAPI, log: Path, limit: float
) -> None:
    """Until the bot parks a getUpdates long poll (or exits, or ``limit`` runs out)."""
    deadline = time.monotonic() + limit
    while True:
        if proc.returncode is not None:
            raise RuntimeError(f"the bot exited {proc.returncode}:\n{log_tail(log)}")
        with contextlib.suppress(TimeoutError):
            await api.wait_for_poll(timeout=0.2)
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no getUpdates within {limit}s:\n{log_tail(log)}")


@contextlib.asynccontextmanager
async def running_bot(
    command: Sequence[str],
    *,
    env: dict[str, str] | None,
    cwd: Path,
    log: Path,
    api: FakeBotAPI,
    health_port: int | None,
    args: argparse.Namespace,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start the bot, wait until it polls, stop it afterwards."""
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            *command, cwd=cwd, env=env, stdout=out, stderr=out
        )
        try:
            if args.pin:
                pin_process(proc.pid, args.pin_cpu)
            if health_port is not None:
                await wait_healthy(proc, health_port, log, args.startup)
            await wait_polling(proc, api, log, args.startup)
            if args.pin:
                pin_process(proc.pid, args.pin_cpu)
            yield proc
        finally:
            await stop_process(proc)


@dataclass(frozen=True)
class Launch:
    """How to start one bot: its command, environment, /healthz port and database."""

    command: list[str]
    env: dict[str, str] | None  # None: this process's environment (the baseline)
    health_port: int | None  # None: the baseline has no web server
    database_url: str  # "" for the baseline


async def prepare_bot(bot: str, workdir: Path, api: FakeBotAPI, args: argparse.Namespace) -> Launch:
    """The baseline's or hutong's command line, with a fresh database for hutong (SQLite in
    ``workdir``; PostgreSQL: schema reset, then ``hutong db upgrade``). ``args`` gives
    ``database_url``, ``poll_timeout``, ``telegram_limits`` and ``startup``."""
    if bot in (BASELINE, LIMITED):
        command = [
            sys.executable,
            str(BASELINE_SCRIPT),
            "--token",
            api.token,
            "--base-url",
            api.bot_url,
            *(["--rate-limiter"] if bot == LIMITED else []),
        ]
        return Launch(command, None, None, "")
    if bot == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'hutong.db'}"
    else:
        url = async_url(args.database_url)
    health_port = free_port()
    env = service_env(api, url, health_port, args.poll_timeout, limits=args.telegram_limits)
    if bot == "postgresql":
        await reset_postgres(url)
        await run_cli(
            ["db", "upgrade"],
            env=env,
            cwd=workdir,
            log=workdir / "upgrade.log",
            limit=args.startup,
        )
    return Launch([sys.executable, "-m", "bot.cli", "serve"], env, health_port, url)


# ---------------------------------------------------------------------- one run


async def drive(
    api: FakeBotAPI, n: int, interaction_timeout: float, run_timeout: float, result: RunResult
) -> None:
    citizens = [Citizen(api, FIRST_CHAT_ID + i, timeout=interaction_timeout) for i in range(n)]
    finished: list[float] = []
    codes: list[str] = []
    errors: list[BaseException] = []

    async def one(citizen: Citizen) -> None:
        try:
            codes.append(await citizen.file_report_by_buttons())
            finished.append(time.perf_counter())
        except Exception as exc:
            errors.append(exc)

    started = time.perf_counter()
    try:
        async with asyncio.timeout(run_timeout):
            await asyncio.gather(*(one(c) for c in citizens))
    except TimeoutError:
        result.problems.append(f"run did not finish within {run_timeout}s")
    result.wall = (max(finished) if finished else time.perf_counter()) - started
    result.reports = len(codes)
    result.updates = sum(c.interactions for c in citizens)
    result.latencies = [x for c in citizens for x in c.latencies]
    if errors:
        first = errors[0]
        result.problems.append(
            f"{len(errors)} of {n} citizens failed; first: {type(first).__name__}: "
            # The fake's timeout message lists the chat's latest calls: what the bot said
            # instead of what the citizen waited for.
            + "\n    ".join(str(first).splitlines()[:16])
        )
    if len(set(codes)) != len(codes):
        result.problems.append(f"duplicate ticket codes: {len(codes) - len(set(codes))}")
    if len(codes) != n and not errors:
        result.problems.append(f"only {len(codes)} of {n} citizens got a ticket code")


def transcript(calls: Sequence[Call]) -> list[str]:
    """What the bot said to one chat, comparable across runs: the ticket code (random)
    masked, each call as canonical JSON."""
    out = []
    for call in calls:
        if call.method not in REPLY_METHODS:
            continue
        params = dict(call.params)
        body = str(params.get("text", ""))
        if "<code>" in body:
            code = body.split("<code>", 1)[1].split("</code>", 1)[0]
            params["text"] = body.replace(code, "CODE")
        out.append(call.method + " " + json.dumps(params, ensure_ascii=False, sort_keys=True))
    return out


def duplicate_replies(api: FakeBotAPI, n: int) -> int:
    """Replies sent again with the same parameters to the same chat. Every prompt of this
    dialogue carries a new button version, so an identical repeat is a message sent twice."""
    repeats = 0
    for i in range(n):
        seen = Counter(
            json.dumps(c.params, sort_keys=True)
            for c in api.calls_for(FIRST_CHAT_ID + i)
            if c.method in REPLY_METHODS
        )
        repeats += sum(k - 1 for k in seen.values())
    return repeats


async def run_one(bot: str, n: int, args: argparse.Namespace) -> RunResult:
    """One bot (the baseline, or hutong on one database) with ``n`` citizens."""
    workdir = Path(tempfile.mkdtemp(prefix=f"hutong-bench-{bot.replace('/', '')}-{n}-"))
    log = workdir / "bot.log"
    result = RunResult(bot=bot, citizens=n)
    api = FakeBotAPI()
    tag = f"[{bot} N={n}]"
    print(f"{tag} workdir {workdir}", flush=True)
    url = ""
    try:
        await api.start(LOOPBACK, 0)
        launch = await prepare_bot(bot, workdir, api, args)
        url = launch.database_url
        async with running_bot(
            launch.command,
            env=launch.env,
            cwd=workdir,
            log=log,
            api=api,
            health_port=launch.health_port,
            args=args,
        ) as proc:
            print(f"{tag} bot ready; driving {n} citizens", flush=True)
            first_call = len(api.calls)
            cpu_before = process_cpu_seconds(proc.pid)
            own_before = resource.getrusage(resource.RUSAGE_SELF)
            await drive(api, n, args.timeout, args.run_timeout, result)
            own_after = resource.getrusage(resource.RUSAGE_SELF)
            cpu_after = process_cpu_seconds(proc.pid)
            result.peak_rss = peak_rss_bytes(proc.pid)
            if cpu_before is not None and cpu_after is not None:
                result.service_cpu = cpu_after - cpu_before
            result.bench_cpu = (own_after.ru_utime + own_after.ru_stime) - (
                own_before.ru_utime + own_before.ru_stime
            )
            counts = Counter(c.method for c in api.calls[first_call:])
            result.answers = {m: counts[m] for m in ANSWER_METHODS}
            result.transcript = transcript(api.calls_for(FIRST_CHAT_ID))
            twice = duplicate_replies(api, n)
            if twice:
                result.problems.append(f"{twice} replies were sent more than once")
        if bot not in (BASELINE, LIMITED):
            result.tickets_in_db, result.inbox = await count_rows(url)
            if result.tickets_in_db != n:
                result.problems.append(
                    f"{result.tickets_in_db} tickets in the database, expected {n}"
                )
            not_done = {k: v for k, v in result.inbox.items() if k != "done"}
            if not_done:
                result.problems.append(f"inbox rows not done: {not_done}")
    except Exception as exc:
        result.problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        await api.stop()
        with contextlib.suppress(OSError):
            result.log_lines = len(log.read_text(errors="replace").splitlines())
        report_run(result, log)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def report_run(result: RunResult, log: Path) -> None:
    tag = f"[{result.bot} N={result.citizens}]"
    db = (
        f"tickets in db: {fmt(result.tickets_in_db, 'd')} (expected {result.citizens}); "
        f"inbox: {result.inbox or '-'}; "
        if result.bot not in (BASELINE, LIMITED)
        else ""
    )
    print(
        f"{tag} {db}calls: {result.answers or '-'}; log lines (WARNING+): {result.log_lines}; "
        f"bot CPU {fmt(result.service_cpu, '.1f')} s, bench CPU {result.bench_cpu:.1f} s "
        f"in {result.wall:.1f} s wall",
        flush=True,
    )
    for problem in result.problems:
        print(f"{tag} PROBLEM: {problem}", flush=True)
    if result.problems or result.log_lines:
        print(f"{tag} bot log tail:\n{log_tail(log)}", flush=True)


def compare_dialogues(baseline: RunResult, other: RunResult) -> None:
    """The baseline is a yardstick only if it holds the same dialogue: the same messages,
    buttons and button data to the first chat, and the same number of replies overall."""
    if not baseline.ok or not other.ok:
        return
    tag = f"[{other.bot} N={other.citizens}]"
    mine, theirs = other.transcript, baseline.transcript
    for i, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if a != b:
            other.problems.append(
                f"reply {i + 1} to chat {FIRST_CHAT_ID} differs from the baseline's:\n"
                f"  hutong:   {a[:400]}\n  baseline: {b[:400]}"
            )
            break
    else:
        if len(mine) != len(theirs):
            other.problems.append(
                f"{len(mine)} replies to chat {FIRST_CHAT_ID}, the baseline sent {len(theirs)}"
            )
    if other.answers != baseline.answers:
        other.problems.append(f"calls {other.answers}, the baseline made {baseline.answers}")
    if other.ok:
        print(
            f"{tag} same dialogue as the baseline: {len(mine)} replies to chat "
            f"{FIRST_CHAT_ID} equal (ticket code masked); calls {other.answers}",
            flush=True,
        )
    else:
        print(f"{tag} PROBLEM: {other.problems[-1]}", flush=True)


# ---------------------------------------------------------------------- entry point


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Drive N concurrent citizens through full reports against the fake Bot "
        "API and print updates/s and latency (update pushed -> first reply received)."
    )
    parser.add_argument(
        "--citizens",
        type=int,
        nargs="+",
        action="extend",
        metavar="N",
        help="concurrent citizens; several sizes run one after another (default: 100)",
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also run bench/baseline_bot.py (in-memory python-telegram-bot) for each size "
        "and print hutong's updates/s as a ratio to it",
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
        "is DROPPED before each size",
    )
    parser.add_argument(
        "--skip-sqlite", action="store_true", help="with --database-url: PostgreSQL only"
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin the bot process to one CPU (the last usable) and this bench to the others",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for each reply (default 60)"
    )
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=900.0,
        help="seconds allowed for one size, all citizens (default 900)",
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
    args = parser.parse_args(argv)
    args.citizens = args.citizens or [100]
    if any(n < 1 for n in args.citizens):
        parser.error("--citizens must be positive")
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
    return args


async def main_async(args: argparse.Namespace) -> list[RunResult]:
    if args.pin:  # the fake Bot API and the citizens keep off the bot's CPU
        os.sched_setaffinity(0, os.sched_getaffinity(0) - {args.pin_cpu})
    results = []
    for n in args.citizens:
        size = [await run_one(bot, n, args) for bot in args.bots]
        if size[0].bot in (BASELINE, LIMITED):
            for other in size[1:]:
                compare_dialogues(size[0], other)
        results.extend(size)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print_header(args)
    results = asyncio.run(main_async(args))
    print()
    print_header(args)
    print_table(results)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
