"""Adding to a report already filed (补充情况).

A reporter who remembers something after filing (the building number, a new injury) asks for
the report's progress with /status CODE in the chat it was filed from; while the report is
open the answer offers 📎 补充情况. Then every message is added to the ticket until they
press 完成: words as a ``reporter_added`` event (the station reads them in the ticket's
history), photos, voice messages, videos and files as attachments (sent to staff by their
file reference, ``flows.attachments``). The ticket's owner is told of each addition at once
through the outbox.

The step lives in the dialogue like the report's own steps (``dlg.step == "adding"``, the
code in the answers), so it survives restarts; only the chat that filed the report can add
to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import alarms, attachments
from flows.callbacks import IntakeAction, IntakeData, parse_intake
from flows.dialogue import ADDING_CODE, Dialogue
from flows.duplicates import case_of
from flows.events import Command, Event, Media, Person, Photo, Press, Text
from flows.messages import Button, Outcome, Reply
from flows.screens import adding_done, adding_prompt, say
from flows.sla import Policy
from flows.states import OPEN, State
from flows.tickets import locked_ticket
from storage.models import TEXT_MAX, Ticket, TicketEvent
from storage.outbox import enqueue

STEP: Final = "adding"
_DONE: Final = IntakeAction.ADD_DONE


def offer(dlg: Dialogue, code: str) -> list[list[Button]]:
    """The 补充情况 button under an open report's status (of the dialogue's version)."""
    data = IntakeData(dlg.version, IntakeAction.ADD, code).encode()
    return [[Button(say(dlg, "btn.add_info"), data)]]


async def addable(session: AsyncSession, *, person: Person, code: str) -> bool:
    return await _ticket(session, person=person, code=code, lock=False) is not None


async def take(
    session: AsyncSession,
    *,
    person: Person,
    dlg: Dialogue,
    event: Event,
    policy: Policy,
    now: datetime,
) -> Outcome | None:
    """This turn if it is about adding to a filed report; None: the intake's."""
    if isinstance(event, Press):
        data = parse_intake(event.data)
        if not isinstance(data, IntakeData) or data.action not in (IntakeAction.ADD, _DONE):
            return None
        if data.version != dlg.version:
            return None  # an old message's button: the intake says so
        if data.action == IntakeAction.ADD:
            return await _begin(session, person=person, dlg=dlg, code=data.value)
        return _finish(dlg, "addinfo.done") if dlg.step == STEP else None
    if dlg.step != STEP:
        return None
    if isinstance(event, Command):
        # /cancel stops adding (nothing is taken back: what was added was sent); any other
        # command is the intake's, which leaves this step.
        return _finish(dlg, "addinfo.done") if event.name == "cancel" else None
    code = str(dlg.answers.get(ADDING_CODE, ""))
    if isinstance(event, Text):
        text = event.text.strip()
        if len(text) > TEXT_MAX:
            return _ask(dlg, say(dlg, "story.too_long", length=len(text), max=TEXT_MAX))
        if len(text) < 2:
            return _ask(dlg, say(dlg, "addinfo.too_short"))
        return await _add(
            session, person=person, dlg=dlg, code=code, text=text, policy=policy, now=now
        )
    if isinstance(event, Photo | Media):
        kind = "photo" if isinstance(event, Photo) else event.kind
        caption = (event.caption or "").strip()[:TEXT_MAX] or None
        media = (kind, event.file_ref)
        return await _add(
            session,
            person=person,
            dlg=dlg,
            code=code,
            text=caption,
            media=media,
            policy=policy,
            now=now,
        )
    kind = getattr(event, "kind", "other")
    return _ask(dlg, say(dlg, "unsupported", kind=say(dlg, f"kind.{_known_kind(kind)}")))


async def _begin(
    session: AsyncSession, *, person: Person, dlg: Dialogue, code: str
) -> Outcome | None:
    if await _ticket(session, person=person, code=code, lock=False) is None:
        return Outcome([Reply(say(dlg, "addinfo.closed", code=code))])
    dlg.answers[ADDING_CODE] = code
    # Spoken to as when they reported: a child about themselves as 你 (screens.say).
    role = await session.exec(
        select(Ticket.reporter_role).where(
            col(Ticket.code) == code.upper(),
            col(Ticket.reporter_channel) == person.channel,
            col(Ticket.reporter_chat_id) == person.chat_id,
        )
    )
    dlg.answers["reporter"] = role.first()
    dlg.step = STEP
    dlg.version += 1
    return Outcome([adding_prompt(dlg)], changed=True)


async def _add(
    session: AsyncSession,
    *,
    person: Person,
    dlg: Dialogue,
    code: str,
    text: str | None,
    policy: Policy,
    now: datetime,
    media: tuple[str, str] | None = None,
) -> Outcome:
    ticket = await _ticket(session, person=person, code=code, lock=True)
    if ticket is None or ticket.id is None:  # closed meanwhile
        return _finish(dlg, "addinfo.closed")
    fields: list[str] = []
    if media is not None:
        kind, ref = media
        if await attachments.add(session, ticket_id=ticket.id, kind=kind, file_ref=ref):
            fields.append(kind)
    event = TicketEvent(
        ticket_id=ticket.id,
        at=now,
        actor="citizen",
        kind="reporter_added",
        note=text,  # the reporter's words: erased with the rest at retention
    )
    session.add(event)
    await session.flush()
    flags: tuple[object, ...] = ()
    if text:
        fields.insert(0, "info")
        # Words that raise the alarm raise the ticket's priority now (never lower it).
        flags = await alarms.add_flags(session, ticket, [text], policy=policy, now=now)
    if fields:
        owner = (
            ("station", ticket.owner_code)
            if ticket.owner_level == "township"
            else (ticket.owner_level, ticket.owner_code)
        )
        await enqueue(  # rendered per reader when expanded (flows.notices)
            session,
            dedup_key=f"reporter_added:{event.id}",
            kind="addition",
            now=now,
            payload={"fields": fields, "event": event.id},
            role_target=owner,
            ticket_id=ticket.id,
        )
    dlg.version += 1
    # The reporter's own code, also when their report was merged into another's.
    out = _ask(dlg, say(dlg, "addinfo.saved", code=code.upper()))
    if flags:  # the advice at once, as for the story
        out.replies.insert(0, Reply(say(dlg, "redflag.advice")))
    out.changed = out.outbox_written = True
    return out


def _finish(dlg: Dialogue, key: str) -> Outcome:
    code = str(dlg.answers.pop(ADDING_CODE, ""))
    dlg.step = "menu"
    dlg.version += 1
    text = say(dlg, key, code=code)
    dlg.answers.pop("reporter", None)
    return Outcome([Reply(text)], changed=True)


def _ask(dlg: Dialogue, text: str) -> Outcome:
    return Outcome([Reply(text, adding_done(dlg))])


def _known_kind(kind: str) -> str:
    return kind if kind in ("sticker", "contact", "location") else "other"


async def _ticket(session: AsyncSession, *, person: Person, code: str, lock: bool) -> Ticket | None:
    """The open report ``code`` filed from this chat, or None (unknown, another chat's, or
    no longer open: the same answer, so codes cannot be probed). A report merged into
    another (flows.merging) is added to through that ticket, which carries the case and its
    deadlines: its row is the one locked (``lock``), and the report's own is not written."""
    query = select(Ticket).where(
        col(Ticket.code) == code.upper(),
        col(Ticket.reporter_channel) == person.channel,
        col(Ticket.reporter_chat_id) == person.chat_id,
    )
    ticket = (await session.exec(query)).first()
    if ticket is not None and ticket.state == State.MERGED:
        ticket = await case_of(session, ticket)
    if ticket is not None and ticket.id is not None and lock:
        ticket = await locked_ticket(session, ticket.id)
    return ticket if ticket is not None and ticket.state in OPEN else None
