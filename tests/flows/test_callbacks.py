"""Button data: every button the bot can show reads back as what built it, within Telegram's
64 bytes; forged, malformed and other-format data reads as nothing."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import pytest
from factories import county_supervisor, file_ticket, staff_text, station_member
from harness import FakeClock
from sqlmodel import col, select

from flows import attachments, feedback, staff_views, work
from flows.awaiting import StaffText
from flows.callbacks import (
    DATA_MAX_BYTES,
    CallbackData,
    FeedbackData,
    IntakeAction,
    IntakeData,
    LanguageData,
    StaffAction,
    StaffData,
    is_feedback,
    is_staff,
    parse,
    parse_feedback,
    parse_intake,
    parse_staff,
)
from flows.dialogue import AddToReport, Dialogue, Submit
from flows.events import Command, Event, Person, Press, Text
from flows.intake import Intake
from flows.messages import Button, Outcome, Reply
from flows.notices import expand, referral_buttons
from flows.places import Directory
from flows.states import FEEDBACK, State
from flows.texts import LOCALES, t
from storage.db import Database
from storage.models import OutboxMessage, StaffMember, Ticket

JIEKOU, CONGHUA = "440117001000", "440117000000"
PUNING = "445281000000"  # 普宁市: 33 townships, three pages of the picker
STATION, SUPERVISOR, PUNING_SUPERVISOR, REPORTER = "7601", "7602", "7603", "7604"

# What a press that did nothing is answered with.
REFUSALS: Final = {
    text
    for loc in LOCALES
    for text in (
        t(loc, "refused"),
        t(loc, "work.private_only"),
        t(loc, "place.private"),
        t(loc, "place.elsewhere"),
        *(t(loc, "work.not_now", state=t(loc, f"state.{s}")) for s in State),
    )
}

# What a client can send that this version never builds.
FORGED: Final = (
    "",
    "x",
    ":",
    "::",
    "w:",
    "w:sign",
    "w:sign:",
    "w:sign:abc",
    "w:sign:-1",
    "w:sign:+1",
    "w:sign: 1",
    "w:sign:²",  # str.isdigit says yes, int() says no
    "w:sign:1234567890",  # ten digits: past PostgreSQL's integer ids
    "w:sign:999999999999",
    "w:det:99999999999999999999",
    "w:sign:1:extra",  # an action without an argument, given one
    "w:sign:1:",
    "w:rd:1",  # an action with an argument, given none
    "w:rd:1:x",
    "w:rd:1:0:0",
    "w:exd:1:²",
    "w:rdt:1:44011700100a",
    "w:rdt:1:4401170010001",
    "w:fa:1:CALL",
    "w:zz:1",
    "W:sign:1",
    "w2:sign:1",  # a later format's marker
    "f:",
    "f:x",
    "f:1",
    "f:1:",
    "f:²:sat",
    "f:1:sat:more",
    "f:999999999999:sat",
    "f:1:SAT",
    "f2:1:sat",
    "1",
    "1:",
    "1:mn",
    "1:zz:1",
    "1:pb:a:b",  # a value with a colon
    "1:pt:" + "4" * 33,  # a value longer than any this version builds
    "1:lg:z h",
    "²:lg:en",
    "-1:mn:report",
    "1234567890:mn:report",
    "99999999999999999999:menu:report",
    "1:MN:report",
    "i2:1:mn:report",
    "1:mn:report\x00",
    "1:mn:" + "报告",
    "w:sign:1" + " " * 60,  # past Telegram's 64 bytes
)


@pytest.mark.parametrize("data", FORGED)
def test_forged_and_malformed_data_reads_as_nothing(data: str) -> None:
    assert parse(data) is None
    assert parse_intake(data) is None and parse_staff(data) is None
    assert parse_feedback(data) is None


def test_staff_and_feedback_data_is_routed_by_its_marker_even_when_malformed() -> None:
    """A forged staff press is answered by the staff side (refused), not as a stale intake
    button, and the same for feedback."""
    assert is_staff("w:zz:1") and is_staff("w:sign:1") and not is_staff("w2:sign:1")
    assert is_feedback("f:x") and not is_feedback("1:mn:report") and not is_feedback("fx:1")


@pytest.mark.parametrize(
    "built",
    [
        IntakeData(999_999_999, IntakeAction.PICK, "x" * 32),  # the longest intake data
        IntakeData(0, IntakeAction.BACK),
        LanguageData(999_999_999, "en"),
        StaffData(StaffAction.SIGN, 999_999_999),
        StaffData(StaffAction.OUTCOME, 999_999_999, "x" * 24),  # the longest staff data
        StaffData(StaffAction.REDISPATCH_TO, 1, "440117001000"),
        StaffData(StaffAction.REDISPATCH, 1, "999999999"),
        FeedbackData(999_999_999, "x" * 24),
    ],
)
def test_the_longest_data_of_each_kind_reads_back_within_64_bytes(built: CallbackData) -> None:
    data = built.encode()
    assert len(data.encode("utf-8")) <= DATA_MAX_BYTES
    assert parse(data) == built


@pytest.mark.parametrize(
    "unreadable",
    [
        StaffData(StaffAction.SIGN, 1, "x"),  # an argument the action does not take
        StaffData(StaffAction.REDISPATCH, 1),  # none where it takes one
        StaffData(StaffAction.REDISPATCH_TO, 1, "a:b"),
        StaffData(StaffAction.SIGN, 1_000_000_000),
        IntakeData(1_000_000_000, IntakeAction.MENU, "report"),
        IntakeData(1, IntakeAction.PICK, "a:b"),
        IntakeData(1, IntakeAction.PICK, "4" * 33),
        LanguageData(1, "z h"),
        FeedbackData(-1, "sat"),
        FeedbackData(1, ""),
    ],
)
def test_data_that_would_not_read_back_is_never_built(unreadable: CallbackData) -> None:
    with pytest.raises(ValueError, match="would not read back"):
        unreadable.encode()


def test_the_format_of_each_kind_is_unchanged() -> None:
    """Messages already in chats and rows already in the outbox carry these bytes."""
    assert IntakeData(7, IntakeAction.MENU, "report").encode() == "7:mn:report"
    assert IntakeData(7, IntakeAction.BACK).encode() == "7:pb:"
    assert LanguageData(7, "en").encode() == "7:lg:en"
    assert StaffData(StaffAction.SIGN, 12).encode() == "w:sign:12"
    assert StaffData(StaffAction.REDISPATCH, 12, "0").encode() == "w:rd:12:0"
    assert FeedbackData(12, "unsat").encode() == "f:12:unsat"


# ---- every button the bot can show ----------------------------------------------------


@dataclass
class Built:
    """Every button data built while a test runs, with what built it."""

    by_data: dict[str, CallbackData] = field(default_factory=dict)

    def check(self, shown: list[str]) -> list[CallbackData]:
        """Each shown data reads back as exactly what built it, within 64 bytes."""
        found = []
        for data in shown:
            assert len(data.encode("utf-8")) <= DATA_MAX_BYTES, data
            assert data in self.by_data, f"{data!r} was not built by flows.callbacks"
            assert parse(data) == self.by_data[data], data
            found.append(self.by_data[data])
        return found


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Built:
    record = Built()
    for kind in (IntakeData, LanguageData, StaffData, FeedbackData):

        def encode(self: Any, original: Any = kind.encode) -> str:
            data: str = original(self)
            assert record.by_data.setdefault(data, self) == self  # one data, one meaning
            return data

        monkeypatch.setattr(kind, "encode", encode)
    return record


def _data(buttons: list[list[Button]]) -> Iterator[str]:
    return (b.data for row in buttons for b in row)


def _shown(replies: list[Reply]) -> list[str]:
    return [data for reply in replies for data in _data(reply.buttons)]


# Words for the steps that take text; every button is pressed at every step.
TYPED: Final = {
    "place": ["街口街道", "从化区街口街道", "不存在的地方"],
    "place_pick": ["江埔"],
    "story": ["孩子三天没有人照顾了"],
    "contact": ["+8613800138000"],
    "contact_phone": ["+8613800138000"],
    "status": ["ABCD2345"],
}


def _signature(dlg: Dialogue) -> tuple[object, ...]:
    """Screens that show the same buttons; each is explored once."""
    a = dlg.answers
    return (
        dlg.step,
        tuple(sorted(a)),
        a.get("danger"),
        a.get("_page"),
        a.get("_city"),
        min(len(a.get("_candidates", [])), 2),
        dlg.locale,
    )


def test_every_intake_screen_shows_buttons_that_read_back(intake: Intake, built: Built) -> None:
    """Every step and screen of the dialogue — the menu, every question, place by city,
    county, township pages and typed names, the summary, changing an answer, resuming, the
    language, an urgent report's additions — reached by pressing every button shown."""
    shown: list[str] = []
    start = Dialogue()
    queue = [(start, Command("start"))]
    seen: set[tuple[object, ...]] = set()
    while queue:
        before, event = queue.pop()
        dlg = copy.deepcopy(before)
        out = intake.handle(dlg, event)
        replies = list(out.replies)
        if isinstance(out.effect, Submit) and out.effect.urgent:
            replies += intake.after_urgent_filing(dlg, "ABCD2345", 1)
        elif isinstance(out.effect, Submit):
            intake.after_submit(dlg, "ABCD2345")
        elif isinstance(out.effect, AddToReport) and "_filed" not in dlg.answers:
            pass  # the last addition ended the dialogue
        data = _shown(replies)
        shown += data
        if _signature(dlg) in seen:
            continue
        seen.add(_signature(dlg))
        events: list[Event] = [Press(d) for d in data]
        events += [Text(words) for words in TYPED.get(dlg.step, [])]
        events += [Command("start"), Command("language")]
        queue += [(dlg, e) for e in events]

    found = built.check(shown)
    # Adding to a filed report is flows.additions' (tests/handlers/test_additions.py).
    adding = {IntakeAction.ADD, IntakeAction.ADD_DONE}
    assert {x.action for x in found if isinstance(x, IntakeData)} == set(IntakeAction) - adding
    assert {x.locale for x in found if isinstance(x, LanguageData)} == set(LOCALES)
    pages = {x.value for x in found if isinstance(x, IntakeData) and x.action == "pg"}
    assert {"0", "1"} <= pages  # a county with more townships than fit one screen
    assert len(seen) > 100


async def _enrol(db: Database, clock: FakeClock) -> None:
    await station_member(db, now=clock(), user=STATION)
    await county_supervisor(db, now=clock(), user=SUPERVISOR, locale="en")
    await county_supervisor(db, now=clock(), county=PUNING, user=PUNING_SUPERVISOR)


async def _file(db: Database, directory: Directory, clock: FakeClock, place: str, n: int) -> int:
    ticket = await file_ticket(db, directory, now=clock(), chat=REPORTER, n=n, place=place)
    assert ticket.id is not None
    return ticket.id


class StaffWalk:
    """Presses staff buttons as the update processor runs them, one transaction each, and
    keeps every button data shown in a reply."""

    def __init__(self, db: Database, directory: Directory, clock: FakeClock) -> None:
        self.db, self.directory, self.clock = db, directory, clock
        self.shown: list[str] = []

    @staticmethod
    def _person(user: str) -> Person:
        return Person("telegram", user, user, False, f"社工{user}", "zh")

    async def press(self, user: str, data: str) -> Outcome:
        async with self.db.unit() as session:
            out = await work.handle(
                session=session,
                directory=self.directory,
                person=self._person(user),
                event=Press(data),
                now=self.clock(),
            )
        assert out.notice not in REFUSALS, (data, out.notice)
        self.shown += _shown(out.replies)
        return out

    async def text(self, user: str, awaiting: StaffText | None, words: str) -> None:
        assert awaiting is not None
        out = await staff_text(
            self.db,
            self.directory,
            person=self._person(user),
            awaiting=awaiting,
            text=words,
            now=self.clock(),
        )
        assert out.awaiting is None
        self.shown += _shown(out.replies)

    async def expand(self) -> None:
        async with self.db.unit() as session:
            await expand(session, directory=self.directory, now=self.clock())

    async def outbox(self) -> list[str]:
        """Every button data in every message written: referrals and their edits, notices
        (catalogue keys and data), the signer's menu, the reporter's feedback request."""
        async with self.db.unit() as session:
            rows = (await session.exec(select(OutboxMessage))).all()
        return [data for row in rows for line in row.payload.get("buttons", []) for _, data in line]

    def pressed(self, data: str) -> str:
        assert data in self.shown, f"{data!r} was never shown"
        return data


async def test_every_staff_and_feedback_button_reads_back(
    db: Database, directory: Directory, clock: FakeClock, built: Built
) -> None:
    """A ticket's whole life through the buttons the bot shows — referral, return, 签收,
    first action, more time asked and approved, 办结, feedback, reopening — a second report
    of the same child merged and un-merged, a county queue's ticket routed through every
    page of the township picker, a return rejected, and every
    station and supervisor keyboard in every state: each data reads back."""
    await _enrol(db, clock)
    walk = StaffWalk(db, directory, clock)
    one = await _file(db, directory, clock, JIEKOU, 1)
    queued = await _file(db, directory, clock, PUNING, 2)
    returned = await _file(db, directory, clock, JIEKOU, 3)
    again = await _file(db, directory, clock, JIEKOU, 4)  # the same child as one: 可能重复
    await walk.expand()  # referrals, per chat: 签收 / 退单 / (合并) / 详情; the queue's 分派 / 详情
    walk.shown += await walk.outbox()
    await walk.press(STATION, walk.pressed(f"w:mg:{again}:{one}"))
    await walk.press(SUPERVISOR, walk.pressed(f"w:det:{one}"))  # 撤销合并, per merged report
    await walk.press(SUPERVISOR, walk.pressed(f"w:um:{again}"))

    await walk.press(STATION, walk.pressed(f"w:ret:{one}"))  # the reasons, not chosen
    async with db.unit() as session:  # a photo the reporter attached: 📎 in the detail
        await attachments.add(session, ticket_id=one, kind="photo", file_ref="AgAC-photo-1")
    await walk.press(STATION, walk.pressed(f"w:det:{one}"))
    await walk.press(STATION, walk.pressed(f"w:files:{one}"))
    await walk.press(STATION, walk.pressed(f"w:sign:{one}"))
    walk.shown += await walk.outbox()  # the signer's menu; the referrals edited
    await walk.press(STATION, walk.pressed(f"w:first:{one}"))
    await walk.press(STATION, walk.pressed(f"w:ext:{one}"))
    asked = await walk.press(STATION, walk.pressed(f"w:exd:{one}:3"))
    await walk.text(STATION, asked.awaiting, "需要联系学校")
    await walk.expand()  # the supervisor's 批准 / 不批准
    walk.shown += await walk.outbox()
    await walk.press(SUPERVISOR, walk.pressed(f"w:det:{one}"))
    await walk.press(SUPERVISOR, walk.pressed(f"w:exa:{one}"))
    await walk.press(STATION, walk.pressed(f"w:fa:{one}:visit"))
    await walk.press(STATION, walk.pressed(f"w:done:{one}"))
    asked = await walk.press(STATION, walk.pressed(f"w:out:{one}:placed"))
    await walk.text(STATION, asked.awaiting, "已安置到亲属家")
    walk.shown += await walk.outbox()  # the reporter's 满意 / 基本满意 / 不满意
    async with db.unit() as session:
        out = await feedback.on_press(
            session=session,
            channel="telegram",
            chat_id=REPORTER,
            data=walk.pressed(f"f:{one}:unsat"),
            locale="zh",
            now=clock(),
        )
    assert out.changed

    pages, turned = [f"w:rd:{queued}:0"], set()
    while pages:  # every page of the township picker, by its own 上一页 / 下一页
        data = pages.pop()
        if data not in turned:
            turned.add(data)
            out = await walk.press(PUNING_SUPERVISOR, walk.pressed(data))
            pages += [d for d in _shown(out.replies) if d.startswith(f"w:rd:{queued}:")]
    assert len(turned) == 3
    picks = [d for d in walk.shown if d.startswith(f"w:rdt:{queued}:")]
    await walk.press(PUNING_SUPERVISOR, walk.pressed(picks[0]))

    await walk.press(STATION, walk.pressed(f"w:ret:{returned}"))
    await walk.press(STATION, walk.pressed(f"w:rr:{returned}:area"))
    await walk.expand()  # the county's 重新分派 / 驳回退单
    walk.shown += await walk.outbox()
    await walk.press(SUPERVISOR, walk.pressed(f"w:rj:{returned}"))

    async with db.unit() as session:
        tickets = await session.exec(select(Ticket).where(col(Ticket.id).in_([one, queued])))
        states = {x.id: x.state for x in tickets.all()}
        members = {m.user_id: m for m in (await session.exec(select(StaffMember))).all()}
    assert states == {one: State.REOPENED, queued: State.DISPATCHED}

    # Every keyboard of every state, with and without more time asked for.
    for state in State:
        for pending in (None, 3):
            for owner in ("township", "county"):
                ticket = Ticket(
                    id=one, state=state, pending_extension_days=pending, owner_level=owner
                )
                for buttons in (
                    staff_views.station_buttons(members[STATION], ticket),
                    staff_views.supervisor_buttons(members[SUPERVISOR], ticket),
                    referral_buttons(ticket, "en"),
                ):
                    walk.shown += list(_data(buttons))

    found = built.check(walk.shown)
    assert {x.action for x in found if isinstance(x, StaffData)} == set(StaffAction)
    assert {x.rating for x in found if isinstance(x, FeedbackData)} == set(FEEDBACK)
    picker = {x.argument for x in found if isinstance(x, StaffData) and x.action == "rd"}
    assert picker == {"0", "1", "2"}
