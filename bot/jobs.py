"""Periodic jobs on APScheduler, stopped so that a running job finishes its transaction.

APScheduler's asyncio executor cancels running jobs on shutdown; a job cancelled while it
waits for or holds a database transaction leaves noise in the log at best. So jobs are
paused first, the running ones are awaited, and only then is the scheduler shut down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self) -> None:
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: set[asyncio.Task[Any]] = set()

    def every(
        self,
        seconds: float,
        fn: Callable[..., Awaitable[Any]],
        *,
        first_now: bool = False,
        **kwargs: Any,
    ) -> None:
        async def job() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                await fn(**kwargs)
            finally:
                self._running.discard(task)

        job.__name__ = getattr(fn, "__name__", "job")
        # One instance at a time; a tick missed while the service was busy is not replayed
        # twice, because every job works from the database's state, not from its tick.
        extra: dict[str, Any] = {"next_run_time": datetime.now(UTC)} if first_now else {}
        self.scheduler.add_job(
            job, "interval", seconds=seconds, max_instances=1, coalesce=True, **extra
        )

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self, *, grace: float = 15) -> None:
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=grace)
            if late:
                log.warning("%d job(s) still running at shutdown are cancelled", len(late))
        self.scheduler.shutdown(wait=False)
