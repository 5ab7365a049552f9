"""The Telegram adapter in process: PTB Application + inbox polling + database, against the
fake Bot API on loopback."""

from __future__ import annotations

from typing import Any

import pytest
from citizen import Citizen
from factories import events_of, outbox_rows, ticket_by_code
from sqlmodel import col, func, select

from storage.db import Database
from storage.models import (
    Conversation,
    InboxUpdate,
    OutboxMessage,
    Ticket,
    TicketAttachment,
    TicketContact,
)

Running = Any  # the `service` fixture of tests/conftest.py


@pytest.fixture
def running(service: Any) -> Any:
    return service


async def count(db: Database, model: Any, *where: Any) -> int:
    async with db.unit() as session:
        return int(
            (await session.exec(select(func.count()).select_from(model).where(*where))).one()
        )


async def test_full_report_by_buttons_creates_a_dispatched_ticket(running: Running) -> None:
    citizen = Citizen(running.api, 1001)
    code = await citizen.file_report_by_buttons()
    assert citizen.interactions <= 14

    ticket = await ticket_by_code(running.db, code)
    events = await events_of(running.db, ticket.id)
    outbox = await outbox_rows(running.db, ticket_id=ticket.id)
    assert ticket.station_code == "440117001000" and ticket.state == "dispatched"
    assert ticket.priority == "P1"  # no carer, child of 6-11
    assert ticket.sign_due_at is not None and ticket.dispatched_at is not None
    assert (ticket.sign_due_at - ticket.dispatched_at).total_seconds() == 2 * 3600
    assert ticket.reporter_chat_id == "1001" and ticket.anonymous
    # Nobody is enrolled at the station in this test: the sender may already have noted that.
    assert [e.kind for e in events][:2] == ["submitted", "dispatched"]
    assert set(e.kind for e in events[2:]) <= {"not_notified"}
    assert [(o.kind, o.target_kind, o.target) for o in outbox if o.parent_id is None] == [
        ("referral", "station", "440117001000")
    ]
    receipt = await citizen.wait_text(code)
    assert "街口街道" in (receipt.text or "")
    assert "2小时" in (receipt.text or "")


async def test_duplicate_update_id_is_processed_once(running: Running) -> None:
    api = running.api
    citizen = Citizen(api, 1002)
    await citizen.text("/start")
    _, data = await citizen.find_button("mn", "report")
    update = {"update_id": 777_000, "message": None}
    update = {
        "update_id": 777_000,
        "callback_query": {
            "id": "cbq-dup",
            "from": {"id": 1002, "is_bot": False, "first_name": "A"},
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 1002, "type": "private"},
                "text": "menu",
            },
        },
    }
    api.push_raw(update)
    await api.wait_for(lambda c: c.method == "answerCallbackQuery", chat_id=None)
    mark = len(api.calls)
    api.push_raw(dict(update))  # Telegram redelivers the same update
    api.push_text(1002, "/help")  # a later update proves the duplicate was passed over
    await api.wait_for(lambda c: "/cancel" in (c.text or ""), after=mark, chat_id=1002)
    assert [c.method for c in api.calls[mark:] if c.chat_id in (1002, None)].count(
        "answerCallbackQuery"
    ) == 0
    assert await count(running.db, InboxUpdate, col(InboxUpdate.update_id) == 777_000) == 1
    async with running.db.unit() as session:
        conv = (
            await session.exec(select(Conversation).where(col(Conversation.chat_id) == "1002"))
        ).one()
    assert conv.step == "danger"


async def test_confirm_pressed_twice_creates_one_ticket(running: Running) -> None:
    citizen = Citizen(running.api, 1003)
    code = await citizen.file_report_by_buttons()
    # Press the very same "confirm" again, as an impatient person would.
    confirm = next(
        c
        for c in reversed(running.api.calls_for(1003, "sendMessage"))
        if any(d and d.endswith(":sm:ok") for _, d in c.buttons())
    )
    data = next(d for _, d in confirm.buttons() if d and d.endswith(":sm:ok"))
    assert confirm.message_id is not None
    await citizen.press_data(data, message_id=confirm.message_id)
    again = await citizen.wait_text("已经提交")
    assert code in (again.text or "")
    assert await count(running.db, Ticket, col(Ticket.reporter_chat_id) == "1003") == 1


async def test_bad_inputs_get_an_answer_and_keep_the_step(running: Running) -> None:
    api = running.api
    citizen = Citizen(api, 1004)
    await citizen.text("/start")
    await citizen.press("mn", "report")
    await citizen.sticker()
    await citizen.wait_text("贴纸")
    await citizen.text("随便说点什么")
    await citizen.wait_text("按钮")
    await citizen.text("/nosuchcommand")
    await citizen.wait_text("/nosuchcommand")
    citizen.mark = 0  # press the danger button of the earlier message: still answerable
    await citizen.press("dg", "no")
    await citizen.text("/start")
    resume = await citizen.wait_text("尚未提交")
    assert "继续" in str(resume.buttons())


async def test_status_shows_only_this_chats_reports(running: Running) -> None:
    owner = Citizen(running.api, 1005)
    code = await owner.file_report_by_buttons()
    await owner.text(f"/status {code}")
    reply = await owner.wait_text("等待受理")
    assert code in (reply.text or "")
    stranger = Citizen(running.api, 1006)
    reply = await stranger.text(f"/status {code}")
    assert "没有编号" in (reply.text or "")
    assert "街口" not in (reply.text or "")


async def test_typed_place_and_english(running: Running) -> None:
    citizen = Citizen(running.api, 1007)
    await citizen.text("/language")
    await citizen.press("lg", "en")
    await citizen.wait_text("English")
    await citizen.press("mn", "report")
    call110 = await citizen.press("dg", "yes")
    assert "Call 110" in (call110.text or "")  # the very first thing said
    await citizen.press("rp", "teacher")
    await citizen.text("廣州市從化區街口街道")
    confirm = await citizen.wait_text("Is it here?")
    assert "街口街道" in (confirm.text or "")
    await citizen.press("pk", "440117001000")
    await citizen.wait_text("How old")


async def test_unknown_township_files_a_ticket_in_the_county_queue(running: Running) -> None:
    citizen = Citizen(running.api, 1008)
    await citizen.text("/start")
    await citizen.press("mn", "report")
    await citizen.press("dg", "no")
    await citizen.press("rp", "committee")
    await citizen.press("pc", "440100000000")
    await citizen.press("pn", "440117000000")
    await citizen.press("pu", "county")
    await citizen.press("ag", "12-14")
    await citizen.press("sx", "m")
    await citizen.press("cn", "out_of_school")
    await citizen.press("cd")
    await citizen.photo()
    await citizen.wait_text("1/5")
    await citizen.text("孩子已经一个月没去上学了。")
    await citizen.press("ct", "phone")
    await citizen.text("13800138000")
    await citizen.press("cs", "yes")
    await citizen.press("sm", "ok")
    code = await citizen.receipt_code()
    ticket = await ticket_by_code(running.db, code)
    async with running.db.unit() as session:
        contact = await session.get(TicketContact, ticket.id)
        photos = (
            await session.exec(
                select(TicketAttachment).where(col(TicketAttachment.ticket_id) == ticket.id)
            )
        ).all()
        outbox = (
            await session.exec(
                select(OutboxMessage).where(col(OutboxMessage.ticket_id) == ticket.id)
            )
        ).one()
    assert (ticket.state, ticket.owner_level, ticket.owner_code) == (
        "triage",
        "county",
        "440117000000",
    )
    assert ticket.station_code is None and ticket.priority == "P2"
    assert ticket.mandatory_reporter and not ticket.anonymous
    assert contact is not None and contact.phone == "13800138000" and contact.callback_consent
    assert len(photos) == 1 and photos[0].kind == "photo"
    assert (outbox.target_kind, outbox.target) == ("county", "440117000000")
    # The reporter's phone never goes into the ticket row or the referral payload.
    assert "13800138000" not in str(ticket.model_dump()) + str(outbox.payload)


async def test_a_burst_from_one_chat_is_handled_in_order(running: Running) -> None:
    """Updates of one chat arrive together; each sees the state the previous one left."""
    api = running.api
    citizen = Citizen(api, 1009)
    await citizen.text("/start")
    _, report = await citizen.find_button("mn", "report")
    menu_id = api.calls_for(1009, "sendMessage")[-1].message_id
    assert menu_id is not None
    mark = len(api.calls)
    api.push_callback(1009, report, message_id=menu_id)
    for text in ("第一句", "第二句", "第三句"):
        api.push_text(1009, text)  # at the danger step: each is told to use the buttons
    api.push_text(1009, "/cancel")
    await api.wait_for(lambda c: "已取消" in (c.text or ""), after=mark, chat_id=1009)
    texts = [c.text or "" for c in api.calls_for(1009, "sendMessage") if c.index >= mark]
    assert texts[0].startswith("<b>孩子现在有危险吗")
    assert sum("按钮" in t for t in texts) == 3
    assert "已取消" in texts[4]


async def test_a_receipt_that_fails_to_send_is_queued_and_still_arrives(running: Running) -> None:
    """The turn is committed before the bot answers: when Telegram fails the answer, the
    receipt goes to the outbox and its sender delivers it; the report is filed once."""
    api, chat = running.api, 1010
    citizen = Citizen(api, chat)
    await citizen.report_until_story()
    await citizen.text("孩子一个人在家两天了。")
    await citizen.press("ct", "anon")
    summary, confirm = await citizen.find_button("sm", "ok")
    api.fail_next("sendMessage", chat_id=chat, status=502)
    mark = len(api.calls)
    api.push_callback(chat, confirm, message_id=summary.message_id or 0)
    failed = await api.wait_for(
        lambda c: c.method == "sendMessage" and c.error == 502, after=mark, chat_id=chat
    )
    receipt = await api.wait_for(
        lambda c: c.method == "sendMessage" and c.error is None and "<code>" in (c.text or ""),
        after=failed.index,
        chat_id=chat,
    )
    assert receipt.text == failed.text
    assert "remove_keyboard" in str(receipt.params.get("reply_markup"))
    assert await count(running.db, Ticket, col(Ticket.reporter_chat_id) == str(chat)) == 1
    replies = col(OutboxMessage.kind) == "reply"
    # Every reply is an outbox row; the receipt's took a second try, and none is left behind.
    retried = col(OutboxMessage.attempts) == 2
    assert await count(running.db, OutboxMessage, replies, retried) == 1
    assert await count(running.db, OutboxMessage, replies, col(OutboxMessage.status) != "sent") == 0


async def test_after_telegram_renumbers_its_updates_they_still_arrive(
    bot_api: Any, db: Database, intake: Any
) -> None:
    """The inbox remembers an update id far above what Telegram now hands out (it renumbers
    after a week without updates): a restarted poller must not confirm the new ones away."""
    from datetime import UTC, datetime, timedelta

    from harness import BotService

    from storage import inbox

    long_ago = datetime.now(UTC) - timedelta(days=30)
    async with db.unit() as session:
        await inbox.record(
            session, channel="telegram", update_id=10**9, payload={}, chat_key="1", now=long_ago
        )
        row = await inbox.claim(session, channel="telegram", update_id=10**9)
        assert row is not None
        inbox.mark_done(session, row, now=long_ago)
    svc = BotService(bot_api, db, intake)
    await svc.start()
    try:
        reply = await Citizen(bot_api, 1020).text("/start")
        assert "护童之声" in (reply.text or "")
    finally:
        await svc.stop()


async def test_polling_outlives_a_conflict_and_a_database_hiccup(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process polling with the token (409) or a failed write of the inbox is
    retried; the update is fetched again and answered, the service does not stop."""
    from sqlalchemy.exc import OperationalError

    from storage import inbox

    api = running.api
    api.fail_next(
        "getUpdates", status=409, description="Conflict: terminated by other getUpdates request"
    )
    real_record = inbox.record_many
    failures = [OperationalError("INSERT", {}, Exception("database is restarting"))]

    async def flaky_record(session: Any, **kwargs: Any) -> set[int]:
        if failures:
            raise failures.pop()
        return await real_record(session, **kwargs)

    monkeypatch.setattr(inbox, "record_many", flaky_record)
    reply = await Citizen(api, 1030, timeout=30).text("/start")
    assert "护童之声" in (reply.text or "") and not failures
    assert not running.tasks[0].done()  # the poller is still running
