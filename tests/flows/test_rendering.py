"""A notice read by several people is rendered per reader: labels in the reader's own
language, and every value — a typed place with &, < and quotes, a typed reason — escaped
exactly once, in both languages."""

from __future__ import annotations

import pytest
from factories import county_supervisor, file_ticket, outbox_rows, station_member
from harness import FakeClock
from sqlmodel import col, select

from flows import lifecycle, tickets
from flows.escalation import sweep_deadlines
from flows.notices import expand
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.states import State
from flows.texts import phrase, render
from storage.db import Database
from storage.models import StaffMember, Ticket

JIEKOU, CONGHUA = "440117001000", "440117000000"
PLACE = 'A&B <村口> "东"'
REASON = 'need <3 more days> & "a visit"'
ESCAPED_PLACE = 'A&amp;B &lt;村口&gt; "东"'
ESCAPED_REASON = 'need &lt;3 more days&gt; &amp; "a visit"'
READERS = {"zh": "61001", "en": "61002"}  # county supervisors, one per language


@pytest.fixture
async def ticket(db: Database, directory: Directory, clock: FakeClock) -> Ticket:
    for locale, chat in READERS.items():
        await county_supervisor(db, now=clock(), user=chat, name="s", locale=locale)
    await station_member(db, now=clock(), user="61003", name="w", locale="en")
    return await file_ticket(
        db, directory, now=clock(), chat="61009", place_text=PLACE, story="孩子一个人在家"
    )


async def texts_to(db: Database, directory: Directory, clock: FakeClock, chat: str) -> list[str]:
    async with db.unit() as session:
        while await expand(session, directory=directory, now=clock()):
            pass
    return [str(r.payload.get("text", "")) for r in await outbox_rows(db, target=chat)]


async def test_an_escalation_reads_in_each_supervisors_language_escaped_once(
    db: Database, directory: Directory, clock: FakeClock, ticket: Ticket
) -> None:
    clock.advance(hours=2, minutes=1)  # P1: past the sign-for window, the county hears
    await sweep_deadlines(db=db, directory=directory, policy=DEFAULT_POLICY, clock=clock)
    zh = [t for t in await texts_to(db, directory, clock, READERS["zh"]) if "超时未签收" in t]
    en = [t for t in await texts_to(db, directory, clock, READERS["en"]) if "Not signed" in t]
    assert len(zh) == 1 and len(en) == 1
    assert "🟠 P1 较急" in zh[0] and "🟠 P1 urgent" in en[0]
    assert "较急" not in en[0]  # no Chinese label for the English reader
    for text in (zh[0], en[0]):
        assert ESCAPED_PLACE in text and "&amp;amp;" not in text and "&amp;lt;" not in text


async def test_a_reason_typed_or_offered_reads_in_each_language_escaped_once(
    db: Database, directory: Directory, clock: FakeClock, ticket: Ticket
) -> None:
    async with db.unit() as session:
        member = (
            await session.exec(select(StaffMember).where(col(StaffMember.chat_id) == "61003"))
        ).one()
        locked = await tickets.locked_ticket(session, ticket.id or 0)
        assert locked is not None
        locked.state = State.ACKNOWLEDGED
        await lifecycle.request_extension(
            session=session,
            directory=directory,
            ticket=locked,
            member=member,
            days=3,
            reason=REASON,
            now=clock(),
        )
    zh = await texts_to(db, directory, clock, READERS["zh"])
    en = await texts_to(db, directory, clock, READERS["en"])
    assert any("理由：" + ESCAPED_REASON in t for t in zh)
    assert any("Reason: " + ESCAPED_REASON in t for t in en)
    assert not any("&amp;amp;" in t or "&amp;lt;" in t for t in zh + en)

    clock.advance(minutes=1)
    async with db.unit() as session:
        locked = await tickets.locked_ticket(session, ticket.id or 0)
        assert locked is not None
        await lifecycle.return_ticket(
            session=session,
            directory=directory,
            ticket=locked,
            member=member,
            reason=phrase("reason.area"),
            now=clock(),
        )
    zh = await texts_to(db, directory, clock, READERS["zh"])
    en = await texts_to(db, directory, clock, READERS["en"])
    assert any("不在本辖区" in t for t in zh)
    assert any("Not our area" in t for t in en) and not any("不在本辖区" in t for t in en)


def test_render_escapes_plain_values_once_and_sets_phrases_in_as_they_render() -> None:
    values = {
        "code": "<b>",
        "priority": phrase("priority.P0"),
        "owner": phrase("queue.county", name="A&B"),
        "due": "—",
        "place": PLACE,
    }
    for locale, label in (("zh", "🔴 P0 紧急"), ("en", "🔴 P0 immediate")):
        text = render(locale, "sla.breach", values)
        assert "<code>&lt;b&gt;</code>" in text and label in text
        assert "A&amp;B" in text and "&amp;amp;" not in text and ESCAPED_PLACE in text
