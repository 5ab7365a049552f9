"""The reporter's say after 办结: 满意 / 基本满意 / 不满意, and an optional comment."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.awaiting import FeedbackComment
from flows.callbacks import is_feedback, parse_feedback
from flows.duplicates import case_of, merged_reports
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
) -> tuple[Ticket, Ticket] | None:
    """The report (only the chat that filed it may rate it) and the ticket that carries its
    case: the report itself, or the ticket it was merged into, whose row is locked first
    (flows.merging's lock order)."""
    plain = await session.get(Ticket, ticket_id)
    if plain is None or plain.reporter_channel != channel or plain.reporter_chat_id != chat_id:
        return None
    case = await case_of(session, plain)
    if case.id is not None and case.id != ticket_id:
        case = await locked_ticket(session, case.id) or case
    report = await locked_ticket(session, ticket_id)
    if report is None:
        return None
    return report, case if case.id != ticket_id else report


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
    found = (
        await _own_ticket(session, ticket_id=press.ticket_id, channel=channel, chat_id=chat_id)
        if press is not None
        else None
    )
    if press is None or found is None or press.rating not in FEEDBACK:
        return Outcome(notice=t(locale, "stale"), locale=locale)
    ticket, case = found
    rating = press.rating
    try:
        await give_feedback(session=session, ticket=case, rating=rating, now=now, rater=ticket)
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
    found = await _own_ticket(
        session, ticket_id=awaiting.ticket_id, channel=channel, chat_id=chat_id
    )
    # Kept with the case, where the station reads it (a merged report's too).
    ticket = found[1] if found is not None else None
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


async def _answered(session: AsyncSession, ticket: Ticket, rater: Ticket) -> bool:
    """Whether ``rater``'s reporter has rated ``ticket``'s latest resolution: its own
    (``feedback``, emptied by each 办结), or a merged report's (its ``feedback`` event since)."""
    if rater.id == ticket.id:
        return ticket.feedback is not None
    since = ticket.resolved_at
    if since is None:
        return False
    found = await session.exec(
        select(TicketEvent.id).where(
            col(TicketEvent.ticket_id) == rater.id,
            col(TicketEvent.kind) == "feedback",
            col(TicketEvent.at) >= since,
        )
    )
    return found.first() is not None


async def _everyone_answered(session: AsyncSession, ticket: Ticket) -> bool:
    """Whether every reporter asked about ``ticket``'s resolution (those with a chat) has
    answered."""
    for report in [ticket, *await merged_reports(session, ticket)]:
        if report.reporter_chat_id and not await _answered(session, ticket, report):
            return False
    return True


async def give_feedback(
    *,
    session: AsyncSession,
    ticket: Ticket,
    rating: str,
    now: datetime,
    rater: Ticket | None = None,
) -> None:
    """A reporter's rating of ``ticket``'s resolution: their own report's (``rater``: a
    report merged into it; None: the ticket's own). 不满意 from any of its reporters reopens
    it and tells the supervisor; 满意 / 基本满意 close it once every reporter asked has
    answered (the sweep closes it when the window ends without them). A reporter answers
    once per resolution; one whose co-reporter's 不满意 has already reopened it is heard
    and recorded, and changes nothing more."""
    rater = rater or ticket
    merged = rater.id != ticket.id
    if rating not in FEEDBACK or await _answered(session, ticket, rater):
        raise NotNow
    # Reopened, it may still hear from a reporter who has not answered (a co-reporter's
    # 不满意 reopened it); its own reporter, whose 不满意 it was, has answered.
    if ticket.state not in (State.RESOLVED, State.REOPENED):
        raise NotNow
    note = rating if not merged else f"{rating} ({rater.code})"
    session.add(state_event(ticket, actor="reporter", kind="feedback", now=now, note=note))
    if merged:
        session.add(state_event(rater, actor="reporter", kind="feedback", now=now, note=rating))
        rater.feedback = rating
        session.add(rater)
    else:
        ticket.feedback = rating
    if ticket.state != State.RESOLVED:  # reopened by a co-reporter meanwhile: heard, no more
        session.add(ticket)
        return
    if rating != "unsat":
        if not await _everyone_answered(session, ticket):
            session.add(ticket)
            return
        session.add(
            state_event(ticket, actor="reporter", kind="closed", now=now, to_state=State.CLOSED)
        )
        ticket.feedback_due_at = None
        ticket.closed_at = now
        ticket.next_due_at = None
        session.add(ticket)
        return
    ticket.feedback_due_at = None
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
