"""The log formatter `hutong` installs: exceptions as types and frames, never messages; the
same for exceptions given as arguments, for asyncio's task reprs, and for the libraries'
own exception logs (APScheduler, PTB), which reach it through the root logger."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from logcapture import Capture, capture_all

from bot import logs
from bot.logs import SafeFormatter

SECRET = "13912345678 孩子的名字是小明"


@pytest.fixture
def captured() -> Iterator[Capture]:
    with capture_all() as handler:
        yield handler


def _fail_deep(value: str) -> None:
    try:
        {}[value]
    except KeyError as exc:
        raise RuntimeError(f"could not store {value}") from exc


def test_an_exception_is_its_types_and_frames_without_messages(captured: Capture) -> None:
    log = logging.getLogger("hutong.test")
    try:
        _fail_deep(SECRET)
    except RuntimeError:
        log.exception("update %s failed", 42)
    text = captured.text
    assert SECRET not in text and "13912345678" not in text
    assert "update 42 failed" in text
    assert "\nKeyError\n" in text and text.rstrip().endswith("\nRuntimeError")
    assert "The above exception was the direct cause of the following exception:" in text
    assert "in _fail_deep" in text and "in test_an_exception_is_its_types_and_frames" in text


def test_an_exception_given_as_an_argument_is_described(captured: Capture) -> None:
    logging.getLogger("hutong.test").warning("reply failed: %s", ValueError(SECRET))
    logging.getLogger("hutong.test").error(KeyError(SECRET))
    logging.getLogger("hutong.test").warning("%(why)s", {"why": OSError(SECRET)})
    assert captured.lines[0].endswith("reply failed: ValueError")
    assert captured.lines[1].endswith(": KeyError")
    assert captured.lines[2].endswith(": OSError")
    assert SECRET not in captured.text


def test_a_traceback_another_handler_formatted_first_is_not_reused() -> None:
    """logging.Formatter caches the traceback text on the record: that text is unsafe."""
    try:
        _fail_deep(SECRET)
    except RuntimeError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), exc_info=__import__("sys").exc_info()
        )
    assert SECRET in logging.Formatter().format(record)  # e.g. pytest's own handler
    assert SECRET not in SafeFormatter().format(record)


def test_asyncio_task_reprs_are_cut_to_their_first_line(captured: Capture) -> None:
    record = logging.getLogger("asyncio").makeRecord(
        "asyncio",
        logging.ERROR,
        __file__,
        1,
        "Task exception was never retrieved\nfuture: <Task exception=ValueError(%r)>",
        (SECRET,),
        None,
    )
    assert SafeFormatter().format(record).endswith("Task exception was never retrieved")


async def test_apschedulers_job_exceptions_go_through_it(captured: Capture) -> None:
    """bot.jobs logs a failed job itself; APScheduler's own log of a job that raised (any
    other scheduler in the process) goes through the formatter too."""
    from datetime import UTC, datetime

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    failed = asyncio.Event()

    async def job() -> None:
        failed.set()
        raise ValueError(SECRET)

    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(job, "interval", seconds=3600, next_run_time=datetime.now(UTC))
    scheduler.start()
    await asyncio.wait_for(failed.wait(), 10)
    for _ in range(100):  # the scheduler logs right after the job's task ends
        if "raised an exception" in captured.text:
            break
        await asyncio.sleep(0.01)
    scheduler.shutdown(wait=False)
    assert "raised an exception" in captured.text and "ValueError" in captured.text
    assert SECRET not in captured.text


async def test_a_failed_job_of_ours_is_one_line_without_its_message(captured: Capture) -> None:
    from bot.jobs import Jobs

    failed = asyncio.Event()

    async def job() -> None:
        failed.set()
        raise ValueError(SECRET)

    jobs = Jobs()
    jobs.every(3600, job, first_now=True)
    jobs.start()
    await asyncio.wait_for(failed.wait(), 10)
    for _ in range(100):
        if "job job failed" in captured.text:
            break
        await asyncio.sleep(0.01)
    await jobs.stop()
    assert "job job failed (ValueError" in captured.text
    assert SECRET not in captured.text


async def test_ptbs_own_error_log_goes_through_it(captured: Capture, bot_api: Any) -> None:
    from telegram.ext import ApplicationBuilder, TypeHandler

    async def handler(update: object, context: Any) -> None:
        raise ValueError(SECRET)

    application = ApplicationBuilder().token(bot_api.token).base_url(bot_api.bot_url).build()
    application.add_handler(TypeHandler(object, handler))
    await application.initialize()
    try:
        await application.process_update(object())
    finally:
        await application.shutdown()
    assert "ValueError" in captured.text
    assert SECRET not in captured.text


def test_configure_installs_one_handler_with_the_formatter_and_quiets_httpx() -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        logs.configure("INFO")
        logs.configure("INFO")  # idempotent
        ours = [h for h in root.handlers if h not in before]
        assert len(ours) == 1 and isinstance(ours[0].formatter, SafeFormatter)
        assert root.level == logging.INFO
        # httpx's INFO request lines carry the bot token in the URL.
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize("argv", [["serve"], ["staff", "list"], ["db", "upgrade"]])
def test_every_command_logs_through_it(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import bot.service
    from bot import cli

    seen: list[logging.Formatter | None] = []

    async def fake(*args: Any, **kwargs: Any) -> str:
        seen.extend(h.formatter for h in logging.getLogger().handlers if _ours(h))
        return ""

    for name in ("serve", "with_database", "upgrade_and_seed"):
        monkeypatch.setattr(bot.service, name, fake)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        assert cli.main(argv) == 0
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)
    assert len(seen) == 1 and isinstance(seen[0], SafeFormatter)


def _ours(handler: logging.Handler) -> bool:
    return bool(getattr(handler, "_hutong_handler", False))


def test_an_unexpected_error_in_a_command_is_logged_without_its_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    import bot.service
    from bot import cli

    async def broken(*args: Any, **kwargs: Any) -> str:
        raise ValueError(f"invalid input for query argument $3: '{SECRET}'")

    monkeypatch.setattr(bot.service, "with_database", broken)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        assert cli.main(["staff", "list"]) == 1
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "hutong staff stopped by an error" in err and "\nValueError" in err
    assert SECRET not in err
