"""Flood and abuse control for one chat: an inbound rate limit and a report quota.

A person in distress may type many short messages; a script may send hundreds. Each chat has
a token bucket (``CAPACITY`` messages, refilled over ``WINDOW``): past it, the chat gets one
polite notice, and then its messages are recorded (the inbox keeps them) but not answered
until it has been quiet for ``COOL_DOWN`` — so a backlog never comes back as a burst of
replies. What must never wait still goes through: ``/cancel``, a report's confirmation,
"the child is in danger now", and the place that files such a report.

A chat files at most ``REPORTS_PER_HOUR`` reports an hour. A report whose answers make it
P0 is never refused: it is filed, and the ticket carries an event saying how many came
before it, for the station to weigh.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.intake import Command, Event, Press, Text
from storage.models import Conversation, Ticket

CAPACITY: Final = 20
WINDOW: Final = timedelta(seconds=10)
COOL_DOWN: Final = timedelta(seconds=60)
REPORTS_PER_HOUR: Final = 5
_PLACE_STEPS: Final = frozenset({"place", "place_county", "place_township", "place_pick"})

Verdict = Literal["answer", "notice", "silent"]


def exempt(event: Event, *, step: str, answers: dict[str, object]) -> bool:
    """What is answered even from a chat that is being held back."""
    if isinstance(event, Command) and event.name == "cancel":
        return True
    if isinstance(event, Press):
        action = event.data.split(":")[1:3]
        if action in (["sm", "ok"], ["dg", "yes"]):
            return True
    urgent = answers.get("danger") == "yes" and "_filed" not in answers
    # The place of a report about a child in danger now files it: typed or pressed.
    return urgent and step in _PLACE_STEPS and isinstance(event, Press | Text)


def admit(conv: Conversation, *, exempt: bool, now: datetime) -> Verdict:
    """Count one inbound message of the chat (the caller saves ``conv``): answer it, say
    once that the chat is held back, or stay silent."""
    rate = CAPACITY / WINDOW.total_seconds()
    tokens = float(CAPACITY) if conv.flood_tokens is None else conv.flood_tokens
    if conv.flood_at is not None and now > conv.flood_at:
        tokens = min(float(CAPACITY), tokens + (now - conv.flood_at).total_seconds() * rate)
    conv.flood_tokens = max(tokens - 1, 0.0)
    conv.flood_at = now
    if conv.muted_until is not None and now < conv.muted_until:
        conv.muted_until = now + COOL_DOWN  # quiet means quiet: every message restarts it
        return "answer" if exempt else "silent"
    if tokens >= 1:
        conv.muted_until = None
        return "answer"
    conv.muted_until = now + COOL_DOWN
    return "answer" if exempt else "notice"


async def reports_in_last_hour(
    *, session: AsyncSession, channel: str, chat_id: str, now: datetime
) -> int:
    query = (
        select(func.count())
        .select_from(Ticket)
        .where(
            col(Ticket.reporter_channel) == channel,
            col(Ticket.reporter_chat_id) == chat_id,
            col(Ticket.created_at) > now - timedelta(hours=1),
        )
    )
    return int((await session.exec(query)).one())
