"""A staff member's action on a ticket from outside the bot (the REST API; the dashboard):
typed actions, checked by the bot's own rule (``flows.ticket_rights``) and carried out by
the bot's own flows (``flows.lifecycle``, ``flows.oversight``), in the caller's transaction
with the ticket's row locked, as a button press is.

``act`` answers ``Done`` (the ticket as it is now) or ``Refused`` (why, and nothing changed
but, for a refusal on scope, the ``refused`` event the bot also writes). The caller commits
either way. The words an action carries obey the bot's limits (``flows.work.on_text``):
stripped, 2 to ``TEXT_MAX`` characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Final, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from flows import lifecycle, merging, oversight
from flows.callbacks import StaffAction
from flows.duplicates import Link, link_of
from flows.places import Directory
from flows.staff import refusal
from flows.states import (
    EXTENSION_DAYS,
    MERGEABLE,
    OPEN,
    OUTCOMES,
    RETURN_REASONS,
    RETURNABLE,
    WORKABLE,
    State,
)
from flows.texts import phrase
from flows.ticket_queries import TicketRow, row_of
from flows.ticket_rights import may_act, viewable_ticket
from storage.models import TEXT_MAX, StaffMember, Station, Ticket

TEXT_MIN: Final = 2
HOWS: Final = ("call", "visit")


@dataclass(frozen=True, slots=True)
class Sign:
    """签收: the station takes the case on."""

    NAME: ClassVar[str] = "sign"
    BUTTON: ClassVar[StaffAction] = StaffAction.SIGN  # the bot's button for it: the right it needs


@dataclass(frozen=True, slots=True)
class AddNote:
    NAME: ClassVar[str] = "note"
    BUTTON: ClassVar[StaffAction] = StaffAction.NOTE
    text: str


@dataclass(frozen=True, slots=True)
class FirstAction:
    NAME: ClassVar[str] = "first_action"
    BUTTON: ClassVar[StaffAction] = StaffAction.FIRST_HOW
    how: str  # HOWS


@dataclass(frozen=True, slots=True)
class RequestExtension:
    NAME: ClassVar[str] = "request_extension"
    BUTTON: ClassVar[StaffAction] = StaffAction.EXTEND_DAYS
    days: int  # EXTENSION_DAYS
    reason: str


@dataclass(frozen=True, slots=True)
class DecideExtension:
    NAME: ClassVar[str] = "decide_extension"
    BUTTON: ClassVar[StaffAction] = StaffAction.APPROVE
    approve: bool


@dataclass(frozen=True, slots=True)
class Resolve:
    """办结, with its outcome and what was done."""

    NAME: ClassVar[str] = "resolve"
    BUTTON: ClassVar[StaffAction] = StaffAction.OUTCOME
    outcome: str  # OUTCOMES
    note: str


@dataclass(frozen=True, slots=True)
class Return:
    """退单: one of the offered reasons, or ``other`` with the station's own words."""

    NAME: ClassVar[str] = "return"
    BUTTON: ClassVar[StaffAction] = StaffAction.RETURN_REASON
    reason: str  # RETURN_REASONS
    text: str | None = None


@dataclass(frozen=True, slots=True)
class RejectReturn:
    NAME: ClassVar[str] = "reject_return"
    BUTTON: ClassVar[StaffAction] = StaffAction.REJECT_RETURN


@dataclass(frozen=True, slots=True)
class Reassign:
    """Route the ticket to another township's station (the bot's re-dispatch)."""

    NAME: ClassVar[str] = "reassign"
    BUTTON: ClassVar[StaffAction] = StaffAction.REDISPATCH_TO
    station: str  # the township's code


@dataclass(frozen=True, slots=True)
class Merge:
    """合并: the report into the older ticket it may duplicate (station staff or
    supervisors); ``into``, when given, must be that ticket's code."""

    NAME: ClassVar[str] = "merge"
    BUTTON: ClassVar[StaffAction] = StaffAction.MERGE
    into: str | None = None


@dataclass(frozen=True, slots=True)
class Unmerge:
    """撤销合并: the merged report worked on its own again (supervisors)."""

    NAME: ClassVar[str] = "unmerge"
    BUTTON: ClassVar[StaffAction] = StaffAction.UNMERGE


Action = (
    Sign
    | AddNote
    | FirstAction
    | RequestExtension
    | DecideExtension
    | Resolve
    | Return
    | RejectReturn
    | Reassign
    | Merge
    | Unmerge
)
ACTIONS: Final[tuple[type[Action], ...]] = (
    Sign,
    AddNote,
    FirstAction,
    RequestExtension,
    DecideExtension,
    Resolve,
    Return,
    RejectReturn,
    Reassign,
    Merge,
    Unmerge,
)


@dataclass(frozen=True, slots=True)
class TicketState:
    """Where a ticket stands after an action, and what the member may do next."""

    row: TicketRow
    sign_due_at: datetime | None
    first_action_due_at: datetime | None
    resolve_due_at: datetime | None
    pending_extension_days: int | None
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Done:
    ticket: TicketState


Why = Literal[
    "unseen",
    "forbidden",
    "invalid",
    "not_now",
    "extension_pending",
    "no_extension",
    "not_mergeable",
]


@dataclass(frozen=True, slots=True)
class Refused:
    """``unseen``: no such ticket, or not the member's to view (the same, so codes cannot be
    probed); ``forbidden``: theirs to view, not to do this; ``invalid``: ``field`` is wrong
    (``message``); ``not_now``: not in ``state``; ``extension_pending``: one already waits;
    ``no_extension``: none waits to be decided; ``not_mergeable``: no ticket to merge into,
    or not that one now (``message`` says why)."""

    why: Why
    state: str | None = None
    field: str | None = None
    message: str | None = None


def _ready(name: str, ticket: Ticket, link: Link | None = None) -> bool:
    """Whether the ticket's state allows the action (the lifecycle's own conditions);
    ``link``: the report's link to an older ticket (flows.duplicates)."""
    pending = ticket.pending_extension_days is not None
    if name == "merge":
        mergeable = link is not None and not link.merged and link.blocked is None
        return mergeable and ticket.state in MERGEABLE and ticket.owner_level == "township"
    if name == "unmerge":
        return ticket.state == State.MERGED
    if name == "sign":
        return ticket.state == State.DISPATCHED
    if name in ("note", "resolve"):
        return ticket.state in WORKABLE
    if name == "first_action":
        return ticket.state == State.ACKNOWLEDGED and ticket.first_action_at is None
    if name == "request_extension":
        return ticket.state in WORKABLE and not pending
    if name == "decide_extension":
        return pending
    if name == "return":
        return ticket.state in RETURNABLE
    if name == "reject_return":
        return ticket.state == State.RETURNED and ticket.station_code is not None
    return name == "reassign" and ticket.state in OPEN


def available(member: StaffMember, ticket: Ticket, link: Link | None = None) -> tuple[str, ...]:
    """The actions ``member`` may take on ``ticket`` now (``link``: as ``_ready``)."""
    return tuple(
        a.NAME
        for a in ACTIONS
        if may_act(member, ticket, a.BUTTON) and _ready(a.NAME, ticket, link)
    )


def _words(field: str, text: str | None) -> Refused | None:
    if text is None:
        return Refused("invalid", field=field, message="required")
    text = text.strip()
    if len(text) < TEXT_MIN:
        return Refused("invalid", field=field, message=f"at least {TEXT_MIN} characters")
    if len(text) > TEXT_MAX:
        return Refused("invalid", field=field, message=f"at most {TEXT_MAX} characters")
    if any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in text):
        return Refused("invalid", field=field, message="contains characters that are not text")
    return None


def _one_of(field: str, value: object, allowed: tuple[object, ...]) -> Refused | None:
    if value in allowed and type(value) is type(allowed[0]):
        return None
    choices = ", ".join(str(a) for a in allowed)
    return Refused("invalid", field=field, message=f"must be one of: {choices}")


def check(action: Action) -> Refused | None:
    """What is wrong with the action's own words and choices, before any ticket is read."""
    if isinstance(action, AddNote):
        return _words("text", action.text)
    if isinstance(action, FirstAction):
        return _one_of("how", action.how, HOWS)
    if isinstance(action, RequestExtension):
        return _one_of("days", action.days, EXTENSION_DAYS) or _words("reason", action.reason)
    if isinstance(action, Resolve):
        return _one_of("outcome", action.outcome, OUTCOMES) or _words("note", action.note)
    if isinstance(action, Return):
        wrong = _one_of("reason", action.reason, RETURN_REASONS)
        if wrong is None and action.reason == "other":
            return _words("text", action.text)
        if wrong is None and action.text is not None:
            return Refused("invalid", field="text", message="only with the reason other")
        return wrong
    if isinstance(action, Reassign):
        code = action.station
        if not (len(code) == 12 and code.isascii() and code.isdigit()):
            return Refused("invalid", field="station", message="a township's 12-digit code")
    return None


async def _station_within(
    session: AsyncSession, member: StaffMember, ticket: Ticket, code: str
) -> bool:
    """A station the supervisor may send the ticket to (as ``oversight.redispatch`` holds):
    in the ticket's city, and in the supervisor's county when they oversee one."""
    station = await session.get(Station, code)
    if station is None or station.city_code != ticket.city_code:
        return False
    return member.scope_level != "county" or station.county_code == member.scope_code


async def ticket_state(
    session: AsyncSession, directory: Directory, member: StaffMember, ticket: Ticket, locale: str
) -> TicketState:
    station = await session.get(Station, ticket.station_code) if ticket.station_code else None
    return TicketState(
        row=row_of(directory, ticket, station.name if station else None, locale),
        sign_due_at=ticket.sign_due_at,
        first_action_due_at=ticket.first_action_due_at,
        resolve_due_at=ticket.resolve_due_at,
        pending_extension_days=ticket.pending_extension_days,
        actions=available(member, ticket, await link_of(session, ticket)),
    )


async def act(
    *,
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    code: str,
    action: Action,
    now: datetime,
    via: str = "api",
    locale: str = "zh",
) -> Done | Refused:
    """Carry out ``action`` on the ticket ``code`` for ``member`` (the history's actor is
    ``staff:ID``, as in the bot). ``via`` names the door in a refusal's trace; ``locale`` the
    language of a queue's name in the answer."""
    wrong = check(action)
    if wrong is not None:
        return wrong
    attempt = f"{via}:{action.NAME}"
    if isinstance(action, Merge | Unmerge):  # the older ticket's row first (flows.merging)
        await merging.lock_linked_by_code(session, code)
    ticket = await viewable_ticket(
        session, member=member, code=code, attempt=attempt, now=now, lock=True
    )
    if ticket is None:
        return Refused("unseen")
    if not may_act(member, ticket, action.BUTTON):
        await refusal(session, ticket=ticket, who=f"staff:{member.id}", action=attempt, now=now)
        return Refused("forbidden")
    if isinstance(action, Reassign) and not await _station_within(
        session, member, ticket, action.station
    ):
        return Refused("invalid", field="station", message="not a station you may send it to")
    if isinstance(action, Merge | Unmerge):
        why = await merging.link_action(
            session=session,
            directory=directory,
            member=member,
            ticket=ticket,
            into=action.into if isinstance(action, Merge) else None,
            undo=isinstance(action, Unmerge),
            now=now,
        )
        if why == "not_now":
            return Refused("not_now", state=ticket.state)
        if why is not None:
            return Refused("not_mergeable", field="into", message=why)
        return Done(await ticket_state(session, directory, member, ticket, locale))
    if not _ready(action.NAME, ticket):
        if isinstance(action, RequestExtension) and ticket.pending_extension_days is not None:
            return Refused("extension_pending", state=ticket.state)
        if isinstance(action, DecideExtension):
            return Refused("no_extension", state=ticket.state)
        return Refused("not_now", state=ticket.state)
    try:
        if not await _carry_out(session, directory, member, ticket, action, now):
            return Refused("not_now", state=ticket.state)
    except lifecycle.NotNow:
        # Checked above under the row lock; the flows' own check is the last word.
        return Refused("not_now", state=ticket.state)
    return Done(await ticket_state(session, directory, member, ticket, locale))


async def _carry_out(
    session: AsyncSession,
    directory: Directory,
    member: StaffMember,
    ticket: Ticket,
    action: Action,
    now: datetime,
) -> bool:
    """The flow that does ``action``; False when another person's 签收 came first."""
    if isinstance(action, Sign):
        out = await lifecycle.sign(
            session=session, directory=directory, member=member, ticket=ticket, now=now
        )
        return out.outbox_written  # written only by the press that won
    if isinstance(action, AddNote):
        await lifecycle.add_note(
            session=session, ticket=ticket, member=member, text=action.text.strip(), now=now
        )
    elif isinstance(action, FirstAction):
        await lifecycle.first_action(
            session=session,
            directory=directory,
            ticket=ticket,
            member=member,
            how=action.how,
            now=now,
        )
    elif isinstance(action, RequestExtension):
        await lifecycle.request_extension(
            session=session,
            directory=directory,
            ticket=ticket,
            member=member,
            days=action.days,
            reason=action.reason.strip(),
            now=now,
        )
    elif isinstance(action, DecideExtension):
        await oversight.decide_extension(
            session=session, ticket=ticket, supervisor=member, approve=action.approve, now=now
        )
    elif isinstance(action, Resolve):
        await lifecycle.resolve(
            session=session,
            directory=directory,
            ticket=ticket,
            member=member,
            outcome=action.outcome,
            note=action.note.strip(),
            now=now,
        )
    elif isinstance(action, Return):
        words = action.text.strip() if action.reason == "other" and action.text else None
        await lifecycle.return_ticket(
            session=session,
            directory=directory,
            ticket=ticket,
            member=member,
            reason=words if words is not None else phrase(f"reason.{action.reason}"),
            now=now,
        )
    elif isinstance(action, RejectReturn):
        await oversight.reject_return(session=session, ticket=ticket, supervisor=member, now=now)
    elif isinstance(action, Reassign):
        await oversight.redispatch(
            session=session,
            directory=directory,
            ticket=ticket,
            supervisor=member,
            township=action.station,
            now=now,
        )
    return True
