"""A fake Telegram Bot API server on loopback, for tests and benchmarks.

It speaks enough of https://core.telegram.org/bots/api for python-telegram-bot to run a
bot against it: long polling, sending and editing messages, callback answers, the bot's
command lists per scope and language (checked as Telegram checks them, and resolved as its
clients do: ``visible_commands``), error injection. Every call (except ``getUpdates``) is
recorded as a :class:`Call`.

Updates are held for ``getUpdates``; after :meth:`FakeBotAPI.deliver_webhook` they are POSTed
to the bot's webhook instead, over several connections at once, as Telegram does.

Import it by path (``sys.path`` insert of ``tests/fakes``) or run it standalone::

    python tests/fakes/bot_api.py --port 8081
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import functools
import itertools
import json
import re
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

__all__ = ["Call", "FakeBotAPI"]

JSON = dict[str, Any]

# Telegram's webhook header carrying setWebhook's secret_token, and its default number of
# simultaneous webhook connections (setWebhook's max_connections).
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_CONNECTIONS = 40

# Update types Telegram sends only when allowed_updates names them.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# Parameters whose form-encoded value is JSON (PTB json.dumps every non-str value).
_JSON_KEYS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "media",
        "results",
        "options",
        "permissions",
        "message_ids",
        "explanation_entities",
        "menu_button",
        "reaction",
        "suggested_post_parameters",
    }
)
_INT_KEYS = frozenset(
    {
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "max_connections",
        "duration",
        "width",
        "height",
        "until_date",
    }
)
# ``*_id`` parameters that are opaque strings in the Bot API, never ints.
_STR_ID_KEYS = frozenset(
    {
        "callback_query_id",
        "inline_message_id",
        "inline_query_id",
        "file_id",
        "custom_emoji_id",
        "business_connection_id",
        "web_app_query_id",
        "shipping_query_id",
        "pre_checkout_query_id",
        "message_effect_id",
        "gift_id",
    }
)
_BOOL_PREFIXES = ("disable_", "protect_", "show_", "is_", "drop_", "allow_", "has_", "can_")

# Canonical spelling of each supported method; Telegram matches names case-insensitively.
_METHODS = (
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "deleteMyCommands",
    "getMyCommands",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "sendChatAction",
    "getChat",
    "sendPhoto",
    "sendDocument",
    "sendVoice",
    "sendVideo",
    "copyMessage",
    "deleteMessage",
)
_CANONICAL = {name.lower(): name for name in _METHODS}


@dataclass(slots=True)
class Call:
    """One recorded Bot API call."""

    index: int
    method: str
    params: dict[str, Any]
    chat_id: int | None
    at: float
    message_id: int | None = None  # id of the message a send*/copy/edit returned
    error: int | None = None  # HTTP status when the call was failed by ``fail_next``
    result: Any = None

    @property
    def text(self) -> str | None:
        """The ``text`` (or ``caption``) parameter, if any."""
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None

    def buttons(self) -> list[tuple[str, str | None]]:
        """``(text, callback_data)`` of every inline button in ``reply_markup``."""
        markup = self.params.get("reply_markup")
        if not isinstance(markup, dict):
            return []
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        out: list[tuple[str, str | None]] = []
        for row in rows:
            for button in row:
                if isinstance(button, dict):
                    out.append((str(button.get("text", "")), button.get("callback_data")))
                else:
                    out.append((str(button), None))
        return out


@dataclass(slots=True)
class _Failure:
    method: str
    chat_id: int | None
    status: int
    retry_after: int | None
    description: str
    times: int
    migrate_to_chat_id: int | None = None
    body: bytes | None = None  # answered as is instead of Bot API JSON
    content_type: str = "text/html"
    reset: bool = False  # close the connection (RST) without an answer
    delay: float = 0.0  # seconds before answering (a client's read timeout runs out)
    skip: int = 0  # matching calls to let through before failing


@dataclass(slots=True)
class _Waiter:
    predicate: Callable[[Call], bool]
    after: int
    chat_id: int | None
    future: asyncio.Future[Call] = field(repr=False)


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _default_description(status: int, retry_after: int | None) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    if status == 403:
        return "Forbidden: bot was blocked by the user"
    if status == 400:
        return "Bad Request: chat not found"
    if status == 401:
        return "Unauthorized"
    if status == 404:
        return "Not Found"
    return f"Internal Server Error ({status})"


def _decode_value(key: str, value: Any) -> Any:
    """Turn one form value back into the Python object PTB encoded."""
    if not isinstance(value, str):
        return value
    if key in _JSON_KEYS or key.endswith("_entities"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if (key.endswith("_id") and key not in _STR_ID_KEYS) or key in _INT_KEYS:
        try:
            return int(value)
        except ValueError:
            try:
                return float(value) if key == "timeout" else value
            except ValueError:
                return value
    if value in ("true", "false") and key.startswith(_BOOL_PREFIXES):
        return value == "true"
    return value


class FakeBotAPI:
    """An in-process aiohttp server imitating ``api.telegram.org`` for one bot token."""

    def __init__(self, *, token: str = "123456:TEST", strict_edits: bool = False) -> None:
        """Create the fake; ``strict_edits`` makes edits of unknown/unchanged messages fail."""
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123456
        self.bot_username = "hutong_test_bot"
        self.bot_first_name = "Hutong Test"
        self.language_code = "zh-hans"
        self.strict_edits = strict_edits
        self.base_url = ""
        self.calls: list[Call] = []
        self.get_updates_calls = 0
        self.active_polls = 0  # getUpdates requests currently parked in a long poll
        self.webhook_url = ""
        self.webhook_secret: str | None = None  # setWebhook's secret_token
        self.webhook_max_connections = WEBHOOK_CONNECTIONS
        # Webhook delivery (deliver_webhook): POSTs made, and those answered other than 2xx
        # or failed on the connection (the update is posted again after webhook_retry_delay).
        self.webhook_posts = 0
        self.webhook_failures = 0
        self.webhook_retry_delay = 0.5
        # POSTs made to each deliver_webhook target (each answered or not).
        self.webhook_posts_to: Counter[str] = Counter()
        # setMyCommands' lists by scope and language (deleteMyCommands removes one): the key
        # is (scope type, chat_id, user_id, language_code or ""), as ``command_key`` makes.
        self.command_lists: dict[CommandKey, list[JSON]] = {}
        # getUpdates' allowed_updates, kept until a request gives another (as Telegram does);
        # an update of a type not allowed is dropped, never delivered.
        self.allowed_updates: list[str] = []
        # A user's Telegram name (first, last) by user id; others are "User<id>".
        self.user_names: dict[int, tuple[str, str | None]] = {}

        self._calls_by_chat: dict[int, list[Call]] = {}
        # wait_for() waiters keyed by chat_id (None: any chat), so a call checks only its own.
        self._waiters: dict[int | None, list[_Waiter]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._pending: deque[JSON] = deque()
        self._next_update_id = 1
        self._update_lock = threading.Lock()
        self._updates_event = asyncio.Event()
        self._poll_event = asyncio.Event()
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._closing = False
        self._closing_event = asyncio.Event()
        self._webhook_targets: list[str] | None = None  # set by deliver_webhook
        self._webhook_turn = itertools.count()  # round robin over the targets
        self._webhook_queue: asyncio.Queue[JSON] | None = None
        self._webhook_set = asyncio.Event()
        self._webhook_tasks: list[asyncio.Task[None]] = []
        self._webhook_http: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[JSON], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._true,
            "sendChatAction": self._true,
            "getChat": self._get_chat,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVoice": self._send_file("voice"),
            "sendVideo": self._send_file("video"),
            "copyMessage": self._copy_message,
            "deleteMessage": self._delete_message,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Bind and serve; return the base URL (``http://host:port``) with the real port."""
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._closing_event = asyncio.Event()
        self._updates_event = asyncio.Event()  # fresh: events bind to the first loop using them
        self._poll_event = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, backlog=1024, reuse_address=True)
        await site.start()
        addresses = self._runner.addresses
        bound_port = int(addresses[0][1]) if addresses else port
        self.base_url = f"http://{host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        """Release pending long polls, stop webhook delivery and shut the server down."""
        self._closing = True
        self._closing_event.set()
        self._wake_pollers()
        for task in self._webhook_tasks:
            task.cancel()
        await asyncio.gather(*self._webhook_tasks, return_exceptions=True)
        self._webhook_tasks.clear()
        if self._webhook_http is not None:
            await self._webhook_http.close()
            self._webhook_http = None
        self._webhook_targets = None
        self._webhook_queue = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.future.done():
                    waiter.future.set_exception(ConnectionError("FakeBotAPI was stopped"))
        self._waiters.clear()

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def bot_url(self) -> str:
        """The ``base_url`` to give ``telegram.Bot`` (the token is appended by PTB)."""
        return f"{self.base_url}/bot"

    # ------------------------------------------------------------------ webhook delivery

    def deliver_webhook(
        self, target: str | Sequence[str] | None = None, *, timeout: float = 60.0
    ) -> None:
        """From now on POST every pushed update to the bot's webhook instead of holding it
        for ``getUpdates``, as Telegram does once a webhook is set: JSON body, setWebhook's
        ``secret_token`` in the ``X-Telegram-Bot-Api-Secret-Token`` header, up to its
        ``max_connections`` (40) requests at once, an update posted again after
        ``webhook_retry_delay`` until the bot answers 2xx. Nothing is posted before the bot
        calls setWebhook. ``target``: where to post instead of the registered URL (the bot
        registers an https URL; on loopback it listens on plain http). Several targets: the
        processes behind one webhook URL, as behind a load balancer; every post (a repeat
        too) goes to the next one in turn, so one chat's updates reach them all.
        Call after start()."""
        if self._webhook_targets is not None:
            raise RuntimeError("webhook delivery is already on")
        targets = [target] if isinstance(target, str) else list(target or ())
        self._webhook_targets = [t for t in targets if t]
        self._webhook_queue = asyncio.Queue()
        self._webhook_set = asyncio.Event()
        if self.webhook_url:
            self._webhook_set.set()
        # Updates pushed before: delivered too, oldest first.
        with self._update_lock:
            held, self._pending = list(self._pending), deque()
        for update in held:
            self._webhook_queue.put_nowait(update)
        self._webhook_http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout),
            connector=aiohttp.TCPConnector(limit=0),
        )
        self._webhook_tasks = [
            asyncio.create_task(self._webhook_worker(), name="fake-webhook-starter")
        ]

    @property
    def webhook_pending(self) -> int:
        """Updates queued for the webhook and not yet posted."""
        return self._webhook_queue.qsize() if self._webhook_queue is not None else 0

    async def _webhook_worker(self) -> None:
        """The first worker waits for setWebhook, then starts one per allowed connection."""
        await self._webhook_set.wait()
        more = [
            asyncio.create_task(self._post_updates(), name=f"fake-webhook-{i}")
            for i in range(1, max(1, self.webhook_max_connections))
        ]
        self._webhook_tasks.extend(more)
        await self._post_updates()

    async def _post_updates(self) -> None:
        queue, http = self._webhook_queue, self._webhook_http
        assert queue is not None and http is not None
        while True:
            update = await queue.get()
            if not self._wanted(update):
                continue
            body = json.dumps(update, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json"}
            if self.webhook_secret:
                headers[SECRET_HEADER] = self.webhook_secret
            while True:
                self.webhook_posts += 1
                try:
                    url = self._next_webhook_target()
                    async with http.post(url, data=body, headers=headers) as response:
                        await response.read()
                        if 200 <= response.status < 300:
                            break
                except (aiohttp.ClientError, OSError, TimeoutError):
                    pass
                self.webhook_failures += 1
                await asyncio.sleep(self.webhook_retry_delay)

    def _next_webhook_target(self) -> str:
        targets = self._webhook_targets
        if not targets:
            return self.webhook_url
        url = targets[next(self._webhook_turn) % len(targets)]
        self.webhook_posts_to[url] += 1
        return url

    # ------------------------------------------------------------------ pushing updates

    def push_text(self, chat_id: int, text: str, *, user_id: int | None = None) -> int:
        """Queue a text message from the user; ``/cmd`` gets a ``bot_command`` entity."""
        message = self._user_message(chat_id, user_id)
        message["text"] = text
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self._enqueue({"message": message})

    def push_callback(
        self, chat_id: int, data: str, *, message_id: int, user_id: int | None = None
    ) -> int:
        """Queue a button press on the bot's message ``message_id`` in ``chat_id``."""
        message = self._messages.get((chat_id, message_id))
        if message is None:
            message = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat(chat_id),
                "from": self._bot_user(),
                "text": "",
            }
            self._messages[(chat_id, message_id)] = message
        query = {
            "id": f"{self.bot_id}{next(self._callback_ids):08d}",
            "from": self._user(chat_id, user_id),
            "message": json.loads(json.dumps(message)),
            "chat_instance": str(abs(chat_id * 7919 + self.bot_id)),
            "data": data,
        }
        return self._enqueue({"callback_query": query})

    def push_photo(
        self, chat_id: int, *, caption: str | None = None, user_id: int | None = None
    ) -> int:
        """Queue a photo (three sizes) with an optional caption."""
        message = self._user_message(chat_id, user_id)
        message["photo"] = self._photo_sizes()
        if caption is not None:
            message["caption"] = caption
        return self._enqueue({"message": message})

    def push_contact(self, chat_id: int, phone: str, *, user_id: int | None = None) -> int:
        """Queue a shared contact whose ``user_id`` is the sender."""
        message = self._user_message(chat_id, user_id)
        sender = message["from"]
        message["contact"] = {
            "phone_number": phone,
            "first_name": sender["first_name"],
            "user_id": sender["id"],
        }
        return self._enqueue({"message": message})

    def push_sticker(self, chat_id: int, *, user_id: int | None = None) -> int:
        """Queue a sticker message."""
        return self._push_file(
            chat_id,
            user_id,
            "sticker",
            "CAACAgIAAxkBAA",
            type="regular",
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
            emoji="👍",
            file_size=24_000,
        )

    def push_voice(self, chat_id: int, *, user_id: int | None = None) -> int:
        """Queue a voice note."""
        return self._push_file(
            chat_id,
            user_id,
            "voice",
            "AwACAgUAAxkBAA",
            duration=3,
            mime_type="audio/ogg",
            file_size=12_000,
        )

    def _push_file(
        self, chat_id: int, user_id: int | None, field: str, id_prefix: str, **fields: Any
    ) -> int:
        """Queue a message carrying one file under ``field`` (a sticker, a voice note): fresh
        file ids, then ``fields``."""
        message = self._user_message(chat_id, user_id)
        file_id, unique_id = self._file_id(id_prefix)
        message[field] = {"file_id": file_id, "file_unique_id": unique_id, **fields}
        return self._enqueue({"message": message})

    def push_raw(self, update: dict[str, Any]) -> int:
        """Queue an arbitrary update dict; ``update_id`` is assigned if missing."""
        return self._enqueue(dict(update))

    def push_bot_membership(self, chat_id: int, status: str, *, user_id: int = 1_000_000) -> int:
        """Queue a ``my_chat_member`` update: the bot's own status in ``chat_id`` became
        ``status`` (member, left, kicked), changed by ``user_id``."""
        bot = self._bot_user()
        new: JSON = {"user": bot, "status": status}
        if status == "kicked":
            new["until_date"] = 0
        old_status = "left" if status == "member" else "member"
        return self._enqueue(
            {
                "my_chat_member": {
                    "chat": self._chat(chat_id),
                    "from": self._user(chat_id, user_id),
                    "date": int(time.time()),
                    "old_chat_member": {"user": bot, "status": old_status},
                    "new_chat_member": new,
                }
            }
        )

    @property
    def pending_updates(self) -> int:
        """Number of updates not yet confirmed by a ``getUpdates`` offset."""
        return len(self._pending)

    def take_pending(self) -> list[JSON]:
        """Hand over every queued update at once, as Telegram does to a webhook (the caller
        delivers them); they are no longer offered to ``getUpdates``."""
        with self._update_lock:
            taken, self._pending = list(self._pending), deque()
        return taken

    # ------------------------------------------------------------------ inspecting calls

    async def wait_for(
        self,
        predicate: Callable[[Call], bool],
        *,
        after: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the fake's public API
        chat_id: int | None = None,
    ) -> Call:
        """Return the first call with ``index >= after`` (in ``chat_id``, if given) matching."""
        for call in self._scan(after, chat_id):
            if predicate(call):
                return call
        future: asyncio.Future[Call] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(predicate, after, chat_id, future)
        self._waiters.setdefault(chat_id, []).append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(self._timeout_message(after, chat_id, timeout)) from None
        finally:
            waiters = self._waiters.get(chat_id)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiters[chat_id]

    async def wait_for_poll(self, *, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return once some ``getUpdates`` request is parked in a long poll."""
        async with asyncio.timeout(timeout):
            while self.active_polls == 0:
                await self._poll_event.wait()

    def calls_for(self, chat_id: int, method: str | None = None) -> list[Call]:
        """Recorded calls addressed to ``chat_id``, optionally of one method."""
        calls = self._calls_by_chat.get(chat_id, [])
        if method is None:
            return list(calls)
        return [c for c in calls if c.method == method]

    @property
    def commands(self) -> list[JSON]:
        """The default scope's list without a language (what getMyCommands() answers)."""
        return list(self.command_lists.get(command_key("default"), []))

    def commands_in(
        self, scope: str, *, chat_id: int | None = None, language_code: str = ""
    ) -> list[tuple[str, str]] | None:
        """One scope's list as (command, description) pairs, or None when none is set."""
        found = self.command_lists.get(command_key(scope, chat_id, None, language_code))
        return None if found is None else [(c["command"], c["description"]) for c in found]

    def visible_commands(
        self, chat_id: int, *, user_id: int | None = None, language_code: str | None = None
    ) -> list[str]:
        """The commands a person sees in the menu of ``chat_id`` (a private chat: a positive
        id; a group: negative), by Telegram's rule: the first list set of the scopes from the
        narrowest (the chat, the member) to the default, each with the person's language
        (its two-letter code) before without. Administrators' scopes are not modelled."""
        language = (language_code or "")[:2].lower()
        chain: list[tuple[str, int | None, int | None]]
        if chat_id > 0:
            chain = [("chat", chat_id, None), ("all_private_chats", None, None)]
        else:
            chain = [("chat_member", chat_id, user_id), ("chat", chat_id, None)]
            chain.append(("all_group_chats", None, None))
        chain.append(("default", None, None))
        for scope, chat, user in chain:
            for lang in ([language] if language else []) + [""]:
                found = self.command_lists.get(command_key(scope, chat, user, lang))
                if found is not None:
                    return [c["command"] for c in found]
        return []

    def messages_in(self, chat_id: int) -> list[JSON]:
        """Current state of every message the fake knows in ``chat_id`` (sent or pushed)."""
        last = self._next_message_id.get(chat_id, 1)
        found = (self._messages.get((chat_id, i)) for i in range(1, last))
        return [m for m in found if m is not None]

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """Current state of one message (after edits), or ``None``."""
        return self._messages.get((chat_id, message_id))

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        status: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
        migrate_to_chat_id: int | None = None,
        body: str | bytes | None = None,
        content_type: str = "text/html",
        reset: bool = False,
        delay: float = 0.0,
        skip: int = 0,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id``, if given) fail, after
        letting ``skip`` of them through; ``migrate_to_chat_id`` answers as for a group that
        became a supergroup.

        What a proxy or a broken gateway in front of the Bot API does: ``body`` answers that
        raw body (e.g. an HTML page) with ``status`` (200 too) and ``content_type`` instead
        of Bot API JSON; ``reset`` closes the connection without an answer; ``delay`` holds
        the answer that many seconds (``stop`` releases it), so a client times out.
        """
        canonical = _CANONICAL.get(method.lower(), method)
        raw = body.encode() if isinstance(body, str) else body
        self._failures.setdefault(canonical, []).append(
            _Failure(
                method=canonical,
                chat_id=chat_id,
                status=status,
                retry_after=retry_after,
                description=description or _default_description(status, retry_after),
                times=times,
                migrate_to_chat_id=migrate_to_chat_id,
                body=raw,
                content_type=content_type,
                reset=reset,
                delay=delay,
                skip=skip,
            )
        )

    # ------------------------------------------------------------------ HTTP dispatch

    async def _dispatch(self, request: web.Request) -> web.Response:
        path = request.path
        if path.startswith("/_fake/"):
            return await self._control(request)
        if not path.startswith("/bot") or path.count("/") != 2:
            return _error(404, "Not Found")
        token, _, raw_method = path[4:].partition("/")
        if token != self.token:
            return _error(401, "Unauthorized")
        try:
            params = await _read_params(request)
        except ValueError as exc:
            return _error(400, f"Bad Request: {exc}")
        method = _CANONICAL.get(raw_method.lower())
        if method is None:  # recorded too, so a test can see what the bot tried
            call = self._record(raw_method, params)
            call.error = 404
            self._notify(call)
            return _error(404, "Not Found: method not found")

        if method == "getUpdates":  # not recorded in ``calls``: polling is noisy
            self.get_updates_calls += 1
            failure = self._take_failure(method, None)
            if failure is not None:
                return await self._fail(request, failure)
            return _ok(await self._get_updates(params))

        call = self._record(method, params)
        failure = self._take_failure(method, call.chat_id)
        if failure is not None:
            call.error = failure.status
            self._notify(call)
            return await self._fail(request, failure)
        try:
            result = await self._handlers[method](params)
        except _ApiError as exc:
            call.error = exc.status
            self._notify(call)
            return _error(exc.status, exc.description, exc.parameters)
        call.result = result
        if isinstance(result, dict) and isinstance(result.get("message_id"), int):
            call.message_id = result["message_id"]
        self._notify(call)
        return _ok(result)

    async def _fail(self, request: web.Request, failure: _Failure) -> web.Response:
        if failure.delay > 0:
            closing = self._closing_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing.wait(), failure.delay)
        if failure.reset:
            transport = request.transport
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is not None:  # linger 0: the peer sees a reset, not an orderly close
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if transport is not None:
                transport.abort()
            return web.Response()  # never reaches the client
        if failure.body is not None:
            return web.Response(
                body=failure.body,
                status=failure.status,
                headers={"Content-Type": failure.content_type},
            )
        return _failure_response(failure)

    async def _control(self, request: web.Request) -> web.Response:
        """Tiny JSON control API for standalone use (push updates, read calls)."""
        kind = request.path.removeprefix("/_fake/")
        if kind == "calls":
            after = int(request.query.get("after", "0"))
            chat = request.query.get("chat_id")
            calls = self._scan(after, int(chat) if chat else None)
            return _ok([_call_json(c) for c in calls])
        pushers: dict[str, Callable[..., int]] = {
            "push/text": self.push_text,
            "push/callback": self.push_callback,
            "push/photo": self.push_photo,
            "push/contact": self.push_contact,
            "push/sticker": self.push_sticker,
            "push/voice": self.push_voice,
        }
        try:
            body = await request.json() if request.can_read_body else {}
            if kind == "push/raw":
                return _ok(self.push_raw(body))
            if kind not in pushers:
                return _error(404, "Not Found: unknown control endpoint")
            return _ok(pushers[kind](**body))
        except (TypeError, ValueError) as exc:
            return _error(400, f"Bad Request: {exc}")

    def _record(self, method: str, params: JSON) -> Call:
        raw_chat = params.get("chat_id")
        scope = params.get("scope")
        if raw_chat is None and isinstance(scope, dict):  # a command list for one chat
            raw_chat = scope.get("chat_id")
        chat_id = raw_chat if isinstance(raw_chat, int) else None
        call = Call(len(self.calls), method, params, chat_id, time.monotonic())
        self.calls.append(call)
        if chat_id is not None:
            self._calls_by_chat.setdefault(chat_id, []).append(call)
        return call

    def _notify(self, call: Call) -> None:
        """Resolve waiters matching ``call`` (done once the response is known)."""
        if not self._waiters:
            return
        candidates = list(self._waiters.get(None, ()))
        if call.chat_id is not None:
            candidates.extend(self._waiters.get(call.chat_id, ()))
        for waiter in candidates:
            if waiter.future.done() or call.index < waiter.after:
                continue
            try:
                matched = waiter.predicate(call)
            except Exception as exc:  # surface predicate bugs in the waiting test
                waiter.future.set_exception(exc)
                continue
            if matched:
                waiter.future.set_result(call)

    def _take_failure(self, method: str, chat_id: int | None) -> _Failure | None:
        rules = self._failures.get(method)
        if not rules:
            return None
        for rule in rules:
            if rule.chat_id is None or rule.chat_id == chat_id:
                if rule.skip > 0:
                    rule.skip -= 1
                    return None
                rule.times -= 1
                if rule.times <= 0:
                    rules.remove(rule)
                return rule
        return None

    def _scan(self, after: int, chat_id: int | None) -> list[Call]:
        if chat_id is None:
            return self.calls[after:]
        calls = self._calls_by_chat.get(chat_id, [])
        return calls[bisect.bisect_left(calls, after, key=lambda c: c.index) :]

    def _timeout_message(self, after: int, chat_id: int | None, timeout: float) -> str:
        recent = self._scan(after, chat_id)[-15:]
        where = f" in chat {chat_id}" if chat_id is not None else ""
        lines = [
            f"no matching Bot API call{where} with index >= {after} within {timeout}s "
            f"({len(self.calls)} calls recorded, {len(recent)} shown):"
        ]
        for c in recent:
            text = c.text
            shown = f" text={text[:60]!r}" if text is not None else ""
            buttons = [b[0] for b in c.buttons()]
            extra = f" buttons={buttons}" if buttons else ""
            err = f" error={c.error}" if c.error else ""
            lines.append(f"  #{c.index} {c.method} chat={c.chat_id}{shown}{extra}{err}")
        if not recent:
            lines.append("  (none)")
        return "\n".join(lines)

    # ------------------------------------------------------------------ getUpdates

    async def _get_updates(self, params: JSON) -> list[JSON]:
        offset = params.get("offset")
        limit = params.get("limit")
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout") or 0
        timeout = float(timeout) if isinstance(timeout, int | float) else 0.0
        if isinstance(params.get("allowed_updates"), list):
            self.allowed_updates = [str(kind) for kind in params["allowed_updates"]]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if isinstance(offset, int):
                self._confirm(offset)
            self._drop_unwanted()
            batch = list(itertools.islice(self._pending, limit))
            if batch or self._closing:
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            event = self._updates_event
            self.active_polls += 1
            poll_event, self._poll_event = self._poll_event, asyncio.Event()
            poll_event.set()
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return []
            finally:
                self.active_polls -= 1

    def _confirm(self, offset: int) -> None:
        pending = self._pending
        if offset < 0:
            while len(pending) > -offset:
                pending.popleft()
            return
        while pending and pending[0]["update_id"] < offset:
            pending.popleft()

    def _wanted(self, update: JSON) -> bool:
        """Whether the bot asked for this type of update (allowed_updates); nothing asked
        (an empty list) means every type but the opt-in ones."""
        kind = next((k for k in update if k != "update_id"), "")
        allowed = self.allowed_updates
        return kind in allowed if allowed else kind not in _OPT_IN_UPDATES

    def _drop_unwanted(self) -> None:
        """Drop pending updates of a type the bot did not ask for: Telegram never sends them."""
        with self._update_lock:
            if not all(self._wanted(u) for u in self._pending):
                self._pending = deque(u for u in self._pending if self._wanted(u))

    def _enqueue(self, update: JSON) -> int:
        with self._update_lock:
            update_id = update.get("update_id")
            if not isinstance(update_id, int):
                update_id = self._next_update_id
                update = {"update_id": update_id, **update}
            self._next_update_id = max(self._next_update_id, update_id + 1)
            queue = self._webhook_queue
            pending = self._pending
            if queue is not None:
                pass  # posted to the webhook, never held for getUpdates
            elif not pending or pending[-1]["update_id"] < update_id:
                pending.append(update)
            else:
                pos = next(i for i, u in enumerate(pending) if u["update_id"] > update_id)
                pending.insert(pos, update)
        loop = self._loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        wake = self._wake_pollers if queue is None else functools.partial(queue.put_nowait, update)
        if loop is not None and running is not loop and loop.is_running():
            loop.call_soon_threadsafe(wake)
        else:
            wake()
        return update_id

    def _wake_pollers(self) -> None:
        event, self._updates_event = self._updates_event, asyncio.Event()
        event.set()

    # ------------------------------------------------------------------ object builders

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _user(self, chat_id: int, user_id: int | None = None) -> JSON:
        uid = user_id if user_id is not None else (chat_id if chat_id > 0 else 1_000_000)
        return {
            "id": uid,
            "is_bot": False,
            **self._names(uid),
            "language_code": self.language_code,
        }

    def _names(self, user_id: int) -> JSON:
        first, last = self.user_names.get(user_id, (f"User{user_id}", None))
        return {"first_name": first, **({"last_name": last} if last is not None else {})}

    def _chat(self, chat_id: int) -> JSON:
        if chat_id < 0:
            return {"id": chat_id, "type": "group", "title": f"Group {-chat_id}"}
        return {"id": chat_id, "type": "private", **self._names(chat_id)}

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _user_message(self, chat_id: int, user_id: int | None) -> JSON:
        message_id = self._new_message_id(chat_id)
        message: JSON = {
            "message_id": message_id,
            "from": self._user(chat_id, user_id),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
        }
        self._messages[(chat_id, message_id)] = message
        return message

    def _bot_message(self, params: JSON) -> JSON:
        chat_id = _require_chat(params)
        message: JSON = {
            "message_id": self._new_message_id(chat_id),
            "from": self._bot_user(),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
        }
        _apply_markup(message, params.get("reply_markup"))
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _file_id(self, prefix: str) -> tuple[str, str]:
        n = next(self._file_ids)
        return f"{prefix}{self.bot_id:x}{n:010d}", f"AQAD{n:08d}"

    def _photo_sizes(self) -> list[JSON]:
        sizes = []
        for width, height, size in ((90, 67, 1_200), (320, 240, 15_000), (1280, 960, 120_000)):
            file_id, unique_id = self._file_id("AgACAgUAAxkBAA")
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique_id,
                    "width": width,
                    "height": height,
                    "file_size": size,
                }
            )
        return sizes

    # ------------------------------------------------------------------ method handlers

    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _delete_webhook(self, params: JSON) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
        return True

    async def _set_webhook(self, params: JSON) -> bool:
        self.webhook_url = str(params.get("url", ""))
        secret = params.get("secret_token")
        self.webhook_secret = str(secret) if secret else None
        connections = params.get("max_connections")
        self.webhook_max_connections = (
            min(max(connections, 1), 100) if isinstance(connections, int) else WEBHOOK_CONNECTIONS
        )
        if isinstance(params.get("allowed_updates"), list):
            self.allowed_updates = [str(kind) for kind in params["allowed_updates"]]
        if self.webhook_url:
            self._webhook_set.set()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending) + self.webhook_pending,
        }

    async def _set_my_commands(self, params: JSON) -> bool:
        key = _command_key(params)
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _ApiError(400, "Bad Request: commands must be a list of at most 100")
        for command in commands:
            if not (
                isinstance(command, dict)
                and isinstance(command.get("command"), str)
                and _COMMAND_NAME.fullmatch(command["command"])
                and isinstance(command.get("description"), str)
                and 1 <= len(command["description"].strip()) <= 256
            ):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        if commands:
            self.command_lists[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:  # an empty list is no list: the scope falls back as if deleted
            self.command_lists.pop(key, None)
        return True

    async def _delete_my_commands(self, params: JSON) -> bool:
        self.command_lists.pop(_command_key(params), None)
        return True

    async def _get_my_commands(self, params: JSON) -> list[Any]:
        return list(self.command_lists.get(_command_key(params), []))

    async def _send_message(self, params: JSON) -> JSON:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        message = self._bot_message(params)
        message["text"] = text
        if isinstance(params.get("entities"), list):
            message["entities"] = params["entities"]
        return message

    async def _send_photo(self, params: JSON) -> JSON:
        message = self._bot_message(params)
        message["photo"] = self._photo_sizes()
        if isinstance(params.get("caption"), str):
            message["caption"] = params["caption"]
        return message

    async def _send_document(self, params: JSON) -> JSON:
        message = self._bot_message(params)
        file_id, unique_id = self._file_id("BQACAgUAAxkBAA")
        document = params.get("document")
        name = document.get("filename") if isinstance(document, dict) else None
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_name": name or "document",
        }
        if isinstance(params.get("caption"), str):
            message["caption"] = params["caption"]
        return message

    def _send_file(self, kind: str) -> Any:
        """sendVoice / sendVideo by a file id the bot already holds: the message carries that
        file (the same id, as Telegram gives for a file sent again by its id)."""

        async def handler(params: JSON) -> JSON:
            message = self._bot_message(params)
            ref = params.get(kind)
            if not isinstance(ref, str) or not ref:
                raise _ApiError(400, f"Bad Request: there is no {kind} in the request")
            message[kind] = {"file_id": ref, "file_unique_id": ref[-8:]}
            if isinstance(params.get("caption"), str):
                message["caption"] = params["caption"]
            return message

        return handler

    async def _copy_message(self, params: JSON) -> JSON:
        source_chat = params.get("from_chat_id")
        source_id = params.get("message_id")
        source = (
            self._messages.get((source_chat, source_id))
            if isinstance(source_chat, int) and isinstance(source_id, int)
            else None
        )
        message = self._bot_message(params)
        if source is not None:
            for key in ("text", "entities", "photo", "caption", "voice", "sticker", "contact"):
                if key in source:
                    message[key] = source[key]
        if isinstance(params.get("caption"), str):
            message["caption"] = params["caption"]
        return {"message_id": message["message_id"]}  # Bot API returns a MessageId

    async def _delete_message(self, params: JSON) -> bool:
        chat_id = _require_chat(params)
        message_id = params.get("message_id")
        found = (
            self._messages.pop((chat_id, message_id), None) if isinstance(message_id, int) else None
        )
        if found is None and self.strict_edits:
            raise _ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _get_chat(self, params: JSON) -> JSON:
        chat_id = _require_chat(params)
        return {
            **self._chat(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def _message_to_edit(self, params: JSON) -> JSON | None:
        """The stored message an edit targets, or ``None`` for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat_id = _require_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            if self.strict_edits:
                raise _ApiError(400, "Bad Request: message to edit not found")
            message = {
                "message_id": message_id,
                "from": self._bot_user(),
                "chat": self._chat(chat_id),
                "date": int(time.time()),
            }
            self._messages[(chat_id, message_id)] = message
        return message

    async def _edit_message_text(self, params: JSON) -> JSON | bool:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: text must be non-empty")
        message = self._message_to_edit(params)
        if message is None:
            return True
        markup = params.get("reply_markup")
        if (
            self.strict_edits
            and message.get("text") == text
            and message.get("reply_markup") == _inline_markup(markup)
        ):
            raise _ApiError(400, "Bad Request: message is not modified")
        message["text"] = text
        message.pop("entities", None)
        if isinstance(params.get("entities"), list):
            message["entities"] = params["entities"]
        _apply_markup(message, markup)
        message["edit_date"] = int(time.time())
        return dict(message)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON | bool:
        message = self._message_to_edit(params)
        if message is None:
            return True
        markup = params.get("reply_markup")
        if self.strict_edits and message.get("reply_markup") == _inline_markup(markup):
            raise _ApiError(400, "Bad Request: message is not modified")
        _apply_markup(message, markup)
        message["edit_date"] = int(time.time())
        return dict(message)


# ---------------------------------------------------------------------- helpers


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _inline_markup(markup: Any) -> JSON | None:
    """Only inline keyboards are echoed back inside a Message (as on real Telegram)."""
    if isinstance(markup, dict) and isinstance(markup.get("inline_keyboard"), list):
        return markup
    return None


def _apply_markup(message: JSON, markup: Any) -> None:
    inline = _inline_markup(markup)
    if inline is not None and inline["inline_keyboard"]:
        message["reply_markup"] = inline
    else:
        message.pop("reply_markup", None)


_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SCOPES = (
    "default",
    "all_private_chats",
    "all_group_chats",
    "all_chat_administrators",
    "chat",
    "chat_administrators",
    "chat_member",
)
CommandKey = tuple[str, int | None, int | None, str]


def command_key(
    scope: str, chat_id: int | None = None, user_id: int | None = None, language_code: str = ""
) -> CommandKey:
    return (scope, chat_id, user_id, language_code)


def _command_key(params: JSON) -> CommandKey:
    """The scope and language a *MyCommands call names, checked as Telegram checks them:
    a known scope type, a chat (and a user) where the type needs one, and a language that
    is empty or a two-letter ISO 639-1 code."""
    scope = params.get("scope") or {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
        raise _ApiError(400, "Bad Request: invalid scope")
    kind = str(scope["type"])
    chat_id, user_id = scope.get("chat_id"), scope.get("user_id")
    if kind.startswith("chat") and not isinstance(chat_id, int):
        raise _ApiError(400, "Bad Request: chat not found")
    if kind == "chat_member" and not isinstance(user_id, int):
        raise _ApiError(400, "Bad Request: user not found")
    language = params.get("language_code") or ""
    if not isinstance(language, str) or (language and not re.fullmatch(r"[a-z]{2}", language)):
        raise _ApiError(400, "Bad Request: invalid language code")
    return command_key(
        kind,
        chat_id if kind.startswith("chat") else None,
        user_id if kind == "chat_member" else None,
        language,
    )


def _require_chat(params: JSON) -> int:
    chat_id = params.get("chat_id")
    if isinstance(chat_id, int):
        return chat_id
    raise _ApiError(400, "Bad Request: chat not found")


async def _read_params(request: web.Request) -> JSON:
    """Collect query, form (urlencoded or multipart) and JSON body parameters."""
    params: JSON = {}
    raw: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise ValueError("can't parse JSON body") from exc
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            raw.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    content = value.file.read()
                    raw[key] = {
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "size": len(content),
                    }
                else:
                    raw[key] = value
    for key, value in raw.items():
        params[key] = _decode_value(key, value)
    return params


def _call_json(call: Call) -> JSON:
    return {
        "index": call.index,
        "method": call.method,
        "params": call.params,
        "chat_id": call.chat_id,
        "message_id": call.message_id,
        "error": call.error,
    }


def _failure_response(failure: _Failure) -> web.Response:
    extra: JSON = {}
    if failure.retry_after is not None:
        extra["retry_after"] = failure.retry_after
    if failure.migrate_to_chat_id is not None:
        extra["migrate_to_chat_id"] = failure.migrate_to_chat_id
    return _error(failure.status, failure.description, extra or None)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result}, dumps=_dumps)


def _error(status: int, description: str, parameters: JSON | None = None) -> web.Response:
    body: JSON = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status, dumps=_dumps)


def _dumps(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: sent as its escape, \ud800
            return json.dumps(obj)
    return text


async def _serve_forever(host: str, port: int, token: str) -> None:
    fake = FakeBotAPI(token=token)
    url = await fake.start(host, port)
    print(f"fake Bot API listening on {url} (token {token}; base_url for PTB: {url}/bot)")
    print(
        f'control API: POST {url}/_fake/push/text {{"chat_id": 1, "text": "/start"}}, '
        f"GET {url}/_fake/calls?after=0; Ctrl-C to stop",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone."""
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.host, args.port, args.token))


if __name__ == "__main__":
    main()
