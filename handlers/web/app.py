"""The aiohttp application: health, readiness and metrics; the Telegram webhook; the REST
API and dashboard mount here."""

from __future__ import annotations

from aiohttp import web

from flows.clock import Clock, system_clock
from handlers.web.api.context import Api
from handlers.web.api.routes import add_api
from handlers.web.health import healthz, readyz
from handlers.web.keys import CLOCK_KEY, DB_KEY, PROBES_KEY
from handlers.web.metrics import metrics
from handlers.web.pages.console import add_console
from handlers.web.pages.dashboard import add_dashboard
from handlers.web.pages.report import add_pages
from handlers.web.pages.signin import add_signin
from handlers.web.probes import Probes
from handlers.web.webhook import MAX_BODY, WEBHOOK_KEY, Webhook, telegram_webhook
from storage.db import Database


def init_app(
    *,
    db: Database,
    clock: Clock = system_clock,
    webhook: Webhook | None = None,
    probes: Probes | None = None,
    api: Api | None = None,
) -> web.Application:
    """``probes`` says how the service's parts are doing (default: none run here); ``api``
    mounts the REST API."""
    app = web.Application(client_max_size=MAX_BODY)
    app[DB_KEY] = db
    app[CLOCK_KEY] = clock
    app[PROBES_KEY] = probes or Probes()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    if api is not None:
        add_api(app, api)
        add_pages(app)
        add_signin(app)
        add_console(app)
        add_dashboard(app)
    if webhook is not None:
        app[WEBHOOK_KEY] = webhook
        app.router.add_post("/telegram/webhook", telegram_webhook)
    return app
