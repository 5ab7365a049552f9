"""Traditional Chinese in the Telegram dialogue, end to end against the fake Bot API: chosen
from the app's language, from what the person types, and with /language."""

from __future__ import annotations

from typing import Any

import pytest
from citizen import Citizen
from factories import ticket_by_code
from sqlmodel import select

from flows import hant
from storage.models import Conversation

Running = Any  # the `service` fixture of tests/conftest.py


@pytest.fixture
def running(service: Any) -> Any:
    return service


async def locale_of(running: Running, chat_id: int) -> str:
    async with running.db.unit() as session:
        conv = (
            await session.exec(select(Conversation).where(Conversation.chat_id == str(chat_id)))
        ).one()
        return conv.locale


def assert_traditional(text: str | None) -> None:
    assert text and hant.simplified_only(text) == set(), text


async def test_an_app_set_to_traditional_is_answered_in_traditional(running: Running) -> None:
    running.api.language_code = "zh-hant"
    try:
        citizen = Citizen(running.api, 3101)
        menu = await citizen.text("/start")
    finally:
        running.api.language_code = "zh-hans"
    assert "這裏是<b>護童之聲</b>" in (menu.text or "")
    assert await locale_of(running, 3101) == "zh-Hant"
    code = await citizen.file_report_by_buttons()
    receipt = await citizen.wait_text(code)
    assert "報告已提交" in (receipt.text or "") and "2 小時" in (receipt.text or "")
    assert_traditional(receipt.text)
    ticket = await ticket_by_code(running.db, code)
    assert ticket.locale == "zh-Hant"  # later news about the report comes in Traditional


async def test_typing_traditional_at_the_place_switches_the_dialogue(running: Running) -> None:
    citizen = Citizen(running.api, 3102)
    await citizen.text("/start")
    await citizen.press("mn", "report")
    await citizen.press("dg", "no")
    asked = await citizen.press("rp", "neighbour")
    assert "孩子在哪里" in (asked.text or "")  # Simplified: the app said nothing else
    await citizen.text("廣州市從化區街口街道")
    confirm = await citizen.wait_text("是這裏嗎")
    assert_traditional(confirm.text)
    switched = [c for c in running.api.calls if "已改用繁體中文" in (c.text or "")]
    assert len(switched) == 1 and "/language" in (switched[0].text or "")
    assert await locale_of(running, 3102) == "zh-Hant"
    await citizen.press("pk", "440117001000")
    age = await citizen.wait_text("孩子大約幾歲")
    assert_traditional(age.text)


async def test_language_command_switches_and_a_choice_is_kept(running: Running) -> None:
    citizen = Citizen(running.api, 3103)
    await citizen.text("/language")
    set_hant = await citizen.press("lg", "zh-Hant")
    assert "已切換為繁體中文" in (set_hant.text or "")
    assert await locale_of(running, 3103) == "zh-Hant"
    await citizen.text("/language")
    back = await citizen.press("lg", "zh")
    assert "已切换为简体中文" in (back.text or "")
    # Chosen: typing Traditional afterwards does not switch it back.
    await citizen.press("mn", "report")
    await citizen.press("dg", "no")
    await citizen.press("rp", "neighbour")
    await citizen.text("廣州市從化區街口街道")
    confirm = await citizen.wait_text("是这里吗")
    assert "街口街道" in (confirm.text or "")
    assert await locale_of(running, 3103) == "zh"
