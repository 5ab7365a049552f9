"""The aiohttp app: health check."""

from __future__ import annotations

from typing import Any

from handlers.web.app import init_app
from storage.db import Database, make_engine


async def test_healthz_ok(aiohttp_client: Any, db: Database) -> None:
    client = await aiohttp_client(init_app(db=db))
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "database": "ok"}


async def test_healthz_reports_a_dead_database(aiohttp_client: Any) -> None:
    dead = Database(make_engine("postgresql://nobody@127.0.0.1:1/none"))
    client = await aiohttp_client(init_app(db=dead))
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert (await resp.json())["status"] == "error"
    await dead.dispose()


async def test_unknown_path_is_404(aiohttp_client: Any, db: Database) -> None:
    client = await aiohttp_client(init_app(db=db))
    resp = await client.get("/nope")
    assert resp.status == 404
