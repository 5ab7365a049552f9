"""What a chat's next text completes: typed records, stored with a version, and the dicts
stored before records had one still read."""

from __future__ import annotations

from typing import Any, Final

import pytest
from factories import file_ticket, sign, station_member
from harness import FakeClock
from sqlmodel import col, select

from flows import awaiting, retention
from flows.awaiting import (
    Awaiting,
    ExtensionReason,
    FeedbackComment,
    Note,
    Resolution,
    ReturnReason,
)
from flows.conversations import take_turn
from flows.events import Person, Press, Text
from flows.intake import Intake
from flows.places import Directory
from flows.texts import t
from storage.db import Database
from storage.models import Conversation, Ticket, TicketEvent

JIEKOU = "440117001000"
STATION, REPORTER = "7701", "7702"
RECORDS: Final = [
    Note(7),
    ExtensionReason(7, 3),
    Resolution(7, "helped_on_site"),
    ReturnReason(7),
    FeedbackComment(7),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_each_record_is_stored_with_its_version_and_reads_back(record: Awaiting) -> None:
    stored = awaiting.to_dict(record)
    assert stored["v"] == awaiting.VERSION == 1
    assert awaiting.from_dict(stored) == record


# Exactly as flows.work and flows.feedback wrote them before records were typed; the
# database holds such dicts.
@pytest.mark.parametrize(
    ("stored", "record"),
    [
        ({"k": "note", "t": 7}, Note(7)),
        ({"k": "ext", "t": 7, "d": 3}, ExtensionReason(7, 3)),
        ({"k": "res", "t": 7, "o": "police"}, Resolution(7, "police")),
        ({"k": "ret", "t": 7}, ReturnReason(7)),
        ({"k": "fbc", "t": 7}, FeedbackComment(7)),
    ],
)
def test_dicts_stored_before_versions_still_read(stored: dict[str, Any], record: Awaiting) -> None:
    assert awaiting.from_dict(stored) == record


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "note",
        [],
        {},
        {"v": 2, "k": "note", "t": 7},  # written by a later version
        {"v": "1", "k": "note", "t": 7},
        {"v": True, "k": "note", "t": 7},
        {"k": "zz", "t": 7},
        {"k": "note"},
        {"k": "note", "t": "7"},
        {"k": "note", "t": True},  # JSON true is not a ticket
        {"k": "note", "t": -1},
        {"k": "note", "t": 2**31},
        {"k": "note", "t": 7.0},
        {"k": "ext", "t": 7},  # no days
        {"k": "ext", "t": 7, "d": "3"},
        {"k": "res", "t": 7},  # no outcome
        {"k": "res", "t": 7, "o": 3},
    ],
)
def test_what_cannot_be_read_awaits_nothing(stored: object) -> None:
    assert awaiting.from_dict(stored) is None


async def _setup(db: Database, directory: Directory, clock: FakeClock) -> int:
    """A ticket signed for by the station member."""
    member = await station_member(db, now=clock(), user=STATION, name="社工甲")
    ticket = await file_ticket(db, directory, now=clock(), chat=REPORTER)
    await sign(db, directory, ticket=ticket, member=member, now=clock())
    assert ticket.id is not None
    return ticket.id


async def _hold(db: Database, chat: str, stored: object, clock: FakeClock) -> None:
    async with db.unit() as session:
        session.add(
            Conversation(
                channel="telegram",
                chat_id=chat,
                step="menu",
                answers={"_await": stored},
                updated_at=clock(),
            )
        )


async def _turn(
    db: Database, intake: Intake, clock: FakeClock, chat: str, event: Text | Press
) -> str:
    async with db.unit() as session:
        out = await take_turn(
            session=session,
            intake=intake,
            person=Person("telegram", chat, chat, False, "某人", "zh"),
            event=event,
            now=clock(),
        )
    return "\n".join(r.text for r in out.replies)


async def _answers(db: Database, chat: str) -> dict[str, Any]:
    async with db.unit() as session:
        conv = (
            await session.exec(select(Conversation).where(col(Conversation.chat_id) == chat))
        ).one()
        return dict(conv.answers)


async def _notes(db: Database, tid: int, kind: str) -> list[str | None]:
    async with db.unit() as session:
        rows = await session.exec(
            select(TicketEvent.note).where(
                col(TicketEvent.ticket_id) == tid, col(TicketEvent.kind) == kind
            )
        )
        return list(rows.all())


async def test_a_stored_dict_from_before_versions_completes_its_action(
    db: Database, intake: Intake, directory: Directory, clock: FakeClock
) -> None:
    """A staff member asked for more time before the upgrade and types the reason after it;
    a reporter's comment after 不满意 likewise."""
    tid = await _setup(db, directory, clock)
    await _hold(db, STATION, {"k": "ext", "t": tid, "d": 3}, clock)
    said = await _turn(db, intake, clock, STATION, Text("需要联系学校核实"))
    assert said == t("zh", "work.ext_sent")
    assert await _notes(db, tid, "extension_requested") == ["3d: 需要联系学校核实"]
    assert "_await" not in await _answers(db, STATION)

    await _hold(db, REPORTER, {"k": "fbc", "t": tid}, clock)
    said = await _turn(db, intake, clock, REPORTER, Text("一直没有人来"))
    assert said == t("zh", "feedback.comment_saved")
    assert await _notes(db, tid, "feedback_comment") == ["一直没有人来"]


async def test_a_button_that_asks_for_words_stores_a_versioned_record(
    db: Database, intake: Intake, directory: Directory, clock: FakeClock
) -> None:
    tid = await _setup(db, directory, clock)
    await _turn(db, intake, clock, STATION, Press(f"w:out:{tid}:placed"))
    assert (await _answers(db, STATION))["_await"] == {"v": 1, "k": "res", "t": tid, "o": "placed"}
    # Too short: still waiting, for the same thing.
    await _turn(db, intake, clock, STATION, Text("好"))
    assert awaiting.from_dict((await _answers(db, STATION))["_await"]) == Resolution(tid, "placed")


async def test_a_record_that_cannot_be_read_is_not_taken_for_a_note(
    db: Database, intake: Intake, directory: Directory, clock: FakeClock
) -> None:
    """A record of another version (or damaged) awaits nothing: the text is the dialogue's,
    the record goes, and nothing is written onto the ticket."""
    tid = await _setup(db, directory, clock)
    await _hold(db, STATION, {"v": 2, "k": "note", "t": tid}, clock)
    said = await _turn(db, intake, clock, STATION, Text("这句话不是进展记录"))
    assert said.startswith(t("zh", "menu.hint"))
    assert await _notes(db, tid, "note") == []
    assert "_await" not in await _answers(db, STATION)


@pytest.mark.parametrize(
    "held",
    [{"k": "fbc", "t": "{tid}"}, {"v": 2, "k": "fbc", "t": "{tid}"}, {"k": "fbc"}],
    ids=["legacy", "another-version", "damaged"],
)
async def test_erasing_a_ticket_drops_the_record_that_may_name_it(
    db: Database, directory: Directory, clock: FakeClock, held: dict[str, Any]
) -> None:
    tid = await _setup(db, directory, clock)
    stored = {k: (tid if v == "{tid}" else v) for k, v in held.items()}
    await _hold(db, REPORTER, stored, clock)
    async with db.unit() as session:
        code = (await session.exec(select(Ticket.code).where(col(Ticket.id) == tid))).one()
        await retention.erase_ticket(session=session, code=code, now=clock(), force=True)
    assert "_await" not in await _answers(db, REPORTER)


async def test_erasing_another_ticket_keeps_the_record(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    tid = await _setup(db, directory, clock)
    await _hold(db, REPORTER, {"v": 1, "k": "fbc", "t": tid + 1000}, clock)
    async with db.unit() as session:
        code = (await session.exec(select(Ticket.code).where(col(Ticket.id) == tid))).one()
        await retention.erase_ticket(session=session, code=code, now=clock(), force=True)
    assert await _answers(db, REPORTER) == {"_await": {"v": 1, "k": "fbc", "t": tid + 1000}}
