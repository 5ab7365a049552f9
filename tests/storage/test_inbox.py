"""The inbox records an update once; only its own unique key makes a second one a redelivery."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import inbox
from storage.db import Database


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
