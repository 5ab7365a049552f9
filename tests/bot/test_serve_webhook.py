"""`serve` in webhook mode: it registers the webhook with its secret, and updates posted to
/telegram/webhook are answered through the Bot API."""

from __future__ import annotations

import asyncio

import aiohttp
from bot_api import FakeBotAPI
from harness import FakeClock
from serve_process import free_port

from bot.service import serve
from bot.settings import Settings
from handlers.web.webhook import SECRET_HEADER
from storage.db import Database

SECRET = "webhook-secret-0123456789"


async def test_webhook_mode_end_to_end(
    database_url: str, db: Database, bot_api: FakeBotAPI, clock: FakeClock
) -> None:
    port = free_port()
    settings = Settings(
        database_url=database_url,
        http_port=port,
        telegram_token=bot_api.token,
        telegram_api_url=bot_api.base_url,
        webhook_url="https://hutong.example.org/telegram/webhook",
        webhook_secret=SECRET,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, clock=clock, stop=stop, handle_signals=False))
    try:
        registered = await bot_api.wait_for(lambda c: c.method == "setWebhook", timeout=30)
        assert registered.params["url"] == "https://hutong.example.org/telegram/webhook"
        assert registered.params["secret_token"] == SECRET
        update = {
            "update_id": 42,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 9201, "type": "private", "first_name": "A"},
                "from": {"id": 9201, "is_bot": False, "first_name": "A"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update, headers={SECRET_HEADER: "nope"}) as resp:
                assert resp.status == 401
            async with http.post(url, json=update, headers={SECRET_HEADER: SECRET}) as resp:
                assert resp.status == 200
        menu = await bot_api.wait_for(lambda c: "护童之声" in (c.text or ""), chat_id=9201)
        assert menu.method == "sendMessage"
        assert bot_api.get_updates_calls == 0  # no polling in webhook mode
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
