"""storage.pace against the real database: slots of a key are taken at the allowed rate with
its burst, reservations queue in order, a hold keeps a key back, and concurrent reservations
never share a slot."""

from __future__ import annotations

import asyncio

import pytest

from storage import pace
from storage.db import Database


async def _take(db: Database, now: float, *, key: str = "42") -> float | None:
    async with db.unit() as session:
        return await pace.take(session, key=key, now=now, interval=1.0, burst=3)


async def _reserve(db: Database, now: float) -> float:
    async with db.unit() as session:
        return await pace.reserve(session, key=pace.OVERALL, now=now, interval=0.1, burst=1)


async def test_a_chat_takes_a_burst_then_one_slot_a_second(db: Database) -> None:
    assert [await _take(db, 100.0) for _ in range(3)] == [None, None, None]
    assert await _take(db, 100.0) == pytest.approx(101.0)  # the burst is spent
    assert await _take(db, 100.5) == pytest.approx(101.0)  # asking does not take
    assert await _take(db, 101.0) is None
    assert await _take(db, 101.0) == pytest.approx(102.0)
    assert await _take(db, 100.0, key="43") is None  # each chat its own


async def test_reservations_queue_at_the_overall_rate(db: Database) -> None:
    slots = [await _reserve(db, 10.0) for _ in range(5)]
    assert slots == pytest.approx([10.0, 10.1, 10.2, 10.3, 10.4])
    assert await _reserve(db, 20.0) == pytest.approx(20.0)  # idle since: no debt


async def test_a_hold_keeps_the_chat_back_until_it_ends(db: Database) -> None:
    async with db.unit() as session:
        await pace.hold(session, key="42", until=200.0, interval=1.0, burst=3)
    assert await _take(db, 150.0) == pytest.approx(200.0)
    assert await _take(db, 200.0) is None
    async with db.unit() as session:
        await pace.hold(session, key="44", until=300.0, interval=1.0, burst=3)
        await pace.hold(session, key="44", until=100.0, interval=1.0, burst=3)
    assert await _take(db, 150.0, key="44") == pytest.approx(300.0)  # the longer hold holds


async def test_idle_keys_are_forgotten(db: Database) -> None:
    for _ in range(3):
        await _take(db, 100.0, key="old")
        await _take(db, 5000.0, key="new")
    async with db.unit() as session:
        assert await pace.forget(session, before=1000.0) >= 1
    assert await _take(db, 100.0, key="old") is None  # starts afresh
    assert await _take(db, 5000.0, key="new") == pytest.approx(5001.0)  # kept


async def test_concurrent_reservations_never_share_a_slot(db: Database) -> None:
    """Several senders at once (separate transactions, separate connections on PostgreSQL):
    the slots handed out are all different and evenly spaced."""
    slots = sorted(await asyncio.gather(*(_reserve(db, 50.0) for _ in range(20))))
    assert slots == pytest.approx([50.0 + 0.1 * i for i in range(20)])


async def _reserve_many(db: Database, now: float, count: int) -> float:
    async with db.unit() as session:
        return await pace.reserve_many(
            session, key=pace.OVERALL, now=now, interval=0.1, count=count
        )


async def test_blocks_of_slots_follow_each_other_and_single_ones(db: Database) -> None:
    assert await _reserve_many(db, 10.0, 3) == pytest.approx(10.0)  # 10.0, 10.1, 10.2
    assert await _reserve(db, 10.0) == pytest.approx(10.3)
    assert await _reserve_many(db, 10.0, 2) == pytest.approx(10.4)  # 10.4, 10.5
    assert await _reserve_many(db, 30.0, 4) == pytest.approx(30.0)  # idle since: no debt


async def test_concurrent_blocks_never_overlap(db: Database) -> None:
    firsts = sorted(await asyncio.gather(*(_reserve_many(db, 50.0, 3) for _ in range(10))))
    assert firsts == pytest.approx([50.0 + 0.3 * i for i in range(10)])


async def test_two_sending_processes_keep_the_overall_rate_together(db: Database) -> None:
    """Each SharedPace reserves blocks of slots; between them, no second holds more turns
    than the rate (the first block's may start at once)."""
    from flows.clock import system_clock
    from handlers.telegram.pace import SharedPace

    rate = 40
    senders = [SharedPace(db, system_clock, per_second=rate) for _ in range(2)]
    granted: list[float] = []

    async def send(p: SharedPace) -> None:
        async with p.turn():
            granted.append(asyncio.get_running_loop().time())

    await asyncio.gather(*(send(senders[i % 2]) for i in range(100)))
    assert len(granted) == 100
    granted.sort()
    for i, t in enumerate(granted):
        in_a_second = sum(1 for u in granted[i:] if u - t < 1.0)
        assert in_a_second <= rate + 2, (i, in_a_second)
