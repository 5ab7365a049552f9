"""Staff in the bot: joining, leaving, their tickets, and acting on a ticket.

Every action checks the person's role and scope here, whatever keyboard the button came
from: a forwarded message or a typed code gets the same checks as the station's own message,
and a refusal is recorded on the ticket.

Buttons carry ``flows.callbacks.StaffData`` (an action, a ticket, an argument). Actions
that need words (a note, a reason) leave a ``flows.awaiting`` record on the person's
private conversation; their next text message completes the action.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Final

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import lifecycle, sla, supervision
from flows.awaiting import ExtensionReason, Note, Resolution, ReturnReason, StaffText
from flows.callbacks import StaffAction, is_staff, parse_staff, staff_button
from flows.escalation import scope_filter
from flows.events import Command, Event, Person, Press
from flows.messages import Button, Outcome, Reply, number_in
from flows.notices import details_button, referral_text, ticket_fields
from flows.outbox import payload_of
from flows.places import Directory
from flows.staff import (
    EnrolmentError,
    active_member,
    bind_group,
    bound_station,
    join,
    leave,
    may_view,
    refusal,
    supervises,
    works_at,
)
from flows.states import OPEN, QUEUED, RETURNABLE, WORKABLE, State
from flows.texts import CATALOGUES, phrase, t
from flows.tickets import local_time, owner_name
from storage.models import TEXT_MAX, OutboxMessage, StaffMember, Ticket, TicketContact, TicketEvent
from storage.outbox import enqueue

STAFF_COMMANDS: Final = frozenset(
    {"join", "leave", "mytickets", "ticket", "overdue", "open", "stats", "reassign"}
)
SUPERVISOR_COMMANDS: Final = frozenset({"overdue", "open", "stats", "reassign"})
TOWNSHIPS_PER_PAGE: Final = 12
# Who may press what: the signing station, or the ticket's supervisors; the rest (details)
# anyone who may see the ticket.
STATION_ACTIONS: Final = frozenset(
    {
        StaffAction.SIGN,
        StaffAction.NOTE,
        StaffAction.FIRST,
        StaffAction.FIRST_HOW,
        StaffAction.EXTEND,
        StaffAction.EXTEND_DAYS,
        StaffAction.RESOLVE,
        StaffAction.OUTCOME,
        StaffAction.RETURN,
        StaffAction.RETURN_REASON,
    }
)
SUPERVISOR_ACTIONS: Final = frozenset(
    {
        StaffAction.APPROVE,
        StaffAction.DENY,
        StaffAction.REDISPATCH,
        StaffAction.REDISPATCH_TO,
        StaffAction.REJECT_RETURN,
    }
)
# Actions whose next step is typing: not in a group, where the bot does not read text.
NEEDS_TEXT: Final = frozenset(
    {
        StaffAction.NOTE,
        StaffAction.EXTEND_DAYS,
        StaffAction.OUTCOME,
        StaffAction.RETURN_REASON,
    }
)
# Event kinds whose note is shown in the history.
NOTED_KINDS: Final = frozenset(
    {"note", "returned", "resolved", "extension_requested", "feedback_comment", "first_action"}
)


def is_staff_event(event: Event) -> bool:
    if isinstance(event, Command):
        return event.name in STAFF_COMMANDS
    return isinstance(event, Press) and is_staff(event.data)


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
        if event.name not in STAFF_COMMANDS:
            return Outcome(locale=loc)  # in a group the bot answers staff commands only
        if event.name == "join":
            return await _join(session, directory, person, event.arg, now)
        if member is None:
            # In a group anyone may type a command; answering each would let one person make
            # the bot flood a station's group. The bot answers enrolled staff only there.
            if person.in_group:
                return Outcome(locale=loc)
            return Outcome([Reply(t(loc, "staff.only"))], locale=loc)
        if event.name == "leave":
            await leave(session=session, member=member, now=now)
            scope = _scope_name(directory, member.scope_code)
            return Outcome([Reply(t(loc, "leave.ok", scope=scope))], changed=True, locale=loc)
        if event.name == "mytickets":
            # A station's list may be shown in its group; a supervisor's area has no group.
            station = member.scope_code if member.role == "station" else None
            if not await shown_here(session, person, station):
                return _not_here(station, loc)
            return Outcome([await _my_tickets(session, member)], locale=loc)
        if event.name in SUPERVISOR_COMMANDS:
            return await _supervisor_command(session, directory, member, person, event, now)
        return await _ticket_by_code(session, directory, member, person, event.arg, now)
    assert isinstance(event, Press)
    press = parse_staff(event.data)
    ticket = await lifecycle.locked_ticket(session, press.ticket_id) if press else None
    if press is None or ticket is None:
        return Outcome(notice=t(loc, "refused"), locale=loc)
    action, arg = press.action, press.argument
    who = f"staff:{member.id}" if member else f"{person.channel}:{person.user_id}"
    allowed = member is not None and (
        works_at(member, ticket)
        if action in STATION_ACTIONS
        else supervises(member, ticket)
        if action in SUPERVISOR_ACTIONS
        else may_view(member, ticket)
    )
    if member is None or not allowed:
        await refusal(session, ticket=ticket, who=who, action=event.data, now=now)
        return Outcome(notice=t(loc, "refused"), changed=True, locale=loc)
    if person.in_group and action in NEEDS_TEXT:
        return Outcome(notice=t(loc, "work.private_only"), locale=loc)
    # A ticket's buttons work in a private chat or in its station's group; a supervisor's
    # in a private chat only (no group is bound to a county or city).
    station = None if action in SUPERVISOR_ACTIONS else ticket.station_code
    if not await shown_here(session, person, station):
        key = "place.private" if station is None else "place.elsewhere"
        return Outcome(notice=t(loc, key), locale=loc)
    try:
        out = await _act(session, directory, member, person, ticket, action, arg, now)
    except lifecycle.NotNow:
        state = t(loc, f"state.{ticket.state}")
        return Outcome(notice=t(loc, "work.not_now", state=state), locale=loc)
    out.locale = loc
    return out


async def _act(
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    person: Person,
    ticket: Ticket,
    action: StaffAction,
    arg: str,
    now: datetime,
) -> Outcome:
    loc = member.locale
    code = ticket.code
    tid = ticket.id
    assert tid is not None
    if action == StaffAction.SIGN:
        return await sign(
            session=session, directory=directory, member=member, ticket=ticket, now=now
        )
    if action == StaffAction.DETAILS:
        reply = await details(
            session=session,
            directory=directory,
            member=member,
            ticket=ticket,
            now=now,
            private=not person.in_group,
        )
        return Outcome([reply], changed=True)
    if action == StaffAction.NOTE:
        if ticket.state not in WORKABLE:
            raise lifecycle.NotNow
        return Outcome(
            [Reply(t(loc, "work.ask_note", code=code, max=TEXT_MAX))],
            awaiting=Note(tid),
        )
    if action == StaffAction.FIRST:
        if ticket.state != State.ACKNOWLEDGED:
            raise lifecycle.NotNow
        how = ("call", "visit")
        buttons = [[staff_button(t(loc, f"btn.{h}"), StaffAction.FIRST_HOW, tid, h) for h in how]]
        return Outcome([Reply(t(loc, "work.ask_first"), buttons)])
    if action == StaffAction.FIRST_HOW and arg in ("call", "visit"):
        await lifecycle.first_action(
            session=session, ticket=ticket, member=member, how=arg, now=now
        )
        due = local_time(ticket.resolve_due_at) if ticket.resolve_due_at else "—"
        return _done(t(loc, "work.first_saved", due=due), ticket, member)
    if action == StaffAction.EXTEND:
        if ticket.pending_extension_days is not None:
            return Outcome([Reply(t(loc, "work.ext_pending"))])
        if ticket.state not in WORKABLE:
            raise lifecycle.NotNow
        buttons = [
            [
                staff_button(t(loc, "dur.days", n=d), StaffAction.EXTEND_DAYS, tid, str(d))
                for d in lifecycle.EXTENSION_DAYS
            ]
        ]
        return Outcome([Reply(t(loc, "work.ask_ext_days"), buttons)])
    if action == StaffAction.EXTEND_DAYS and number_in(arg) in lifecycle.EXTENSION_DAYS:
        if ticket.state not in WORKABLE:
            raise lifecycle.NotNow
        return Outcome(
            [Reply(t(loc, "work.ask_ext_reason", days=arg, max=TEXT_MAX))],
            awaiting=ExtensionReason(tid, int(arg)),
        )
    if action == StaffAction.RESOLVE:
        if ticket.state not in WORKABLE:
            raise lifecycle.NotNow
        buttons = [
            [staff_button(t(loc, f"outcome.{o}"), StaffAction.OUTCOME, tid, o)]
            for o in lifecycle.OUTCOMES
        ]
        return Outcome([Reply(t(loc, "work.ask_outcome"), buttons)])
    if action == StaffAction.OUTCOME and arg in lifecycle.OUTCOMES:
        if ticket.state not in WORKABLE:
            raise lifecycle.NotNow
        return Outcome(
            [Reply(t(loc, "work.ask_resolution", max=TEXT_MAX))],
            awaiting=Resolution(tid, arg),
        )
    if action == StaffAction.RETURN:
        if ticket.state not in RETURNABLE:
            raise lifecycle.NotNow
        buttons = [
            [staff_button(t(loc, f"reason.{r}"), StaffAction.RETURN_REASON, tid, r)]
            for r in lifecycle.RETURN_REASONS
        ]
        return Outcome([Reply(t(loc, "work.ask_return"), buttons)])
    if action == StaffAction.RETURN_REASON and arg in lifecycle.RETURN_REASONS:
        if arg == "other":
            if ticket.state not in RETURNABLE:
                raise lifecycle.NotNow
            return Outcome(
                [Reply(t(loc, "work.ask_return_text", max=TEXT_MAX))],
                awaiting=ReturnReason(tid),
            )
        await lifecycle.return_ticket(
            session=session,
            directory=directory,
            ticket=ticket,
            member=member,
            reason=phrase(f"reason.{arg}"),
            now=now,
        )
        return _done(t(loc, "work.returned"), None, member)
    if action in (StaffAction.APPROVE, StaffAction.DENY):
        if ticket.pending_extension_days is None:
            return Outcome([Reply(t(loc, "work.decided"))])
        days = await lifecycle.decide_extension(
            session=session,
            ticket=ticket,
            supervisor=member,
            approve=action == StaffAction.APPROVE,
            now=now,
        )
        if action == StaffAction.DENY:
            return _done(t(loc, "work.ext_denied"), None, member)
        due = local_time(ticket.resolve_due_at) if ticket.resolve_due_at else "—"
        return _done(t(loc, "work.ext_approved", days=days, due=due), None, member)
    if action == StaffAction.REDISPATCH:
        if ticket.state not in OPEN:
            raise lifecycle.NotNow
        reply = _township_picker(directory, member, ticket, number_in(arg) or 0)
        return Outcome([reply])
    if action == StaffAction.REDISPATCH_TO:
        name = await lifecycle.redispatch(
            session=session,
            directory=directory,
            ticket=ticket,
            supervisor=member,
            township=arg,
            now=now,
        )
        return _done(t(loc, "work.redispatched", station=name), None, member)
    if action == StaffAction.REJECT_RETURN:
        await lifecycle.reject_return(session=session, ticket=ticket, supervisor=member, now=now)
        station = await owner_name(session, directory, ticket, loc)
        return _done(t(loc, "work.return_rejected", station=station), None, member)
    raise lifecycle.NotNow


def _done(text: str, ticket: Ticket | None, member: StaffMember) -> Outcome:
    buttons = station_buttons(member, ticket) if ticket is not None else []
    return Outcome([Reply(text, buttons)], changed=True, outbox_written=True)


async def on_text(
    *,
    session: AsyncSession,
    directory: Directory,
    person: Person,
    awaiting: StaffText,
    text: str,
    now: datetime,
) -> Outcome:
    """The words an earlier button asked for: a note, a reason, a resolution."""
    member = await active_member(session, channel=person.channel, user_id=person.user_id)
    loc = member.locale if member else person.locale
    ticket = await lifecycle.locked_ticket(session, awaiting.ticket_id)
    if member is None or ticket is None or not works_at(member, ticket):
        if ticket is not None:
            who = f"staff:{member.id}" if member else f"{person.channel}:{person.user_id}"
            await refusal(session, ticket=ticket, who=who, action=f"text:{awaiting.KIND}", now=now)
        return Outcome([Reply(t(loc, "refused"))], changed=True, locale=loc)
    text = text.strip()
    if len(text) > TEXT_MAX:
        return Outcome(
            [Reply(t(loc, "work.too_long", length=len(text), max=TEXT_MAX))],
            awaiting=awaiting,
            locale=loc,
        )
    if len(text) < 2:
        return Outcome([Reply(t(loc, "work.too_short"))], awaiting=awaiting, locale=loc)
    try:
        if isinstance(awaiting, Note):
            await lifecycle.add_note(
                session=session, ticket=ticket, member=member, text=text, now=now
            )
            out = _done(t(loc, "work.note_saved"), ticket, member)
        elif isinstance(awaiting, ExtensionReason):
            await lifecycle.request_extension(
                session=session,
                directory=directory,
                ticket=ticket,
                member=member,
                days=awaiting.days,
                reason=text,
                now=now,
            )
            out = _done(t(loc, "work.ext_sent"), ticket, member)
        elif isinstance(awaiting, Resolution):
            await lifecycle.resolve(
                session=session,
                directory=directory,
                ticket=ticket,
                member=member,
                outcome=awaiting.outcome,
                note=text,
                now=now,
            )
            out = _done(t(loc, "work.resolved", code=ticket.code), None, member)
        else:  # ReturnReason
            await lifecycle.return_ticket(
                session=session,
                directory=directory,
                ticket=ticket,
                member=member,
                reason=text,
                now=now,
            )
            out = _done(t(loc, "work.returned"), None, member)
    except lifecycle.NotNow:
        state = t(loc, f"state.{ticket.state}")
        return Outcome([Reply(t(loc, "work.not_now", state=state))], changed=True, locale=loc)
    out.locale = loc
    return out


def station_buttons(member: StaffMember, ticket: Ticket) -> list[list[Button]]:
    """What the signing station can do next, given the ticket's state."""
    loc, tid = member.locale, ticket.id
    assert tid is not None
    if member.role != "station":
        return []
    rows: list[list[Button]] = []
    if ticket.state == State.DISPATCHED:
        rows.append(
            [
                staff_button(t(loc, "btn.sign"), StaffAction.SIGN, tid),
                staff_button(t(loc, "btn.return"), StaffAction.RETURN, tid),
            ]
        )
    if ticket.state == State.ACKNOWLEDGED:
        rows.append([staff_button(t(loc, "btn.first"), StaffAction.FIRST, tid)])
    if ticket.state in WORKABLE:
        rows.append(
            [
                staff_button(t(loc, "btn.note"), StaffAction.NOTE, tid),
                staff_button(t(loc, "btn.extend"), StaffAction.EXTEND, tid),
            ]
        )
        rows.append([staff_button(t(loc, "btn.resolve"), StaffAction.RESOLVE, tid)])
    if ticket.state == State.ACKNOWLEDGED:
        rows[-1].append(staff_button(t(loc, "btn.return"), StaffAction.RETURN, tid))
    return rows


def supervisor_buttons(member: StaffMember, ticket: Ticket) -> list[list[Button]]:
    loc, tid = member.locale, ticket.id
    assert tid is not None
    rows: list[list[Button]] = []
    if ticket.state in QUEUED:
        rows.append([staff_button(t(loc, "btn.redispatch"), StaffAction.REDISPATCH, tid, "0")])
    if ticket.state == State.RETURNED:
        rows.append([staff_button(t(loc, "btn.reject_return"), StaffAction.REJECT_RETURN, tid)])
    if ticket.pending_extension_days is not None:
        rows.append(
            [
                staff_button(t(loc, "btn.approve"), StaffAction.APPROVE, tid),
                staff_button(t(loc, "btn.deny"), StaffAction.DENY, tid),
            ]
        )
    return rows


def _township_picker(directory: Directory, member: StaffMember, ticket: Ticket, page: int) -> Reply:
    loc, tid = member.locale, ticket.id
    assert tid is not None
    area = (
        member.scope_code
        if member.scope_level == "county"
        else (ticket.county_code or ticket.city_code)
    )
    towns = [p for p in directory.children(area) if p.level == "township"]
    pages = max(1, -(-len(towns) // TOWNSHIPS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = towns[page * TOWNSHIPS_PER_PAGE : (page + 1) * TOWNSHIPS_PER_PAGE]
    buttons = [staff_button(p.name, StaffAction.REDISPATCH_TO, tid, p.code) for p in shown]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    nav = []
    if page > 0:
        nav.append(staff_button(t(loc, "btn.prev"), StaffAction.REDISPATCH, tid, str(page - 1)))
    if page + 1 < pages:
        nav.append(staff_button(t(loc, "btn.next"), StaffAction.REDISPATCH, tid, str(page + 1)))
    if nav:
        rows.append(nav)
    text = t(loc, "work.pick_township", code=ticket.code, page=page + 1, pages=pages)
    return Reply(text, rows, edit=page > 0)


async def _supervisor_command(
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    person: Person,
    command: Command,
    now: datetime,
) -> Outcome:
    loc = member.locale
    if member.role != "supervisor":
        return Outcome([Reply(t(loc, "supervisor.only"))], locale=loc)
    if not await shown_here(session, person, None):
        return _not_here(None, loc)
    if command.name == "overdue":
        reply = await supervision.overdue(session=session, directory=directory, member=member)
    elif command.name == "open":
        reply = await supervision.open_tickets(session=session, directory=directory, member=member)
    elif command.name == "stats":
        period = command.arg.strip().lower() or "today"
        reply = await supervision.stats(
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
        reply = _township_picker(directory, member, ticket, 0)
    return Outcome([reply], locale=loc)


async def shown_here(session: AsyncSession, person: Person, station_code: str | None) -> bool:
    """Case data (a story, notes, ticket lists) is shown in a private chat with the bot, or
    in the group bound to the station it belongs to (``station_code``; None: no group)."""
    if not person.in_group:
        return True
    if station_code is None:
        return False
    return await bound_station(session, chat_id=person.chat_id) == station_code


def _not_here(station_code: str | None, loc: str) -> Outcome:
    """Shown nothing here: where to ask instead."""
    key = "place.private" if station_code is None else "place.elsewhere"
    return Outcome([Reply(t(loc, key))], locale=loc)


def _scope_name(directory: Directory, code: str) -> str:
    return directory.full_name(code) if directory.get(code) else code


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


async def _my_tickets(session: AsyncSession, member: StaffMember) -> Reply:
    loc = member.locale
    rows = (
        await session.exec(
            select(Ticket)
            .where(scope_filter(member), col(Ticket.state).in_(OPEN))
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
        await refusal(
            session, ticket=ticket, who=f"staff:{member.id}", action=f"/ticket {code}", now=now
        )
        return Outcome([Reply(t(loc, "ticket.none", code=code))], changed=True, locale=loc)
    if not await shown_here(session, person, ticket.station_code):
        return _not_here(ticket.station_code, loc)
    reply = await details(
        session=session,
        directory=directory,
        member=member,
        ticket=ticket,
        now=now,
        private=not person.in_group,
    )
    return Outcome([reply], changed=True, locale=loc)


async def details(
    *,
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    ticket: Ticket,
    now: datetime,
    private: bool,
) -> Reply:
    """The full ticket and its history, with what this person can do next. The reporter's
    phone only for the signing station and supervisors, in a private chat, and each such
    view is recorded."""
    loc = member.locale
    assert ticket.id is not None
    fields = ticket_fields(directory, ticket, loc)
    fields["state"] = t(loc, f"state.{ticket.state}")
    fields["owner"] = html.escape(await owner_name(session, directory, ticket, loc), quote=False)
    lines = [CATALOGUES[loc]["ticket.detail"].format(**fields)]
    contact = await session.get(TicketContact, ticket.id)
    if ticket.erased_at is not None:
        lines.append(t(loc, "erased.contact"))
        lines.append(t(loc, "ticket.erased", at=local_time(ticket.erased_at)))
    elif contact is None:
        lines.append(t(loc, "ticket.anonymous"))
    elif not (
        supervises(member, ticket) or (works_at(member, ticket) and ticket.signed_at is not None)
    ):
        lines.append(t(loc, "ticket.contact_hidden"))
    elif not private:
        lines.append(t(loc, "ticket.contact_private"))
    else:
        consent = t(loc, "consent.yes" if contact.callback_consent else "consent.no")
        lines.append(t(loc, "ticket.contact", phone=contact.phone, consent=consent))
        session.add(
            TicketEvent(
                ticket_id=ticket.id, at=now, actor=f"staff:{member.id}", kind="contact_viewed"
            )
        )
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
        note = f"：{e.note}" if e.note and e.kind in NOTED_KINDS else ""
        if e.note is None and e.kind in NOTED_KINDS and ticket.erased_at is not None:
            note = "：" + t(loc, "erased.text")  # these kinds always had words: erased
        lines.append(t(loc, "ticket.event", at=local_time(e.at), kind=label, note=note))
    buttons = (
        station_buttons(member, ticket)
        if works_at(member, ticket)
        else supervisor_buttons(member, ticket)
    )
    return Reply("\n".join(lines), buttons if private else [])


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
        await refusal(session, ticket=ticket, who=f"staff:{member.id}", action="sign", now=now)
        return Outcome(notice=t(loc, "refused"), changed=True, locale=loc)
    # A conditional update decides the race: on PostgreSQL the loser's UPDATE waits for the
    # winner's commit and then matches no row; SQLite has one writer at a time.
    won = await session.exec(
        update(Ticket)
        .where(col(Ticket.id) == ticket.id, col(Ticket.state) == State.DISPATCHED)
        .values(
            state=State.ACKNOWLEDGED,
            assignee_id=member.id,
            signed_at=now,
            next_due_at=sla.first_action_deadline(ticket, now),
            overdue_level=0,
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
            from_state=State.DISPATCHED,
            to_state=State.ACKNOWLEDGED,
        )
    )
    await _show_signed(session, directory, ticket, member.display_name, now)
    station = await owner_name(session, directory, ticket, ticket.locale)
    await enqueue(
        session,
        dedup_key=f"reporter:signed:{ticket.id}:{now.isoformat()}",
        kind="reporter_update",
        now=now,
        payload=payload_of(t(ticket.locale, "reporter.signed", code=ticket.code, station=station)),
        chat_id=ticket.reporter_chat_id,
        ticket_id=ticket.id,
    )
    due = local_time(ticket.next_due_at) if ticket.next_due_at else "—"
    # The next steps go to the signer's private chat, wherever they pressed 签收.
    await enqueue(
        session,
        dedup_key=f"signed-menu:{ticket.id}:{now.isoformat()}",
        kind="staff_menu",
        now=now,
        payload=payload_of(
            t(loc, "sign.ok", code=ticket.code, due=due), station_buttons(member, ticket)
        ),
        chat_id=member.chat_id,
        ticket_id=ticket.id,
    )
    return Outcome(notice=t(loc, "event.signed"), changed=True, locale=loc, outbox_written=True)


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
        # A referral delivered over a week ago has had its text erased (flows.retention).
        loc = row.payload.get("locale") or await _chat_locale(session, row.target)
        payload = payload_of(
            referral_text(directory, ticket, loc, signed=(name, now)),
            [[details_button(ticket, loc)]],
        )
        payload["locale"] = loc
        if row.status == "pending":  # not sent yet: send the signed version instead
            row.payload = payload
            session.add(row)
        elif row.status in ("sending", "sent"):
            payload["edit_of"] = row.id
            await enqueue(
                session,
                dedup_key=f"signed-edit:{row.id}:{now.isoformat()}",
                kind="referral_edit",
                now=now,
                payload=payload,
                chat_id=row.target,
                ticket_id=ticket.id,
            )


async def _chat_locale(session: AsyncSession, chat_id: str) -> str:
    """The language a staff member's chat reads (a group reads Chinese)."""
    found = (
        await session.exec(
            select(StaffMember.locale).where(
                col(StaffMember.chat_id) == chat_id, col(StaffMember.active).is_(True)
            )
        )
    ).first()
    return found or "zh"
