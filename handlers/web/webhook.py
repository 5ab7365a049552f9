"""``POST /telegram/webhook``: the secret checked in constant time, the body validated."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # Telegram's updates are far smaller; anything bigger is not one
UPDATE_ID_MAX = 2**63 - 1  # inbox_update.update_id is a BIGINT


@dataclass(frozen=True, slots=True)
class Webhook:
    secret: str
    # Records and processes one update; True when done (or a duplicate), False on failure.
    # Raises ValueError when the JSON is not an update.
    receive: Callable[[dict[str, Any]], Awaitable[bool]]


WEBHOOK_KEY = web.AppKey("telegram_webhook", Webhook)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


def _is_update_id(value: object) -> bool:
    # JSON true is a Python bool, an int subclass: not an id. Out of the column's range a
    # number would fail the inbox write (a 500, and Telegram would send it again forever).
    return type(value) is int and 0 <= value <= UPDATE_ID_MAX


async def telegram_webhook(request: web.Request) -> web.Response:
    hook = request.app[WEBHOOK_KEY]
    given = request.headers.get(SECRET_HEADER, "")
    # aiohttp keeps undecodable header bytes as surrogates; encode them back, never fail.
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), hook.secret.encode()):
        log.warning("webhook call with a wrong secret from %s", request.remote)
        return _error(401, "wrong or missing secret token")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _error(413, "body too large")
    try:
        # Bytes, not request.json(): a made-up charset in Content-Type must not become a 500.
        payload = json.loads(await request.read())
    except (ValueError, RecursionError):  # nested too deep to be an update, too
        return _error(400, "body is not JSON")
    if not isinstance(payload, dict) or not _is_update_id(payload.get("update_id")):
        return _error(
            400,
            f"not a Telegram update: an object with an integer update_id from 0 to {UPDATE_ID_MAX}",
        )
    try:
        ok = await hook.receive(payload)
    except ValueError as exc:
        return _error(400, f"not a Telegram update: {exc}")
    if not ok:  # answered 500 so Telegram delivers it again
        return _error(500, "processing failed; please retry")
    return web.json_response({"ok": True})
