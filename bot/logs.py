"""Logging without personal data: every record goes through ``SafeFormatter``.

An exception is rendered as its chain of types (with SQLSTATEs and similar codes) and its
stack frames (file, line, function), never its message: drivers put values into messages
(asyncpg: "invalid input for query argument $3: '…'"; PostgreSQL's DETAIL quotes keys;
``UnicodeEncodeError`` holds the whole text), and here the values are stories, phone numbers
and Telegram names. The same goes for an exception passed as a log argument (``"failed: %s",
exc``), and for what asyncio adds after its first line (the repr of a failed task).

The formatter is installed on the root handler, so the libraries' own exception logs (PTB's
Application, APScheduler's jobs, aiohttp's server) go through it too.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from typing import Any, Final

from flows.faults import chain, describe, describe_one

FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Request lines of httpx carry the bot token in the URL; the others drown what matters.
QUIET: Final = ("httpx", "alembic.runtime.plugins", "apscheduler.executors.default")
_MARK: Final = "_hutong_handler"


class SafeFormatter(logging.Formatter):
    """A formatter that never writes an exception's message."""

    def __init__(self, fmt: str = FORMAT) -> None:
        super().__init__(fmt)

    def format(self, record: logging.LogRecord) -> str:
        # Not logging.Formatter.format: it reuses ``record.exc_text`` when another handler
        # formatted the record first, and that text would be the full, unsafe traceback.
        record.message = safe_message(record)
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text

    def formatException(self, ei: Any) -> str:
        exc = ei[1]
        return render_exception(exc) if isinstance(exc, BaseException) else ""


def safe_message(record: logging.LogRecord) -> str:
    """The record's message with exception arguments reduced to ``describe``."""
    msg: object = record.msg
    if isinstance(msg, BaseException):
        msg = describe(msg)
    args: Any = record.args
    if isinstance(args, Mapping):
        args = {k: _safe_arg(v) for k, v in args.items()}
    elif isinstance(args, tuple):
        args = tuple(_safe_arg(a) for a in args)
    try:
        message = str(msg) % args if args else str(msg)
    except (TypeError, ValueError, KeyError):
        message = str(msg)
    if record.name == "asyncio" or record.name.startswith("asyncio."):
        # "Task exception was never retrieved" is followed by the task's repr, exception
        # message included.
        message = message.split("\n", 1)[0]
    return message


def _safe_arg(value: object) -> object:
    return describe(value) if isinstance(value, BaseException) else value


def render_exception(exc: BaseException) -> str:
    """Like a traceback, oldest cause first, with each exception's type and codes in place
    of its message."""
    blocks: list[str] = []
    older: BaseException | None = None
    for link in reversed(list(chain(exc))):
        if older is not None:
            blocks.append(
                "The above exception was the direct cause of the following exception:"
                if link.__cause__ is older
                else "During handling of the above exception, another exception occurred:"
            )
        older = link
        lines = ["Traceback (most recent call last; exception messages withheld):"]
        for frame in traceback.extract_tb(link.__traceback__):
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        lines.append(describe_one(link))
        if isinstance(link, BaseExceptionGroup):
            lines.extend(f"  + {describe(sub)}" for sub in link.exceptions)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def make_formatter() -> SafeFormatter:
    return SafeFormatter()


def configure(level: str | int) -> None:
    """Log to stderr through ``SafeFormatter`` at ``level``; idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(make_formatter())
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
