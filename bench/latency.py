"""Open-loop latency: updates at a fixed offered rate over many chats, replies not awaited.

The fake Telegram Bot API (``tests/fakes/bot_api.py``) runs in this process and the bot under
test (``bench/bots.py``: the baseline, hutong on SQLite or PostgreSQL; long polling, or
``--webhook``) against it. A generator pushes ``--rate`` updates a second (Poisson arrivals,
or ``--arrivals even``) for ``--duration`` seconds; the k-th arrival goes to chat k mod
``--chats``, so each chat speaks about every chats/rate seconds. Each chat follows the report
dialogue of ``tests/fakes/citizen.py`` (``file_report_by_buttons``: 14 updates, then /start
again) and never waits for a reply: when its time comes it sends its next step with the
newest button data it has, even when the bot has not answered its previous update yet.

Latency is measured from an update's push to the bot's first reply message (sendMessage or
editMessageText) in that chat, replies matched to the chat's updates in order.

    python bench/latency.py --baseline
    python bench/latency.py --baseline --webhook
    python bench/latency.py --skip-sqlite --database-url postgresql://postgres@127.0.0.1:5432/bench

Only figures are printed; nothing asserts wall-clock times. The exit status is 1 when an
update got no reply, a reply was sent twice, or hutong's tickets differ from the receipts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fakes"))

from bot_api import Call, FakeBotAPI
from bots import (
    BASELINE,
    LOOPBACK,
    RunningBot,
    add_bot_arguments,
    bot_under_test,
    check_bot_arguments,
    count_rows,
    duplicate_replies,
    log_tail,
    run_bench,
)
from citizen import REPLY_METHODS
from common import fmt, percentile, print_rows

FIRST_CHAT_ID = 710_000_001
STORY = "孩子一个人在家两天了，没有大人照看。"
# Citizen.file_report_by_buttons, step by step: ("text", text) or ("press", action, value).
DIALOGUE: tuple[tuple[str, ...], ...] = (
    ("text", "/start"),
    ("press", "mn", "report"),
    ("press", "dg", "no"),
    ("press", "rp", "neighbour"),
    ("press", "pc", "440100000000"),
    ("press", "pn", "440117000000"),
    ("press", "pt", "440117001000"),
    ("press", "ag", "6-11"),
    ("press", "sx", "f"),
    ("press", "cn", "no_carer"),
    ("press", "cd", ""),
    ("text", STORY),
    ("press", "ct", "anon"),
    ("press", "sm", "ok"),
)


@dataclass
class Chat:
    chat_id: int
    step: int = 0
    sent: list[float] = field(default_factory=list)  # monotonic push times
    stale: int = 0  # updates pushed while an earlier one was still unanswered


@dataclass
class RunResult:
    bot: str
    chats: int
    offered: float
    updates: int = 0
    window: float = 0.0  # first push to last push, s
    stale: int = 0
    lag: list[float] = field(default_factory=list)  # push time - scheduled time, s
    latencies: list[float] = field(default_factory=list)
    missing: int = 0  # no reply when the drain ended
    lost: int = 0  # missing, and the bot had gone quiet: never to be answered
    receipts: int = 0
    tickets_in_db: int | None = None
    service_cpu: float | None = None
    peak_rss: int | None = None
    log_lines: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def achieved(self) -> float:
        # n pushes span n - 1 gaps
        return (self.updates - 1) / self.window if self.window > 0 else float("nan")


# ---------------------------------------------------------------------- the generator


def replies(api: FakeBotAPI, chat_id: int) -> list[Call]:
    return [c for c in api.calls_for(chat_id) if c.method in REPLY_METHODS]


def button_data(calls: Sequence[Call], action: str, value: str) -> tuple[str, int] | None:
    """The newest button ``<version>:action:value`` offered in ``calls``, and its message;
    else the newest version of any button, with this action and value (stale, as a citizen
    pressing what was on screen); None when the chat saw no button yet."""
    newest: tuple[str, int] | None = None
    for call in reversed(calls):
        message_id = (
            call.message_id if call.method == "sendMessage" else call.params.get("message_id")
        )
        if not isinstance(message_id, int):
            continue
        for _label, data in call.buttons():
            parts = (data or "").split(":", 2)
            if len(parts) != 3:
                continue
            if parts[1] == action and (parts[2] == value or not value):
                return data or "", message_id
            if newest is None:
                newest = (f"{parts[0]}:{action}:{value}", message_id)
    return newest


def push_next(api: FakeBotAPI, chat: Chat) -> None:
    """Push the chat's next step of the dialogue, whatever the bot answered so far."""
    answered = replies(api, chat.chat_id)
    if len(answered) < len(chat.sent):
        chat.stale += 1
    step = DIALOGUE[chat.step]
    chat.step = (chat.step + 1) % len(DIALOGUE)
    chat.sent.append(time.monotonic())
    if step[0] == "text":
        api.push_text(chat.chat_id, step[1])
        return
    found = button_data(answered, step[1], step[2])
    data, message_id = found if found is not None else (f"1:{step[1]}:{step[2]}", 1)
    api.push_callback(chat.chat_id, data, message_id=message_id)


def arrival_offsets(rate: float, args: argparse.Namespace) -> list[float]:
    """Seconds from the start of each update: ``rate`` a second for ``duration`` seconds."""
    n = max(1, round(rate * args.duration))
    if args.arrivals == "even":
        return [k / rate for k in range(n)]
    rng = random.Random(args.seed)
    offsets, t = [], 0.0
    for _ in range(n):
        offsets.append(t)
        t += rng.expovariate(rate)
    return offsets


async def generate(
    api: FakeBotAPI, chats: list[Chat], rate: float, args: argparse.Namespace
) -> RunResult:
    result = RunResult(bot="", chats=len(chats), offered=rate)
    offsets = arrival_offsets(rate, args)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    first = last = 0.0
    for k, offset in enumerate(offsets):
        due = start + offset
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = loop.time()
        result.lag.append(now - due)
        push_next(api, chats[k % len(chats)])
        if k == 0:
            first = now
        last = now
    result.updates = len(offsets)
    result.window = last - first
    return result


async def drain(api: FakeBotAPI, chats: list[Chat], limit: float, quiet: float = 10.0) -> bool:
    """Until every chat has as many replies as updates, or ``limit`` seconds. False when it
    stopped with updates unanswered although the bot had made no Bot API call for ``quiet``
    seconds and the fake held none of them: those are lost, not late."""
    deadline = time.monotonic() + limit
    seen, since = len(api.calls), time.monotonic()
    while time.monotonic() < deadline:
        if all(len(replies(api, c.chat_id)) >= len(c.sent) for c in chats):
            return True
        await asyncio.sleep(0.2)
        now = time.monotonic()
        if len(api.calls) != seen or api.pending_updates or api.webhook_pending:
            seen, since = len(api.calls), now
        elif now - since >= quiet:
            return False
    return True


def measure(api: FakeBotAPI, chats: list[Chat], result: RunResult) -> None:
    """Latency per update: each reply message answers the chat's oldest unanswered update
    pushed before it (a second message to one update then counts for the next one, if that
    was already pushed: only when the chat was stale)."""
    for chat in chats:
        pending = list(chat.sent)
        i = 0
        for call in replies(api, chat.chat_id):
            if i < len(pending) and pending[i] <= call.at:
                result.latencies.append(call.at - pending[i])
                i += 1
            if "<code>" in (call.text or ""):
                result.receipts += 1
        result.missing += len(pending) - i
        result.stale += chat.stale


# ---------------------------------------------------------------------- one run


async def run_one(bot: str, rate: float, args: argparse.Namespace) -> RunResult:
    workdir = Path(tempfile.mkdtemp(prefix=f"hutong-latency-{bot.replace('/', '')}-"))
    log = workdir / "bot.log"
    api = FakeBotAPI()
    tag = f"[{bot} {rate:g}/s]"
    print(f"{tag} workdir {workdir}", flush=True)
    result = RunResult(bot=bot, chats=args.chats, offered=rate)
    try:
        await api.start(LOOPBACK, 0)
        async with bot_under_test(bot, api, workdir, args) as running:
            print(
                f"{tag} bot ready; {rate:g} updates/s over {args.chats} chats "
                f"for {args.duration:g} s",
                flush=True,
            )
            result = await drive(api, running, rate, args)
        if running.database_url is not None:
            result.tickets_in_db, inbox = await count_rows(running.database_url)
            if result.tickets_in_db != result.receipts:
                result.problems.append(
                    f"{result.tickets_in_db} tickets in the database, {result.receipts} receipts"
                )
            not_done = {k: v for k, v in inbox.items() if k != "done"}
            if not_done:
                result.problems.append(f"inbox rows not done: {not_done}")
    except Exception as exc:
        result.problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        await api.stop()
        with contextlib.suppress(OSError):
            result.log_lines = len(log.read_text(errors="replace").splitlines())
        for problem in result.problems:
            print(f"{tag} PROBLEM: {problem}", flush=True)
        if result.problems or result.log_lines:
            print(f"{tag} bot log tail ({result.log_lines} lines):\n{log_tail(log)}", flush=True)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


async def drive(
    api: FakeBotAPI, running: RunningBot, rate: float, args: argparse.Namespace
) -> RunResult:
    chats = [Chat(FIRST_CHAT_ID + i) for i in range(args.chats)]
    cpu_before = running.cpu_seconds()
    result = await generate(api, chats, rate, args)
    busy_to_the_end = await drain(api, chats, args.drain)
    cpu_after = running.cpu_seconds()
    result.bot = running.name
    result.peak_rss = running.peak_rss()
    if cpu_before is not None and cpu_after is not None:
        result.service_cpu = cpu_after - cpu_before
    measure(api, chats, result)
    if result.missing and not busy_to_the_end:
        result.lost = result.missing
        result.problems.append(
            f"{result.missing} of {result.updates} updates got no reply, and the bot went "
            "quiet with none of them left at the fake"
        )
    elif result.missing:
        print(
            f"[{running.name} {rate:g}/s] {result.missing} updates not answered yet when the "
            f"drain ended ({args.drain:g} s after the last push), the bot still working; "
            f"{api.pending_updates + api.webhook_pending} of them still held by the fake",
            flush=True,
        )
    # A prompt is sent again, identical, after a stale press: only chats that never were
    # stale can show a reply sent twice.
    twice = duplicate_replies(api, [c.chat_id for c in chats if not c.stale])
    if twice:
        result.problems.append(f"{twice} replies were sent more than once")
    if args.webhook and api.get_updates_calls:
        result.problems.append(f"{api.get_updates_calls} getUpdates in webhook mode")
    print(
        f"[{running.name} {rate:g}/s] {result.updates} updates pushed in {result.window:.1f} s, "
        f"{len(result.latencies)} answered, {result.receipts} receipts; "
        f"bot CPU {fmt(result.service_cpu, '.1f')} s",
        flush=True,
    )
    return result


# ---------------------------------------------------------------------- output


def print_table(results: Sequence[RunResult]) -> None:
    headers = (
        "bot",
        "chats",
        "offered/s",
        "achieved/s",
        "updates",
        "lag p99 ms",
        "stale",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "missing",
        "lost",
        "cpu ms/upd",
        "peak RSS MiB",
        "receipts",
        "tickets",
        "ok",
    )
    rows = []
    for r in results:
        lat = sorted(r.latencies)
        lag = sorted(r.lag)
        rows.append(
            (
                r.bot,
                str(r.chats),
                fmt(r.offered, ".0f"),
                fmt(r.achieved if r.updates > 1 else None, ".1f"),
                str(r.updates),
                fmt(percentile(lag, 99) * 1000, ".1f"),
                str(r.stale),
                fmt(percentile(lat, 50) * 1000, ".1f"),
                fmt(percentile(lat, 90) * 1000, ".1f"),
                fmt(percentile(lat, 99) * 1000, ".1f"),
                fmt(lat[-1] * 1000 if lat else None, ".1f"),
                str(r.missing),
                str(r.lost),
                fmt(
                    r.service_cpu * 1000 / r.updates if r.service_cpu and r.updates else None,
                    ".2f",
                ),
                fmt(r.peak_rss / 2**20 if r.peak_rss else None, ".0f"),
                str(r.receipts),
                "-" if r.bot.startswith(BASELINE) else fmt(r.tickets_in_db, "d"),
                "yes" if r.ok else "NO",
            )
        )
    print_rows(headers, rows)


# ---------------------------------------------------------------------- entry point


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Push updates at a fixed rate over many chats, not waiting for replies; "
        "print latency (update pushed -> first reply in that chat)."
    )
    parser.add_argument(
        "--rate",
        type=float,
        nargs="+",
        action="extend",
        metavar="R",
        help="offered updates a second; several rates run one after another (default 200)",
    )
    parser.add_argument("--chats", type=int, default=1000, help="chats (1000)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (30)")
    parser.add_argument(
        "--arrivals",
        choices=("poisson", "even"),
        default="poisson",
        help="Poisson arrivals (default) or evenly spaced ones",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the arrivals")
    parser.add_argument(
        "--drain",
        type=float,
        default=300.0,
        help="seconds to wait for the last replies after the last push (300): an overloaded "
        "bot works off its backlog",
    )
    add_bot_arguments(parser)
    args = parser.parse_args(argv)
    args.rate = args.rate or [200.0]
    if min(args.rate) <= 0 or args.chats < 1 or args.duration <= 0 or args.drain < 0:
        parser.error("--rate, --chats, --duration must be positive, --drain >= 0")
    check_bot_arguments(parser, args)
    return args


async def main_async(args: argparse.Namespace) -> list[RunResult]:
    return [await run_one(bot, rate, args) for rate in args.rate for bot in args.bots]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(args, lambda: main_async(args), print_table, f"{args.arrivals} arrivals")


if __name__ == "__main__":
    sys.exit(main())
