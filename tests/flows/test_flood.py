"""Flood and abuse control: the per-chat rate limit, what still goes through, the report quota."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from harness import FakeClock
from sqlmodel import col, select

from flows import flood
from flows.conversations import take_turn
from flows.intake import Button, Command, Event, Intake, Press, Text
from flows.messages import Outcome
from flows.work import Person
from storage.db import Database
from storage.models import Conversation, Ticket, TicketEvent

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def conversation() -> Conversation:
    return Conversation(channel="telegram", chat_id="1", step="menu", answers={}, updated_at=T0)


def test_twenty_at_once_are_answered_then_one_notice_then_silence() -> None:
    conv = conversation()
    verdicts = [flood.admit(conv, exempt=False, now=T0) for _ in range(300)]
    assert verdicts[:20] == ["answer"] * 20
    assert verdicts[20] == "notice"
    assert set(verdicts[21:]) == {"silent"}


def test_silence_lasts_until_the_chat_is_quiet_for_the_cool_down() -> None:
    conv = conversation()
    for _ in range(21):
        flood.admit(conv, exempt=False, now=T0)
    later = T0 + flood.COOL_DOWN - timedelta(seconds=1)
    assert flood.admit(conv, exempt=False, now=later) == "silent"  # and the wait starts again
    assert flood.admit(conv, exempt=False, now=later + timedelta(seconds=59)) == "silent"
    quiet = later + timedelta(seconds=59) + flood.COOL_DOWN
    assert flood.admit(conv, exempt=False, now=quiet) == "answer"
    assert conv.muted_until is None


def test_a_person_typing_steadily_is_never_held_back() -> None:
    """Two messages a second, for ten minutes: the bucket refills as fast."""
    conv = conversation()
    for i in range(1200):
        assert flood.admit(conv, exempt=False, now=T0 + timedelta(seconds=i / 2)) == "answer"


def test_what_must_never_wait_is_answered_while_held_back() -> None:
    conv = conversation()
    for _ in range(25):
        flood.admit(conv, exempt=False, now=T0)
    assert flood.admit(conv, exempt=True, now=T0) == "answer"
    assert flood.admit(conv, exempt=False, now=T0) == "silent"


@pytest.mark.parametrize(
    ("event", "step", "answers", "expected"),
    [
        (Command("cancel"), "story", {}, True),
        (Command("start"), "story", {}, False),
        (Press("7:sm:ok"), "summary", {}, True),
        (Press("7:sm:edit"), "summary", {}, False),
        (Press("3:dg:yes"), "danger", {}, True),
        (Press("3:dg:no"), "danger", {}, False),
        (Press("5:pc:440100000000"), "place", {"danger": "yes"}, True),
        (Text("从化区街口街道"), "place", {"danger": "yes"}, True),
        (Press("5:pc:440100000000"), "place", {"danger": "no"}, False),
        (Text("孩子"), "story", {"danger": "yes", "_filed": "X"}, False),
    ],
)
def test_what_is_exempt(
    event: Event, step: str, answers: dict[str, object], expected: bool
) -> None:
    assert flood.exempt(event, step=step, answers=answers) is expected


class Chat:
    """One chat taking turns through flows, one second apart (a person, not a flood)."""

    def __init__(self, db: Database, intake: Intake, clock: FakeClock, chat: str) -> None:
        self.db, self.intake, self.clock = db, intake, clock
        self.person = Person("telegram", chat, chat, False, "", "zh")
        self.buttons: list[Button] = []
        self.last = Outcome()

    async def send(self, event: Event) -> Outcome:
        self.clock.advance(seconds=1)
        async with self.db.unit() as session:
            self.last = await take_turn(
                session=session,
                intake=self.intake,
                person=self.person,
                event=event,
                now=self.clock(),
            )
        for reply in self.last.replies:
            if reply.buttons:
                self.buttons = [b for row in reply.buttons for b in row]
        return self.last

    async def press(self, action: str, value: str | None = None) -> Outcome:
        for b in self.buttons:
            _, act, val = b.data.split(":", 2)
            if act == action and (value is None or val == value):
                return await self.send(Press(b.data))
        raise AssertionError(f"no button {action}:{value}")

    async def report_until_confirm(self, *, danger: str = "no", concern: str = "no_carer") -> None:
        await self.send(Command("start"))
        await self.press("mn", "report")
        await self.press("dg", danger)
        await self.press("rp", "neighbour")
        await self.send(Text("从化区街口街道"))
        await self.press("pk", "440117001000")
        await self.press("ag", "6-11")
        await self.press("sx", "f")
        await self.press("cn", concern)
        await self.press("cd")
        await self.send(Text("孩子一个人在家两天了。"))
        await self.press("ct", "anon")

    def said(self) -> str:
        return "\n".join(r.text for r in self.last.replies)


async def tickets_of(db: Database, chat: str) -> list[Ticket]:
    async with db.unit() as session:
        query = select(Ticket).where(col(Ticket.reporter_chat_id) == chat)
        return list((await session.exec(query.order_by(col(Ticket.id)))).all())


async def test_five_reports_an_hour_then_the_sixth_waits_with_its_answers_kept(
    db: Database, intake: Intake, clock: FakeClock
) -> None:
    chat = Chat(db, intake, clock, "9301")
    for _ in range(5):
        await chat.report_until_confirm()
        await chat.press("sm", "ok")
    assert len(await tickets_of(db, "9301")) == 5
    await chat.report_until_confirm()
    await chat.press("sm", "ok")
    assert "一小时内已经提交了 5 份报告" in chat.said()
    assert len(await tickets_of(db, "9301")) == 5
    async with db.unit() as session:
        conv = (await session.exec(select(Conversation))).one()
    assert conv.step == "summary" and conv.answers["story"] == "孩子一个人在家两天了。"
    clock.advance(hours=1)
    await chat.press("sm", "ok")  # the new summary's confirmation, an hour on
    assert len(await tickets_of(db, "9301")) == 6


async def test_a_p0_past_the_quota_is_filed_and_flagged(
    db: Database, intake: Intake, clock: FakeClock
) -> None:
    chat = Chat(db, intake, clock, "9302")
    for _ in range(5):
        await chat.report_until_confirm()
        await chat.press("sm", "ok")
    await chat.report_until_confirm(concern="sexual")  # P0 by its concerns
    await chat.press("sm", "ok")
    found = await tickets_of(db, "9302")
    assert len(found) == 6 and found[-1].priority == "P0"
    async with db.unit() as session:
        flagged = (
            await session.exec(
                select(TicketEvent).where(
                    col(TicketEvent.ticket_id) == found[-1].id,
                    col(TicketEvent.kind) == "many_reports",
                )
            )
        ).all()
    assert [e.note for e in flagged] == ["5 earlier report(s) from this chat in the last hour"]
    # An urgent report ("in danger now") past the quota is filed at its place, flagged too.
    await chat.send(Command("start"))
    await chat.press("mn", "report")
    await chat.press("dg", "yes")
    await chat.press("rp", "neighbour")
    await chat.send(Text("从化区街口街道"))
    await chat.press("pk", "440117001000")
    assert len(await tickets_of(db, "9302")) == 7


async def test_a_held_back_chat_can_still_confirm_its_report_and_cancel(
    db: Database, intake: Intake, clock: FakeClock
) -> None:
    chat = Chat(db, intake, clock, "9303")
    await chat.report_until_confirm()
    for _ in range(30):  # a burst at one instant: held back
        async with db.unit() as session:
            await take_turn(
                session=session, intake=intake, person=chat.person, event=Text("?"), now=clock()
            )
    chat.clock.advance(seconds=-1)  # the confirmation comes in the same instant
    out = await chat.press("sm", "ok")
    assert "<code>" in "\n".join(r.text for r in out.replies)
    assert len(await tickets_of(db, "9303")) == 1
    async with db.unit() as session:
        out = await take_turn(
            session=session, intake=intake, person=chat.person, event=Text("?"), now=clock()
        )
    assert out.replies == []  # still held back
    async with db.unit() as session:
        out = await take_turn(
            session=session,
            intake=intake,
            person=chat.person,
            event=Command("cancel"),
            now=clock(),
        )
    assert out.replies  # /cancel is answered
