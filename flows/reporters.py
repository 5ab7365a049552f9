"""Who hears a ticket's news: the reporter of the ticket, and the reporters of every report
merged into it (flows.merging) — each in the chat they reported from, in their own language
and voice, under the code of their own report.

A report taken by phone or through the web has no chat: its reporter asks by code instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from flows.callbacks import FeedbackData
from flows.duplicates import merged_reports
from flows.messages import Button
from flows.outbox import payload_of
from flows.places import Directory
from flows.states import FEEDBACK
from flows.texts import render, t
from flows.tickets import owner_name, to_reporter
from storage.models import Ticket
from storage.outbox import enqueue


async def tell_reporters(
    session: AsyncSession,
    directory: Directory,
    ticket: Ticket,
    *,
    what: str,
    key: str,
    now: datetime,
    values: Mapping[str, object] | None = None,
    ask_rating: bool = False,
) -> None:
    """Tell every reporter of ``ticket`` the text ``key`` (said to a child in its ``you:``
    variant), in the caller's transaction. Each hears it under their own report's ``code``,
    with ``station`` (the ticket's owner) in their language; ``values`` may hold
    ``flows.texts.phrase`` values, rendered per reader too. ``ask_rating``: with the
    满意 / 基本满意 / 不满意 buttons, which each reporter answers for their own report."""
    for report in [ticket, *await merged_reports(session, ticket)]:
        if not report.reporter_chat_id or report.id is None:
            continue
        loc = report.locale
        station = await owner_name(session, directory, ticket, loc)
        text = render(
            loc,
            to_reporter(report, key),
            {**(values or {}), "code": report.code, "station": station},
        )
        buttons = (
            [[Button(t(loc, f"btn.fb.{f}"), FeedbackData(report.id, f).encode()) for f in FEEDBACK]]
            if ask_rating
            else []
        )
        # Keyed by time too: a reverted, re-dispatched or reopened ticket goes round again.
        # The row belongs to the reporter's own report (erased with it).
        await enqueue(
            session,
            dedup_key=f"reporter:{what}:{report.id}:{now.isoformat()}",
            kind="reporter_update",
            now=now,
            payload=payload_of(text, buttons),
            chat_id=report.reporter_chat_id,
            ticket_id=report.id,
        )
