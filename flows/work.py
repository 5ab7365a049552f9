"""Staff in the bot: joining, leaving, their tickets, and acting on a ticket.

Every action checks the person's role and scope here, whatever keyboard the button came
from: a forwarded message or a typed code gets the same checks as the station's own message,
and a refusal is recorded on the ticket.

Buttons carry ``flows.callbacks.StaffData`` (an action, a ticket, an argument). Actions
that need words (a note, a reason) leave a ``flows.awaiting`` record on the person's
private conversation; their next text message completes the action.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import attachments, commands, lifecycle, merging, oversight, staff_views, supervision
from flows.awaiting import ExtensionReason, Note, Resolution, ReturnReason, StaffText
from flows.callbacks import StaffAction, is_staff, parse_staff
from flows.events import Command, Event, Person, Press
from flows.messages import Outcome, Reply, number_in
from flows.places import Directory
from flows.staff import (
    PROVINCE_CODE,
    PROVINCE_NAME,
    EnrolmentError,
    active_member,
    bind_group,
    join,
    leave,
    refusal,
)
from flows.states import EXTENSION_DAYS, OPEN, OUTCOMES, RETURN_REASONS, RETURNABLE, WORKABLE, State
from flows.texts import phrase, t
from flows.ticket_rights import SUPERVISOR_ACTIONS, Right, may, may_act
from flows.tickets import local_time, locked_ticket, owner_name
from storage.models import TEXT_MAX, StaffMember, Ticket

STAFF_COMMANDS: Final = frozenset(
    {"join", "leave", "mytickets", "ticket", "overdue", "open", "stats", "reassign", "unmerge"}
)
SUPERVISOR_COMMANDS: Final = frozenset({"overdue", "open", "stats", "reassign"})
# Who may press what (the signing station, the ticket's supervisors, anyone who may view
# it) is flows.ticket_rights': the same rule as the REST API's.
# Actions pressed in a private chat only: those whose next step is typing (the bot does not
# read text in a group), and the reporter's files (a child's photos never go to a group).
PRIVATE_ONLY: Final = frozenset(
    {
        StaffAction.FILES,
        StaffAction.NOTE,
        StaffAction.EXTEND_DAYS,
        StaffAction.OUTCOME,
        StaffAction.RETURN_REASON,
    }
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
            key = "leave.ok.operator" if member.role == "operator" else "leave.ok"
            # outbox_written: the command list's removal (flows.commands) wakes the sender.
            reply = Reply(t(loc, key, scope=scope))
            return Outcome([reply], changed=True, locale=loc, outbox_written=True)
        if event.name == "mytickets":
            if member.role == "operator":  # files and follows reports through the API
                return Outcome([Reply(t(loc, "operator.no_tickets"))], locale=loc)
            # A station's list may be shown in its group; a supervisor's area has no group.
            station = member.scope_code if member.role == "station" else None
            if not await staff_views.shown_here(session, person, station):
                return staff_views.not_here(station, loc)
            return Outcome([await staff_views.my_tickets(session, member)], locale=loc)
        if event.name == "unmerge":
            return await merging.unmerge_command(
                session=session,
                directory=directory,
                member=member,
                person=person,
                code=event.arg,
                now=now,
            )
        if event.name in SUPERVISOR_COMMANDS:
            return await supervision.command(session, directory, member, person, event, now)
        return await _ticket_by_code(session, directory, member, person, event.arg, now)
    assert isinstance(event, Press)
    press = parse_staff(event.data)
    ticket = None
    if press is not None:
        # 合并 and 撤销合并 touch two tickets: the older one is locked first.
        linked = press.action in merging.LINK_ACTIONS
        lock = merging.lock_linked if linked else locked_ticket
        ticket = await lock(session, press.ticket_id)
    if press is None or ticket is None:
        return Outcome(notice=t(loc, "refused"), locale=loc)
    action, arg = press.action, press.argument
    who = f"staff:{member.id}" if member else f"{person.channel}:{person.user_id}"
    if member is None or not may_act(member, ticket, action):
        await refusal(session, ticket=ticket, who=who, action=event.data, now=now)
        return Outcome(notice=t(loc, "refused"), changed=True, locale=loc)
    if person.in_group and action in PRIVATE_ONLY:
        return Outcome(notice=t(loc, "work.private_only"), locale=loc)
    # A ticket's buttons work in a private chat or in its station's group; a supervisor's
    # in a private chat only (no group is bound to a county or city).
    station = None if action in SUPERVISOR_ACTIONS else ticket.station_code
    if not await staff_views.shown_here(session, person, station):
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
        return await lifecycle.sign(
            session=session, directory=directory, member=member, ticket=ticket, now=now
        )
    if action in merging.LINK_ACTIONS:
        return await merging.on_press(
            session=session,
            directory=directory,
            member=member,
            ticket=ticket,
            action=action,
            arg=arg,
            now=now,
        )
    if action == StaffAction.DETAILS:
        reply = await staff_views.details(
            session=session,
            directory=directory,
            member=member,
            ticket=ticket,
            now=now,
            private=not person.in_group,
        )
        return Outcome([reply], changed=True)
    if action == StaffAction.FILES:
        return await attachments.show(session, member=member, ticket=ticket, now=now)
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
        return Outcome([staff_views.choices(member, ticket, action)])
    if action == StaffAction.FIRST_HOW and arg in ("call", "visit"):
        await lifecycle.first_action(
            session=session, directory=directory, ticket=ticket, member=member, how=arg, now=now
        )
        due = local_time(ticket.resolve_due_at) if ticket.resolve_due_at else "—"
        return _done(t(loc, "work.first_saved", due=due), ticket, member)
    if action == StaffAction.EXTEND:
        if ticket.pending_extension_days is not None:
            return Outcome([Reply(t(loc, "work.ext_pending"))])
        if ticket.state not in WORKABLE:
            raise lifecycle.NotNow
        return Outcome([staff_views.choices(member, ticket, action)])
    if action == StaffAction.EXTEND_DAYS and number_in(arg) in EXTENSION_DAYS:
        if ticket.state not in WORKABLE:
            raise lifecycle.NotNow
        return Outcome(
            [Reply(t(loc, "work.ask_ext_reason", days=arg, max=TEXT_MAX))],
            awaiting=ExtensionReason(tid, int(arg)),
        )
    if action == StaffAction.RESOLVE:
        if ticket.state not in WORKABLE:
            raise lifecycle.NotNow
        return Outcome([staff_views.choices(member, ticket, action)])
    if action == StaffAction.OUTCOME and arg in OUTCOMES:
        if ticket.state not in WORKABLE:
            raise lifecycle.NotNow
        return Outcome(
            [Reply(t(loc, "work.ask_resolution", max=TEXT_MAX))],
            awaiting=Resolution(tid, arg),
        )
    if action == StaffAction.RETURN:
        if ticket.state not in RETURNABLE:
            raise lifecycle.NotNow
        return Outcome([staff_views.choices(member, ticket, action)])
    if action == StaffAction.RETURN_REASON and arg in RETURN_REASONS:
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
        days = await oversight.decide_extension(
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
        reply = staff_views.township_picker(directory, member, ticket, number_in(arg) or 0)
        return Outcome([reply])
    if action == StaffAction.REDISPATCH_TO:
        name = await oversight.redispatch(
            session=session,
            directory=directory,
            ticket=ticket,
            supervisor=member,
            township=arg,
            now=now,
        )
        return _done(t(loc, "work.redispatched", station=name), None, member)
    if action == StaffAction.REJECT_RETURN:
        await oversight.reject_return(session=session, ticket=ticket, supervisor=member, now=now)
        station = await owner_name(session, directory, ticket, loc)
        return _done(t(loc, "work.return_rejected", station=station), None, member)
    raise lifecycle.NotNow


def _done(text: str, ticket: Ticket | None, member: StaffMember) -> Outcome:
    buttons = staff_views.station_buttons(member, ticket) if ticket is not None else []
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
    ticket = await locked_ticket(session, awaiting.ticket_id)
    # Every typed text completes one of the station's steps.
    if member is None or ticket is None or not may(member, ticket, Right.WORK):
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


def _scope_name(directory: Directory, code: str) -> str:
    if code == PROVINCE_CODE:
        return PROVINCE_NAME
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
                # The group's menu, in the language of whoever bound it.
                await commands.group_bound(session=session, group=group, locale=loc, now=now)
                scope = _scope_name(directory, group.station_code)
                reply = Reply(t(loc, "join.ok.group", scope=scope))
                return Outcome([reply], changed=True, outbox_written=True)  # its command list
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
    reply = Reply(t(loc, f"join.ok.{member.role}", scope=scope))
    return Outcome([reply], changed=True, locale=loc, outbox_written=True)  # its command list


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
    if not may(member, ticket, Right.VIEW):
        # The same answer as for an unknown code, so codes cannot be probed; but kept.
        await refusal(
            session, ticket=ticket, who=f"staff:{member.id}", action=f"/ticket {code}", now=now
        )
        return Outcome([Reply(t(loc, "ticket.none", code=code))], changed=True, locale=loc)
    if not await staff_views.shown_here(session, person, ticket.station_code):
        return staff_views.not_here(ticket.station_code, loc)
    reply = await staff_views.details(
        session=session,
        directory=directory,
        member=member,
        ticket=ticket,
        now=now,
        private=not person.in_group,
    )
    return Outcome([reply], changed=True, locale=loc)
