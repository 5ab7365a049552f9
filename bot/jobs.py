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
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.tasks import failure

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self) -> None:
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: set[asyncio.Task[Any]] = set()
        self._stopping = False

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
            self._running.add(task)
            try:
                await fn(**kwargs)
            except Exception as exc:
                log.error("job %s failed (%s); it runs again at its next tick", name, failure(exc))
            finally:
                self._running.discard(task)

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
