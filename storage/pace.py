"""Sending limits shared by every process that sends (``hutong serve --role worker``).

The generic cell rate algorithm, one row per key: ``tat`` is when the key's next message
would be due if messages went at exactly the allowed rate; a message may go when ``tat``
is at most ``interval × (burst − 1)`` ahead of now. Each statement reads and moves ``tat``
in one step (an upsert), so two processes never take the same slot. Times are seconds since
the epoch, taken from the caller's clock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, delete, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import SendPace

OVERALL = "*"  # the key of the bot as a whole


def _insert(session: AsyncSession) -> Any:
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    return dialect.insert(SendPace)


def _later(at: float) -> ColumnElement[float]:
    """max(tat, at), written for both databases."""
    tat = col(SendPace.tat)
    return case((tat > literal(at), tat), else_=literal(at))


async def take(
    session: AsyncSession, *, key: str, now: float, interval: float, burst: int
) -> float | None:
    """Take a slot of ``key`` if it has one free now: None when taken, else the time at
    which it will have one (nothing is taken then)."""
    slack = interval * (burst - 1)
    insert = _insert(session)
    statement = insert.values(key=key, tat=now + interval).on_conflict_do_update(
        index_elements=["key"],
        set_={"tat": _later(now) + interval},
        where=col(SendPace.tat) - slack <= now,
    )
    taken = await session.exec(statement.returning(col(SendPace.tat)))
    if taken.first() is not None:
        return None
    tat = (await session.exec(select(SendPace.tat).where(col(SendPace.key) == key))).one()
    return float(tat) - slack


async def reserve(
    session: AsyncSession, *, key: str, now: float, interval: float, burst: int
) -> float:
    """Reserve the key's next slot whenever it is: the time the caller may send (now or
    later). Callers queue in the order they reserve."""
    insert = _insert(session)
    statement = insert.values(key=key, tat=now + interval).on_conflict_do_update(
        index_elements=["key"], set_={"tat": _later(now) + interval}
    )
    tat = (await session.exec(statement.returning(col(SendPace.tat)))).scalar_one()
    return max(now, float(tat) - interval * burst)


async def reserve_many(
    session: AsyncSession, *, key: str, now: float, interval: float, count: int
) -> float:
    """Reserve the key's next ``count`` slots (no burst) in one statement: the first one's
    time; the others follow it ``interval`` apart. For a sender that hands slots out to its
    own messages, one round trip for several."""
    start = _later(now)
    statement = (
        _insert(session)
        .values(key=key, tat=now + interval * count)
        .on_conflict_do_update(index_elements=["key"], set_={"tat": start + interval * count})
    )
    tat = (await session.exec(statement.returning(col(SendPace.tat)))).scalar_one()
    return float(tat) - interval * count


async def hold(
    session: AsyncSession, *, key: str, until: float, interval: float, burst: int
) -> None:
    """Nothing to ``key`` before ``until`` (a 429's retry_after, a failing chat's backoff)."""
    tat = until + interval * (burst - 1)
    statement = (
        _insert(session)
        .values(key=key, tat=tat)
        .on_conflict_do_update(index_elements=["key"], set_={"tat": _later(tat)})
    )
    await session.exec(statement)


async def forget(session: AsyncSession, *, before: float) -> int:
    """Rows of keys idle since ``before``: a chat that writes again starts afresh."""
    result = await session.exec(delete(SendPace).where(col(SendPace.tat) < before))
    return int(result.rowcount)
