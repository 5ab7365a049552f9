"""Long polling that records each update in the inbox before confirming it to Telegram.

PTB's own Updater confirms updates (by the next getUpdates offset) as soon as they are
queued in memory, so a crash loses them. Here an update is confirmed only after its inbox
row is committed; a crash before processing leaves a pending row that is replayed on start.

Whatever the Bot API (or a proxy in front of it) answers — an HTML error page with any
status, 401/404, 5xx, a reset connection, a timeout, JSON of the wrong shape — the poller
logs one line (the error's type and the HTTP status, never the body), backs off (capped)
and asks again. A refused token is logged as CRITICAL and retried slowly; nothing here
stops the service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

from bot.tasks import Backoff, pause
from flows.clock import Clock
from flows.conversations import update_failed
from flows.faults import describe
from handlers.metrics import UPDATES_RECEIVED
from handlers.telegram.request import AiohttpRequest
from handlers.telegram.updates import CHANNEL, chat_key_of, raw_chat_key
from storage import inbox
from storage.db import Database

log = logging.getLogger(__name__)

# my_chat_member: the bot was removed from a group, whose station binding then ends.
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]

# The Telegram side's state, as /healthz shows it.
CONNECTING: Final = "connecting"
OK: Final = "ok"
TOKEN_REFUSED: Final = "token refused"
UNREACHABLE: Final = "unreachable"
CONFLICT: Final = "conflict"  # another process polls with this token
WEBHOOK_REFUSED: Final = "webhook refused"

FIRST_BACKOFF: Final = 1.0
MAX_BACKOFF: Final = 30.0
# A refused token does not fix itself: retried slowly, in case the gateway in front of the
# Bot API was what refused it.
REFUSED_FIRST_BACKOFF: Final = 60.0
REFUSED_MAX_BACKOFF: Final = 300.0
TOKEN_HINT: Final = "check HUTONG_TELEGRAM_TOKEN and HUTONG_TELEGRAM_API_URL"

UPDATE_ID_MAX: Final = 2**63 - 1  # the inbox column is a BIGINT

_http_status: ContextVar[int | None] = ContextVar("hutong_http_status", default=None)
_answer: ContextVar[Any] = ContextVar("hutong_answer", default=None)


class StatusRequest(AiohttpRequest):
    """The bot's HTTP client, noting the last answer's HTTP status for the calling task: PTB's
    errors carry the status only inside a message that may quote the whole body."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        _http_status.set(None)
        code, payload = await super().do_request(*args, **kwargs)
        _http_status.set(code)
        return code, payload


class UpdatesRequest(StatusRequest):
    """The getUpdates client, which also keeps the last answer's JSON for the calling task:
    the updates as Telegram sent them, for the inbox."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        _answer.set(None)
        parsed = AiohttpRequest.parse_json_payload(payload)
        _answer.set(parsed)
        return parsed


def last_answer() -> Any:
    """The JSON of the last answer an ``UpdatesRequest`` read in this task."""
    return _answer.get()


def reset_status() -> None:
    """Forget the status noted for this task (before a call whose failure will be logged)."""
    _http_status.set(None)


def last_status() -> int | None:
    """The HTTP status of the last answer a ``StatusRequest`` got in this task."""
    return _http_status.get()


def answer(exc: BaseException, status: int | None) -> str:
    """One log line's account of a failed call: the error type and HTTP status, no body."""
    return f"{type(exc).__name__}, HTTP {status}" if status else f"{type(exc).__name__}, no answer"


def state_of(exc: BaseException) -> str:
    if isinstance(exc, RetryAfter):  # it answered: wait and ask again
        return OK
    if isinstance(exc, InvalidToken):  # PTB raises it for 401 and 404
        return TOKEN_REFUSED
    if isinstance(exc, Conflict):
        return CONFLICT
    return UNREACHABLE


class _Failed(Exception):
    """getUpdates failed: the error PTB raised and the HTTP status of the answer, if any."""

    def __init__(self, cause: Exception, status: int | None) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause
        self.status = status


_Unreadable = tuple[int, dict[str, Any], Exception]  # update_id, raw update, why
_Read = tuple[Update, dict[str, Any]]  # an update, and the JSON it was read from


def _with_raw(updates: Sequence[Update], answer: Any) -> list[_Read]:
    """Each update with its JSON from the answer it was read from, which is what the inbox
    keeps (not PTB's ``to_dict``, a second pass over every object of the update); PTB's
    rendering only when the answer does not line up with the updates."""
    items = answer.get("result") if isinstance(answer, dict) else None
    if (
        isinstance(items, list)
        and len(items) == len(updates)
        and all(
            isinstance(item, dict) and item.get("update_id") == update.update_id
            for item, update in zip(items, updates, strict=True)
        )
    ):
        return list(zip(updates, items, strict=True))
    return [(update, update.to_dict()) for update in updates]


class UnexpectedAnswer(ValueError):
    """A 200 answer whose updates cannot be used (e.g. an update_id that is not a number)."""


class Poller:
    def __init__(
        self,
        *,
        bot: Bot,
        db: Database,
        dispatch: Callable[[Update], Coroutine[Any, Any, None]],
        clock: Clock,
        timeout: int,
        backoff: Backoff | None = None,
        refused_backoff: Backoff | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self.bot = bot
        self.db = db
        # Application.process_update: handlers run in the order of creation of these tasks,
        # and the per-chat lock they take first keeps one chat's updates in order.
        self.dispatch = dispatch
        self.clock = clock
        self.timeout = timeout
        self.backoff = backoff or Backoff(FIRST_BACKOFF, MAX_BACKOFF)
        self.refused_backoff = refused_backoff or Backoff(
            REFUSED_FIRST_BACKOFF, REFUSED_MAX_BACKOFF
        )
        # Seconds to wait for an answer beyond the long poll itself (None: PTB's default).
        self.read_timeout = read_timeout
        # What the last getUpdates answer said (OK, UNREACHABLE, ...); None before the first.
        self.status: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._long_poll: asyncio.Future[Any] | None = None
        self._unreadable = 0  # answers in a row whose JSON PTB could not read
        keep_payloads_out_of_ptb_logs()

    def stop(self) -> None:
        """Stop after the current step; only the idle long poll and a backoff wait are
        interrupted, never the recording of updates (a cancelled database write could leave
        SQLite locked)."""
        self._stopping.set()
        if self._long_poll is not None:
            self._long_poll.cancel()

    def _spawn(self, update: Update) -> None:
        task = asyncio.create_task(self.dispatch(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def replay_pending(self, *, older_than_seconds: float = 0) -> int:
        """Process updates recorded but never finished (a crash, or a failed attempt)."""
        cutoff = self.clock() - timedelta(seconds=older_than_seconds)
        async with self.db.unit() as session:
            rows = await inbox.pending(session, channel=CHANNEL, received_before=cutoff)
            payloads = [(r.update_id, r.payload) for r in rows]
        for update_id, payload in payloads:
            try:
                update = Update.de_json(payload, self.bot)
            except Exception as exc:  # one row that cannot be read must not block the rest
                await self._park([(update_id, payload, exc)])
                continue
            if update is not None:
                await self.dispatch(update)
        return len(payloads)

    async def run(self) -> None:
        # No offset at first: Telegram resends what it holds unconfirmed (the inbox knows a
        # redelivery). An offset from the highest id ever recorded would silently drop
        # everything after Telegram renumbers (it does after a week without updates).
        offset: int | None = None
        await self.replay_pending()
        while not self._stopping.is_set():
            # The same answer unreadable twice: an update PTB cannot parse would block every
            # later one, so the batch is read one update at a time and that one parked.
            fetch = self._salvage(offset) if self._unreadable >= 2 else self._get_updates(offset)
            self._long_poll = asyncio.ensure_future(fetch)
            try:
                updates, unreadable = await self._long_poll
            except asyncio.CancelledError:
                if self._stopping.is_set():
                    return
                raise
            except _Failed as failed:
                await self._failed(failed)
                continue
            finally:
                self._long_poll = None
            self.status = OK
            self.refused_backoff.reset()
            self._unreadable = 0
            if not updates and not unreadable:
                self.backoff.reset()
                continue
            try:
                await self._record(updates)
                await self._park(unreadable)
            except (SQLAlchemyError, OSError) as exc:
                # Not confirmed to Telegram, so fetched again: nothing is lost, and a short
                # database outage does not stop the bot.
                delay = self.backoff.next()
                log.error("recording updates failed (%s); retrying in %.0f s", describe(exc), delay)
                await pause(self._stopping, delay)
                continue
            self.backoff.reset()
            offset = max([u.update_id for u, _ in updates] + [u[0] for u in unreadable]) + 1
            for update, _ in updates:
                self._spawn(update)

    async def _get_updates(self, offset: int | None) -> tuple[list[_Read], list[_Unreadable]]:
        """One getUpdates; any failure comes out as ``_Failed`` with the answer's status.

        Runs as its own task (so ``stop`` can cancel the idle long poll alone); the status
        the request noted is in this task's context, so it is read here.
        """
        reset_status()
        # Not passed at all when unset: PTB reads read_timeout=None as "no extra time".
        extra: dict[str, Any] = (
            {} if self.read_timeout is None else {"read_timeout": self.read_timeout}
        )
        try:
            updates = await self.bot.get_updates(
                offset=offset, timeout=self.timeout, allowed_updates=ALLOWED_UPDATES, **extra
            )
            for update in updates:
                # PTB takes what it is given; an id the inbox cannot hold would fail every
                # recording of this batch, and an offset from it every later poll.
                if type(update.update_id) is not int or not 0 <= update.update_id <= UPDATE_ID_MAX:
                    raise UnexpectedAnswer("update_id is not an integer in range")
        except Exception as exc:  # every kind of answer: see the module docstring
            raise _Failed(exc, last_status()) from None
        return _with_raw(updates, last_answer()), []

    async def _salvage(self, offset: int | None) -> tuple[list[_Read], list[_Unreadable]]:
        """getUpdates without a long poll, read one update at a time: the updates PTB can
        read, and those it cannot (id, raw update, error), to be parked in the inbox."""
        reset_status()
        try:
            # Lower case: Bot API method names are case-insensitive, and PTB warns about
            # do_api_request("getUpdates") in favour of get_updates, which is what fails here.
            raw = await self.bot.do_api_request(
                "getupdates",
                api_kwargs={"offset": offset, "timeout": 0, "allowed_updates": ALLOWED_UPDATES},
            )
            if not isinstance(raw, list):
                raise UnexpectedAnswer("the result is not a list")
            updates: list[_Read] = []
            unreadable: list[_Unreadable] = []
            for item in raw:
                update_id = item.get("update_id") if isinstance(item, dict) else None
                if type(update_id) is not int or not 0 <= update_id <= UPDATE_ID_MAX:
                    raise UnexpectedAnswer("update_id is not an integer in range")
                try:
                    update = Update.de_json(item, self.bot)
                except Exception as exc:
                    unreadable.append((update_id, item, exc))
                    continue
                updates.append((update, item))
        except Exception as exc:
            raise _Failed(exc, last_status()) from None
        return updates, unreadable

    async def _park(self, unreadable: list[_Unreadable]) -> None:
        """Keep updates that cannot be read as failed inbox rows, for the operator, and go
        on with the next; the log names their ids and the error type only."""
        if not unreadable:
            return
        now = self.clock()
        async with self.db.unit() as session:
            for update_id, payload, exc in unreadable:
                chat_key = raw_chat_key(payload) if isinstance(payload, dict) else None
                await inbox.record(
                    session,
                    channel=CHANNEL,
                    update_id=update_id,
                    payload=payload,
                    chat_key=chat_key,
                    now=now,
                )
                parked = await inbox.mark_failed_attempt(
                    session,
                    channel=CHANNEL,
                    update_id=update_id,
                    error=f"cannot be read ({type(exc).__name__})",
                    max_attempts=1,
                    now=now,
                )
                if parked and chat_key is not None:  # the person hears to send it again
                    await update_failed(
                        session=session,
                        channel=CHANNEL,
                        chat_id=chat_key,
                        update_key=f"{update_id}:{now.timestamp():.6f}",
                        now=now,
                    )
        for update_id, _, exc in unreadable:
            log.error(
                "update %d cannot be read (%s); parked in the inbox as failed",
                update_id,
                type(exc).__name__,
            )

    async def _failed(self, failed: _Failed) -> None:
        """Log one line, note the state, and wait before the next attempt."""
        exc, what = failed.cause, answer(failed.cause, failed.status)
        self.status = state_of(exc)
        # A 200 answer that is JSON but not updates PTB can read (not a proxy's page).
        readable_json = failed.status == 200 and not isinstance(exc, TelegramError)
        self._unreadable = self._unreadable + 1 if readable_json else 0
        if isinstance(exc, RetryAfter):
            delay = _seconds(exc.retry_after)
            log.warning("getUpdates: flood control (%s); waiting %.0f s", what, delay)
        elif isinstance(exc, InvalidToken):
            delay = self.refused_backoff.next()
            log.critical(
                "Telegram refused the bot token (%s): %s; retrying in %.0f s",
                what,
                TOKEN_HINT,
                delay,
            )
        else:
            delay = self.backoff.next()
            log.warning("getUpdates failed (%s); retrying in %.0f s", what, delay)
        await pause(self._stopping, delay)

    async def _record(self, updates: list[_Read]) -> None:
        """The batch in one statement, each update as Telegram sent it."""
        now = self.clock()
        async with self.db.unit() as session:
            await inbox.record_many(
                session,
                channel=CHANNEL,
                updates=[(u.update_id, raw, chat_key_of(u)) for u, raw in updates],
                now=now,
            )
        UPDATES_RECEIVED.labels(CHANNEL, "polling").inc(len(updates))

    async def drain(self) -> None:
        """Let updates being processed finish (on shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class _NoPayloads(logging.Filter):
    """PTB logs an answer it cannot read in full: the body of a proxy's error page (which can
    be huge) with a traceback, or — for a batch of updates it cannot parse — what people
    wrote, at CRITICAL. The poller logs its own line for the failure; these become a short
    DEBUG line without the content."""

    _MARKERS = ("Can not load invalid JSON data", "Error while parsing updates")

    def filter(self, record: logging.LogRecord) -> bool:
        if not (isinstance(record.msg, str) and record.msg.startswith(self._MARKERS)):
            return True
        record.msg = "Bot API answer could not be read (%s); its content is not logged"
        record.args = (
            record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else "?",
        )
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_PTB_LOGGERS: Final = ("telegram.request.BaseRequest", "telegram.Bot", "telegram.ext.ExtBot")


def keep_payloads_out_of_ptb_logs() -> None:
    """Install the filter on PTB's loggers that log answers (once)."""
    for name in _PTB_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoPayloads) for f in logger.filters):
            logger.addFilter(_NoPayloads())


def _seconds(value: Any) -> float:
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
