"""Ticket state changes after sign-for. Each writes its event and the messages it causes in
the caller's transaction; callers have already checked who may do it (flows.work)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlmodel.ext.asyncio.session import AsyncSession

from flows import sla
from flows.callbacks import FeedbackData, StaffAction, StaffData
from flows.messages import Button
from flows.outbox import payload_of
from flows.places import Directory
from flows.states import OPEN, RESOLVING, RETURNABLE, UNSIGNED, WORKABLE, State
from flows.texts import render as render_text
from flows.texts import t
from flows.tickets import local_time, owner_name, owner_phrase
from storage.models import StaffMember, Station, Ticket, TicketEvent
from storage.outbox import enqueue

OUTCOMES: Final = (
    "helped_on_site",
    "police",
    "medical",
    "education",
    "financial",
    "placed",
    "not_located",
    "not_cp",
    "other",
)
RETURN_REASONS: Final = ("area", "duplicate", "other")
EXTENSION_DAYS: Final = (1, 3, 7)
FEEDBACK: Final = ("sat", "ok", "unsat")
FEEDBACK_WINDOW: Final = timedelta(days=3)


async def locked_ticket(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The ticket re-read with its row locked until the transaction ends.

    A change decided on the ticket's state must not interleave with the sweep's (which
    locks what it claims) or another person's: on PostgreSQL the second waits here and then
    sees the first's result. SQLite has one writer at a time and ignores FOR UPDATE.
    """
    return await session.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)


def escalate_now(ticket: Ticket, *, now: datetime, why: str) -> TicketEvent:
    """A referral that reached nobody at the station: skip the reminder, go to L1 at once."""
    assert ticket.id is not None
    if ticket.state in UNSIGNED:
        sla.breach_now(ticket, now=now)
    return TicketEvent(ticket_id=ticket.id, at=now, actor="system", kind="not_notified", note=why)


class NotNow(Exception):
    """The ticket is in a state where this change makes no sense (e.g. a stale button)."""


def state_event(
    ticket: Ticket,
    *,
    actor: str,
    kind: str,
    now: datetime,
    to_state: State | None = None,
    note: str | None = None,
) -> TicketEvent:
    assert ticket.id is not None
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        actor=actor,
        kind=kind,
        from_state=ticket.state if to_state else None,
        to_state=to_state,
        note=note,
    )
    if to_state:
        ticket.state = to_state
    return event


def supervisors_of(ticket: Ticket) -> tuple[str, str]:
    """The role target that supervises a ticket: its county, or the city where there is no
    county level (东莞, 中山)."""
    if ticket.county_code and ticket.county_code != ticket.city_code:
        return ("county", ticket.county_code)
    return ("city", ticket.city_code)


def notice(
    key: str, buttons: Sequence[Sequence[tuple[str, str]]] = (), **values: Any
) -> dict[str, Any]:
    """A role-targeted message rendered per recipient in their own language; button labels
    are catalogue keys too."""
    return {"key": key, "values": values, "buttons": [list(map(list, row)) for row in buttons]}


async def _tell_reporter(
    session: AsyncSession,
    ticket: Ticket,
    *,
    what: str,
    text: str,
    now: datetime,
    buttons: list[list[Button]] | None = None,
) -> None:
    """The reporter hears in the chat they reported from, anonymous or not."""
    # Keyed by time too: a reverted, re-dispatched or reopened ticket goes round again.
    await enqueue(
        session,
        dedup_key=f"reporter:{what}:{ticket.id}:{now.isoformat()}",
        kind="reporter_update",
        now=now,
        payload=payload_of(text, buttons or []),
        chat_id=ticket.reporter_chat_id,
        ticket_id=ticket.id,
    )


async def add_note(
    *, session: AsyncSession, ticket: Ticket, member: StaffMember, text: str, now: datetime
) -> None:
    if ticket.state not in WORKABLE:
        raise NotNow
    session.add(state_event(ticket, actor=f"staff:{member.id}", kind="note", now=now, note=text))


async def first_action(
    *, session: AsyncSession, ticket: Ticket, member: StaffMember, how: str, now: datetime
) -> None:
    """The first call or visit: the case is in progress; the reporter is told."""
    if ticket.state != State.ACKNOWLEDGED or ticket.first_action_at is not None:
        raise NotNow
    session.add(
        state_event(
            ticket,
            actor=f"staff:{member.id}",
            kind="first_action",
            now=now,
            to_state=State.IN_PROGRESS,
            note=how,
        )
    )
    ticket.first_action_at = now
    ticket.next_due_at = ticket.resolve_due_at
    session.add(ticket)
    how_text = t(ticket.locale, f"reporter.how.{how}")
    text = t(ticket.locale, "reporter.first_action", code=ticket.code, how=how_text)
    await _tell_reporter(session, ticket, what="first_action", text=text, now=now)


async def request_extension(
    *,
    session: AsyncSession,
    directory: Directory,
    ticket: Ticket,
    member: StaffMember,
    days: int,
    reason: str,
    now: datetime,
) -> None:
    if ticket.state not in WORKABLE or ticket.pending_extension_days is not None:
        raise NotNow
    assert ticket.id is not None
    ticket.pending_extension_days = days
    session.add(ticket)
    session.add(
        state_event(
            ticket,
            actor=f"staff:{member.id}",
            kind="extension_requested",
            now=now,
            note=f"{days}d: {reason}",
        )
    )
    station = await owner_phrase(session, directory, ticket)
    await enqueue(
        session,
        dedup_key=f"extension:{ticket.id}:{now.isoformat()}",
        kind="extension",
        now=now,
        payload=notice(
            "notify.extension",
            [
                [
                    ("btn.approve", StaffData(StaffAction.APPROVE, ticket.id).encode()),
                    ("btn.deny", StaffData(StaffAction.DENY, ticket.id).encode()),
                ]
            ],
            code=ticket.code,
            station=station,
            days=days,
            reason=reason,
            due=local_time(ticket.resolve_due_at) if ticket.resolve_due_at else "—",
        ),
        role_target=supervisors_of(ticket),
        ticket_id=ticket.id,
    )


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


async def resolve(
    *,
    session: AsyncSession,
    directory: Directory,
    ticket: Ticket,
    member: StaffMember,
    outcome: str,
    note: str,
    now: datetime,
) -> None:
    """办结: the reporter is told the outcome (never staff names) and asked for feedback."""
    if ticket.state not in WORKABLE or outcome not in OUTCOMES:
        raise NotNow
    assert ticket.id is not None
    session.add(
        state_event(
            ticket,
            actor=f"staff:{member.id}",
            kind="resolved",
            now=now,
            to_state=State.RESOLVED,
            note=f"{outcome}: {note}",
        )
    )
    ticket.outcome = outcome
    ticket.resolution_note = note
    ticket.resolved_at = now
    ticket.feedback = None
    ticket.feedback_due_at = now + FEEDBACK_WINDOW
    ticket.next_due_at = ticket.feedback_due_at
    ticket.pending_extension_days = None
    session.add(ticket)
    loc = ticket.locale
    station = await owner_name(session, directory, ticket, loc)
    text = t(
        loc,
        "reporter.resolved",
        code=ticket.code,
        station=station,
        outcome=t(loc, f"outcome.{outcome}"),
    )
    buttons = [
        [Button(t(loc, f"btn.fb.{f}"), FeedbackData(ticket.id, f).encode()) for f in FEEDBACK]
    ]
    # A reopened ticket can be resolved again: each resolution asks anew.
    what = f"resolved:{now.isoformat()}"
    await _tell_reporter(session, ticket, what=what, text=text, now=now, buttons=buttons)


async def return_ticket(
    *,
    session: AsyncSession,
    directory: Directory,
    ticket: Ticket,
    member: StaffMember,
    reason: str | dict[str, Any],
    now: datetime,
) -> None:
    """退单: the county's queue owns it until a supervisor routes it again or rejects this.
    ``reason``: what the station typed, or one of the offered reasons (``phrase``), which
    each supervisor reads in their own language."""
    if ticket.state not in RETURNABLE:
        raise NotNow
    assert ticket.id is not None
    station = await owner_phrase(session, directory, ticket)
    session.add(
        state_event(
            ticket,
            actor=f"staff:{member.id}",
            kind="returned",
            now=now,
            to_state=State.RETURNED,
            # The history keeps the reason as written (an offered one in Chinese).
            note=reason if isinstance(reason, str) else render_text("zh", reason["t"], {}),
        )
    )
    level, code = supervisors_of(ticket)
    ticket.owner_level, ticket.owner_code = level, code
    session.add(ticket)
    await enqueue(
        session,
        dedup_key=f"returned:{ticket.id}:{now.isoformat()}",
        kind="returned",
        now=now,
        payload=notice(
            "notify.returned",
            [
                [("btn.redispatch", StaffData(StaffAction.REDISPATCH, ticket.id, "0").encode())],
                [("btn.reject_return", StaffData(StaffAction.REJECT_RETURN, ticket.id).encode())],
            ],
            code=ticket.code,
            station=station,
            reason=reason,
        ),
        role_target=(level, code),
        ticket_id=ticket.id,
    )


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


async def give_feedback(
    *, session: AsyncSession, ticket: Ticket, rating: str, now: datetime
) -> None:
    """满意 / 基本满意 close the ticket; 不满意 reopens it and tells the supervisor."""
    if ticket.state != State.RESOLVED or rating not in FEEDBACK:
        raise NotNow
    session.add(state_event(ticket, actor="reporter", kind="feedback", now=now, note=rating))
    ticket.feedback = rating
    ticket.feedback_due_at = None
    if rating != "unsat":
        session.add(
            state_event(ticket, actor="reporter", kind="closed", now=now, to_state=State.CLOSED)
        )
        ticket.closed_at = now
        ticket.next_due_at = None
        session.add(ticket)
        return
    session.add(
        state_event(ticket, actor="reporter", kind="reopened", now=now, to_state=State.REOPENED)
    )
    ticket.resolve_overdue_at = None
    # The station owes a new resolution; give it at least a day even if the old one passed.
    # That day is the resolve deadline now: shown to staff, and the key of its 催办.
    if ticket.resolve_due_at is None or ticket.resolve_due_at <= now:
        ticket.resolve_due_at = now + timedelta(days=1)
    ticket.next_due_at = ticket.resolve_due_at
    session.add(ticket)
    for target in (supervisors_of(ticket), ("station", ticket.station_code or "")):
        if not target[1]:
            continue
        await enqueue(
            session,
            dedup_key=f"reopened:{ticket.id}:{target[0]}:{now.isoformat()}",
            kind="reopened",
            now=now,
            payload=notice("notify.reopened", code=ticket.code),
            role_target=target,
            ticket_id=ticket.id,
        )
