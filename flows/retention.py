"""Forgetting on schedule: unfinished dialogues, delivered messages' texts, and the personal
data of tickets closed long ago. Each function works in the caller's transaction, on at most
``batch`` rows, and returns how many it changed, so a job can loop until the backlog is gone.

What a ticket keeps after erasure is what the statistics need: priority, states and times,
place codes, owner, concerns, age band, sex, outcome, and the history's kinds and actors. What
goes is what a person said or who they are: the reporter's contact, photos, story, typed place
words, the resolution and every note holding someone's words, and the reporting chat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Text, and_, cast, delete, or_, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import awaiting
from flows.states import OPEN, State
from flows.tickets import locked_ticket
from storage import outbox
from storage.models import (
    Conversation,
    InboxUpdate,
    OutboxMessage,
    Ticket,
    TicketAttachment,
    TicketContact,
    TicketEvent,
)

DIALOGUE_KEEP: Final = timedelta(days=7)  # an unfinished report or question, untouched
OUTBOX_KEEP: Final = timedelta(days=7)  # a message's text after it was sent or given up
BATCH: Final = 500
TICKET_BATCH: Final = 100  # a ticket's erasure is several statements
# Event kinds whose note the system writes from codes and choices (never a person's words):
# these notes stay. Every other kind's note is erased, so a kind added later that carries
# typed text is erased too without anyone remembering to list it here.
KEPT_NOTES: Final = frozenset(
    {
        "dispatched",
        "triage",
        "redispatched",
        "reminder",
        "escalated",
        "escalation_repeat",
        "reverted",
        "not_notified",
        "undelivered",
        "delivery_failed",
        "first_action",  # call | visit
        "extension_approved",  # "3d"
        "extension_denied",
        "feedback",  # sat | ok | unsat
        "closed",
        "refused",  # the button or command a person tried, for the audit trail
        "erased",
        "red_flags",  # categories and priorities ("self_harm P2→P0"), never the words
        # the other ticket's code (flows.duplicates, flows.merging)
        "duplicate_suspected",
        "merged",
        "merged_in",
        "unmerged",
        "unmerged_out",
    }
)


@dataclass(frozen=True, slots=True)
class Erasure:
    """What one ticket's erasure removed (counts only: nothing of what it was)."""

    code: str
    contact: bool
    attachments: int
    notes: int


class EraseError(Exception):
    """``erase_ticket`` refused: ``reason`` is unknown | erased | open. Plain values, not
    the ticket: the caller's transaction is rolled back by the time this is read."""

    def __init__(
        self, reason: str, *, state: str | None = None, erased_at: datetime | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.state = state
        self.erased_at = erased_at


async def discard_dialogues(*, session: AsyncSession, now: datetime, batch: int = BATCH) -> int:
    """Unfinished dialogues untouched for ``DIALOGUE_KEEP`` go back to the menu, answers
    emptied: a half-told report, a status question, a staff member's pending note. The
    version moves on, so the old messages' buttons are answered as stale."""
    cutoff = now - DIALOGUE_KEEP
    holding = or_(
        col(Conversation.step) != "menu",
        # Every write goes through the JSON serialiser, so an empty dialogue is exactly '{}'.
        cast(col(Conversation.answers), Text) != "{}",
    )
    ids = (
        await session.exec(
            select(Conversation.id)
            .where(col(Conversation.updated_at) < cutoff, holding)
            .order_by(col(Conversation.id))
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not ids:
        return 0
    result = await session.exec(
        update(Conversation)
        # Checked again: a turn that committed since the select keeps its dialogue.
        .where(col(Conversation.id).in_(ids), col(Conversation.updated_at) < cutoff)
        .values(step="menu", answers={}, version=col(Conversation.version) + 1, updated_at=now)
    )
    return int(result.rowcount)


async def scrub_outbox(*, session: AsyncSession, now: datetime, batch: int = BATCH) -> int:
    """Empty the payloads of messages sent, or given up, more than ``OUTBOX_KEEP`` ago."""
    return await outbox.erase_delivered(session, before=now - OUTBOX_KEEP, batch=batch)


async def erase_closed(
    *, session: AsyncSession, now: datetime, days: int, batch: int = TICKET_BATCH
) -> int:
    """Erase the personal data of tickets closed more than ``days`` days ago, and of the
    reports merged into them (never closed themselves: their case was)."""
    cutoff = now - timedelta(days=days)
    tickets = list(
        (
            await session.exec(
                select(Ticket)
                .where(col(Ticket.closed_at) < cutoff, col(Ticket.erased_at).is_(None))
                .order_by(col(Ticket.id))
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    if len(tickets) < batch:
        tickets += await _merged_into_done(session, cutoff=cutoff, limit=batch - len(tickets))
    for ticket in tickets:
        await _erase(session, ticket, now=now, actor="system", note=f"retention {days} days")
    return len(tickets)


async def _merged_into_done(
    session: AsyncSession, *, cutoff: datetime, limit: int
) -> Sequence[Ticket]:
    """Reports merged into a ticket closed before ``cutoff``, or into a report already
    erased with its own case (a merged ticket that was merged in turn)."""
    kept = aliased(Ticket)
    return (
        await session.exec(
            select(Ticket)
            .join(kept, col(Ticket.merged_into_id) == kept.id)
            .where(
                col(Ticket.state) == State.MERGED,
                col(Ticket.erased_at).is_(None),
                or_(
                    col(kept.closed_at) < cutoff,
                    and_(col(kept.state) == State.MERGED, col(kept.erased_at).is_not(None)),
                ),
            )
            .order_by(col(Ticket.id))
            .limit(limit)
            .with_for_update(skip_locked=True, of=Ticket)
        )
    ).all()


async def erase_ticket(
    *, session: AsyncSession, code: str, now: datetime, force: bool = False
) -> Erasure:
    """Erase one ticket's personal data now (an operator's decision), with an event.

    An open case still needs its story and its reporter: refused unless ``force``."""
    found = (
        await session.exec(select(Ticket.id).where(col(Ticket.code) == code.strip().upper()))
    ).first()
    ticket = await locked_ticket(session, found) if found is not None else None
    if ticket is None:
        raise EraseError("unknown")
    if ticket.erased_at is not None:
        raise EraseError("erased", state=ticket.state, erased_at=ticket.erased_at)
    if ticket.state in OPEN and not force:
        raise EraseError("open", state=ticket.state)
    note = "on request" + (f", open ({ticket.state})" if ticket.state in OPEN else "")
    reporter = (ticket.reporter_channel, ticket.reporter_chat_id)
    erasure = await _erase(session, ticket, now=now, actor="operator", note=note)
    await _forget_chat_traffic(session, channel=reporter[0], chat_id=reporter[1])
    return erasure


async def _erase(
    session: AsyncSession, ticket: Ticket, *, now: datetime, actor: str, note: str
) -> Erasure:
    tid = ticket.id
    assert tid is not None
    chat_id = ticket.reporter_chat_id
    contact = await session.exec(delete(TicketContact).where(col(TicketContact.ticket_id) == tid))
    photos = await session.exec(
        delete(TicketAttachment).where(col(TicketAttachment.ticket_id) == tid)
    )
    personal_note: ColumnElement[bool] = col(TicketEvent.kind).not_in(KEPT_NOTES)
    if chat_id:  # e.g. "reporter_update to <chat>: forbidden" names the reporting chat
        personal_note = or_(personal_note, col(TicketEvent.note).contains(chat_id, autoescape=True))
    notes = await session.exec(
        update(TicketEvent)
        .where(col(TicketEvent.ticket_id) == tid, col(TicketEvent.note).is_not(None), personal_note)
        .values(note=None)
    )
    await _erase_messages(session, ticket, now=now)
    await _unlink_dialogue(session, ticket)
    ticket.story = ""
    # The words that raised the alarm are the reporter's own: gone with the story. The
    # categories stay, as the priority does, for the statistics.
    ticket.red_flags = [{**flag, "words": []} for flag in ticket.red_flags]
    ticket.resolution_note = None
    ticket.place_text = None
    ticket.reporter_chat_id = ""
    # channel:chat:report number: the reporting chat again. Only a doubled confirmation
    # of the same report reads it, long over by now.
    ticket.intake_key = f"erased:{tid}"
    ticket.erased_at = now
    session.add(ticket)
    session.add(TicketEvent(ticket_id=tid, at=now, actor=actor, kind="erased", note=note))
    return Erasure(
        code=ticket.code,
        contact=contact.rowcount > 0,
        attachments=int(photos.rowcount),
        notes=int(notes.rowcount),
    )


async def _erase_messages(session: AsyncSession, ticket: Ticket, *, now: datetime) -> None:
    """The ticket's messages: texts emptied, and those not yet sent are not sent (they were
    made from what is being erased), but for a referral to a station or queue, which holds
    only the code and is written from the ticket as it is when it goes out. None is
    addressed to the reporting chat any more."""
    of_ticket = col(OutboxMessage.ticket_id) == ticket.id
    referral_to_role = and_(
        col(OutboxMessage.kind) == "referral", col(OutboxMessage.target_kind) != "chat"
    )
    await session.exec(
        update(OutboxMessage)
        .where(
            of_ticket,
            col(OutboxMessage.status).in_(("pending", "sending")),
            ~referral_to_role,
        )
        .values(status="failed", error="ticket erased", failed_at=now)
    )
    await session.exec(
        update(OutboxMessage)
        .where(
            of_ticket,
            col(OutboxMessage.status).in_(("sent", "failed")),
            col(OutboxMessage.scrubbed).is_(False),
        )
        .values(payload={}, scrubbed=True)
    )
    if ticket.reporter_chat_id:
        await session.exec(
            update(OutboxMessage)
            .where(
                of_ticket,
                col(OutboxMessage.target_kind) == "chat",
                col(OutboxMessage.target) == ticket.reporter_chat_id,
            )
            .values(target="")
        )


async def _unlink_dialogue(session: AsyncSession, ticket: Ticket) -> None:
    """The reporting chat's dialogue may still name the ticket (the code of its last report,
    a feedback comment awaited): that link goes too. The dialogue itself is the chat's."""
    if not ticket.reporter_chat_id:
        return
    conv = (
        await session.exec(
            select(Conversation)
            .where(
                col(Conversation.channel) == ticket.reporter_channel,
                col(Conversation.chat_id) == ticket.reporter_chat_id,
            )
            .with_for_update()
        )
    ).first()
    if conv is None:
        return
    answers = dict(conv.answers)
    if answers.get("_last_code") == ticket.code:
        answers.pop("_last_code")
    held = awaiting.from_dict(answers.get(awaiting.ANSWERS_KEY))
    # A record this version cannot read is of no use to anyone, and may name the ticket.
    if awaiting.ANSWERS_KEY in answers and (held is None or held.ticket_id == ticket.id):
        answers.pop(awaiting.ANSWERS_KEY)
    if answers.get("_ticket") == ticket.id:
        # An urgent report still being added to: what was told so far goes with the ticket,
        # and the dialogue ends (an old button is stale from now on).
        answers = {}
        conv.step = "menu"
        conv.version += 1
    if answers != conv.answers:
        conv.answers = answers
        session.add(conv)


async def _forget_chat_traffic(session: AsyncSession, *, channel: str, chat_id: str) -> None:
    """On demand, the raw traffic of the reporting chat is not kept its usual week either:
    processed updates (what they typed) and delivered replies (what they were told, the
    ticket's code among it) are emptied now. Parked failed updates stay: an operator may
    still have to retry one, and it may be a report not yet filed."""
    if not chat_id:
        return
    await session.exec(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.channel) == channel,
            col(InboxUpdate.chat_key) == chat_id,
            col(InboxUpdate.status) == "done",
        )
        .values(payload={}, chat_key=None, scrubbed=True)
    )
    await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.channel) == channel,
            col(OutboxMessage.target_kind) == "chat",
            col(OutboxMessage.target) == chat_id,
            col(OutboxMessage.status).in_(("sent", "failed")),
            col(OutboxMessage.scrubbed).is_(False),
        )
        .values(payload={}, scrubbed=True)
    )
