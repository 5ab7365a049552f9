"""A stateful property test of the intake dialogue, against the database: texts, current,
stale and forged button presses, commands, other kinds of message, restarts and turns that
crash before their commit, in any order.

After every step: the dialogue is in a state the bot can show (its question renders); no
ticket appears except from a report's confirmation or, for a child in danger now, from the
choice of its place; a step files at most one ticket; a crashed turn changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from pathlib import Path
from typing import Any, ClassVar

from harness import FakeClock
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func
from sqlmodel import col, select

from flows import faq_store
from flows.conversations import take_turn
from flows.dialogue import REPORT_STEPS, Dialogue, Submit
from flows.events import Command, Event, Person, Photo, Press, SharedContact, Text, Unsupported
from flows.faq_file import parse
from flows.intake import Intake
from flows.messages import Outcome
from flows.texts import CATALOGUES
from storage.db import Database, make_engine
from storage.models import Conversation, Ticket

_chats = itertools.count(810_000_000)
EXAMPLE = Path(__file__).resolve().parents[2] / "faq.example.toml"
STEPS = REPORT_STEPS | {"menu", "status", "faq"}
# What a person might type: the words the dialogue understands, and anything else.
TEXTS = st.one_of(
    st.sampled_from(
        [
            "从化区街口街道",
            "街口",
            "广州",
            "雄锋村委会",
            "no such place at all",
            "13800138000",
            "+86 (138) 0013-8000",
            "12",
            "孩子一个人在家两天了，没有大人照看。",
            "ABCD2345",
            "留守兒童有甚麼補貼",
            "x" * 2001,
            "   ",
            "😀" * 3,
        ]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40),
)
COMMANDS = st.sampled_from(["start", "cancel", "help", "status", "language", "frobnicate"])
FORGED = st.one_of(
    st.from_regex(r"\A[0-9]{1,4}:(sm|pk|pt|dg|rs|mn|ct|cs|cn|cd|pg|pb|pu|ed|fq):[a-z0-9]{0,12}\Z"),
    st.text(max_size=64),
)
# A confirmation, or a place chosen for a child in danger now: what may file a ticket.
FILING_ACTIONS = frozenset({"sm", "pt", "pk", "pu", "dg"})


class IntakeDialogue(RuleBasedStateMachine):
    url: ClassVar[str]
    intake: ClassVar[Intake]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.db = Database(make_engine(self.url))
        self.clock = FakeClock()
        chat = str(next(_chats))
        self.person = Person("telegram", chat, chat, False, "", "zh")
        self.offered: list[str] = []  # buttons of the bot's latest messages
        self.seen: list[str] = []  # every button ever shown (old messages keep theirs)
        self.tickets = 0
        self.version = 0
        self.filed_by: set[str] = set()  # the button presses that filed a ticket
        self.last_press: str | None = None

    def teardown(self) -> None:
        self.loop.run_until_complete(self.db.dispose())
        self.loop.close()

    # -- driving ------------------------------------------------------------------------

    def _turn(self, event: Event) -> Outcome:
        self.clock.advance(seconds=2)  # a person's pace: the flood limit stays out of it

        async def go() -> Outcome:
            async with self.db.unit() as session:
                return await take_turn(
                    session=session,
                    intake=self.intake,
                    person=self.person,
                    event=event,
                    now=self.clock(),
                )

        before = self.tickets
        if isinstance(event, Press):
            self.last_press = event.data
        out = self.loop.run_until_complete(go())
        self.tickets = self._count_tickets()
        filed = self.tickets - before
        assert filed in (0, 1), "one step filed more than one ticket"
        if filed:
            assert isinstance(out.effect, Submit), "a ticket without a filing effect"
            assert isinstance(event, Press) and event.data.split(":")[1] in FILING_ACTIONS, (
                f"a ticket filed by {event!r}"
            )
            assert event.data not in self.filed_by, "two tickets for one confirmation"
            self.filed_by.add(event.data)
        buttons = [b.data for r in out.replies for row in r.buttons for b in row]
        if buttons:
            self.offered = buttons
            self.seen.extend(b for b in buttons if b not in self.seen)
        return out

    def _count_tickets(self) -> int:
        async def count() -> int:
            async with self.db.unit() as session:
                query = (
                    select(func.count())
                    .select_from(Ticket)
                    .where(col(Ticket.reporter_chat_id) == self.person.chat_id)
                )
                return int((await session.exec(query)).one())

        return self.loop.run_until_complete(count())

    def _conversation(self) -> Conversation | None:
        async def read() -> Conversation | None:
            async with self.db.unit() as session:
                query = select(Conversation).where(col(Conversation.chat_id) == self.person.chat_id)
                return (await session.exec(query)).first()

        return self.loop.run_until_complete(read())

    # -- what the person does -----------------------------------------------------------

    @rule(choices=st.lists(st.integers(min_value=0, max_value=999), min_size=1, max_size=14))
    def answer_onwards(self, choices: list[int]) -> None:
        """A run of sensible answers, each one of the current question's: so the machine
        reaches the summary, files reports, and adds to urgent ones, not only the menu."""
        for n in choices:
            if n >= 900 and self.last_press is not None:  # now and then, a double tap
                self._turn(Press(self.last_press))
                continue
            conv = self._conversation()
            step, version = (conv.step, conv.version) if conv else ("menu", 0)
            answers = conv.answers if conv else {}
            options = _onwards(step, answers)
            if not options:
                self._turn(Command("start"))
                continue
            choice = options[n % len(options)]
            if isinstance(choice, str):
                self._turn(Press(f"{version}:{choice}"))
            else:
                self._turn(choice)

    @rule(text=TEXTS)
    def type_text(self, text: str) -> None:
        self._turn(Text(text))

    @precondition(lambda self: bool(self.offered))
    @rule(i=st.integers(min_value=0, max_value=63))
    def press_current(self, i: int) -> None:
        self._turn(Press(self.offered[i % len(self.offered)]))

    @precondition(lambda self: bool(self.seen))
    @rule(i=st.integers(min_value=0, max_value=1023))
    def press_old(self, i: int) -> None:
        self._turn(Press(self.seen[i % len(self.seen)]))

    @precondition(lambda self: self.last_press is not None)
    @rule()
    def press_again(self) -> None:
        """The same button once more: a double tap, or Telegram delivering it twice."""
        assert self.last_press is not None
        self._turn(Press(self.last_press))

    @rule(data=FORGED)
    def press_forged(self, data: str) -> None:
        self._turn(Press(data))

    @rule(name=COMMANDS, arg=st.sampled_from(["", "ABCD2345", "x y"]))
    def command(self, name: str, arg: str) -> None:
        self._turn(Command(name, arg))

    @rule(caption=st.one_of(st.none(), TEXTS))
    def photo(self, caption: str | None) -> None:
        self._turn(Photo(f"file-{self.clock().timestamp()}", caption))

    @rule(own=st.booleans())
    def share_contact(self, own: bool) -> None:
        self._turn(SharedContact("13800138000", own))

    @rule(kind=st.sampled_from(["sticker", "voice", "video", "document", "location", "other"]))
    def unsupported(self, kind: str) -> None:
        self._turn(Unsupported(kind))

    @rule()
    def restart(self) -> None:
        """The service restarts: a new engine, nothing kept in memory."""
        self.loop.run_until_complete(self.db.dispose())
        self.db = Database(make_engine(self.url))

    @precondition(lambda self: bool(self.offered))
    @rule(i=st.integers(min_value=0, max_value=63))
    def crash_before_commit(self, i: int) -> None:
        """A turn that fails after its work and before its commit changes nothing."""
        before = self._conversation()
        tickets = self.tickets

        class Crash(Exception):
            pass

        async def go() -> None:
            async with self.db.unit() as session:
                await take_turn(
                    session=session,
                    intake=self.intake,
                    person=self.person,
                    event=Press(self.offered[i % len(self.offered)]),
                    now=self.clock(),
                )
                raise Crash

        with contextlib.suppress(Crash):
            self.loop.run_until_complete(go())
        after = self._conversation()
        assert self._count_tickets() == tickets
        if before is None:
            assert after is None
        else:
            assert after is not None
            assert (after.step, after.answers, after.version) == (
                before.step,
                before.answers,
                before.version,
            )

    # -- what must always hold ----------------------------------------------------------

    @invariant()
    def the_dialogue_is_in_a_state_the_bot_can_show(self) -> None:
        conv = self._conversation()
        if conv is None:
            return
        assert conv.step in STEPS, conv.step
        assert conv.locale in CATALOGUES
        assert conv.version >= self.version, "the version went back"
        self.version = conv.version
        dlg = Dialogue(
            step=conv.step, answers=dict(conv.answers), locale=conv.locale, version=conv.version
        )
        if conv.step != "status":
            self.intake.screens.prompts(dlg)  # renders: the step has what its question needs
        a = conv.answers
        if conv.step in ("summary", "edit"):
            for key in ("danger", "reporter", "place", "age", "sex", "concerns", "story"):
                assert a.get(key), f"{key} missing at the {conv.step}"
            assert "anonymous" in a
            self.intake.screens.summary(dlg)
        if "_filed" in a:  # adding to an urgent report: it exists, for this chat
            assert a.get("danger") == "yes" and conv.step in REPORT_STEPS

            async def filed() -> Ticket | None:
                async with self.db.unit() as session:
                    query = select(Ticket).where(col(Ticket.code) == a["_filed"])
                    return (await session.exec(query)).first()

            ticket = self.loop.run_until_complete(filed())
            assert ticket is not None and ticket.reporter_chat_id == self.person.chat_id
            assert ticket.priority == "P0" and ticket.id == a["_ticket"]


async def _import_policy_answers(url: str) -> None:
    db = Database(make_engine(url))
    async with db.unit() as session:
        entries = parse(EXAMPLE.read_text(encoding="utf-8"))
        await faq_store.replace_all(session=session, entries=entries, now=FakeClock()())
    await db.dispose()


def _onwards(step: str, answers: dict[str, Any]) -> list[str | Event]:
    """Answers to the current question ("action:value" presses of the current version, or
    events), several where a person has a choice."""
    concerns: list[str | Event] = ["cn:no_carer", "cn:sexual", "cn:illness", "cn:bullying"]
    picks: list[str | Event] = [f"pk:{c}" for c in answers.get("_candidates", [])[:2]]
    table: dict[str, list[str | Event]] = {
        "menu": ["mn:report", "mn:report", "mn:status", "fq:t"],
        "status": [Text("ABCD2345"), Command("cancel")],
        "faq": [Text("留守儿童"), "fq:p1", "fq:eliushou-ertong", "fq:t", "fq:m", "mn:report"],
        "danger": ["dg:yes", "dg:no", "dg:unsure"],
        "reporter": ["rp:neighbour", "rp:child", "rp:teacher"],
        "place": ["pc:440100000000", Text("从化区街口街道"), Text("雄锋村委会")],
        "place_county": ["pn:440117000000", "pu:city", "pb:"],
        "place_township": ["pt:440117001000", "pu:county", "pg:1"],
        "place_pick": picks or ["pb:"],
        "age": ["ag:6-11", "ag:0-2", "ag:unknown"],
        "sex": ["sx:f", "sx:m"],
        "concerns": [*concerns, "cd:"] if answers.get("concerns") else concerns,
        "story": [Text("孩子一个人在家两天了，没有大人照看。"), Photo("file-x", "孩子身上有伤")],
        "contact": ["ct:anon", "ct:phone"],
        "contact_phone": [Text("13800138000"), "ct:anon"],
        "consent": ["cs:yes", "cs:no"],
        "summary": ["sm:ok", "sm:ok", "sm:edit"],
        "edit": ["ed:danger", "ed:place", "ed:story", "pb:"],
    }
    return table.get(step, [])


def test_every_reachable_intake_state_is_valid(database_url: str, intake: Intake) -> None:
    asyncio.run(_import_policy_answers(database_url))  # so that 政策咨询 has answers to show
    IntakeDialogue.url = database_url
    IntakeDialogue.intake = intake
    examples = int(os.environ.get("HUTONG_HYPOTHESIS_EXAMPLES", "40"))
    run_state_machine_as_test(
        IntakeDialogue,
        settings=settings(
            max_examples=examples,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
