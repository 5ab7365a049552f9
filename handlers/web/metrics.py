"""``GET /metrics``: Prometheus text format.

The process's own counters (``handlers/metrics.py``, plus prometheus-client's process and
Python collectors) and, read from the database at each scrape, the outbox backlog, open and
overdue tickets and the sweep's lag. The database's figures go into a registry made for the
one scrape, so concurrent scrapes never see each other's half-set values. Nothing here names
a person, a chat or a ticket: counts only.
"""

from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from flows.clock import Clock
from flows.states import OPEN
from handlers.web.keys import CLOCK_KEY, DB_KEY
from storage import stats
from storage.db import Database

log = logging.getLogger(__name__)


async def database_figures(db: Database, clock: Clock) -> bytes:
    registry = CollectorRegistry(auto_describe=True)
    up = Gauge("hutong_database_up", "1 when the database answered this scrape.", registry=registry)
    try:
        now = clock()
        async with db.unit() as session:
            backlog = await stats.outbox_backlog(session, now=now)
            tickets = await stats.open_tickets(session, states=[s.value for s in OPEN])
            lag = await stats.sweep_lag(session, now=now)
    except Exception as exc:  # the scrape still shows the process's own counters
        log.warning("metrics: database figures unavailable (%s)", type(exc).__name__)
        up.set(0)
        return generate_latest(registry)
    up.set(1)
    rows = Gauge(
        "hutong_outbox_backlog",
        "Outbox rows not yet sent (pending or being sent), by channel.",
        ["channel"],
        registry=registry,
    )
    oldest = Gauge(
        "hutong_outbox_oldest_pending_seconds",
        "Age of the oldest outbox row not yet sent, by channel.",
        ["channel"],
        registry=registry,
    )
    for b in backlog:
        rows.labels(b.channel).set(b.rows)
        oldest.labels(b.channel).set(b.oldest_seconds)
    open_ = Gauge(
        "hutong_tickets_open",
        "Open tickets by state and overdue level (0 on time, 1 county told, 2 city told).",
        ["state", "overdue_level"],
        registry=registry,
    )
    for t in tickets:
        open_.labels(t.state, str(t.overdue_level)).set(t.count)
    overdue = Gauge(
        "hutong_tickets_overdue",
        "Open tickets past a deadline, by overdue level.",
        ["overdue_level"],
        registry=registry,
    )
    by_level: dict[int, int] = {}
    for t in tickets:
        if t.overdue_level > 0:
            by_level[t.overdue_level] = by_level.get(t.overdue_level, 0) + t.count
    for level, n in sorted(by_level.items()):
        overdue.labels(str(level)).set(n)
    Gauge(
        "hutong_sweep_lag_seconds",
        "Seconds since the oldest deadline that passed without the sweep firing it yet.",
        registry=registry,
    ).set(lag)
    return generate_latest(registry)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(REGISTRY) + await database_figures(
        request.app[DB_KEY], request.app[CLOCK_KEY]
    )
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
