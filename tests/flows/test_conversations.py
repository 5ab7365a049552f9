"""One person's turn (flows.conversations) against the real database: a report filed by
buttons in the turn's transaction, a confirmation pressed twice filing once, turns routed to
staff work and feedback, words an earlier button asked for, a group the bot left, and the
turn's replies queued behind what still waits for the chat."""

from __future__ import annotations

from factories import JIEKOU, person_of, station_member, ticket_in
from harness import FakeClock
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import conversations, staff
from flows.awaiting import Note
from flows.callbacks import FeedbackData
from flows.events import BotMembership, Command, Event, Person, Press, Text
from flows.intake import Intake
from flows.messages import Outcome, Reply
from flows.places import Directory
from flows.states import State
from flows.texts import t
from storage.db import Database
from storage.models import Conversation, OutboxMessage, Ticket, TicketEvent

CHAT = "6601"


def citizen(chat: str = CHAT, *, in_group: bool = False) -> Person:
    return Person("telegram", chat, chat, in_group, "某人", "zh")


async def _turn(
    db: Database, intake: Intake, clock: FakeClock, event: Event, who: Person | None = None
) -> Outcome:
    async with db.unit() as session:
        return await conversations.take_turn(
            session=session, intake=intake, person=who or citizen(), event=event, now=clock()
        )


def _button(out: Outcome, action: str, value: str = "") -> str:
    for reply in out.replies:
        for row in reply.buttons:
            for b in row:
                parts = b.data.split(":")
                if parts[1] == action and (not value or parts[2:] == [value]):
                    return b.data
    raise AssertionError(f"no {action}:{value} button in {[r.text for r in out.replies]}")


async def _conversation(db: Database, chat: str = CHAT) -> Conversation:
    async with db.unit() as session:
        return (
            await session.exec(select(Conversation).where(col(Conversation.chat_id) == chat))
        ).one()


async def test_a_report_by_buttons_is_filed_once_even_if_confirmed_twice(
    db: Database, intake: Intake, clock: FakeClock
) -> None:
    out = await _turn(db, intake, clock, Command("start"))
    for action, value in (
        ("mn", "report"),
        ("dg", "no"),
        ("rp", "neighbour"),
        ("pc", "440100000000"),
        ("pn", "440117000000"),
        ("pt", JIEKOU),
        ("ag", "6-11"),
        ("sx", "f"),
        ("cn", "no_carer"),
        ("cd", ""),
    ):
        out = await _turn(db, intake, clock, Press(_button(out, action, value)))
    out = await _turn(db, intake, clock, Text("孩子一个人在家两天了，没有大人照看。"))
    out = await _turn(db, intake, clock, Press(_button(out, "ct", "anon")))
    confirm = _button(out, "sm", "ok")
    filed = await _turn(db, intake, clock, Press(confirm))
    assert filed.outbox_written and filed.locale == "zh"
    async with db.unit() as session:
        ticket = (await session.exec(select(Ticket))).one()
    assert ticket.code in filed.replies[-1].text and filed.replies[-1].remove_keyboard
    assert (ticket.intake_key, ticket.station_code, ticket.priority) == (
        f"telegram:{CHAT}:1",
        JIEKOU,
        "P1",
    )
    conv = await _conversation(db)
    assert conv.report_seq == 1 and conv.step not in ("summary", "contact")
    again = await _turn(db, intake, clock, Press(confirm))  # the old message's button
    assert ticket.code in again.replies[0].text  # says it was filed, and files nothing
    async with db.unit() as session:
        assert len((await session.exec(select(Ticket))).all()) == 1


async def test_staff_commands_and_presses_go_to_staff_work(
    db: Database, intake: Intake, directory: Directory, clock: FakeClock
) -> None:
    out = await _turn(db, intake, clock, Command("mytickets"))
    assert out.replies[0].text == t("zh", "staff.only")
    worker = await station_member(db, now=clock())
    ticket = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock(), member=worker)
    asked = await _turn(db, intake, clock, Press(f"w:note:{ticket.id}"), person_of(worker))
    assert asked.awaiting == Note(ticket.id or 0)
    conv = await _conversation(db, worker.chat_id)
    assert (conv.answers["_await"]["k"], conv.answers["_await"]["t"]) == ("note", ticket.id)
    saved = await _turn(db, intake, clock, Text("已电话联系"), person_of(worker))
    assert saved.replies[0].text == t("zh", "work.note_saved")
    assert "_await" not in (await _conversation(db, worker.chat_id)).answers
    # Asked again, then /cancel: nothing is taken for a note.
    await _turn(db, intake, clock, Press(f"w:note:{ticket.id}"), person_of(worker))
    cancelled = await _turn(db, intake, clock, Command("cancel"), person_of(worker))
    assert cancelled.replies[0].text == t("zh", "work.cancelled")
    await _turn(db, intake, clock, Text("这不是进展"), person_of(worker))
    async with db.unit() as session:
        notes = (
            await session.exec(select(TicketEvent.note).where(col(TicketEvent.kind) == "note"))
        ).all()
    assert notes == ["已电话联系"]


async def test_the_reporters_rating_and_comment_go_to_feedback(
    db: Database, intake: Intake, directory: Directory, clock: FakeClock
) -> None:
    ticket = await ticket_in(db, directory, state=State.RESOLVED, now=clock(), chat=CHAT)
    await _turn(db, intake, clock, Command("start"))
    out = await _turn(db, intake, clock, Press(FeedbackData(ticket.id or 0, "unsat").encode()))
    assert out.awaiting is not None
    saved = await _turn(db, intake, clock, Text("还是没人来"))
    assert saved.replies[0].text == t("zh", "feedback.comment_saved")
    async with db.unit() as session:
        after = await session.get(Ticket, ticket.id)
    assert after is not None and after.state == State.REOPENED


async def test_a_group_the_bot_was_removed_from_is_unbound_and_no_dialogue_is_made(
    db: Database, intake: Intake, clock: FakeClock
) -> None:
    async with db.unit() as session:
        code = await staff.issue_invite(
            session=session,
            scope=staff.Scope("station", "township", JIEKOU),
            kind="group",
            now=clock(),
        )
        await staff.bind_group(
            session=session, code=code, channel="telegram", chat_id="-66", user_id="1", now=clock()
        )
    added = await _turn(db, intake, clock, BotMembership(True), citizen("-66", in_group=True))
    assert not added.changed
    removed = await _turn(db, intake, clock, BotMembership(False), citizen("-66", in_group=True))
    assert removed.changed
    async with db.unit() as session:
        assert await staff.bound_station(session, chat_id="-66") is None
        assert (await session.exec(select(Conversation))).all() == []


async def test_replies_are_sent_directly_only_when_nothing_older_waits(
    db: Database, clock: FakeClock
) -> None:
    outcome = Outcome([Reply("一"), Reply("二")], locale="en")

    async def queue(session: AsyncSession) -> tuple[list[OutboxMessage], bool]:
        return await conversations.queue_replies(
            session=session,
            chat_id=CHAT,
            outcome=outcome,
            key="u1",
            pressed_message_id=None,
            can_send_now=True,
            now=clock(),
        )

    async with db.unit() as session:
        rows, direct = await queue(session)
        assert direct and [r.payload["text"] for r in rows] == ["一", "二"]
        assert rows[0].payload["locale"] == "en"
        # The same turn again (a retried update): nothing written twice.
        again, _ = await queue(session)
        assert again == []
        # Older messages still wait for the chat: the new ones queue behind them.
        later, direct = await conversations.queue_replies(
            session=session,
            chat_id=CHAT,
            outcome=Outcome([Reply("三")]),
            key="u2",
            pressed_message_id=None,
            can_send_now=True,
            now=clock(),
        )
        stored = {r.dedup_key: r.status for r in (await session.exec(select(OutboxMessage))).all()}
    assert not direct and len(later) == 1
    assert stored == {"u1:0": "sending", "u1:1": "sending", "u2:0": "pending"}


async def test_a_failed_update_is_answered_once_in_the_chats_language(
    db: Database, intake: Intake, clock: FakeClock
) -> None:
    await _turn(
        db, intake, clock, Command("start"), Person("telegram", CHAT, CHAT, False, "x", "en")
    )
    async with db.unit() as session:
        for _ in range(2):
            await conversations.update_failed(
                session=session, channel="telegram", chat_id=CHAT, update_key="77", now=clock()
            )
        await conversations.update_failed(
            session=session, channel="telegram", chat_id="6602", update_key="78", now=clock()
        )
        rows = (
            await session.exec(
                select(OutboxMessage).where(col(OutboxMessage.kind) == "update_failed")
            )
        ).all()
    texts = {r.target: r.payload["text"] for r in rows}
    assert len(rows) == 2
    assert texts == {CHAT: t("en", "update_failed"), "6602": t("zh", "update_failed")}
