"""What supervisors see of their county or city: overdue and open tickets, and figures."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import staff_views
from flows.escalation import SHANGHAI, overdue_filter, overdue_order, overdue_since
from flows.events import Command, Person
from flows.messages import Outcome, Reply
from flows.places import Directory
from flows.sla import sign_window_of
from flows.staff import refusal, scope_filter, supervises
from flows.states import OPEN, RESOLVING, UNSIGNED
from flows.texts import duration, t
from flows.tickets import local_time, owner_name
from storage.models import StaffMember, Ticket, TicketEvent

LIST_LIMIT: Final = 50
PERIODS: Final = ("today", "week", "month")


async def overdue(*, session: AsyncSession, directory: Directory, member: StaffMember) -> Reply:
    """Overdue tickets by level (city, county, past the resolve deadline), oldest first."""
    loc = member.locale
    rows = (
        await session.exec(
            select(Ticket)
            .where(scope_filter(member), overdue_filter())
            .order_by(overdue_order(), col(Ticket.id))
            .limit(LIST_LIMIT * 3)
        )
    ).all()
    if not rows:
        return Reply(t(loc, "overdue.none"))
    groups = {
        "overdue.level2": [x for x in rows if x.state in UNSIGNED and x.overdue_level >= 2],
        "overdue.level1": [x for x in rows if x.state in UNSIGNED and x.overdue_level == 1],
        "overdue.resolve": [x for x in rows if x.state not in UNSIGNED],
    }
    lines = [t(loc, "overdue.title")]
    for key, tickets in groups.items():
        if not tickets:
            continue
        lines.append("")
        lines.append(t(loc, "overdue.level", level=t(loc, key)))
        for x in tickets[:LIST_LIMIT]:
            since = overdue_since(x)
            lines.append(
                t(
                    loc,
                    "overdue.line",
                    priority=t(loc, f"priority.{x.priority}"),
                    code=x.code,
                    owner=await owner_name(session, directory, x, loc),
                    since=local_time(since) if since else "—",
                )
            )
    return Reply("\n".join(lines))


async def open_tickets(
    *, session: AsyncSession, directory: Directory, member: StaffMember
) -> Reply:
    loc = member.locale
    where = (scope_filter(member), col(Ticket.state).in_(OPEN))
    count = (await session.exec(select(func.count()).select_from(Ticket).where(*where))).one()
    rows = (
        await session.exec(
            select(Ticket).where(*where).order_by(col(Ticket.created_at)).limit(LIST_LIMIT)
        )
    ).all()
    if not rows:
        return Reply(t(loc, "open.none"))
    lines = [t(loc, "open.title", count=count)]
    for x in rows:
        lines.append(
            t(
                loc,
                "open.line",
                priority=t(loc, f"priority.{x.priority}"),
                code=x.code,
                state=t(loc, f"state.{x.state}"),
                owner=await owner_name(session, directory, x, loc),
                created=local_time(x.created_at),
            )
        )
    return Reply("\n".join(lines))


def period_start(period: str, now: datetime) -> datetime:
    if period == "today":
        local = now.astimezone(SHANGHAI)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    return now - timedelta(days=7 if period == "week" else 30)


async def stats(
    *,
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    period: str,
    now: datetime,
) -> Reply:
    """Received, signed for on time, median time to sign for, resolved, reopened, overdue.

    Sign-for figures are for the reports received in the period, from each ticket's first
    签收 event (a later revert does not undo that it was signed in time), measured from the
    dispatch it answered: re-dispatch moves the ticket's own dispatch time and deadline."""
    loc = member.locale
    if period not in PERIODS:
        return Reply(t(loc, "stats.usage"))
    since = period_start(period, now)
    scope = scope_filter(member)
    received = (
        await session.exec(
            select(Ticket.id, Ticket.priority, Ticket.sla).where(
                scope,
                col(Ticket.created_at) >= since,
            )
        )
    ).all()
    windows = {
        tid: sign_window_of(dict(sla), priority)
        for tid, priority, sla in received
        if tid is not None
    }
    signs = await _first_signs(session, list(windows))
    spans = {tid: sign - dispatch for tid, (dispatch, sign) in signs.items()}
    on_time = sum(1 for tid, span in spans.items() if span <= windows[tid])
    waits = [span.total_seconds() / 60 for span in spans.values()]

    async def events_in_period(kind: str) -> int:
        return int(
            (
                await session.exec(
                    select(func.count())
                    .select_from(TicketEvent)
                    .join(Ticket, col(Ticket.id) == col(TicketEvent.ticket_id))
                    .where(scope, col(TicketEvent.kind) == kind, col(TicketEvent.at) >= since)
                )
            ).one()
        )

    async def overdue_count(*conditions: ColumnElement[bool]) -> int:
        return int(
            (
                await session.exec(
                    select(func.count()).select_from(Ticket).where(scope, *conditions)
                )
            ).one()
        )

    none = t(loc, "stats.none")
    body = t(
        loc,
        "stats.body",
        received=len(received),
        on_time=f"{on_time}/{len(waits)} ({on_time * 100 // len(waits)}%)" if waits else none,
        median=duration(loc, round(statistics.median(waits))) if waits else none,
        resolved=await events_in_period("resolved"),
        reopened=await events_in_period("reopened"),
        l1=await overdue_count(col(Ticket.state).in_(UNSIGNED), col(Ticket.overdue_level) == 1),
        l2=await overdue_count(col(Ticket.state).in_(UNSIGNED), col(Ticket.overdue_level) >= 2),
        lr=await overdue_count(
            col(Ticket.state).in_(RESOLVING),
            col(Ticket.resolve_overdue_at).is_not(None),
        ),
    )
    scope_name = directory.full_name(member.scope_code) if directory.get(member.scope_code) else ""
    title = t(loc, "stats.title", period=t(loc, f"stats.period.{period}"), scope=scope_name)
    return Reply(f"{title}\n{body}")


# The events that say when a ticket was dispatched (first or again) and signed for.
SIGN_KINDS: Final = ("dispatched", "redispatched", "signed")


async def _first_signs(
    session: AsyncSession, ids: list[int]
) -> dict[int, tuple[datetime, datetime]]:
    """Per ticket: its first 签收 and the dispatch (first or re-dispatch) that it answered."""
    if not ids:
        return {}
    events = (
        await session.exec(
            select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.at)
            .where(
                col(TicketEvent.ticket_id).in_(ids),
                col(TicketEvent.kind).in_(SIGN_KINDS),
            )
            .order_by(col(TicketEvent.ticket_id), col(TicketEvent.at), col(TicketEvent.id))
        )
    ).all()
    return first_signs(events)


def first_signs(
    events: Iterable[tuple[int, str, datetime]],
) -> dict[int, tuple[datetime, datetime]]:
    """Per ticket: (the dispatch its first 签收 answered, that 签收), from its
    ``SIGN_KINDS`` events (ticket id, kind, time) in order of ticket, time and id. Shared
    with the dashboard's weekly figures, so both count a sign-for on time alike."""
    dispatched: dict[int, datetime] = {}
    first: dict[int, tuple[datetime, datetime]] = {}
    for tid, kind, at in events:
        if tid in first:
            continue
        if kind == "signed":
            if tid in dispatched:
                first[tid] = (dispatched[tid], aware(at))
        else:
            dispatched[tid] = aware(at)
    return first


def aware(at: datetime) -> datetime:
    """SQLite may hand back an aggregate (min) as naive UTC; columns come back aware."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


# ---- the commands ---------------------------------------------------------------------


async def command(
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    person: Person,
    command: Command,
    now: datetime,
) -> Outcome:
    """/overdue, /open, /stats and /reassign for a supervisor."""
    loc = member.locale
    refused = await staff_views.refused_to_supervise(session, member, person)
    if refused is not None:
        return refused
    if command.name == "overdue":
        reply = await overdue(session=session, directory=directory, member=member)
    elif command.name == "open":
        reply = await open_tickets(session=session, directory=directory, member=member)
    elif command.name == "stats":
        period = command.arg.strip().lower() or "today"
        reply = await stats(
            session=session, directory=directory, member=member, period=period, now=now
        )
    else:  # reassign: the township picker for one ticket in the supervisor's area
        code = command.arg.strip().upper()
        if not code:
            return Outcome([Reply(t(loc, "reassign.usage"))], locale=loc)
        ticket = (await session.exec(select(Ticket).where(col(Ticket.code) == code))).first()
        if ticket is None or not supervises(member, ticket):
            if ticket is not None:
                await refusal(
                    session,
                    ticket=ticket,
                    who=f"staff:{member.id}",
                    action=f"/reassign {code}",
                    now=now,
                )
            return Outcome([Reply(t(loc, "ticket.none", code=code))], changed=True, locale=loc)
        if ticket.state not in OPEN:
            state = t(loc, f"state.{ticket.state}")
            return Outcome([Reply(t(loc, "work.not_now", state=state))], locale=loc)
        reply = staff_views.township_picker(directory, member, ticket, 0)
    return Outcome([reply], locale=loc)
