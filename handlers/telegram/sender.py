"""Delivering outbox rows through the Bot API within Telegram's limits.

Limits (Telegram's published guidance): about 30 messages a second overall, one a second
per private chat, 20 a minute per group. A 429 names how long to wait (``retry_after``):
that chat waits that long and the row is retried then. Network trouble is retried with
exponential backoff; a blocked bot or a missing chat is permanent and recorded on the row
and on the ticket.

Each row is marked ``sending`` (committed) before the call and ``sent`` right after it, so
a restart re-sends at most the rows whose call was in flight; ``sending`` rows older than the
lease are taken again. Dedup keys keep the same message from being queued twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Final

from aiolimiter import AsyncLimiter
from sqlmodel import col, or_, select
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from flows.clock import Clock
from flows.faults import describe
from flows.lifecycle import escalate_now, locked_ticket
from flows.messages import Reply
from flows.notices import expand
from flows.outbox import buttons_of
from flows.places import Directory
from flows.staff import chat_migrated
from handlers.telegram.render import markup, split_text
from storage.db import Database
from storage.models import OutboxMessage, TicketEvent

log = logging.getLogger(__name__)

GLOBAL_PER_SECOND: Final = 30
PRIVATE_INTERVAL: Final = 1.0  # seconds between messages to one private chat
GROUP_INTERVAL: Final = 3.0  # 20 a minute
LEASE: Final = timedelta(seconds=60)
MAX_ATTEMPTS: Final = 8
BATCH: Final = 100


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


class ChatPacer:
    """When each chat may next be written to (in this process), by the service clock."""

    def __init__(
        self, clock: Clock, *, private: float = PRIVATE_INTERVAL, group: float = GROUP_INTERVAL
    ) -> None:
        self.clock = clock
        self.private = private
        self.group = group
        self._next: dict[str, datetime] = {}

    def ready_at(self, chat_id: str) -> datetime | None:
        """None when the chat may be written to now."""
        at = self._next.get(chat_id)
        return at if at is not None and at > self.clock() else None

    def sent(self, chat_id: str) -> None:
        interval = self.group if chat_id.startswith("-") else self.private
        self._next[chat_id] = self.clock() + timedelta(seconds=interval)

    def hold(self, chat_id: str, seconds: float) -> None:
        until = self.clock() + timedelta(seconds=seconds)
        self._next[chat_id] = max(self._next.get(chat_id, until), until)


class OutboxSender:
    def __init__(
        self,
        *,
        db: Database,
        bot: Bot,
        directory: Directory,
        clock: Clock,
        per_second: int = GLOBAL_PER_SECOND,
        pacer: ChatPacer | None = None,
        duty_chat: str | None = None,
    ) -> None:
        self.db = db
        self.bot = bot
        self.directory = directory
        self.clock = clock
        self.limiter = AsyncLimiter(per_second, 1)
        self.pacer = pacer or ChatPacer(clock)
        self.duty_chat = duty_chat  # the top of the ladder, where no supervisor is enrolled
        self._wake = asyncio.Event()
        self._stopping = False

    def stop(self) -> None:
        """Finish the current batch and return from ``run``; rows in flight stay consistent."""
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        """New rows were committed in this process: look now, not at the next tick."""
        self._wake.set()

    async def run(self, *, idle_seconds: float = 1.0) -> None:
        while not self._stopping:
            try:
                busy = await self.run_once()
            except Exception:  # a bad batch must not stop all future deliveries
                log.exception("outbox sender batch failed")
                busy = 0
            if busy or self._stopping:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), idle_seconds)

    async def run_once(self) -> int:
        """Expand role targets, then send every due row; returns how many rows were handled."""
        now = self.clock()
        async with self.db.unit() as session:
            expanded = await expand(
                session, directory=self.directory, now=now, duty_chat=self.duty_chat
            )
        rows = await self._claim()
        by_chat: dict[str, list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            by_chat[row.target].append(row)
        await asyncio.gather(*(self._send_chat(chat, items) for chat, items in by_chat.items()))
        return expanded + len(rows)

    async def _claim(self) -> list[OutboxMessage]:
        now = self.clock()
        async with self.db.unit() as session:
            rows = list(
                (
                    await session.exec(
                        select(OutboxMessage)
                        .where(
                            col(OutboxMessage.target_kind) == "chat",
                            or_(
                                col(OutboxMessage.status) == "pending",
                                col(OutboxMessage.status) == "sending",  # lease ran out
                            ),
                            col(OutboxMessage.next_attempt_at) <= now,
                        )
                        .order_by(col(OutboxMessage.id))
                        .limit(BATCH)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
            )
            for row in rows:
                row.status = "sending"
                row.attempts += 1
                row.next_attempt_at = now + LEASE
                session.add(row)
        return rows

    async def _send_chat(self, chat_id: str, rows: list[OutboxMessage]) -> None:
        """One chat's rows in order. When the chat must wait (its pace, a 429), the rest go
        back with the time it may be written to again; nothing sleeps holding rows."""
        for i, row in enumerate(rows):
            ready_at = self.pacer.ready_at(chat_id)
            if ready_at is not None:
                await self._release(rows[i:], ready_at)
                return
            async with self.limiter:
                result = await self._deliver(row)
            if result == "retry_later":
                await self._release(rows[i + 1 :], self.pacer.ready_at(chat_id) or self.clock())
                return

    async def _deliver(self, row: OutboxMessage) -> str:
        chat_id = row.target
        try:
            message_id = await self._call(row)
        except _NotYet:
            await self._reschedule(row, 1.0, "waiting for the original message", count=False)
            return "retry_later"
        except RetryAfter as exc:
            seconds = _seconds(exc.retry_after)
            self.pacer.hold(chat_id, seconds)
            await self._reschedule(row, seconds, f"429 retry after {seconds:g}s", count=False)
            return "retry_later"
        except ChatMigrated as exc:
            # The group became a supergroup: its binding and waiting rows move to the new
            # id, and this row is tried again there at once.
            await self._migrate(chat_id, str(exc.new_chat_id))
            await self._reschedule(row, 0, f"chat migrated to {exc.new_chat_id}", count=False)
            return "retry_later"
        except Forbidden as exc:
            await self._fail(row, describe(exc))
            return "failed"
        except BadRequest as exc:
            text = exc.message.lower()
            if "not modified" in text:  # the edit is already there
                await self._done(row, None)
                return "sent"
            await self._fail(row, describe(exc))
            return "failed"
        except (NetworkError, TelegramError) as exc:
            if row.attempts >= MAX_ATTEMPTS:
                await self._fail(row, f"gave up after {row.attempts} attempts: {describe(exc)}")
                return "failed"
            backoff = min(2.0**row.attempts, 300.0)
            await self._reschedule(row, backoff, f"transient: {describe(exc)}", count=True)
            return "retry_later"
        self.pacer.sent(chat_id)
        await self._done(row, message_id)
        return "sent"

    async def _call(self, row: OutboxMessage) -> int | None:
        payload = row.payload
        locale = str(payload.get("locale", "zh"))
        reply = Reply(
            str(payload["text"]),
            buttons_of(payload),
            ask_contact=bool(payload.get("ask_contact")),
            remove_keyboard=bool(payload.get("remove_keyboard")),
        )
        kb = markup(reply, locale)
        if "edit_of" in payload:
            message_id = await self._original_message_id(int(payload["edit_of"]))
            if message_id is None:
                raise _NotYet
            await self.bot.edit_message_text(
                reply.text,
                chat_id=int(row.target),
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=kb,  # type: ignore[arg-type]
            )
            return message_id
        parts = split_text(reply.text)
        sent = None
        for i, part in enumerate(parts):
            sent = await self.bot.send_message(
                int(row.target),
                part,
                parse_mode=ParseMode.HTML,
                reply_markup=kb if i == len(parts) - 1 else None,
            )
        return sent.message_id if sent is not None else None

    async def _original_message_id(self, outbox_id: int) -> int | None:
        async with self.db.unit() as session:
            original = await session.get(OutboxMessage, outbox_id)
        if original is None or original.status == "failed":
            raise BadRequest("original message was never delivered")
        return original.message_id if original.status == "sent" else None

    async def _done(self, row: OutboxMessage, message_id: int | None) -> None:
        async with self.db.unit() as session:
            fresh = await session.get(OutboxMessage, row.id)
            assert fresh is not None
            fresh.status = "sent"
            fresh.sent_at = self.clock()
            fresh.message_id = message_id
            fresh.error = None
            session.add(fresh)

    async def _reschedule(
        self, row: OutboxMessage, seconds: float, why: str, *, count: bool
    ) -> None:
        async with self.db.unit() as session:
            fresh = await session.get(OutboxMessage, row.id)
            assert fresh is not None
            fresh.status = "pending"
            fresh.next_attempt_at = self.clock() + timedelta(seconds=seconds)
            fresh.error = why[:500]
            if not count:  # waiting out a rate limit is not a failed attempt
                fresh.attempts = max(0, fresh.attempts - 1)
            session.add(fresh)

    async def _migrate(self, old_chat_id: str, new_chat_id: str) -> None:
        async with self.db.unit() as session:
            moved = await chat_migrated(
                session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id
            )
        log.warning(
            "chat %s migrated to %s; %d station binding(s) moved (a duty chat setting must be"
            " changed by hand)",
            old_chat_id,
            new_chat_id,
            moved,
        )
        self.wake()

    async def _release(self, rows: list[OutboxMessage], at: datetime) -> None:
        """Rows claimed but not tried (their chat must wait): back to pending, untouched."""
        if not rows:
            return
        async with self.db.unit() as session:
            for row in rows:
                fresh = await session.get(OutboxMessage, row.id)
                assert fresh is not None
                fresh.status = "pending"
                fresh.attempts = max(0, fresh.attempts - 1)
                fresh.next_attempt_at = at
                session.add(fresh)

    async def _fail(self, row: OutboxMessage, why: str) -> None:
        log.warning("outbox %s to %s failed: %s", row.id, row.target, why)
        now = self.clock()
        async with self.db.unit() as session:
            fresh = await session.get(OutboxMessage, row.id)
            assert fresh is not None
            fresh.status = "failed"
            fresh.error = why[:500]
            session.add(fresh)
            if fresh.ticket_id is None:
                return
            session.add(
                TicketEvent(
                    ticket_id=fresh.ticket_id,
                    at=now,
                    actor="system",
                    kind="delivery_failed",
                    note=f"{fresh.kind} to {fresh.target}: {why}"[:2000],
                )
            )
            if fresh.kind == "referral" and fresh.parent_id is not None:
                siblings = (
                    await session.exec(
                        select(OutboxMessage.status).where(
                            col(OutboxMessage.parent_id) == fresh.parent_id
                        )
                    )
                ).all()
                # Under the row lock: a sign-for committing meanwhile must not be overwritten.
                ticket = await locked_ticket(session, fresh.ticket_id)
                if ticket is not None and all(status == "failed" for status in siblings):
                    # Nobody at the station got the referral: as good as not sent.
                    session.add(escalate_now(ticket, now=now, why="referral delivered to nobody"))
                    session.add(ticket)


class _NotYet(TelegramError):
    """An edit whose original message is not sent yet: try again shortly."""

    def __init__(self) -> None:
        super().__init__("original message not sent yet")
