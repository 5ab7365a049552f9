"""The aiohttp app: /healthz (what a restart cures fails it, Telegram's state never does),
/readyz (not ready while shutting down), unknown paths."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.web.app import init_app
from handlers.web.probes import Probes
from storage.db import Database, make_engine


async def test_healthz_ok_with_nothing_but_the_database(aiohttp_client: Any, db: Database) -> None:
    client = await aiohttp_client(init_app(db=db))
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {
        "status": "ok",
        "database": "ok",
        "telegram": "off",
        "scheduler": "off",
        "sender": "off",
    }


async def test_healthz_reports_the_telegram_side_and_stays_200_while_it_is_down(
    aiohttp_client: Any, db: Database
) -> None:
    state = "connecting"
    probes = Probes(telegram=lambda: state, scheduler=lambda: "ok", sender=lambda: "starting")
    client = await aiohttp_client(init_app(db=db, probes=probes))
    for state in ("connecting", "token refused", "unreachable", "ok"):
        resp = await client.get("/healthz")
        # The web intake must not be taken out of a load balancer because Telegram is down.
        assert resp.status == 200
        body = await resp.json()
        assert (body["status"], body["telegram"]) == ("ok", state)


@pytest.mark.parametrize(
    ("scheduler", "sender"), [("stalled", "ok"), ("stopped", "ok"), ("ok", "stalled")]
)
async def test_healthz_fails_when_the_scheduler_or_sender_is_stuck(
    aiohttp_client: Any, db: Database, scheduler: str, sender: str
) -> None:
    """A hung sweep fires no escalation and a hung sender delivers nothing: a restart cures
    both, so the container's health check must see it."""
    probes = Probes(telegram=lambda: "ok", scheduler=lambda: scheduler, sender=lambda: sender)
    client = await aiohttp_client(init_app(db=db, probes=probes))
    resp = await client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    assert (body["status"], body["scheduler"], body["sender"]) == ("error", scheduler, sender)


async def test_healthz_reports_a_dead_database(aiohttp_client: Any) -> None:
    dead = Database(make_engine("postgresql://nobody@127.0.0.1:1/none"))
    client = await aiohttp_client(init_app(db=dead, probes=Probes(telegram=lambda: "ok")))
    resp = await client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    assert body["status"] == "error" and body["telegram"] == "ok" and body["database"] != "ok"
    ready = await client.get("/readyz")
    assert ready.status == 503 and await ready.json() == {"ready": False, "why": "database"}
    await dead.dispose()


async def test_readyz_turns_503_once_shutdown_begins(aiohttp_client: Any, db: Database) -> None:
    accepting = True
    client = await aiohttp_client(init_app(db=db, probes=Probes(accepting=lambda: accepting)))
    resp = await client.get("/readyz")
    assert resp.status == 200 and await resp.json() == {"ready": True}
    accepting = False
    resp = await client.get("/readyz")
    assert resp.status == 503 and await resp.json() == {"ready": False, "why": "shutting down"}
    # Still alive while it drains: /healthz does not ask for a restart.
    assert (await client.get("/healthz")).status == 200


async def test_unknown_path_is_404(aiohttp_client: Any, db: Database) -> None:
    client = await aiohttp_client(init_app(db=db))
    resp = await client.get("/nope")
    assert resp.status == 404
