"""Delivering outbox rows through the Bot API within Telegram's limits.

Limits (Telegram's published guidance): about 30 messages a second overall, one a second
per private chat (short bursts tolerated), 20 a minute per group. A 429 names how long to
wait (``retry_after``): that chat waits that long and the row is retried then.

Delivery is retried by age, not by count: a row that fails for a passing reason (network,
5xx, an unreadable answer, even a refused token) is tried again with exponential backoff,
capped at ``retry_max``, until it is ``deliver_for`` old (24 hours by default) — so an outage
of hours delays messages but loses none. A blocked bot, a missing chat or a row that cannot
be rendered is permanent: recorded on the row and the ticket at once, and it never holds up
another row. What a failure means for the ticket (a referral nobody received escalates) is
decided in ``flows.delivery``.

Each row is marked ``sending`` (committed) before the call and ``sent`` right after it, so
a restart re-sends at most the rows whose call was in flight; ``sending`` rows older than the
lease are taken again. The replies of a dialogue turn are written ``sending`` with the turn and
handed to ``send_now`` after the commit. Dedup keys keep the same message from being queued
twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Final

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    RetryAfter,
    TelegramError,
)

from flows import delivery
from flows.clock import Clock
from flows.faults import describe
from flows.messages import Reply
from flows.notices import expand
from flows.outbox import reply_of
from flows.places import Directory
from flows.staff import chat_migrated
from handlers.metrics import DELIVERIES
from handlers.telegram import commands
from handlers.telegram.pace import ChatPacer, LocalPace, Pace
from handlers.telegram.render import PartlySent, markup, send
from handlers.web.probes import STALLED
from storage import outbox
from storage.db import Database
from storage.group import GroupWriter
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

LEASE: Final = outbox.LEASE
# A send goes on its lease only with this much of it left (the call itself may take a while).
RENEW_WHEN_LEFT: Final = timedelta(seconds=10)
DELIVER_FOR: Final = timedelta(hours=24)
CHANNEL: Final = "telegram"
RETRY_MAX: Final = 300.0  # seconds: the longest wait between two tries of one row
BATCH: Final = 100
# A batch running this long is hung: at 30 messages a second a full batch takes seconds.
STALL_SECONDS: Final = 300.0


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


class OutboxSender:
    def __init__(
        self,
        *,
        db: Database,
        bot: Bot,
        directory: Directory,
        clock: Clock,
        pace: Pace | None = None,
        duty_chat: str | None = None,
        deliver_for: timedelta = DELIVER_FOR,
        retry_max: float = RETRY_MAX,
    ) -> None:
        self.db = db
        self.bot = bot
        self.directory = directory
        self.clock = clock
        self.pace = pace or LocalPace(ChatPacer(clock))
        self.duty_chat = duty_chat  # the top of the ladder, where no supervisor is enrolled
        self.deliver_for = deliver_for
        self.retry_max = retry_max
        self._wake = asyncio.Event()
        self._stopping = False
        # Rows delivered at about the same time (many chats' replies) are marked sent in one
        # transaction; each send still waits for its own commit.
        self._sent: GroupWriter[tuple[int, int | None]] = GroupWriter(
            db, lambda session, rows: outbox.mark_sent(session, delivered=rows, now=self.clock())
        )

    # When run() last began a batch (time.monotonic); None before it first ran.
    beat: float | None = None

    def state(self) -> str:
        """For /healthz: "ok", "starting" before the loop first ran, or "stalled" when one
        batch has run for minutes (hung on the database or a connection): nothing is being
        delivered then, and a restart releases the batch's rows to go out again."""
        if self.beat is None:
            return "starting"
        if time.monotonic() - self.beat > STALL_SECONDS:
            return STALLED
        return "ok"

    def stop(self) -> None:
        """Finish the current batch and return from ``run``; rows in flight stay consistent."""
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        """New rows were committed in this process: look now, not at the next tick."""
        self._wake.set()

    async def run(self, *, idle_seconds: float = 1.0) -> None:
        while not self._stopping:
            self.beat = time.monotonic()
            try:
                busy = await self.run_once()
            except Exception as exc:  # a bad batch must not stop all future deliveries
                log.error("outbox sender batch failed (%s)", describe(exc))
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
        await self.send_now(rows)
        return expanded + len(rows)

    async def send_now(self, rows: list[OutboxMessage]) -> None:
        """Deliver rows a caller wrote ``sending`` in its own transaction (a turn's replies),
        in order and within the chat's pace; what cannot go now is left to ``run``."""
        by_chat: dict[str, list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            by_chat[_line(row)].append(row)
        await asyncio.gather(*(self._send_chat(chat, items) for chat, items in by_chat.items()))

    async def _claim(self) -> list[OutboxMessage]:
        async with self.db.unit() as session:
            return await outbox.claim(session, now=self.clock(), limit=BATCH, lease=LEASE)

    async def _send_chat(self, chat_id: str, rows: list[OutboxMessage]) -> None:
        """One chat's rows in order. When the chat must wait (its pace, a 429), the rest go
        back with the time it may be written to again; nothing sleeps holding rows. Rows
        delivered are marked sent together, before anything else is written for the chat."""
        delivered: list[tuple[OutboxMessage, int | None]] = []
        try:
            for i, row in enumerate(rows):
                ready_at = await self.pace.take(chat_id)
                if ready_at is not None:
                    await self._mark_sent(delivered)
                    await self._release(rows[i:], ready_at)
                    return
                if "edit_of" in row.payload:  # its original may be in ``delivered``
                    await self._mark_sent(delivered)
                async with self.pace.turn():
                    if not await self._still_ours(row):
                        return  # claimed by another sender while this one waited its turn
                    outcome = await self._try(row)
                if isinstance(outcome, _Sent):
                    delivered.append((row, outcome.message_id))
                    continue
                await self._mark_sent(delivered)
                hold_until = await self._settle(row, outcome)
                if hold_until is not None:  # the chat's later rows stay behind this one
                    await self._release(rows[i + 1 :], hold_until)
                    return
        finally:
            await self._mark_sent(delivered)

    async def _still_ours(self, row: OutboxMessage) -> bool:
        """Whether this sender may still send the row. Its lease may have run out while the
        send waited its turn (the global rate, behind hundreds of others): then the lease is
        renewed if nobody claimed the row meanwhile, and otherwise the row is left to the
        sender that did, so a message never goes twice. A lease with time left is trusted
        without asking the database."""
        assert row.id is not None
        now = self.clock()
        if row.next_attempt_at - now > RENEW_WHEN_LEFT:
            return True
        async with self.db.unit() as session:
            kept = await outbox.renew(
                session, row_id=row.id, held_until=row.next_attempt_at, until=now + LEASE
            )
        if kept:
            row.next_attempt_at = now + LEASE
        return kept

    async def _try(self, row: OutboxMessage) -> _Sent | _Failure:
        """One Bot API call for the row; what happened, without touching the database."""
        if row.target_kind == outbox.SCOPE:
            return await self._publish(row)
        try:
            reply = reply_of(row.payload)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            # E.g. a payload written by an older version: retrying cannot help.
            return _Failure("render", f"cannot render: {type(exc).__name__}")
        try:
            return _Sent(await self._call(row, reply))
        except PartlySent as partly:  # the row goes on from the first part not sent
            failure = _classify(partly.__cause__)
            if isinstance(failure, _Failure):
                failure.parts_sent = partly.sent
            return failure
        except Exception as exc:
            return _classify(exc)

    async def _publish(self, row: OutboxMessage) -> _Sent | _Failure:
        """A command list (``flows.commands``): set or deleted for its scope."""
        try:
            publication = commands.read(row.payload, row.target)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            return _Failure("render", f"cannot read: {type(exc).__name__}")
        try:
            await commands.publish(self.bot, publication)
        except Exception as exc:
            return _classify(exc)
        return _Sent(None)

    async def _settle(self, row: OutboxMessage, failure: _Failure) -> datetime | None:
        """Write down a failed try. Returns when the chat's later rows may go (they must not
        overtake this one), or None when they may go now (this row is given up)."""
        chat_id = _line(row)  # whose pace a wait holds back
        if failure.kind in ("permanent", "render"):
            await self._fail(row, failure.why)
            return None
        now = self.clock()
        if failure.kind == "rate":
            await self.pace.hold(chat_id, failure.seconds)
        if failure.kind == "migrated":
            # The group became a supergroup: its binding and waiting rows move to the new
            # id, and this row is tried again there at once.
            assert failure.new_chat is not None
            await self._migrate(row.target, failure.new_chat)
        if failure.kind != "transient":  # waiting, not failing: no attempt is counted
            await self._retry_later(row, failure, failure.seconds, failure.why, count=False)
            return now + timedelta(seconds=failure.seconds)
        if now >= (row.requeued_at or row.created_at) + self.deliver_for:
            hours = self.deliver_for.total_seconds() / 3600
            await self._fail(row, f"not delivered in {hours:g} h; last: {failure.why}")
            return None
        backoff = min(2.0 ** max(row.attempts - 1, 0), self.retry_max)
        grace_end = delivery.grace_ends(row)
        if grace_end is not None and now < grace_end:
            # A referral nobody has yet: tried again when its grace ends at the latest, so
            # that try judges (and escalates) it on time.
            backoff = min(backoff, max((grace_end - now).total_seconds(), 1.0))
        await self.pace.hold(chat_id, backoff)  # direct replies wait behind it too
        await self._retry_later(row, failure, backoff, f"transient: {failure.why}", count=True)
        return now + timedelta(seconds=backoff)

    async def _call(self, row: OutboxMessage, reply: Reply) -> int | None:
        payload = row.payload
        locale = str(payload.get("locale", "zh"))
        if "edit_of" in payload:
            message_id = await self._original_message_id(int(payload["edit_of"]))
            if message_id is None:
                raise _NotYet
            await self.bot.edit_message_text(
                reply.text,
                chat_id=int(row.target),
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup(reply, locale),  # type: ignore[arg-type]
            )
            return message_id
        edit_message_id = payload.get("edit_message_id")
        return await send(
            self.bot,
            chat_id=int(row.target),
            reply=reply,
            locale=locale,
            edit_message_id=int(edit_message_id) if edit_message_id is not None else None,
            from_part=int(payload.get("parts_sent", 0)),
        )

    async def _original_message_id(self, outbox_id: int) -> int | None:
        async with self.db.unit() as session:
            original = await outbox.original(session, row_id=outbox_id)
        if original is None or original.status == "failed":
            raise BadRequest("original message was never delivered")
        return original.message_id if original.status == "sent" else None

    async def _mark_sent(self, delivered: list[tuple[OutboxMessage, int | None]]) -> None:
        """Rows the Bot API accepted, marked sent in one transaction (then forgotten)."""
        if not delivered:
            return
        await self._sent.add([(row.id, message_id) for row, message_id in delivered if row.id])
        DELIVERIES.labels(CHANNEL, "sent").inc(len(delivered))
        delivered.clear()

    async def _retry_later(
        self, row: OutboxMessage, failure: _Failure, seconds: float, why: str, *, count: bool
    ) -> None:
        assert row.id is not None
        async with self.db.unit() as session:
            await delivery.retry_later(
                session=session,
                row_id=row.id,
                seconds=seconds,
                why=why,
                count_attempt=count,
                now=self.clock(),
                parts_sent=failure.parts_sent,
            )
        if count:  # a failed try; waiting for a rate limit or an edit's original is not one
            DELIVERIES.labels(CHANNEL, "retried").inc()

    async def _migrate(self, old_chat_id: str, new_chat_id: str) -> None:
        async with self.db.unit() as session:
            moved = await chat_migrated(
                session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id, now=self.clock()
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
            leases = [(row.id, row.next_attempt_at) for row in rows if row.id]
            await outbox.release(session, leases=leases, at=at)
        self.wake()

    async def _fail(self, row: OutboxMessage, why: str) -> None:
        log.warning("outbox %s (%s) to chat %s given up", row.id, row.kind, row.target)
        assert row.id is not None
        async with self.db.unit() as session:
            await delivery.give_up(session=session, row_id=row.id, why=why, now=self.clock())
        DELIVERIES.labels(CHANNEL, "failed").inc()


def _line(row: OutboxMessage) -> str:
    """The line a row waits in, and its pace: its chat's; a command list's own, by scope (a
    list never holds up a chat's messages, nor they it)."""
    return row.target if row.target_kind == "chat" else f"{row.target_kind}:{row.target}"


def _classify(exc: BaseException | None) -> _Sent | _Failure:
    """What a failed Bot API call means for its row."""
    if isinstance(exc, _NotYet):
        return _Failure("wait", "waiting for the original message", seconds=1.0)
    if isinstance(exc, RetryAfter):
        seconds = _seconds(exc.retry_after)
        return _Failure("rate", f"429 retry after {seconds:g}s", seconds=seconds)
    if isinstance(exc, ChatMigrated):
        new_chat = str(exc.new_chat_id)
        return _Failure("migrated", f"chat migrated to {new_chat}", new_chat=new_chat)
    if isinstance(exc, Forbidden):
        return _Failure("permanent", describe(exc))
    if isinstance(exc, BadRequest):
        if "not modified" in exc.message.lower():  # the edit is already there
            return _Sent(None)
        return _Failure("permanent", describe(exc))
    # Network trouble, 5xx, an answer that is not Bot API JSON, a refused token, a bot not
    # connected yet, a bug: nothing known to be wrong with the row, so it is retried like a
    # passing fault and given up by age, never left claimed forever.
    return _Failure("transient", describe(exc) if exc is not None else "unknown")


class _Sent:
    __slots__ = ("message_id",)

    def __init__(self, message_id: int | None) -> None:
        self.message_id = message_id


class _Failure:
    """Why a try failed: ``kind`` decides what happens to the row."""

    __slots__ = ("kind", "new_chat", "parts_sent", "seconds", "why")

    def __init__(
        self, kind: str, why: str, *, seconds: float = 0.0, new_chat: str | None = None
    ) -> None:
        self.kind = kind  # render | permanent | transient | rate | wait | migrated
        self.why = why
        self.seconds = seconds
        self.new_chat = new_chat
        self.parts_sent = 0  # of a long message: those the next try starts after


class _NotYet(TelegramError):
    """An edit whose original message is not sent yet: try again shortly."""

    def __init__(self) -> None:
        super().__init__("original message not sent yet")
