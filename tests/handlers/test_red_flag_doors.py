"""Words that raise the alarm, by every door: the bot's story (and a photo's caption), the
web form, the REST API. The reporter hears where to call at once, the ticket is filed at
the flag's priority, and the station reads which words raised it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from bot_api import FakeBotAPI
from citizen import Citizen
from factories import JIEKOU, county_supervisor, event_kinds, join_by_bot, ticket_by_code
from sqlmodel import col, select

from flows.api_tokens import create_token
from flows.clock import system_clock
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.staff import Scope
from handlers.web.api.context import Api
from handlers.web.app import init_app
from storage.db import Database
from storage.models import Ticket

WORKER, REPORTER = 5301, 5401
ADVICE = "您描述的情况可能十分紧急"


async def test_the_bot_gives_the_advice_after_the_story_and_files_p0(
    service: Any, db: Database
) -> None:
    api: FakeBotAPI = service.api
    scope = Scope("station", "township", JIEKOU)
    await join_by_bot(service, chat=WORKER, scope=scope, now=system_clock(), answer="已加入")
    citizen = Citizen(api, REPORTER)
    await citizen.report_until_story()  # the buttons make it P1 (no carer, 6–11)
    first = await citizen.text("他说想死，已经两天没吃饭")
    # At once, before the next question, and the next question still follows.
    assert ADVICE in (first.text or "")
    assert "110" in (first.text or "") and "120" in (first.text or "")
    assert "12355" in (first.text or "")
    await citizen.wait_text("联系")  # the contact question comes after the advice
    mark = len(api.calls)
    await citizen.press("ct", "anon")
    await citizen.press("sm", "ok")
    code = await citizen.receipt_code()

    ticket = await ticket_by_code(db, code)
    assert ticket.priority == "P0"
    assert ticket.red_flags == [{"category": "self_harm", "words": ["想死"]}]
    assert "red_flags" in await event_kinds(db, ticket.id)
    referral = await api.wait_for(
        lambda c: c.method == "sendMessage" and code in (c.text or ""),
        after=mark,
        chat_id=WORKER,
    )
    lines = (referral.text or "").split("\n")
    assert "P0" in lines[0]
    assert lines[1] == "⚠️ <b>警示词</b>：想死（自伤/自杀）"


async def test_a_photo_caption_in_cantonese_is_screened_like_a_story(
    service: Any, db: Database
) -> None:
    citizen = Citizen(service.api, REPORTER + 1)
    await citizen.report_until_story()
    reply = await citizen.photo(caption="佢俾人鎖喺屋企，冇飯食")
    assert ADVICE in (reply.text or "")
    await citizen.press("ct", "anon")
    await citizen.press("sm", "ok")
    ticket = await ticket_by_code(service.db, await citizen.receipt_code())
    assert ticket.priority == "P0"
    assert ticket.red_flags == [{"category": "confined", "words": ["俾人鎖喺屋企"]}]


async def test_a_negated_story_gets_no_advice_and_keeps_its_priority(
    service: Any, db: Database
) -> None:
    citizen = Citizen(service.api, REPORTER + 2)
    await citizen.report_until_story()
    reply = await citizen.text("孩子没有被打，也不是想死，就是没人管")
    assert ADVICE not in (reply.text or "")
    await citizen.press("ct", "anon")
    await citizen.press("sm", "ok")
    ticket = await ticket_by_code(service.db, await citizen.receipt_code())
    assert ticket.priority == "P1" and ticket.red_flags == []
    said = [c.text or "" for c in service.api.calls_for(REPORTER + 2)]
    assert not any(ADVICE in text for text in said)


# ---- the web form and the API ---------------------------------------------------------


@pytest.fixture
async def client(aiohttp_client: Any, db: Database, directory: Directory, clock: Any) -> Any:
    api = Api(directory=directory, policy=DEFAULT_POLICY, trusted_proxies=frozenset({"127.0.0.1"}))
    return await aiohttp_client(init_app(db=db, clock=clock, api=api))


async def _form(client: Any, story: str) -> Any:
    html = await (await client.get("/report")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', html)
    submission = re.search(r'name="submission" value="([0-9a-f]{32})"', html)
    assert token and submission
    data = {
        "danger": "no",
        "reporter": "neighbour",
        "place": "从化区街口街道",
        "age": "6-11",
        "sex": "f",
        "concerns": "other",  # P2 by the buttons
        "story": story,
        "csrf": token.group(1),
        "submission": submission.group(1),
    }
    return await client.post("/report", data=data, allow_redirects=False)


async def _tickets(db: Database) -> list[Ticket]:
    async with db.unit() as session:
        return list((await session.exec(select(Ticket).order_by(col(Ticket.id)))).all())


async def test_the_web_form_files_p0_and_its_receipt_gives_the_advice(
    client: Any, db: Database
) -> None:
    resp = await _form(client, "我看见邻居把三歲的孩子反鎖在家，孩子一直哭")
    assert resp.status == 303
    location = resp.headers["Location"]
    assert location.endswith("&alert=1")
    [ticket] = await _tickets(db)
    assert ticket.priority == "P0"
    assert [f["category"] for f in ticket.red_flags] == ["young_alone", "confined"]
    page = await (await client.get(location)).text()
    assert 'id="red-flag-advice"' in page and "12355" in page and ticket.code in page
    # An ordinary story: no alert, the priority the buttons gave.
    plain = await _form(client, "孩子经常一个人在外面玩到很晚")
    assert not plain.headers["Location"].endswith("alert=1")
    page = await (await client.get(plain.headers["Location"])).text()
    assert 'id="red-flag-advice"' not in page
    assert (await _tickets(db))[1].priority == "P2"


async def test_the_api_files_p0_lists_the_flags_and_shows_the_words_in_detail(
    client: Any, db: Database, clock: Any
) -> None:
    body = {
        "channel": "api",
        "danger": "no",
        "reporter": "teacher",
        "place": {"code": JIEKOU},
        "concerns": ["other"],
        "story": "The girl said she wants to die. 她说被打到流血",
    }
    resp = await client.post(
        "/api/v1/reports", json=body, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert resp.status == 201, await resp.text()
    receipt = await resp.json()
    assert receipt["priority"] == "P0"
    assert receipt["red_flags"] == ["self_harm", "severe_injury"]

    supervisor = await county_supervisor(db, now=clock())
    assert supervisor.id is not None
    async with db.unit() as session:
        _, token = await create_token(
            session=session, staff_id=supervisor.id, label="t", now=clock()
        )
    detail = await client.get(
        f"/api/v1/tickets/{receipt['code']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert detail.status == 200, await detail.text()
    flags = (await detail.json())["red_flags"]
    assert flags == [
        {"category": "self_harm", "words": ["wants to die"]},
        {"category": "severe_injury", "words": ["打到流血"]},
    ]
