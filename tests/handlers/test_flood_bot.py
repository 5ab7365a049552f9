"""One chat sending 300 messages at once: one notice and a bounded number of answers, and
another chat is answered as usual meanwhile."""

from __future__ import annotations

import asyncio
from typing import Any

from bot_api import FakeBotAPI
from citizen import Citizen
from sqlalchemy import func
from sqlmodel import col, select

from flows import flood
from storage.db import Database
from storage.models import InboxUpdate, OutboxMessage

FLOODER, OTHER = 9401, 9402


async def processed(db: Database, chat: int) -> int:
    async with db.unit() as session:
        query = (
            select(func.count())
            .select_from(InboxUpdate)
            .where(col(InboxUpdate.chat_key) == str(chat), col(InboxUpdate.status) == "done")
        )
        return int((await session.exec(query)).one())


async def waiting(db: Database, chat: int) -> int:
    async with db.unit() as session:
        query = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.target) == str(chat), col(OutboxMessage.status) != "sent")
        )
        return int((await session.exec(query)).one())


async def test_three_hundred_messages_at_once_get_one_notice_and_few_answers(
    service: Any, db: Database
) -> None:
    api: FakeBotAPI = service.api
    for i in range(300):
        api.push_text(FLOODER, f"消息 {i}")
        if i == 150:
            other = Citizen(api, OTHER)
            api.push_text(OTHER, "/start")
    for _ in range(600):  # bounded: 60 s
        if await processed(db, FLOODER) == 300:
            break
        await asyncio.sleep(0.1)
    assert await processed(db, FLOODER) == 300  # every message recorded and settled
    await other.wait_text("护童之声")  # another chat is answered as usual
    for _ in range(600):  # answers paced through the outbox settle (bounded: 60 s)
        if await waiting(db, FLOODER) == 0:
            break
        await asyncio.sleep(0.1)
    texts = [c.text or "" for c in api.calls_for(FLOODER, "sendMessage")]
    notices = [t for t in texts if "发送得太快" in t]
    assert len(notices) == 1
    # Each answered text gets a hint and the menu; held back, the rest get nothing.
    answered = len(texts) - 1
    assert answered <= 2 * (flood.CAPACITY + 10), answered
    assert answered >= 2 * flood.CAPACITY
