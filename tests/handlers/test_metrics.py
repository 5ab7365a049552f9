"""/metrics: the process's counters move with what it does; the database's figures (backlog,
open and overdue tickets, sweep lag) are read at each scrape; nothing names a person."""

from __future__ import annotations

from typing import Any

import pytest
from bot_api import FakeBotAPI
from factories import file_ticket, ticket_in
from prometheus_client.parser import text_string_to_metric_families
from telegram import Bot

from flows.intake import Intake
from flows.places import Directory
from flows.states import State
from handlers.telegram.sender import OutboxSender
from handlers.telegram.updates import UpdateProcessor
from handlers.telegram.webhook import WebhookReceiver
from handlers.web.app import init_app
from handlers.web.webhook import SECRET_HEADER, Webhook
from storage.db import Database, make_engine

SECRET = "metrics-secret-for-tests"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def start_update(update_id: int, chat: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": chat, "type": "private", "first_name": "Wang"},
            "from": {"id": chat, "is_bot": False, "first_name": "Wang", "username": "wang_x"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def scrape(client: Any) -> tuple[str, Samples]:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    text = await resp.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
async def client(
    aiohttp_client: Any, bot_api: FakeBotAPI, db: Database, intake: Intake, clock: Any
) -> Any:
    bot = Bot(bot_api.token, base_url=bot_api.bot_url)
    await bot.initialize()
    processor = UpdateProcessor(db=db, intake=intake, clock=clock)
    processor.sender = OutboxSender(db=db, bot=bot, directory=intake.directory, clock=clock)
    receiver = WebhookReceiver(bot=bot, db=db, processor=processor, clock=clock)
    yield await aiohttp_client(init_app(db=db, clock=clock, webhook=Webhook(SECRET, receiver)))
    await bot.shutdown()


async def test_counters_follow_updates_handled_duplicated_and_failed(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, before = await scrape(client)
    headers = {SECRET_HEADER: SECRET}
    for _ in range(2):  # the second is Telegram delivering it again
        resp = await client.post(
            "/telegram/webhook", json=start_update(7100, 7101), headers=headers
        )
        assert resp.status == 200
    import handlers.telegram.updates as updates

    async def broken(**kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(updates, "take_turn", broken)
    resp = await client.post("/telegram/webhook", json=start_update(7200, 7201), headers=headers)
    assert resp.status == 500
    text, after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("hutong_updates_received_total", channel="telegram", via="webhook") == 3
    assert delta("hutong_updates_handled_total", channel="telegram", outcome="handled") == 1
    assert delta("hutong_updates_handled_total", channel="telegram", outcome="duplicate") == 1
    assert delta("hutong_updates_handled_total", channel="telegram", outcome="failed") == 1
    assert delta("hutong_update_handling_seconds_count", channel="telegram") == 2
    assert delta("hutong_deliveries_total", channel="telegram", result="sent") == 1  # the menu
    # Counts only: no name, username, chat id or text of the updates.
    for personal in ("Wang", "wang_x", "7101", "7201", "/start"):
        assert personal not in text


async def test_backlog_open_tickets_and_sweep_lag_are_read_from_the_database(
    client: Any, db: Database, directory: Directory, clock: Any
) -> None:
    _, empty = await scrape(client)
    assert value(empty, "hutong_database_up") == 1
    assert value(empty, "hutong_sweep_lag_seconds") == 0
    assert value(empty, "hutong_outbox_backlog", channel="telegram") == 0
    await file_ticket(db, directory, now=clock())  # its referral waits in the outbox
    await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock())
    clock.advance(seconds=90)
    _, now = await scrape(client)
    assert value(now, "hutong_outbox_backlog", channel="telegram") >= 1
    assert value(now, "hutong_outbox_oldest_pending_seconds", channel="telegram") == 90
    assert value(now, "hutong_tickets_open", state="dispatched", overdue_level="0") == 1
    assert value(now, "hutong_tickets_open", state="acknowledged", overdue_level="0") == 1
    assert value(now, "hutong_tickets_overdue", overdue_level="1") == 0
    # Nobody signed for the first one and no sweep ran: its deadline passes unfired.
    clock.advance(days=3)
    _, late = await scrape(client)
    assert value(late, "hutong_sweep_lag_seconds") > 0


async def test_a_dead_database_still_scrapes_with_database_up_0(aiohttp_client: Any) -> None:
    dead = Database(make_engine("postgresql://nobody@127.0.0.1:1/none"))
    client = await aiohttp_client(init_app(db=dead))
    text, samples = await scrape(client)
    assert value(samples, "hutong_database_up") == 0
    assert "hutong_updates_received_total" in text or "hutong_updates_received" in text
    await dead.dispose()


def test_metric_names_have_no_personal_labels() -> None:
    """Labels are small fixed sets; a label named for a person, chat or ticket would make
    every scrape a list of them."""
    from handlers import metrics

    for name in dir(metrics):
        metric = getattr(metrics, name)
        labels = getattr(metric, "_labelnames", None)
        if labels is not None:
            assert set(labels) <= {"channel", "via", "outcome", "result"}, (name, labels)
