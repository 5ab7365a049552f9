"""Periodic jobs on APScheduler, stopped so that a running job finishes its transaction.

APScheduler's asyncio executor cancels running jobs on shutdown; a job cancelled while it
waits for or holds a database transaction leaves noise in the log at best. So jobs are
paused first, the running ones are awaited, and only then is the scheduler shut down.

A job that raises runs again at its next tick. Its failure is logged here as one line with
the error's type and place: APScheduler's own log line would carry the error's text and
traceback, which can quote a row or an update.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.tasks import failure
from handlers.web.probes import STALLED, STOPPED

log = logging.getLogger(__name__)

# A job running this long (or three of its intervals, if more) is stalled.
STALL_SECONDS: Final = 600.0


class Jobs:
    def __init__(self) -> None:
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        # Running jobs: when each began and after how long it counts as stalled.
        self._running: dict[asyncio.Task[Any], tuple[float, float]] = {}
        self._stopping = False
        self._started = False

    def every(
        self,
        seconds: float,
        fn: Callable[..., Awaitable[Any]],
        *,
        first_now: bool = False,
        **kwargs: Any,
    ) -> None:
        name = getattr(fn, "__name__", "job")

        async def job() -> None:
            if self._stopping:  # handed to the executor just before stop(): not begun at all
                return
            task = asyncio.current_task()
            assert task is not None
            self._running[task] = (time.monotonic(), max(seconds * 3, STALL_SECONDS))
            try:
                await fn(**kwargs)
            except Exception as exc:
                log.error("job %s failed (%s); it runs again at its next tick", name, failure(exc))
            finally:
                self._running.pop(task, None)

        job.__name__ = job.__qualname__ = name  # how APScheduler names it in its log
        # One instance at a time; a tick missed while the service was busy is not replayed
        # twice, because every job works from the database's state, not from its tick.
        # However late a run comes (a loaded start can hold the loop for seconds), it runs:
        # APScheduler's default grace of 1 s would skip it and wait a whole interval, a day
        # for retention.
        extra: dict[str, Any] = {"next_run_time": datetime.now(UTC)} if first_now else {}
        self.scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            **extra,
        )

    def start(self) -> None:
        self.scheduler.start()
        self._started = True

    def state(self) -> str:
        """For /healthz: "ok"; "stopped" when the scheduler no longer runs; "stalled" when a
        job has run far past its interval (hung on a lock or a connection): while it runs,
        its next ticks are skipped, and for the sweep that means no escalation fires."""
        if not self._started:
            return "starting"
        if self._stopping or not self.scheduler.running:
            return STOPPED
        now = time.monotonic()
        if any(now - began > limit for began, limit in self._running.values()):
            return STALLED
        return "ok"

    async def stop(self, *, grace: float = 15) -> None:
        if not self.scheduler.running:
            return
        self._stopping = True
        self.scheduler.pause()
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=grace)
            if late:
                log.warning("%d job(s) still running at shutdown are cancelled", len(late))
        self.scheduler.shutdown(wait=False)
