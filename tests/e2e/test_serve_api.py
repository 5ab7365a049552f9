"""Black box: a report filed through the REST API of a running `hutong serve` reaches the
station as the bot's do, and its code answers on the status route."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
from bot_api import FakeBotAPI
from factories import JIEKOU, station_member
from serve_process import Service

from storage.db import Database


async def test_a_report_through_the_api_reaches_the_station(
    service_env: Service, bot_api: FakeBotAPI, db: Database
) -> None:
    service = service_env
    await station_member(db, station=JIEKOU, user="6161", now=datetime.now(UTC))
    await service.start(bot_api)
    base = f"http://127.0.0.1:{service.port}"
    report = {
        "channel": "web",
        "danger": "yes",
        "reporter": "neighbour",
        "place": {"text": "从化区街口街道"},
        "concerns": ["physical"],
        "story": "楼下的孩子一直在哭，身上有伤。",
    }
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/v1/openapi.json") as resp:
            assert resp.status == 200 and (await resp.json())["openapi"] == "3.1.0"
        async with http.post(f"{base}/api/v1/reports", json=report) as resp:
            assert resp.status == 201, await resp.text()
            receipt = await resp.json()
        assert receipt["priority"] == "P0"
        async with http.get(f"{base}{receipt['status_url']}") as resp:
            assert resp.status == 200
            assert (await resp.json())["state"] == "dispatched"
    # The station's member hears of it from the sender, as of a report by the bot.
    referral = await bot_api.wait_for(
        lambda c: c.method == "sendMessage" and receipt["code"] in (c.text or ""),
        chat_id=6161,
        timeout=30,
    )
    assert "P0 紧急" in (referral.text or "")
