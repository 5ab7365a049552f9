"""Sign-for and resolve compliance per week, for the supervisors' dashboard.

The figures are counted the way the bot's ``/stats`` counts sign-for (``flows.supervision``):
over the reports *received* in a week (Monday to Sunday, Asia/Shanghai), from each ticket's
first 签收, measured from the dispatch it answered (a re-dispatch restarts the window), on
time when within the ticket's own sign-for window; the share is of those signed for so far,
so the received and signed counts are shown beside it.

Resolve compliance is counted alike: of the reports received in the week that have been
resolved (办结), the share whose first 办结 came by the resolve deadline in force then — the
one set when the report was filed (``flows.tickets.file_report``: filing time plus the
ticket's frozen resolve window) moved by every extension approved before that 办结. A later
不满意 that reopens the ticket does not undo an 办结 made in time, as a reverted sign-for
does not undo a 签收 made in time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.escalation import SHANGHAI
from flows.sla import Frozen
from flows.staff import scope_filter
from flows.supervision import SIGN_KINDS, aware, first_signs
from storage.models import StaffMember, Ticket, TicketEvent

WEEKS_DEFAULT: Final = 12
WEEKS_MIN: Final = 4
WEEKS_MAX: Final = 26
RESOLVE_KINDS: Final = ("resolved", "extension_approved")
_DAYS: Final = re.compile(r"([0-9]{1,3})d")  # an approved extension's note: "3d"


@dataclass(frozen=True, slots=True)
class Week:
    """One week's reports and how they were answered."""

    start: date  # the Monday
    received: int
    signed: int
    signed_on_time: int
    resolved: int
    resolved_on_time: int

    @property
    def label(self) -> str:
        year, number, _ = self.start.isocalendar()
        return f"{year}-W{number:02d}"

    @property
    def sign_percent(self) -> int | None:
        return percent(self.signed_on_time, self.signed)

    @property
    def resolve_percent(self) -> int | None:
        return percent(self.resolved_on_time, self.resolved)


def percent(part: int, whole: int) -> int | None:
    """A whole percentage rounded down (as ``/stats`` shows it); None of nothing."""
    return part * 100 // whole if whole else None


def monday_of(now: datetime) -> date:
    local = now.astimezone(SHANGHAI).date()
    return local - timedelta(days=local.weekday())


def first_resolves(
    events: Iterable[tuple[int, str, datetime, str | None]],
) -> dict[int, tuple[datetime, timedelta]]:
    """Per ticket: its first 办结 and the extensions approved before it, from its
    ``RESOLVE_KINDS`` events (ticket id, kind, time, note) in order of ticket, time and id."""
    extended: dict[int, timedelta] = {}
    first: dict[int, tuple[datetime, timedelta]] = {}
    for tid, kind, at, note in events:
        if tid in first:
            continue
        if kind == "resolved":
            first[tid] = (aware(at), extended.get(tid, timedelta()))
        else:
            days = _DAYS.fullmatch(note or "")
            if days is not None:
                extended[tid] = extended.get(tid, timedelta()) + timedelta(days=int(days[1]))
    return first


async def weekly(
    *, session: AsyncSession, member: StaffMember, now: datetime, weeks: int = WEEKS_DEFAULT
) -> tuple[Week, ...]:
    """The last ``weeks`` weeks in ``member``'s scope, oldest first; the last is this week
    so far."""
    if not WEEKS_MIN <= weeks <= WEEKS_MAX:
        raise ValueError(f"weeks must be from {WEEKS_MIN} to {WEEKS_MAX}")
    mondays = [monday_of(now) - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    first = mondays[0]
    since = datetime(first.year, first.month, first.day, tzinfo=SHANGHAI)
    where = (scope_filter(member), col(Ticket.created_at) >= since)
    received = (
        await session.exec(
            select(Ticket.id, Ticket.created_at, Ticket.priority, Ticket.sla).where(*where)
        )
    ).all()
    events = (
        await session.exec(
            select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.at, TicketEvent.note)
            .join(Ticket, col(Ticket.id) == col(TicketEvent.ticket_id))
            .where(*where, col(TicketEvent.kind).in_((*SIGN_KINDS, *RESOLVE_KINDS)))
            .order_by(col(TicketEvent.ticket_id), col(TicketEvent.at), col(TicketEvent.id))
        )
    ).all()
    signs = first_signs((tid, kind, at) for tid, kind, at, _ in events if kind in SIGN_KINDS)
    resolves = first_resolves(e for e in events if e[1] in RESOLVE_KINDS)
    tally = [[0] * 5 for _ in mondays]  # received, signed, on time, resolved, on time
    for tid, created_at, priority, sla in received:
        assert tid is not None
        created = aware(created_at)
        index = (created.astimezone(SHANGHAI).date() - first).days // 7
        if not 0 <= index < weeks:
            continue  # filed after ``now`` (a clock set back): not in these weeks
        frozen = Frozen.from_json(dict(sla), priority=priority)
        row = tally[index]
        row[0] += 1
        if tid in signs:
            dispatch, signed = signs[tid]
            row[1] += 1
            row[2] += signed - dispatch <= timedelta(minutes=frozen.sign)
        if tid in resolves:
            resolved, extension = resolves[tid]
            row[3] += 1
            row[4] += resolved <= created + timedelta(minutes=frozen.resolve) + extension
    return tuple(Week(monday, *row) for monday, row in zip(mondays, tally, strict=True))
