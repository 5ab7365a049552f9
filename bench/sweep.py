"""The deadline sweep on a large database: one tick's cost, and due time to outbox row and to
the notice handed to the Bot API.

Builds a database of N tickets (default 1,000,000, of which 200,000 open and exactly
``--due`` due now) with one staff member enrolled at every station and one supervisor at
every county and city (each a private chat), then measures

A. one sweep tick that finds the due tickets: ``flows.escalation.sweep_deadlines`` with a fixed
   clock, repeated on fresh due sets (wall time, rows written, SQL statements, EXPLAIN of
   the sweep's query);
B. the delay from a ticket's due time to its escalation's outbox row, and on to the
   ``sendMessage`` of each copy of the notice reaching the fake Bot API, while the sweep
   runs on ``bot.jobs.Jobs`` every S seconds with the real clock and the outbox sender of
   ``bot.telegram_side.TelegramSide`` sends, as in ``hutong serve``, and a feeder makes
   open tickets fall due at a steady rate. Each interval runs with Telegram's limits as the
   service keeps them by default (30 messages/s, 1/s per chat) and with them lifted.

    python bench/sweep.py                                  # SQLite, temp file
    python bench/sweep.py --database-url postgresql://postgres@127.0.0.1:5432/bench
    python bench/sweep.py --tickets 100000 --open 20000    # smaller, quicker

With a PostgreSQL ``--database-url`` the schema ``public`` of that database is DROPPED and
recreated: never point it at a database you care about. Only loopback hosts are accepted.

Only figures are printed; nothing asserts times. The exit status is 1 when a tick did not
advance exactly the due tickets, an outbox row could not be matched to a due time, or a
notice was never received by the fake Bot API or received twice.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import contextvars
import json
import logging
import math
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import asyncpg
from common import check_loopback, fmt, machine_line, percentile, print_rows, reset_postgres
from fake_api import FakeProcess, Received
from sqlalchemy import Boolean, DateTime, Table, bindparam, event, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import make_url
from sqlmodel import UTCDateTime, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.jobs import Jobs
from bot.settings import Settings
from bot.tasks import Supervisor
from bot.telegram_side import TelegramSide
from flows.clock import system_clock
from flows.commands import KIND as COMMAND_LISTS
from flows.escalation import sweep_deadlines
from flows.intake import Intake
from flows.lifecycle import OUTCOMES
from flows.places import Directory
from flows.sla import DEFAULT_POLICY, LEVEL1, LEVEL2, REMINDER, freeze, overdue_level_for
from flows.states import FEEDBACK
from flows.tickets import CODE_ALPHABET, CODE_LENGTH, Route, route
from flows.triage import AGE_BANDS, CONCERNS, REPORTER_ROLES, SEXES, derive_priority
from storage.db import Database, make_engine
from storage.directory_data import read_bundled_divisions
from storage.migrate import seed_directory, upgrade_async
from storage.models import OutboxMessage, StaffMember, Ticket, TicketEvent

CHUNK: Final = 50_000  # rows per insert transaction while building
DUE_SPREAD: Final = timedelta(minutes=5)  # the due set fell due within this before "now"
# Open tickets that are not due are due at least this long after the build's "now", so
# nothing falls due by itself while the bench runs (it is checked: see catch_up).
FUTURE_MARGIN: Final = timedelta(hours=1)
FUTURE_SPREAD: Final = timedelta(days=7)
FEED_STEP: Final = 0.2  # seconds between the feeder's writes
ESCALATION_KINDS: Final = ("reminder", "escalated", "escalation_repeat")
# Rung of an open, un-signed ticket: mostly awaiting the reminder or L1.
RUNG_WEIGHTS: Final = {REMINDER: 55, LEVEL1: 25, LEVEL2: 10, 3: 5, 4: 3, 5: 2}
STORIES: Final = (
    "邻居家的孩子经常一个人在家，晚上很晚还听到哭声，大人好几天没回来。",
    "孩子身上有明显的伤痕，说是被家长用衣架打的，已经不止一次了。",
    "这个孩子最近一个月都没去上学，白天在街上游荡，问他也不说话。",
    "小区门口的小卖部有个孩子在帮忙干活，看起来不到十二岁，每天从早干到晚。",
    "学生在学校里被几个同学长期欺负，班主任知道后没有处理，孩子不愿意再上学。",
    "孩子发烧好几天了，家里老人不让去医院，说吃点草药就好。",
    "听说孩子在网上被人骗了，现在情绪很低落，说过不想活了之类的话。",
)
PLACE_TEXTS: Final = ("村口小卖部旁边", "菜市场后面那栋楼", "学校对面的出租屋", "三楼靠楼梯那户")
TICKET: Final[Table] = Ticket.__table__  # type: ignore[attr-defined]
OUTBOX: Final[Table] = OutboxMessage.__table__  # type: ignore[attr-defined]
STAFF_CHAT_BASE: Final = 7_000_000_000  # private chats of the enrolled staff, one each
# Telegram's limits as hutong keeps them by default, and lifted as in bench/intake.py.
DEFAULT_LIMITS: Final = (
    float(Settings.model_fields["telegram_messages_per_second"].default),
    float(Settings.model_fields["telegram_chat_messages_per_second"].default),
)
LIFTED: Final = (100_000.0, 100_000.0)
LIMITS: Final = {"telegram": DEFAULT_LIMITS, "lifted": LIFTED}
SERVICE_SWEEP_SECONDS: Final = float(Settings.model_fields["sweep_seconds"].default)
# Set by the sweep's ticks only: their commits are stamped, the sender's and feeder's not.
STAMPING: contextvars.ContextVar[bool] = contextvars.ContextVar("bench_stamping", default=False)


# ---------------------------------------------------------------------- figures


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    print(f"\n{title}")
    print_rows(headers, rows)


# ---------------------------------------------------------------------- databases


class StampedDatabase(Database):
    """A ``Database`` that can note, after each commit of a sweep tick (``STAMPING``), when
    it happened and the highest outbox id then visible, so each outbox row the sweep writes
    gets the moment it became visible. The sender's and feeder's units are not touched."""

    def __init__(self, url: str) -> None:
        super().__init__(make_engine(url))
        self.stamps: list[tuple[float, int]] = []  # (commit time, max outbox id)

    @contextlib.asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncSession]:
        top: int | None = None
        stamping = STAMPING.get()
        async with super().unit() as session:
            yield session
            if stamping:
                top = (await session.exec(select(func.max(OutboxMessage.id)))).one()
        if stamping and top is not None:
            self.stamps.append((time.time(), top))

    def visible_at(self) -> Callable[[int], float]:
        """Outbox id -> the first commit after which it was visible (``nan``: never seen)."""
        stamps = sorted(self.stamps)
        times, tops, best = [], [], -1
        for at, top in stamps:
            best = max(best, top)
            times.append(at)
            tops.append(best)

        def lookup(outbox_id: int) -> float:
            i = bisect.bisect_left(tops, outbox_id)
            return times[i] if i < len(times) else math.nan

        return lookup


@dataclass
class Shape:
    count: int = 0
    rows: int = 0
    seconds: float = 0.0


class Profiler:
    """Counts and times the SQL statements the engine sends, by shape (verb and table)."""

    _SHAPES: Final = (
        re.compile(r"^(SELECT)\b.*?\bFROM (\w+)"),
        re.compile(r"^(INSERT INTO|UPDATE|DELETE FROM) (\w+)"),
        re.compile(r"^(RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SAVEPOINT|BEGIN\w*|COMMIT)"),
    )

    def __init__(self, db: Database) -> None:
        self.on = False
        self.shapes: dict[str, Shape] = {}
        self.sweep_query: tuple[str, Any] | None = None
        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def reset(self) -> None:
        self.shapes = {}

    def _before(self, conn: Any, _cur: Any, statement: str, params: Any, _x: Any, _m: Any) -> None:
        if self.sweep_query is None and "next_due_at <=" in statement and "LIMIT" in statement:
            self.sweep_query = (statement, params)
        conn.info["bench_t0"] = time.perf_counter()  # a connection runs one at a time

    def _after(
        self, conn: Any, _cur: Any, statement: str, params: Any, _x: Any, many: bool
    ) -> None:
        took = time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        if not self.on:
            return
        flat = " ".join(statement.split())
        key = flat[:40]
        for pattern in self._SHAPES:
            m = pattern.match(flat)
            if m:
                key = " ".join(g for g in m.groups() if g)
                break
        if many:
            key += " (many)"
        shape = self.shapes.setdefault(key, Shape())
        shape.count += 1
        shape.rows += len(params) if many and isinstance(params, Sequence) else 1
        shape.seconds += took

    @property
    def statements(self) -> int:
        return sum(s.count for s in self.shapes.values())


# ---------------------------------------------------------------------- the data


@dataclass(frozen=True, slots=True)
class Place:
    code: str  # township or one of its villages
    route: Route


@dataclass
class Plan:
    """What the build wrote, kept so later due times can be set consistently."""

    now: datetime
    tickets: int
    open: int
    due: int
    seed: int
    first_open: int = 0
    priority: list[str] = field(default_factory=list)  # per open ticket, by id - first_open
    rung: list[int] = field(default_factory=list)
    due_ids: list[int] = field(default_factory=list)
    fresh: list[int] = field(default_factory=list)  # open ids never made due; pop to use
    states: Counter[str] = field(default_factory=Counter)
    priorities: Counter[str] = field(default_factory=Counter)

    def take(self, n: int) -> list[int]:
        if n > len(self.fresh):
            raise SystemExit("bench: not enough untouched open tickets left; raise --open")
        taken = self.fresh[-n:]
        del self.fresh[-n:]
        return taken


def windows_minutes(priority: str) -> tuple[float, float, float]:
    w = DEFAULT_POLICY.windows(priority)
    return w.sign, w.first_action, w.resolve


def rung_offset(priority: str, rung: int) -> timedelta:
    """Time from dispatch to sign-for rung ``rung`` (flows.sla.rung_time, base = sign due)."""
    sign = timedelta(minutes=windows_minutes(priority)[0])
    if rung == REMINDER:
        return sign * DEFAULT_POLICY.reminder_fraction
    return sign * rung


def ladder(priority: str, rung: int, due: datetime) -> dict[str, Any]:
    """Dispatch and deadlines of an un-signed ticket whose rung ``rung`` is due at ``due``.

    Far-future due times give dispatch times after the build's "now"; nothing the sweep
    does looks at that."""
    sign, first_action, resolve = windows_minutes(priority)
    dispatched = due - rung_offset(priority, rung)
    sign_due = dispatched + timedelta(minutes=sign)
    return {
        "created_at": dispatched - timedelta(seconds=30),
        "dispatched_at": dispatched,
        "sign_due_at": sign_due,
        "first_action_due_at": dispatched + timedelta(minutes=first_action),
        "resolve_due_at": dispatched + timedelta(minutes=resolve),
        "ladder_base": sign_due,
        "next_due_at": due,
        "overdue_since": sign_due if rung > LEVEL1 else None,
    }


def load_places(directory: Directory) -> list[Place]:
    """Every township, with about half of the tickets placed at one of its villages."""
    rows = read_bundled_divisions()
    villages: dict[str, list[str]] = {}
    for r in rows:
        if r.level == "village" and r.parent_code:
            villages.setdefault(r.parent_code, []).append(r.code)
    places: list[Place] = []
    for r in rows:
        if r.level == "township":
            places.append(Place(r.code, route(directory, r.code)))
            for v in villages.get(r.code, [])[:1]:
                places.append(Place(v, route(directory, v)))
    return places


class Generator:
    """Makes ticket rows in id order: first the closed ones, then the open ones."""

    def __init__(self, plan: Plan, directory: Directory) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.places = load_places(directory)
        self.codes: set[str] = set()
        self.sla = {p: json.dumps(freeze(DEFAULT_POLICY, p).as_json()) for p in ("P0", "P1", "P2")}
        self.columns = [c.name for c in TICKET.columns]
        self.template: dict[str, Any] = {}
        for c in TICKET.columns:
            default = getattr(c.default, "arg", None)
            self.template[c.name] = None if callable(default) else default
        self.rungs = list(RUNG_WEIGHTS)
        self.rung_weights = list(RUNG_WEIGHTS.values())
        n_closed = plan.tickets - plan.open
        plan.first_open = n_closed + 1
        open_ids = list(range(plan.first_open, plan.tickets + 1))
        self.rng.shuffle(open_ids)
        plan.due_ids = sorted(open_ids[: plan.due])
        plan.fresh = open_ids[plan.due :]
        self.due_set = set(plan.due_ids)

    def code(self) -> str:
        while True:
            c = "".join(self.rng.choices(CODE_ALPHABET, k=CODE_LENGTH))
            if c not in self.codes:
                self.codes.add(c)
                return c

    def answers(self) -> dict[str, Any]:
        rng = self.rng
        concerns = rng.sample(CONCERNS, k=rng.choice((1, 1, 1, 2, 2, 3)))
        return {
            "danger": rng.choices(("yes", "no", "unsure"), (8, 72, 20))[0],
            "concerns": concerns,
            "age": rng.choice(AGE_BANDS),
            "sex": rng.choice(SEXES),
            "reporter": rng.choice(REPORTER_ROLES),
        }

    def rows(self, start: int, stop: int) -> Iterator[dict[str, Any]]:
        for i in range(start, stop):
            yield self.row(i)

    def row(self, i: int) -> dict[str, Any]:
        rng, plan = self.rng, self.plan
        a = self.answers()
        priority = derive_priority(
            in_danger=a["danger"], concerns=a["concerns"], child_age=a["age"]
        )
        place = rng.choice(self.places)
        r = place.route
        queue = rng.random() < 0.03  # left with the county's or city's triage queue
        owner_level = r.owner_level
        owner_code, station = r.owner_code, r.station_code
        if queue:
            owner_level = "county" if r.county_code else "city"
            owner_code, station = r.county_code or r.city_code, None
        chat = 600_000_000 + rng.randrange(700_000)
        row = dict(self.template)
        row.update(
            id=i,
            code=self.code(),
            intake_key=f"telegram:{chat}:{i}",
            priority=priority,
            in_danger=a["danger"],
            reporter_role=a["reporter"],
            mandatory_reporter=a["reporter"] in ("teacher", "medical", "committee"),
            place_code=place.code,
            place_text=rng.choice(PLACE_TEXTS) if rng.random() < 0.1 else None,
            owner_code=owner_code,
            owner_level=owner_level,
            station_code=station,
            county_code=r.county_code,
            city_code=r.city_code,
            child_age=a["age"],
            child_sex=a["sex"],
            concerns=json.dumps(a["concerns"]),
            red_flags="[]",  # no alarm words in the bench's stories
            story=rng.choice(STORIES) * rng.choice((1, 1, 2, 3)),
            locale="zh" if rng.random() < 0.95 else "en",
            reporter_channel="telegram",
            reporter_chat_id=str(chat),
            anonymous=rng.random() < 0.7,
            sla=self.sla[priority],
        )
        plan.priorities[priority] += 1
        if i < plan.first_open:
            self._closed(row, i, priority)
        else:
            self._open(row, i, priority, queue)
        plan.states[row["state"]] += 1
        return row

    def _closed(self, row: dict[str, Any], i: int, priority: str) -> None:
        rng, plan = self.rng, self.plan
        sign, first_action, resolve = windows_minutes(priority)
        age = timedelta(days=730) * (1 - i / plan.first_open) + timedelta(days=10)
        dispatched = plan.now - age + timedelta(seconds=rng.uniform(0, 3600))
        signed = dispatched + timedelta(minutes=sign * rng.uniform(0.05, 1.5))
        acted = signed + timedelta(minutes=(first_action - sign) * rng.uniform(0.05, 0.9))
        resolved = dispatched + timedelta(minutes=resolve * rng.uniform(0.1, 1.2))
        resolved = max(resolved, acted + timedelta(minutes=10))
        sign_due = dispatched + timedelta(minutes=sign)
        row.update(
            state="closed",
            created_at=dispatched - timedelta(seconds=30),
            dispatched_at=dispatched,
            sign_due_at=sign_due,
            first_action_due_at=dispatched + timedelta(minutes=first_action),
            resolve_due_at=dispatched + timedelta(minutes=resolve),
            next_due_at=None,
            signed_at=signed,
            first_action_at=acted,
            resolved_at=resolved,
            closed_at=resolved + timedelta(days=rng.uniform(0, 3)),
            outcome=rng.choice(OUTCOMES),
            resolution_note="已上门核实并联系家长，情况已处理。",
            feedback=rng.choice((*FEEDBACK, None)),
            ladder_rung=1 if signed > dispatched + rung_offset(priority, REMINDER) else 0,
            ladder_base=sign_due,
            overdue_level=0,
        )

    def _open(self, row: dict[str, Any], i: int, priority: str, queue: bool) -> None:
        rng, plan = self.rng, self.plan
        rung = rng.choices(self.rungs, self.rung_weights)[0]
        if i in self.due_set:
            due = plan.now - DUE_SPREAD * rng.random() - timedelta(microseconds=1)
        else:
            due = plan.now + FUTURE_MARGIN + FUTURE_SPREAD * rng.random()
        plan.priority.append(priority)
        plan.rung.append(rung)
        row.update(ladder(priority, rung, due))
        row.update(
            state="triage" if queue else "dispatched",
            ladder_rung=rung,
            overdue_level=overdue_level_for(rung),
        )


def converters(kind: str) -> list[Callable[[Any], Any]]:
    """Per ticket column: Python value -> what the raw driver takes."""

    def same(v: Any) -> Any:
        return v

    def sqlite_time(v: datetime | None) -> str | None:
        # SQLAlchemy's SQLite DATETIME format, in UTC (sqlmodel's UTCDateTime).
        if v is None:
            return None
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def sqlite_bool(v: bool | None) -> int | None:
        return None if v is None else int(v)

    out: list[Callable[[Any], Any]] = []
    for c in TICKET.columns:
        if kind == "sqlite" and isinstance(c.type, DateTime | UTCDateTime):
            out.append(sqlite_time)
        elif kind == "sqlite" and isinstance(c.type, Boolean):
            out.append(sqlite_bool)
        else:
            out.append(same)  # JSON columns are made as text already
    return out


def check_columns(found: Sequence[str]) -> None:
    expected = [c.name for c in TICKET.columns]
    if sorted(found) != sorted(expected):
        raise SystemExit(
            f"bench: ticket columns differ from the model: {sorted(set(found) ^ set(expected))}"
        )


def records(gen: Generator, kind: str, start: int, stop: int) -> list[tuple[Any, ...]]:
    conv = converters(kind)
    cols = gen.columns
    return [
        tuple(f(row[c]) for f, c in zip(conv, cols, strict=True)) for row in gen.rows(start, stop)
    ]


async def pipelined(
    gen: Generator, kind: str, write: Callable[[list[tuple[Any, ...]]], Awaitable[None]]
) -> None:
    """Make the next chunk of rows in a thread while the last one is written."""
    starts = range(1, gen.plan.tickets + 1, CHUNK)

    def make(start: int) -> list[tuple[Any, ...]]:
        return records(gen, kind, start, min(start + CHUNK, gen.plan.tickets + 1))

    pending = asyncio.create_task(asyncio.to_thread(make, starts[0]))
    for i in range(len(starts)):
        batch = await pending
        if i + 1 < len(starts):
            pending = asyncio.create_task(asyncio.to_thread(make, starts[i + 1]))
        await write(batch)


async def load_sqlite(path: Path, gen: Generator) -> None:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-524288")  # 512 MB of page cache for the build
        check_columns([r[1] for r in conn.execute("PRAGMA table_info(ticket)")])
        cols = ", ".join(gen.columns)
        marks = ", ".join("?" * len(gen.columns))
        sql = f"INSERT INTO ticket ({cols}) VALUES ({marks})"

        def insert(batch: list[tuple[Any, ...]]) -> None:
            conn.execute("BEGIN")
            conn.executemany(sql, batch)
            conn.execute("COMMIT")

        async def write(batch: list[tuple[Any, ...]]) -> None:
            await asyncio.to_thread(insert, batch)  # sqlite3 lets go of the GIL meanwhile

        await pipelined(gen, "sqlite", write)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


async def load_postgres(url: str, gen: Generator) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = 'ticket'"
        )
        check_columns([r["column_name"] for r in found])

        async def write(batch: list[tuple[Any, ...]]) -> None:
            await conn.copy_records_to_table("ticket", records=batch, columns=gen.columns)

        await pipelined(gen, "postgresql", write)
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('ticket', 'id'), (SELECT max(id) FROM ticket))"
        )
        # What autovacuum would have done on a database that has been in use.
        await conn.execute("VACUUM ANALYZE ticket")
    finally:
        await conn.close()


async def build(args: argparse.Namespace, url: str, directory: Directory) -> Plan:
    plan = Plan(
        now=datetime.now(UTC), tickets=args.tickets, open=args.open, due=args.due, seed=args.seed
    )
    sqlite = make_url(url).get_backend_name() == "sqlite"
    t0 = time.perf_counter()
    if not sqlite:
        await reset_postgres(url)
    await upgrade_async(url)
    db = Database(make_engine(url))
    try:
        await seed_directory(db)
        staff = await enrol_staff(db, plan.now)
    finally:
        await db.dispose()
    t1 = time.perf_counter()
    gen = Generator(plan, directory)
    if sqlite:
        path = make_url(url).database
        assert path
        await load_sqlite(Path(path), gen)
    else:
        await load_postgres(url, gen)
    t2 = time.perf_counter()
    print(
        f"build: schema + directory + staff {t1 - t0:.1f} s, {plan.tickets:,} tickets "
        f"{t2 - t1:.1f} s"
    )
    print(
        f"  staff: {staff['township']:,} station members, {staff['county']:,} county and "
        f"{staff['city']:,} city supervisors, each their own private chat"
    )
    print(
        "  states: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(plan.states.items()))
        + " | priorities: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(plan.priorities.items()))
    )
    return plan


async def enrol_staff(db: Database, now: datetime) -> Counter[str]:
    """One staff member at every station and one supervisor at every county and city, each
    with a private chat, as ``hutong staff invite`` + joining would have bound them
    (``flows.staff.join``'s row, without the invitation): every rung's notice then reaches
    real chats, and none passes up a level for want of someone enrolled."""
    rows: list[dict[str, Any]] = []
    kinds: Counter[str] = Counter()
    for division in read_bundled_divisions():
        if division.level not in ("township", "county", "city"):
            continue
        chat = str(STAFF_CHAT_BASE + len(rows))
        role = "station" if division.level == "township" else "supervisor"
        rows.append(
            {
                "channel": "telegram",
                "user_id": chat,
                "chat_id": chat,
                "display_name": f"{role} {division.code}",
                "role": role,
                "scope_level": division.level,
                "scope_code": division.code,
                "locale": "zh",
                "active": True,
                "joined_at": now,
            }
        )
        kinds[division.level] += 1
    async with db.unit() as session:
        conn = await session.connection()
        await conn.execute(insert(StaffMember), rows)
    return kinds


# ---------------------------------------------------------------------- due times

SCHEDULE: Final = (
    update(TICKET)
    .where(TICKET.c.id == bindparam("b_id"))
    .values(
        created_at=bindparam("b_created"),
        dispatched_at=bindparam("b_dispatched"),
        sign_due_at=bindparam("b_sign"),
        first_action_due_at=bindparam("b_first_action"),
        resolve_due_at=bindparam("b_resolve"),
        ladder_base=bindparam("b_base"),
        next_due_at=bindparam("b_due"),
        overdue_since=bindparam("b_since"),
    )
)


async def schedule(
    session: AsyncSession, plan: Plan, ids: Sequence[int], dues: Sequence[datetime]
) -> None:
    """Make untouched open tickets due at ``dues``, their ladders consistent with it."""
    params = []
    for ticket_id, due in zip(ids, dues, strict=True):
        k = ticket_id - plan.first_open
        x = ladder(plan.priority[k], plan.rung[k], due)
        params.append(
            {
                "b_id": ticket_id,
                "b_created": x["created_at"],
                "b_dispatched": x["dispatched_at"],
                "b_sign": x["sign_due_at"],
                "b_base": x["ladder_base"],
                "b_first_action": x["first_action_due_at"],
                "b_resolve": x["resolve_due_at"],
                "b_due": due,
                "b_since": x["overdue_since"],
            }
        )
    conn = await session.connection()
    await conn.execute(SCHEDULE, params)


async def max_ids(db: Database) -> tuple[int, int]:
    async with db.unit() as session:
        outbox = (await session.exec(select(func.max(OutboxMessage.id)))).one() or 0
        events = (await session.exec(select(func.max(TicketEvent.id)))).one() or 0
    return outbox, events


async def written_since(db: Database, outbox: int, events: int) -> tuple[int, int]:
    async with db.unit() as session:
        n_outbox = (
            await session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.id) > outbox)
            )
        ).one()
        n_events = (
            await session.exec(
                select(func.count()).select_from(TicketEvent).where(col(TicketEvent.id) > events)
            )
        ).one()
    return n_outbox, n_events


# ---------------------------------------------------------------------- A: one tick


@dataclass
class Tick:
    wall: float
    cpu: float  # this process (both threads with aiosqlite); not the PostgreSQL server
    advanced: int
    outbox: int
    events: int
    statements: int


async def explain(db: Database, profiler: Profiler) -> list[str]:
    """The plan of the sweep's claim query, exactly as the service sent it."""
    if profiler.sweep_query is None:
        return ["(the sweep query was not seen)"]
    statement, params = profiler.sweep_query
    async with db.engine.connect() as conn:
        if db.sqlite:
            result = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            lines = ["|".join(str(x) for x in tuple(r)) for r in result]
        else:
            result = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            lines = [str(r[0]) for r in result]
        await conn.rollback()  # EXPLAIN ANALYZE of FOR UPDATE took row locks
    return [" ".join(statement.split())[:160] + " …", *lines]


async def measure_ticks(
    db: Database, plan: Plan, directory: Directory, profiler: Profiler, repeats: int
) -> tuple[list[Tick], list[str], dict[str, Shape]]:
    rng = random.Random(plan.seed + 1)
    ticks: list[Tick] = []
    plan_lines: list[str] = []
    shapes: dict[str, Shape] = {}
    for k in range(repeats):
        if k > 0:  # a fresh due set, like the first: due in the last few minutes
            ids = plan.take(plan.due)
            dues = [plan.now - DUE_SPREAD * rng.random() - timedelta(microseconds=1) for _ in ids]
            async with db.unit() as session:
                await schedule(session, plan, ids, dues)
            if k == 1:
                plan_lines = await explain(db, profiler)
        outbox, events = await max_ids(db)
        profiler.reset()
        profiler.on = True
        t0, c0 = time.perf_counter(), time.process_time()
        advanced = await sweep_deadlines(
            db=db, directory=directory, policy=DEFAULT_POLICY, clock=lambda: plan.now
        )
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        profiler.on = False
        if k == 0:
            shapes = profiler.shapes
        n_outbox, n_events = await written_since(db, outbox, events)
        ticks.append(Tick(wall, cpu, advanced, n_outbox, n_events, profiler.statements))
    if repeats == 1:
        plan_lines = await explain(db, profiler)
    return ticks, plan_lines, shapes


# ---------------------------------------------------------------------- B: delay


@dataclass
class DelayRun:
    interval: float
    rate: float
    limits: str  # a key of LIMITS
    fed: int = 0
    rows: int = 0
    tickets: int = 0
    unmatched: int = 0
    fed_escalated: int = 0
    never_visible: int = 0
    created: list[float] = field(default_factory=list)  # seconds, sorted
    visible: list[float] = field(default_factory=list)
    ticks: list[tuple[datetime, float, int]] = field(default_factory=list)  # now, s, advanced
    caught_up: int = 0
    set_aside: int = 0
    skipped: int = 0  # APScheduler fire times skipped because the last tick still ran
    feeder_late: int = 0
    feeder_lag_max: float = 0.0
    # Delivery: one message per chat a role row was expanded to (flows.notices.expand).
    notices: int = 0  # messages owed for the run's escalations
    received: list[float] = field(default_factory=list)  # due -> sendMessage arrived, sorted
    never: int = 0  # owed and not received: not marked sent, or no call with its message id
    twice: int = 0  # sendMessage calls repeating an earlier one (same chat, same text)
    stray: int = 0  # sendMessage calls that no outbox row accounts for
    refused: int = 0  # sendMessage calls the fake answered with an error
    nobody: int = 0  # role rows expanded to no chat at all
    feed_seconds: float = math.nan  # first to last due time of the feed
    backlog: int = 0  # owed, not yet received when the sweep had passed the last due time
    drain: float = math.nan  # seconds from then to the last notice received
    send_rate: float = math.nan  # notices received per second, first to last
    drained: bool = True
    busiest: tuple[int, str] = (0, "")  # notices to the busiest chat, whose chat it is


class SkippedTicks(logging.Handler):
    """Counts APScheduler's "skipped: maximum number of running instances" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "skipped" in record.getMessage():
            self.count += 1


async def catch_up(db: Database, directory: Directory) -> int:
    """Sweep what fell due since the build (A's next rungs), so B starts with nothing due."""
    total = 0
    while True:
        n = await sweep_deadlines(
            db=db, directory=directory, policy=DEFAULT_POLICY, clock=lambda: datetime.now(UTC)
        )
        total += n
        if n == 0:
            return total


UNSENT: Final = ("pending", "sending")


async def set_aside(db: Database) -> int:
    """Rows not sent yet (A's notices, a run that did not drain) are marked failed, so the
    sender of a run starts with an empty outbox and sends only that run's notices."""
    async with db.unit() as session:
        conn = await session.connection()
        result = await conn.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.status).in_(UNSENT))
            .values(status="failed", error="bench: set aside", failed_at=datetime.now(UTC))
        )
    return int(result.rowcount or 0)


async def unsent(db: Database, after: int) -> int:
    async with db.unit() as session:
        return (
            await session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.id) > after, col(OutboxMessage.status).in_(UNSENT))
            )
        ).one()


def service_settings(url: str, fake: FakeProcess, interval: float, limits: str) -> Settings:
    """The service's settings but for the Bot API (the fake), the sweep interval and,
    with ``limits`` "lifted", Telegram's sending limits; no ``.env`` file is read."""
    per_second, per_chat = LIMITS[limits]
    return Settings(
        _env_file=None,  # pydantic-settings: no .env file
        database_url=url,
        telegram_token=fake.token,
        telegram_api_url=fake.url,
        sweep_seconds=interval,
        telegram_messages_per_second=per_second,
        telegram_chat_messages_per_second=per_chat,
    )


async def measure_delay(
    db: StampedDatabase,
    plan: Plan,
    directory: Directory,
    *,
    url: str,
    work: Path,
    interval: float,
    limits: str,
    rate: float,
    duration: float,
    lead: float,
    drain: float,
) -> DelayRun:
    run = DelayRun(interval, rate, limits)
    rng = random.Random(plan.seed + int(interval * 1000) + len(limits))
    run.caught_up = await catch_up(db, directory)
    run.set_aside = await set_aside(db)
    horizon = datetime.now(UTC) + timedelta(seconds=duration + lead + 120 + interval * 4)
    due_at: dict[int, datetime] = {}
    fed_ids: set[int] = set()
    async with db.unit() as session:  # anything falling due by itself meanwhile counts too
        for ticket_id, due in await session.exec(
            select(Ticket.id, Ticket.next_due_at).where(col(Ticket.next_due_at) <= horizon)
        ):
            assert ticket_id is not None and due is not None
            due_at[ticket_id] = due
    outbox_before, _ = await max_ids(db)

    async def tick(**kwargs: Any) -> None:
        seen: list[datetime] = []

        def clock() -> datetime:
            now = datetime.now(UTC)
            seen.append(now)
            return now

        token = STAMPING.set(True)
        try:
            t0 = time.perf_counter()
            n = await sweep_deadlines(clock=clock, **kwargs)
            run.ticks.append((seen[0], time.perf_counter() - t0, n))
        finally:
            STAMPING.reset(token)

    db.stamps = []
    skipped = SkippedTicks()
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    scheduler_log.addHandler(skipped)
    scheduler_log.propagate = False
    fake = FakeProcess(work / f"calls-{limits}-{interval:g}.jsonl")
    await fake.start()
    settings = service_settings(url, fake, interval, limits)
    jobs, tasks = Jobs(), Supervisor()
    # The Telegram side of `hutong serve` (role all): PTB Application, the outbox sender
    # with its pace from the settings, the poller; connected in the background by start().
    bot = TelegramSide(
        settings, db=db, intake=Intake(directory, DEFAULT_POLICY), clock=system_clock
    )
    sender = bot.sender
    assert sender is not None

    def advanced(_n: int) -> None:  # bot.service.schedule_jobs: the sender looks at once
        sender.wake()

    last_due = datetime.now(UTC)
    feed_end = math.nan
    try:
        bot.start(jobs, tasks)
        # The sweep job as bot.service.schedule_jobs adds it, timed by ``tick``.
        jobs.every(
            settings.sweep_seconds,
            tick,
            first_now=True,
            db=db,
            directory=directory,
            policy=DEFAULT_POLICY,
            on_advanced=advanced,
            batch=settings.sweep_batch,
            with_digests=False,
        )
        jobs.start()
        connected = time.monotonic() + 60
        while bot.send_task is None:  # getMe, then the sender starts
            if time.monotonic() > connected:
                raise SystemExit("bench: the bot did not connect to the fake Bot API")
            await asyncio.sleep(0.05)
        start = time.monotonic()
        total = round(rate * duration)
        first_due: datetime | None = None
        while run.fed < total:
            elapsed = time.monotonic() - start
            # Steady on average: a step held up (SQLite's one writer) makes up for it next.
            n = min(int(rate * (elapsed + FEED_STEP)), total) - run.fed
            base = datetime.now(UTC) + timedelta(seconds=lead)
            dues = sorted(base + timedelta(seconds=FEED_STEP * rng.random()) for _ in range(n))
            if n:
                ids = plan.take(n)
                async with db.unit() as session:
                    await schedule(session, plan, ids, dues)
                lag = (datetime.now(UTC) - dues[0]).total_seconds()
                if lag > 0:
                    run.feeder_late += 1
                    run.feeder_lag_max = max(run.feeder_lag_max, lag)
                due_at.update(zip(ids, dues, strict=True))
                fed_ids.update(ids)
                run.fed += n
                first_due = first_due or dues[0]
                last_due = max(last_due, dues[-1])
            await asyncio.sleep(max(0.0, (elapsed + FEED_STEP) - (time.monotonic() - start)))
        if first_due is not None:
            run.feed_seconds = (last_due - first_due).total_seconds()
        # The feed is over when a tick that started after the last due time has finished.
        deadline = time.monotonic() + 120 + interval * 3
        while not any(now > last_due for now, _, _ in run.ticks):
            if time.monotonic() > deadline:
                print("  warning: no tick finished after the last due time", file=sys.stderr)
                break
            await asyncio.sleep(0.1)
        feed_end = time.time()
        # Then every notice written is given time to go out (Telegram's limits hold it).
        deadline = time.monotonic() + drain
        while await unsent(db, outbox_before):
            if time.monotonic() > deadline:
                print(f"  warning: notices still unsent after {drain:g} s", file=sys.stderr)
                run.drained = False
                break
            await asyncio.sleep(0.5)
    finally:
        # As bot.service.serve stops: the bot's updates and sender, then the jobs.
        await bot.stop()
        tasks.stop()
        await jobs.stop()
        await bot.close()
        calls = await fake.stop()
        scheduler_log.removeHandler(skipped)
        scheduler_log.propagate = True
        run.skipped = skipped.count

    visible_at = db.visible_at()
    outbox = OUTBOX.c
    async with db.unit() as session:
        conn = await session.connection()
        rows = (
            await conn.execute(
                sa_select(
                    outbox.id,
                    outbox.ticket_id,
                    outbox.kind,
                    outbox.target_kind,
                    outbox.target,
                    outbox.status,
                    outbox.message_id,
                    outbox.created_at,
                ).where(outbox.id > outbox_before)
            )
        ).all()
    tickets: set[int] = set()
    copies: list[tuple[str, int | None, datetime]] = []  # chat, message id, due
    for outbox_id, ticket_id, kind, target_kind, target, status, message_id, created in rows:
        if kind == COMMAND_LISTS:  # the bot's command menus, queued when its Telegram side starts
            continue
        if kind not in ESCALATION_KINDS or ticket_id not in due_at:
            run.unmatched += 1
            continue
        assert outbox_id is not None and ticket_id is not None
        due = due_at[ticket_id]
        if target_kind == "chat":  # a copy the sender made for one chat
            copies.append((target, message_id if status == "sent" else None, due))
            continue
        if status == "failed":
            run.nobody += 1
        run.rows += 1
        tickets.add(ticket_id)
        run.created.append((created - due).total_seconds())
        seen = visible_at(outbox_id)
        if math.isnan(seen):
            run.never_visible += 1
        else:
            run.visible.append(seen - due.timestamp())
    run.tickets = len(tickets)
    run.fed_escalated = len(tickets & fed_ids)
    run.created.sort()
    run.visible.sort()
    await match_deliveries(db, run, copies, calls, feed_end)
    return run


async def match_deliveries(
    db: Database,
    run: DelayRun,
    copies: Sequence[tuple[str, int | None, datetime]],
    calls: Sequence[Received],
    feed_end: float,
) -> None:
    """Each owed copy to the ``sendMessage`` that delivered it: the fake numbers messages per
    chat and the sender keeps the number on the row, so (chat, message id) names one call.
    A call no row names, or one repeating an earlier call's chat and text (every notice
    carries its ticket's code, and a ticket fires one rung per run), was sent twice."""
    refused = [c for c in calls if c.error is not None]
    ok = [c for c in calls if c.error is None]
    run.refused = len(refused)
    by_key = {(c.chat, c.message_id): c for c in ok}
    seen = Counter((c.chat, c.text) for c in ok)
    run.twice = sum(n - 1 for n in seen.values())
    run.notices = len(copies)
    arrived: list[float] = []
    matched = 0
    for chat, message_id, due in copies:
        call = by_key.get((int(chat), message_id)) if message_id is not None else None
        if call is None:
            run.never += 1
            continue
        matched += 1
        arrived.append(call.at)
        run.received.append(call.at - due.timestamp())
    run.stray = len(ok) - matched
    run.received.sort()
    if arrived:
        first, last = min(arrived), max(arrived)
        run.send_rate = len(arrived) / (last - first) if last > first else math.nan
        if not math.isnan(feed_end):
            run.backlog = sum(1 for at in arrived if at > feed_end)
            run.drain = max(0.0, last - feed_end)
    run.backlog += run.never
    per_chat = Counter(chat for chat, _, _ in copies)
    if per_chat:
        chat, n = per_chat.most_common(1)[0]
        async with db.unit() as session:
            member = (
                await session.exec(select(StaffMember).where(col(StaffMember.chat_id) == chat))
            ).first()
        who = f"{member.scope_level} {member.scope_code}" if member else chat
        run.busiest = (n, who)


# ---------------------------------------------------------------------- main


def report_ticks(name: str, ticks: Sequence[Tick], due: int) -> list[str]:
    rows = []
    for i, t in enumerate(ticks, 1):
        rows.append(
            (
                name,
                str(i),
                str(t.advanced),
                str(t.events),
                str(t.outbox),
                str(t.statements),
                fmt(t.wall * 1000, ".0f"),
                fmt(t.wall * 1000 / t.advanced if t.advanced else math.nan, ".2f"),
                fmt(t.cpu * 1000, ".0f"),
            )
        )
    for label, pick in (("min", min), ("median", statistics.median)):
        wall = pick([t.wall for t in ticks])
        rows.append(
            (
                name,
                label,
                "",
                "",
                "",
                "",
                fmt(wall * 1000, ".0f"),
                fmt(wall * 1000 / due, ".2f"),
                fmt(pick([t.cpu for t in ticks]) * 1000, ".0f"),
            )
        )
    headers = (
        "db",
        "run",
        "advanced",
        "events",
        "outbox",
        "statements",
        "wall ms",
        "ms/ticket",
        "cpu ms",
    )
    print_table(f"A. one sweep tick, {due} due tickets (fixed clock)", headers, rows)
    return [
        f"tick {i} advanced {t.advanced}, expected {due}"
        for i, t in enumerate(ticks, 1)
        if t.advanced != due
    ]


def report_shapes(shapes: dict[str, Shape]) -> None:
    total = sum(s.seconds for s in shapes.values()) or math.nan
    rows = [
        (
            key,
            str(s.count),
            str(s.rows),
            fmt(s.seconds * 1000, ".0f"),
            fmt(100 * s.seconds / total, ".0f"),
        )
        for key, s in sorted(shapes.items(), key=lambda kv: -kv[1].seconds)
    ]
    print_table(
        "A. statements in tick 1 (time = driver round trip)",
        ("statement", "count", "rows", "ms", "%"),
        rows,
    )


def limits_label(limits: str) -> str:
    per_second, per_chat = LIMITS[limits]
    return "lifted" if limits == "lifted" else f"{per_second:g}/s,{per_chat:g}/chat"


def report_delays(name: str, runs: Sequence[DelayRun]) -> list[str]:
    rows = []
    problems = []
    for r in runs:
        walls = sorted(s for _, s, _ in r.ticks)
        busy = math.nan
        if r.ticks:
            first, last = r.ticks[0], r.ticks[-1]
            span = (last[0] - first[0]).total_seconds() + last[1]
            busy = 100 * sum(walls) / span if span > 0 else math.nan
        for label, values in (("created_at", r.created), ("committed", r.visible)):
            rows.append(
                (
                    name,
                    fmt(r.interval, "g"),
                    limits_label(r.limits),
                    fmt(r.rate, "g"),
                    str(r.fed),
                    str(r.tickets),
                    str(r.rows),
                    label,
                    *(fmt(percentile(values, p) * 1000, ".0f") for p in (50, 90, 99)),
                    fmt(values[-1] * 1000 if values else math.nan, ".0f"),
                    str(len(r.ticks)),
                    str(r.skipped),
                    fmt(statistics.fmean(walls) * 1000 if walls else math.nan, ".0f"),
                    fmt(walls[-1] * 1000 if walls else math.nan, ".0f"),
                    fmt(busy, ".0f"),
                )
            )
        at = f"S={r.interval:g} {r.limits}"
        if r.unmatched:
            problems.append(f"{at}: {r.unmatched} outbox rows without a due time")
        if r.fed_escalated < r.fed:
            problems.append(f"{at}: {r.fed - r.fed_escalated} fed tickets not escalated")
        if r.never_visible:
            problems.append(f"{at}: {r.never_visible} rows without a commit stamp")
        extras = [f"caught up {r.caught_up} before the run"] if r.caught_up else []
        if r.set_aside:
            extras.append(f"{r.set_aside} unsent rows of earlier parts set aside")
        if r.feeder_late:
            extras.append(
                f"{r.feeder_late} feeder writes committed after their first due time "
                f"(max {r.feeder_lag_max * 1000:.0f} ms)"
            )
        if extras:
            print(f"  {at}: " + "; ".join(extras))
    headers = (
        "db",
        "S s",
        "limits",
        "due/s",
        "fed",
        "tickets",
        "rows",
        "delay to",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "ticks",
        "skipped",
        "tick mean ms",
        "tick max ms",
        "busy %",
    )
    print_table("B. due time -> escalation outbox row, sweep on Jobs every S s", headers, rows)
    return problems


def report_deliveries(name: str, runs: Sequence[DelayRun]) -> list[str]:
    rows = []
    problems = []
    notes = []
    for r in runs:
        values = r.received
        demand = r.notices / r.feed_seconds if r.feed_seconds > 0 else math.nan
        rows.append(
            (
                name,
                fmt(r.interval, "g"),
                limits_label(r.limits),
                fmt(r.rate, "g"),
                str(r.fed),
                str(r.notices),
                fmt(demand, ".1f"),
                str(len(values)),
                *(fmt(percentile(values, p) * 1000, ".0f") for p in (50, 95, 99)),
                fmt(values[-1] * 1000 if values else math.nan, ".0f"),
                fmt(r.send_rate, ".1f"),
                str(r.backlog),
                fmt(r.drain, ".1f"),
                str(r.never),
                str(r.twice),
            )
        )
        at = f"S={r.interval:g} {r.limits}"
        per_second, per_chat = LIMITS[r.limits]
        busiest, who = r.busiest
        notes.append(
            f"  {at}: {r.notices} notices for {r.tickets} escalated tickets "
            f"({r.notices / r.tickets if r.tickets else math.nan:.2f} each); busiest chat "
            f"{who}: {busiest}"
        )
        if demand > per_second:
            notes.append(
                f"  {at}: CEILING: notices were owed at {demand:.1f}/s, above the "
                f"{per_second:g} messages/s Telegram allows the bot: the backlog grows "
                f"through the feed and the delay with it, whatever hutong's own speed"
            )
        if busiest and r.feed_seconds > 0 and busiest / r.feed_seconds > per_chat:
            notes.append(
                f"  {at}: the busiest chat was owed {busiest / r.feed_seconds:.2f} "
                f"notices/s, above its {per_chat:g}/s: it waits for its pace too"
            )
        if r.never:
            problems.append(f"{at}: {r.never} notices never received by the fake Bot API")
        if r.twice or r.stray:
            problems.append(
                f"{at}: {r.twice} notices received twice, {r.stray} sendMessage calls "
                "matching no outbox row"
            )
        if r.refused:
            problems.append(f"{at}: {r.refused} sendMessage calls refused by the fake")
        if r.nobody:
            problems.append(f"{at}: {r.nobody} escalation rows found nobody to send to")
        if not r.drained:
            problems.append(f"{at}: the outbox did not drain within --drain")
    headers = (
        "db",
        "S s",
        "limits",
        "due/s",
        "fed",
        "notices",
        "owed/s",
        "received",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "sent/s",
        "backlog",
        "drain s",
        "never",
        "twice",
    )
    print_table(
        "B. due time -> sendMessage received by the fake Bot API (outbox sender as in serve)",
        headers,
        rows,
    )
    for line in notes:
        print(line)
    return problems


async def run(args: argparse.Namespace, url: str, work: Path) -> int:
    name = make_url(url).get_backend_name()
    print(f"{machine_line()} · {name}", flush=True)
    directory = Directory.from_rows(read_bundled_divisions())
    plan = await build(args, url, directory)
    db = StampedDatabase(url)
    profiler = Profiler(db)
    problems: list[str] = []
    try:
        ticks, plan_lines, shapes = await measure_ticks(db, plan, directory, profiler, args.repeats)
        runs = []
        for interval in args.intervals:
            for limits in args.limits:
                print(f"B: S={interval:g} s, limits {limits} …", flush=True)
                runs.append(
                    await measure_delay(
                        db,
                        plan,
                        directory,
                        url=url,
                        work=work,
                        interval=interval,
                        limits=limits,
                        rate=args.rate,
                        duration=args.duration,
                        lead=args.lead,
                        drain=args.drain,
                    )
                )
        print(f"\n{machine_line()} · {name} · {args.tickets:,} tickets, {args.open:,} open")
        problems += report_ticks(name, ticks, plan.due)
        report_shapes(shapes)
        print("\nA. plan of the sweep's claim query (with a due set present):")
        for line in plan_lines:
            print("  " + line)
        problems += report_delays(name, runs)
        problems += report_deliveries(name, runs)
    finally:
        await db.dispose()
    for p in problems:
        print(f"PROBLEM: {p}")
    return 1 if problems else 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--database-url", help="default: SQLite in a temp dir")
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--open", type=int, default=200_000, help="open (un-signed) tickets")
    p.add_argument("--due", type=int, default=1_000, help="open tickets due now, for A")
    p.add_argument("--repeats", type=int, default=5, help="A: ticks, each on a fresh due set")
    p.add_argument(
        "--intervals",
        type=float,
        nargs="+",
        default=[SERVICE_SWEEP_SECONDS],
        help="B: sweep intervals S in seconds (default: the service's HUTONG_SWEEP_SECONDS, "
        f"{SERVICE_SWEEP_SECONDS:g})",
    )
    p.add_argument(
        "--limits",
        nargs="+",
        choices=list(LIMITS),
        default=list(LIMITS),
        help="B: the sender keeps Telegram's limits as the service does by default "
        f"({DEFAULT_LIMITS[0]:g} messages/s, {DEFAULT_LIMITS[1]:g}/s per chat), or has them "
        "lifted (hutong's own cost); default both",
    )
    p.add_argument("--rate", type=float, default=50.0, help="B: tickets falling due per second")
    p.add_argument("--duration", type=float, default=60.0, help="B: seconds of feeding")
    p.add_argument(
        "--lead",
        type=float,
        default=1.0,
        help="B: the feeder sets due times this many seconds ahead",
    )
    p.add_argument(
        "--drain",
        type=float,
        default=600.0,
        help="B: seconds allowed after the feed for every notice to be sent",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the temp dir (SQLite db, calls)")
    args = p.parse_args(argv)
    if not 0 < args.due <= args.open <= args.tickets:
        p.error("expected 0 < --due <= --open <= --tickets")
    if args.repeats < 1 or args.rate <= 0 or args.duration <= 0 or args.lead < 0:
        p.error("--repeats, --rate and --duration must be positive, --lead not negative")
    runs = len(args.intervals) * len(args.limits)
    needed = args.due * args.repeats + int(args.rate * args.duration + 1) * runs
    if needed > args.open:
        p.error(f"the runs need {needed} untouched open tickets; raise --open")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="hutong-sweep-"))
    if args.database_url:
        url = args.database_url
        check_loopback(url)
    else:
        url = f"sqlite:///{work / 'bench.db'}"
    try:
        return asyncio.run(run(args, url, work))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
