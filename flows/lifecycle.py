"""A station's changes to its ticket: 签收 (sign for), a note, the first call or visit, a
request for more time, 办结 (resolve) and 退单 (return). Each writes its event and the messages
it causes in the caller's transaction; the caller (flows.work for the bot,
flows.ticket_actions for the API) has already checked who may do it (flows.ticket_rights).

Supervisors' decisions are in flows.oversight, the reporter's rating in flows.feedback, what
the clock does in flows.escalation; the deadlines themselves in flows.sla."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import sla
from flows.callbacks import StaffAction, StaffData
from flows.messages import Outcome
from flows.notices import show_signed
from flows.outbox import payload_of
from flows.places import Directory
from flows.reporters import tell_reporters
from flows.staff import refusal, works_at
from flows.staff_views import station_buttons
from flows.states import OUTCOMES, RETURNABLE, WORKABLE, State
from flows.texts import phrase, t
from flows.texts import render as render_text
from flows.tickets import local_time, owner_phrase, supervisors_of
from storage.models import StaffMember, Ticket, TicketEvent
from storage.outbox import enqueue

FEEDBACK_WINDOW: Final = timedelta(days=3)


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


def notice(
    key: str, buttons: Sequence[Sequence[tuple[str, str]]] = (), **values: Any
) -> dict[str, Any]:
    """A role-targeted message rendered per recipient in their own language; button labels
    are catalogue keys too."""
    return {"key": key, "values": values, "buttons": [list(map(list, row)) for row in buttons]}


async def add_note(
    *, session: AsyncSession, ticket: Ticket, member: StaffMember, text: str, now: datetime
) -> None:
    if ticket.state not in WORKABLE:
        raise NotNow
    session.add(state_event(ticket, actor=f"staff:{member.id}", kind="note", now=now, note=text))


async def first_action(
    *,
    session: AsyncSession,
    directory: Directory,
    ticket: Ticket,
    member: StaffMember,
    how: str,
    now: datetime,
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
    await tell_reporters(
        session,
        directory,
        ticket,
        what="first_action",
        key="reporter.first_action",
        now=now,
        values={"how": phrase(f"reporter.how.{how}")},
    )


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
    # Every reporter of the case is asked, each for their own report; a reopened ticket can
    # be resolved again, and each resolution asks anew.
    await tell_reporters(
        session,
        directory,
        ticket,
        what="resolved",
        key="reporter.resolved",
        now=now,
        values={"outcome": phrase(f"outcome.{outcome}")},
        ask_rating=True,
    )


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
    await show_signed(session, directory, ticket, member.display_name, now)
    await tell_reporters(session, directory, ticket, what="signed", key="reporter.signed", now=now)
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
