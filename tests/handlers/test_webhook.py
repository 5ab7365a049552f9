"""Webhook mode: the secret, bad bodies, processing once, and 500 so Telegram retries."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from bot_api import FakeBotAPI
from sqlmodel import col, select
from telegram import Bot

from flows.intake import Intake
from handlers.telegram.sender import OutboxSender
from handlers.telegram.updates import UpdateProcessor
from handlers.telegram.webhook import WebhookReceiver
from handlers.web.app import init_app
from handlers.web.webhook import SECRET_HEADER, Webhook
from storage.db import Database
from storage.models import InboxUpdate

SECRET = "s3cret-token_for-tests"


def start_update(update_id: int, chat: int = 9101) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": chat, "type": "private", "first_name": "A"},
            "from": {"id": chat, "is_bot": False, "first_name": "A"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


@pytest.fixture
async def client(
    aiohttp_client: Any, bot_api: FakeBotAPI, db: Database, intake: Intake, clock: Any
) -> Any:
    bot = Bot(bot_api.token, base_url=bot_api.bot_url)
    await bot.initialize()
    processor = UpdateProcessor(db=db, intake=intake, clock=clock)
    # A turn's replies are delivered by the channel's sender right after the commit.
    processor.sender = OutboxSender(db=db, bot=bot, directory=intake.directory, clock=clock)
    receiver = WebhookReceiver(bot=bot, db=db, processor=processor, clock=clock)
    app = init_app(db=db, webhook=Webhook(SECRET, receiver))
    yield await aiohttp_client(app)
    await bot.shutdown()


async def rows(db: Database) -> list[InboxUpdate]:
    async with db.unit() as session:
        return list((await session.exec(select(InboxUpdate).order_by(col(InboxUpdate.id)))).all())


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-of-the-same-len", SECRET + "x"])
async def test_a_forged_webhook_is_refused_and_nothing_recorded(
    client: Any, db: Database, secret: str | None
) -> None:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    resp = await client.post("/telegram/webhook", json=start_update(1), headers=headers)
    assert resp.status == 401
    assert (await resp.json())["ok"] is False
    assert await rows(db) == []


async def test_a_secret_header_that_is_not_utf8_is_refused_not_a_crash(
    client: Any, db: Database
) -> None:
    # aiohttp's client refuses such a header, so it is written by hand.
    reader, writer = await asyncio.open_connection(client.host, client.port)
    body = json.dumps(start_update(2)).encode()
    writer.write(
        b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + SECRET_HEADER.encode()
        + b": \xff\xfe\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] == b"401"
    assert await rows(db) == []


async def test_an_unknown_charset_is_400_not_a_crash(client: Any, db: Database) -> None:
    resp = await client.post(
        "/telegram/webhook",
        data=b"{not json",
        headers={SECRET_HEADER: SECRET, "Content-Type": "application/json; charset=nope"},
    )
    assert resp.status == 400
    resp = await client.post(
        "/telegram/webhook",
        data=json.dumps(start_update(3)).encode(),
        headers={SECRET_HEADER: SECRET, "Content-Type": "application/json; charset=nope"},
    )
    assert resp.status == 200  # the body is JSON in UTF-8 whatever the header says
    assert [r.update_id for r in await rows(db)] == [3]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}', b"\xff\xfe", b""],
)
async def test_malformed_bodies_are_400(client: Any, db: Database, body: bytes) -> None:
    resp = await client.post(
        "/telegram/webhook",
        data=body,
        headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
    )
    assert resp.status == 400
    assert "error" in await resp.json()
    assert await rows(db) == []


@pytest.mark.parametrize(
    "update_id",
    [True, False, 7.0, 7.5, -1, -(2**63), 2**63, 2**64, 10**30, "7", None, [7], {"id": 7}],
)
async def test_an_update_id_that_is_not_a_bigint_is_400_not_500(
    client: Any, db: Database, update_id: Any
) -> None:
    body = {**start_update(1), "update_id": update_id}
    resp = await client.post("/telegram/webhook", json=body, headers={SECRET_HEADER: SECRET})
    assert resp.status == 400
    assert "update_id" in (await resp.json())["error"]
    assert await rows(db) == []


@pytest.mark.parametrize("update_id", [0, 2**63 - 1])
async def test_update_ids_at_the_ends_of_the_range_are_taken(
    client: Any, db: Database, update_id: int
) -> None:
    resp = await client.post(
        "/telegram/webhook", json=start_update(update_id), headers={SECRET_HEADER: SECRET}
    )
    assert resp.status == 200
    assert [(r.update_id, r.status) for r in await rows(db)] == [(update_id, "done")]


async def test_an_update_is_processed_once_and_acknowledged(
    client: Any, db: Database, bot_api: FakeBotAPI
) -> None:
    for _ in range(2):  # Telegram delivers it twice
        resp = await client.post(
            "/telegram/webhook", json=start_update(500), headers={SECRET_HEADER: SECRET}
        )
        assert resp.status == 200 and await resp.json() == {"ok": True}
    assert [(r.update_id, r.status) for r in await rows(db)] == [(500, "done")]
    menus = [c for c in bot_api.calls_for(9101, "sendMessage") if "护童之声" in (c.text or "")]
    assert len(menus) == 1


async def test_a_failure_answers_500_and_the_retry_succeeds(
    client: Any, db: Database, bot_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import handlers.telegram.updates as updates

    real = updates.take_turn

    async def broken(**kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(updates, "take_turn", broken)
    body = json.dumps(start_update(600))
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    resp = await client.post("/telegram/webhook", data=body, headers=headers)
    assert resp.status == 500
    [row] = await rows(db)
    # The error column says what failed, never an exception's message (it may quote data).
    assert (row.status, row.attempts, row.error) == ("pending", 1, "RuntimeError")
    monkeypatch.setattr(updates, "take_turn", real)
    resp = await client.post("/telegram/webhook", data=body, headers=headers)
    assert resp.status == 200
    [row] = await rows(db)
    assert row.status == "done"
    assert len(bot_api.calls_for(9101, "sendMessage")) == 1


async def test_without_webhook_mode_the_route_does_not_exist(
    aiohttp_client: Any, db: Database
) -> None:
    client = await aiohttp_client(init_app(db=db))
    resp = await client.post("/telegram/webhook", json=start_update(1))
    assert resp.status in (404, 405)


async def test_an_update_before_the_bot_has_connected_is_processed(
    db: Database, intake: Intake, clock: Any, bot_api: FakeBotAPI
) -> None:
    """The web server is up before getMe has answered (PTB's bot then has no username): an
    update posted meanwhile is processed and answered, not failed five times and parked."""
    bot = Bot(bot_api.token, base_url=bot_api.bot_url)  # not initialised: no getMe yet
    processor = UpdateProcessor(db=db, intake=intake, clock=clock)
    processor.sender = OutboxSender(db=db, bot=bot, directory=intake.directory, clock=clock)
    receiver = WebhookReceiver(bot=bot, db=db, processor=processor, clock=clock)
    try:
        assert await receiver(start_update(700)) is True
    finally:
        await bot.shutdown()
    [row] = await rows(db)
    assert (row.status, row.attempts) == ("done", 1)
    assert any("护童之声" in (c.text or "") for c in bot_api.calls_for(9101, "sendMessage"))


async def test_json_nested_too_deep_is_400(client: Any, db: Database) -> None:
    body = "[" * 200_000 + "]" * 200_000
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    resp = await client.post("/telegram/webhook", data=body, headers=headers)
    assert resp.status == 400
    assert await rows(db) == []


async def test_a_chat_id_that_is_not_an_integer_is_not_acted_on(
    client: Any, db: Database, bot_api: FakeBotAPI
) -> None:
    """Not Telegram's: recorded and acknowledged, but no turn and no message to a chat the
    sender could never address."""
    from storage.models import OutboxMessage

    update = start_update(801)
    update["message"]["chat"]["id"] = "abc"
    resp = await client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET})
    assert resp.status == 200
    [row] = await rows(db)
    assert row.status == "done"
    async with db.unit() as session:
        assert (await session.exec(select(OutboxMessage))).all() == []
