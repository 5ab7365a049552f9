"""The inbox records an update once; only its own unique key makes a second one a redelivery."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage import inbox
from storage.db import Database
from storage.models import InboxUpdate


async def _record(db: Database, clock: Any, update_id: int) -> bool:
    async with db.unit() as session:
        return await inbox.record(
            session,
            channel="telegram",
            update_id=update_id,
            payload={"update_id": update_id},
            chat_key="1",
            now=clock(),
        )


async def test_the_same_update_twice_is_a_redelivery(db: Database, clock: Any) -> None:
    assert await _record(db, clock, 501) is True
    assert await _record(db, clock, 501) is False


async def test_another_constraint_failing_is_not_taken_for_a_redelivery(
    db: Database, clock: Any
) -> None:
    """A failed write of a new update must fail loudly: taken for a duplicate, the update
    would be confirmed to Telegram without being stored, and lost."""
    async with db.engine.begin() as conn:
        if db.sqlite:
            await conn.execute(
                text(
                    "CREATE TRIGGER hutong_test_inbox BEFORE INSERT ON inbox_update "
                    "BEGIN SELECT RAISE(ABORT, 'constraint'); END"
                )
            )
        else:
            await conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION hutong_test_inbox() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'constraint' USING ERRCODE = 'check_violation'; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            await conn.execute(
                text(
                    "CREATE TRIGGER hutong_test_inbox BEFORE INSERT ON inbox_update "
                    "FOR EACH ROW EXECUTE FUNCTION hutong_test_inbox()"
                )
            )
    try:
        with pytest.raises(IntegrityError):
            await _record(db, clock, 502)
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(
                text("DROP TRIGGER hutong_test_inbox" + ("" if db.sqlite else " ON inbox_update"))
            )
            if not db.sqlite:
                await conn.execute(text("DROP FUNCTION hutong_test_inbox()"))
    assert await _record(db, clock, 502) is True


async def test_a_batch_is_stored_at_once_and_its_redeliveries_are_told_apart(
    db: Database, clock: Any
) -> None:
    def batch(*ids: int) -> list[tuple[int, dict[str, Any], str | None]]:
        return [(i, {"update_id": i, "n": [i, None]}, str(i)) for i in ids]

    async with db.unit() as session:
        first = await inbox.record_many(
            session, channel="telegram", updates=batch(1, 2, 3), now=clock()
        )
    async with db.unit() as session:
        second = await inbox.record_many(
            session, channel="telegram", updates=batch(2, 4, 3), now=clock()
        )
        rows = (await session.exec(select(InboxUpdate).order_by(col(InboxUpdate.update_id)))).all()
    assert (first, second) == ({1, 2, 3}, {4})
    assert [(r.update_id, r.payload, r.chat_key, r.status) for r in rows] == [
        (i, {"update_id": i, "n": [i, None]}, str(i), "pending") for i in (1, 2, 3, 4)
    ]


async def test_an_id_seen_before_the_redelivery_window_is_a_new_update_in_a_batch(
    db: Database, clock: Any
) -> None:
    async with db.unit() as session:
        await inbox.record_many(
            session, channel="telegram", updates=[(7, {"old": 1}, "1")], now=clock()
        )
    clock.advance(hours=37)  # Telegram renumbered after a quiet week: id 7 is another update
    async with db.unit() as session:
        stored = await inbox.record_many(
            session, channel="telegram", updates=[(7, {"new": 1}, "2"), (8, {}, None)], now=clock()
        )
        row = (await session.exec(select(InboxUpdate).where(col(InboxUpdate.update_id) == 7))).one()
    assert stored == {7, 8}
    assert (row.payload, row.chat_key, row.received_at) == ({"new": 1}, "2", clock())


async def test_take_claims_once_and_a_failed_turn_leaves_the_update_pending(
    db: Database, clock: Any
) -> None:
    assert await _record(db, clock, 601) is True
    received = clock()
    clock.advance(seconds=5)
    with pytest.raises(RuntimeError):
        async with db.unit() as session:
            assert await inbox.take(session, channel="telegram", update_id=601, now=clock())
            raise RuntimeError("the turn failed")
    async with db.unit() as session:
        taken = await inbox.take(session, channel="telegram", update_id=601, now=clock())
    async with db.unit() as session:
        again = await inbox.take(session, channel="telegram", update_id=601, now=clock())
        unknown = await inbox.take(session, channel="telegram", update_id=999, now=clock())
        row = (
            await session.exec(select(InboxUpdate).where(col(InboxUpdate.update_id) == 601))
        ).one()
    assert (taken, again, unknown) == (received, None, None)
    assert (row.status, row.attempts, row.processed_at) == ("done", 1, clock())
