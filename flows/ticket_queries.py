"""Lists of tickets for staff, filtered and in pages: the REST API's ``GET /api/v1/tickets``,
and the supervisors' dashboard list and CSV export.

A list holds the member's scope only (``flows.staff.scope_filter``); a filter narrows it and
never widens it: a station, county or city outside the scope simply yields nothing. Newest
first, paged by keyset on (``created_at``, ``id``): a page never repeats or skips a ticket
when others are filed meanwhile. The cursor is opaque to the client and tied to the filter it
was made for; one that does not read back, or belongs to another filter, is refused
(``CursorError``). A hand-made cursor can only move the page: the scope is applied anyway.

Filters arrive as query parameters (``parse_filter``, ``parse_listing``); a bad one raises
``FilterError`` naming the parameter, never quoting the value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import and_, col, not_, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.escalation import is_overdue, overdue_filter
from flows.places import Directory
from flows.sla import PRIORITIES
from flows.staff import scope_filter
from flows.states import State
from flows.texts import t
from flows.tickets import SHANGHAI, owner_words
from storage.models import StaffMember, Station, Ticket

LIMIT_DEFAULT: Final = 50
LIMIT_MAX: Final = 200
# What a ticket can be in now (``submitted`` is only ever in the history).
LISTED_STATES: Final = tuple(s.value for s in State if s != State.SUBMITTED)
# Parameters that may be repeated or given as a comma list; the rest once each.
MULTI: Final = ("state", "priority")
FIELDS: Final = (*MULTI, "overdue", "station", "county", "city", "created_from", "created_to")
_DIVISION: Final = re.compile(r"[0-9]{12}")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,40}")  # a parameter's name, safe to repeat back
_CURSOR: Final = re.compile(r"[A-Za-z0-9_-]{1,300}")
_CURSOR_VERSION: Final = 1
ID_END: Final = 2**31  # ticket ids are PostgreSQL integers: a larger one cannot be bound


class FilterError(ValueError):
    """A parameter that is not a valid filter: ``field`` names it, ``message`` says what is
    wrong (in English, for a developer; never the value sent)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class CursorError(FilterError):
    """A cursor this list did not hand out (broken, made up, or another filter's)."""

    def __init__(self) -> None:
        super().__init__("cursor", "not a cursor of this list: start again without it")


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """What to list within the member's scope; every part given must hold (AND), values of
    one part are alternatives (OR). Times are aware; ``created_from`` is inclusive,
    ``created_to`` exclusive."""

    states: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    overdue: bool | None = None  # True: past a deadline as /overdue says; False: not
    station: str | None = None
    county: str | None = None
    city: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.states:
            where.append(col(Ticket.state).in_(self.states))
        if self.priorities:
            where.append(col(Ticket.priority).in_(self.priorities))
        if self.overdue is not None:
            where.append(overdue_filter() if self.overdue else not_(overdue_filter()))
        if self.station is not None:
            where.append(col(Ticket.station_code) == self.station)
        if self.county is not None:
            where.append(col(Ticket.county_code) == self.county)
        if self.city is not None:
            where.append(col(Ticket.city_code) == self.city)
        if self.created_from is not None:
            where.append(col(Ticket.created_at) >= self.created_from)
        if self.created_to is not None:
            where.append(col(Ticket.created_at) < self.created_to)
        return where

    def fingerprint(self) -> str:
        """The same for equal filters however their parts were ordered: binds a cursor."""
        parts = [
            sorted(self.states),
            sorted(self.priorities),
            self.overdue,
            self.station,
            self.county,
            self.city,
            *(
                at.astimezone(UTC).isoformat() if at is not None else None
                for at in (self.created_from, self.created_to)
            ),
        ]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Listing:
    """A list's request: its filter, the page size, and where the page starts."""

    filter: TicketFilter
    limit: int = LIMIT_DEFAULT
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One ticket in a list: where it stands and its deadlines; nothing about the child or
    the reporter (no story, no contact)."""

    code: str
    state: str
    priority: str
    station: str | None  # the township's code; None while in a county's or city's queue
    owner: str  # the station's name, or the queue's
    county: str | None
    city: str
    channel: str  # how the report came in: telegram, web, api, a phone line
    created_at: datetime
    next_due_at: datetime | None
    overdue_level: int  # 0; 1 the county was told; 2 the city was
    overdue: bool
    signed_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class TicketPage:
    items: tuple[TicketRow, ...]
    next_cursor: str | None  # None: this was the last page


def _pairs(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    # A multidict's items() holds every value of a repeated key; a dict's, one.
    return list(params.items() if isinstance(params, Mapping) else params)


def _one_of(field: str, value: str, allowed: Collection[str]) -> str:
    if value not in allowed:
        raise FilterError(field, f"must be one of: {', '.join(allowed)}")
    return value


def _division(field: str, value: str) -> str:
    if not _DIVISION.fullmatch(value):
        raise FilterError(field, "must be a 12-digit division code")
    return value


def _moment(field: str, value: str) -> datetime:
    """An ISO 8601 date (midnight) or date-time; without an offset, Asia/Shanghai time."""
    try:
        if _DATE.fullmatch(value):
            day = date.fromisoformat(value)
            at = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
        elif len(value) <= 40:
            at = datetime.fromisoformat(value)
            at = at if at.tzinfo is not None else at.replace(tzinfo=SHANGHAI)
        else:
            raise ValueError(field)
        # In UTC as stored; a moment at the calendar's very edge does not convert.
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise FilterError(
            field, "must be an ISO 8601 date or date-time (2026-12-05, 2026-12-05T08:30:00Z)"
        ) from None


def _flag(field: str, value: str) -> bool:
    return _one_of(field, value, ("true", "false")) == "true"


def parse_filter(
    params: Mapping[str, str] | Iterable[tuple[str, str]], *, extra: Collection[str] = ()
) -> TicketFilter:
    """The filter in query parameters (``FIELDS``). ``state`` and ``priority`` may be
    repeated or comma-separated; the others are given once. A parameter that is neither a
    filter nor in ``extra`` (the caller's own, such as ``limit``) is an error: a misspelt
    filter must not quietly list everything."""
    given: dict[str, list[str]] = {}
    for key, value in _pairs(params):
        if key in extra:
            continue
        if key not in FIELDS:
            raise FilterError(key if _NAME.fullmatch(key) else "(query)", "unknown parameter")
        if key in given and key not in MULTI:
            raise FilterError(key, "given more than once")
        parts = value.split(",") if key in MULTI else [value]
        if any(not part.strip() for part in parts):
            raise FilterError(key, "must not be empty")
        given.setdefault(key, []).extend(part.strip() for part in parts)

    def once(field: str) -> str | None:
        return given[field][0] if field in given else None

    states = {_one_of("state", v, LISTED_STATES) for v in given.get("state", [])}
    priorities = {_one_of("priority", v, PRIORITIES) for v in given.get("priority", [])}
    overdue, station, county, city, since, until = map(once, FIELDS[2:])
    return TicketFilter(
        states=tuple(sorted(states)),
        priorities=tuple(sorted(priorities)),
        overdue=_flag("overdue", overdue) if overdue is not None else None,
        station=_division("station", station) if station is not None else None,
        county=_division("county", county) if county is not None else None,
        city=_division("city", city) if city is not None else None,
        created_from=_moment("created_from", since) if since is not None else None,
        created_to=_moment("created_to", until) if until is not None else None,
    )


def parse_limit(value: str | None) -> int:
    """A page size from 1 to ``LIMIT_MAX``; ``LIMIT_DEFAULT`` when not given."""
    if value is None:
        return LIMIT_DEFAULT
    if not re.fullmatch(r"[0-9]{1,4}", value) or not 1 <= int(value) <= LIMIT_MAX:
        raise FilterError("limit", f"must be a whole number from 1 to {LIMIT_MAX}")
    return int(value)


def parse_listing(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> Listing:
    """A list's filter plus ``limit`` and ``cursor`` (each given once at most)."""
    pairs = _pairs(params)
    paging: dict[str, str] = {}
    for key, value in pairs:
        if key in ("limit", "cursor"):
            if key in paging:
                raise FilterError(key, "given more than once")
            paging[key] = value
    return Listing(
        filter=parse_filter(pairs, extra=("limit", "cursor")),
        limit=parse_limit(paging.get("limit")),
        cursor=paging.get("cursor"),
    )


def encode_cursor(created_at: datetime, ticket_id: int, filter: TicketFilter) -> str:
    """Where the page after the ticket (``created_at``, ``ticket_id``) starts, for
    ``filter``."""
    at = created_at.astimezone(UTC).isoformat()
    raw = json.dumps([_CURSOR_VERSION, at, ticket_id, filter.fingerprint()])
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str, filter: TicketFilter) -> tuple[datetime, int]:
    """The (created_at, id) a page starts after; ``CursorError`` for anything else."""
    if not _CURSOR.fullmatch(cursor):
        raise CursorError
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded: Any = json.loads(raw.decode())
        version, at_text, ticket_id, fingerprint = decoded
        at = datetime.fromisoformat(at_text)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise CursorError from None
    if (
        version != _CURSOR_VERSION
        or fingerprint != filter.fingerprint()
        or type(ticket_id) is not int
        or not 0 < ticket_id < ID_END
        or at.tzinfo is None
    ):
        raise CursorError
    return at.astimezone(UTC), ticket_id


def row_of(
    directory: Directory, ticket: Ticket, station_name: str | None, locale: str
) -> TicketRow:
    """A ticket as a list shows it (``station_name``: its station's, None in a queue)."""
    owner = owner_words(directory, ticket, station_name)
    return TicketRow(
        code=ticket.code,
        state=ticket.state,
        priority=ticket.priority,
        station=ticket.station_code,
        owner=owner if isinstance(owner, str) else t(locale, owner["t"], **owner["v"]),
        county=ticket.county_code,
        city=ticket.city_code,
        channel=ticket.reporter_channel,
        created_at=ticket.created_at,
        next_due_at=ticket.next_due_at,
        overdue_level=ticket.overdue_level,
        overdue=is_overdue(ticket),
        signed_at=ticket.signed_at,
        resolved_at=ticket.resolved_at,
    )


async def list_tickets(
    *,
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    filter: TicketFilter,
    cursor: str | None,
    limit: int = LIMIT_DEFAULT,
    locale: str = "zh",
) -> TicketPage:
    """One page of the tickets in ``member``'s scope that ``filter`` selects, newest first,
    starting after ``cursor`` (None: the first page); queue names in ``locale``."""
    if not 1 <= limit <= LIMIT_MAX:
        raise FilterError("limit", f"must be a whole number from 1 to {LIMIT_MAX}")
    query = (
        select(Ticket, Station.name)
        .outerjoin(Station, col(Station.code) == col(Ticket.station_code))
        .where(scope_filter(member), *filter.conditions())
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        at, after_id = decode_cursor(cursor, filter)
        query = query.where(
            or_(
                col(Ticket.created_at) < at,
                and_(col(Ticket.created_at) == at, col(Ticket.id) < after_id),
            )
        )
    found = (await session.exec(query)).all()
    page = found[:limit]
    rows = tuple(row_of(directory, ticket, name, locale) for ticket, name in page)
    last = page[-1][0] if page else None
    next_cursor = None
    if len(found) > limit and last is not None and last.id is not None:
        next_cursor = encode_cursor(last.created_at, last.id, filter)
    return TicketPage(items=rows, next_cursor=next_cursor)
