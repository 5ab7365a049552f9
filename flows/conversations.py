"""One person's turn in the intake dialogue, inside the caller's transaction.

The conversation row is locked for the whole turn (``SELECT … FOR UPDATE`` on PostgreSQL;
SQLite has a single writer), the answer and the step change are saved together with any
ticket they create, and the caller sends the replies only after the commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.intake import Dialogue, Event, Intake, LookupStatus, Outcome, Reply, Submit
from flows.texts import guess_locale
from flows.tickets import file_report, receipt_text, status_text
from storage.models import Conversation


async def _lock_conversation(
    session: AsyncSession, *, channel: str, chat_id: str, locale: str, now: datetime
) -> Conversation:
    query = (
        select(Conversation)
        .where(col(Conversation.channel) == channel, col(Conversation.chat_id) == chat_id)
        .with_for_update()
    )
    row = (await session.exec(query)).first()
    if row is not None:
        return row
    row = Conversation(
        channel=channel, chat_id=chat_id, step="menu", answers={}, locale=locale, updated_at=now
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another worker created it first; take theirs
        found = (await session.exec(query)).first()
        assert found is not None
        return found
    return row


async def take_turn(
    *,
    session: AsyncSession,
    intake: Intake,
    channel: str,
    chat_id: str,
    event: Event,
    now: datetime,
    user_locale: str | None = None,
) -> Outcome:
    """Apply one event to the chat's dialogue and carry out its effects."""
    conv = await _lock_conversation(
        session,
        channel=channel,
        chat_id=chat_id,
        locale=guess_locale(user_locale),
        now=now,
    )
    dlg = Dialogue(
        step=conv.step, answers=dict(conv.answers), locale=conv.locale, version=conv.version
    )
    out = intake.handle(dlg, event)

    if isinstance(out.effect, Submit):
        conv.report_seq += 1
        receipt = await file_report(
            session=session,
            directory=intake.directory,
            answers=dlg.answers,
            channel=channel,
            chat_id=chat_id,
            intake_key=f"{channel}:{chat_id}:{conv.report_seq}",
            locale=dlg.locale,
            now=now,
        )
        intake.after_submit(dlg, receipt.code)
        out.outbox_written = True
        out.replies.append(Reply(receipt_text(dlg.locale, receipt), remove_keyboard=True))
    elif isinstance(out.effect, LookupStatus):
        text = await status_text(
            session=session,
            directory=intake.directory,
            channel=channel,
            chat_id=chat_id,
            code=out.effect.code,
            locale=dlg.locale,
        )
        out.replies.append(Reply(text))
        if dlg.step == "status" and out.effect.code is None:
            out.replies.append(intake.prompt(dlg))
        elif dlg.step == "status":
            dlg.step = "menu"
            dlg.version += 1
            out.changed = True
    out.locale = dlg.locale
    if out.changed or dlg.locale != conv.locale:
        conv.step = dlg.step
        conv.answers = dlg.answers
        conv.locale = dlg.locale
        conv.version = dlg.version
        conv.updated_at = now
        session.add(conv)
    return out
