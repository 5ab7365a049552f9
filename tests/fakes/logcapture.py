"""Capturing what the service logs, formatted as `hutong` formats it (bot.logs)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bot.logs import make_formatter


class Capture(logging.Handler):
    """Every record, formatted (exception included) by the project's formatter."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(make_formatter())
        self.lines: list[str] = []
        self._changed: asyncio.Event | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        if self._changed is not None:
            self._changed.set()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    async def wait_for(self, needle: str, *, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Return once a captured line contains ``needle``."""
        self._changed = asyncio.Event()
        async with asyncio.timeout(timeout):
            while needle not in self.text:
                await self._changed.wait()
                self._changed.clear()


@contextmanager
def capture_all(level: int = logging.INFO) -> Iterator[Capture]:
    """Every logger at ``level`` (libraries that quiet themselves, e.g. SQLAlchemy, too),
    into one ``Capture`` on the root logger; restored afterwards."""
    root = logging.getLogger()
    handler = Capture()
    changed = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and logger.level > level
    }
    for name in changed:
        logging.getLogger(name).setLevel(level)
    before = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(before)
        for name, old in changed.items():
            logging.getLogger(name).setLevel(old)
