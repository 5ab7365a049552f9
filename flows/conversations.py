"""One person's turn in the intake dialogue, inside the caller's transaction.

The conversation row is locked for the whole turn (``SELECT … FOR UPDATE`` on PostgreSQL;
SQLite has a single writer), the answer and the step change are saved together with any
ticket they create, and the caller sends the replies only after the commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import (
    additions,
    alarms,
    awaiting,
    commands,
    feedback,
    flood,
    languages,
    web_signin,
    work,
)
from flows.dialogue import REPORT_STEPS, AddToReport, Dialogue, LookupStatus, Submit, by_the_child
from flows.events import BotMembership, Command, Event, Person, Press, Text
from flows.intake import Intake
from flows.messages import Outcome, Reply
from flows.outbox import reply_payload
from flows.staff import active_member, unbind_group
from flows.texts import t
from flows.tickets import (
    add_to_report,
    file_report,
    receipt_text,
    status_text,
    urgent_receipt_text,
)
from flows.triage import derive_priority
from storage import dialogues, outbox
from storage.dialogues import Chat
from storage.models import Conversation, OutboxMessage, TicketEvent
from storage.outbox import enqueue


async def _elsewhere(
    session: AsyncSession,
    intake: Intake,
    person: Person,
    conv: Chat,
    event: Event,
    now: datetime,
) -> Outcome | None:
    """Staff work, feedback, or words an earlier button asked for; None: it is intake's."""
    held = awaiting.from_dict(conv.answers.get(awaiting.ANSWERS_KEY))
    if isinstance(event, Command) and event.name == "help":
        # Staff see their role's commands too (in a group: what works there, and only
        # staff are answered); a citizen's help is the dialogue's own.
        member = await active_member(session, channel=person.channel, user_id=person.user_id)
        if member is not None or person.in_group:
            return commands.help_outcome(member, in_group=person.in_group, locale=conv.locale)
    if web_signin.is_signin_command(event):
        assert isinstance(event, Command)
        return await web_signin.command(
            session=session, person=person, event=event, web_url=intake.web_url, now=now
        )
    if person.in_group or work.is_staff_event(event):
        return await work.handle(
            session=session, directory=intake.directory, person=person, event=event, now=now
        )
    if isinstance(event, Press) and feedback.is_feedback_press(event.data):
        return await feedback.on_press(
            session=session,
            channel=person.channel,
            chat_id=person.chat_id,
            data=event.data,
            locale=conv.locale,
            now=now,
            ask_comment=conv.step not in REPORT_STEPS,
        )
    if held is not None and isinstance(event, Text):
        if isinstance(held, awaiting.FeedbackComment):
            return await feedback.on_comment(
                session=session,
                channel=person.channel,
                chat_id=person.chat_id,
                awaiting=held,
                text=event.text,
                locale=conv.locale,
                now=now,
            )
        return await work.on_text(
            session=session,
            directory=intake.directory,
            person=person,
            awaiting=held,
            text=event.text,
            now=now,
        )
    if held is not None and isinstance(event, Command) and event.name == "cancel":
        return Outcome([Reply(t(conv.locale, "work.cancelled"))], locale=conv.locale)
    return None


async def take_turn(
    *,
    session: AsyncSession,
    intake: Intake,
    person: Person,
    event: Event,
    now: datetime,
) -> Outcome:
    """Apply one event to the chat's dialogue and carry out its effects."""
    channel, chat_id = person.channel, person.chat_id
    if isinstance(event, BotMembership):
        # Removed from a group: referrals must stop going there. Added: nothing to do until
        # a /join CODE binds it. No dialogue row is made for this chat.
        if event.present or not person.in_group:
            return Outcome(locale=person.locale)
        ended = await unbind_group(session=session, chat_id=chat_id, now=now, bot_present=False)
        return Outcome(changed=ended > 0, locale=person.locale)
    conv = await dialogues.lock(
        session, channel=channel, chat_id=chat_id, locale=person.locale, now=now
    )
    event = commands.deep_link(event)  # /start join-CODE from an invitation's link
    out = await _admitted_turn(session, intake, person, conv, event, now)
    await dialogues.save(session, conv)  # the step with its answer, in the turn's transaction
    return out


async def _admitted_turn(
    session: AsyncSession,
    intake: Intake,
    person: Person,
    conv: Chat,
    event: Event,
    now: datetime,
) -> Outcome:
    """The turn, or only a notice (or nothing) when the chat is held back for flooding."""
    channel, chat_id = person.channel, person.chat_id
    if person.in_group:
        # A group is shared: one member's flood must not silence the station's staff there.
        # The bot answers only enrolled staff in groups, and paces what it sends anyway.
        return await _turn(session, intake, person, conv, event, now)
    verdict = flood.admit(conv, now=now)
    if verdict == "answer":
        return await _turn(session, intake, person, conv, event, now)
    # Held back: the turn is tried in a savepoint and kept only when it is what must never
    # wait (a report filed or added to, a child in danger on the way to the place, /cancel).
    before = flood.Moment(conv.step, dict(conv.answers), conv.version)
    # A chat that already filed a report in the last minutes does not get a second one past
    # the limit: otherwise "in danger now" would page a station as fast as a script can.
    filed_lately = await flood.reports_since(
        session=session, channel=channel, chat_id=chat_id, since=now - flood.URGENT_SPACING
    )
    admitted = conv.copy()
    savepoint = await session.begin_nested()
    out = await _turn(session, intake, person, conv, event, now)
    after = flood.Moment(conv.step, dict(conv.answers), conv.version)
    if flood.must_answer(
        event, out.effect, before=before, after=after, urgent_allowed=not filed_lately
    ):
        await savepoint.commit()
        return out
    await savepoint.rollback()
    conv.restore(admitted)  # the turn undone; the flood count kept
    flood.hold(conv, now=now)  # recorded in the inbox, not answered
    notice = [Reply(t(conv.locale, "flood.notice"))] if verdict == "notice" else []
    return Outcome(notice, locale=conv.locale)


async def _turn(
    session: AsyncSession,
    intake: Intake,
    person: Person,
    conv: Chat,
    event: Event,
    now: datetime,
) -> Outcome:
    channel, chat_id = person.channel, person.chat_id
    routed = await _elsewhere(session, intake, person, conv, event, now)
    if routed is not None:
        answers = dict(conv.answers)
        if routed.awaiting is not None:
            answers[awaiting.ANSWERS_KEY] = awaiting.to_dict(routed.awaiting)
        else:  # done, or the person moved on to something else
            answers.pop(awaiting.ANSWERS_KEY, None)
        if answers != conv.answers:
            conv.answers = answers
            conv.updated_at = now
        return routed

    answers = dict(conv.answers)
    moved_on = answers.pop(awaiting.ANSWERS_KEY, None) is not None
    dlg = Dialogue(step=conv.step, answers=answers, locale=conv.locale, version=conv.version)
    followed = languages.follow_script(dlg, event)
    adding = await additions.take(
        session, person=person, dlg=dlg, event=event, policy=intake.policy, now=now
    )
    out = adding if adding is not None else intake.handle(dlg, event)
    if followed is not None:
        out.replies.insert(0, followed)
    out.changed = out.changed or moved_on

    if isinstance(out.effect, Submit):
        urgent = out.effect.urgent
        earlier = await flood.reports_in_last_hour(
            session=session, channel=channel, chat_id=chat_id, now=now
        )
        if earlier >= flood.REPORTS_PER_HOUR and not _is_p0(dlg.answers):
            # Not filed now: the answers stay, and the same confirmation works later.
            out = Outcome(
                [Reply(t(dlg.locale, "flood.quota", n=flood.REPORTS_PER_HOUR))],
                changed=True,
            )
            out.replies.extend(intake.screens.prompts(dlg))
            out.locale = dlg.locale
            _save(conv, dlg, now)
            return out
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
            policy=intake.policy,
        )
        out.outbox_written = True
        if earlier >= flood.REPORTS_PER_HOUR:  # a P0 past the quota: filed, and flagged
            session.add(
                TicketEvent(
                    ticket_id=receipt.ticket_id,
                    at=now,
                    actor="system",
                    kind="many_reports",
                    note=f"{earlier} earlier report(s) from this chat in the last hour",
                )
            )
        child = by_the_child(dlg)  # asked before the answers are let go
        if urgent:
            follow = intake.after_urgent_filing(dlg, receipt.code, receipt.ticket_id)
            if follow:  # what was sent, what was not, and the next question
                text = urgent_receipt_text(dlg.locale, receipt, child=child)
                out.replies.append(Reply(text))
                out.replies.extend(follow)
            else:  # every answer was there (changed at the summary): all of it was sent
                text = receipt_text(dlg.locale, receipt, child=child)
                out.replies.append(Reply(text, remove_keyboard=True))
        else:
            intake.after_submit(dlg, receipt.code)
            text = receipt_text(dlg.locale, receipt, child=child)
            out.replies.append(Reply(text, remove_keyboard=True))
    elif isinstance(out.effect, AddToReport):
        # ``answers`` is the turn's dict even when the last addition ended the dialogue
        # (which gives the dialogue a fresh one).
        await add_to_report(
            session=session,
            directory=intake.directory,
            ticket_id=int(answers["_ticket"]),
            fields=out.effect.fields,
            answers=answers,
            now=now,
            policy=intake.policy,
        )
        out.outbox_written = True
    elif isinstance(out.effect, LookupStatus):
        text = await status_text(
            session=session,
            directory=intake.directory,
            channel=channel,
            chat_id=chat_id,
            code=out.effect.code,
            locale=dlg.locale,
        )
        if dlg.step == "status" and out.effect.code is None:
            out.replies.append(Reply(text))
            out.replies.extend(intake.screens.prompts(dlg))
        else:
            if dlg.step == "status":
                dlg.step = "menu"
                dlg.version += 1
                out.changed = True
            code = out.effect.code
            buttons = []  # an open report of this chat may be added to (补充情况)
            if code is not None and await additions.addable(session, person=person, code=code):
                buttons = additions.offer(dlg, code)
            out.replies.append(Reply(text, buttons))
    out.locale = dlg.locale
    if out.changed or dlg.locale != conv.locale:
        _save(conv, dlg, now)
    return out


def _save(conv: Chat, dlg: Dialogue, now: datetime) -> None:
    conv.step = dlg.step
    conv.answers = dlg.answers
    conv.locale = dlg.locale
    conv.version = dlg.version
    conv.updated_at = now


def _is_p0(answers: dict[str, Any]) -> bool:
    """Would be filed as P0 (past the hourly quota all the same), by the answers or by
    the red flags in the reporter's words."""
    return (
        derive_priority(
            in_danger=str(answers.get("danger", "")),
            concerns=list(answers.get("concerns", [])),
            child_age=str(answers.get("age", "")),
            flags=alarms.flags_of(answers),
        )
        == "P0"
    )


async def update_failed(
    *, session: AsyncSession, channel: str, chat_id: str, update_key: str, now: datetime
) -> None:
    """Something a person sent could not be processed, even after retries: tell them, in
    their language, to send it again (and where to turn at once if a child is in danger)."""
    conv = (
        await session.exec(
            select(Conversation).where(
                col(Conversation.channel) == channel, col(Conversation.chat_id) == chat_id
            )
        )
    ).first()
    locale = conv.locale if conv is not None else "zh"
    await enqueue(
        session,
        dedup_key=f"failed-update:{channel}:{update_key}",
        kind="update_failed",
        now=now,
        payload={"text": t(locale, "update_failed"), "buttons": [], "locale": locale},
        chat_id=chat_id,
    )


async def queue_replies(
    *,
    session: AsyncSession,
    chat_id: str,
    outcome: Outcome,
    key: str,
    pressed_message_id: int | None,
    can_send_now: bool,
    now: datetime,
) -> tuple[list[OutboxMessage], bool]:
    """The turn's replies as outbox rows, in the turn's transaction: a crash before they
    are sent leaves them to the sender, not lost. Returns the rows and whether the channel
    sends them itself right after the commit — not when this chat still has older messages
    waiting, which they must not overtake."""
    direct = can_send_now and not await outbox.waiting_for(session, chat_id=chat_id)
    rows: list[OutboxMessage] = []
    for n, reply in enumerate(outcome.replies):
        payload = reply_payload(reply, locale=outcome.locale, edit_message_id=pressed_message_id)
        row_id = await enqueue(
            session,
            dedup_key=f"{key}:{n}",
            kind="reply",
            now=now,
            payload=payload,
            chat_id=chat_id,
            send_now=direct,
        )
        if row_id is not None:
            # What the sender needs of the row, without reading it back.
            rows.append(
                outbox.as_row(
                    id=row_id,
                    dedup_key="",
                    kind="reply",
                    target_kind="chat",
                    target=chat_id,
                    payload=payload,
                    status="sending" if direct else "pending",
                    attempts=1 if direct else 0,
                    # The lease as written: the sender renews it by this value if it must.
                    next_attempt_at=now + outbox.DIRECT_LEASE if direct else now,
                    created_at=now,
                )
            )
    return rows, direct
