"""Background loops under supervision: a loop that raises is logged and started again after a
capped backoff, so no fault in one of them takes the service down.

A supervised loop that *returns* is finished (it was asked to stop, or its work is done) and
is not started again. Log lines name the task, the error's type and where it was raised —
never the error's text, which can quote an update, a row or a page the Bot API answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

log = logging.getLogger(__name__)

HEALTHY_AFTER = 60.0  # a task that ran this long before failing starts again from the first delay


class Backoff:
    """Capped exponential delays: ``first``, twice that, … at most ``cap``; ``reset`` after a
    success starts again from ``first``."""

    def __init__(self, first: float, cap: float) -> None:
        self.first = first
        self.cap = cap
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.cap)
        return delay

    def reset(self) -> None:
        self._next = self.first


async def pause(stopping: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds``, or less if ``stopping`` is set; True when the wait was not cut short."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
    return not stopping.is_set()


def where(exc: BaseException) -> str:
    """``file.py:line`` of the innermost frame: enough to find the fault, nothing of its data."""
    tb = exc.__traceback__
    if tb is None:
        return "?"
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"


def failure(exc: BaseException) -> str:
    """How a log line names an error: its type and where it was raised, not its text."""
    return f"{type(exc).__name__} at {where(exc)}"


class Supervisor:
    """Runs named loops; restarts one that raised, with capped backoff, until ``stop``."""

    def __init__(
        self,
        *,
        backoff: Callable[[], Backoff] = lambda: Backoff(1.0, 60.0),
        healthy_after: float = HEALTHY_AFTER,
    ) -> None:
        self._backoff = backoff
        self.healthy_after = healthy_after
        self.stopping = asyncio.Event()
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.restarts: Counter[str] = Counter()

    def spawn(self, name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Start ``run()`` now, and again whenever it raises, until it returns or ``stop``."""
        task = asyncio.create_task(self._supervise(name, run), name=name)
        self.tasks[name] = task
        return task

    def stop(self) -> None:
        """No more restarts; a task waiting to be restarted ends at once. Loops that are
        running are not touched: their owners ask them to stop, then ``finish`` them."""
        self.stopping.set()

    async def _supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        loop = asyncio.get_running_loop()
        backoff = self._backoff()
        while not self.stopping.is_set():
            started = loop.time()
            try:
                await run()
                return
            except Exception as exc:
                if loop.time() - started >= self.healthy_after:
                    backoff.reset()
                delay = backoff.next()
                self.restarts[name] += 1
                log.error(
                    "background task %s failed (%s); restarting in %.0f s",
                    name,
                    failure(exc),
                    delay,
                )
                del exc  # its traceback holds the failed frames' data; not kept while waiting
                await pause(self.stopping, delay)

    async def cancel(self, name: str) -> None:
        """Cancel a task that holds nothing a cancellation could leave half-done."""
        task = self.tasks.get(name)
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def finish(self, name: str, *, grace: float) -> None:
        """Wait for a task that was asked to stop to finish its step; cancel it if it hangs."""
        task = self.tasks.get(name)
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            log.warning("background task %s did not stop within %.0f s; cancelled", name, grace)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
