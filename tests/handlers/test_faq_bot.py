"""政策咨询 through the fake Bot API: the menu's button, the topics, an answer that ends with
where to turn, typed questions (Simplified and Traditional), nothing found, no answers yet,
and buttons pressed twice or from an old message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from citizen import Citizen
from sqlmodel import col, select

from flows import faq_store, stations
from flows.clock import system_clock
from flows.faq_file import Entry, Texts, parse
from flows.texts import t
from storage.db import Database
from storage.models import Conversation

EXAMPLE = Path(__file__).resolve().parents[2] / "faq.example.toml"
JIEKOU = "440117001000"  # 从化区街口街道, where Citizen.file_report_by_buttons reports


async def import_entries(db: Database, entries: list[Entry] | None = None) -> None:
    async with db.unit() as session:
        await faq_store.replace_all(
            session=session,
            entries=entries if entries is not None else parse(EXAMPLE.read_text("utf-8")),
            now=system_clock(),
        )


async def dialogue(db: Database, chat: int) -> Conversation:
    async with db.unit() as session:
        query = select(Conversation).where(col(Conversation.chat_id) == str(chat))
        return (await session.exec(query)).one()


def entry_buttons(call: Any) -> list[str]:
    return [d.split(":", 2)[2][1:] for _, d in call.buttons() if d and ":fq:e" in d]


async def test_menu_topic_answer_ends_with_the_township_station_and_12355(service: Any) -> None:
    await import_entries(service.db)
    citizen = Citizen(service.api, 3101)
    await citizen.text("/start")
    topics = await citizen.press("fq", "t")
    assert "政策咨询" in (topics.text or "") and "第 1/1 页" in (topics.text or "")
    assert entry_buttons(topics)[:2] == ["gongzuozhan", "liushou-ertong"]
    assert len(entry_buttons(topics)) == 7
    answer = await citizen.press("fq", "eliushou-ertong")
    assert answer.method == "editMessageText"  # the list turns into the answer
    text = answer.text or ""
    assert text.startswith("<b>什么是农村留守儿童？</b>")
    assert "不满十六周岁的未成年人" in text
    assert "依据：《国务院关于加强农村留守儿童关爱保护工作的意见》（国发〔2016〕13号）" in text
    assert "2016年2月4日" in text
    last = text.rsplit("\n\n", 1)[1]
    assert "乡镇（街道）的未成年人保护工作站" in last and "12355" in last
    assert [d.split(":")[2] for _, d in answer.buttons() if d] == ["t", "m"]
    conv = await dialogue(service.db, 3101)
    assert conv.step == "faq"
    # Back to the menu from the answer.
    menu = await citizen.press("fq", "m")
    assert "护童之声" in (menu.text or "")
    assert (await dialogue(service.db, 3101)).step == "menu"


async def test_a_reporter_is_pointed_to_the_station_of_their_report(service: Any) -> None:
    await import_entries(service.db)
    citizen = Citizen(service.api, 3102)
    await citizen.file_report_by_buttons()
    try:
        async with service.db.unit() as session:
            await stations.set_phone(session=session, code=JIEKOU, phone="020-8765 4321")
        await citizen.text("/start")
        await citizen.press("fq", "t")
        answer = await citizen.press("fq", "ekunjing-ertong")
        last = (answer.text or "").rsplit("\n\n", 1)[1]
        assert "<b>从化区街口街道未成年人保护工作站</b>" in last
        assert "电话 020-8765 4321" in last and "12355" in last
        # Without a phone configured, the station is named all the same.
        async with service.db.unit() as session:
            await stations.set_phone(session=session, code=JIEKOU, phone=None)
        await citizen.press("fq", "t")
        answer = await citizen.press("fq", "ekunjing-ertong")
        last = (answer.text or "").rsplit("\n\n", 1)[1]
        assert "<b>从化区街口街道未成年人保护工作站</b>" in last and "电话" not in last
    finally:
        async with service.db.unit() as session:
            await stations.set_phone(session=session, code=JIEKOU, phone=None)


@pytest.mark.parametrize(
    ("typed", "first"),
    [("补贴怎么申请", "shishi-shenqing"), ("孩子父母都坐牢了没人管", "shishi-wurenfuyang")],
)
async def test_a_typed_question_offers_the_matching_answers(
    service: Any, typed: str, first: str
) -> None:
    await import_entries(service.db)
    citizen = Citizen(service.api, 3103)
    await citizen.text("/start")
    await citizen.press("fq", "t")
    found = await citizen.text(typed)
    assert found.text == t("zh", "faq.found")
    offered = entry_buttons(found)
    assert offered[0] == first and len(offered) <= 3
    answer = await citizen.press("fq", "e" + first)
    assert "依据：" in (answer.text or "") and "12355" in (answer.text or "")


async def test_a_question_typed_in_traditional_is_matched_and_answered_in_traditional(
    service: Any,
) -> None:
    await import_entries(service.db)
    citizen = Citizen(service.api, 3108)
    await citizen.text("/start")
    await citizen.press("fq", "t")
    followed = await citizen.text("留守兒童有甚麼補貼")  # a Traditional writer: answered so
    assert followed.text == t("zh-Hant", "language.followed")
    found = await citizen.wait_text(t("zh-Hant", "faq.found"))
    assert entry_buttons(found)[0] == "liushou-ertong"
    assert ("什麼是農村留守兒童？", found.buttons()[0][1]) == found.buttons()[0]
    answer = await citizen.press("fq", "eliushou-ertong")
    text = answer.text or ""
    assert text.startswith("<b>什麼是農村留守兒童？</b>") and "不滿十六週歲的未成年人" in text
    assert "《國務院關於加強農村留守兒童關愛保護工作的意見》（國發〔2016〕13號）" in text
    assert "文件強調" in text  # an official document, not flows.hant's 檔案 (a sent file)
    assert (await dialogue(service.db, 3108)).locale == "zh-Hant"


async def test_nothing_found_says_so_and_offers_the_topics_and_12355(service: Any) -> None:
    await import_entries(service.db)
    citizen = Citizen(service.api, 3104)
    await citizen.text("/start")
    await citizen.press("fq", "t")
    reply = await citizen.text("明天天气怎么样")
    assert "没有找到" in (reply.text or "") and "12355" in (reply.text or "")
    assert len(entry_buttons(reply)) == 7  # every topic, to choose from instead
    assert (await dialogue(service.db, 3104)).step == "faq"  # the next words are searched too


async def test_before_any_import_the_bot_says_so_and_gives_12355(service: Any) -> None:
    citizen = Citizen(service.api, 3105)
    await citizen.text("/start")
    reply = await citizen.press("fq", "t")
    assert "暂未开通" in (reply.text or "") and "12355" in (reply.text or "")
    assert [d.split(":")[2] for _, d in reply.buttons() if d] == ["m"]
    typed = await citizen.text("留守儿童")
    assert "暂未开通" in (typed.text or "")


async def test_a_button_pressed_twice_or_from_an_old_message_changes_nothing(
    service: Any,
) -> None:
    await import_entries(service.db)
    api = service.api
    citizen = Citizen(api, 3106)
    await citizen.text("/start")
    topics = await citizen.press("fq", "t")
    assert topics.message_id is not None
    old_list = topics.message_id
    pressed = next(d for _, d in topics.buttons() if d and d.endswith(":fq:egongzuozhan"))
    answer = await citizen.press_data(pressed, message_id=old_list)
    version = (await dialogue(service.db, 3106)).version
    # The same button again (a double tap): only a notice, no message, nothing changed.
    notice = await citizen.press_data(pressed, message_id=old_list, expect_reply=False)
    assert notice.params.get("text") == t("zh", "already")
    conv = await dialogue(service.db, 3106)
    assert (conv.step, conv.version) == ("faq", version)
    # Back to the menu, then a button of the topic list shown before: stale.
    home = next(d for _, d in answer.buttons() if d and d.endswith(":fq:m"))
    await citizen.press_data(home, message_id=old_list)
    other = next(d for _, d in topics.buttons() if d and d.endswith(":fq:eliushou-ertong"))
    stale = await citizen.press_data(other, message_id=old_list)
    assert stale.text == t("zh", "stale")
    conv = await dialogue(service.db, 3106)
    assert conv.step == "menu"
    menu = await citizen.wait_text("护童之声")  # and the menu again, to go on from
    assert any(d and d.endswith(":fq:t") for _, d in menu.buttons())


async def test_many_topics_are_paged_in_place(service: Any) -> None:
    entries = [
        Entry(
            f"q{n:02d}",
            {"zh": Texts(f"第{n}个问题？", "答案。", ("关键词",))},
            "《文件》（文号）",
            parse(EXAMPLE.read_text("utf-8"))[0].source_date,
            None,
        )
        for n in range(1, 11)
    ]
    await import_entries(service.db, entries)
    citizen = Citizen(service.api, 3107)
    await citizen.text("/start")
    first = await citizen.press("fq", "t")
    assert "第 1/2 页" in (first.text or "") and len(entry_buttons(first)) == 8
    second = await citizen.press("fq", "p1")
    assert second.method == "editMessageText" and "第 2/2 页" in (second.text or "")
    assert entry_buttons(second) == ["q09", "q10"]
