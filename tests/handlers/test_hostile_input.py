"""Input that cannot break storage, through the bot: U+0000 and lone surrogates in what a
person sends are removed at the channel edge, so the turn commits on PostgreSQL (which cannot
store U+0000) as on SQLite, instead of failing on every retry and leaving the person without
an answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from citizen import Citizen
from factories import ticket_by_code
from sqlmodel import col, select

from flows.staff import Scope, issue_invite
from storage.models import StaffMember, TicketEvent

# A JSON update can carry these: U+0000, an escape character, a lone surrogate.
NUL_STORY = "孩子一个人\x00在家两天了，\x1b没有大人照看。"
SURROGATE_STORY = json.loads('"孩子一个人\\ud800在家两天了，没有大人照看。\\udfff"')
CLEAN_STORY = "孩子一个人在家两天了，没有大人照看。"


@pytest.mark.parametrize("how", ["text", "caption"])
@pytest.mark.parametrize("story", [NUL_STORY, SURROGATE_STORY], ids=["nul", "surrogate"])
async def test_a_story_with_unstorable_characters_files_the_report(
    service: Any, story: str, how: str
) -> None:
    citizen = Citizen(service.api, 5101)
    await citizen.report_until_story()
    if how == "text":
        await citizen.text(story)
    else:
        await citizen.photo(caption=story)
    await citizen.press("ct", "anon")
    summary = await citizen.find_button("sm", "ok")
    assert CLEAN_STORY in (summary[0].text or "")
    await citizen.press("sm", "ok")
    code = await citizen.receipt_code()
    assert (await ticket_by_code(service.db, code)).story == CLEAN_STORY


async def test_a_status_code_with_a_nul_is_answered(service: Any) -> None:
    citizen = Citizen(service.api, 5102)
    answer = await citizen.text("/status AB\x00CD2345")
    assert "ABCD2345" in (answer.text or "")


async def test_a_staff_name_with_a_nul_joins_and_a_long_name_fits(service: Any) -> None:
    api = service.api
    api.user_names[5103] = ("Wen\x00jing", "Lü\ud800")
    api.user_names[5104] = ("名" * 64, "姓" * 64)  # Telegram's longest: 129 with the space
    scope = Scope("station", "township", "440117001000")
    for chat in (5103, 5104):
        async with service.db.unit() as session:
            code = await issue_invite(
                session=session, scope=scope, kind="member", now=datetime.now(UTC)
            )
        answer = await Citizen(api, chat).text(f"/join {code}")
        assert "已" in (answer.text or "")
    async with service.db.unit() as session:
        names = (
            await session.exec(select(StaffMember.display_name).order_by(col(StaffMember.id)))
        ).all()
    assert names == ["Wenjing Lü", "名" * 64 + " " + "姓" * 63]


async def test_a_forged_button_with_a_nul_is_refused_and_recorded(service: Any) -> None:
    code = await Citizen(service.api, 5105).file_report_by_buttons()
    ticket = await ticket_by_code(service.db, code)
    mark = len(service.api.calls)
    service.api.push_callback(5106, f"w:det\x00:{ticket.id}", message_id=1)
    notice = await service.api.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    assert notice.params.get("text") == "您无权处理这个工单。"
    async with service.db.unit() as session:
        notes = (
            await session.exec(
                select(TicketEvent.note).where(
                    col(TicketEvent.ticket_id) == ticket.id, col(TicketEvent.kind) == "refused"
                )
            )
        ).all()
    assert notes == [f"w:det:{ticket.id}"]
