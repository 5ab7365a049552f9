"""The outbox sender against the fake Bot API, with a clock the test moves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from bot_api import FakeBotAPI
from factories import event_kinds, file_ticket, group_of, station_member
from sqlmodel import col, select
from telegram import Bot

from flows.outbox import payload_of
from flows.places import Directory
from handlers.telegram.sender import OutboxSender
from storage.db import Database
from storage.models import OutboxMessage, StationGroup, TicketEvent
from storage.outbox import enqueue


@pytest.fixture
def sender(db: Database, bot: Bot, directory: Directory, clock: Any) -> OutboxSender:
    return OutboxSender(db=db, bot=bot, directory=directory, clock=clock)


async def queue(
    db: Database, clock: Any, chat: int, text: str, ticket_id: int | None = None
) -> None:
    async with db.unit() as session:
        await enqueue(
            session,
            dedup_key=f"test:{chat}:{text}",
            kind="test",
            now=clock(),
            payload=payload_of(text),
            chat_id=str(chat),
            ticket_id=ticket_id,
        )


async def rows(db: Database) -> dict[str, OutboxMessage]:
    async with db.unit() as session:
        found = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return {str(r.payload["text"]): r for r in found if "text" in r.payload}


# A chat's messages, not its command list (flows.commands), which has the same target.
CHAT_ROW = col(OutboxMessage.target_kind) == "chat"


def texts_to(api: FakeBotAPI, chat: int) -> list[str]:
    return [c.text or "" for c in api.calls_for(chat, "sendMessage") if c.error is None]


async def test_dedup_key_queues_a_message_once(db: Database, clock: Any) -> None:
    await queue(db, clock, 1, "once")
    await queue(db, clock, 1, "once")
    assert list(await rows(db)) == ["once"]


async def test_a_skipped_duplicate_keeps_the_rest_of_its_transaction(
    db: Database, clock: Any
) -> None:
    """A repeated key is skipped without undoing what the same transaction already wrote."""
    async with db.unit() as session:
        written = [
            await enqueue(
                session,
                dedup_key=f"same-tx:{key}",
                kind="test",
                now=clock(),
                payload=payload_of(text),
                chat_id="21",
            )
            for key, text in (("a", "first"), ("a", "again"), ("b", "second"))
        ]
    assert [row_id is not None for row_id in written] == [True, False, True]
    found = await rows(db)
    assert list(found) == ["first", "second"]
    assert found["first"].payload == payload_of("first")
    assert found["first"].status == "pending" and found["first"].attempts == 0
    assert found["first"].created_at == clock() and found["first"].next_attempt_at == clock()


async def test_one_message_per_second_per_chat_after_a_short_burst(
    db: Database, clock: Any, sender: OutboxSender, bot_api: FakeBotAPI
) -> None:
    for text in ("a1", "a2", "a3", "a4", "a5"):
        await queue(db, clock, 11, text)
    await queue(db, clock, 12, "b1")
    await sender.run_once()
    # A burst of three (a turn's few replies go out together), then one a second.
    assert texts_to(bot_api, 11) == ["a1", "a2", "a3"] and texts_to(bot_api, 12) == ["b1"]
    pending = await rows(db)
    assert pending["a4"].status == "pending"
    assert pending["a4"].next_attempt_at == clock() + timedelta(seconds=1)
    await sender.run_once()  # the clock has not moved: the chat must still wait
    assert texts_to(bot_api, 11) == ["a1", "a2", "a3"]
    clock.advance(seconds=1)
    await sender.run_once()
    assert texts_to(bot_api, 11) == ["a1", "a2", "a3", "a4"]
    await sender.run_once()  # one a second: a5 waits for the next second
    assert texts_to(bot_api, 11) == ["a1", "a2", "a3", "a4"]
    clock.advance(seconds=1)
    await sender.run_once()
    assert texts_to(bot_api, 11) == ["a1", "a2", "a3", "a4", "a5"]  # in order, nothing lost


async def test_429_delays_that_chat_by_retry_after_and_loses_nothing(
    db: Database, clock: Any, sender: OutboxSender, bot_api: FakeBotAPI
) -> None:
    await queue(db, clock, 21, "x1")
    await queue(db, clock, 21, "x2")
    await queue(db, clock, 22, "y1")
    bot_api.fail_next("sendMessage", chat_id=21, status=429, retry_after=7)
    start = clock()
    await sender.run_once()
    assert texts_to(bot_api, 22) == ["y1"]  # another chat is not held up
    assert texts_to(bot_api, 21) == []
    state = await rows(db)
    assert state["x1"].status == "pending" and "429" in (state["x1"].error or "")
    assert state["x1"].next_attempt_at == start + timedelta(seconds=7)
    assert state["x2"].status == "pending"
    clock.advance(seconds=6)
    await sender.run_once()
    assert texts_to(bot_api, 21) == []  # still inside retry_after
    clock.advance(seconds=1)
    await sender.run_once()
    clock.advance(seconds=1)
    await sender.run_once()
    assert texts_to(bot_api, 21) == ["x1", "x2"]
    assert all(r.status == "sent" for r in (await rows(db)).values())
    # Two refused calls would mean the limit was not honoured: only the first one failed.
    assert len([c for c in bot_api.calls_for(21, "sendMessage") if c.error]) == 1


async def test_403_is_recorded_and_other_sends_go_on(
    db: Database, clock: Any, sender: OutboxSender, bot_api: FakeBotAPI, service_ticket: int
) -> None:
    await queue(db, clock, 31, "blocked", ticket_id=service_ticket)
    await queue(db, clock, 32, "fine")
    bot_api.fail_next("sendMessage", chat_id=31, status=403)
    await sender.run_once()
    state = await rows(db)
    assert state["blocked"].status == "failed"
    assert "blocked" in (state["blocked"].error or "")
    assert state["fine"].status == "sent" and texts_to(bot_api, 32) == ["fine"]
    async with db.unit() as session:
        events = (
            await session.exec(
                select(TicketEvent).where(col(TicketEvent.ticket_id) == service_ticket)
            )
        ).all()
    assert [e.kind for e in events if e.kind == "delivery_failed"] == ["delivery_failed"]
    clock.advance(seconds=60)
    await sender.run_once()
    assert len(bot_api.calls_for(31, "sendMessage")) == 1  # never retried


async def test_transient_errors_back_off_then_deliver(
    db: Database, clock: Any, sender: OutboxSender, bot_api: FakeBotAPI
) -> None:
    await queue(db, clock, 41, "flaky")
    bot_api.fail_next("sendMessage", chat_id=41, status=502, times=2)
    await sender.run_once()
    first = (await rows(db))["flaky"]
    assert first.status == "pending" and first.attempts == 1
    clock.advance(seconds=2)
    await sender.run_once()
    assert (await rows(db))["flaky"].attempts == 2
    clock.advance(seconds=4)
    await sender.run_once()
    assert texts_to(bot_api, 41) == ["flaky"]
    assert (await rows(db))["flaky"].status == "sent"


async def test_a_sender_killed_mid_batch_sends_nothing_twice(
    db: Database, clock: Any, bot: Bot, directory: Directory, bot_api: FakeBotAPI
) -> None:
    for i in range(5):
        await queue(db, clock, 50 + i, f"m{i}")
    first = OutboxSender(db=db, bot=bot, directory=directory, clock=clock)
    claimed = await first._claim()
    for row in claimed[:2]:  # two delivered, then the process dies mid-batch
        await first._send_chat(row.target, [row])
    del first
    # A new process: a new sender with an empty memory, the same database. The three rows
    # the dead one had claimed wait for their lease to run out, then go out once.
    second = OutboxSender(db=db, bot=bot, directory=directory, clock=clock)
    await second.run_once()
    assert [texts_to(bot_api, 50 + i) for i in range(5)] == [["m0"], ["m1"], [], [], []]
    clock.advance(seconds=61)
    await second.run_once()
    await second.run_once()
    for i in range(5):
        assert texts_to(bot_api, 50 + i) == [f"m{i}"]
    assert all(r.status == "sent" for r in (await rows(db)).values())


@pytest.fixture
async def service_ticket(db: Database, directory: Directory, clock: Any) -> int:
    return await _referral_ticket(db, directory, clock, [])


async def test_a_group_that_became_a_supergroup_is_followed_to_its_new_id(
    db: Database, clock: Any, sender: OutboxSender, bot_api: FakeBotAPI
) -> None:
    old, new = -100, -1001234
    await group_of(db, station="440117001000", chat=str(old), now=clock())
    await queue(db, clock, old, "g1")
    await queue(db, clock, old, "g2")
    bot_api.fail_next("sendMessage", chat_id=old, status=400, migrate_to_chat_id=new)
    await sender.run_once()  # refused: the group has moved
    await sender.run_once()
    clock.advance(seconds=3)  # one message per 3 s to a group
    await sender.run_once()
    assert texts_to(bot_api, new) == ["g1", "g2"] and texts_to(bot_api, old) == []
    assert {r.target for r in (await rows(db)).values()} == {str(new)}
    async with db.unit() as session:
        group = (await session.exec(select(StationGroup))).one()
    assert group.chat_id == str(new) and group.active


async def test_an_outage_longer_than_eight_tries_loses_nothing(
    db: Database, clock: Any, sender: OutboxSender, bot_api: FakeBotAPI
) -> None:
    """Retried by age, not by count: twelve failed tries (the old sender gave up after eight),
    the pauses growing but never past the cap, then the message goes out."""
    await queue(db, clock, 61, "through the outage")
    bot_api.fail_next("sendMessage", chat_id=61, status=502, times=12)
    pauses = []
    for _ in range(12):
        before = clock()
        await sender.run_once()
        row = (await rows(db))["through the outage"]
        assert row.status == "pending"
        pauses.append((row.next_attempt_at - before).total_seconds())
        clock.now = row.next_attempt_at
    assert pauses[:4] == [1, 2, 4, 8] and max(pauses) == 300  # exponential, capped
    await sender.run_once()
    assert texts_to(bot_api, 61) == ["through the outage"]
    row = (await rows(db))["through the outage"]
    assert row.status == "sent" and row.attempts == 13


async def test_a_message_is_given_up_only_when_it_is_older_than_the_delivery_window(
    db: Database, clock: Any, bot: Bot, directory: Directory, bot_api: FakeBotAPI
) -> None:
    sender = OutboxSender(
        db=db, bot=bot, directory=directory, clock=clock, deliver_for=timedelta(hours=24)
    )
    await queue(db, clock, 62, "too late")
    bot_api.fail_next("sendMessage", chat_id=62, status=500, times=1000)
    clock.advance(hours=23, minutes=59)
    await sender.run_once()
    assert (await rows(db))["too late"].status == "pending"  # 23 h 59 min: still tried
    clock.advance(minutes=10)
    await sender.run_once()
    row = (await rows(db))["too late"]
    assert row.status == "failed" and row.failed_at == clock()
    assert "not delivered in 24 h" in (row.error or "")


async def test_a_retry_by_an_operator_counts_the_window_from_then(
    db: Database, clock: Any, sender: OutboxSender, bot_api: FakeBotAPI
) -> None:
    await queue(db, clock, 63, "requeued")
    clock.advance(hours=30)
    async with db.unit() as session:
        row = (await session.exec(select(OutboxMessage))).one()
        row.requeued_at = clock()
        session.add(row)
    bot_api.fail_next("sendMessage", chat_id=63, status=502)
    await sender.run_once()
    assert (await rows(db))["requeued"].status == "pending"


async def test_a_row_that_cannot_be_rendered_fails_alone(
    db: Database, clock: Any, sender: OutboxSender, bot_api: FakeBotAPI, service_ticket: int
) -> None:
    """A payload written by another version (a text key renamed, a field missing) is given up
    with the reason; every other row of the same batches still goes out."""
    from flows.lifecycle import notice

    await station_member(db, now=clock(), user="64", name="worker")
    async with db.unit() as session:
        await enqueue(
            session,
            dedup_key="renamed-key",
            kind="reminder",
            now=clock(),
            payload=notice("sla.no_such_text", code="X"),
            role_target=("station", "440117001000"),
            ticket_id=service_ticket,
        )
        await enqueue(
            session,
            dedup_key="no-text",
            kind="test",
            now=clock(),
            payload={"buttons": []},
            chat_id="65",
            ticket_id=service_ticket,
        )
    await queue(db, clock, 66, "unharmed")
    await sender.run_once()
    await sender.run_once()
    assert texts_to(bot_api, 66) == ["unharmed"]
    assert any("新转介" in t for t in texts_to(bot_api, 64))  # the ticket's referral went out
    async with db.unit() as session:
        found = {r.dedup_key: r for r in (await session.exec(select(OutboxMessage))).all()}
        events = (
            await session.exec(
                select(TicketEvent).where(col(TicketEvent.kind) == "delivery_failed")
            )
        ).all()
    assert found["renamed-key"].status == "failed"
    assert found["renamed-key"].error == "cannot render: KeyError"
    assert found["no-text"].status == "failed" and "cannot render" in (found["no-text"].error or "")
    assert len(events) == 2


async def test_a_referral_undelivered_for_five_minutes_escalates_and_still_arrives(
    db: Database,
    clock: Any,
    bot: Bot,
    directory: Directory,
    bot_api: FakeBotAPI,
    service_ticket: int,
) -> None:
    from flows.sla import LEVEL1
    from storage.models import Ticket

    await station_member(db, now=clock(), user="67", name="worker")
    sender = OutboxSender(db=db, bot=bot, directory=directory, clock=clock, retry_max=60)
    bot_api.fail_next("sendMessage", chat_id=67, status=502, times=20)

    async def not_notified() -> list[TicketEvent]:
        async with db.unit() as session:
            return list(
                (
                    await session.exec(
                        select(TicketEvent).where(
                            col(TicketEvent.ticket_id) == service_ticket,
                            col(TicketEvent.kind) == "not_notified",
                        )
                    )
                ).all()
            )

    await sender.run_once()  # expanded, first try fails
    clock.advance(minutes=4)
    await sender.run_once()
    assert await not_notified() == []  # a short outage: the station may still get it
    clock.advance(minutes=2)
    await sender.run_once()
    assert len(await not_notified()) == 1
    async with db.unit() as session:
        ticket = await session.get(Ticket, service_ticket)
    assert ticket is not None and ticket.ladder_rung >= LEVEL1 and ticket.next_due_at == clock()
    for _ in range(20):  # more failures, no second escalation
        clock.advance(minutes=1)
        await sender.run_once()
    assert len(await not_notified()) == 1
    assert [c for c in bot_api.calls_for(67, "sendMessage") if c.error is None]
    assert any("新转介" in t for t in texts_to(bot_api, 67))  # delivered after the outage


async def _referral_ticket(
    db: Database, directory: Directory, clock: Any, members: list[str], **answers: Any
) -> int:
    """A report from chat 39 to 街口街道, whose station members are ``members`` (chats)."""
    for chat in members:
        await station_member(db, now=clock(), user=chat, name="worker")
    answers = {"concerns": ["bullying"], "story": "在学校被欺负", **answers}
    ticket = await file_ticket(db, directory, now=clock(), chat="39", **answers)
    assert ticket.id is not None
    return ticket.id


@pytest.mark.parametrize("members", [2, 3, 5])
async def test_every_copy_refused_at_the_same_moment_escalates_once(
    db: Database,
    clock: Any,
    sender: OutboxSender,
    bot_api: FakeBotAPI,
    directory: Directory,
    members: int,
) -> None:
    """Copies failing side by side (on PostgreSQL, in concurrent transactions) must not each
    see the others still being sent and leave the ticket unescalated."""
    chats = [f"71{i}" for i in range(members)]
    ticket_id = await _referral_ticket(db, directory, clock, chats)
    for chat in chats:
        bot_api.fail_next("sendMessage", chat_id=int(chat), status=403)
    await sender.run_once()
    await sender.run_once()
    assert (await event_kinds(db, ticket_id)).count("not_notified") == 1


async def test_a_referral_that_cannot_be_rendered_escalates_at_once(
    db: Database, clock: Any, sender: OutboxSender, directory: Directory
) -> None:
    """A concern renamed by an upgrade: the referral is given up, and the ticket does not
    wait for its reminder as if the station had been told."""
    from flows.sla import LEVEL1
    from storage.models import Ticket

    ticket_id = await _referral_ticket(
        db, directory, clock, ["72"], concerns=["renamed_in_a_later_version"]
    )
    await sender.run_once()
    assert "not_notified" in await event_kinds(db, ticket_id)
    async with db.unit() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None and ticket.ladder_rung >= LEVEL1 and ticket.next_due_at == clock()


async def test_a_chats_messages_keep_their_order_after_a_failure(
    db: Database, clock: Any, sender: OutboxSender, bot_api: FakeBotAPI
) -> None:
    bot_api.fail_next("sendMessage", chat_id=73, status=502, times=3)
    await queue(db, clock, 73, "first")
    await sender.run_once()
    clock.advance(seconds=1)
    await sender.run_once()
    clock.advance(seconds=2)
    await sender.run_once()  # in backoff for 4 s now
    clock.advance(seconds=1)
    await queue(db, clock, 73, "second")  # written later, due at once
    await sender.run_once()
    assert texts_to(bot_api, 73) == []  # it does not overtake the first
    clock.advance(seconds=5)
    await sender.run_once()
    await sender.run_once()
    assert texts_to(bot_api, 73) == ["first", "second"]


async def test_an_undelivered_referral_is_judged_when_its_grace_ends(
    db: Database, clock: Any, sender: OutboxSender, bot_api: FakeBotAPI, directory: Directory
) -> None:
    """Tries of a failing copy double their pauses (1, 2, 4 … 256 s), but one falls at the end
    of the 5 minutes, so an undelivered referral escalates then, not minutes later."""
    from flows.delivery import REFERRAL_GRACE

    ticket_id = await _referral_ticket(db, directory, clock, ["74"])
    bot_api.fail_next("sendMessage", chat_id=74, status=502, times=100)
    start = clock()
    while True:
        await sender.run_once()
        if "not_notified" in await event_kinds(db, ticket_id):
            break
        async with db.unit() as session:
            copy = (
                await session.exec(
                    select(OutboxMessage).where(col(OutboxMessage.target) == "74", CHAT_ROW)
                )
            ).one()
        clock.now = copy.next_attempt_at
        assert clock() - start <= REFERRAL_GRACE, "the grace passed without a judgement"
    assert clock() - start == REFERRAL_GRACE


async def test_an_unexpected_error_is_retried_not_left_claimed(
    db: Database, clock: Any, sender: OutboxSender
) -> None:
    async with db.unit() as session:
        await enqueue(
            session,
            dedup_key="odd-target",
            kind="test",
            now=clock(),
            payload=payload_of("x"),
            chat_id="not-a-number",
        )
    await sender.run_once()
    async with db.unit() as session:
        row = (await session.exec(select(OutboxMessage))).one()
    assert row.status == "pending" and row.next_attempt_at > clock()
    assert "ValueError" in (row.error or "")


async def test_additions_go_up_to_supervisors_but_not_to_the_duty_chat(
    db: Database, clock: Any, bot: Bot, directory: Directory, bot_api: FakeBotAPI
) -> None:
    """Nobody enrolled anywhere: a reporter's added words are not passed to a duty chat that
    may be a group (escalation notices, which carry no story, still are)."""
    ticket_id = await _referral_ticket(db, directory, clock, [])
    sender = OutboxSender(db=db, bot=bot, directory=directory, clock=clock, duty_chat="-990")
    async with db.unit() as session:
        await enqueue(
            session,
            dedup_key="addition",
            kind="addition",
            now=clock(),
            payload={"fields": ["story"]},
            role_target=("station", "440117001000"),
            ticket_id=ticket_id,
        )
    await sender.run_once()
    await sender.run_once()
    assert not any("在学校被欺负" in t for t in texts_to(bot_api, -990))
    async with db.unit() as session:
        row = (
            await session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "addition"))
        ).one()
    assert (row.status, row.error) == ("failed", "nobody enrolled")


async def test_a_member_who_leaves_gets_no_more_case_data_and_the_referral_escalates(
    db: Database, clock: Any, sender: OutboxSender, bot_api: FakeBotAPI, directory: Directory
) -> None:
    from flows.staff import active_member, leave

    ticket_id = await _referral_ticket(db, directory, clock, ["75"])
    bot_api.fail_next("sendMessage", chat_id=75, status=502)
    await sender.run_once()  # expanded; the copy waits after a failed try
    async with db.unit() as session:
        member = await active_member(session, channel="telegram", user_id="75")
        assert member is not None
        await leave(session=session, member=member, now=clock())
    clock.advance(minutes=1)
    await sender.run_once()
    assert texts_to(bot_api, 75) == []
    async with db.unit() as session:
        copy = (
            await session.exec(
                select(OutboxMessage).where(col(OutboxMessage.target) == "75", CHAT_ROW)
            )
        ).one()
    assert copy.status == "failed" and (copy.error or "").startswith("withdrawn:")
    assert "not_notified" in await event_kinds(db, ticket_id)


async def test_a_long_message_failing_half_way_goes_on_from_where_it_stopped(
    db: Database, clock: Any, sender: OutboxSender, bot_api: FakeBotAPI
) -> None:
    """Three parts; the second meets a 429: the retry sends the second and the third, not
    the first again (in a group, 20 a minute, this would happen often)."""
    lines = [f"第 {i} 行：" + "很长的内容" * 60 for i in range(40)]
    await queue(db, clock, 76, "\n".join(lines))
    bot_api.fail_next("sendMessage", chat_id=76, status=429, retry_after=1, skip=1)
    await sender.run_once()
    clock.advance(seconds=1)
    await sender.run_once()
    sent = texts_to(bot_api, 76)
    assert len(sent) == len(set(sent)) >= 3  # every part once
    assert "\n".join(sent) == "\n".join(lines)


async def _direct_row(db: Database, clock: Any, chat: int, text: str) -> OutboxMessage:
    """A reply a turn wrote to send itself right after its commit (leased to that turn)."""
    async with db.unit() as session:
        row_id = await enqueue(
            session,
            dedup_key=f"direct:{chat}:{text}",
            kind="reply",
            now=clock(),
            payload=payload_of(text),
            chat_id=str(chat),
            send_now=True,
        )
        assert row_id is not None
        row = await session.get(OutboxMessage, row_id)
        assert row is not None
    return row


async def test_a_send_that_waited_past_its_lease_does_not_repeat_another_senders(
    db: Database, bot: Bot, directory: Directory, clock: Any, bot_api: FakeBotAPI
) -> None:
    """The direct send waited its turn (the global rate) past its lease; meanwhile the
    background sender claimed and sent the row. The late send must not go too."""
    late = OutboxSender(db=db, bot=bot, directory=directory, clock=clock)
    background = OutboxSender(db=db, bot=bot, directory=directory, clock=clock)
    row = await _direct_row(db, clock, 61, "once only")
    clock.advance(seconds=20)  # past the direct lease
    assert await background.run_once() == 1
    await late.send_now([row])
    assert texts_to(bot_api, 61) == ["once only"]
    assert (await rows(db))["once only"].status == "sent"


async def test_a_late_send_nobody_took_over_renews_its_lease_and_goes_once(
    db: Database, bot: Bot, directory: Directory, clock: Any, bot_api: FakeBotAPI
) -> None:
    late = OutboxSender(db=db, bot=bot, directory=directory, clock=clock)
    background = OutboxSender(db=db, bot=bot, directory=directory, clock=clock)
    row = await _direct_row(db, clock, 62, "still mine")
    clock.advance(seconds=20)
    await late.send_now([row])
    assert await background.run_once() == 0
    assert texts_to(bot_api, 62) == ["still mine"]
    assert (await rows(db))["still mine"].status == "sent"


async def test_state_is_starting_then_ok_then_stalled_when_a_batch_hangs(
    sender: OutboxSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import handlers.telegram.sender as sender_module

    assert sender.state() == "starting"
    task = asyncio.create_task(sender.run(idle_seconds=0.01))
    for _ in range(100):  # bounded: until the loop has begun a batch
        if sender.beat is not None:
            break
        await asyncio.sleep(0.01)
    assert sender.state() == "ok"
    beat = sender.beat
    assert beat is not None
    later = beat + sender_module.STALL_SECONDS + 1
    sender.stop()
    await asyncio.wait_for(task, 5)
    monkeypatch.setattr(sender_module.time, "monotonic", lambda: later)
    assert sender.state() == "stalled"
