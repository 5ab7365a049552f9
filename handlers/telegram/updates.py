"""Processing one Telegram update exactly once: inbox claim, dialogue turn, commit, replies."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from flows.clock import Clock
from flows.conversations import queue_replies, take_turn, update_failed
from flows.events import Person
from flows.faults import describe
from flows.intake import Intake
from flows.texts import guess_locale
from handlers.metrics import HANDLING_SECONDS, UPDATES_HANDLED
from handlers.telegram.convert import to_incoming
from handlers.telegram.sender import OutboxSender
from storage import inbox
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_ATTEMPTS = 5


def _username(bot: Any) -> str | None:
    """The bot's username, once getMe has answered; before that (a webhook update arriving
    while the bot still connects) commands are taken as addressed to this bot."""
    try:
        return getattr(bot, "username", None)
    except RuntimeError:  # PTB: the bot is not initialised yet
        return None


def raw_chat_key(payload: dict[str, Any]) -> str | None:
    """The chat of an update PTB could not read, found in the raw JSON where it can be, so
    the person can still be told it went wrong."""
    for kind in ("message", "edited_message", "callback_query", "my_chat_member"):
        part = payload.get(kind)
        if not isinstance(part, dict):
            continue
        holder = part.get("message") if kind == "callback_query" else part
        chat = holder.get("chat") if isinstance(holder, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        if isinstance(chat_id, int) and not isinstance(chat_id, bool):
            return str(chat_id)
    return None


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
        # The channel's sender, which delivers a turn's replies right after its commit; set
        # once the bot exists. Without one, replies wait in the outbox for a sender.
        self.sender: OutboxSender | None = None

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.process(update, context.bot)

    async def process(self, update: Update, bot: Any) -> bool:
        """Handle a recorded update; False when it failed (it stays pending, for a retry).

        Updates of the same chat recorded earlier and still pending (taken in by another
        process, or left by a failure) are handled first, oldest first; one that fails is
        passed over so that it cannot hold the chat up (it is retried, then parked)."""
        chat_key = chat_key_of(update)
        began = time.perf_counter()
        async with self.locks.get(chat_key or f"u{update.update_id}"):
            tried: list[int] = []
            while True:
                try:
                    handled = await self._process(update, bot, chat_key=chat_key, skip=tried)
                except _TurnFailed as failed:
                    log.error("update %s failed", failed.update_id, exc_info=failed.__cause__)
                    UPDATES_HANDLED.labels(CHANNEL, "failed").inc()
                    await self._failed(failed.update_id, failed.chat_key, failed.__cause__)
                    if failed.update_id == update.update_id:
                        return False
                    tried.append(failed.update_id)
                    continue
                UPDATES_HANDLED.labels(CHANNEL, "duplicate" if handled is None else "handled").inc()
                if handled is None or handled == update.update_id:
                    HANDLING_SECONDS.labels(CHANNEL).observe(time.perf_counter() - began)
                    return True

    async def _failed(
        self, update_id: int, chat_key: str | None, exc: BaseException | None
    ) -> None:
        """Count the failed attempt; when the update is parked for good, the person hears
        that it went wrong and to try again (through the outbox, like any message)."""
        try:
            async with self.db.unit() as session:
                parked = await inbox.mark_failed_attempt(
                    session,
                    channel=CHANNEL,
                    update_id=update_id,
                    error=describe(exc) if exc is not None else "unknown",
                    max_attempts=MAX_ATTEMPTS,
                    now=self.clock(),
                )
                if parked and chat_key is not None:
                    await update_failed(
                        session=session,
                        channel=CHANNEL,
                        chat_id=chat_key,
                        update_key=f"{update_id}:{self.clock().timestamp():.6f}",
                        now=self.clock(),
                    )
        except Exception as again:  # the database may be what failed: the row stays pending
            log.error("recording the failure of update %s failed (%s)", update_id, describe(again))
            return
        if parked and self.on_outbox is not None:
            self.on_outbox()

    async def _process(
        self, update: Update, bot: Any, *, chat_key: str | None, skip: list[int]
    ) -> int | None:
        """One turn: the chat's next pending update up to ``update`` (``update`` itself when
        nothing older waits). Returns the id handled, None when nothing was left to do."""
        now = self.clock()
        replies: list[OutboxMessage] = []
        direct = False
        handling = update.update_id
        try:
            async with self.db.unit() as session:
                # Claimed and counted done at once: the turn's commit makes both true together.
                if chat_key is None:
                    taken = await inbox.take(
                        session, channel=CHANNEL, update_id=update.update_id, now=now
                    )
                    found = None if taken is None else (update.update_id, taken)
                else:
                    found = await inbox.take_next(
                        session,
                        channel=CHANNEL,
                        chat_key=chat_key,
                        up_to=update.update_id,
                        skip=skip,
                        now=now,
                    )
                if found is None:
                    return None  # already processed: a redelivery, or another process had it
                handling, received_at = found
                current = update
                if handling != update.update_id:  # an older one, recorded by another process
                    payload = await inbox.payload_of(session, channel=CHANNEL, update_id=handling)
                    current = Update.de_json(payload, bot)
                incoming = to_incoming(current, _username(bot))
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
                    # Keyed by the inbox row's arrival, not the update id alone: Telegram
                    # reuses ids after a quiet week, and an old key would swallow the replies.
                    replies, direct = await queue_replies(
                        session=session,
                        chat_id=str(incoming.chat_id),
                        outcome=outcome,
                        key=f"reply:{CHANNEL}:{handling}:{received_at.timestamp():.6f}",
                        pressed_message_id=incoming.message_id,
                        can_send_now=self.sender is not None,
                        now=now,
                    )
        except Exception as exc:
            raise _TurnFailed(handling, chat_key) from exc
        if incoming is None or outcome is None:
            return handling
        if (outcome.outbox_written or (replies and not direct)) and self.on_outbox is not None:
            self.on_outbox()
        # The button's acknowledgement and the replies (in order) go out side by side. The
        # turn is committed: whatever happens now, the replies wait in the outbox.
        try:
            await asyncio.gather(
                self._acknowledge(bot, incoming.callback_id, outcome.notice),
                self.sender.send_now(replies) if direct and self.sender else asyncio.sleep(0),
            )
        except Exception as exc:
            log.error("replies to update %s left to the outbox (%s)", handling, describe(exc))
        return handling

    async def _acknowledge(self, bot: Any, callback_id: str | None, notice: str | None) -> None:
        if callback_id is None:
            return
        try:
            await bot.answer_callback_query(callback_id, text=notice)
        except Exception as exc:  # best effort: an expired query must not block the reply
            log.info("answerCallbackQuery failed (%s)", describe(exc))


class _TurnFailed(Exception):
    """Processing this update failed (the cause is chained); its turn was rolled back."""

    def __init__(self, update_id: int, chat_key: str | None) -> None:
        super().__init__(update_id)
        self.update_id = update_id
        self.chat_key = chat_key


def install(
    application: Application[Any, Any, Any, Any, Any, Any], processor: UpdateProcessor
) -> None:
    """Every update goes through the one processor; routing by content happens in flows."""
    application.add_handler(TypeHandler(Update, processor))
