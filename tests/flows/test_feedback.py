"""The reporter's say after 办结 (flows.feedback, and the rating itself): 满意 closes,
不满意 reopens and tells the supervisor and the station, a comment is kept; only the chat
that filed the report may rate it, and only once."""

from __future__ import annotations

from typing import Any

import pytest
from factories import REPORTER, ticket_in
from harness import FakeClock
from sqlmodel import col, select

from flows import feedback, lifecycle, tickets
from flows.awaiting import FeedbackComment
from flows.callbacks import FeedbackData
from flows.places import Directory
from flows.states import State
from flows.texts import t
from storage.db import Database
from storage.models import TEXT_MAX, OutboxMessage, Ticket, TicketEvent

# The rating moves from flows.lifecycle to flows.feedback: this is the line to change then.
give_feedback = feedback.give_feedback


async def _press(
    db: Database, clock: FakeClock, data: str, *, chat: str = REPORTER, **kw: Any
) -> Any:
    async with db.unit() as session:
        return await feedback.on_press(
            session=session,
            channel="telegram",
            chat_id=chat,
            data=data,
            locale="zh",
            now=clock(),
            **kw,
        )


async def _ticket(db: Database, ticket_id: int | None) -> Ticket:
    async with db.unit() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None
    return ticket


async def test_satisfied_closes_and_a_second_answer_changes_nothing(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await ticket_in(db, directory, state=State.RESOLVED, now=clock())
    assert ticket.id is not None
    out = await _press(db, clock, FeedbackData(ticket.id, "sat").encode())
    assert out.replies[0].text == t("zh", "feedback.thanks") and out.awaiting is None
    closed = await _ticket(db, ticket.id)
    assert (closed.state, closed.feedback, closed.closed_at) == (State.CLOSED, "sat", clock())
    assert closed.next_due_at is None and closed.feedback_due_at is None
    again = await _press(db, clock, FeedbackData(ticket.id, "unsat").encode())
    assert again.notice == t("zh", "feedback.already") and not again.changed
    assert (await _ticket(db, ticket.id)).state == State.CLOSED


async def test_not_satisfied_reopens_tells_both_and_waits_for_a_comment(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await ticket_in(db, directory, state=State.RESOLVED, now=clock())
    assert ticket.id is not None
    clock.advance(days=40)  # long after the resolve deadline
    out = await _press(db, clock, FeedbackData(ticket.id, "unsat").encode())
    assert out.awaiting == FeedbackComment(ticket.id) and out.outbox_written
    reopened = await _ticket(db, ticket.id)
    assert reopened.state == State.REOPENED and reopened.feedback == "unsat"
    # A new resolution is owed, with at least a day for it.
    assert reopened.resolve_due_at is not None and reopened.resolve_due_at > clock()
    assert reopened.next_due_at == reopened.resolve_due_at
    async with db.unit() as session:
        told = (
            await session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "reopened"))
        ).all()
    assert {(r.target_kind, r.target) for r in told} == {
        ("county", "440117000000"),
        ("station", "440117001000"),
    }

    async def comment(text: str, chat: str = REPORTER) -> Any:
        async with db.unit() as session:
            return await feedback.on_comment(
                session=session,
                channel="telegram",
                chat_id=chat,
                awaiting=FeedbackComment(ticket.id or 0),
                text=text,
                locale="zh",
                now=clock(),
            )

    assert (await comment("   ")).awaiting == FeedbackComment(ticket.id)  # still waiting
    assert (await comment("x" * (TEXT_MAX + 1))).awaiting == FeedbackComment(ticket.id)
    assert (await comment("别人的", chat="901")).replies[0].text == t("zh", "stale")
    saved = await comment("  还是没有人来  ")
    assert saved.replies[0].text == t("zh", "feedback.comment_saved") and saved.awaiting is None
    async with db.unit() as session:
        notes = (
            await session.exec(
                select(TicketEvent.note).where(col(TicketEvent.kind) == "feedback_comment")
            )
        ).all()
    assert notes == ["还是没有人来"]


async def test_in_the_middle_of_another_report_no_comment_is_asked(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await ticket_in(db, directory, state=State.RESOLVED, now=clock())
    out = await _press(db, clock, FeedbackData(ticket.id or 0, "unsat").encode(), ask_comment=False)
    assert out.awaiting is None and out.replies[0].text == t("zh", "feedback.sorry_reopened")


@pytest.mark.parametrize("data", ["f:abc:sat", "f:1", "f:999999:sat", "f:1:great", "nonsense"])
async def test_forged_or_stale_presses_are_answered_stale(
    db: Database, directory: Directory, clock: FakeClock, data: str
) -> None:
    await ticket_in(db, directory, state=State.RESOLVED, now=clock())
    out = await _press(db, clock, data)
    assert out.notice == t("zh", "stale") and not out.changed


async def test_only_the_reporting_chat_may_rate_and_only_a_resolved_ticket(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    resolved = await ticket_in(db, directory, state=State.RESOLVED, now=clock())
    working = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock())
    assert resolved.id is not None and working.id is not None
    out = await _press(db, clock, FeedbackData(resolved.id, "sat").encode(), chat="901")
    assert out.notice == t("zh", "stale")
    early = await _press(db, clock, FeedbackData(working.id, "sat").encode())
    assert early.notice == t("zh", "feedback.already")
    assert (await _ticket(db, resolved.id)).state == State.RESOLVED
    assert (await _ticket(db, working.id)).state == State.IN_PROGRESS
    assert feedback.is_feedback_press("f:1:sat") and not feedback.is_feedback_press("w:sign:1")


async def test_give_feedback_refuses_an_unknown_rating(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await ticket_in(db, directory, state=State.RESOLVED, now=clock())
    async with db.unit() as session:
        locked = await tickets.locked_ticket(session, ticket.id or 0)
        assert locked is not None
        with pytest.raises(lifecycle.NotNow):
            await give_feedback(session=session, ticket=locked, rating="meh", now=clock())
