"""The aiohttp app: health check."""

from __future__ import annotations

from typing import Any

from handlers.web.app import init_app
from storage.db import Database, make_engine


async def test_healthz_ok(aiohttp_client: Any, db: Database) -> None:
    client = await aiohttp_client(init_app(db=db))
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "database": "ok", "telegram": "off"}


async def test_healthz_reports_the_telegram_side_and_stays_200_while_it_is_down(
    aiohttp_client: Any, db: Database
) -> None:
    state = "connecting"
    client = await aiohttp_client(init_app(db=db, telegram=lambda: state))
    for state in ("connecting", "token refused", "unreachable", "ok"):
        resp = await client.get("/healthz")
        # The web intake must not be taken out of a load balancer because Telegram is down.
        assert resp.status == 200
        assert await resp.json() == {"status": "ok", "database": "ok", "telegram": state}


async def test_healthz_reports_a_dead_database(aiohttp_client: Any) -> None:
    dead = Database(make_engine("postgresql://nobody@127.0.0.1:1/none"))
    client = await aiohttp_client(init_app(db=dead, telegram=lambda: "ok"))
    resp = await client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    assert body["status"] == "error" and body["telegram"] == "ok"
    await dead.dispose()


async def test_unknown_path_is_404(aiohttp_client: Any, db: Database) -> None:
    client = await aiohttp_client(init_app(db=db))
    resp = await client.get("/nope")
    assert resp.status == 404
