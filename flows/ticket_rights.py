"""Who may do what to which ticket, whatever channel asks: the bot's buttons
(``flows.work``) and the REST API (``flows.ticket_actions``, ``flows.ticket_detail``) check
the same rule here.

An action needs one of three rights: to *work* the ticket (its station's staff), to
*oversee* it (the supervisors of its county or city), or only to *view* it (either). A
member who may not even view a ticket is answered as if it did not exist, so codes cannot be
probed; the attempt is still recorded on the ticket (``flows.staff.refusal``).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.callbacks import StaffAction
from flows.staff import refusal, supervises, works_at
from flows.tickets import locked_ticket
from storage.models import StaffMember, Ticket


class Right(StrEnum):
    WORK = "work"  # the ticket's own station
    OVERSEE = "oversee"  # the ticket's county or city supervisors
    VIEW = "view"  # either of them


# The signing station's steps, and the supervisors' decisions; any other action (details)
# needs only the right to view.
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
        StaffAction.UNMERGE,
    }
)
# 合并 is the station's call or its supervisors': it needs the right to view (either), like
# the details. Un-merging is a supervisor's (above).
# A ticket's code as issued (flows.tickets.CODE_ALPHABET, upper case); anything else names no
# ticket and is not even looked up.
_CODE: Final = re.compile(r"[A-Z0-9]{1,16}")


def right_of(action: StaffAction) -> Right:
    if action in STATION_ACTIONS:
        return Right.WORK
    if action in SUPERVISOR_ACTIONS:
        return Right.OVERSEE
    return Right.VIEW


def may(member: StaffMember | None, ticket: Ticket, right: Right) -> bool:
    """Whether ``member`` (None: someone not enrolled) has ``right`` on ``ticket``."""
    if member is None:
        return False
    if right == Right.WORK:
        return works_at(member, ticket)
    if right == Right.OVERSEE:
        return supervises(member, ticket)
    return works_at(member, ticket) or supervises(member, ticket)


def may_act(member: StaffMember | None, ticket: Ticket, action: StaffAction) -> bool:
    """The one check behind every staff action on a ticket, in the bot and the API."""
    return may(member, ticket, right_of(action))


def may_see_contact(member: StaffMember, ticket: Ticket) -> bool:
    """The reporter's phone: for the ticket's supervisors, and for its station once the
    station has signed for it (taken the case on); never for a ticket nobody works yet."""
    return supervises(member, ticket) or (works_at(member, ticket) and ticket.signed_at is not None)


async def active_staff(session: AsyncSession, staff_id: int) -> StaffMember | None:
    """The staff member with this id while they are enrolled."""
    member = await session.get(StaffMember, staff_id)
    if member is None or not member.active or member.left_at is not None:
        return None
    return member


async def viewable_ticket(
    session: AsyncSession,
    *,
    member: StaffMember,
    code: str,
    attempt: str,
    now: datetime,
    lock: bool,
) -> Ticket | None:
    """The ticket with ``code`` if ``member`` may view it (its row locked with ``lock``, for
    a change decided on its state); None for an unknown code and for another scope's ticket
    alike. The latter leaves a ``refused`` event noting ``attempt`` on the ticket, in the
    caller's transaction (commit it)."""
    code = code.strip().upper()
    if not _CODE.fullmatch(code):
        return None
    found = (await session.exec(select(Ticket.id).where(col(Ticket.code) == code))).first()
    if found is None:
        return None
    ticket = await locked_ticket(session, found) if lock else await session.get(Ticket, found)
    if ticket is None:
        return None
    if not may(member, ticket, Right.VIEW):
        await refusal(session, ticket=ticket, who=f"staff:{member.id}", action=attempt, now=now)
        return None
    return ticket
