"""Webhook mode: an update Telegram posts is recorded in the inbox, then processed; the web
handler answers 200 only when that worked, so Telegram retries a failure."""

from __future__ import annotations

from typing import Any

from telegram import Bot, Update

from flows.clock import Clock
from handlers.metrics import UPDATES_RECEIVED
from handlers.telegram.updates import CHANNEL, UpdateProcessor, chat_key_of
from storage import inbox
from storage.db import Database


class BadUpdate(ValueError):
    """The body is JSON but not a Telegram update."""


class WebhookReceiver:
    def __init__(self, *, bot: Bot, db: Database, processor: UpdateProcessor, clock: Clock) -> None:
        self.bot = bot
        self.db = db
        self.processor = processor
        self.clock = clock

    async def __call__(self, payload: dict[str, Any]) -> bool:
        try:
            update = Update.de_json(payload, self.bot)
        except Exception as exc:  # PTB raises several types for a body of the wrong shape
            raise BadUpdate(str(exc)) from None
        if update is None:
            raise BadUpdate("empty update")
        async with self.db.unit() as session:
            await inbox.record(
                session,
                channel=CHANNEL,
                update_id=update.update_id,
                payload=payload,
                chat_key=chat_key_of(update),
                now=self.clock(),
            )
        UPDATES_RECEIVED.labels(CHANNEL, "webhook").inc()
        # A redelivered update finds its row done and is acknowledged without a second turn.
        return await self.processor.process(update, self.bot)
