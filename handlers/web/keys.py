"""The aiohttp application's shared objects, by key: one place that route modules import."""

from __future__ import annotations

from aiohttp import web

from flows.clock import Clock
from handlers.web.probes import Probes
from storage.db import Database

DB_KEY = web.AppKey("db", Database)
CLOCK_KEY: web.AppKey[Clock] = web.AppKey("clock")
PROBES_KEY = web.AppKey("probes", Probes)
