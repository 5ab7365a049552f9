"""Supervisors' decisions on a station's ticket: an extension asked for, a return (退单)
judged, a ticket sent to another township. Each writes its event and the messages it causes
in the caller's transaction; the caller (flows.work, flows.ticket_actions) has already
checked the supervisor's scope (flows.ticket_rights)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from flows import sla
from flows.lifecycle import NotNow, notice, state_event
from flows.places import Directory
from flows.states import OPEN, RESOLVING, State
from flows.tickets import local_time
from storage.models import StaffMember, Station, Ticket
from storage.outbox import enqueue


async def decide_extension(
    *,
    session: AsyncSession,
    ticket: Ticket,
    supervisor: StaffMember,
    approve: bool,
    now: datetime,
) -> int:
    """Approve or deny the waiting request; returns the days it asked for."""
    days = ticket.pending_extension_days
    if days is None:
        raise NotNow
    ticket.pending_extension_days = None
    if approve and ticket.resolve_due_at is not None:
        ticket.resolve_due_at += timedelta(days=days)
        ticket.resolve_overdue_at = None
        if ticket.state in RESOLVING:
            ticket.next_due_at = ticket.resolve_due_at
    session.add(ticket)
    kind = "extension_approved" if approve else "extension_denied"
    session.add(
        state_event(ticket, actor=f"staff:{supervisor.id}", kind=kind, now=now, note=f"{days}d")
    )
    due = local_time(ticket.resolve_due_at) if ticket.resolve_due_at else "—"
    assert ticket.station_code is not None
    await enqueue(
        session,
        dedup_key=f"{kind}:{ticket.id}:{now.isoformat()}",
        kind="extension_decision",
        now=now,
        payload=notice(
            "notify.ext_approved" if approve else "notify.ext_denied", code=ticket.code, due=due
        ),
        role_target=("station", ticket.station_code),
        ticket_id=ticket.id,
    )
    return days


async def redispatch(
    *,
    session: AsyncSession,
    directory: Directory,
    ticket: Ticket,
    supervisor: StaffMember,
    township: str,
    now: datetime,
) -> str:
    """Route a returned or unplaced ticket to a township. The case's age keeps counting:
    only the new station's sign-for window starts again."""
    if ticket.state not in OPEN:
        raise NotNow
    station = await session.get(Station, township)
    if station is None or station.city_code != ticket.city_code:
        raise NotNow
    if supervisor.scope_level == "county" and station.county_code != supervisor.scope_code:
        raise NotNow  # a county supervisor routes within the county only
    previous = ticket.station_code
    session.add(
        state_event(
            ticket,
            actor=f"staff:{supervisor.id}",
            kind="redispatched",
            now=now,
            to_state=State.DISPATCHED,
            note=f"{previous or '-'} -> {township}",
        )
    )
    ticket.owner_level, ticket.owner_code = "township", township
    ticket.station_code = township
    ticket.county_code = station.county_code if station.county_code != station.city_code else None
    ticket.assignee_id = None
    ticket.signed_at = None
    ticket.first_action_at = None
    ticket.resolve_overdue_at = None
    # The new station gets a full sign-for window and a fresh ladder; the first-action and
    # resolve deadlines stay (a sign-for after the first-action deadline gets a grace window).
    sla.start_ladder(ticket, now=now)
    session.add(ticket)
    await enqueue(
        session,
        dedup_key=f"referral:{ticket.id}:{township}:{now.isoformat()}",
        kind="referral",
        now=now,
        payload={"code": ticket.code, "priority": ticket.priority},
        role_target=("station", township),
        ticket_id=ticket.id,
    )
    return station.name


async def reject_return(
    *, session: AsyncSession, ticket: Ticket, supervisor: StaffMember, now: datetime
) -> None:
    """The station keeps the ticket, in the state it returned it from."""
    if ticket.state != State.RETURNED or ticket.station_code is None:
        raise NotNow
    back = State.ACKNOWLEDGED if ticket.signed_at is not None else State.DISPATCHED
    session.add(
        state_event(
            ticket,
            actor=f"staff:{supervisor.id}",
            kind="return_rejected",
            now=now,
            to_state=back,
        )
    )
    ticket.owner_level, ticket.owner_code = "township", ticket.station_code
    if back == State.ACKNOWLEDGED:
        ticket.next_due_at = sla.first_action_deadline(ticket, now)
    # Un-signed, the ladder ran on while the return was judged: next_due_at is already right.
    session.add(ticket)
    await enqueue(
        session,
        dedup_key=f"return_rejected:{ticket.id}:{now.isoformat()}",
        kind="return_rejected",
        now=now,
        payload=notice("notify.return_rejected", code=ticket.code),
        role_target=("station", ticket.station_code),
        ticket_id=ticket.id,
    )
