"""Black box: a running `hutong serve` answers /healthz with each part's state, /readyz, and
/metrics with what it has done (updates received and handled, sweeps run, replies sent)."""

from __future__ import annotations

import asyncio

import aiohttp
from bot_api import FakeBotAPI
from citizen import Citizen
from prometheus_client.parser import text_string_to_metric_families
from serve_process import Service

from storage.db import Database


async def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as r:
        assert r.status == 200
        text = await r.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_a_running_service_reports_its_parts_and_counts(
    service_env: Service, bot_api: FakeBotAPI, db: Database
) -> None:
    """(``db``: the tables are emptied first, as for every test that writes.)"""
    service = service_env
    await service.start(bot_api)
    citizen = Citizen(bot_api, 5151, timeout=30)
    await citizen.text("/start")
    await citizen.press("mn", "report")

    for _ in range(100):  # bounded: the sender's loop and the first sweep have run
        status, health = await service.health()
        if health["sender"] == "ok" and health["scheduler"] == "ok":
            break
        await asyncio.sleep(0.1)
    assert status == 200
    assert health == {
        "status": "ok",
        "database": "ok",
        "telegram": "ok",
        "scheduler": "ok",
        "sender": "ok",
    }
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{service.port}/readyz") as ready,
    ):
        assert ready.status == 200

    samples = await scrape(service.port)

    def value(name: str, **labels: str) -> float:
        return samples.get((name, frozenset(labels.items())), 0.0)

    assert value("hutong_updates_received_total", channel="telegram", via="polling") == 2
    assert value("hutong_updates_handled_total", channel="telegram", outcome="handled") == 2
    assert value("hutong_deliveries_total", channel="telegram", result="sent") >= 2
    assert value("hutong_sweep_duration_seconds_count") >= 1
    assert value("hutong_sweep_last_run_timestamp_seconds") > 0
    assert value("hutong_database_up") == 1
    assert value("hutong_outbox_backlog", channel="telegram") == 0
