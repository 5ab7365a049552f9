"""Staff in the bot: joining, leaving, their tickets, and acting on a ticket.

Every action checks the person's role and scope here, whatever keyboard the button came
from: a forwarded message or a typed code gets the same checks as the station's own message.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.intake import Command, Event, Press
from flows.messages import Button, Outcome, Reply
from flows.notices import referral_text, ticket_fields
from flows.outbox import enqueue, payload_of
from flows.places import Directory
from flows.staff import (
    EnrolmentError,
    active_member,
    bind_group,
    join,
    leave,
    may_view,
    refusal,
    supervises,
    works_at,
)
from flows.texts import CATALOGUES, t
from flows.tickets import local_time, owner_name
from storage.models import (
    OutboxMessage,
    StaffMember,
    Ticket,
    TicketContact,
    TicketEvent,
)

STAFF_COMMANDS: Final = frozenset({"join", "leave", "mytickets", "ticket"})
OPEN_STATES: Final = ("dispatched", "triage", "acknowledged", "in_progress", "returned", "reopened")


@dataclass(frozen=True, slots=True)
class Person:
    """Who acts: the account (user) and where they wrote from (chat)."""

    channel: str
    user_id: str
    chat_id: str
    in_group: bool
    display_name: str
    locale: str


def is_staff_event(event: Event) -> bool:
    if isinstance(event, Command):
        return event.name in STAFF_COMMANDS
    return isinstance(event, Press) and event.data.startswith("w:")


async def handle(
    *,
    session: AsyncSession,
    directory: Directory,
    person: Person,
    event: Event,
    now: datetime,
) -> Outcome:
    member = await active_member(session, channel=person.channel, user_id=person.user_id)
    loc = member.locale if member else person.locale
    if isinstance(event, Command):
        if event.name == "join":
            return await _join(session, directory, person, event.arg, now)
        if member is None:
            return Outcome([Reply(t(loc, "staff.only"))], locale=loc)
        if event.name == "leave":
            await leave(session=session, member=member, now=now)
            scope = _scope_name(directory, member.scope_code)
            return Outcome([Reply(t(loc, "leave.ok", scope=scope))], changed=True, locale=loc)
        if event.name == "mytickets":
            return Outcome([await _my_tickets(session, member)], locale=loc)
        return await _ticket_by_code(session, directory, member, person, event.arg, now)
    assert isinstance(event, Press)
    _, _, rest = event.data.partition(":")
    action, _, ticket_ref = rest.partition(":")
    ticket = await session.get(Ticket, int(ticket_ref)) if ticket_ref.isdigit() else None
    if ticket is None:
        return Outcome(notice=t(loc, "refused"), locale=loc)
    who = f"staff:{member.id}" if member else f"{person.channel}:{person.user_id}"
    if member is None or not may_view(member, ticket):
        session.add(refusal(ticket=ticket, who=who, action=event.data, now=now))
        return Outcome(notice=t(loc, "refused"), changed=True, locale=loc)
    if action == "sign":
        return await sign(
            session=session, directory=directory, member=member, ticket=ticket, now=now
        )
    if action == "det":
        reply = await details(
            session=session, directory=directory, member=member, ticket=ticket, now=now
        )
        return Outcome([reply], changed=True, locale=loc)
    return Outcome(notice=t(loc, "refused"), locale=loc)


def _scope_name(directory: Directory, code: str) -> str:
    place = directory.get(code)
    return directory.full_name(code) if place else code


async def _join(
    session: AsyncSession, directory: Directory, person: Person, code: str, now: datetime
) -> Outcome:
    loc = person.locale
    if not code.strip():
        return Outcome([Reply(t(loc, "join.usage"))], locale=loc)
    try:
        async with session.begin_nested():
            if person.in_group:
                group = await bind_group(
                    session=session,
                    code=code,
                    channel=person.channel,
                    chat_id=person.chat_id,
                    user_id=person.user_id,
                    now=now,
                )
                scope = _scope_name(directory, group.station_code)
                return Outcome([Reply(t(loc, "join.ok.group", scope=scope))], changed=True)
            member = await join(
                session=session,
                code=code,
                channel=person.channel,
                user_id=person.user_id,
                chat_id=person.chat_id,
                display_name=person.display_name,
                locale=loc,
                now=now,
            )
    except EnrolmentError as exc:
        if exc.key == "join.already":
            current = await active_member(session, channel=person.channel, user_id=person.user_id)
            scope = _scope_name(directory, current.scope_code) if current else ""
            return Outcome([Reply(t(loc, exc.key, scope=scope))], locale=loc)
        return Outcome([Reply(t(loc, exc.key))], locale=loc)
    scope = _scope_name(directory, member.scope_code)
    key = "join.ok.station" if member.role == "station" else "join.ok.supervisor"
    return Outcome([Reply(t(loc, key, scope=scope))], changed=True, locale=loc)


def _visible_to(member: StaffMember) -> object:
    if member.role == "station":
        return col(Ticket.station_code) == member.scope_code
    if member.scope_level == "county":
        return col(Ticket.county_code) == member.scope_code
    return col(Ticket.city_code) == member.scope_code


async def _my_tickets(session: AsyncSession, member: StaffMember) -> Reply:
    loc = member.locale
    rows = (
        await session.exec(
            select(Ticket)
            .where(_visible_to(member), col(Ticket.state).in_(OPEN_STATES))  # type: ignore[arg-type]
            .order_by(col(Ticket.next_due_at).is_(None), col(Ticket.next_due_at))
            .limit(30)
        )
    ).all()
    if not rows:
        return Reply(t(loc, "mytickets.none"))
    lines = [t(loc, "mytickets.title")]
    for x in rows:
        lines.append(
            t(
                loc,
                "mytickets.line",
                priority=t(loc, f"priority.{x.priority}"),
                code=x.code,
                state=t(loc, f"state.{x.state}"),
                due=local_time(x.next_due_at) if x.next_due_at else "—",
            )
        )
    return Reply("\n".join(lines))


async def _ticket_by_code(
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    person: Person,
    code: str,
    now: datetime,
) -> Outcome:
    loc = member.locale
    code = code.strip().upper()
    if not code:
        return Outcome([Reply(t(loc, "ticket.usage"))], locale=loc)
    ticket = (await session.exec(select(Ticket).where(col(Ticket.code) == code))).first()
    if ticket is None:
        return Outcome([Reply(t(loc, "ticket.none", code=code))], locale=loc)
    if not may_view(member, ticket):
        # The same answer as for an unknown code, so codes cannot be probed; but kept.
        session.add(
            refusal(ticket=ticket, who=f"staff:{member.id}", action=f"/ticket {code}", now=now)
        )
        return Outcome([Reply(t(loc, "ticket.none", code=code))], changed=True, locale=loc)
    reply = await details(
        session=session, directory=directory, member=member, ticket=ticket, now=now
    )
    return Outcome([reply], changed=True, locale=loc)


async def details(
    *,
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    ticket: Ticket,
    now: datetime,
) -> Reply:
    """The full ticket and its history. The reporter's phone only for the signing station and
    supervisors, and each such view is recorded."""
    loc = member.locale
    assert ticket.id is not None
    fields = ticket_fields(directory, ticket, loc)
    fields["state"] = t(loc, f"state.{ticket.state}")
    fields["owner"] = html.escape(await owner_name(session, directory, ticket, loc), quote=False)
    lines = [CATALOGUES[loc]["ticket.detail"].format(**fields)]
    contact = await session.get(TicketContact, ticket.id)
    if contact is None:
        lines.append(t(loc, "ticket.anonymous"))
    elif supervises(member, ticket) or (works_at(member, ticket) and ticket.signed_at is not None):
        consent = t(loc, "consent.yes" if contact.callback_consent else "consent.no")
        lines.append(t(loc, "ticket.contact", phone=contact.phone, consent=consent))
        session.add(
            TicketEvent(
                ticket_id=ticket.id, at=now, actor=f"staff:{member.id}", kind="contact_viewed"
            )
        )
    else:
        lines.append(t(loc, "ticket.contact_hidden"))
    events = (
        await session.exec(
            select(TicketEvent)
            .where(col(TicketEvent.ticket_id) == ticket.id)
            .order_by(col(TicketEvent.at), col(TicketEvent.id))
        )
    ).all()
    lines.append("")
    lines.append(t(loc, "ticket.history"))
    for e in events:
        label = CATALOGUES[loc].get(f"event.{e.kind}", e.kind)
        note = f"：{e.note}" if e.note and e.kind in ("note",) else ""
        lines.append(t(loc, "ticket.event", at=local_time(e.at), kind=label, note=note))
    return Reply("\n".join(lines))


async def sign(
    *,
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    ticket: Ticket,
    now: datetime,
) -> Outcome:
    """签收: the first press wins; the referral is edited for everyone; the reporter is told."""
    loc = member.locale
    assert ticket.id is not None
    if not works_at(member, ticket):
        session.add(refusal(ticket=ticket, who=f"staff:{member.id}", action="sign", now=now))
        return Outcome(notice=t(loc, "refused"), changed=True, locale=loc)
    # A conditional update decides the race: on PostgreSQL the loser's UPDATE waits for the
    # winner's commit and then matches no row; SQLite has one writer at a time.
    won = await session.exec(
        update(Ticket)
        .where(col(Ticket.id) == ticket.id, col(Ticket.state) == "dispatched")
        .values(
            state="acknowledged",
            assignee_id=member.id,
            signed_at=now,
            next_due_at=ticket.first_action_due_at,
        )
    )
    if won.rowcount != 1:
        await session.refresh(ticket)
        if ticket.assignee_id is not None:
            winner = await session.get(StaffMember, ticket.assignee_id)
            name = winner.display_name if winner else "?"
            return Outcome(notice=t(loc, "sign.taken", name=name), locale=loc)
        state = t(loc, f"state.{ticket.state}")
        return Outcome(notice=t(loc, "sign.not_open", state=state), locale=loc)
    await session.refresh(ticket)
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            actor=f"staff:{member.id}",
            kind="signed",
            from_state="dispatched",
            to_state="acknowledged",
        )
    )
    await _show_signed(session, directory, ticket, member.display_name, now)
    station = await owner_name(session, directory, ticket, ticket.locale)
    await enqueue(
        session,
        dedup_key=f"reporter:signed:{ticket.id}",
        kind="reporter_update",
        now=now,
        payload=payload_of(t(ticket.locale, "reporter.signed", code=ticket.code, station=station)),
        chat_id=ticket.reporter_chat_id,
        ticket_id=ticket.id,
    )
    due = local_time(ticket.first_action_due_at) if ticket.first_action_due_at else "—"
    return Outcome(
        [Reply(t(loc, "sign.ok", code=ticket.code, due=due))],
        notice=t(loc, "event.signed"),
        changed=True,
        locale=loc,
        outbox_written=True,
    )


async def _show_signed(
    session: AsyncSession, directory: Directory, ticket: Ticket, name: str, now: datetime
) -> None:
    """Edit every referral message of this ticket once: who signed, and no more 签收 button."""
    assert ticket.id is not None
    rows = (
        await session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.ticket_id) == ticket.id,
                col(OutboxMessage.kind) == "referral",
                col(OutboxMessage.target_kind) == "chat",
            )
        )
    ).all()
    for row in rows:
        loc = row.payload.get("locale", "zh")
        payload = payload_of(
            referral_text(directory, ticket, loc, signed=(name, now)),
            [[Button(t(loc, "btn.details"), f"w:det:{ticket.id}")]],
        )
        payload["locale"] = loc
        if row.status == "pending":  # not sent yet: send the signed version instead
            row.payload = payload
            session.add(row)
        elif row.status in ("sending", "sent"):
            payload["edit_of"] = row.id
            await enqueue(
                session,
                dedup_key=f"signed-edit:{row.id}",
                kind="referral_edit",
                now=now,
                payload=payload,
                chat_id=row.target,
                ticket_id=ticket.id,
            )
