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

``--web-processes N`` (PostgreSQL, webhook): hutong on PostgreSQL as one process (``--role
all``) and then as N ``--role web`` processes and one ``--role worker``, the fake posting
updates to the web processes in turn; the table shows N processes' updates/s over one's.

    python bench/intake.py --citizens 100 500 --baseline --web-processes 2 \
        --database-url postgresql://postgres@127.0.0.1:5432/bench

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
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fakes"))

from bot_api import Call, FakeBotAPI
from bots import (
    BASELINE,
    BASELINES,
    LOOPBACK,
    add_bot_arguments,
    bot_logs,
    bot_under_test,
    check_bot_arguments,
    count_rows,
    duplicate_replies,
    log_tail,
    run_bench,
    settle,
    split_row,
    web_processes_of,
)
from citizen import REPLY_METHODS, Citizen
from common import fmt, percentile, print_rows

FIRST_CHAT_ID = 700_000_001
# What the bot sends in answer to citizens; counted per run to compare the bots' work.
ANSWER_METHODS = (*REPLY_METHODS, "answerCallbackQuery")
ONE_PROCESS = "postgresql"  # the row split rows are compared with


@dataclass
class RunResult:
    bot: str  # baseline | sqlite | postgresql | postgresql web×N
    citizens: int
    reports: int = 0
    updates: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    tickets_in_db: int | None = None
    inbox: dict[str, int] = field(default_factory=dict)
    service_cpu: float | None = None
    peak_rss: int | None = None  # bytes, the bot process's VmHWM (split: summed)
    processes: list[str] = field(default_factory=list)  # split: each process's CPU and peak
    bench_cpu: float = 0.0
    webhook_failures: int = 0  # webhook posts answered other than 2xx (posted again)
    webhook_spread: list[int] = field(default_factory=list)  # split: posts to each web process
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


def print_table(results: Sequence[RunResult]) -> None:
    baseline_rate = {r.citizens: r.rate for r in results if r.bot == BASELINE and r.ok}
    one_rate = {r.citizens: r.rate for r in results if r.bot == ONE_PROCESS and r.ok}
    split = any(web_processes_of(r.bot) for r in results)
    headers = (
        "bot",
        "citizens",
        "reports",
        "updates",
        "wall s",
        "updates/s",
        "× baseline",
        *(["× 1 process"] if split else []),
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
                *([fmt(ratio_to_one(r, one_rate), ".2f")] if split else []),
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
    for r in results:
        ratio = ratio_to_one(r, one_rate)
        if web_processes_of(r.bot) and ratio is not None:
            label = r.bot.removeprefix(ONE_PROCESS).strip()
            print(
                f"{label} / one process: {ratio:.2f}× at {r.citizens} citizens "
                f"({r.rate:.1f} / {one_rate[r.citizens]:.1f} updates/s)"
            )


def ratio_to_one(r: RunResult, one_rate: dict[int, float]) -> float | None:
    """updates/s over hutong's one-process PostgreSQL row at the same size (both ok)."""
    if r.bot in BASELINES or not r.bot.startswith(ONE_PROCESS) or not r.ok:
        return None
    one = one_rate.get(r.citizens)
    return r.rate / one if one else None


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


async def run_one(bot: str, n: int, args: argparse.Namespace) -> RunResult:
    """One bot (the baseline, or hutong on one database) with ``n`` citizens."""
    slug = "".join(c if c.isalnum() else "-" for c in bot)
    workdir = Path(tempfile.mkdtemp(prefix=f"hutong-bench-{slug}-{n}-"))
    result = RunResult(bot=bot, citizens=n)
    api = FakeBotAPI()
    tag = f"[{bot} N={n}]"
    print(f"{tag} workdir {workdir}", flush=True)
    url: str | None = None
    try:
        await api.start(LOOPBACK, 0)
        async with bot_under_test(bot, api, workdir, args) as running:
            url = running.database_url
            print(f"{tag} bot ready; driving {n} citizens", flush=True)
            first_call = len(api.calls)
            cpu_each_before = running.cpu_each()
            cpu_before = running.cpu_seconds()
            own_before = resource.getrusage(resource.RUSAGE_SELF)
            await drive(api, n, args.timeout, args.run_timeout, result)
            await settle(api)
            own_after = resource.getrusage(resource.RUSAGE_SELF)
            cpu_after = running.cpu_seconds()
            result.peak_rss = running.peak_rss()
            if cpu_before is not None and cpu_after is not None:
                result.service_cpu = cpu_after - cpu_before
            if len(running.procs) > 1:
                for name, before, after, peak in zip(
                    running.roles,
                    cpu_each_before,
                    running.cpu_each(),
                    running.peak_rss_each(),
                    strict=True,
                ):
                    cpu = after - before if after is not None and before is not None else None
                    result.processes.append(
                        f"{name} CPU {fmt(cpu, '.1f')} s, "
                        f"peak {fmt(peak / 2**20 if peak else None, '.0f')} MiB"
                    )
                result.webhook_spread = list(api.webhook_posts_to.values())
            result.bench_cpu = (own_after.ru_utime + own_after.ru_stime) - (
                own_before.ru_utime + own_before.ru_stime
            )
            counts = Counter(c.method for c in api.calls[first_call:])
            result.answers = {m: counts[m] for m in ANSWER_METHODS}
            result.transcript = transcript(api.calls_for(FIRST_CHAT_ID))
            result.webhook_failures = api.webhook_failures
            if args.webhook and api.get_updates_calls:
                result.problems.append(f"{api.get_updates_calls} getUpdates in webhook mode")
            twice = duplicate_replies(api, [FIRST_CHAT_ID + i for i in range(n)])
            if twice:
                result.problems.append(f"{twice} replies were sent more than once")
        if url is not None:
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
        logs = bot_logs(workdir)
        with contextlib.suppress(OSError):
            result.log_lines = sum(len(p.read_text(errors="replace").splitlines()) for p in logs)
        report_run(result, logs)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def report_run(result: RunResult, logs: Sequence[Path]) -> None:
    tag = f"[{result.bot} N={result.citizens}]"
    db = (
        f"tickets in db: {fmt(result.tickets_in_db, 'd')} (expected {result.citizens}); "
        f"inbox: {result.inbox or '-'}; "
        if result.bot not in BASELINES
        else ""
    )
    hook = (
        f"webhook posts answered other than 2xx: {result.webhook_failures}; "
        if result.webhook_failures
        else ""
    )
    print(
        f"{tag} {db}{hook}calls: {result.answers or '-'}; "
        f"log lines (WARNING+): {result.log_lines}; "
        f"bot CPU {fmt(result.service_cpu, '.1f')} s, bench CPU {result.bench_cpu:.1f} s "
        f"in {result.wall:.1f} s wall",
        flush=True,
    )
    if result.processes:
        print(
            f"{tag} per process: {'; '.join(result.processes)}; "
            f"webhook posts to each web process: {result.webhook_spread}",
            flush=True,
        )
    for problem in result.problems:
        print(f"{tag} PROBLEM: {problem}", flush=True)
    if result.problems or result.log_lines:
        for log in logs or [Path("bot.log")]:
            print(f"{tag} {log.name} tail:\n{log_tail(log)}", flush=True)


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
    add_bot_arguments(parser)
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
        "--web-processes",
        type=int,
        metavar="N",
        help="PostgreSQL (--database-url), webhook implied, not with --pin: hutong runs as "
        "one process (--role all) and then as N --role web processes plus one --role "
        "worker, the fake posting updates to the web processes in turn; no SQLite row",
    )
    args = parser.parse_args(argv)
    args.citizens = args.citizens or [100]
    if any(n < 1 for n in args.citizens):
        parser.error("--citizens must be positive")
    if args.web_processes is not None:
        if args.web_processes < 1:
            parser.error("--web-processes must be positive")
        if not args.database_url:
            parser.error("--web-processes needs --database-url (split roles need PostgreSQL)")
        if args.pin:
            parser.error("--web-processes runs several bot processes: --pin does not apply")
        # Split roles take updates by webhook only; SQLite cannot be split, so the rows to
        # compare are PostgreSQL's one process and N web processes.
        args.webhook = True
        args.skip_sqlite = True
    check_bot_arguments(parser, args)
    if args.web_processes is not None:
        args.bots.append(split_row(args.web_processes))
    return args


async def main_async(args: argparse.Namespace) -> list[RunResult]:
    results = []
    for n in args.citizens:
        size = [await run_one(bot, n, args) for bot in args.bots]
        if size[0].bot in BASELINES:
            for other in size[1:]:
                compare_dialogues(size[0], other)
        results.extend(size)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    extra = (
        [f"{split_row(args.web_processes)}: {args.web_processes} × --role web + 1 × --role worker"]
        if args.web_processes
        else []
    )
    return run_bench(args, lambda: main_async(args), print_table, *extra)


if __name__ == "__main__":
    sys.exit(main())
