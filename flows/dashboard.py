"""The supervisors' dashboard overview: the open tickets of a county or city, where they
stand, by station (or queue) and in total.

Each open ticket falls in exactly one column, by the rules the bot's ``/overdue`` uses
(``flows.escalation.overdue_filter``): un-signed and not yet past its sign-for deadline;
un-signed with the county told (L1) or the city (L2); signed, its first call or visit owed;
being worked within its resolve deadline; past the resolve deadline (催办 sent). So the
overdue columns add up to what ``/overdue`` lists, and all columns to what ``/open`` counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.places import Directory
from flows.staff import scope_filter
from flows.states import OPEN, RESOLVING, UNSIGNED, State
from flows.texts import t
from storage.models import StaffMember, Ticket

# The overview's columns, left to right: waiting to be signed for, then being worked.
COLUMNS: Final = ("waiting", "level1", "level2", "signed", "working", "resolve_overdue")
OVERDUE_COLUMNS: Final = ("level1", "level2", "resolve_overdue")


def column_of(state: str, overdue_level: int, resolve_overdue: bool) -> str:
    """Where one open ticket stands (``COLUMNS``)."""
    if state in UNSIGNED:
        return "level2" if overdue_level >= 2 else "level1" if overdue_level == 1 else "waiting"
    if state in RESOLVING:
        return "resolve_overdue" if resolve_overdue else "working"
    if state == State.ACKNOWLEDGED:
        return "signed"
    raise ValueError(f"not an open state: {state}")


@dataclass(slots=True)
class Counts:
    """Open tickets by column (``COLUMNS``)."""

    by_column: Counter[str] = field(default_factory=Counter)

    def __getitem__(self, column: str) -> int:
        return self.by_column[column]

    @property
    def total(self) -> int:
        return sum(self.by_column.values())

    @property
    def overdue(self) -> int:
        return sum(self.by_column[c] for c in OVERDUE_COLUMNS)


@dataclass(slots=True)
class OwnerLine:
    """One station (``level`` township) or a county's or city's queue, and its counts."""

    level: str  # township | county | city
    code: str
    name: str
    county: str  # the county's name ("" where there is none, or for a city's queue)
    counts: Counts = field(default_factory=Counts)


@dataclass(frozen=True, slots=True)
class Overview:
    lines: tuple[OwnerLine, ...]  # the most overdue first
    total: Counts
    by_state: tuple[tuple[str, int, int], ...]  # (state, open, of them overdue), OPEN order


def _owner_name(directory: Directory, level: str, code: str, locale: str) -> tuple[str, str]:
    """A station by its township's name, a queue by its centre's; and the county above."""
    place = directory.get(code)
    if place is None:  # a code the directory no longer has: shown as it is
        return code, ""
    name = place.name if level == "township" else t(locale, f"queue.{level}", name=place.name)
    county = directory.county_of(code) if level != "city" else None
    return name, county.name if county is not None else ""


async def overview(
    *, session: AsyncSession, directory: Directory, member: StaffMember, locale: str
) -> Overview:
    """The open tickets in ``member``'s scope by owner and column; names in ``locale``."""
    late = case((col(Ticket.resolve_overdue_at).is_(None), 0), else_=1)
    rows = (
        await session.exec(  # type: ignore[call-overload]  # six columns: a plain Core select
            sa_select(
                col(Ticket.owner_level),
                col(Ticket.owner_code),
                col(Ticket.state),
                col(Ticket.overdue_level),
                late,
                func.count(),
            )
            .where(scope_filter(member), col(Ticket.state).in_(OPEN))
            .group_by(
                col(Ticket.owner_level),
                col(Ticket.owner_code),
                col(Ticket.state),
                col(Ticket.overdue_level),
                late,
            )
        )
    ).all()
    lines: dict[tuple[str, str], OwnerLine] = {}
    total = Counts()
    states: Counter[str] = Counter()
    overdue_states: Counter[str] = Counter()
    for level, code, state, overdue_level, resolve_late, n in rows:
        column = column_of(state, overdue_level, bool(resolve_late))
        line = lines.get((level, code))
        if line is None:
            name, county = _owner_name(directory, level, code, locale)
            line = lines[(level, code)] = OwnerLine(level, code, name, county)
        line.counts.by_column[column] += n
        total.by_column[column] += n
        states[state] += n
        if column in OVERDUE_COLUMNS:
            overdue_states[state] += n
    ordered = sorted(
        lines.values(),
        key=lambda x: (
            -x.counts["level2"],
            -x.counts.overdue,
            -x.counts.total,
            x.level == "township",  # queues before stations when equal: they need routing
            x.code,
        ),
    )
    by_state = tuple((s.value, states[s], overdue_states[s]) for s in OPEN if states[s])
    return Overview(tuple(ordered), total, by_state)
