"""Red flags on a ticket: found in what the reporter wrote when it is filed or added to
(``flows.red_flags.screen``), kept on the ticket, recorded in its history, and shown to the
station as the words that raised them ("⚠️ 警示词：想死（自伤/自杀）").

Every door files through ``flows.tickets``, which calls ``flags_of`` and ``record``; an
addition to a filed ticket (the urgent report's story, or any later addition) goes through
``add_flags``, which may raise the priority of a ticket already on its way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from flows.red_flags import Flag, as_json, from_json, merge, raised, screen_all
from flows.sla import Policy, freeze, tighten
from flows.texts import CATALOGUES, normalise_locale, t
from storage.models import Ticket, TicketEvent

# The answers a reporter writes in their own words (a photo's caption becomes the story).
FREE_TEXT = ("story",)


def flags_of(answers: dict[str, Any]) -> tuple[Flag, ...]:
    """The red flags in a report's answers."""
    return screen_all(str(answers.get(name) or "") for name in FREE_TEXT)


def record(
    session: AsyncSession,
    ticket: Ticket,
    flags: Sequence[Flag],
    *,
    before: str,
    now: datetime,
) -> None:
    """Keep ``flags`` on the ticket and say so in its history: the categories and the
    priority before and after them — never the words, which are the reporter's own and are
    erased with the story."""
    assert ticket.id is not None
    ticket.red_flags = as_json(flags)
    if not flags:
        return
    categories = ",".join(f.category for f in flags)
    note = f"{categories} {before}→{ticket.priority}" if before != ticket.priority else categories
    session.add(
        TicketEvent(ticket_id=ticket.id, at=now, actor="system", kind="red_flags", note=note)
    )


async def add_flags(
    session: AsyncSession,
    ticket: Ticket,
    texts: Iterable[str],
    *,
    policy: Policy,
    now: datetime,
) -> tuple[Flag, ...]:
    """Screen words added to a filed ticket: new flags join the ticket's, and raise its
    priority (and shorten its deadlines from now on) when they call for more urgency.
    Returns the flags found in ``texts``."""
    found = screen_all(texts)
    if not found:
        return ()
    had = from_json(ticket.red_flags)
    before = ticket.priority
    priority = raised(before, found)
    if priority != before:
        ticket.priority = priority
        tighten(ticket, freeze(policy, priority), now=now)
    new = [f for f in found if f.category not in {h.category for h in had}]
    merged = merge(had, found)
    if new or priority != before:
        record(session, ticket, merged, before=before, now=now)
    else:
        ticket.red_flags = as_json(merged)
    session.add(ticket)
    return found


def flags_line(data: Any, locale: str) -> str | None:
    """The stored flags as the station reads them, HTML-escaped: ⚠️ 警示词：想死（自伤/自杀）;
    None when there are none. Erased tickets keep the categories without the words."""
    flags = from_json(data)
    if not flags:
        return None
    loc = normalise_locale(locale)
    sep = t(loc, "redflag.sep")
    items = []
    for flag in flags:
        category = t(loc, f"redflag.{flag.category}")
        if flag.words:
            items.append(t(loc, "redflag.item", words=sep.join(flag.words), category=category))
        else:
            items.append(category)
    # The items are escaped once already: set into the line as they are.
    return CATALOGUES[loc]["redflag.line"].format(flags=sep.join(items))


def with_flags(text: str, ticket: Ticket, locale: str) -> str:
    """``text`` (a referral, an addition, the details) with the ticket's flags' line under
    its first line, where a station member looks first."""
    line = flags_line(ticket.red_flags, locale)
    if line is None:
        return text
    head, newline, rest = text.partition("\n")
    return f"{head}\n{line}{newline}{rest}"
