"""合并: a report about the same child as an older open ticket of its station
(``flows.duplicates``) joins that ticket, and a supervisor may undo it.

Merging is the station's decision, or a supervisor's over it. The report becomes ``merged``
and points at the kept ticket, whose one set of deadlines carries the case: the report's
own clock stops (no ``next_due_at``, so the sweep never takes it). The kept ticket's details
list the report's facts; its reporter hears, under their own code, everything the kept
ticket's reporter hears from then on (``flows.reporters``), and is told now, in plain words,
that the two reports are handled together.

Un-merging (a supervisor over the area) brings the report back to the state it had, with
its clock started again (``flows.sla.restart_after_merge``); it is no longer offered as a
duplicate of that ticket, and its reporter and the station are told.

Locks: the ticket a report is linked to is locked before the report (``lock_linked``), the
order every change touching both takes (the merged reporter's rating too), so two such
changes never wait on each other. Each change writes events on both tickets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import sla, staff_views
from flows.callbacks import StaffAction, StaffData
from flows.duplicates import blocker
from flows.events import Person
from flows.lifecycle import NotNow, notice, state_event
from flows.messages import Outcome, Reply, number_in
from flows.notices import refresh_referrals, signed_by
from flows.places import Directory
from flows.reporters import tell_reporters
from flows.staff import refusal, supervises
from flows.states import MERGEABLE, State
from flows.texts import phrase, t
from flows.tickets import local_time, locked_ticket
from storage.models import StaffMember, Ticket, TicketEvent
from storage.outbox import enqueue

LINK_ACTIONS: Final = frozenset({StaffAction.MERGE, StaffAction.UNMERGE})


class CannotMerge(Exception):
    """Why a merge or un-merge is refused: ``already`` (merged, into ``code``), ``none``
    (no such link, or not the one the button named), ``not_open`` (``code`` is in
    ``state``), ``more_urgent`` (the report is more urgent than ``code``), ``not_merged``."""

    def __init__(self, why: str, *, code: str = "", state: str = "") -> None:
        super().__init__(why)
        self.why, self.code, self.state = why, code, state


async def lock_linked(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The ticket ``ticket_id`` with its row locked, after the row of the ticket it is merged
    into or is a possible duplicate of (see the module's note on lock order)."""
    plain = await session.get(Ticket, ticket_id)
    if plain is None:
        return None
    other = plain.merged_into_id or plain.duplicate_of_id
    if other is not None and other != ticket_id:
        await locked_ticket(session, other)
    return await locked_ticket(session, ticket_id)


async def lock_linked_by_code(session: AsyncSession, code: str) -> None:
    """``lock_linked`` for the ticket ``code`` (if any): before a change that will lock it."""
    found = await session.exec(select(Ticket.id).where(col(Ticket.code) == code.strip().upper()))
    ticket_id = found.first()
    if ticket_id is not None:
        await lock_linked(session, ticket_id)


async def merge(
    *,
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    ticket: Ticket,
    into_id: int | None,
    now: datetime,
) -> Ticket:
    """Merge the report ``ticket`` into the older ticket it is a possible duplicate of (which
    ``into_id``, when given, must name); returns the kept ticket. Raises ``CannotMerge``, or
    ``NotNow`` when the report is not one the station holds."""
    if ticket.state == State.MERGED:
        kept = await session.get(Ticket, ticket.merged_into_id or 0)
        raise CannotMerge("already", code=kept.code if kept else "")
    if ticket.duplicate_of_id is None or into_id not in (None, ticket.duplicate_of_id):
        raise CannotMerge("none")
    if ticket.state not in MERGEABLE or ticket.owner_level != "township":
        raise NotNow
    kept = await locked_ticket(session, ticket.duplicate_of_id)
    if kept is None or kept.id is None:
        raise CannotMerge("none")
    why = blocker(ticket, kept)
    if why is not None:
        raise CannotMerge(why, code=kept.code, state=kept.state)
    actor = f"staff:{member.id}"
    session.add(
        state_event(
            ticket, actor=actor, kind="merged", now=now, to_state=State.MERGED, note=kept.code
        )
    )
    session.add(state_event(kept, actor=actor, kind="merged_in", now=now, note=ticket.code))
    ticket.merged_into_id = kept.id
    ticket.next_due_at = None  # its clock stops: the kept ticket's deadlines carry the case
    ticket.pending_extension_days = None  # more time for a clock that no longer runs: moot
    session.add(ticket)
    signed = await signed_by(session, ticket)
    await refresh_referrals(session, directory, ticket, signed=signed, why="merged", now=now)
    await tell_reporters(
        session,
        directory,
        ticket,
        what="merged",
        key="reporter.merged",
        now=now,
        values={"state": phrase(f"progress.{kept.state}")},
    )
    return kept


async def state_before_merge(session: AsyncSession, ticket: Ticket) -> State:
    """The state the report had when it was last merged (its ``merged`` event)."""
    assert ticket.id is not None
    before = (
        await session.exec(
            select(TicketEvent.from_state)
            .where(col(TicketEvent.ticket_id) == ticket.id, col(TicketEvent.kind) == "merged")
            .order_by(col(TicketEvent.at).desc(), col(TicketEvent.id).desc())
            .limit(1)
        )
    ).first()
    return State(before) if before in MERGEABLE else State.DISPATCHED


async def unmerge(
    *,
    session: AsyncSession,
    directory: Directory,
    supervisor: StaffMember,
    ticket: Ticket,
    now: datetime,
) -> State:
    """Undo the merge of the report ``ticket`` (its kept ticket locked first by the
    caller): back to the state it had, its clock started again; returns that state."""
    if ticket.state != State.MERGED or ticket.merged_into_id is None:
        raise CannotMerge("not_merged")
    kept = await session.get(Ticket, ticket.merged_into_id)
    assert kept is not None and ticket.station_code is not None
    back = await state_before_merge(session, ticket)
    actor = f"staff:{supervisor.id}"
    session.add(
        state_event(ticket, actor=actor, kind="unmerged", now=now, to_state=back, note=kept.code)
    )
    session.add(state_event(kept, actor=actor, kind="unmerged_out", now=now, note=ticket.code))
    ticket.merged_into_id = None
    # Judged not to be the same child: it is not offered for merging into that one again.
    ticket.duplicate_of_id = None
    sla.restart_after_merge(ticket, back, now=now)
    session.add(ticket)
    signed = await signed_by(session, ticket)
    await refresh_referrals(session, directory, ticket, signed=signed, why="unmerged", now=now)
    assert ticket.id is not None
    buttons: list[list[tuple[str, str]]] = []
    if back == State.DISPATCHED:
        buttons.append(
            [
                ("btn.sign", StaffData(StaffAction.SIGN, ticket.id).encode()),
                ("btn.return", StaffData(StaffAction.RETURN, ticket.id).encode()),
            ]
        )
    buttons.append([("btn.details", StaffData(StaffAction.DETAILS, ticket.id).encode())])
    await enqueue(
        session,
        dedup_key=f"unmerged:{ticket.id}:{now.isoformat()}",
        kind="unmerged",
        now=now,
        payload=notice(
            "notify.unmerged",
            buttons,
            code=ticket.code,
            into=kept.code,
            state=phrase(f"state.{back}"),
            due=local_time(ticket.next_due_at) if ticket.next_due_at else "—",
        ),
        role_target=("station", ticket.station_code),
        ticket_id=ticket.id,
    )
    await tell_reporters(
        session,
        directory,
        ticket,
        what="unmerged",
        key="reporter.unmerged",
        now=now,
        values={"state": phrase(f"progress.{back}")},
    )
    return back


# Why a merge was refused, in the words of the REST API (flows.ticket_actions).
API_REFUSALS: Final = {
    "none": "not the ticket this report may duplicate (or it has none)",
    "not_open": "that ticket is no longer open at this report's station",
    "more_urgent": "this report is more urgent than that ticket",
}


async def link_action(
    *,
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    ticket: Ticket,
    undo: bool,
    into: str | None,
    now: datetime,
) -> str | None:
    """合并 (into the ticket coded ``into``, when given) or, ``undo``, 撤销合并 for the REST
    API, by someone it has found may; None when done, else ``not_now`` or why it cannot be
    merged."""
    try:
        if undo:
            await unmerge(
                session=session, directory=directory, supervisor=member, ticket=ticket, now=now
            )
            return None
        into_id = None
        if into is not None:
            found = await session.exec(
                select(Ticket.id).where(col(Ticket.code) == into.strip().upper())
            )
            into_id = found.first()
            if into_id is None:
                return API_REFUSALS["none"]
        await merge(
            session=session,
            directory=directory,
            member=member,
            ticket=ticket,
            into_id=into_id,
            now=now,
        )
    except NotNow:
        return "not_now"
    except CannotMerge as exc:
        return "not_now" if exc.why in ("already", "not_merged") else API_REFUSALS[exc.why]
    return None


# ---- in the bot ----------------------------------------------------------------------


def refused(locale: str, exc: CannotMerge, ticket: Ticket) -> str:
    """What a refused 合并 or 撤销合并 says to the person who pressed it."""
    if exc.why == "not_merged":
        return t(locale, "unmerge.not_merged", code=ticket.code)
    if exc.why == "not_open":
        return t(locale, "merge.not_open", into=exc.code, state=t(locale, f"state.{exc.state}"))
    return t(locale, f"merge.{exc.why}", into=exc.code)


async def on_press(
    *,
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    ticket: Ticket,
    action: StaffAction,
    arg: str,
    now: datetime,
) -> Outcome:
    """合并 or 撤销合并 pressed, by someone ``flows.work`` has found may (its rights)."""
    loc = member.locale
    try:
        if action == StaffAction.MERGE:
            kept = await merge(
                session=session,
                directory=directory,
                member=member,
                ticket=ticket,
                into_id=number_in(arg),
                now=now,
            )
            text = t(loc, "merge.ok", code=ticket.code, into=kept.code)
        else:
            text = await _unmerged(session, directory, member, ticket, now)
    except CannotMerge as exc:
        return Outcome([Reply(refused(loc, exc, ticket))])
    return Outcome([Reply(text)], changed=True, outbox_written=True)


async def _unmerged(
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    ticket: Ticket,
    now: datetime,
) -> str:
    loc = member.locale
    back = await unmerge(
        session=session, directory=directory, supervisor=member, ticket=ticket, now=now
    )
    due = local_time(ticket.next_due_at) if ticket.next_due_at else "—"
    return t(loc, "unmerge.ok", code=ticket.code, state=t(loc, f"state.{back}"), due=due)


async def unmerge_command(
    *,
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    person: Person,
    code: str,
    now: datetime,
) -> Outcome:
    """``/unmerge CODE``: a supervisor undoes the merge of the report ``CODE``."""
    loc = member.locale
    not_theirs = await staff_views.refused_to_supervise(session, member, person)
    if not_theirs is not None:
        return not_theirs
    code = code.strip().upper()
    if not code:
        return Outcome([Reply(t(loc, "unmerge.usage"))], locale=loc)
    found = (await session.exec(select(Ticket.id).where(col(Ticket.code) == code))).first()
    ticket = await lock_linked(session, found) if found is not None else None
    if ticket is None or not supervises(member, ticket):
        if ticket is not None:  # another area's: answered as unknown, and kept
            who = f"staff:{member.id}"
            await refusal(session, ticket=ticket, who=who, action=f"/unmerge {code}", now=now)
        return Outcome([Reply(t(loc, "ticket.none", code=code))], changed=True, locale=loc)
    try:
        text = await _unmerged(session, directory, member, ticket, now)
    except CannotMerge as exc:
        return Outcome([Reply(refused(loc, exc, ticket))], locale=loc)
    return Outcome([Reply(text)], changed=True, outbox_written=True, locale=loc)
