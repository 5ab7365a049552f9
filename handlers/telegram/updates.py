"""Processing one Telegram update exactly once: inbox claim, dialogue turn, commit, replies."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from flows.clock import Clock
from flows.conversations import take_turn
from flows.faults import describe
from flows.intake import Intake
from flows.messages import Outcome
from flows.outbox import enqueue, payload_of
from flows.texts import guess_locale
from flows.work import Person
from handlers.telegram.convert import Incoming, to_incoming
from handlers.telegram.render import send
from storage import inbox
from storage.db import Database

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_ATTEMPTS = 5


def chat_key_of(update: Update) -> str | None:
    chat = update.effective_chat
    return str(chat.id) if chat else None


class ChatLocks:
    """One asyncio lock per chat: a chat's updates are handled one at a time, in order."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def get(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock


class UpdateProcessor:
    """Turns a recorded update into a dialogue turn and the bot's replies."""

    def __init__(
        self,
        *,
        db: Database,
        intake: Intake,
        clock: Clock,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.intake = intake
        self.clock = clock
        self.locks = ChatLocks()
        # Wakes the outbox sender when a turn wrote rows (e.g. a sign-for's edits).
        self.on_outbox = on_outbox

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.process(update, context.bot)

    async def process(self, update: Update, bot: Any) -> bool:
        """Handle a recorded update; False when it failed (it stays pending, for a retry)."""
        key = chat_key_of(update) or f"u{update.update_id}"
        async with self.locks.get(key):
            try:
                await self._process(update, bot)
                return True
            except Exception as exc:
                log.exception("update %s failed", update.update_id)
                async with self.db.unit() as session:
                    await inbox.mark_failed_attempt(
                        session,
                        channel=CHANNEL,
                        update_id=update.update_id,
                        error=describe(exc),
                        max_attempts=MAX_ATTEMPTS,
                        now=self.clock(),
                    )
                return False

    async def _process(self, update: Update, bot: Any) -> None:
        incoming = to_incoming(update, getattr(bot, "username", None))
        now = self.clock()
        async with self.db.unit() as session:
            row = await inbox.claim(session, channel=CHANNEL, update_id=update.update_id)
            if row is None:
                return  # already processed: a redelivery, or a retry that lost the race
            outcome = None
            if incoming is not None:
                outcome = await take_turn(
                    session=session,
                    intake=self.intake,
                    person=Person(
                        channel=CHANNEL,
                        user_id=str(incoming.user_id),
                        chat_id=str(incoming.chat_id),
                        in_group=incoming.in_group,
                        display_name=incoming.display_name,
                        locale=guess_locale(incoming.user_locale),
                    ),
                    event=incoming.event,
                    now=now,
                )
            inbox.mark_done(session, row, now=now)
        if incoming is None or outcome is None:
            return
        if outcome.outbox_written and self.on_outbox is not None:
            self.on_outbox()
        # Replies go out after the commit: the answer is safe even if sending fails. The
        # button's acknowledgement and the replies (in order) go out side by side.
        await asyncio.gather(
            self._acknowledge(bot, incoming.callback_id, outcome.notice),
            self._reply(bot, incoming, outcome, update.update_id),
        )

    async def _acknowledge(self, bot: Any, callback_id: str | None, notice: str | None) -> None:
        if callback_id is None:
            return
        try:
            await bot.answer_callback_query(callback_id, text=notice)
        except TelegramError as exc:  # an expired query must not block the reply
            log.info("answerCallbackQuery failed: %s", describe(exc))

    async def _reply(self, bot: Any, incoming: Incoming, outcome: Outcome, update_id: int) -> None:
        for i, reply in enumerate(outcome.replies):
            try:
                await send(
                    bot,
                    chat_id=incoming.chat_id,
                    reply=reply,
                    locale=outcome.locale,
                    edit_message_id=incoming.message_id,
                )
            except TelegramError as exc:
                # The turn is committed and will not run again, so what it says (a ticket's
                # code, "call 110 now") must not be lost with a failed call: this reply and
                # the rest go to the outbox, whose sender retries within Telegram's limits.
                log.warning("reply to update %s failed, queued: %s", update_id, describe(exc))
                await self._queue(incoming, outcome, update_id, first=i)
                return

    async def _queue(
        self, incoming: Incoming, outcome: Outcome, update_id: int, first: int
    ) -> None:
        async with self.db.unit() as session:
            for n, reply in enumerate(outcome.replies[first:], start=first):
                payload = payload_of(reply.text, reply.buttons)
                payload["locale"] = outcome.locale
                if reply.ask_contact:
                    payload["ask_contact"] = True
                if reply.remove_keyboard:
                    payload["remove_keyboard"] = True
                await enqueue(
                    session,
                    dedup_key=f"reply:{CHANNEL}:{update_id}:{n}",
                    kind="reply",
                    now=self.clock(),
                    payload=payload,
                    chat_id=str(incoming.chat_id),
                )
        if self.on_outbox is not None:
            self.on_outbox()


def install(
    application: Application[Any, Any, Any, Any, Any, Any], processor: UpdateProcessor
) -> None:
    """Every update goes through the one processor; routing by content happens in flows."""
    application.add_handler(TypeHandler(Update, processor))
