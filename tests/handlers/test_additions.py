"""Adding to a filed report (补充情况) end to end against the fake Bot API: /status offers it
for an open report of the same chat; words, a voice message and a photo reach the station at
once and stay on the ticket; bad input is answered and loses nothing."""

from __future__ import annotations

import pytest
from bot_api import Call, FakeBotAPI
from citizen import Citizen
from factories import events_of, join_by_bot, ticket_by_code
from harness import BotService, FakeClock
from sqlmodel import col, select

from flows.staff import Scope
from storage.db import Database
from storage.models import Ticket, TicketAttachment

JIEKOU = "440117001000"
REPORTER, WORKER, STRANGER = 3501, 3502, 3503


@pytest.fixture
def life(svc: BotService) -> BotService:
    return svc  # tests/handlers/conftest.py: on the test's clock, without pacing


async def said_to(api: FakeBotAPI, chat: int, needle: str, after: int) -> Call:
    return await api.wait_for(lambda c: needle in (c.text or ""), after=after, chat_id=chat)


async def test_a_reporter_adds_words_and_a_voice_message_and_the_station_gets_them(
    life: BotService, clock: FakeClock, db: Database
) -> None:
    api = life.api
    await join_by_bot(life, chat=WORKER, scope=Scope("station", "township", JIEKOU), now=clock())
    citizen = Citizen(api, REPORTER)
    code = await citizen.file_report_by_buttons()
    clock.advance(minutes=5)  # not a flood: a person coming back to it later

    status = await citizen.text(f"/status {code}")
    assert [label for label, _ in status.buttons()] == ["📎 补充情况"]
    prompt = await citizen.press("ad", code)
    assert "文字、照片、语音、视频或文件都可以" in (prompt.text or "")

    mark = len(api.calls)
    saved = await citizen.text("楼号是 12 栋 3 单元，孩子今天脸上又有新伤。")
    assert "已补充到报告" in (saved.text or "")
    notice = await said_to(api, WORKER, "补充信息", mark)
    assert f"<code>{code}</code>" in (notice.text or "")
    assert "补充：楼号是 12 栋 3 单元，孩子今天脸上又有新伤。" in (notice.text or "")

    mark = len(api.calls)
    api.push_voice(REPORTER)
    await said_to(api, REPORTER, "已补充到报告", mark)
    voice_notice = await said_to(api, WORKER, "报告人补充了语音", mark)
    assert "📎" in (voice_notice.text or "")

    done = await citizen.press("add")
    assert "补充的情况都已转给工作站" in (done.text or "")
    ticket = await ticket_by_code(db, code)
    kinds = [e.kind for e in await events_of(db, ticket.id)]
    assert kinds.count("reporter_added") == 2
    async with db.unit() as session:
        files = (
            await session.exec(
                select(TicketAttachment.kind).where(col(TicketAttachment.ticket_id) == ticket.id)
            )
        ).all()
    assert list(files) == ["voice"]

    # The station's detail has the words in its history and the voice message behind 📎.
    mark = len(api.calls)
    api.push_text(WORKER, f"/ticket {code}")
    detail = await api.wait_for(
        lambda c: (c.text or "").startswith(f"<b>工单 <code>{code}"), after=mark, chat_id=WORKER
    )
    assert "报告人补充情况：楼号是 12 栋 3 单元" in (detail.text or "")
    files_button = [d for label, d in detail.buttons() if label == "📎 附件（1）"]
    mark = len(api.calls)
    api.push_callback(WORKER, files_button[0], message_id=int(detail.message_id or 0))
    sent = await api.wait_for(lambda c: c.method == "sendVoice", after=mark, chat_id=WORKER)
    assert sent.params["voice"].startswith("AwACAgUAAxkBAA")


async def test_only_the_filing_chat_may_add_and_only_while_the_report_is_open(
    life: BotService, db: Database
) -> None:
    api = life.api
    citizen = Citizen(api, REPORTER)
    code = await citizen.file_report_by_buttons()
    stranger = Citizen(api, STRANGER)
    other = await stranger.text(f"/status {code}")
    assert other.buttons() == [] and "没有编号" in (other.text or "")

    status = await citizen.text(f"/status {code}")
    data = status.buttons()[0][1]
    async with db.unit() as session:  # dealt with meanwhile
        ticket = (await session.exec(select(Ticket).where(col(Ticket.code) == code))).one()
        ticket.state = "closed"
        session.add(ticket)
    closed = await citizen.press_data(data, message_id=int(status.message_id or 0))
    assert "已经处理完毕，不能再补充" in (closed.text or "")


async def test_bad_input_while_adding_is_answered_and_keeps_the_step(
    life: BotService, clock: FakeClock, db: Database
) -> None:
    api = life.api
    citizen = Citizen(api, REPORTER)
    code = await citizen.file_report_by_buttons()
    clock.advance(minutes=5)  # not a flood: a person coming back to it later
    status = await citizen.text(f"/status {code}")
    await citizen.press("ad", code)

    sticker = await citizen.sticker()
    assert "收不了这类消息" in (sticker.text or "")
    long = await citizen.text("很" * 2001)
    assert "内容太长了" in (long.text or "")
    short = await citizen.text("嗯")
    assert "多写一点" in (short.text or "")
    # The status message's button again (an old message): said to be old, nothing added.
    old = await citizen.press_data(status.buttons()[0][1], message_id=int(status.message_id or 0))
    assert "过时" in (old.text or "")
    await citizen.wait_text("请发送要补充到报告")  # the question again, after the old button
    await citizen.text("/cancel")
    await citizen.wait_text("补充的情况都已转给工作站")
    ticket = await ticket_by_code(db, code)
    assert "reporter_added" not in [e.kind for e in await events_of(db, ticket.id)]


async def test_a_voice_message_with_the_story_is_kept_with_the_report(
    life: BotService, db: Database
) -> None:
    api = life.api
    citizen = Citizen(api, REPORTER)
    await citizen.report_until_story()
    mark = len(api.calls)
    api.push_voice(REPORTER)
    got = await said_to(api, REPORTER, "语音已收到（1/5）", mark)
    assert "用文字简单写几句" in (got.text or "")
    await citizen.text("孩子一个人在家两天了，没有大人照看。")
    await citizen.press("ct", "anon")
    await citizen.press("sm", "ok")
    code = await citizen.receipt_code()
    ticket = await ticket_by_code(db, code)
    async with db.unit() as session:
        kinds = (
            await session.exec(
                select(TicketAttachment.kind).where(col(TicketAttachment.ticket_id) == ticket.id)
            )
        ).all()
    assert list(kinds) == ["voice"]


async def test_words_that_raise_the_alarm_added_later_raise_the_priority(
    life: BotService, clock: FakeClock, db: Database
) -> None:
    api = life.api
    citizen = Citizen(api, REPORTER)
    code = await citizen.file_report_by_buttons()
    assert (await ticket_by_code(db, code)).priority == "P1"
    clock.advance(minutes=5)
    await citizen.text(f"/status {code}")
    await citizen.press("ad", code)
    advice = await citizen.text("孩子刚才跟我说他不想活了")
    assert "110" in (advice.text or "") and "12355" in (advice.text or "")
    await citizen.wait_text("已补充到报告")
    ticket = await ticket_by_code(db, code)
    assert ticket.priority == "P0"
    assert "red_flags" in [e.kind for e in await events_of(db, ticket.id)]


async def test_a_child_adding_to_their_own_call_is_spoken_to_as_you(
    life: BotService, clock: FakeClock
) -> None:
    api = life.api
    citizen = Citizen(api, REPORTER)
    await citizen.text("/start")
    await citizen.press("mn", "report")
    await citizen.press("dg", "no")
    await citizen.press("rp", "child")
    for action, value in (("pc", "440100000000"), ("pn", "440117000000")):
        await citizen.press(action, value)
    await citizen.press("pt", "440117001000")
    await citizen.press("ag", "12-14")
    await citizen.press("sx", "f")
    await citizen.press("cn", "physical")
    await citizen.press("cd")
    await citizen.text("爸爸喝了酒就打我。")
    await citizen.press("ct", "anon")
    await citizen.press("sm", "ok")
    code = await citizen.receipt_code()
    clock.advance(minutes=5)
    await citizen.text(f"/status {code}")
    prompt = await citizen.press("ad", code)
    assert f"想补充到你的求助 <code>{code}</code>" in (prompt.text or "")
    saved = await citizen.text("今天他又打我了，我躲在同学家。")
    assert "收到了，已经补充到你的求助" in (saved.text or "")
    done = await citizen.press("add")
    assert "你补充的内容都已经转给工作站了" in (done.text or "")
