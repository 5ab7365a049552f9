"""The aiohttp application: health now; webhook, REST API and dashboard mount here."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from handlers.web.webhook import MAX_BODY, WEBHOOK_KEY, Webhook, telegram_webhook
from storage.db import Database

DB_KEY = web.AppKey("db", Database)
TELEGRAM_KEY: web.AppKey[Callable[[], str]] = web.AppKey("telegram")


async def healthz(request: web.Request) -> web.Response:
    """Liveness and database reachability, for load balancers and monitoring, and the state
    of the Telegram side. Only the database decides the status code: the web intake must not
    be taken out of a load balancer because Telegram is down."""
    db = request.app[DB_KEY]
    state = request.app.get(TELEGRAM_KEY)
    telegram = state() if state is not None else "off"
    try:
        await db.ping()
    except Exception as exc:  # any failure means "not healthy", never a 500 page
        return web.json_response(
            {"status": "error", "database": type(exc).__name__, "telegram": telegram},
            status=503,
        )
    return web.json_response({"status": "ok", "database": "ok", "telegram": telegram})


def init_app(
    *,
    db: Database,
    webhook: Webhook | None = None,
    telegram: Callable[[], str] | None = None,
) -> web.Application:
    """``telegram`` says what state the Telegram side is in (None: the bot is off)."""
    app = web.Application(client_max_size=MAX_BODY)
    app[DB_KEY] = db
    if telegram is not None:
        app[TELEGRAM_KEY] = telegram
    app.router.add_get("/healthz", healthz)
    if webhook is not None:
        app[WEBHOOK_KEY] = webhook
        app.router.add_post("/telegram/webhook", telegram_webhook)
    return app
