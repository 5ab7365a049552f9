"""Describing a failure without the data it was about.

Exception messages carry values: asyncpg writes "invalid input for query argument $3:
'<a story>'", PostgreSQL's DETAIL quotes a row's key, SQLAlchemy appends a statement's
parameters, a Telegram description may quote a message, ``UnicodeEncodeError`` holds the
whole text it could not encode. What is said about a failure in a log line or an ``error``
column is therefore built only from types and codes: the exception's type and the types of
its causes, an SQLSTATE, an SQLite error name, an errno, an HTTP-like status, and a few fixed
phrases of the Bot API recognised here, never copied.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Final

LIMIT: Final = 500  # the inbox's and outbox's error columns
_MAX_CHAIN: Final = 8

# Bot API error classes (python-telegram-bot, matched by name: flows does not import it)
# and the status each stands for.
_TELEGRAM_STATUS: Final = {
    "BadRequest": "400",
    "InvalidToken": "401",
    "Forbidden": "403",
    "EndPointNotFound": "404",
    "Conflict": "409",
    "RetryAfter": "429",
    "TimedOut": "timeout",
    "ChatMigrated": "chat migrated",
}
# Fixed phrases of Bot API descriptions worth telling an operator; the description itself
# may quote what was sent, so only these words are ever repeated.
_TELEGRAM_REASONS: Final = (
    "bot was blocked by the user",
    "bot was kicked",
    "user is deactivated",
    "chat not found",
    "not enough rights",
    "message is not modified",
    "message to edit not found",
    "message is too long",
    "can't parse entities",
    "have no rights to send",
    "bad gateway",
    "too many requests",
    "original message was never delivered",  # handlers.telegram.sender's own
)
_STATUS_AT_END: Final = re.compile(r"\((\d{3})\)\s*$")
_SQLSTATE: Final = re.compile(r"[0-9A-Z]{5}")
_SQLITE_NAME: Final = re.compile(r"SQLITE_[A-Z_]{1,40}")


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it (``__cause__``, else an unsuppressed ``__context__``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < _MAX_CHAIN:
        seen.add(id(current))
        yield current
        cause = current.__cause__
        if cause is None and not current.__suppress_context__:
            cause = current.__context__
        current = cause


def type_name(exc: BaseException) -> str:
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def codes(exc: BaseException) -> list[str]:
    """The data-free codes an exception carries."""
    found: list[str] = []
    safe = getattr(exc, "safe_detail", None)  # e.g. storage.limits: "ticket.story: …"
    if isinstance(safe, str):
        found.append(safe)
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(sqlstate, str) and _SQLSTATE.fullmatch(sqlstate):
        found.append(f"SQLSTATE {sqlstate}")
    sqlite = getattr(exc, "sqlite_errorname", None)
    if isinstance(sqlite, str) and _SQLITE_NAME.fullmatch(sqlite):
        found.append(sqlite)
    if isinstance(exc, OSError) and isinstance(exc.errno, int):
        found.append(f"errno {exc.errno}")
    if type(exc).__module__.startswith("telegram"):
        found.extend(_telegram_codes(exc))
    return found


def _telegram_codes(exc: BaseException) -> list[str]:
    found: list[str] = []
    for cls in type(exc).__mro__:
        status = _TELEGRAM_STATUS.get(cls.__name__)
        if status is not None:
            found.append(status)
            break
    message = str(getattr(exc, "message", "") or "")
    end = _STATUS_AT_END.search(message)  # PTB's "<description> (502)" for other statuses
    if not found and end is not None:
        found.append(end.group(1))
    with warnings.catch_warnings():  # PTB 22 warns that the type will change; either works
        warnings.simplefilter("ignore")
        retry_after = getattr(exc, "retry_after", None)
    seconds = getattr(retry_after, "total_seconds", lambda: retry_after)()
    if isinstance(seconds, int | float):
        found.append(f"retry after {seconds:g}s")
    lowered = message.lower()
    found.extend(reason for reason in _TELEGRAM_REASONS if reason in lowered)
    return found


def describe_one(exc: BaseException) -> str:
    """``module.Type [code, …]`` for one exception, without its message."""
    found = codes(exc)
    return f"{type_name(exc)} [{', '.join(found)}]" if found else type_name(exc)


def describe(exc: BaseException) -> str:
    """One data-free line for a log or an ``error`` column: the exception's type and codes,
    then its causes', outermost first."""
    return " <- ".join(describe_one(e) for e in chain(exc))[:LIMIT]
