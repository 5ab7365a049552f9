"""Intake throughput: N concurrent citizens file full reports against the fake Bot API.

The fake Telegram Bot API (``tests/fakes/bot_api.py``) runs in this process; ``hutong serve``
runs as a subprocess pointed at it, with a fresh database for every size. Each simulated
citizen (``tests/fakes/citizen.py``) files the shortest report by buttons (14 updates) and
every update's latency is measured from the moment it is pushed to the fake until the bot's
first reply message in that chat arrives.

    python bench/intake.py --citizens 100 500
    python bench/intake.py --citizens 100 --database-url postgresql://postgres@127.0.0.1:5432/bench

With ``--database-url`` pointing at PostgreSQL the schema ``public`` of that database is
DROPPED and recreated before every size: never point it at a database you care about.

Only figures are printed; nothing asserts wall-clock times. The exit status is non-zero when
a citizen timed out or the database does not hold exactly one ticket per citizen.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import async_url, make_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fakes"))

from bot_api import FakeBotAPI
from citizen import Citizen
from common import check_loopback, fmt, percentile, print_rows, reset_postgres

LOOPBACK = "127.0.0.1"
FIRST_CHAT_ID = 700_000_001
LOG_TAIL_LINES = 25


@dataclass
class RunResult:
    backend: str
    citizens: int
    reports: int = 0
    updates: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    tickets_in_db: int | None = None
    inbox: dict[str, int] = field(default_factory=dict)
    service_cpu: float | None = None
    bench_cpu: float = 0.0
    log_lines: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------------- figures


def print_table(results: Sequence[RunResult]) -> None:
    headers = (
        "db",
        "citizens",
        "reports",
        "updates",
        "wall s",
        "updates/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "tickets",
        "svc cpu s",
        "cpu ms/upd",
        "ok",
    )
    rows: list[tuple[str, ...]] = []
    for r in results:
        lat = sorted(r.latencies)
        rate = r.updates / r.wall if r.wall > 0 else math.nan
        rows.append(
            (
                r.backend,
                str(r.citizens),
                str(r.reports),
                str(r.updates),
                fmt(r.wall, ".2f"),
                fmt(rate, ".1f"),
                fmt(percentile(lat, 50) * 1000, ".1f"),
                fmt(percentile(lat, 90) * 1000, ".1f"),
                fmt(percentile(lat, 99) * 1000, ".1f"),
                fmt(lat[-1] * 1000 if lat else None, ".1f"),
                fmt(r.tickets_in_db, "d"),
                fmt(r.service_cpu, ".1f"),
                fmt(
                    r.service_cpu * 1000 / r.updates if r.service_cpu and r.updates else None,
                    ".2f",
                ),
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


# ---------------------------------------------------------------------- the service


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def service_env(
    api: FakeBotAPI, database_url: str, http_port: int, poll_timeout: int
) -> dict[str, str]:
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
    """User + system CPU of a live process (Linux ``/proc``); ``None`` elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


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


@contextlib.asynccontextmanager
async def running_service(
    env: dict[str, str], cwd: Path, log: Path, port: int, startup: float
) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", cwd=cwd, env=env, stdout=out, stderr=out
        )
        try:
            await wait_healthy(proc, port, log, startup)
            yield proc
        finally:
            await stop_process(proc)


# ---------------------------------------------------------------------- one size


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
            + str(first).splitlines()[0]
        )
    if len(set(codes)) != len(codes):
        result.problems.append(f"duplicate ticket codes: {len(codes) - len(set(codes))}")
    if len(codes) != n and not errors:
        result.problems.append(f"only {len(codes)} of {n} citizens got a ticket code")


async def run_size(n: int, args: argparse.Namespace) -> RunResult:
    base_url: str | None = args.database_url
    workdir = Path(tempfile.mkdtemp(prefix=f"hutong-bench-{n}-"))
    log = workdir / "service.log"
    if base_url is None:
        url = f"sqlite+aiosqlite:///{workdir / 'hutong.db'}"
        backend = "sqlite"
    else:
        url = async_url(base_url)
        backend = make_url(url).get_backend_name()
    result = RunResult(backend=backend, citizens=n)
    api = FakeBotAPI()
    print(f"[{backend} N={n}] workdir {workdir}", flush=True)
    try:
        await api.start(LOOPBACK, 0)
        env = service_env(api, url, free_port(), args.poll_timeout)
        if backend == "postgresql":
            await reset_postgres(url)
            upgrade_log = workdir / "upgrade.log"
            await run_cli(
                ["db", "upgrade"], env=env, cwd=workdir, log=upgrade_log, limit=args.startup
            )
        port = int(env["HUTONG_HTTP_PORT"])
        async with running_service(env, workdir, log, port, args.startup) as proc:
            await api.wait_for_poll(timeout=args.startup)
            print(f"[{backend} N={n}] service ready; driving {n} citizens", flush=True)
            cpu_before = process_cpu_seconds(proc.pid)
            own_before = resource.getrusage(resource.RUSAGE_SELF)
            await drive(api, n, args.timeout, args.run_timeout, result)
            own_after = resource.getrusage(resource.RUSAGE_SELF)
            cpu_after = process_cpu_seconds(proc.pid)
            if cpu_before is not None and cpu_after is not None:
                result.service_cpu = cpu_after - cpu_before
            result.bench_cpu = (own_after.ru_utime + own_after.ru_stime) - (
                own_before.ru_utime + own_before.ru_stime
            )
        result.tickets_in_db, result.inbox = await count_rows(url)
        if result.tickets_in_db != n:
            result.problems.append(f"{result.tickets_in_db} tickets in the database, expected {n}")
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
    tag = f"[{result.backend} N={result.citizens}]"
    print(
        f"{tag} tickets in db: {fmt(result.tickets_in_db, 'd')} (expected {result.citizens}); "
        f"inbox: {result.inbox or '-'}; service log lines (WARNING+): {result.log_lines}; "
        f"service CPU {fmt(result.service_cpu, '.1f')} s, bench CPU {result.bench_cpu:.1f} s "
        f"in {result.wall:.1f} s wall",
        flush=True,
    )
    for problem in result.problems:
        print(f"{tag} PROBLEM: {problem}", flush=True)
    if result.problems or result.log_lines:
        print(f"{tag} service log tail:\n{log_tail(log)}", flush=True)


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
        "--database-url",
        help="PostgreSQL URL on loopback; its schema public is DROPPED before each size "
        "(default: a fresh SQLite file per size)",
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
        "--startup", type=float, default=120.0, help="seconds allowed for service start"
    )
    parser.add_argument("--poll-timeout", type=int, default=10, help="getUpdates long poll, s")
    parser.add_argument("--keep", action="store_true", help="keep work dirs (db, service log)")
    args = parser.parse_args(argv)
    args.citizens = args.citizens or [100]
    if any(n < 1 for n in args.citizens):
        parser.error("--citizens must be positive")
    if args.database_url:
        backend = make_url(async_url(args.database_url)).get_backend_name()
        if backend != "postgresql":
            parser.error("--database-url must be PostgreSQL (SQLite runs use a temp file)")
        check_loopback(args.database_url)
    return args


async def main_async(args: argparse.Namespace) -> list[RunResult]:
    results = []
    for n in args.citizens:
        results.append(await run_size(n, args))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(main_async(args))
    print()
    print_table(results)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
