"""Black box: `hutong serve` as a real process against a Bot API that misbehaves — a proxy's
HTML page instead of getUpdates JSON, a token it refuses. The service stays up, says so in
/healthz and its log (one line per failure, no page, no token), and answers once it can."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot_api import FakeBotAPI
from citizen import Citizen
from serve_process import Service, service_for

from storage.db import Database

PROXY_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1><p>PROXY-PAGE-BODY</p>"
    + "<!-- padding -->" * 2000
    + "</body></html>"
)


async def test_get_updates_answers_html_three_times_then_start_is_answered(
    service_env: Service, bot_api: FakeBotAPI, db: Database
) -> None:
    service = service_env
    bot_api.fail_next("getUpdates", status=200, body=PROXY_PAGE, times=3)
    citizen = Citizen(bot_api, 4343, timeout=60)
    # Waiting at Telegram while the proxy answers HTML: delivered once polling gets through.
    menu = await asyncio.gather(service.start(bot_api, wait_poll=False), citizen.text("/start"))
    assert "护童之声" in (menu[1].text or "")
    assert bot_api.get_updates_calls >= 4 and service.running

    again = await citizen.text("/start")  # and it keeps answering
    assert "护童之声" in (again.text or "")
    _, health = await service.health()
    assert health == {
        "status": "ok",
        "database": "ok",
        "telegram": "ok",
        "scheduler": "ok",
        "sender": "ok",
    }

    log = service.log()
    failures = [line for line in log.splitlines() if "getUpdates failed" in line]
    assert len(failures) == 3, log
    assert all("(TelegramError, HTTP 200); retrying in" in line for line in failures)
    assert "PROXY-PAGE-BODY" not in log and "Traceback" not in log
    assert "Bad Gateway" not in log and "invalid JSON" not in log


async def test_a_refused_token_leaves_the_service_up_and_says_so(
    database_url: str, bot_api: FakeBotAPI, tmp_path: Path
) -> None:
    service = service_for(
        bot_api,
        database_url=database_url,
        workdir=tmp_path,
        HUTONG_TELEGRAM_TOKEN="999:REFUSED-SECRET",
    )
    try:
        await service.start(bot_api, wait_poll=False)
        health: dict[str, str] = {}
        async with asyncio.timeout(30):
            while health.get("telegram") != "token refused":
                assert service.running, service.log()
                status, health = await service.health()
                assert status == 200  # the web intake stays in the load balancer
                await asyncio.sleep(0.1)
        assert health == {
            "status": "ok",
            "database": "ok",
            "telegram": "token refused",
            "scheduler": "ok",
            "sender": "starting",  # it waits for a token that works
        }
        assert service.running
        critical = [line for line in service.log().splitlines() if " CRITICAL " in line]
        assert len(critical) == 1, service.log()  # the next try is a minute away
        assert "getMe: InvalidToken, HTTP 401" in critical[0]
        assert "HUTONG_TELEGRAM_TOKEN" in critical[0] and "HUTONG_TELEGRAM_API_URL" in critical[0]
        assert bot_api.get_updates_calls == 0

        assert service.proc is not None
        service.proc.terminate()  # waiting to retry: SIGTERM still stops it at once, cleanly
        assert await asyncio.wait_for(service.proc.wait(), 15) == 0
    finally:
        await service.stop()
    log = service.log()
    assert "REFUSED-SECRET" not in log and "Traceback" not in log
