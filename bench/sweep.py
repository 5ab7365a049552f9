"""The deadline sweep on a large database: one tick's cost, and due-to-outbox delay.

Builds a database of N tickets (default 1,000,000, of which 200,000 open and exactly
``--due`` due now), then measures

A. one sweep tick that finds the due tickets: ``flows.escalation.sweep_deadlines`` with a fixed
   clock, repeated on fresh due sets (wall time, rows written, SQL statements, EXPLAIN of
   the sweep's query);
B. the delay from a ticket's due time to its escalation's outbox row while the sweep runs
   on ``bot.jobs.Jobs`` every S seconds with the real clock, as in ``hutong serve``, and a
   feeder makes open tickets fall due at a steady rate.

    python bench/sweep.py                                  # SQLite, temp file
    python bench/sweep.py --database-url postgresql://postgres@127.0.0.1:5432/bench
    python bench/sweep.py --tickets 100000 --open 20000    # smaller, quicker

With a PostgreSQL ``--database-url`` the schema ``public`` of that database is DROPPED and
recreated: never point it at a database you care about. Only loopback hosts are accepted.

Only figures are printed; nothing asserts times. The exit status is 1 when a tick did not
advance exactly the due tickets or an outbox row could not be matched to a due time.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
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

import asyncpg  # type: ignore[import-untyped]
from common import check_loopback, fmt, percentile, print_rows, reset_postgres
from sqlalchemy import Boolean, DateTime, Table, bindparam, event, func, update
from sqlalchemy.engine import make_url
from sqlmodel import UTCDateTime, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.jobs import Jobs
from flows.escalation import sweep_deadlines
from flows.lifecycle import FEEDBACK, OUTCOMES
from flows.places import Directory
from flows.sla import DEFAULT_POLICY, LEVEL1, LEVEL2, REMINDER, freeze, overdue_level_for
from flows.tickets import CODE_ALPHABET, CODE_LENGTH, Route, route
from flows.triage import AGE_BANDS, CONCERNS, REPORTER_ROLES, SEXES, derive_priority
from storage.db import Database, make_engine
from storage.directory_data import read_bundled_divisions
from storage.migrate import seed_directory, upgrade_async
from storage.models import OutboxMessage, Ticket, TicketEvent

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


# ---------------------------------------------------------------------- figures


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    print(f"\n{title}")
    print_rows(headers, rows)


# ---------------------------------------------------------------------- databases


class StampedDatabase(Database):
    """A ``Database`` that can note, after each commit, when it happened and the highest
    outbox id then visible, so each outbox row gets the moment it became visible."""

    def __init__(self, url: str) -> None:
        super().__init__(make_engine(url))
        self.stamping = False
        self.stamps: list[tuple[float, int]] = []  # (commit time, max outbox id)

    @contextlib.asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncSession]:
        top: int | None = None
        async with super().unit() as session:
            yield session
            if self.stamping:
                top = (await session.exec(select(func.max(OutboxMessage.id)))).one()
        if self.stamping and top is not None:
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
    print(f"build: schema + directory {t1 - t0:.1f} s, {plan.tickets:,} tickets {t2 - t1:.1f} s")
    print(
        "  states: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(plan.states.items()))
        + " | priorities: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(plan.priorities.items()))
    )
    return plan


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
    skipped: int = 0  # APScheduler fire times skipped because the last tick still ran
    feeder_late: int = 0
    feeder_lag_max: float = 0.0


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


async def measure_delay(
    db: StampedDatabase,
    plan: Plan,
    directory: Directory,
    *,
    interval: float,
    rate: float,
    duration: float,
    lead: float,
) -> DelayRun:
    run = DelayRun(interval, rate)
    rng = random.Random(plan.seed + int(interval * 1000))
    run.caught_up = await catch_up(db, directory)
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

        t0 = time.perf_counter()
        n = await sweep_deadlines(clock=clock, **kwargs)
        run.ticks.append((seen[0], time.perf_counter() - t0, n))

    db.stamps = []
    db.stamping = True
    skipped = SkippedTicks()
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    scheduler_log.addHandler(skipped)
    scheduler_log.propagate = False
    jobs = Jobs()
    jobs.every(interval, tick, first_now=True, db=db, directory=directory, policy=DEFAULT_POLICY)
    jobs.start()
    last_due = datetime.now(UTC)
    try:
        start = time.monotonic()
        total = round(rate * duration)
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
                last_due = max(last_due, dues[-1])
            await asyncio.sleep(max(0.0, (elapsed + FEED_STEP) - (time.monotonic() - start)))
        # Done when a tick that started after the last due time has finished.
        deadline = time.monotonic() + 120 + interval * 3
        while not any(now > last_due for now, _, _ in run.ticks):
            if time.monotonic() > deadline:
                print("  warning: no tick finished after the last due time", file=sys.stderr)
                break
            await asyncio.sleep(0.1)
    finally:
        await jobs.stop()
        db.stamping = False
        scheduler_log.removeHandler(skipped)
        scheduler_log.propagate = True
        run.skipped = skipped.count

    visible_at = db.visible_at()
    async with db.unit() as session:
        rows = (
            await session.exec(
                select(
                    OutboxMessage.id,
                    OutboxMessage.ticket_id,
                    OutboxMessage.kind,
                    OutboxMessage.created_at,
                ).where(col(OutboxMessage.id) > outbox_before)
            )
        ).all()
    tickets: set[int] = set()
    for outbox_id, ticket_id, kind, created in rows:
        if kind not in ESCALATION_KINDS or ticket_id not in due_at:
            run.unmatched += 1
            continue
        assert outbox_id is not None and ticket_id is not None
        due = due_at[ticket_id]
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
    return run


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
        if r.unmatched:
            problems.append(f"S={r.interval:g}: {r.unmatched} outbox rows without a due time")
        if r.fed_escalated < r.fed:
            problems.append(
                f"S={r.interval:g}: {r.fed - r.fed_escalated} fed tickets not escalated"
            )
        if r.never_visible:
            problems.append(f"S={r.interval:g}: {r.never_visible} rows without a commit stamp")
        extras = [f"caught up {r.caught_up} before the run"] if r.caught_up else []
        if r.feeder_late:
            extras.append(
                f"{r.feeder_late} feeder writes committed after their first due time "
                f"(max {r.feeder_lag_max * 1000:.0f} ms)"
            )
        if extras:
            print(f"  S={r.interval:g}: " + "; ".join(extras))
    headers = (
        "db",
        "S s",
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


async def run(args: argparse.Namespace, url: str) -> int:
    name = make_url(url).get_backend_name()
    directory = Directory.from_rows(read_bundled_divisions())
    plan = await build(args, url, directory)
    db = StampedDatabase(url)
    profiler = Profiler(db)
    problems: list[str] = []
    try:
        ticks, plan_lines, shapes = await measure_ticks(db, plan, directory, profiler, args.repeats)
        problems += report_ticks(name, ticks, plan.due)
        report_shapes(shapes)
        print("\nA. plan of the sweep's claim query (with a due set present):")
        for line in plan_lines:
            print("  " + line)
        runs = []
        for interval in args.intervals:
            runs.append(
                await measure_delay(
                    db,
                    plan,
                    directory,
                    interval=interval,
                    rate=args.rate,
                    duration=args.duration,
                    lead=args.lead,
                )
            )
        problems += report_delays(name, runs)
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
        default=[1.0, 5.0],
        help="B: sweep intervals S in seconds (the service default is 5)",
    )
    p.add_argument("--rate", type=float, default=50.0, help="B: tickets falling due per second")
    p.add_argument("--duration", type=float, default=60.0, help="B: seconds of feeding")
    p.add_argument(
        "--lead",
        type=float,
        default=1.0,
        help="B: the feeder sets due times this many seconds ahead",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the SQLite temp dir")
    args = p.parse_args(argv)
    if not 0 < args.due <= args.open <= args.tickets:
        p.error("expected 0 < --due <= --open <= --tickets")
    if args.repeats < 1 or args.rate <= 0 or args.duration <= 0 or args.lead < 0:
        p.error("--repeats, --rate and --duration must be positive, --lead not negative")
    needed = args.due * args.repeats + int(args.rate * args.duration + 1) * len(args.intervals)
    if needed > args.open:
        p.error(f"the runs need {needed} untouched open tickets; raise --open")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    work: Path | None = None
    if args.database_url:
        url = args.database_url
        check_loopback(url)
    else:
        work = Path(tempfile.mkdtemp(prefix="hutong-sweep-"))
        url = f"sqlite:///{work / 'bench.db'}"
    try:
        return asyncio.run(run(args, url))
    finally:
        if work is not None:
            if args.keep:
                print(f"kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
