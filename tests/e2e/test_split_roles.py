"""A split deployment on PostgreSQL, as real processes: two `hutong serve --role web` behind
one webhook address and one or two `--role worker`.

Two web processes receive a chat's updates interleaved (and some twice, as Telegram redelivers
when it got no answer): per chat the answers keep the order of the updates, every report is
one ticket, no update is processed twice. Two workers send one queue of messages and sweep
one ladder: each rung fires once, every message goes once, and Telegram's limits hold across
both together.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from bot_api import Call, FakeBotAPI
from citizen import Citizen
from serve_process import Service, service_for
from sqlmodel import col, select

from flows.clock import system_clock
from flows.places import Directory
from flows.sla import Policy, Windows
from flows.tickets import file_report
from handlers.web.webhook import SECRET_HEADER
from storage import outbox
from storage.db import Database
from storage.models import InboxUpdate, OutboxMessage, Ticket, TicketEvent

pytestmark = pytest.mark.skipif(
    not os.environ.get("HUTONG_TEST_DATABASE_URL"), reason="needs PostgreSQL"
)

SECRET = "split-roles-secret-0123456789"
WEBHOOK = {
    "HUTONG_WEBHOOK_URL": "https://hutong.example.org/telegram/webhook",
    "HUTONG_WEBHOOK_SECRET": SECRET,
}
UNLIMITED = {  # the fake has no limits; the first test is about order, not pace
    "HUTONG_TELEGRAM_MESSAGES_PER_SECOND": "100000",
    "HUTONG_TELEGRAM_CHAT_MESSAGES_PER_SECOND": "100000",
}
CHATS = 12
BURST = 5  # commands a chat sends at once, in the order test


def start_services(
    api: FakeBotAPI, database_url: str, tmp_path: Path, roles: list[str], **env: str
) -> list[Service]:
    services = []
    for n, role in enumerate(roles):
        workdir = tmp_path / f"{role}-{n}"
        workdir.mkdir()
        services.append(
            service_for(api, database_url=database_url, workdir=workdir, role=role, **env)
        )
    return services


@pytest.fixture
async def services() -> AsyncIterator[list[Service]]:
    running: list[Service] = []
    yield running
    await asyncio.gather(*(s.stop() for s in running))


def chat_of(update: dict[str, Any]) -> int:
    holder = update.get("message") or update["callback_query"]["message"]
    return int(holder["chat"]["id"])


class Pump:
    """Telegram's side of the webhook: takes what the fake queued and posts each update to
    one of the web processes in turn, so a chat's consecutive updates reach different
    processes. As Telegram does, a chat's next update is posted once the previous one was
    answered 200, chats in parallel, a failed post is posted again; and every ``twice``-th
    update is posted to both processes at once (a redelivery racing the first delivery)."""

    def __init__(self, api: FakeBotAPI, ports: list[int], *, twice: int = 4) -> None:
        self.api = api
        self.urls = [f"http://127.0.0.1:{port}/telegram/webhook" for port in ports]
        self.twice = twice
        self.posted: Counter[int] = Counter()
        self._turn = itertools.count()
        self._last: dict[int, asyncio.Task[None]] = {}

    async def run(self) -> None:
        async with aiohttp.ClientSession() as http:
            while True:
                for update in self.api.take_pending():
                    n = next(self._turn)
                    urls = self.urls if n % self.twice == 0 else [self.urls[n % len(self.urls)]]
                    chat = chat_of(update)
                    after = self._last.get(chat)
                    self._last[chat] = asyncio.create_task(self._deliver(http, urls, update, after))
                await asyncio.sleep(0.005)

    async def _deliver(
        self,
        http: aiohttp.ClientSession,
        urls: list[str],
        update: dict[str, Any],
        after: asyncio.Task[None] | None,
    ) -> None:
        if after is not None:
            await after
        await asyncio.gather(*(self._post(http, url, update) for url in urls))

    async def _post(self, http: aiohttp.ClientSession, url: str, update: dict[str, Any]) -> None:
        for _ in range(100):  # bounded: a process that keeps failing fails the test
            async with http.post(url, json=update, headers={SECRET_HEADER: SECRET}) as resp:
                if resp.status == 200:
                    self.posted[update["update_id"]] += 1
                    return
            await asyncio.sleep(0.1)
        raise AssertionError(f"update {update['update_id']} never answered 200 at {url}")


async def test_two_web_processes_keep_each_chats_order_and_file_each_report_once(
    database_url: str,
    db: Database,
    bot_api: FakeBotAPI,
    tmp_path: Path,
    services: list[Service],
) -> None:
    services += start_services(
        bot_api, database_url, tmp_path, ["web", "web", "worker"], **WEBHOOK, **UNLIMITED
    )
    for service in services:
        await service.start(bot_api, wait_poll=False)
    assert bot_api.get_updates_calls == 0  # nobody polls in a split deployment
    pump = Pump(bot_api, [services[0].port, services[1].port])
    pumping = asyncio.create_task(pump.run())
    try:
        # Whole reports, one update at a time per chat, alternating between the processes.
        citizens = [Citizen(bot_api, 930_000 + n, timeout=60) for n in range(CHATS)]
        codes = await asyncio.gather(*(c.file_report_by_buttons() for c in citizens))
        # Then each chat sends several commands at once, delivered one after another to
        # alternating processes, while the worker sends the answers.
        marks = {c.chat_id: len(bot_api.calls) for c in citizens}
        burst_ids = {
            c.chat_id: [bot_api.push_text(c.chat_id, "/help") for _ in range(BURST)]
            for c in citizens
        }
        for citizen in citizens:
            for _ in range(BURST):
                answer = await bot_api.wait_for(
                    lambda call: call.method == "sendMessage",
                    after=marks[citizen.chat_id],
                    chat_id=citizen.chat_id,
                    timeout=60,
                )
                marks[citizen.chat_id] = answer.index + 1
    finally:
        pumping.cancel()

    assert len(set(codes)) == CHATS
    async with db.unit() as session:
        tickets = (await session.exec(select(Ticket.code))).all()
        inbox = (await session.exec(select(InboxUpdate))).all()
        replies = (
            await session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.kind) == "reply")
                .order_by(col(OutboxMessage.id))
            )
        ).all()
    assert sorted(tickets) == sorted(codes)  # every report exactly one ticket
    assert max(pump.posted.values()) == 2  # some updates did reach both processes
    assert len(inbox) == len(pump.posted) and all(r.status == "done" for r in inbox)
    assert all(r.attempts == 1 for r in inbox)  # processed once each, the second post seen

    answered = Counter(int(r.dedup_key.split(":")[2]) for r in replies)
    for chat_id, ids in burst_ids.items():
        assert [answered[i] for i in ids] == [1] * BURST  # one answer each, none twice
        sent = sorted(
            (r.message_id, int(r.dedup_key.split(":")[2]))
            for r in replies
            if r.target == str(chat_id) and r.status == "sent"
        )
        order = [update_id for _, update_id in sent]
        assert order == sorted(order), f"chat {chat_id}: answers out of order"
    # What the fake received matches what the outbox says was sent, nothing twice.
    delivered = [c for c in bot_api.calls if c.method == "sendMessage" and c.error is None]
    sent_rows = [r for r in replies if r.status == "sent" and r.message_id is not None]
    assert len(delivered) == len({(r.target, r.message_id) for r in sent_rows})


# Two workers, Telegram's pace kept together: 10 messages a second overall, 1 a second (bursts
# of 3) to a chat.
RATE = 10
MESSAGES = 100
WAVES = 5
BUSY_CHAT = 940_999
FAST = Policy(P0=Windows(sign=0.05, first_action=10, resolve=60), repeat_limit=3, name="fast")
RUNGS = {"reminder": 1, "escalated": 2, "escalation_repeat": 3}
TICKETS = 20


def most_in_a_second(calls: list[Call]) -> int:
    """The most calls within any window of one second."""
    times = sorted(c.at for c in calls)
    start, most = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def test_two_workers_fire_each_rung_once_and_keep_telegrams_pace_together(
    database_url: str,
    db: Database,
    directory: Directory,
    bot_api: FakeBotAPI,
    tmp_path: Path,
    services: list[Service],
) -> None:
    now = system_clock()
    async with db.unit() as session:
        for i in range(TICKETS):
            await file_report(
                session=session,
                directory=directory,
                answers={
                    "danger": "yes",
                    "reporter": "teacher",
                    "place": "440117001000",
                    "age": "6-11",
                    "sex": "f",
                    "concerns": ["physical"],
                    "story": f"第 {i} 个",
                },
                channel="telegram",
                chat_id="8001",
                intake_key=f"telegram:8001:{i}",
                locale="zh",
                now=now,
                policy=FAST,
            )
    services += start_services(
        bot_api,
        database_url,
        tmp_path,
        ["worker", "worker"],
        **WEBHOOK,
        HUTONG_TELEGRAM_MESSAGES_PER_SECOND=str(RATE),
        HUTONG_SWEEP_SECONDS="0.1",
        HUTONG_SWEEP_BATCH="3",
    )
    await asyncio.gather(*(s.start(bot_api, wait_poll=False) for s in services))
    # Messages come in waves while the workers run: each wave is claimed by whichever worker
    # looks first, and takes longer to send than the gap to the next, so both send at once.
    for wave in range(WAVES):
        async with db.unit() as session:
            for n in range(wave * MESSAGES // WAVES, (wave + 1) * MESSAGES // WAVES):
                chat = BUSY_CHAT if n % 5 == 0 else 940_000 + n
                await outbox.enqueue(
                    session,
                    dedup_key=f"split:{n}",
                    kind="reporter_update",
                    now=system_clock(),
                    payload={"text": f"消息 {n}"},
                    chat_id=str(chat),
                )
        await asyncio.sleep(1.0)

    def ours(call: Call) -> bool:
        return call.method == "sendMessage" and (call.text or "").startswith("消息 ")

    expected_rungs = TICKETS * sum(RUNGS.values())
    for _ in range(600):  # bounded: 60 s; the messages take 10 s, the ladder 15 s
        fired = await _rungs(db)
        if (
            sum(fired.values()) >= expected_rungs
            and len([c for c in bot_api.calls if ours(c)]) >= MESSAGES
        ):
            break
        assert all(s.running for s in services), "\n".join(s.log() for s in services)
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # anything sent twice would show now

    fired = await _rungs(db)
    assert fired == Counter({kind: TICKETS * n for kind, n in RUNGS.items()})
    messages = [c for c in bot_api.calls if ours(c) and c.error is None]
    assert sorted(c.text or "" for c in messages) == sorted(f"消息 {n}" for n in range(MESSAGES))
    everything = [c for c in bot_api.calls if c.method == "sendMessage" and c.error is None]
    assert most_in_a_second(everything) <= RATE + 2  # a slot's edge and the loopback's jitter
    busy = [c for c in messages if c.chat_id == BUSY_CHAT]
    assert len(busy) == MESSAGES // 5
    assert most_in_a_second(busy) <= 3 + 1  # a burst of 3, then one a second
    assert [int((c.text or "").split()[1]) for c in busy] == sorted(
        int((c.text or "").split()[1]) for c in busy
    )  # one chat's messages in the order they were written, across both workers


async def _rungs(db: Database) -> Counter[str]:
    async with db.unit() as session:
        kinds = (
            await session.exec(
                select(TicketEvent.kind).where(col(TicketEvent.kind).in_(list(RUNGS)))
            )
        ).all()
    return Counter(kinds)
