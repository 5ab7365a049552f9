"""What staff are told about a ticket, and expanding role-targeted outbox rows into chats."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.alarms import with_flags
from flows.callbacks import StaffAction, staff_button
from flows.delivery import escalate_unnotified, given_up
from flows.duplicates import Link, link_of
from flows.messages import MEDIA_KINDS, Button
from flows.outbox import payload_of
from flows.places import Directory
from flows.states import State
from flows.texts import CATALOGUES, local_name, normalise_locale, t
from flows.texts import render as render_text
from flows.tickets import local_time, supervisors_of
from storage import outbox
from storage.models import OutboxMessage, StaffMember, StationGroup, Ticket, TicketEvent
from storage.outbox import enqueue

STORY_EXCERPT: Final = 300


def place_words(directory: Directory, ticket: Ticket, locale: str | None = None) -> str:
    """Township and village (never the reporter's details), plus what was typed: plain
    text, for a value that is escaped once where it is rendered. With ``locale``, the
    directory's name as that reader writes it (Traditional converted); the typed words as
    typed."""
    parts: list[str] = []
    if ticket.place_code and directory.get(ticket.place_code):
        name = directory.full_name(ticket.place_code)
        parts.append(local_name(locale, name) if locale is not None else name)
    if ticket.place_text:
        parts.append(f"（{ticket.place_text}）")
    return "".join(parts) or "—"


def place_line(directory: Directory, ticket: Ticket, locale: str | None = None) -> str:
    """``place_words`` as HTML, for a text put together here."""
    return html.escape(place_words(directory, ticket, locale), quote=False)


def _excerpt(text: str) -> str:
    text = text if len(text) <= STORY_EXCERPT else text[: STORY_EXCERPT - 1] + "…"
    return html.escape(text, quote=False)


def ticket_fields(directory: Directory, ticket: Ticket, locale: str) -> dict[str, str]:
    """The case facts shared by referrals and details, in the reader's language."""
    sep = ", " if normalise_locale(locale) == "en" else "、"

    def due(at: datetime | None) -> str:
        return local_time(at) if at else "—"

    # An urgent report is filed before these are answered; they follow as additions.
    pending = t(locale, "field.pending")
    return {
        "code": ticket.code,
        "priority": t(locale, f"priority.{ticket.priority}"),
        "place": place_line(directory, ticket, locale),
        "concerns": sep.join(t(locale, f"concern.{c}") for c in ticket.concerns) or pending,
        "age": t(locale, f"age.{ticket.child_age}"),
        "sex": t(locale, f"sex.{ticket.child_sex}"),
        # A child asking for help themselves is said so, in bold, wherever staff read it.
        "reporter": t(locale, "role.child.staff")
        if ticket.reporter_role == "child"
        else t(locale, f"role.{ticket.reporter_role}"),
        # Erased after retention (flows.retention), or not told yet (an urgent report).
        "story": t(locale, "erased.text")
        if ticket.erased_at is not None
        else _excerpt(ticket.story)
        if ticket.story
        else pending,
        "sign_due": due(ticket.sign_due_at),
        "action_due": due(ticket.first_action_due_at),
        "resolve_due": due(ticket.resolve_due_at),
    }


def _fill(locale: str, key: str, fields: dict[str, str]) -> str:
    """Like ``t`` but with values that are already escaped HTML."""
    template = CATALOGUES[normalise_locale(locale)][key]
    return template.format(**fields)


def referral_text(
    directory: Directory,
    ticket: Ticket,
    locale: str,
    *,
    signed: tuple[str, datetime] | None,
    link: Link | None = None,
) -> str:
    key = "referral" if ticket.owner_level == "township" else "referral.triage"
    text = with_flags(_fill(locale, key, ticket_fields(directory, ticket, locale)), ticket, locale)
    if ticket.reporter_role == "child":  # first, before anything else is read
        text = t(locale, "role.child.staff") + "\n" + text
    if link is not None:
        text += "\n\n" + link_text(link, locale)
    if signed is not None:
        name, at = signed
        text += "\n\n" + t(locale, "referral.signed", name=name, at=local_time(at))
    return text


def link_text(link: Link, locale: str) -> str:
    """The line of a report linked to an older ticket: 可能重复 (with why it cannot be merged,
    when it is more urgent), or 已合并到."""
    at = local_time(link.created_at)
    if link.merged:
        return t(locale, "referral.merged", code=link.code, at=at)
    text = t(locale, "referral.duplicate", code=link.code, at=at)
    if link.blocked == "more_urgent":
        text += "\n" + t(locale, "referral.duplicate.urgent")
    return text


def merge_button(ticket: Ticket, link: Link | None, locale: str) -> list[Button]:
    """合并, when the report may be merged into the ticket it is linked to now (a row of
    buttons; empty otherwise). It names that ticket, so an old button cannot merge the
    report into another one."""
    if link is None or link.merged or link.blocked is not None or ticket.id is None:
        return []
    label = t(locale, "btn.merge")
    return [staff_button(label, StaffAction.MERGE, ticket.id, str(link.ticket_id))]


def addition_text(
    directory: Directory, ticket: Ticket, locale: str, fields: list[str], added: str | None = None
) -> str:
    """What the reporter added after filing, from the ticket as it is now: an urgent report's
    answers, or (flows.additions) their words ``added`` ("info") and files (by kind)."""
    facts = ticket_fields(directory, ticket, locale)
    lines = [t(locale, "addition.title", code=ticket.code, priority=facts["priority"])]
    colon = ": " if normalise_locale(locale) == "en" else "："
    for field in fields:
        if field in MEDIA_KINDS:
            lines.append(t(locale, "addition.file", kind=t(locale, f"kind.{field}")))
            continue
        label = t(locale, f"summary.{field}")
        if field == "contact":
            value = t(locale, "addition.anonymous" if ticket.anonymous else "addition.phone")
        elif field == "photos":
            value = t(locale, "addition.photos")
        elif field == "info":
            # Erased at retention (or a row from before): said so, never left blank.
            value = _excerpt(added) if added else t(locale, "erased.text")
        else:
            value = facts[field]
        lines.append(f"{label}{colon}{value}")
    text = "\n".join(lines)
    # Words that raised the alarm are news when the words (the story, words added) are.
    return with_flags(text, ticket, locale) if {"story", "info"} & set(fields) else text


def referral_buttons(ticket: Ticket, locale: str, link: Link | None = None) -> list[list[Button]]:
    assert ticket.id is not None
    details = details_button(ticket, locale)
    if ticket.owner_level != "township":  # a county or city queue: route it to a township
        redispatch = t(locale, "btn.redispatch")
        return [[staff_button(redispatch, StaffAction.REDISPATCH, ticket.id, "0")], [details]]
    if ticket.state == State.MERGED:
        return [[details]]
    merge = merge_button(ticket, link, locale)
    return [
        [
            staff_button(t(locale, "btn.sign"), StaffAction.SIGN, ticket.id),
            staff_button(t(locale, "btn.return"), StaffAction.RETURN, ticket.id),
        ],
        *([merge] if merge else []),
        [details],
    ]


def details_button(ticket: Ticket, locale: str) -> Button:
    assert ticket.id is not None
    return staff_button(t(locale, "btn.details"), StaffAction.DETAILS, ticket.id)


async def signed_by(session: AsyncSession, ticket: Ticket) -> tuple[str, datetime] | None:
    if ticket.assignee_id is None or ticket.signed_at is None:
        return None
    member = await session.get(StaffMember, ticket.assignee_id)
    return (member.display_name if member else "?", ticket.signed_at)


@dataclass(frozen=True, slots=True)
class Recipient:
    chat_id: str
    locale: str


async def recipients(
    session: AsyncSession, *, target_kind: str, target: str, city_code: str | None = None
) -> list[Recipient]:
    """Chats behind a role target: a station's members and groups, or supervisors. A county
    with no supervisor enrolled passes to its city's."""
    if target_kind == "station":
        members = await session.exec(
            select(StaffMember).where(
                col(StaffMember.role) == "station",
                col(StaffMember.scope_code) == target,
                col(StaffMember.active).is_(True),
            )
        )
        groups = await session.exec(
            select(StationGroup).where(
                col(StationGroup.station_code) == target, col(StationGroup.active).is_(True)
            )
        )
        found = [Recipient(m.chat_id, m.locale) for m in members.all()]
        found += [Recipient(g.chat_id, "zh") for g in groups.all()]
        return found
    supervisors = await session.exec(
        select(StaffMember).where(
            col(StaffMember.role) == "supervisor",
            col(StaffMember.scope_level) == target_kind,
            col(StaffMember.scope_code) == target,
            col(StaffMember.active).is_(True),
        )
    )
    found = [Recipient(m.chat_id, m.locale) for m in supervisors.all()]
    if not found and target_kind == "county" and city_code:
        return await recipients(session, target_kind="city", target=city_code)
    return found


def render(payload: dict[str, Any], locale: str) -> dict[str, Any]:
    """A ``notice`` payload (catalogue key, values, button keys) in one reader's language."""
    buttons = [
        [Button(t(locale, label), data) for label, data in row] for row in payload["buttons"]
    ]
    rendered = payload_of(render_text(locale, payload["key"], payload["values"]), buttons)
    rendered["locale"] = locale
    return rendered


async def expand(
    session: AsyncSession,
    *,
    directory: Directory,
    now: datetime,
    duty_chat: str | None = None,
    limit: int = 50,
) -> int:
    """Turn due role-targeted rows into per-chat rows; returns how many were expanded.

    A level with nobody enrolled passes to the next one up (station → county → city), and
    the top is the duty chat. A referral is the exception: a station that nobody staffs
    cannot sign for it, so it is marked failed and the ticket escalates at once.
    """
    rows = await outbox.due_for_roles(session, now=now, limit=limit)
    for row in rows:
        assert row.id is not None
        ticket = await session.get(Ticket, row.ticket_id) if row.ticket_id else None
        chats = await recipients(
            session,
            target_kind=row.target_kind,
            target=row.target,
            city_code=ticket.city_code if ticket is not None else None,
        )
        if not chats and row.kind != "referral":
            # What a reporter added carries their words: up to the supervisors, not to a
            # duty chat that may be a group.
            top = None if row.kind == "addition" else duty_chat
            chats = await _next_level_up(session, row, ticket, top)
        try:
            copies = await _copies(session, directory, row, ticket, chats)
        except SQLAlchemyError:
            raise  # the database, not the row: the whole batch is tried again
        except Exception as exc:
            # A row that cannot be rendered (e.g. a text key renamed by an upgrade) is given
            # up with the reason; the rest of the batch goes on.
            row.status, row.failed_at = "failed", now
            row.error = f"cannot render: {type(exc).__name__}"
            session.add(row)
            await given_up(session=session, row=row, why=row.error, now=now)
            continue
        for chat, payload in copies:
            # Rows of one event aimed at several levels share a fan-out key, so a person who
            # is reached through two of them (a level passing up) hears it once.
            fanout = str(row.payload.get("fanout", row.dedup_key))
            await enqueue(
                session,
                dedup_key=f"{fanout}>{chat.chat_id}",
                kind=row.kind,
                now=now,
                payload=payload,
                chat_id=chat.chat_id,
                ticket_id=row.ticket_id,
                parent_id=row.id,
            )
        row.status = "sent" if chats else "failed"
        row.sent_at = now if chats else None
        row.failed_at = None if chats else now
        row.error = None if chats else "nobody enrolled"
        session.add(row)
        if not chats and ticket is not None and ticket.id is not None:
            note = f"{row.kind}: nobody enrolled at {row.target_kind} {row.target}"
            if row.kind == "referral":
                await escalate_unnotified(session=session, ticket_id=ticket.id, now=now, why=note)
            else:
                session.add(
                    TicketEvent(
                        ticket_id=ticket.id, at=now, actor="system", kind="undelivered", note=note
                    )
                )
    return len(rows)


async def _copies(
    session: AsyncSession,
    directory: Directory,
    row: OutboxMessage,
    ticket: Ticket | None,
    chats: list[Recipient],
) -> list[tuple[Recipient, dict[str, Any]]]:
    """Each chat's copy of a role-targeted row, in the reader's language."""
    signed = await signed_by(session, ticket) if ticket is not None else None
    linked = row.kind in ("referral", "addition") and ticket is not None
    link = await link_of(session, ticket) if linked and ticket is not None else None
    copies = []
    for chat in chats:
        if ticket is not None and row.kind == "referral":
            buttons = referral_buttons(ticket, chat.locale, link)
            if signed is not None:  # signed before this chat was reached
                buttons = [[details_button(ticket, chat.locale)]]
            text = referral_text(directory, ticket, chat.locale, signed=signed, link=link)
            payload = payload_of(text, buttons)
            payload["locale"] = chat.locale
        elif ticket is not None and row.kind == "addition":
            added = await _added_words(session, row.payload.get("event"))
            fields = list(row.payload["fields"])
            text = addition_text(directory, ticket, chat.locale, fields, added)
            # An urgent report's concerns may show it to be about a child already reported.
            if link is not None:
                text += "\n\n" + link_text(link, chat.locale)
            merge = merge_button(ticket, link, chat.locale)
            buttons = [*([merge] if merge else []), [details_button(ticket, chat.locale)]]
            payload = payload_of(text, buttons)
            payload["locale"] = chat.locale
        elif "key" in row.payload:
            payload = render(row.payload, chat.locale)
        else:
            payload = dict(row.payload)
            if not isinstance(payload.get("text"), str):  # nothing to say: not sent at all
                raise KeyError("text")
        copies.append((chat, payload))
    return copies


async def _added_words(session: AsyncSession, event_id: object) -> str | None:
    """The reporter's words an addition notice is about: its event's note, read when the
    notice is sent (so an erasure in between is respected)."""
    if not isinstance(event_id, int):
        return None
    event = await session.get(TicketEvent, event_id)
    return event.note if event is not None else None


async def _next_level_up(
    session: AsyncSession, row: OutboxMessage, ticket: Ticket | None, duty_chat: str | None
) -> list[Recipient]:
    """Nobody at this level: the supervisors above, then the duty chat."""
    if ticket is not None and row.target_kind == "station":
        level, code = supervisors_of(ticket)
        chats = await recipients(
            session, target_kind=level, target=code, city_code=ticket.city_code
        )
        if chats:
            return chats
    if ticket is not None and row.target_kind == "county":
        chats = await recipients(session, target_kind="city", target=ticket.city_code)
        if chats:
            return chats
    return [Recipient(duty_chat, "zh")] if duty_chat else []


async def show_signed(
    session: AsyncSession, directory: Directory, ticket: Ticket, name: str, now: datetime
) -> None:
    """Edit every referral message of this ticket once: who signed, and no more 签收 button."""
    await refresh_referrals(session, directory, ticket, signed=(name, now), why="signed", now=now)


async def refresh_referrals(
    session: AsyncSession,
    directory: Directory,
    ticket: Ticket,
    *,
    signed: tuple[str, datetime] | None,
    why: str,
    now: datetime,
) -> None:
    """Edit every referral message of this ticket to what it says now (who signed, what it
    was merged into), with only the 详情 button left: its 签收 and 合并 are done with."""
    assert ticket.id is not None
    link = await link_of(session, ticket)
    rows = (
        await session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.ticket_id) == ticket.id,
                col(OutboxMessage.kind) == "referral",
                col(OutboxMessage.target_kind) == "chat",
            )
        )
    ).all()
    for row in rows:
        # A referral delivered over a week ago has had its text erased (flows.retention).
        loc = row.payload.get("locale") or await _chat_locale(session, row.target)
        payload = payload_of(
            referral_text(directory, ticket, loc, signed=signed, link=link),
            [[details_button(ticket, loc)]],
        )
        payload["locale"] = loc
        if row.status == "pending":  # not sent yet: send the signed version instead
            row.payload = payload
            session.add(row)
        elif row.status in ("sending", "sent"):
            payload["edit_of"] = row.id
            await enqueue(
                session,
                dedup_key=f"{why}-edit:{row.id}:{now.isoformat()}",
                kind="referral_edit",
                now=now,
                payload=payload,
                chat_id=row.target,
                ticket_id=ticket.id,
            )


async def _chat_locale(session: AsyncSession, chat_id: str) -> str:
    """The language a staff member's chat reads (a group reads Chinese)."""
    found = (
        await session.exec(
            select(StaffMember.locale).where(
                col(StaffMember.chat_id) == chat_id, col(StaffMember.active).is_(True)
            )
        )
    ).first()
    return found or "zh"
