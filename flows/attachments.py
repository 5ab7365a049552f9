"""What a reporter attached to a ticket (photos, voice messages, videos, files) and how staff
see it: sent again by the channel's file reference into the staff member's private chat, never
into a group, each viewing recorded like a look at the reporter's phone."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.callbacks import StaffAction, staff_button
from flows.messages import MEDIA_KINDS, Button, Outcome, Reply
from flows.texts import t
from storage.models import StaffMember, Ticket, TicketAttachment, TicketEvent


def entry(kind: str, file_ref: str) -> str:
    """A file in a dialogue's answers (the "photos" list): a photo as its bare reference (as
    ever), another kind as "kind:reference" (Telegram's file ids hold no colon)."""
    return file_ref if kind == "photo" else f"{kind}:{file_ref}"


def parse_entry(value: str) -> tuple[str, str]:
    """(kind, reference) of an ``entry``."""
    kind, sep, ref = value.partition(":")
    return (kind, ref) if sep and kind in MEDIA_KINDS else ("photo", value)


async def count(session: AsyncSession, ticket_id: int) -> int:
    found = await session.exec(
        select(func.count())
        .select_from(TicketAttachment)
        .where(col(TicketAttachment.ticket_id) == ticket_id)
    )
    return int(found.one())


async def button(session: AsyncSession, member: StaffMember, ticket: Ticket) -> list[Button]:
    """The 📎 button of a ticket's detail: none when nothing is attached."""
    assert ticket.id is not None
    n = await count(session, ticket.id)
    if n == 0 or ticket.erased_at is not None:
        return []
    return [staff_button(t(member.locale, "btn.files", n=n), StaffAction.FILES, ticket.id)]


async def add(session: AsyncSession, *, ticket_id: int, kind: str, file_ref: str) -> bool:
    """Attach a file once; False when this ticket already holds it (a retried update)."""
    assert kind in MEDIA_KINDS
    held = await session.exec(
        select(TicketAttachment.id).where(
            col(TicketAttachment.ticket_id) == ticket_id,
            col(TicketAttachment.file_ref) == file_ref,
        )
    )
    if held.first() is not None:
        return False
    session.add(TicketAttachment(ticket_id=ticket_id, kind=kind, file_ref=file_ref))
    return True


async def show(
    session: AsyncSession, *, member: StaffMember, ticket: Ticket, now: datetime
) -> Outcome:
    """Every attachment of ``ticket`` sent to this member, captioned; the viewing recorded."""
    loc, tid = member.locale, ticket.id
    assert tid is not None
    rows = (
        await session.exec(
            select(TicketAttachment)
            .where(col(TicketAttachment.ticket_id) == tid)
            .order_by(col(TicketAttachment.id))
        )
    ).all()
    if not rows:
        return Outcome([Reply(t(loc, "files.none", code=ticket.code))])
    session.add(TicketEvent(ticket_id=tid, at=now, actor=f"staff:{member.id}", kind="files_viewed"))
    replies = [
        Reply(
            t(
                loc,
                "files.caption",
                code=ticket.code,
                i=i,
                n=len(rows),
                kind=t(loc, f"kind.{row.kind}"),
            ),
            media=(row.kind, row.file_ref),
        )
        for i, row in enumerate(rows, 1)
    ]
    return Outcome(replies, changed=True)
