"""The aiohttp application: health now; webhook, REST API and dashboard mount here."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from handlers.web.webhook import MAX_BODY, WEBHOOK_KEY, Webhook, telegram_webhook
from storage.db import Database

DB_KEY = web.AppKey("db", Database)


async def healthz(request: web.Request) -> web.Response:
    """Liveness and database reachability, for load balancers and monitoring."""
    db = request.app[DB_KEY]
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not healthy", never a 500 page
        return web.json_response({"status": "error", "database": type(exc).__name__}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


def init_app(*, db: Database, webhook: Webhook | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[DB_KEY] = db
    app.router.add_get("/healthz", healthz)
    if webhook is not None:
        app[WEBHOOK_KEY] = webhook
        app.router.add_post("/telegram/webhook", telegram_webhook)
    return app
