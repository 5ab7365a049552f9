"""Retention with a clock moved by hand: unfinished dialogues after 7 days, delivered
messages' texts after 7 days, closed tickets' personal data after HUTONG_RETENTION_DAYS, and
erasure on demand; then every view of an erased ticket."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from bot_api import FakeBotAPI
from factories import (
    county_supervisor,
    events_of,
    file_in,
    mark_outbox_sent,
    row_of,
    sign_in,
    station_member,
    ticket_details,
)
from harness import FakeClock
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, col, select
from telegram import Bot

from bot.retention import apply_retention
from bot.settings import SettingsError, load_settings
from flows import feedback, lifecycle, oversight, retention, supervision, tickets, work
from flows.awaiting import FeedbackComment
from flows.conversations import take_turn
from flows.events import Command, Event, Person, Press, Text
from flows.intake import Intake
from flows.messages import Outcome
from flows.notices import expand, referral_text
from flows.outbox import payload_of
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.texts import t
from flows.tickets import status_text
from handlers.telegram.sender import OutboxSender
from storage.db import Database
from storage.models import (
    Conversation,
    OutboxMessage,
    StaffMember,
    Ticket,
    TicketAttachment,
    TicketContact,
    TicketEvent,
)
from storage.outbox import enqueue

JIEKOU, CONGHUA = "440117001000", "440117000000"
STATION_CHAT, SUPERVISOR_CHAT = "880101", "880201"
CHAT = "770011223"  # the reporter's: long enough not to turn up by chance in other values
# A person's words and details, each findable wherever it might have been copied.
STORY = "STORY-小明每晚被关在门外"
PHONE = "+8613800138000"
PLACE_WORDS = "PLACE-村口小卖部旁"
PHOTO = "PHOTO-file-ref-0042"
NOTE = "NOTE-已电话联系邻居"
RETURN_REASON = "RETURN-地址不在本街道"
EXT_REASON = "EXT-等待学校回复"
RESOLUTION = "RESOLUTION-已联系派出所"
COMMENT = "COMMENT-没有人来过"
PERSONAL = (STORY, PHONE, PLACE_WORDS, PHOTO, NOTE, RETURN_REASON, EXT_REASON, RESOLUTION, COMMENT)
STATISTICS = (
    "priority",
    "state",
    "in_danger",
    "reporter_role",
    "mandatory_reporter",
    "place_code",
    "owner_code",
    "owner_level",
    "station_code",
    "county_code",
    "city_code",
    "child_age",
    "child_sex",
    "concerns",
    "created_at",
    "dispatched_at",
    "signed_at",
    "first_action_at",
    "resolved_at",
    "closed_at",
    "outcome",
    "feedback",
    "sla",
    "anonymous",
    "assignee_id",
)


# ---- a ticket with a whole life of words ---------------------------------------------------


async def enrol(db: Database, clock: FakeClock, *, locale: str = "zh") -> dict[str, StaffMember]:
    return {
        "station": await station_member(
            db, now=clock(), user=STATION_CHAT, name="社工甲", locale=locale
        ),
        "supervisor": await county_supervisor(
            db, now=clock(), user=SUPERVISOR_CHAT, name="督导乙", locale=locale
        ),
    }


async def file(db: Database, directory: Directory, clock: FakeClock, n: int = 1) -> int:
    """A report with a phone, a photo and typed place words, from CHAT."""
    async with db.unit() as session:
        ticket = await file_in(
            session,
            directory,
            now=clock(),
            chat=CHAT,
            n=n,
            place_text=PLACE_WORDS,
            sex="m",
            concerns=["basic_needs"],
            story=STORY,
            photos=[PHOTO],
            phone=PHONE,
            callback=True,
        )
        # The reporting chat's dialogue after filing: it remembers the code.
        conv = (
            await session.exec(select(Conversation).where(col(Conversation.chat_id) == CHAT))
        ).first()
        if conv is None:
            conv = Conversation(channel="telegram", chat_id=CHAT, step="menu", updated_at=clock())
        conv.answers = {"_last_code": ticket.code}
        conv.report_seq = n
        session.add(conv)
    assert ticket.id is not None
    return ticket.id


async def in_unit(db: Database, ticket_id: int, fn: Any) -> None:
    async with db.unit() as session:
        ticket = await tickets.locked_ticket(session, ticket_id)
        assert ticket is not None
        await fn(session, ticket)


async def live(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    members: dict[str, StaffMember],
    *,
    close: bool = True,
    n: int = 1,
) -> int:
    """Filed, referred (delivered), returned with a reason and kept, signed, called, noted,
    more time asked and given, resolved, rated 不满意 with a comment (reopened) and, with
    ``close``, resolved again and rated 满意 (closed at the clock's time). A minute a step."""
    station, supervisor = members["station"], members["supervisor"]
    tid = await file(db, directory, clock, n)

    async def step(fn: Any) -> None:
        clock.advance(minutes=1)
        await in_unit(db, tid, fn)

    clock.advance(minutes=1)
    async with db.unit() as session:
        await expand(session, directory=directory, now=clock())
        for row in (
            await session.exec(
                select(OutboxMessage).where(
                    col(OutboxMessage.ticket_id) == tid, col(OutboxMessage.target_kind) == "chat"
                )
            )
        ).all():
            row.status, row.sent_at, row.message_id = "sent", clock(), 500 + (row.id or 0)
            session.add(row)
    await step(
        lambda s, x: lifecycle.return_ticket(
            session=s,
            directory=directory,
            ticket=x,
            member=station,
            reason=RETURN_REASON,
            now=clock(),
        )
    )
    await step(
        lambda s, x: oversight.reject_return(
            session=s, ticket=x, supervisor=supervisor, now=clock()
        )
    )
    await step(lambda s, x: sign_in(s, directory, member=station, ticket=x, now=clock()))
    await step(
        lambda s, x: lifecycle.first_action(
            session=s, directory=directory, ticket=x, member=station, how="call", now=clock()
        )
    )
    await step(
        lambda s, x: lifecycle.add_note(session=s, ticket=x, member=station, text=NOTE, now=clock())
    )
    await step(
        lambda s, x: lifecycle.request_extension(
            session=s,
            directory=directory,
            ticket=x,
            member=station,
            days=3,
            reason=EXT_REASON,
            now=clock(),
        )
    )
    await step(
        lambda s, x: oversight.decide_extension(
            session=s, ticket=x, supervisor=supervisor, approve=True, now=clock()
        )
    )

    def resolve(s: Any, x: Ticket) -> Any:
        return lifecycle.resolve(
            session=s,
            directory=directory,
            ticket=x,
            member=station,
            outcome="police",
            note=RESOLUTION,
            now=clock(),
        )

    await step(resolve)
    await step(
        lambda s, x: feedback.give_feedback(session=s, ticket=x, rating="unsat", now=clock())
    )
    clock.advance(minutes=1)
    async with db.unit() as session:
        await feedback.on_comment(
            session=session,
            channel="telegram",
            chat_id=CHAT,
            awaiting=FeedbackComment(tid),
            text=COMMENT,
            locale="zh",
            now=clock(),
        )
        # What the sender writes when the reporter has blocked the bot: it names the chat.
        session.add(
            TicketEvent(
                ticket_id=tid,
                at=clock(),
                actor="system",
                kind="delivery_failed",
                note=f"reporter_update to {CHAT}: forbidden: bot was blocked by the user",
            )
        )
    if close:
        await step(resolve)
        await step(
            lambda s, x: feedback.give_feedback(session=s, ticket=x, rating="sat", now=clock())
        )
    return tid


async def snapshot(db: Database, tid: int) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    async with db.unit() as session:
        ticket = await session.get(Ticket, tid)
        assert ticket is not None
    stats = {name: getattr(ticket, name) for name in STATISTICS}
    history = [(e.kind, e.actor, e.at, e.from_state, e.to_state) for e in await events_of(db, tid)]
    return stats, history


async def every_row(db: Database) -> dict[str, list[str]]:
    """Every row of every table, as text."""
    found: dict[str, list[str]] = {}
    async with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = (await conn.execute(sa_select(table))).all()
            found[table.name] = [repr(tuple(row)) for row in rows]
    return found


def tables_holding(rows: dict[str, list[str]], text: str) -> set[str]:
    return {name for name, lines in rows.items() if any(text in line for line in lines)}


async def assert_erased(db: Database, tid: int, *, actor: str, note: str) -> None:
    """Nothing personal left anywhere in the database; the chat id only in its own dialogue,
    which no longer names the ticket; an "erased" event."""
    rows = await every_row(db)
    for text in PERSONAL:
        assert tables_holding(rows, text) == set(), text
    assert tables_holding(rows, CHAT) == {"conversation"}
    async with db.unit() as session:
        ticket = await session.get(Ticket, tid)
        assert ticket is not None and ticket.erased_at is not None
        assert ticket.story == "" and ticket.reporter_chat_id == ""
        assert ticket.resolution_note is None and ticket.place_text is None
        assert await session.get(TicketContact, tid) is None
        photos = await session.exec(
            select(TicketAttachment).where(col(TicketAttachment.ticket_id) == tid)
        )
        assert photos.all() == []
        conv = (
            await session.exec(select(Conversation).where(col(Conversation.chat_id) == CHAT))
        ).one()
        assert ticket.code not in repr(conv.answers)
        erased = (
            await session.exec(
                select(TicketEvent).where(
                    col(TicketEvent.ticket_id) == tid, col(TicketEvent.kind) == "erased"
                )
            )
        ).all()
        assert [(e.actor, e.note) for e in erased] == [(actor, note)]
        unsent = await session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.ticket_id) == tid,
                col(OutboxMessage.status).in_(("pending", "sending")),
            )
        )
        # Only a referral to a role may wait: it is written from the erased ticket when sent.
        assert {(r.kind, r.target_kind) for r in unsent.all()} <= {("referral", "station")}


# ---- (a) unfinished dialogues ------------------------------------------------------------


def person(chat: str) -> Person:
    return Person("telegram", chat, chat, False, "某人", "zh")


async def turn(db: Database, intake: Intake, clock: FakeClock, chat: str, event: Event) -> Outcome:
    async with db.unit() as session:
        return await take_turn(
            session=session, intake=intake, person=person(chat), event=event, now=clock()
        )


def button(out: Outcome, action: str, value: str) -> str:
    for reply in out.replies:
        for row in reply.buttons:
            for b in row:
                if b.data.split(":")[1:] == [action, value]:
                    return b.data
    raise AssertionError(f"no {action}:{value} button")


async def conversation(db: Database, chat: str) -> Conversation:
    async with db.unit() as session:
        return (
            await session.exec(select(Conversation).where(col(Conversation.chat_id) == chat))
        ).one()


async def discard(db: Database, clock: FakeClock) -> int:
    async with db.unit() as session:
        return await retention.discard_dialogues(session=session, now=clock())


async def test_an_unfinished_report_is_kept_6_days_and_emptied_after_8(
    db: Database, intake: Intake, clock: FakeClock
) -> None:
    menu = await turn(db, intake, clock, "6001", Command("start"))
    danger = await turn(db, intake, clock, "6001", Press(button(menu, "mn", "report")))
    reporter = await turn(db, intake, clock, "6001", Press(button(danger, "dg", "no")))
    old_button = button(reporter, "rp", "neighbour")
    before = await conversation(db, "6001")
    assert before.step == "reporter" and before.answers["danger"] == "no"

    clock.advance(days=6)
    assert await discard(db, clock) == 0
    kept = await conversation(db, "6001")
    assert (kept.step, kept.answers, kept.version) == (before.step, before.answers, before.version)

    clock.advance(days=2)
    assert await discard(db, clock) == 1
    emptied = await conversation(db, "6001")
    assert (emptied.step, emptied.answers) == ("menu", {})
    assert emptied.version > before.version

    # The old message's button changes nothing and says so.
    out = await turn(db, intake, clock, "6001", Press(old_button))
    assert out.replies[0].text == t("zh", "stale")
    after = await conversation(db, "6001")
    assert (after.step, after.answers) == ("menu", {})
    assert await discard(db, clock) == 0  # at the menu with nothing held: nothing to do


async def test_old_dialogues_of_every_kind_are_emptied_and_idle_ones_left_alone(
    db: Database, clock: FakeClock
) -> None:
    start = clock()
    dialogues = {
        "7001": ("status", {}),  # asked for a code and went away
        "7002": ("menu", {"_last_code": "ABCD2345", "_last_press": "9:sm:ok"}),  # filed
        "7003": ("menu", {"_await": {"k": "note", "t": 1}}),  # staff: a note never typed
        "7004": ("menu", {}),  # nothing held
        "7005": ("story", {"danger": "no"}),  # recent: kept
    }
    async with db.unit() as session:
        for chat, (step, answers) in dialogues.items():
            at = start - timedelta(days=1 if chat == "7005" else 8)
            session.add(
                Conversation(
                    channel="telegram",
                    chat_id=chat,
                    step=step,
                    answers=answers,
                    version=5,
                    updated_at=at,
                )
            )
    async with db.unit() as session:  # in batches of two
        assert await retention.discard_dialogues(session=session, now=clock(), batch=2) == 2
    assert await discard(db, clock) == 1
    after = {chat: await conversation(db, chat) for chat in dialogues}
    for chat in ("7001", "7002", "7003"):
        assert (after[chat].step, after[chat].answers, after[chat].version) == ("menu", {}, 6)
    assert (after["7004"].version, after["7004"].updated_at) == (5, start - timedelta(days=8))
    assert (after["7005"].step, after["7005"].answers) == ("story", {"danger": "no"})


async def test_a_staff_member_whose_pending_note_was_discarded_is_not_taken_for_a_note(
    db: Database, intake: Intake, directory: Directory, clock: FakeClock
) -> None:
    members = await enrol(db, clock)
    tid = await file(db, directory, clock)
    await in_unit(
        db,
        tid,
        lambda s, x: sign_in(s, directory, member=members["station"], ticket=x, now=clock()),
    )
    async with db.unit() as session:
        session.add(
            Conversation(
                channel="telegram",
                chat_id=STATION_CHAT,
                step="menu",
                answers={"_await": {"k": "note", "t": tid}},
                updated_at=clock(),
            )
        )
    clock.advance(days=8)
    assert await discard(db, clock) == 2  # and the reporter's, which named the ticket
    out = await turn(db, intake, clock, STATION_CHAT, Text("这句话不是进展记录"))
    assert out.replies[0].text == t("zh", "menu.hint")
    async with db.unit() as session:
        notes = await session.exec(
            select(TicketEvent).where(
                col(TicketEvent.ticket_id) == tid, col(TicketEvent.kind) == "note"
            )
        )
        assert notes.all() == []


# ---- (b) outbox payloads -------------------------------------------------------------------


async def add_row(db: Database, clock: FakeClock, name: str, **fields: Any) -> None:
    async with db.unit() as session:
        await enqueue(
            session,
            dedup_key=f"retention:{name}",
            kind="test",
            now=clock(),
            payload=payload_of(f"text {name}"),
            chat_id="31",
        )
        row = (
            await session.exec(
                select(OutboxMessage).where(col(OutboxMessage.dedup_key) == f"retention:{name}")
            )
        ).one()
        for key, value in fields.items():
            setattr(row, key, value)
        session.add(row)


async def payloads(db: Database) -> dict[str, tuple[dict[str, Any], bool]]:
    async with db.unit() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    return {r.dedup_key.removeprefix("retention:"): (r.payload, r.scrubbed) for r in rows}


async def scrub(db: Database, clock: FakeClock, batch: int = retention.BATCH) -> int:
    async with db.unit() as session:
        return await retention.scrub_outbox(session=session, now=clock(), batch=batch)


async def test_outbox_texts_are_kept_6_days_after_sending_or_giving_up_and_erased_after_8(
    db: Database, clock: FakeClock
) -> None:
    t0 = clock()
    await add_row(db, clock, "sent", status="sent", sent_at=t0, message_id=77)
    await add_row(db, clock, "failed", status="failed", failed_at=t0)
    # Given up before failed_at existed: only its creation time to go by.
    await add_row(db, clock, "failed-old", status="failed")
    await add_row(db, clock, "pending")  # still to be delivered: never emptied
    await add_row(db, clock, "sending", status="sending")
    await add_row(db, clock, "sent-later", status="sent", sent_at=t0 + timedelta(days=2))

    clock.advance(days=6)
    assert await scrub(db, clock) == 0
    assert all(not scrubbed for _, scrubbed in (await payloads(db)).values())

    clock.advance(days=2)
    assert await scrub(db, clock, batch=2) == 2
    assert await scrub(db, clock, batch=2) == 1
    assert await scrub(db, clock) == 0
    after = await payloads(db)
    for name in ("sent", "failed", "failed-old"):
        assert after[name] == ({}, True), name
    for name in ("pending", "sending", "sent-later"):
        assert after[name] == (payload_of(f"text {name}"), False), name
    async with db.unit() as session:  # the delivery record stays
        sent = (
            await session.exec(
                select(OutboxMessage).where(col(OutboxMessage.dedup_key) == "retention:sent")
            )
        ).one()
    assert (sent.status, sent.message_id, sent.sent_at) == ("sent", 77, t0)

    clock.advance(days=2)
    assert await scrub(db, clock) == 1
    assert (await payloads(db))["sent-later"] == ({}, True)


async def test_a_referral_whose_text_was_erased_is_still_edited_when_signed_for(
    db: Database, directory: Directory, clock: FakeClock, bot: Bot, bot_api: FakeBotAPI
) -> None:
    """Signed for over a week after the referral went out: the edit finds the message by its
    id and is written in the member's language, though the sent text is gone."""
    members = await enrol(db, clock, locale="en")
    tid = await file(db, directory, clock)
    sender = OutboxSender(db=db, bot=bot, directory=directory, clock=clock)
    await sender.run_once()  # expand, then send the referral to the member's chat
    await sender.run_once()
    referral = bot_api.calls_for(int(STATION_CHAT), "sendMessage")[-1]
    assert "New referral" in (referral.text or "")
    clock.advance(days=8)
    assert await scrub(db, clock) >= 1
    async with db.unit() as session:
        ticket = await tickets.locked_ticket(session, tid)
        assert ticket is not None
        await sign_in(session, directory, member=members["station"], ticket=ticket, now=clock())
    await sender.run_once()
    edits = bot_api.calls_for(int(STATION_CHAT), "editMessageText")
    assert len(edits) == 1
    assert edits[0].params.get("message_id") == referral.message_id
    assert "Signed for by 社工甲" in (edits[0].text or "")


# ---- (c) closed tickets ----------------------------------------------------------------------


async def erase_closed(db: Database, clock: FakeClock, days: int = 365) -> int:
    async with db.unit() as session:
        return await retention.erase_closed(session=session, now=clock(), days=days)


async def test_a_ticket_closed_364_days_ago_is_kept_and_366_days_ago_erased(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    members = await enrol(db, clock)
    tid = await live(db, directory, clock, members)
    stats, history = await snapshot(db, tid)
    assert stats["state"] == "closed" and stats["closed_at"] == clock()

    clock.advance(days=364)
    assert await erase_closed(db, clock) == 0
    rows = await every_row(db)
    for text in PERSONAL:  # all there until the day comes (so the checks below can fail)
        assert tables_holding(rows, text), text
    assert "ticket" in tables_holding(rows, CHAT)

    clock.advance(days=2)
    assert await erase_closed(db, clock) == 1
    await assert_erased(db, tid, actor="system", note="retention 365 days")
    stats_after, history_after = await snapshot(db, tid)
    assert stats_after == stats
    assert history_after[:-1] == history and history_after[-1][:2] == ("erased", "system")
    async with db.unit() as session:  # notes made of codes and choices stay
        kept = dict(
            (
                await session.exec(
                    select(TicketEvent.kind, TicketEvent.note).where(
                        col(TicketEvent.ticket_id) == tid,
                        col(TicketEvent.kind).in_(("first_action", "feedback", "dispatched")),
                    )
                )
            ).all()
        )
    assert kept["first_action"] == "call" and kept["feedback"] == "sat"
    assert kept["dispatched"] == f"township {JIEKOU} {stats['priority']}"
    assert await erase_closed(db, clock) == 0  # once


async def test_the_retention_period_follows_the_setting(
    db: Database, directory: Directory, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUTONG_RETENTION_DAYS", "400")
    days = load_settings().retention_days
    assert days == 400
    members = await enrol(db, clock)
    tid = await live(db, directory, clock, members)
    clock.advance(days=366)
    assert await erase_closed(db, clock, days) == 0
    clock.advance(days=35)
    assert await erase_closed(db, clock, days) == 1
    await assert_erased(db, tid, actor="system", note="retention 400 days")


@pytest.mark.parametrize("value", ["0", "-3", "a year"])
def test_a_retention_period_under_a_day_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUTONG_RETENTION_DAYS", value)
    with pytest.raises(SettingsError, match="HUTONG_RETENTION_DAYS"):
        load_settings()


async def test_open_and_recently_closed_tickets_are_not_erased_by_the_job(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    members = await enrol(db, clock)
    open_id = await live(db, directory, clock, members, close=False, n=1)
    clock.advance(days=2)
    recent_id = await live(db, directory, clock, members, n=2)
    clock.advance(days=300)
    assert await erase_closed(db, clock) == 0
    async with db.unit() as session:
        for tid in (open_id, recent_id):
            ticket = await session.get(Ticket, tid)
            assert ticket is not None and ticket.erased_at is None and ticket.story == STORY


async def test_the_job_runs_every_kind_in_batches_and_logs_counts_only(
    db: Database, directory: Directory, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    members = await enrol(db, clock)
    tids = [await live(db, directory, clock, members, n=n) for n in (1, 2, 3)]
    async with db.unit() as session:
        for chat in ("9001", "9002", "9003"):
            session.add(
                Conversation(
                    channel="telegram",
                    chat_id=chat,
                    step="story",
                    answers={"story": STORY},
                    updated_at=clock(),
                )
            )
        await mark_outbox_sent(session, now=clock())
    clock.advance(days=366)
    caplog.set_level(logging.INFO)
    done = await apply_retention(db=db, clock=clock, days=365, batch=2, ticket_batch=2)
    assert (done.dialogues, done.tickets) == (4, 3)  # CHAT's dialogue held the last code
    assert done.payloads > 3
    for tid in tids:
        async with db.unit() as session:
            ticket = await session.get(Ticket, tid)
            assert ticket is not None and ticket.erased_at == clock()
    rows = await every_row(db)
    for text in PERSONAL:
        assert tables_holding(rows, text) == set(), text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "4 unfinished dialogue(s) discarded" in logged and "3 closed ticket(s)" in logged
    for text in (*PERSONAL, CHAT):
        assert text not in logged
    again = await apply_retention(db=db, clock=clock, days=365)
    assert (again.dialogues, again.payloads, again.tickets) == (0, 0, 0)


# ---- (d) on demand, and views of an erased ticket --------------------------------------------


async def test_erase_on_demand_refuses_an_open_ticket_unless_forced(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    members = await enrol(db, clock)
    tid = await live(db, directory, clock, members, close=False)
    async with db.unit() as session:
        code = (await session.exec(select(Ticket.code).where(col(Ticket.id) == tid))).one()
    with pytest.raises(retention.EraseError) as refused:
        async with db.unit() as session:
            await retention.erase_ticket(session=session, code=code, now=clock())
    assert refused.value.reason == "open"
    with pytest.raises(retention.EraseError) as unknown:
        async with db.unit() as session:
            await retention.erase_ticket(session=session, code="NOSUCH22", now=clock())
    assert unknown.value.reason == "unknown"
    async with db.unit() as session:
        done = await retention.erase_ticket(
            session=session, code=code.lower(), now=clock(), force=True
        )
    assert (done.code, done.contact, done.attachments) == (code, True, 1)
    # returned, note, more time, the resolution, the comment, the failure naming the chat
    assert done.notes == 6
    await assert_erased(db, tid, actor="operator", note="on request, open (reopened)")
    with pytest.raises(retention.EraseError) as again:
        async with db.unit() as session:
            await retention.erase_ticket(session=session, code=code, now=clock())
    assert again.value.reason == "erased"


async def test_on_demand_the_reporting_chats_recent_traffic_goes_too(
    db: Database, directory: Directory, intake: Intake, clock: FakeClock
) -> None:
    """Within the week the raw updates and replies are kept, they are emptied at once —
    except a parked failed update, which may be a report still to be filed."""
    from storage import inbox

    members = await enrol(db, clock)
    tid = await live(db, directory, clock, members)
    async with db.unit() as session:
        for update_id, status in ((1, "done"), (2, "failed")):
            await inbox.record(
                session,
                channel="telegram",
                update_id=update_id,
                payload={"message": {"text": STORY if status == "done" else "新的报告"}},
                chat_key=CHAT,
                now=clock(),
            )
            row = await inbox.claim(session, channel="telegram", update_id=update_id)
            assert row is not None
            row.status = status
            session.add(row)
        await enqueue(
            session,
            dedup_key="reply:telegram:1:0",
            kind="reply",
            now=clock(),
            payload=payload_of(f"已收到 {STORY}"),
            chat_id=CHAT,
        )
        reply = (
            await session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "reply"))
        ).one()
        reply.status, reply.sent_at = "sent", clock()
        session.add(reply)
        code = (await session.exec(select(Ticket.code).where(col(Ticket.id) == tid))).one()
    async with db.unit() as session:
        await retention.erase_ticket(session=session, code=code, now=clock())
    rows = await every_row(db)
    assert tables_holding(rows, STORY) == set()
    assert tables_holding(rows, "新的报告") == {"inbox_update"}


async def test_every_view_of_an_erased_ticket_says_what_was_erased(
    db: Database, directory: Directory, intake: Intake, clock: FakeClock
) -> None:
    members = await enrol(db, clock)
    tid = await live(db, directory, clock, members)
    async with db.unit() as session:
        code = (await session.exec(select(Ticket.code).where(col(Ticket.id) == tid))).one()
        await retention.erase_ticket(session=session, code=code, now=clock())
    supervisor = members["supervisor"]
    zh = await ticket_details(db, directory, member=supervisor, ticket_id=tid, now=clock())
    supervisor.locale = "en"
    en = await ticket_details(db, directory, member=supervisor, ticket_id=tid, now=clock())
    referral = referral_text(directory, await row_of(db, Ticket, tid), "zh", signed=None)
    for text in PERSONAL:
        assert text not in zh and text not in en and text not in referral
    assert "经过：（已删除）" in zh and "经过：（已删除）" in referral
    assert "What happened: (erased)" in en
    assert t("zh", "erased.contact") in zh and t("en", "erased.contact") in en
    for kind in ("note", "returned", "resolved", "extension_requested", "feedback_comment"):
        assert f"{t('zh', 'event.' + kind)}：（已删除）" in zh, kind
    assert f"{t('zh', 'event.first_action')}：call" in zh
    assert t("zh", "event.erased") in zh and t("en", "event.erased") in en

    # The reporter's status finds nothing; a feedback button of theirs is stale.
    async with db.unit() as session:
        status = await status_text(
            session=session,
            directory=directory,
            channel="telegram",
            chat_id=CHAT,
            code=code,
            locale="zh",
        )
        listing = await status_text(
            session=session,
            directory=directory,
            channel="telegram",
            chat_id=CHAT,
            code=None,
            locale="zh",
        )
    assert status == t("zh", "status.none", code=code)
    assert listing == t("zh", "status.list_empty")
    out = await turn(db, intake, clock, CHAT, Press(f"f:{tid}:sat"))
    assert out.notice == t("zh", "stale")

    # Supervisors' figures still count it.
    supervisor.locale = "zh"
    async with db.unit() as session:
        stats = await supervision.stats(
            session=session, directory=directory, member=supervisor, period="today", now=clock()
        )
    assert "收到：1" in stats.text and "办结：2" in stats.text and "重新打开：1" in stats.text


async def test_a_forced_erasure_of_an_open_case_leaves_it_workable_and_writes_to_no_chat(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    from flows.escalation import sweep_deadlines

    members = await enrol(db, clock)
    tid = await file(db, directory, clock)  # dispatched; the referral not yet sent
    async with db.unit() as session:
        code = (await session.exec(select(Ticket.code).where(col(Ticket.id) == tid))).one()
        await retention.erase_ticket(session=session, code=code, now=clock(), force=True)
    station, supervisor = members["station"], members["supervisor"]
    async with db.unit() as session:
        open_list = await supervision.open_tickets(
            session=session, directory=directory, member=supervisor
        )
        await expand(session, directory=directory, now=clock())
        referral = (
            await session.exec(
                select(OutboxMessage).where(
                    col(OutboxMessage.kind) == "referral", col(OutboxMessage.target) == STATION_CHAT
                )
            )
        ).one()
    assert code in open_list.text
    # The station still gets the case, without what was erased.
    assert "经过：（已删除）" in referral.payload["text"]
    assert STORY not in referral.payload["text"] and PLACE_WORDS not in referral.payload["text"]

    # Unsigned for two days: overdue, and listed so.
    clock.advance(days=2)
    await sweep_deadlines(db=db, directory=directory, policy=DEFAULT_POLICY, clock=clock)
    async with db.unit() as session:
        overdue = await supervision.overdue(session=session, directory=directory, member=supervisor)
        mine = await work.handle(
            session=session,
            directory=directory,
            person=person(STATION_CHAT),
            event=Command("mytickets"),
            now=clock(),
        )
    assert code in overdue.text and code in mine.replies[0].text

    async with db.unit() as session:
        ticket = await tickets.locked_ticket(session, tid)
        assert ticket is not None
        await sign_in(session, directory, member=station, ticket=ticket, now=clock())
        await lifecycle.first_action(
            session=session,
            directory=directory,
            ticket=ticket,
            member=station,
            how="visit",
            now=clock(),
        )
        await lifecycle.resolve(
            session=session,
            directory=directory,
            ticket=ticket,
            member=station,
            outcome="helped_on_site",
            note="上门了解，已处理",
            now=clock(),
        )
    async with db.unit() as session:
        targets = (
            await session.exec(
                select(OutboxMessage.target).where(col(OutboxMessage.target_kind) == "chat")
            )
        ).all()
    assert "" not in targets  # the reporter is not written to: there is no chat any more
    assert STATION_CHAT in targets

    # No feedback can come: closed after the window, and never erased twice.
    clock.advance(days=4)
    await sweep_deadlines(db=db, directory=directory, policy=DEFAULT_POLICY, clock=clock)
    clock.advance(days=366)
    assert await erase_closed(db, clock) == 0
    async with db.unit() as session:
        ticket = await session.get(Ticket, tid)
        assert ticket is not None and ticket.state == "closed"
        erased = await session.exec(
            select(TicketEvent).where(
                col(TicketEvent.ticket_id) == tid, col(TicketEvent.kind) == "erased"
            )
        )
        assert len(erased.all()) == 1


async def test_erasing_an_urgent_report_being_added_to_ends_the_additions(
    db: Database, intake: Intake, clock: FakeClock
) -> None:
    """A forced erasure while the reporter is still adding to an urgent report: the dialogue
    no longer names the ticket, so no later answer is written onto the erased case."""
    person = Person("telegram", CHAT, CHAT, False, "", "zh")

    async def turn(event: Event) -> Outcome:
        async with db.unit() as session:
            return await take_turn(
                session=session, intake=intake, person=person, event=event, now=clock()
            )

    await turn(Command("start"))
    for data in ("mn:report", "dg:yes", "rp:neighbour"):
        async with db.unit() as session:
            conv = (await session.exec(select(Conversation))).one()
        await turn(Press(f"{conv.version}:{data}"))
    await turn(Text("从化区街口街道"))
    async with db.unit() as session:
        conv = (await session.exec(select(Conversation))).one()
    filed = await turn(Press(f"{conv.version}:pk:{JIEKOU}"))
    assert "<code>" in filed.replies[0].text
    async with db.unit() as session:
        ticket = (await session.exec(select(Ticket))).one()
        await retention.erase_ticket(session=session, code=ticket.code, now=clock(), force=True)
    async with db.unit() as session:
        conv = (await session.exec(select(Conversation))).one()
    assert conv.step == "menu" and conv.answers == {}
    await turn(Text("孩子十岁左右"))
    async with db.unit() as session:
        kinds = (await session.exec(select(TicketEvent.kind))).all()
    assert "addition" not in kinds
