"""Flood and abuse control for one chat: an inbound rate limit and a report quota.

A person in distress may type many short messages; a script may send hundreds. Each chat has
a token bucket (``CAPACITY`` messages, refilled over ``WINDOW``): past it, the chat gets one
polite notice, and then its messages are recorded (the inbox keeps them) but not answered
until it has been quiet for ``COOL_DOWN`` — so a backlog never comes back as a burst of
replies. What must never wait still goes through, judged by what the turn did: ``/cancel``
of a report, a report's confirmation, starting a report, every step of a report about a
child in danger now (to its place, which files it, and the additions after), and nothing
that a stale or forged button only looks like.

A chat files at most ``REPORTS_PER_HOUR`` reports an hour. A report whose answers make it
P0 is never refused: it is filed, and the ticket carries an event saying how many came
before it, for the station to weigh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.dialogue import REPORT_STEPS, AddToReport, Submit
from flows.events import Command, Event
from storage.dialogues import Chat
from storage.models import Ticket

CAPACITY: Final = 20
WINDOW: Final = timedelta(seconds=10)
COOL_DOWN: Final = timedelta(seconds=60)
REPORTS_PER_HOUR: Final = 5
# While held back, a new report about a child in danger goes through only if the chat filed
# none within this time.
URGENT_SPACING: Final = timedelta(minutes=10)

Verdict = Literal["answer", "notice", "silent"]


@dataclass(frozen=True, slots=True)
class Moment:
    """A dialogue before or after a turn, as flood control judges it."""

    step: str
    answers: dict[str, Any]
    version: int


def must_answer(
    event: Event, effect: object, *, before: Moment, after: Moment, urgent_allowed: bool
) -> bool:
    """What a held-back chat is still answered for, judged by what the turn did — so a
    stale or forged button, or a word at the wrong step, never counts, however it looks.
    ``urgent_allowed``: the chat filed no report lately, so a child in danger now may be
    reported past the limit (one at a time, not as fast as a script can go)."""
    if isinstance(event, Command) and event.name == "cancel":
        return before.step in REPORT_STEPS or before.step == "status"  # something to cancel
    if isinstance(effect, AddToReport):  # what a filed urgent report still lacks
        return True
    urgent = before.answers.get("danger") == "yes" or after.answers.get("danger") == "yes"
    if isinstance(effect, Submit):  # a report confirmed, or filed at its place
        return urgent_allowed or not urgent
    if after.step == before.step or after.version <= before.version:
        return False  # nothing moved on: a stale press, a place not found, a hint
    if before.step == "menu" and after.step == "danger":  # starting a report
        return urgent_allowed
    # A child in danger now: each step on the way to the place, which files the report,
    # and the steps of what follows.
    return urgent and (urgent_allowed or "_filed" in before.answers)


def admit(conv: Chat, *, now: datetime) -> Verdict:
    """Count one inbound message of the chat (the caller saves ``conv``): answer it, say
    once that the chat is held back, or stay silent."""
    rate = CAPACITY / WINDOW.total_seconds()
    tokens = float(CAPACITY) if conv.flood_tokens is None else conv.flood_tokens
    if conv.flood_at is not None and now > conv.flood_at:
        tokens = min(float(CAPACITY), tokens + (now - conv.flood_at).total_seconds() * rate)
    conv.flood_tokens = max(tokens - 1, 0.0)
    conv.flood_at = now
    if conv.muted_until is not None and now < conv.muted_until:
        return "silent"
    if tokens >= 1:
        conv.muted_until = None
        return "answer"
    return "notice"  # the first message past the limit (if it is not answered after all)


def hold(conv: Chat, *, now: datetime) -> None:
    """A message not answered: silence until the chat has been quiet for ``COOL_DOWN``
    (every such message starts the wait again; answered ones do not)."""
    conv.muted_until = now + COOL_DOWN


async def reports_in_last_hour(
    *, session: AsyncSession, channel: str, chat_id: str, now: datetime
) -> int:
    return await reports_since(
        session=session, channel=channel, chat_id=chat_id, since=now - timedelta(hours=1)
    )


async def reports_since(
    *, session: AsyncSession, channel: str, chat_id: str, since: datetime
) -> int:
    query = (
        select(func.count())
        .select_from(Ticket)
        .where(
            col(Ticket.reporter_channel) == channel,
            col(Ticket.reporter_chat_id) == chat_id,
            col(Ticket.created_at) > since,
        )
    )
    return int((await session.exec(query)).one())
