"""``GET /healthz`` (liveness, for monitoring and container restarts) and ``GET /readyz``
(whether to send this process traffic, for load balancers).

/healthz fails (503) for what a restart can cure: the database unreachable, the scheduler or
the outbox sender stalled. What lies outside (Telegram down, a refused token) is shown but
never fails it: the web intake must not be taken out of service because Telegram is.
/readyz fails while the process is shutting down or cannot reach the database, so a load
balancer stops sending it requests before it goes.
"""

from __future__ import annotations

from aiohttp import web

from handlers.web.keys import DB_KEY, PROBES_KEY
from handlers.web.probes import UNHEALTHY


async def _database(request: web.Request) -> str:
    try:
        await request.app[DB_KEY].ping()
    except Exception as exc:  # any failure means "not healthy", never a 500 page
        return type(exc).__name__
    return "ok"


async def healthz(request: web.Request) -> web.Response:
    probes = request.app[PROBES_KEY]
    body = {
        "database": await _database(request),
        "telegram": probes.telegram(),
        "scheduler": probes.scheduler(),
        "sender": probes.sender(),
    }
    broken = body["database"] != "ok" or {body["scheduler"], body["sender"]} & UNHEALTHY
    return web.json_response(
        {"status": "error" if broken else "ok", **body}, status=503 if broken else 200
    )


async def readyz(request: web.Request) -> web.Response:
    if not request.app[PROBES_KEY].accepting():
        return web.json_response({"ready": False, "why": "shutting down"}, status=503)
    database = await _database(request)
    if database != "ok":
        return web.json_response({"ready": False, "why": "database"}, status=503)
    return web.json_response({"ready": True})
