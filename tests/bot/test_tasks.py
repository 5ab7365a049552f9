"""The supervisor of background loops: a loop that raises is logged (type and place, not its
text) and started again with capped backoff; stopping is prompt; nothing escapes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.tasks import Backoff, Supervisor


def test_backoff_doubles_up_to_its_cap_and_resets() -> None:
    backoff = Backoff(1, 5)
    assert [backoff.next() for _ in range(5)] == [1, 2, 4, 5, 5]
    backoff.reset()
    assert backoff.next() == 1


async def test_a_task_that_raises_is_restarted_and_logged_without_its_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="bot.tasks")
    runs = 0
    stop = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise ValueError("a story a person typed: PERSONAL")
        await stop.wait()  # the fourth run keeps going until asked to stop

    tasks = Supervisor(backoff=lambda: Backoff(0.01, 0.02))
    task = tasks.spawn("flaky", flaky)
    await _until(lambda: runs == 4)
    assert not task.done() and tasks.restarts["flaky"] == 3

    stop.set()
    await asyncio.wait_for(task, 5)
    assert task.exception() is None  # nothing escaped
    lines = [r for r in caplog.records if r.name == "bot.tasks"]
    assert len(lines) == 3
    assert [r.args[-1] for r in lines if isinstance(r.args, tuple)] == [0.01, 0.02, 0.02]
    for line in lines:
        message = line.getMessage()
        assert "background task flaky failed (ValueError at test_tasks.py:" in message
        assert "PERSONAL" not in message and line.exc_info is None


async def test_a_task_that_returns_is_finished_not_restarted() -> None:
    runs = 0

    async def once() -> None:
        nonlocal runs
        runs += 1

    tasks = Supervisor(backoff=lambda: Backoff(0.01, 0.01))
    await asyncio.wait_for(tasks.spawn("once", once), 5)  # the supervising task ended
    assert runs == 1 and tasks.restarts["once"] == 0


async def test_a_task_that_ran_long_enough_starts_again_from_the_first_delay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="bot.tasks")
    runs = 0

    async def fails_late() -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise OSError("down")

    tasks = Supervisor(backoff=lambda: Backoff(0.01, 1), healthy_after=0)
    await asyncio.wait_for(tasks.spawn("late", fails_late), 5)
    assert [r.args[-1] for r in caplog.records if isinstance(r.args, tuple)] == [0.01] * 3


async def test_stopping_ends_a_wait_for_restart_at_once() -> None:
    async def broken() -> None:
        raise RuntimeError("always")

    tasks = Supervisor(backoff=lambda: Backoff(3600, 3600))
    task = tasks.spawn("broken", broken)
    await _until(lambda: tasks.restarts["broken"] == 1)
    tasks.stop()
    await asyncio.wait_for(task, 5)  # not an hour
    assert tasks.restarts["broken"] == 1


async def test_finish_waits_for_a_step_and_cancels_one_that_hangs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    step_done = False
    asked = asyncio.Event()

    async def polite() -> None:
        nonlocal step_done
        await asked.wait()
        await asyncio.sleep(0)  # the end of its step
        step_done = True

    async def hangs() -> None:
        await asyncio.Event().wait()

    tasks = Supervisor()
    tasks.spawn("polite", polite)
    hanging = tasks.spawn("hangs", hangs)
    asked.set()
    await tasks.finish("polite", grace=5)
    assert step_done
    await tasks.finish("hangs", grace=0.01)
    assert hanging.cancelled()
    assert "background task hangs did not stop" in caplog.text


async def _until(condition: Any) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(0.005)
