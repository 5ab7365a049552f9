"""The deadline sweep: due tickets are claimed, their next rung applied, and the next due
time set, in one transaction.

Every ticket carries ``next_due_at``; a sweep takes the due ones (``FOR UPDATE SKIP LOCKED``
on PostgreSQL, so two sweepers never take the same ticket; SQLite has one writer), fires
what is due in order, and moves ``next_due_at`` on. A rung is fired by the transaction that
moves past it, so it fires once, however many sweepers run and however late they come:
after downtime, every rung that fell due meanwhile fires once, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Final, cast
from zoneinfo import ZoneInfo

from sqlalchemy import case, insert
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import sla
from flows.clock import Clock
from flows.lifecycle import (
    FEEDBACK_WINDOW,
    notice,
)
from flows.notices import place_words
from flows.places import Directory
from flows.sla import Policy
from flows.staff import scope_filter
from flows.states import RESOLVING, UNSIGNED, State
from flows.texts import phrase, t
from flows.tickets import local_time, owner_name, owner_words, supervisors_of
from storage.bulk import update_by_id
from storage.db import Database
from storage.models import OutboxMessage, StaffMember, Station, Ticket, TicketEvent
from storage.outbox import Batch, enqueue

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
TICKET: Final = SQLModel.metadata.tables["ticket"]
BATCH: Final = 500
MAX_BATCHES_PER_TICK: Final = 100  # bounds one tick; what is left is due again at the next
# A ticket cannot have more rungs due than this in one sweep; a guard against a bad policy.
MAX_RUNGS_PER_SWEEP: Final = 32


async def sweep_deadlines(
    *,
    db: Database,
    directory: Directory,
    policy: Policy,
    clock: Clock,
    on_advanced: Callable[[int], None] | None = None,
    batch: int = BATCH,
    with_digests: bool = True,
) -> int:
    """One tick of the deadline sweep, then (``with_digests``) the daily digests; returns
    tickets advanced and digests written. Each batch is its own transaction, so several
    processes share a tick's work."""
    now = clock()
    total = 0
    for _ in range(MAX_BATCHES_PER_TICK):  # until nothing is due
        async with db.unit() as session:
            n = await sweep(session=session, directory=directory, now=now, batch=batch)
        total += n
        if n < batch:
            break
    if with_digests:
        total += await send_digests(db=db, directory=directory, policy=policy, clock=clock)
    if total and on_advanced is not None:
        on_advanced(total)
    return total


async def send_digests(*, db: Database, directory: Directory, policy: Policy, clock: Clock) -> int:
    """The daily digests due now, in one transaction; how many were written. The service
    runs this once a minute, apart from the sweep: it asks about every supervisor, which a
    sweep running every second need not do."""
    async with db.unit() as session:
        return await digests(
            session=session, directory=directory, now=clock(), hour=policy.digest_hour
        )


# What the sweep may change on a ticket; written back for all of a tick's tickets in one
# executemany by primary key. A column changed by _fire but missing here would be lost.
SWEPT: Final = (
    "state",
    "assignee_id",
    "signed_at",
    "ladder_rung",
    "ladder_base",
    "overdue_level",
    "overdue_since",
    "next_due_at",
    "resolve_overdue_at",
    "closed_at",
    "feedback_due_at",
)


@dataclass(slots=True)
class _Tick:
    """What one sweep transaction writes, gathered while it works through its tickets and
    written at the end in a few statements: a statement per ticket, event and notice was
    most of a tick's cost (each also flushed the session on its own)."""

    station_names: dict[str, str]  # of the tick's tickets' stations
    notices: Batch = field(default_factory=Batch)
    events: list[dict[str, Any]] = field(default_factory=list)

    def owner(self, directory: Directory, ticket: Ticket) -> str | dict[str, Any]:
        name = self.station_names.get(ticket.station_code) if ticket.station_code else None
        return owner_words(directory, ticket, name)

    def event(
        self,
        ticket: Ticket,
        *,
        kind: str,
        now: datetime,
        to_state: State | None = None,
        note: str | None = None,
    ) -> None:
        """The system's entry in the ticket's history, and its change of state if any (as
        flows.lifecycle.state_event, as a row rather than an ORM object: cheaper by far)."""
        self.events.append(
            {
                "ticket_id": ticket.id,
                "at": now,
                "actor": "system",
                "kind": kind,
                "from_state": ticket.state if to_state else None,
                "to_state": to_state,
                "note": note,
            }
        )
        if to_state:
            ticket.state = to_state

    async def write(self, session: AsyncSession, tickets: Sequence[Ticket]) -> None:
        rows = [{"id": x.id, **{c: getattr(x, c) for c in SWEPT}} for x in tickets]
        await update_by_id(session, table=TICKET, rows=rows, columns=SWEPT)
        if self.events:
            await session.exec(insert(TicketEvent), params=self.events)
        await self.notices.write(session)


async def sweep(
    *, session: AsyncSession, directory: Directory, now: datetime, batch: int = BATCH
) -> int:
    """One tick: fire everything due for up to ``batch`` tickets; returns how many."""
    due = (
        await session.exec(  # type: ignore[call-overload]  # a plain Core select: rows, not objects
            sa_select(TICKET)
            .where(col(Ticket.next_due_at) <= now)
            .order_by(col(Ticket.next_due_at))
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).mappings()
    # Plain copies of the rows, changed by attribute like tickets and written back by
    # _Tick.write in one statement: an ORM object's every attribute change goes through
    # SQLModel, pydantic and SQLAlchemy's tracking, most of a tick's cost. The rows stay
    # locked until the commit.
    tickets = [cast(Ticket, SimpleNamespace(**row)) for row in due]
    # The batch's station names in one query, not one per notice.
    codes = {ticket.station_code for ticket in tickets if ticket.station_code}
    named = select(Station.code, Station.name).where(col(Station.code).in_(codes))
    names = dict((await session.exec(named)).all()) if codes else {}
    tick = _Tick(names)
    for ticket in tickets:
        for _ in range(MAX_RUNGS_PER_SWEEP):
            if ticket.next_due_at is None or ticket.next_due_at > now:
                break
            _fire(directory, tick, ticket, now)
    await tick.write(session, tickets)
    return len(tickets)


def _fire(directory: Directory, tick: _Tick, ticket: Ticket, now: datetime) -> None:
    assert ticket.id is not None and ticket.next_due_at is not None
    due_at = ticket.next_due_at
    if ticket.state in UNSIGNED:
        _fire_rung(directory, tick, ticket, due_at, now)
    elif ticket.state == State.ACKNOWLEDGED and ticket.first_action_at is None:
        _revert(tick, ticket, now)
    elif ticket.state in RESOLVING:
        _resolve_overdue(directory, tick, ticket, now)
    elif ticket.state == State.RESOLVED:
        _close_without_feedback(tick, ticket, now)
    else:  # nothing is owed in this state any more
        ticket.next_due_at = None


def _fire_rung(
    directory: Directory,
    tick: _Tick,
    ticket: Ticket,
    due_at: datetime,
    now: datetime,
) -> None:
    assert ticket.id is not None
    rung = ticket.ladder_rung
    sign_due = local_time(ticket.sign_due_at) if ticket.sign_due_at else "—"
    # Rendered per reader when sent: labels in their language, each value escaped once.
    common: dict[str, Any] = {
        "code": ticket.code,
        "priority": phrase(f"priority.{ticket.priority}"),
        "owner": tick.owner(directory, ticket),
        "due": sign_due,
        "place": place_words(directory, ticket),
    }
    # The owner: the station, or the county/city queue for an unplaced or returned ticket.
    owner_target = (
        ("station", ticket.owner_code)
        if ticket.owner_level == "township"
        else (ticket.owner_level, ticket.owner_code)
    )
    county = supervisors_of(ticket)
    city = ("city", ticket.city_code)
    name = sla.rung_name(rung)
    # Escalation adds people; at the breach the owner hears of it too.
    targets, kind = {
        "reminder": ([owner_target], "reminder"),
        "breach": ([county, owner_target], "escalated"),
        "city": ([city], "escalated"),
        "repeat": ([county, city], "escalation_repeat"),
    }[name]
    key = f"sla.{name}"
    values: dict[str, Any] = dict(common, n=sla.repeat_number(rung))
    event_key = f"rung:{ticket.id}:{ticket.dispatched_at:%Y%m%d%H%M%S}:{rung}"
    for target in dict.fromkeys(targets):
        payload = notice(key, **values)
        payload["fanout"] = event_key
        tick.notices.add(
            dedup_key=f"{event_key}:{target[0]}:{target[1]}",
            kind=kind,
            now=now,
            payload=payload,
            role_target=target,
            ticket_id=ticket.id,
        )
    tick.event(ticket, kind=kind, now=now, note=sla.rung_note(rung))
    sla.climb(ticket, due_at=due_at)


def _revert(tick: _Tick, ticket: Ticket, now: datetime) -> None:
    """Signed for, but no call or visit in time: back to un-signed; the ladder resumes."""
    assert ticket.id is not None
    note = f"assignee staff:{ticket.assignee_id}"
    tick.event(ticket, kind="reverted", now=now, to_state=State.DISPATCHED, note=note)
    ticket.assignee_id = None
    ticket.signed_at = None
    sla.resume_ladder(ticket, now)
    due = local_time(ticket.first_action_due_at) if ticket.first_action_due_at else "—"
    if ticket.station_code:
        tick.notices.add(
            dedup_key=f"reverted:{ticket.id}:{now.isoformat()}",
            kind="reverted",
            now=now,
            payload=notice("sla.reverted", code=ticket.code, due=due),
            role_target=("station", ticket.station_code),
            ticket_id=ticket.id,
        )


def _resolve_overdue(directory: Directory, tick: _Tick, ticket: Ticket, now: datetime) -> None:
    """催办: the station and the county hear that the resolve deadline passed."""
    assert ticket.id is not None
    values: dict[str, Any] = {
        "code": ticket.code,
        "priority": phrase(f"priority.{ticket.priority}"),
        "owner": tick.owner(directory, ticket),
        "due": local_time(ticket.resolve_due_at) if ticket.resolve_due_at else "—",
    }
    targets = [supervisors_of(ticket)]
    if ticket.station_code:
        targets.append(("station", ticket.station_code))
    event_key = f"resolve-overdue:{ticket.id}:{ticket.resolve_due_at}"
    for target in targets:
        payload = notice("sla.resolve_overdue", **values)
        payload["fanout"] = event_key
        tick.notices.add(
            dedup_key=f"{event_key}:{target[1]}",
            kind="resolve_overdue",
            now=now,
            payload=payload,
            role_target=target,
            ticket_id=ticket.id,
        )
    tick.event(ticket, kind="resolve_overdue", now=now)
    ticket.resolve_overdue_at = now
    ticket.next_due_at = None  # the daily digest keeps it in view


def _close_without_feedback(tick: _Tick, ticket: Ticket, now: datetime) -> None:
    assert ticket.id is not None
    note = f"no feedback within {FEEDBACK_WINDOW.days} days"
    tick.event(ticket, kind="closed", now=now, to_state=State.CLOSED, note=note)
    ticket.closed_at = now
    ticket.feedback_due_at = None
    ticket.next_due_at = None


# ---- the daily digest ------------------------------------------------------------------


def overdue_filter() -> ColumnElement[bool]:
    """Open tickets past a deadline: not signed for in time, or past the resolve deadline."""
    return or_(
        (col(Ticket.overdue_level) > 0) & col(Ticket.state).in_(UNSIGNED),
        col(Ticket.resolve_overdue_at).is_not(None) & col(Ticket.state).in_(RESOLVING),
    )


def is_overdue(ticket: Ticket) -> bool:
    """``overdue_filter`` for one ticket already read."""
    if ticket.state in UNSIGNED:
        return ticket.overdue_level > 0
    return ticket.state in RESOLVING and ticket.resolve_overdue_at is not None


def overdue_since(ticket: Ticket) -> datetime | None:
    """Since when an overdue ticket is overdue: its sign-for breach while nobody has signed
    for it, its resolve deadline once it is being worked on."""
    return ticket.overdue_since if ticket.state in UNSIGNED else ticket.resolve_due_at


def overdue_order() -> ColumnElement[datetime]:
    """Oldest breach first, the same on SQLite and PostgreSQL (which sort NULL apart): an
    un-signed ticket is overdue since its sign-for breach, a worked one since its resolve
    deadline."""
    return case(
        (col(Ticket.state).in_(UNSIGNED), col(Ticket.overdue_since)),
        else_=col(Ticket.resolve_due_at),
    )


async def digests(
    *, session: AsyncSession, directory: Directory, now: datetime, hour: int, limit: int = 30
) -> int:
    """Once a day after ``hour`` (Asia/Shanghai): each supervisor gets one list of what is
    overdue in their area. The dedup key (member and date) keeps it to one a day, across
    restarts and several processes."""
    local = now.astimezone(SHANGHAI)
    if local.hour < hour:
        return 0
    day = local.strftime("%Y-%m-%d")
    supervisors = (
        await session.exec(
            select(StaffMember).where(
                col(StaffMember.role) == "supervisor", col(StaffMember.active).is_(True)
            )
        )
    ).all()
    written = 0
    for member in supervisors:
        key = f"digest:{member.id}:{day}"
        exists = (
            await session.exec(select(OutboxMessage.id).where(col(OutboxMessage.dedup_key) == key))
        ).first()
        if exists is not None:
            continue
        rows = (
            await session.exec(
                select(Ticket)
                .where(scope_filter(member), overdue_filter())
                .order_by(overdue_order(), col(Ticket.id))
                .limit(limit + 1)
            )
        ).all()
        if not rows:
            continue
        loc = member.locale
        lines = [t(loc, "digest.title", count=len(rows) if len(rows) <= limit else f"{limit}+")]
        for x in rows[:limit]:
            since = overdue_since(x)
            lines.append(
                t(
                    loc,
                    "digest.line",
                    priority=t(loc, f"priority.{x.priority}"),
                    code=x.code,
                    state=t(loc, f"state.{x.state}"),
                    owner=await owner_name(session, directory, x, loc),
                    since=local_time(since) if since else "—",
                )
            )
        if len(rows) > limit:
            lines.append(t(loc, "digest.more", n="…"))
        await enqueue(
            session,
            dedup_key=key,
            kind="digest",
            now=now,
            payload={"text": "\n".join(lines), "buttons": [], "locale": loc},
            chat_id=member.chat_id,
        )
        written += 1
    return written
