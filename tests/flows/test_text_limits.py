"""One limit per stored text, told to the person and enforced before storage: a text of
TEXT_MAX characters is kept whole (with the label its event note carries), one more is
refused with the limit and the bot keeps waiting, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from factories import file_ticket, person_of, sign, staff_text, station_member
from sqlmodel import col, select

from flows import feedback
from flows.awaiting import ExtensionReason, FeedbackComment, Resolution
from flows.events import Person
from flows.places import Directory
from storage.db import Database
from storage.models import TEXT_MAX, Ticket, TicketEvent

REPORTER_CHAT = "900"


async def _signed_ticket(db: Database, directory: Directory, clock: Any) -> tuple[int, Person]:
    member = await station_member(db, now=clock(), user="901", name="社工")
    # The longest story fits its column too.
    ticket = await file_ticket(
        db, directory, now=clock(), chat=REPORTER_CHAT, story="孩" * TEXT_MAX
    )
    await sign(db, directory, ticket=ticket, member=member, now=clock())
    assert ticket.id is not None
    return ticket.id, person_of(member)


async def _notes(db: Database, ticket_id: int, kind: str) -> list[str | None]:
    async with db.unit() as session:
        return list(
            (
                await session.exec(
                    select(TicketEvent.note).where(
                        col(TicketEvent.ticket_id) == ticket_id, col(TicketEvent.kind) == kind
                    )
                )
            ).all()
        )


async def test_an_extension_reason_and_a_resolution_of_the_promised_length_are_kept(
    db: Database, directory: Directory, clock: Any
) -> None:
    tid, person = await _signed_ticket(db, directory, clock)
    ext = ExtensionReason(tid, 3)
    res = Resolution(tid, "helped_on_site")  # the longest outcome label
    for awaiting in (ext, res):
        out = await staff_text(
            db, directory, person=person, awaiting=awaiting, text="长" * (TEXT_MAX + 1), now=clock()
        )
        assert out.awaiting == awaiting  # still waiting for the text
        assert f"{TEXT_MAX + 1} 字" in out.replies[0].text and str(TEXT_MAX) in out.replies[0].text
    assert await _notes(db, tid, "extension_requested") == []

    out = await staff_text(
        db, directory, person=person, awaiting=ext, text="理" * TEXT_MAX, now=clock()
    )
    assert out.awaiting is None and out.changed
    assert await _notes(db, tid, "extension_requested") == ["3d: " + "理" * TEXT_MAX]
    out = await staff_text(
        db, directory, person=person, awaiting=res, text="结" * TEXT_MAX, now=clock()
    )
    assert out.awaiting is None and out.changed
    assert await _notes(db, tid, "resolved") == ["helped_on_site: " + "结" * TEXT_MAX]
    async with db.unit() as session:
        ticket = await session.get(Ticket, tid)
        assert ticket is not None and ticket.resolution_note == "结" * TEXT_MAX


async def test_a_feedback_comment_too_long_is_refused_with_the_limit_and_still_awaited(
    db: Database, directory: Directory, clock: Any
) -> None:
    tid, person = await _signed_ticket(db, directory, clock)
    await staff_text(
        db, directory, person=person, awaiting=Resolution(tid, "police"), text="已处理", now=clock()
    )
    async with db.unit() as session:
        out = await feedback.on_press(
            session=session,
            channel="telegram",
            chat_id=REPORTER_CHAT,
            data=f"f:{tid}:unsat",
            locale="zh",
            now=clock(),
        )
    awaiting = FeedbackComment(tid)
    assert out.awaiting == awaiting
    assert f"不超过 {TEXT_MAX} 字" in out.replies[0].text  # the limit, told up front

    async def comment(text: str) -> Any:
        async with db.unit() as session:
            return await feedback.on_comment(
                session=session,
                channel="telegram",
                chat_id=REPORTER_CHAT,
                awaiting=awaiting,
                text=text,
                locale="zh",
                now=clock(),
            )

    for bad in ("评" * (TEXT_MAX + 1), "  \n "):
        out = await comment(bad)
        assert out.awaiting == awaiting and not out.changed
    assert f"{TEXT_MAX + 1} 字" in (await comment("评" * (TEXT_MAX + 1))).replies[0].text
    assert await _notes(db, tid, "feedback_comment") == []
    out = await comment(" " + "评" * TEXT_MAX + "\n")
    assert out.awaiting is None and out.changed
    assert await _notes(db, tid, "feedback_comment") == ["评" * TEXT_MAX]
