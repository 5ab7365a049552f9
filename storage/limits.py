"""One rule for what a column takes, on SQLite as on PostgreSQL.

PostgreSQL refuses a text longer than its ``varchar(n)``, a U+0000 anywhere in a text, and
(through the driver) a string that is not valid UTF-8; SQLite stores all of these without a
word. Checked here, before the driver sees the statement, every write (ORM flush or Core
insert/update) is refused alike on both, so the SQLite test suite finds a value that would
fail in production, and the error names ``table.column``, never the value.
"""

from __future__ import annotations

import re
from typing import Any, Final

from sqlalchemy import Table, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

# U+0000 (PostgreSQL's text types cannot hold it) and lone surrogates (not encodable as UTF-8).
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")
# An INSERT of several rows in one VALUES clause binds "<key>_m1", "<key>_m2", …
_ROW_SUFFIX: Final = re.compile(r"_m[0-9]+$")


class StoredValueError(SQLAlchemyError, ValueError):
    """A value its column cannot hold. ``safe_detail`` is data-free: it may be logged.

    A database error like the one PostgreSQL would raise, so code that handles a failed
    write (the poller retries, a turn is counted as failed) handles this one too."""

    def __init__(self, table: str, column: str, problem: str) -> None:
        self.safe_detail = f"{table}.{column}: {problem}"
        super().__init__(self.safe_detail)


def check_value(table: Table, key: str, value: object) -> None:
    """Raise ``StoredValueError`` when ``value`` does not fit column ``key`` of ``table``."""
    column = table.c.get(key)
    if column is None:
        column = table.c.get(_ROW_SUFFIX.sub("", key))
    if column is None or not isinstance(value, str):
        return
    found = _UNSTORABLE.search(value)
    if found is not None:
        what = "U+0000" if found.group() == "\x00" else "a lone surrogate"
        raise StoredValueError(table.name, column.name, f"contains {what}")
    # SQLModel's AutoString is a TypeDecorator that passes ``length`` through from String.
    length = getattr(column.type, "length", None)
    if isinstance(length, int) and len(value) > length:
        raise StoredValueError(
            table.name, column.name, f"{len(value)} characters, at most {length}"
        )


def _check_write(
    _conn: Any,
    _cursor: Any,
    _statement: str,
    _parameters: Any,
    context: Any,
    _executemany: bool,
) -> None:
    compiled = getattr(context, "compiled", None)
    if compiled is None or not (context.isinsert or context.isupdate):
        return
    table = getattr(compiled.statement, "table", None)
    if not isinstance(table, Table):
        return
    # Values of an INSERT and the SET of an UPDATE are bound under their column's key; the
    # WHERE's binds get other names ("code_1") and are not values being stored.
    for params in context.compiled_parameters or ():
        for key, value in params.items():
            check_value(table, key, value)


def guard(engine: Engine) -> None:
    """Check every INSERT and UPDATE this engine executes."""
    event.listen(engine, "before_cursor_execute", _check_write)
