"""Periodic jobs at shutdown: a job is either finished or never begun, never cut off."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.jobs import Jobs


@pytest.mark.parametrize("yields", range(4))
async def test_stopping_right_after_start_never_cuts_a_job_off(
    yields: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A first-now job is handed to the executor at start; stopping a moment later (the
    service told to stop as it comes up) must not cancel it half-way through."""
    caplog.set_level(logging.WARNING)
    started = finished = 0

    async def work() -> None:  # a transaction's worth of awaits
        nonlocal started, finished
        started += 1
        for _ in range(5):
            await asyncio.sleep(0)
        finished += 1

    jobs = Jobs()
    jobs.every(3600, work, first_now=True)
    jobs.start()
    for _ in range(yields):
        await asyncio.sleep(0)
    await jobs.stop()
    for _ in range(20):  # whatever the executor still holds gets its turn
        await asyncio.sleep(0)
    assert started == finished
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


async def test_a_first_run_held_up_at_start_still_runs() -> None:
    """A busy start (directory loading, migrations on a loaded machine) can hold the event
    loop past a job's first run time. APScheduler's default would count that run as missed
    and wait a whole interval: the daily retention job would then not run for a day."""
    ran = asyncio.Event()

    async def work() -> None:
        ran.set()

    jobs = Jobs()
    jobs.every(86400, work, first_now=True)
    jobs.start()
    time.sleep(1.6)  # noqa: ASYNC251  # the loop held on purpose, as a slow start holds it
    try:
        await asyncio.wait_for(ran.wait(), 5)
    finally:
        await jobs.stop()


async def test_state_says_starting_ok_stalled_and_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.jobs as jobs_module

    release = asyncio.Event()
    began = asyncio.Event()

    async def hang() -> None:
        began.set()
        await release.wait()

    jobs = Jobs()
    assert jobs.state() == "starting"
    jobs.every(1, hang, first_now=True)
    jobs.start()
    await asyncio.wait_for(began.wait(), 5)
    assert jobs.state() == "ok"  # running, but not for long
    clock = time.monotonic()
    monkeypatch.setattr(
        jobs_module.time, "monotonic", lambda: clock + jobs_module.STALL_SECONDS + 1
    )
    assert jobs.state() == "stalled"
    monkeypatch.undo()
    release.set()
    await jobs.stop()
    assert jobs.state() == "stopped"
