"""The reporter's say after 办结: 满意 / 基本满意 / 不满意, and an optional comment."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from flows.awaiting import FeedbackComment
from flows.callbacks import is_feedback, parse_feedback
from flows.lifecycle import NotNow, notice, state_event
from flows.messages import Outcome, Reply
from flows.states import FEEDBACK, State
from flows.texts import t
from flows.tickets import locked_ticket, supervisors_of, to_reporter
from storage.models import TEXT_MAX, Ticket, TicketEvent
from storage.outbox import enqueue


def is_feedback_press(data: str) -> bool:
    return is_feedback(data)


async def _own_ticket(
    session: AsyncSession, *, ticket_id: int, channel: str, chat_id: str
) -> Ticket | None:
    """Only the chat that filed the report may rate it."""
    ticket = await locked_ticket(session, ticket_id)
    if ticket is None or ticket.reporter_channel != channel or ticket.reporter_chat_id != chat_id:
        return None
    return ticket


async def on_press(
    *,
    session: AsyncSession,
    channel: str,
    chat_id: str,
    data: str,
    locale: str,
    now: datetime,
    ask_comment: bool = True,
) -> Outcome:
    """满意 / 基本满意 / 不满意 from the chat that filed the report. After 不满意 the next
    text is taken as a comment, unless ``ask_comment`` is off (the chat is in the middle of
    another report, whose next answer must not end up as a comment)."""
    press = parse_feedback(data)
    ticket = (
        await _own_ticket(session, ticket_id=press.ticket_id, channel=channel, chat_id=chat_id)
        if press is not None
        else None
    )
    if press is None or ticket is None or press.rating not in FEEDBACK:
        return Outcome(notice=t(locale, "stale"), locale=locale)
    rating = press.rating
    try:
        await give_feedback(session=session, ticket=ticket, rating=rating, now=now)
    except NotNow:
        return Outcome(notice=t(locale, "feedback.already"), locale=locale)
    if rating == "unsat":
        key = to_reporter(ticket, "feedback.sorry" if ask_comment else "feedback.sorry_reopened")
        return Outcome(
            [Reply(t(locale, key, max=TEXT_MAX))],
            changed=True,
            locale=locale,
            outbox_written=True,
            awaiting=FeedbackComment(ticket.id) if ask_comment and ticket.id is not None else None,
        )
    return Outcome([Reply(t(locale, "feedback.thanks"))], changed=True, locale=locale)


async def on_comment(
    *,
    session: AsyncSession,
    channel: str,
    chat_id: str,
    awaiting: FeedbackComment,
    text: str,
    locale: str,
    now: datetime,
) -> Outcome:
    ticket = await _own_ticket(
        session, ticket_id=awaiting.ticket_id, channel=channel, chat_id=chat_id
    )
    if ticket is None or ticket.id is None:
        return Outcome([Reply(t(locale, "stale"))], locale=locale)
    text = text.strip()
    # Too long or empty: say so and keep waiting for the comment, as for staff texts.
    if len(text) > TEXT_MAX:
        too_long = t(locale, "story.too_long", length=len(text), max=TEXT_MAX)
        return Outcome([Reply(too_long)], awaiting=awaiting, locale=locale)
    if not text:
        return Outcome([Reply(t(locale, "story.too_short"))], awaiting=awaiting, locale=locale)
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            actor="reporter",
            kind="feedback_comment",
            note=text,
        )
    )
    return Outcome([Reply(t(locale, "feedback.comment_saved"))], changed=True, locale=locale)


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
