"""The hotline operators' console: place suggestions while the caller speaks, and the calls
an operator entered (their recent calls, the receipt of one call).

A call is the operator's when its ticket's ``submitted`` event names them (``staff:ID``, as
``flows.submission`` files it): the same record whether the call came in through the console
or the REST API, and the one the history keeps. Nothing here returns a story or a phone
number: an operator reads back codes and states, not what the station holds.

Operators are scoped to a city or the province, but a call about a child elsewhere is never
refused: it is filed and routed like any other, and the console says it lies outside the
operator's city (``in_scope``), so the operator can tell the caller which station has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.places import Directory
from flows.red_flags import from_json
from flows.sla import Frozen
from flows.staff import PROVINCE_CODE
from flows.submission import CANDIDATES
from flows.texts import t
from flows.tickets import owner_words
from storage.models import Station, Ticket, TicketEvent

RECENT: Final = 20
# The event ``flows.tickets.file_report`` writes with the filer as its actor.
FILED_KIND: Final = "submitted"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A place the typed words may mean, and whether it lies outside the operator's scope."""

    code: str
    name: str  # from the city down: 广州市从化区街口街道
    level: str
    outside: bool


def in_scope(directory: Directory, *, scope_code: str, place_code: str) -> bool:
    """Whether the place lies in the operator's city (every place is in the province's)."""
    if scope_code == PROVINCE_CODE:
        return True
    city = directory.city_of(place_code)
    return city is not None and city.code == scope_code


def suggest_places(
    directory: Directory, *, text: str, scope_code: str, limit: int = CANDIDATES
) -> list[Suggestion]:
    """The matcher's candidates for the words typed so far, best first (the same matcher
    and the same number as a report's typed place)."""
    return [
        Suggestion(
            code=p.code,
            name=directory.full_name(p.code),
            level=p.level,
            outside=not in_scope(directory, scope_code=scope_code, place_code=p.code),
        )
        for p in directory.match(text, limit=limit)
    ]


@dataclass(frozen=True, slots=True)
class Call:
    """A ticket an operator filed, as the console shows it: no story, no phone."""

    code: str
    filed_at: datetime
    channel: str
    priority: str
    state: str
    owner: str  # the station, or the county's or city's queue
    triage: bool
    place_code: str | None
    place_name: str | None
    sign_minutes: float
    first_action_minutes: float
    sign_due_at: datetime | None
    first_action_due_at: datetime | None
    # Categories of the words in the story that raised the alarm (flows.red_flags).
    red_flags: tuple[str, ...] = ()


def _actor(operator_id: int) -> str:
    return f"staff:{operator_id}"


async def _calls(
    session: AsyncSession,
    directory: Directory,
    rows: Sequence[tuple[Ticket, datetime]],
    locale: str,
) -> list[Call]:
    codes = {ticket.station_code for ticket, _ in rows if ticket.station_code}
    names: dict[str, str] = {}
    if codes:
        stations = await session.exec(select(Station).where(col(Station.code).in_(codes)))
        names = {s.code: s.name for s in stations.all()}
    calls = []
    for ticket, at in rows:
        owner = owner_words(directory, ticket, names.get(ticket.station_code or ""))
        place = directory.get(ticket.place_code) if ticket.place_code else None
        frozen = Frozen.from_json(ticket.sla, priority=ticket.priority)
        calls.append(
            Call(
                code=ticket.code,
                filed_at=at,
                channel=ticket.reporter_channel,
                priority=ticket.priority,
                state=str(ticket.state),
                owner=owner if isinstance(owner, str) else t(locale, owner["t"], **owner["v"]),
                triage=ticket.owner_level != "township",
                place_code=ticket.place_code,
                place_name=directory.full_name(place.code) if place else None,
                sign_minutes=frozen.sign,
                first_action_minutes=frozen.first_action,
                sign_due_at=ticket.sign_due_at,
                first_action_due_at=ticket.first_action_due_at,
                red_flags=tuple(f.category for f in from_json(ticket.red_flags)),
            )
        )
    return calls


async def recent_calls(
    *,
    session: AsyncSession,
    directory: Directory,
    operator_id: int,
    locale: str,
    limit: int = RECENT,
) -> list[Call]:
    """The last ``limit`` calls this operator entered, newest first; nobody else's."""
    rows = await session.exec(
        select(Ticket, TicketEvent.at)
        .join(TicketEvent, col(TicketEvent.ticket_id) == col(Ticket.id))
        .where(
            col(TicketEvent.actor) == _actor(operator_id),
            col(TicketEvent.kind) == FILED_KIND,
        )
        .order_by(col(TicketEvent.at).desc(), col(TicketEvent.id).desc())
        .limit(limit)
    )
    return await _calls(session, directory, rows.all(), locale)


async def filed_call(
    *,
    session: AsyncSession,
    directory: Directory,
    operator_id: int,
    code: str,
    locale: str,
) -> Call | None:
    """The call with this ticket code, when this operator entered it; else None (a code
    alone does not open another's call)."""
    row = (
        await session.exec(
            select(Ticket, TicketEvent.at)
            .join(TicketEvent, col(TicketEvent.ticket_id) == col(Ticket.id))
            .where(
                col(Ticket.code) == code.strip().upper(),
                col(TicketEvent.actor) == _actor(operator_id),
                col(TicketEvent.kind) == FILED_KIND,
            )
        )
    ).first()
    if row is None:
        return None
    return (await _calls(session, directory, [row], locale))[0]
