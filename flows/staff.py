"""Staff enrolment by one-time invitation codes, and who may do what to which ticket."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.places import Directory
from flows.tickets import CODE_ALPHABET
from storage.models import (
    NAME_MAX,
    Invite,
    OutboxMessage,
    StaffMember,
    StationGroup,
    Ticket,
    TicketEvent,
)

INVITE_TTL: Final = timedelta(hours=72)
INVITE_LENGTH: Final = 12  # 31**12 ≈ 7.9e17


class EnrolmentError(Exception):
    """Why an invitation could not be issued or used; ``key`` names the text to show."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def _hash(code: str) -> str:
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def format_code(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


@dataclass(frozen=True, slots=True)
class Scope:
    role: str  # station | supervisor
    level: str  # township | county | city
    code: str


def scope_for(
    directory: Directory,
    *,
    role: str,
    station: str | None = None,
    county: str | None = None,
    city: str | None = None,
) -> Scope:
    """Check an operator's --station/--county/--city against the directory."""
    if role == "station":
        place = directory.get(station or "")
        if station is None or place is None or place.level != "township":
            raise EnrolmentError("invite.bad_station", code=str(station))
        return Scope("station", "township", place.code)
    if role == "supervisor":
        if county:
            place = directory.get(county)
            if place is None or place.level != "county":
                raise EnrolmentError("invite.bad_county", code=county)
            return Scope("supervisor", "county", place.code)
        if city:
            place = directory.get(city)
            if place is None or place.level != "city":
                raise EnrolmentError("invite.bad_city", code=city)
            return Scope("supervisor", "city", place.code)
        raise EnrolmentError("invite.need_scope")
    raise EnrolmentError("invite.bad_role", role=role)


async def issue_invite(
    *,
    session: AsyncSession,
    scope: Scope,
    kind: str,
    now: datetime,
    ttl: timedelta = INVITE_TTL,
) -> str:
    """A new one-time code; only its hash is kept, so a database dump cannot enrol anyone."""
    if kind == "group" and scope.role != "station":
        raise EnrolmentError("invite.group_needs_station")
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(INVITE_LENGTH))
    session.add(
        Invite(
            code_hash=_hash(raw),
            kind=kind,
            role=scope.role,
            scope_level=scope.level,
            scope_code=scope.code,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return format_code(raw)


async def _take_invite(
    session: AsyncSession, *, code: str, kind: str, used_by: str, now: datetime
) -> Invite:
    invite = (
        await session.exec(select(Invite).where(col(Invite.code_hash) == _hash(code)))
    ).first()
    if invite is None or invite.kind != kind:
        raise EnrolmentError("join.unknown")
    if invite.used_at is not None:
        raise EnrolmentError("join.used")
    if invite.expires_at <= now:
        raise EnrolmentError("join.expired")
    # Conditional update: of two people racing with one code, exactly one gets it.
    taken = await session.exec(
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
        .values(used_at=now, used_by=used_by)
    )
    if taken.rowcount != 1:
        raise EnrolmentError("join.used")
    return invite


async def active_member(session: AsyncSession, *, channel: str, user_id: str) -> StaffMember | None:
    return (
        await session.exec(
            select(StaffMember).where(
                col(StaffMember.channel) == channel,
                col(StaffMember.user_id) == user_id,
                col(StaffMember.active).is_(True),
            )
        )
    ).first()


async def join(
    *,
    session: AsyncSession,
    code: str,
    channel: str,
    user_id: str,
    chat_id: str,
    display_name: str,
    locale: str,
    now: datetime,
) -> StaffMember:
    """Bind this account to the invitation's role and scope."""
    current = await active_member(session, channel=channel, user_id=user_id)
    if current is not None:
        raise EnrolmentError("join.already")
    invite = await _take_invite(
        session, code=code, kind="member", used_by=f"{channel}:{user_id}", now=now
    )
    member = StaffMember(
        channel=channel,
        user_id=user_id,
        chat_id=chat_id,
        display_name=display_name[:NAME_MAX] or user_id,
        role=invite.role,
        scope_level=invite.scope_level,
        scope_code=invite.scope_code,
        locale=locale,
        invite_id=invite.id,
        joined_at=now,
    )
    session.add(member)
    await session.flush()
    return member


async def bind_group(
    *, session: AsyncSession, code: str, channel: str, chat_id: str, user_id: str, now: datetime
) -> StationGroup:
    """Bind a group chat to a station with a group invitation typed in that group."""
    invite = await _take_invite(
        session, code=code, kind="group", used_by=f"{channel}:{user_id}@{chat_id}", now=now
    )
    old = await session.exec(
        select(StationGroup).where(
            col(StationGroup.chat_id) == chat_id, col(StationGroup.active).is_(True)
        )
    )
    for group in old.all():  # a group serves one station at a time
        group.active = False
        group.unbound_at = now
        session.add(group)
    group = StationGroup(
        station_code=invite.scope_code, chat_id=chat_id, invite_id=invite.id, bound_at=now
    )
    session.add(group)
    await session.flush()
    return group


async def chat_migrated(*, session: AsyncSession, old_chat_id: str, new_chat_id: str) -> int:
    """A group became a supergroup, which has a new id: the station's binding and the
    messages still waiting for the old id follow it. Returns how many bindings moved."""
    moved = await session.exec(
        update(StationGroup)
        .where(col(StationGroup.chat_id) == old_chat_id, col(StationGroup.active).is_(True))
        .values(chat_id=new_chat_id)
    )
    await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.target_kind) == "chat",
            col(OutboxMessage.target) == old_chat_id,
            col(OutboxMessage.status).in_(("pending", "sending")),
        )
        .values(target=new_chat_id)
    )
    return int(moved.rowcount)


async def leave(*, session: AsyncSession, member: StaffMember, now: datetime) -> None:
    member.active = False
    member.left_at = now
    session.add(member)


async def revoke(*, session: AsyncSession, member_id: int, now: datetime) -> StaffMember | None:
    member = await session.get(StaffMember, member_id)
    if member is None or not member.active:
        return None
    await leave(session=session, member=member, now=now)
    return member


async def list_members(
    *, session: AsyncSession, scope_code: str | None = None, include_inactive: bool = False
) -> Sequence[StaffMember]:
    query = select(StaffMember).order_by(col(StaffMember.scope_code), col(StaffMember.id))
    if scope_code:
        query = query.where(col(StaffMember.scope_code) == scope_code)
    if not include_inactive:
        query = query.where(col(StaffMember.active).is_(True))
    return (await session.exec(query)).all()


# ---- authorisation -------------------------------------------------------------------


def works_at(member: StaffMember, ticket: Ticket) -> bool:
    """Station staff act on the tickets of their own station only."""
    return (
        member.active
        and member.role == "station"
        and ticket.station_code is not None
        and ticket.station_code == member.scope_code
    )


def supervises(member: StaffMember, ticket: Ticket) -> bool:
    """Supervisors oversee their county's or city's tickets."""
    if not member.active or member.role != "supervisor":
        return False
    if member.scope_level == "county":
        return ticket.county_code == member.scope_code
    return member.scope_level == "city" and ticket.city_code == member.scope_code


def may_view(member: StaffMember, ticket: Ticket) -> bool:
    return works_at(member, ticket) or supervises(member, ticket)


def actor(member: StaffMember | None, *, channel: str, user_id: str) -> str:
    return f"staff:{member.id}" if member is not None else f"{channel}:{user_id}"


def refusal(*, ticket: Ticket, who: str, action: str, now: datetime) -> TicketEvent:
    """Every refused attempt is kept: a probe of someone else's ticket leaves a trace."""
    assert ticket.id is not None
    return TicketEvent(ticket_id=ticket.id, at=now, actor=who, kind="refused", note=action[:200])
