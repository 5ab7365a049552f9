"""What staff see of tickets: the buttons each person may press, the ticket's details and
history, their open tickets, the township picker, and where case data may be shown.

Views only: who may *do* what is checked again in flows.work whatever keyboard a button came
from; changes are made in flows.lifecycle and flows.oversight.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Final

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import attachments
from flows.alarms import with_flags
from flows.callbacks import StaffAction, staff_button
from flows.duplicates import link_of, merged_reports
from flows.events import Person
from flows.messages import Button, Outcome, Reply
from flows.notices import link_text, merge_button, ticket_fields
from flows.pager import grid, nav_row, page_of
from flows.places import Directory
from flows.staff import bound_station, scope_filter, supervises, works_at
from flows.states import EXTENSION_DAYS, OPEN, OUTCOMES, QUEUED, RETURN_REASONS, WORKABLE, State
from flows.texts import CATALOGUES, days, t
from flows.ticket_rights import may_see_contact
from flows.tickets import local_time, owner_name
from storage.models import StaffMember, Ticket, TicketContact, TicketEvent

# Event kinds whose note is shown in the history.
NOTED_KINDS: Final = frozenset(
    {
        "note",
        "returned",
        "resolved",
        "extension_requested",
        "feedback_comment",
        "first_action",
        "reporter_added",
        # the other ticket's code
        "duplicate_suspected",
        "merged",
        "merged_in",
        "unmerged",
        "unmerged_out",
    }
)


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


def township_picker(directory: Directory, member: StaffMember, ticket: Ticket, page: int) -> Reply:
    """The townships a supervisor may send the ticket to: their county, or the ticket's."""
    loc, tid = member.locale, ticket.id
    assert tid is not None
    area = (
        member.scope_code
        if member.scope_level == "county"
        else (ticket.county_code or ticket.city_code)
    )
    towns = [p for p in directory.children(area) if p.level == "township"]
    shown = page_of(towns, page)
    rows = grid(
        [staff_button(p.name, StaffAction.REDISPATCH_TO, tid, p.code) for p in shown.items], 3
    )

    def turn(label: str, number: int) -> Button:
        return staff_button(label, StaffAction.REDISPATCH, tid, str(number))

    nav = nav_row(shown, turn, prev=t(loc, "btn.prev"), next=t(loc, "btn.next"))
    if nav:
        rows.append(nav)
    text = t(loc, "work.pick_township", code=ticket.code, page=shown.number + 1, pages=shown.count)
    return Reply(text, rows, edit=shown.number > 0)


def choices(member: StaffMember, ticket: Ticket, action: StaffAction) -> Reply:
    """The buttons that complete a two-step action: how the first action was made, the days
    of an extension, the outcome of a resolution, the reason of a return."""
    loc, tid = member.locale, ticket.id
    assert tid is not None
    if action == StaffAction.FIRST:
        how = ("call", "visit")
        row = [staff_button(t(loc, f"btn.{h}"), StaffAction.FIRST_HOW, tid, h) for h in how]
        return Reply(t(loc, "work.ask_first"), [row])
    if action == StaffAction.EXTEND:
        choices = [
            staff_button(days(loc, d), StaffAction.EXTEND_DAYS, tid, str(d)) for d in EXTENSION_DAYS
        ]
        return Reply(t(loc, "work.ask_ext_days"), [choices])
    if action == StaffAction.RESOLVE:
        outcomes = [
            [staff_button(t(loc, f"outcome.{o}"), StaffAction.OUTCOME, tid, o)] for o in OUTCOMES
        ]
        return Reply(t(loc, "work.ask_outcome"), outcomes)
    assert action == StaffAction.RETURN
    reasons = [
        [staff_button(t(loc, f"reason.{r}"), StaffAction.RETURN_REASON, tid, r)]
        for r in RETURN_REASONS
    ]
    return Reply(t(loc, "work.ask_return"), reasons)


async def shown_here(session: AsyncSession, person: Person, station_code: str | None) -> bool:
    """Case data (a story, notes, ticket lists) is shown in a private chat with the bot, or
    in the group bound to the station it belongs to (``station_code``; None: no group)."""
    if not person.in_group:
        return True
    if station_code is None:
        return False
    return await bound_station(session, chat_id=person.chat_id) == station_code


def not_here(station_code: str | None, loc: str) -> Outcome:
    """Shown nothing here: where to ask instead."""
    key = "place.private" if station_code is None else "place.elsewhere"
    return Outcome([Reply(t(loc, key))], locale=loc)


async def refused_to_supervise(
    session: AsyncSession, member: StaffMember, person: Person
) -> Outcome | None:
    """A supervisor's command refused: to anyone else, and anywhere but a private chat (no
    group is bound to a county or city). None: it may go ahead."""
    loc = member.locale
    if member.role != "supervisor":
        return Outcome([Reply(t(loc, "supervisor.only"))], locale=loc)
    if not await shown_here(session, person, None):
        return not_here(None, loc)
    return None


async def my_tickets(session: AsyncSession, member: StaffMember) -> Reply:
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
    lines = [with_flags(CATALOGUES[loc]["ticket.detail"].format(**fields), ticket, loc)]
    link = await link_of(session, ticket)
    if link is not None:  # 可能重复, or 已合并到
        lines.append(link_text(link, loc))
    lines += await _contact_lines(session, member, ticket, ticket, now=now, private=private)
    merged = await merged_reports(session, ticket)
    if merged:  # the facts of every report merged into this one, and their reporters
        lines += ["", t(loc, "ticket.merged_reports")]
        for report in merged:
            lines.append(await _merged_report(session, directory, loc, report))
            lines += await _contact_lines(session, member, report, ticket, now=now, private=private)
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
    merge = merge_button(ticket, link, loc)  # the station's call, or a supervisor's
    if merge:
        buttons.append(merge)
    if supervises(member, ticket):  # un-merging is a supervisor's
        for report in [ticket] if ticket.state == State.MERGED else merged:
            assert report.id is not None
            label = t(loc, "btn.unmerge", code=report.code)
            buttons.append([staff_button(label, StaffAction.UNMERGE, report.id)])
    if not private:
        return Reply("\n".join(lines))
    files = await attachments.button(session, member, ticket)
    for report in merged:  # what the merged reports' reporters attached
        n = await attachments.count(session, report.id or 0)
        if n and report.erased_at is None:
            label = t(loc, "btn.files_of", code=report.code, n=n)
            buttons.append([staff_button(label, StaffAction.FILES, report.id or 0)])
    return Reply("\n".join(lines), [*buttons, files] if files else buttons)


async def _contact_lines(
    session: AsyncSession,
    member: StaffMember,
    report: Ticket,
    case: Ticket,
    *,
    now: datetime,
    private: bool,
) -> list[str]:
    """The reporter's contact of ``report`` (the ticket itself, or a report merged into it,
    whose reporter the station of the ``case`` may call like the case's own), each view
    recorded on ``report``."""
    loc = member.locale
    assert report.id is not None
    if report.erased_at is not None:
        return [t(loc, "erased.contact"), t(loc, "ticket.erased", at=local_time(report.erased_at))]
    contact = await session.get(TicketContact, report.id)
    if contact is None:
        return [t(loc, "ticket.anonymous")]
    if not may_see_contact(member, case):
        return [t(loc, "ticket.contact_hidden")]
    if not private:
        return [t(loc, "ticket.contact_private")]
    consent = t(loc, "consent.yes" if contact.callback_consent else "consent.no")
    session.add(
        TicketEvent(ticket_id=report.id, at=now, actor=f"staff:{member.id}", kind="contact_viewed")
    )
    return [t(loc, "ticket.contact", phone=contact.phone, consent=consent)]


async def _merged_report(
    session: AsyncSession, directory: Directory, loc: str, report: Ticket
) -> str:
    facts = ticket_fields(directory, report, loc)
    text = CATALOGUES[loc]["ticket.merged_report"].format(
        code=report.code,
        at=local_time(report.created_at),
        reporter=facts["reporter"],
        concerns=facts["concerns"],
        age=facts["age"],
        sex=facts["sex"],
        story=facts["story"],
        files=await attachments.count(session, report.id or 0),
    )
    return with_flags(text, report, loc)  # the words that raised the alarm, if any
