"""One ticket in full for a staff member outside the bot (the REST API; the dashboard): the
facts the bot's details show (``flows.staff_views.details``), its history, the reporter's
contact under the same rule, and what the member may do next.

Every view is an event on the ticket (``viewed``, noting the door it came through), and each
view of the reporter's phone another (``contact_viewed``), as in the bot. A ticket the member
may not view is answered as an unknown one (None), and the attempt recorded (``refused``).
The history says what kind of actor did each thing — staff, the reporter, the system — never
which staff member (the bot's history names nobody either), only whether it was the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import attachments
from flows.duplicates import link_of, merged_reports
from flows.places import Directory
from flows.red_flags import Flag, from_json
from flows.staff_views import NOTED_KINDS
from flows.ticket_actions import TicketState, ticket_state
from flows.ticket_rights import may_see_contact, viewable_ticket
from storage.models import StaffMember, Ticket, TicketContact, TicketEvent

# Who wrote an event, by kind: the stored actor ("staff:12", "citizen", …) says more.
ACTOR_KINDS: Final = {
    "citizen": "reporter",
    "reporter": "reporter",
    "system": "system",
    "operator": "administrator",  # the command line (hutong erase, …)
}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    actor: str  # staff | reporter | system | administrator | other
    by_you: bool
    kind: str
    from_state: str | None
    to_state: str | None
    note: str | None  # only for the kinds whose words the bot shows too


@dataclass(frozen=True, slots=True)
class ContactView:
    """``shown`` (with the phone), ``hidden`` (not for this member, or not yet),
    ``anonymous`` (none was given) or ``erased`` (after the retention period)."""

    status: str
    phone: str | None = None
    callback_consent: bool | None = None


@dataclass(frozen=True, slots=True)
class MergedReport:
    """A report merged into the ticket (flows.merging): its facts, and its reporter's
    contact under the rule of the ticket that carries the case."""

    code: str
    created_at: datetime
    reporter_role: str
    child_age: str
    child_sex: str
    concerns: tuple[str, ...]
    story: str | None  # None once erased
    files: int  # what its reporter attached
    contact: ContactView


@dataclass(frozen=True, slots=True)
class TicketDetail:
    state: TicketState
    in_danger: str
    reporter_role: str
    mandatory_reporter: bool
    place_code: str | None
    place: str | None  # the place's full name
    place_text: str | None  # the words the reporter used
    child_age: str
    child_sex: str
    concerns: tuple[str, ...]
    story: str | None  # None once erased
    red_flags: tuple[Flag, ...]  # the words that raised the alarm (none once erased)
    first_action_at: datetime | None
    outcome: str | None
    resolution_note: str | None
    erased_at: datetime | None
    contact: ContactView
    history: tuple[HistoryEntry, ...]
    duplicate_of: str | None  # the older ticket it may be a duplicate of (可能重复)
    merged_into: str | None  # the ticket it was merged into (state merged)
    merged_reports: tuple[MergedReport, ...]


def actor_kind(actor: str) -> str:
    if actor.startswith("staff:"):
        return "staff"
    return ACTOR_KINDS.get(actor, "other")


async def _contact(
    session: AsyncSession,
    member: StaffMember,
    ticket: Ticket,
    now: datetime,
    case: Ticket | None = None,
) -> ContactView:
    """The reporter's contact of ``ticket``, shown by the rule of ``case`` (the ticket a
    merged report belongs to; itself by default)."""
    assert ticket.id is not None
    if ticket.erased_at is not None:
        return ContactView("erased")
    contact = await session.get(TicketContact, ticket.id)
    if contact is None:
        return ContactView("anonymous")
    if not may_see_contact(member, case or ticket):
        return ContactView("hidden")
    session.add(
        TicketEvent(ticket_id=ticket.id, at=now, actor=f"staff:{member.id}", kind="contact_viewed")
    )
    return ContactView("shown", contact.phone, contact.callback_consent)


async def view_ticket(
    *,
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    code: str,
    now: datetime,
    via: str = "api",
    locale: str = "zh",
) -> TicketDetail | None:
    """The ticket ``code`` as ``member`` may see it, the view recorded (in the caller's
    transaction: commit it, also when None is returned, to keep the refusal)."""
    ticket = await viewable_ticket(
        session, member=member, code=code, attempt=f"{via}:view", now=now, lock=False
    )
    if ticket is None or ticket.id is None:
        return None
    me = f"staff:{member.id}"
    session.add(TicketEvent(ticket_id=ticket.id, at=now, actor=me, kind="viewed", note=via))
    contact = await _contact(session, member, ticket, now)
    events = (
        await session.exec(
            select(TicketEvent)
            .where(col(TicketEvent.ticket_id) == ticket.id)
            .order_by(col(TicketEvent.at), col(TicketEvent.id))
        )
    ).all()
    history = tuple(
        HistoryEntry(
            at=e.at,
            actor=actor_kind(e.actor),
            by_you=e.actor == me,
            kind=e.kind,
            from_state=e.from_state,
            to_state=e.to_state,
            note=e.note if e.kind in NOTED_KINDS else None,
        )
        for e in events
    )
    place = directory.get(ticket.place_code) if ticket.place_code else None
    erased = ticket.erased_at is not None
    link = await link_of(session, ticket)
    merged = [
        MergedReport(
            code=r.code,
            created_at=r.created_at,
            reporter_role=r.reporter_role,
            child_age=r.child_age,
            child_sex=r.child_sex,
            concerns=tuple(r.concerns),
            story=None if r.erased_at is not None else r.story,
            files=await attachments.count(session, r.id or 0),
            contact=await _contact(session, member, r, now, case=ticket),
        )
        for r in await merged_reports(session, ticket)
    ]
    return TicketDetail(
        state=await ticket_state(session, directory, member, ticket, locale),
        in_danger=ticket.in_danger,
        reporter_role=ticket.reporter_role,
        mandatory_reporter=ticket.mandatory_reporter,
        place_code=ticket.place_code,
        place=directory.full_name(place.code) if place else None,
        place_text=None if erased else ticket.place_text,
        child_age=ticket.child_age,
        child_sex=ticket.child_sex,
        concerns=tuple(ticket.concerns),
        story=None if erased else ticket.story,
        red_flags=from_json(ticket.red_flags),
        first_action_at=ticket.first_action_at,
        outcome=ticket.outcome,
        resolution_note=None if erased else ticket.resolution_note,
        erased_at=ticket.erased_at,
        contact=contact,
        history=history,
        duplicate_of=link.code if link is not None and not link.merged else None,
        merged_into=link.code if link is not None and link.merged else None,
        merged_reports=tuple(merged),
    )
