"""Flood and abuse control: the per-chat rate limit, what still goes through, the report quota."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from harness import FakeClock
from sqlmodel import col, select

from flows import flood
from flows.conversations import take_turn
from flows.dialogue import AddToReport, Submit
from flows.events import Command, Event, Person, Press, Text
from flows.intake import Intake
from flows.messages import Button, Outcome
from storage.db import Database
from storage.models import Conversation, Ticket, TicketEvent

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def conversation() -> Conversation:
    return Conversation(channel="telegram", chat_id="1", step="menu", answers={}, updated_at=T0)


def _message(conv: Conversation, now: datetime, *, answered: bool = False) -> str:
    """One message through the limit as take_turn does it: held back unless ``answered``
    (what must never wait), and silence starts again with every message held back."""
    verdict = flood.admit(conv, now=now)
    if verdict != "answer" and not answered:
        flood.hold(conv, now=now)
    return verdict


def test_twenty_at_once_are_answered_then_one_notice_then_silence() -> None:
    conv = conversation()
    verdicts = [_message(conv, T0) for _ in range(300)]
    assert verdicts[:20] == ["answer"] * 20
    assert verdicts[20] == "notice"
    assert set(verdicts[21:]) == {"silent"}


def test_silence_lasts_until_the_chat_is_quiet_for_the_cool_down() -> None:
    conv = conversation()
    for _ in range(21):
        _message(conv, T0)
    later = T0 + flood.COOL_DOWN - timedelta(seconds=1)
    assert _message(conv, later) == "silent"  # and the wait starts again
    assert _message(conv, later + timedelta(seconds=59)) == "silent"
    quiet = later + timedelta(seconds=59) + flood.COOL_DOWN
    assert _message(conv, quiet) == "answer"
    assert conv.muted_until is None


def test_a_person_typing_steadily_is_never_held_back() -> None:
    """Two messages a second, for ten minutes: the bucket refills as fast."""
    conv = conversation()
    for i in range(1200):
        assert _message(conv, T0 + timedelta(seconds=i / 2)) == "answer"


def test_what_is_answered_anyway_does_not_prolong_the_silence() -> None:
    conv = conversation()
    for _ in range(25):
        _message(conv, T0)
    until = conv.muted_until
    assert _message(conv, T0 + timedelta(seconds=30), answered=True) == "silent"
    assert conv.muted_until == until  # not pushed on by an answered message
    assert _message(conv, until + timedelta(seconds=1)) == "answer"


def _moment(step: str, version: int, **answers: object) -> flood.Moment:
    return flood.Moment(step, dict(answers), version)


@pytest.mark.parametrize(
    ("event", "effect", "before", "after", "expected"),
    [
        (Command("cancel"), None, _moment("story", 5), _moment("menu", 6), True),
        (Command("cancel"), None, _moment("menu", 5), _moment("menu", 5), False),
        (Press("7:sm:ok"), Submit(), _moment("summary", 7), _moment("menu", 8), True),
        # A stale or forged confirmation changes nothing: held back, whatever it looks like.
        (Press("3:sm:ok"), None, _moment("summary", 7), _moment("summary", 7), False),
        (Press("3:mn:report"), None, _moment("menu", 3), _moment("danger", 4), True),
        (Press("4:dg:yes"), None, _moment("danger", 4), _moment("reporter", 5, danger="yes"), True),
        (Press("4:dg:no"), None, _moment("danger", 4), _moment("reporter", 5, danger="no"), False),
        (
            Press("5:rp:neighbour"),
            None,
            _moment("reporter", 5, danger="yes"),
            _moment("place", 6, danger="yes"),
            True,
        ),
        (
            Text("从化区街口街道"),
            None,
            _moment("place", 6, danger="no"),
            _moment("place_pick", 7, danger="no"),
            False,
        ),
        (
            Text("x"),
            AddToReport(("story",)),
            _moment("story", 9, danger="yes", _filed="X"),
            _moment("contact", 10),
            True,
        ),
        (Command("start"), None, _moment("menu", 3), _moment("menu", 4), False),
        # A place not found, or a page turned, moves nothing on: held back even when urgent.
        (
            Text("junk"),
            None,
            _moment("place", 6, danger="yes"),
            _moment("place", 7, danger="yes"),
            False,
        ),
    ],
)
def test_what_is_answered_even_when_held_back(
    event: Event, effect: object, before: flood.Moment, after: flood.Moment, expected: bool
) -> None:
    assert (
        flood.must_answer(event, effect, before=before, after=after, urgent_allowed=True)
        is expected
    )


def test_a_chat_that_filed_lately_files_no_second_urgent_report_past_the_limit() -> None:
    urgent = _moment("place_township", 8, danger="yes")
    filed = _moment("age", 9, danger="yes", _filed="X")
    press = Press("8:pt:440117001000")
    assert flood.must_answer(
        press, Submit(urgent=True), before=urgent, after=filed, urgent_allowed=True
    )
    assert not flood.must_answer(
        press, Submit(urgent=True), before=urgent, after=filed, urgent_allowed=False
    )
    # The additions to the report it did file still go through.
    adding = _moment("sex", 10, danger="yes", _filed="X")
    assert flood.must_answer(
        Press("9:ag:6-11"), AddToReport(("age",)), before=filed, after=adding, urgent_allowed=False
    )
    assert flood.must_answer(
        Press("10:ct:phone"),
        None,
        before=_moment("contact", 12, danger="yes", _filed="X"),
        after=_moment("contact_phone", 13, danger="yes", _filed="X"),
        urgent_allowed=False,
    )


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

    async def file_reports(self, n: int) -> None:
        """``n`` whole reports confirmed one after another (at the same time)."""
        for _ in range(n):
            await self.report_until_confirm()
            await self.press("sm", "ok")


async def tickets_of(db: Database, chat: str) -> list[Ticket]:
    async with db.unit() as session:
        query = select(Ticket).where(col(Ticket.reporter_chat_id) == chat)
        return list((await session.exec(query.order_by(col(Ticket.id)))).all())


async def test_five_reports_an_hour_then_the_sixth_waits_with_its_answers_kept(
    db: Database, intake: Intake, clock: FakeClock
) -> None:
    chat = Chat(db, intake, clock, "9301")
    await chat.file_reports(5)
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
    await chat.file_reports(5)
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
    out = await chat.press("sm", "ok")  # a second later: still held back
    assert "<code>" in "\n".join(r.text for r in out.replies)
    assert len(await tickets_of(db, "9303")) == 1
    async with db.unit() as session:
        out = await take_turn(
            session=session, intake=intake, person=chat.person, event=Text("?"), now=clock()
        )
    assert out.replies == []  # still held back
    assert (await chat.send(Command("cancel"))).replies == []  # nothing left to cancel
    clock.advance(minutes=2)  # quiet: answered again
    await chat.send(Command("start"))
    await chat.press("mn", "report")
    await chat.press("dg", "no")
    for _ in range(30):  # held back again, in the middle of a report
        async with db.unit() as session:
            await take_turn(
                session=session, intake=intake, person=chat.person, event=Text("?"), now=clock()
            )
    assert "已取消" in "\n".join(r.text for r in (await chat.send(Command("cancel"))).replies)


async def _burst(chat: Chat, n: int = 25) -> None:
    """Many short messages at one instant: the chat is held back."""
    for _ in range(n):
        async with chat.db.unit() as session:
            await take_turn(
                session=session,
                intake=chat.intake,
                person=chat.person,
                event=Text("救命"),
                now=chat.clock(),
            )


async def test_a_held_back_person_can_still_report_a_child_in_danger(
    db: Database, intake: Intake, clock: FakeClock
) -> None:
    """From the menu to the filed P0 and its additions, every step is answered."""
    chat = Chat(db, intake, clock, "9304")
    await chat.send(Command("start"))
    await _burst(chat)
    for action, value in (("mn", "report"), ("dg", "yes"), ("rp", "neighbour")):
        assert (await chat.press(action, value)).replies, action
    assert (await chat.send(Text("从化区街口街道"))).replies
    await chat.press("pk", "440117001000")
    assert "<code>" in chat.said()
    assert len(await tickets_of(db, "9304")) == 1
    assert (await chat.press("ag", "6-11")).replies  # the additions too
    assert (await chat.press("sx", "m")).replies


async def test_forged_or_stale_confirmations_are_not_answered_while_held_back(
    db: Database, intake: Intake, clock: FakeClock
) -> None:
    chat = Chat(db, intake, clock, "9305")
    await chat.send(Command("start"))
    replies = 0
    for i in range(200):  # a script, all at one instant
        async with db.unit() as session:
            out = await take_turn(
                session=session,
                intake=intake,
                person=chat.person,
                event=Press(f"{i % 7}:sm:ok"),
                now=clock(),
            )
        replies += len(out.replies)
    # Up to the limit each got its "stale" answer and the menu, then one notice, then nothing.
    assert replies <= 2 * flood.CAPACITY + 1
    assert len(await tickets_of(db, "9305")) == 0


async def test_a_script_cannot_page_a_station_with_urgent_reports_while_held_back(
    db: Database, intake: Intake, clock: FakeClock
) -> None:
    """Report, "in danger", place, cancel, again and again, at a script's pace: the first
    urgent report goes through the limit, the next ones (within minutes) do not."""
    chat = Chat(db, intake, clock, "9306")
    await chat.send(Command("start"))
    await _burst(chat)
    for _ in range(6):
        await chat.send(Command("start"))
        for action, value in (("mn", "report"), ("dg", "yes"), ("rp", "neighbour")):
            if any(b.data.split(":")[1] == action for b in chat.buttons):
                await chat.press(action, value)
        await chat.send(Text("从化区街口街道"))
        if any(b.data.split(":")[1] == "pk" for b in chat.buttons):
            await chat.press("pk", "440117001000")
        await chat.send(Command("cancel"))
        await _burst(chat, 5)
    assert len(await tickets_of(db, "9306")) == 1
