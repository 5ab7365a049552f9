"""Memory: the bot's resident set at start and with 10,000 report dialogues in flight.

Starts the bot as a subprocess against the fake Telegram Bot API (``tests/fakes/bot_api.py``,
in this process) the way ``bench/intake.py`` does — hutong as ``hutong serve`` on a fresh
database, the baseline as ``bench/baseline_bot.py`` — and reads ``/proc/PID/status`` twice:

1. at start: once the bot polls and its CPU has gone quiet (the first sweep, scrub and
   retention jobs of hutong have run);
2. with N dialogues in flight: N chats (10,000) each take the first ``--steps`` steps of the
   report dialogue by buttons (/start, 报告, not in danger now, neighbour, …) and stop there,
   so N unfinished dialogues are held (hutong: in its database; the baseline: in memory),
   then again once the CPU is quiet.

hutong runs with Telegram's sending limits lifted (``HUTONG_TELEGRAM_MESSAGES_PER_SECOND`` and
``…_CHAT_MESSAGES_PER_SECOND`` at 100000): the fake has none, nor has the baseline. After the
run hutong is started once more on the same database (``restart`` row): the start of a
service whose directory is already seeded and whose database holds the N dialogues.

    python bench/memory.py                                  # baseline, hutong on SQLite
    python bench/memory.py --database-url postgresql://postgres@127.0.0.1:5432/bench

With ``--database-url`` its schema ``public`` is DROPPED and recreated. Nothing asserts a
size; the exit status is 1 when a chat got no reply or the database does not hold the N
dialogues at the step they reached.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import telegram
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import async_url, make_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fakes"))

from bot_api import FakeBotAPI
from bots import BASELINE, LOOPBACK, bot_under_test, log_tail, process_cpu_seconds
from citizen import Citizen
from common import check_loopback, fmt, git_commit, memory_bytes, print_rows

FIRST_CHAT_ID = 800_000_001
# The report dialogue by buttons, as Citizen.report_until_story takes it: (action, value),
# "/start" first. --steps N takes the first N.
PATH: tuple[tuple[str, str], ...] = (
    ("text", "/start"),
    ("mn", "report"),
    ("dg", "no"),
    ("rp", "neighbour"),
    ("pc", "440100000000"),
    ("pn", "440117000000"),
    ("pt", "440117001000"),
    ("ag", "6-11"),
    ("sx", "f"),
)
# The step hutong's dialogue stands at after the first N steps of PATH (checked after a run).
STEP_AFTER = {2: "danger", 3: "reporter", 4: "place", 5: "place_county", 6: "place_township"}
MIB = 2**20


@dataclass
class Row:
    bot: str  # baseline | hutong
    backend: str  # memory | sqlite | postgresql | … restart
    chats: int = 0
    start: dict[str, int] = field(default_factory=dict)  # memory_bytes() once idle
    loaded: dict[str, int] = field(default_factory=dict)  # … with the dialogues in flight
    in_flight: int | None = None  # hutong: conversations at the expected step
    drive_s: float | None = None
    problems: list[str] = field(default_factory=list)


async def settle(pid: int, *, quiet: float = 0.02, window: float = 1.0, limit: float = 60) -> None:
    """Until the process used less than ``quiet`` CPU seconds per second over ``window``
    (twice in a row), or ``limit`` runs out: what it does at start (or with the last
    replies) is over, so what it holds is what it keeps."""
    deadline = time.monotonic() + limit
    calm = 0
    before = process_cpu_seconds(pid)
    while calm < 2 and time.monotonic() < deadline:
        await asyncio.sleep(window)
        now = process_cpu_seconds(pid)
        if before is None or now is None:
            return
        calm = calm + 1 if now - before < quiet * window else 0
        before = now


async def take_steps(citizen: Citizen, steps: int) -> None:
    for action, value in PATH[:steps]:
        if action == "text":
            await citizen.text(value)
        else:
            await citizen.press(action, value)


async def drive(api: FakeBotAPI, args: argparse.Namespace, row: Row) -> None:
    """``args.chats`` chats, ``args.concurrency`` at a time, each through ``args.steps`` steps."""
    queue = iter(range(args.chats))
    failed: list[BaseException] = []
    done = 0

    async def worker() -> None:
        nonlocal done
        for i in queue:
            citizen = Citizen(api, FIRST_CHAT_ID + i, timeout=args.timeout)
            try:
                await take_steps(citizen, args.steps)
                done += 1
            except Exception as exc:
                failed.append(exc)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    row.drive_s = time.perf_counter() - started
    row.chats = done
    if failed:
        first = "\n    ".join(str(failed[0]).splitlines()[:12])
        row.problems.append(f"{len(failed)} chats got no reply; first: {first}")


async def dialogues_at(url: str, step: str) -> int:
    engine = make_engine(url, pool_size=1)
    try:
        async with asyncio.timeout(60), engine.connect() as conn:
            query = text("SELECT count(*) FROM conversation WHERE step = :step")
            return int((await conn.execute(query, {"step": step})).scalar_one())
    finally:
        await engine.dispose()


async def measure(bot: str, args: argparse.Namespace) -> list[Row]:
    """One bot on one backend: start, N dialogues, and for hutong a restart."""
    backend = "memory" if bot == BASELINE else bot
    rows = [Row("baseline" if bot == BASELINE else "hutong", backend)]
    row = rows[0]
    tag = f"[{bot}]"
    workdir = Path(tempfile.mkdtemp(prefix=f"hutong-memory-{bot}-"))
    log = workdir / "bot.log"
    api = FakeBotAPI()
    print(f"{tag} workdir {workdir}", flush=True)
    try:
        await api.start(LOOPBACK, 0)
        async with bot_under_test(bot, api, workdir, args) as running:
            proc = running.proc
            await settle(proc.pid)
            row.start = memory_bytes(proc.pid)
            print(f"{tag} up: {describe(row.start)}; driving {args.chats} chats", flush=True)
            await drive(api, args, row)
            await settle(proc.pid)
            row.loaded = memory_bytes(proc.pid)
            print(f"{tag} {row.chats} dialogues in flight: {describe(row.loaded)}", flush=True)
        if running.database_url:
            step = STEP_AFTER.get(args.steps)
            if step is not None:
                row.in_flight = await dialogues_at(running.database_url, step)
                if row.in_flight != args.chats:
                    row.problems.append(
                        f"{row.in_flight} dialogues at step {step!r}, expected {args.chats}"
                    )
            again = Row("hutong", f"{backend} restart")
            rows.append(again)
            async with bot_under_test(bot, api, workdir, args, fresh_database=False) as running:
                await settle(running.proc.pid)
                again.start = memory_bytes(running.proc.pid)
            print(f"{tag} restarted on it: {describe(again.start)}", flush=True)
    except Exception as exc:
        row.problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        await api.stop()
        for problem in (p for r in rows for p in r.problems):
            print(f"{tag} PROBLEM: {problem}\n{tag} bot log tail:\n{log_tail(log)}", flush=True)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return rows


def describe(memory: dict[str, int]) -> str:
    return ", ".join(f"{k} {v / MIB:.1f} MiB" for k, v in memory.items()) or "process gone"


def mib(memory: dict[str, int], key: str) -> str:
    value = memory.get(key)
    return fmt(value / MIB if value is not None else None, ".0f")


def print_header(args: argparse.Namespace) -> None:
    print(
        f"commit {git_commit()} · {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} "
        f"usable) · Python {platform.python_version()} · python-telegram-bot "
        f"{telegram.__version__} · {args.chats} chats × {args.steps} steps, "
        f"{args.concurrency} at a time",
        flush=True,
    )


def print_table(rows: Sequence[Row], args: argparse.Namespace) -> None:
    n = f"{args.chats // 1000}k" if args.chats % 1000 == 0 else str(args.chats)
    headers = (
        "bot",
        "backend",
        "RSS start MiB",
        "peak start MiB",
        "anon start MiB",
        f"RSS {n} MiB",
        f"peak {n} MiB",
        f"anon {n} MiB",
        "in flight",
        "drive s",
        "ok",
    )
    table = [
        (
            r.bot,
            r.backend,
            mib(r.start, "VmRSS"),
            mib(r.start, "VmHWM"),
            mib(r.start, "RssAnon"),
            mib(r.loaded, "VmRSS"),
            mib(r.loaded, "VmHWM"),
            mib(r.loaded, "RssAnon"),
            fmt(r.in_flight if r.in_flight is not None else (r.chats or None), "d"),
            fmt(r.drive_s, ".0f"),
            "NO" if r.problems else "yes",
        )
        for r in rows
    ]
    print_rows(headers, table)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="RSS of the bot at start and with N report dialogues in flight."
    )
    parser.add_argument("--chats", type=int, default=10_000, help="dialogues (default 10000)")
    parser.add_argument(
        "--steps",
        type=int,
        default=4,
        choices=range(1, len(PATH) + 1),
        help="steps of the report each chat takes, /start first (default 4: up to the place)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=100, help="chats talking at once (default 100)"
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL on loopback: hutong runs on it after SQLite; its schema public "
        "is DROPPED first",
    )
    parser.add_argument(
        "--skip-sqlite", action="store_true", help="with --database-url: PostgreSQL only"
    )
    parser.add_argument("--no-baseline", action="store_true", help="hutong only")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for each reply"
    )
    parser.add_argument(
        "--startup", type=float, default=120.0, help="seconds allowed for a bot's start"
    )
    parser.add_argument("--poll-timeout", type=int, default=10, help="getUpdates long poll, s")
    parser.add_argument("--keep", action="store_true", help="keep work dirs (db, bot log)")
    args = parser.parse_args(argv)
    if args.chats < 1 or args.concurrency < 1:
        parser.error("--chats and --concurrency must be positive")
    if args.database_url:
        if make_url(async_url(args.database_url)).get_backend_name() != "postgresql":
            parser.error("--database-url must be PostgreSQL (SQLite runs use a temp file)")
        check_loopback(args.database_url)
    elif args.skip_sqlite:
        parser.error("--skip-sqlite needs --database-url")
    args.bots = [
        *([] if args.no_baseline else [BASELINE]),
        *([] if args.skip_sqlite else ["sqlite"]),
        *(["postgresql"] if args.database_url else []),
    ]
    # What bench/bots.py reads: never pinned, polling, Telegram's limits lifted.
    args.pin = False
    args.webhook = False
    args.telegram_limits = False
    return args


async def main_async(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for bot in args.bots:
        rows.extend(await measure(bot, args))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print_header(args)
    rows = asyncio.run(main_async(args))
    print()
    print_header(args)
    print_table(rows, args)
    return 1 if any(r.problems for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
