"""One child, one ticket: when a new report may be about the same child as an older open
ticket of the same station (a *possible duplicate*), and the links between reports.

The rule (docs/design.md, "One child, one ticket"). A report is a possible duplicate of a
ticket that

- its own township station holds (not a county's or city's queue), still open (not
  resolved, closed or merged),
- was filed before it, at most ``WINDOW`` (7 days) earlier,
- has the same age band and the same sex — ``unknown`` matching any, since a neighbour
  often cannot tell and a report that does not say must not hide a match,
- and shares at least one concern. A report with no concerns yet (an urgent one, filed as
  soon as its place is known) matches nothing: it is asked again when its concerns arrive
  (``flows.tickets.add_to_report``).

When several tickets match, the oldest is named: the case the others would join. Naming is
all that happens here (``duplicate_of_id``, a ``duplicate_suspected`` event, the ⚠️ line of
the station's message); merging is the station's decision (``flows.merging``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.states import MERGEABLE, OPEN, State
from storage.models import Ticket, TicketEvent

WINDOW: Final = timedelta(days=7)
UNKNOWN: Final = "unknown"
# Candidates looked at per report: a station rarely has this many open tickets in a week.
CANDIDATES_MAX: Final = 200
# A kept ticket may itself be merged later (into a still older one): links are followed at
# most this far, so a damaged row can never loop.
DEPTH_MAX: Final = 8


def _same(a: str, b: str) -> bool:
    return a == b or UNKNOWN in (a, b)


def same_child(new: Ticket, old: Ticket) -> bool:
    """Whether two reports' facts fit one child: age band, sex and a shared concern."""
    return (
        _same(new.child_age, old.child_age)
        and _same(new.child_sex, old.child_sex)
        and bool(set(new.concerns) & set(old.concerns))
    )


async def find_candidate(session: AsyncSession, ticket: Ticket) -> Ticket | None:
    """The oldest open ticket of the same station, filed within ``WINDOW`` before
    ``ticket``, that may be about the same child; None when there is none."""
    if ticket.owner_level != "township" or ticket.station_code is None or not ticket.concerns:
        return None
    assert ticket.id is not None
    rows = (
        await session.exec(
            select(Ticket)
            .where(
                col(Ticket.owner_level) == "township",
                col(Ticket.owner_code) == ticket.station_code,
                col(Ticket.state).in_(OPEN),
                # Filed before it (ids grow with filing; two reports may share a second).
                col(Ticket.id) < ticket.id,
                col(Ticket.created_at) >= ticket.created_at - WINDOW,
            )
            .order_by(col(Ticket.id))
            .limit(CANDIDATES_MAX)
        )
    ).all()
    return next((old for old in rows if same_child(ticket, old)), None)


async def flag(session: AsyncSession, ticket: Ticket, *, now: datetime) -> Ticket | None:
    """Name the ticket ``ticket`` may duplicate, in the caller's transaction: the link and
    a ``duplicate_suspected`` event (noting the other's code). A report already linked, or
    no longer one the station holds, is left alone. Returns the ticket named, if any."""
    if ticket.duplicate_of_id is not None or ticket.state not in MERGEABLE:
        return None
    found = await find_candidate(session, ticket)
    if found is None or found.id is None or ticket.id is None:
        return None
    ticket.duplicate_of_id = found.id
    session.add(ticket)
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            actor="system",
            kind="duplicate_suspected",
            note=found.code,
        )
    )
    return found


def blocker(report: Ticket, kept: Ticket) -> str | None:
    """Why ``report`` cannot be merged into ``kept`` now (``not_open``: ``kept`` was
    resolved, closed, merged or taken from the station; ``more_urgent``: the report's own,
    shorter deadlines must keep running); None when it can."""
    if (
        kept.state not in OPEN
        or kept.owner_level != "township"
        or kept.owner_code != report.station_code
    ):
        return "not_open"
    # "P0" < "P1" < "P2": the kept ticket's deadlines are never later than the report's
    # would have been only when it is at least as urgent.
    if report.priority < kept.priority:
        return "more_urgent"
    return None


@dataclass(frozen=True, slots=True)
class Link:
    """What the station is shown of a report's link to an older ticket: its code and when
    it was filed; ``merged`` (已合并到) or only a possible duplicate (可能重复), and then
    ``blocked``: why it cannot be merged now (``blocker``), None when it can."""

    ticket_id: int
    code: str
    created_at: datetime
    merged: bool
    blocked: str | None


async def link_of(session: AsyncSession, ticket: Ticket) -> Link | None:
    """The link of ``ticket`` the station should see, read afresh; None when it has none."""
    other_id = ticket.merged_into_id or ticket.duplicate_of_id
    if other_id is None:
        return None
    other = await session.get(Ticket, other_id)
    if other is None or other.id is None:
        return None
    merged = ticket.state == State.MERGED
    return Link(
        ticket_id=other.id,
        code=other.code,
        created_at=other.created_at,
        merged=merged,
        blocked=None if merged else blocker(ticket, other),
    )


async def case_of(session: AsyncSession, ticket: Ticket) -> Ticket:
    """The ticket that carries a report's case: the report itself, or the ticket it was
    merged into (and on up, if that one was merged in turn)."""
    current = ticket
    for _ in range(DEPTH_MAX):
        if current.state != State.MERGED or current.merged_into_id is None:
            break
        kept = await session.get(Ticket, current.merged_into_id)
        if kept is None:
            break
        current = kept
    return current


async def merged_reports(session: AsyncSession, ticket: Ticket) -> list[Ticket]:
    """The reports merged into ``ticket`` (and into those), oldest first."""
    found: list[Ticket] = []
    level = [ticket.id]
    for _ in range(DEPTH_MAX):
        rows = (
            await session.exec(
                select(Ticket)
                .where(col(Ticket.merged_into_id).in_(level), col(Ticket.state) == State.MERGED)
                .order_by(col(Ticket.id))
            )
        ).all()
        if not rows:
            break
        found.extend(rows)
        level = [r.id for r in rows]
    return sorted(found, key=lambda r: r.id or 0)
