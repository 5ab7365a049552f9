"""Staff enrolment by one-time invitation codes, and who may do what to which ticket."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import false
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import commands, web_sessions
from flows.api_tokens import revoke_all
from flows.delivery import withdraw
from flows.places import Directory
from flows.tickets import CODE_ALPHABET
from storage import outbox
from storage.models import NAME_MAX, Invite, StaffMember, StationGroup, Ticket, TicketEvent

INVITE_TTL: Final = timedelta(hours=72)
INVITE_LENGTH: Final = 12  # 31**12 ≈ 7.9e17
# Refused attempts by one person on one ticket within this long are one event: a trace of
# the probe is kept, a flood of forged presses does not bury the ticket's history.
REFUSAL_WINDOW: Final = timedelta(hours=1)
# A hotline operator may be scoped to the whole province: 广东省's code, by the same rule as
# the directory's (which starts at the cities, so the province is named here).
PROVINCE_CODE: Final = "440000000000"
PROVINCE_NAME: Final = "广东省"
# What each role may be scoped to: a station to its township; a supervisor to a county or a
# city; a hotline operator to a city or the province.
ROLES: Final = ("station", "supervisor", "operator")


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
    role: str  # station | supervisor | operator
    level: str  # township | county | city | province
    code: str


def scope_name(directory: Directory, code: str) -> str:
    """A scope for people: "广州市从化区 (440117000000)"; the province too."""
    if code == PROVINCE_CODE:
        return f"{PROVINCE_NAME} ({code})"
    return f"{directory.full_name(code) if directory.get(code) else '?'} ({code})"


def scope_for(
    directory: Directory,
    *,
    role: str,
    station: str | None = None,
    county: str | None = None,
    city: str | None = None,
    province: bool = False,
) -> Scope:
    """Check the administrator's --station/--county/--city/--province against the
    directory."""
    if province and role != "operator":
        raise EnrolmentError("invite.province_needs_operator")
    if role == "operator":
        if province:
            return Scope("operator", "province", PROVINCE_CODE)
        if not city or station or county:
            raise EnrolmentError("invite.operator_scope")
        place = directory.get(city)
        if place is None or place.level != "city":
            raise EnrolmentError("invite.bad_city", code=city)
        return Scope("operator", "city", place.code)
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
    if invite.cancelled_at is not None:
        raise EnrolmentError("join.cancelled")
    if invite.expires_at <= now:
        raise EnrolmentError("join.expired")
    # Conditional update: of two people racing with one code, exactly one gets it; and a
    # code the operator cancels meanwhile is not taken.
    taken = await session.exec(
        update(Invite)
        .where(
            col(Invite.id) == invite.id,
            col(Invite.used_at).is_(None),
            col(Invite.cancelled_at).is_(None),
        )
        .values(used_at=now, used_by=used_by)
    )
    if taken.rowcount != 1:
        await session.refresh(invite)
        raise EnrolmentError("join.cancelled" if invite.cancelled_at else "join.used")
    return invite


async def pending_invites(*, session: AsyncSession, now: datetime) -> Sequence[Invite]:
    """Invitations that can still be used: not used, not cancelled, not expired."""
    return (
        await session.exec(
            select(Invite)
            .where(
                col(Invite.used_at).is_(None),
                col(Invite.cancelled_at).is_(None),
                col(Invite.expires_at) > now,
            )
            .order_by(col(Invite.created_at), col(Invite.id))
        )
    ).all()


async def cancel_invite(*, session: AsyncSession, code: str, now: datetime) -> Invite:
    """Make a pending code unusable; EnrolmentError says why it is not pending."""
    invite = (
        await session.exec(select(Invite).where(col(Invite.code_hash) == _hash(code)))
    ).first()
    if invite is None:
        raise EnrolmentError("cancel.unknown")
    if invite.used_at is not None:
        raise EnrolmentError("cancel.used")
    if invite.cancelled_at is not None:
        raise EnrolmentError("cancel.cancelled")
    if invite.expires_at <= now:
        raise EnrolmentError("cancel.expired")
    # Conditional, like taking a code: a /join committing meanwhile wins, and is reported.
    cancelled = await session.exec(
        update(Invite)
        .where(
            col(Invite.id) == invite.id,
            col(Invite.used_at).is_(None),
            col(Invite.cancelled_at).is_(None),
        )
        .values(cancelled_at=now)
    )
    if cancelled.rowcount != 1:
        raise EnrolmentError("cancel.used")
    await session.refresh(invite)
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
    await commands.member_joined(session=session, member=member, now=now)
    return member


async def bind_group(
    *, session: AsyncSession, code: str, channel: str, chat_id: str, user_id: str, now: datetime
) -> StationGroup:
    """Bind a group chat to a station with a group invitation typed in that group (its
    command list is queued by the caller, who knows the language: ``flows.work``)."""
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


async def bound_station(session: AsyncSession, *, chat_id: str) -> str | None:
    """The station a group chat is bound to now, if any (a group serves one at a time)."""
    return (
        await session.exec(
            select(StationGroup.station_code).where(
                col(StationGroup.chat_id) == chat_id, col(StationGroup.active).is_(True)
            )
        )
    ).first()


async def active_groups(*, session: AsyncSession) -> Sequence[StationGroup]:
    return (
        await session.exec(
            select(StationGroup)
            .where(col(StationGroup.active).is_(True))
            .order_by(col(StationGroup.station_code), col(StationGroup.id))
        )
    ).all()


async def unbind_group(
    *, session: AsyncSession, chat_id: str, now: datetime, bot_present: bool = True
) -> int:
    """End a group's station binding (the operator, or the bot was removed from the group:
    ``bot_present`` False); referrals stop going there, and its command list goes (not when
    the bot was removed: Telegram would refuse it). Returns how many bindings ended."""
    ended = await session.exec(
        update(StationGroup)
        .where(col(StationGroup.chat_id) == chat_id, col(StationGroup.active).is_(True))
        .values(active=False, unbound_at=now)
    )
    if ended.rowcount:
        # What was still waiting to go to the group (a referral with its story) is not for
        # it any more; the station's members get their own copies.
        await withdraw(session=session, chat_id=chat_id, why="group unbound", now=now)
        if bot_present:
            await commands.group_unbound(
                session=session, chat_id=chat_id, key=now.isoformat(), now=now
            )
    return int(ended.rowcount)


async def chat_migrated(
    *, session: AsyncSession, old_chat_id: str, new_chat_id: str, now: datetime
) -> int:
    """A group became a supergroup, with a new id: its binding, the messages waiting for it
    and its command list follow. Returns how many bindings moved."""
    moved = await session.exec(
        update(StationGroup)
        .where(col(StationGroup.chat_id) == old_chat_id, col(StationGroup.active).is_(True))
        .values(chat_id=new_chat_id)
    )
    await outbox.move_chat(session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
    if moved.rowcount:
        await commands.group_moved(
            session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id, now=now
        )
    return int(moved.rowcount)


async def leave(*, session: AsyncSession, member: StaffMember, now: datetime) -> None:
    member.active = False
    member.left_at = now
    session.add(member)
    # Case data still on its way to them is not theirs any more; nor are staff commands.
    await withdraw(session=session, chat_id=member.chat_id, why="recipient left", now=now)
    await commands.member_left(session=session, member=member, now=now)
    # Nor are the API and the web pages: their tokens and sessions are refused from now on
    # (both also check that the holder is enrolled; revoking says so in `api-token list`).
    if member.id is not None:
        await revoke_all(session=session, staff_id=member.id, now=now)
        await web_sessions.end_all(session=session, staff_id=member.id, now=now)


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


async def refusal(
    session: AsyncSession, *, ticket: Ticket, who: str, action: str, now: datetime
) -> None:
    """A refused attempt leaves a trace on the ticket: one event per person per ticket per
    ``REFUSAL_WINDOW`` (the first attempt's action), however many presses are forged."""
    assert ticket.id is not None
    recent = (
        await session.exec(
            select(TicketEvent.id)
            .where(
                col(TicketEvent.ticket_id) == ticket.id,
                col(TicketEvent.kind) == "refused",
                col(TicketEvent.actor) == who,
                col(TicketEvent.at) > now - REFUSAL_WINDOW,
            )
            .limit(1)
        )
    ).first()
    if recent is None:
        session.add(
            TicketEvent(ticket_id=ticket.id, at=now, actor=who, kind="refused", note=action[:200])
        )


def scope_filter(member: StaffMember) -> ColumnElement[bool]:
    """The tickets a member's scope covers, as a query condition. A hotline operator works
    no tickets in the bot (their scope is for the API): none, whatever their scope says."""
    if member.role == "station":
        return col(Ticket.station_code) == member.scope_code
    if member.role != "supervisor":
        return false()
    if member.scope_level == "county":
        return col(Ticket.county_code) == member.scope_code
    return col(Ticket.city_code) == member.scope_code
