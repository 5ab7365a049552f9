"""SQLAlchemy's aiosqlite adapter with one thread hop per statement instead of three or four.

aiosqlite runs sqlite3 on a thread of its own; every call to it is a hop there and back
(a queue, a future, a wake-up of the event loop). SQLAlchemy's adapter makes a hop to open
a cursor, one to execute, one to fetch the rows and one to close the cursor. Under
``bench/intake.py`` those hops were most of what SQLite cost the service. This cursor does
all four on the thread in one call and keeps the rows, so a statement costs one hop; the
connection, its transactions and SQLAlchemy's handling of errors are aiosqlite's and
SQLAlchemy's as before.

It relies on two internals of aiosqlite that SQLAlchemy's own adapter relies on too (the
connection's ``_conn`` and its queue of calls, here through ``_execute``); when they are
missing (another aiosqlite), ``dbapi()`` is None and the engine keeps the stock adapter.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from threading import Thread
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import await_

_Result = tuple[Any, int, int | None, list[Any]]  # description, rowcount, lastrowid, rows


def _execute(connection: aiosqlite.Connection, operation: str, parameters: Any) -> _Result:
    """On aiosqlite's thread: the whole statement, from cursor to close."""
    cursor = connection._conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _executemany(
    connection: aiosqlite.Connection, operation: str, parameters: Sequence[Any]
) -> _Result:
    cursor = connection._conn.cursor()
    try:
        cursor.executemany(operation, parameters)
        return cursor.description, cursor.rowcount, cursor.lastrowid, []
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement runs on aiosqlite's thread in one call, rows included."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # Nothing opened on the thread yet: the statement opens and closes its own cursor.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        return  # the thread's cursor is closed already; the rows are kept here

    def close(self) -> None:
        self._rows.clear()

    def _run(self, function: Any, operation: str, parameters: Any) -> None:
        try:
            result: _Result = await_(
                self._connection._execute(function, self._connection, operation, parameters)
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, self._rowcount, self._lastrowid, rows = result
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(_execute, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._run(_executemany, operation, seq_of_parameters)

    def setinputsizes(self, *inputsizes: Any) -> None:
        return  # sqlite3 takes none


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor  # type: ignore[assignment]  # a subclass, declared invariant


class _DBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        # As SQLAlchemy's adapter connects (aiosqlite's thread a daemon), with this cursor.
        connection = aiosqlite.connect(*arg, **kw)
        thread = connection if isinstance(connection, Thread) else connection._thread
        thread.daemon = True  # aiosqlite before 0.22 was the thread itself
        return _Connection(self, await_(connection))  # type: ignore[arg-type]  # as SQLAlchemy's


def dbapi() -> AsyncAdapt_aiosqlite_dbapi | None:
    """The adapter module for ``create_async_engine(module=…)``; None where this aiosqlite
    lacks what the cursor uses."""
    if not all(hasattr(aiosqlite.Connection, name) for name in ("_execute", "_conn")):
        return None
    return _DBAPI(aiosqlite, sqlite3)
