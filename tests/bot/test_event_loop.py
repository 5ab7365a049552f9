"""`hutong serve` runs on uvloop where it is installed."""

from __future__ import annotations

import asyncio

import pytest

from bot.cli import _event_loop


def test_serve_gets_uvloop_where_it_is_installed() -> None:
    uvloop = pytest.importorskip("uvloop")
    factory = _event_loop()
    assert factory is not None
    with asyncio.Runner(loop_factory=factory) as runner:
        assert isinstance(runner.get_loop(), uvloop.Loop)
        assert runner.run(asyncio.sleep(0, "ran")) == "ran"
