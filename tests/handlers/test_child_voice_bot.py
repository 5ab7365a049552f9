"""The child's own voice end to end: a child in danger reporting about themselves gets the
receipt and the questions after it as 你, the station reads 本人求助 first, and the news
that the report was taken on comes to the child in the same voice."""

from __future__ import annotations

import pytest
from bot_api import Call, FakeBotAPI
from citizen import Citizen
from factories import join_by_bot, ticket_by_code
from harness import BotService, FakeClock

from flows.staff import Scope
from storage.db import Database

JIEKOU = "440117001000"
CHILD, WORKER = 3301, 3302


@pytest.fixture
def life(svc: BotService) -> BotService:
    return svc  # tests/handlers/conftest.py: on the test's clock, without pacing


async def next_to(api: FakeBotAPI, chat: int, after: int) -> Call:
    return await api.wait_for(lambda c: c.method == "sendMessage", after=after, chat_id=chat)


async def test_a_child_in_danger_is_answered_as_you_and_the_station_reads_it_first(
    life: BotService, clock: FakeClock, db: Database
) -> None:
    api = life.api
    await join_by_bot(life, chat=WORKER, scope=Scope("station", "township", JIEKOU), now=clock())
    mark = len(api.calls)
    child = Citizen(api, CHILD)
    await child.text("/start")
    await child.press("mn", "report")
    await child.press("dg", "yes")
    await child.wait_text("您是孩子的什么人")  # asked before it is known: as to anyone
    chosen = len(api.calls)
    asked = await child.press("rp", "child")
    assert "你现在在哪里" in (asked.text or "") and "12355" in (asked.text or "")
    await child.press("pc", "440100000000")
    await child.press("pn", "440117000000")
    await child.press("pt", "440117001000")
    receipt = await child.wait_text("你的求助已经作为最紧急的事转交了")
    code = (receipt.text or "").split("<code>", 1)[1].split("</code>", 1)[0]
    age = await child.wait_text("你几岁了")
    said = "\n".join(  # what was sent after (not the question answered, edited in place)
        c.text or ""
        for c in api.calls[chosen:]
        if c.method == "sendMessage" and str(c.params.get("chat_id")) == str(CHILD)
    )
    assert "您" not in said and "孩子" not in said, said
    assert "不想说" in [label for label, _ in age.buttons()]

    referral = await next_to(api, WORKER, mark)
    assert (referral.text or "").startswith("🧒 <b>本人求助</b>（孩子自己报告）\n🆕")
    assert "报告人：🧒 <b>本人求助</b>" in (referral.text or "")

    # The station signs for it: the child hears it in the same voice.
    ticket = await ticket_by_code(db, code)
    after = len(api.calls)
    api.push_callback(WORKER, f"w:sign:{ticket.id}", message_id=int(referral.message_id or 0))
    news = await next_to(api, CHILD, after)
    assert news.text == (
        f"你的求助 <code>{code}</code> 已由 从化区街口街道未成年人保护工作站 受理，"
        "工作人员会尽快帮你。"
    )
