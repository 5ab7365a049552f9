"""storage.bulk.update_by_id on the real database: each row gets its own values (None and
time-zone aware times included), other rows and columns are left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import SQLModel, col, select

from storage import bulk, inbox
from storage.db import Database
from storage.models import InboxUpdate

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


async def test_each_row_gets_its_own_values_and_the_rest_is_untouched(db: Database) -> None:
    async with db.unit() as session:
        for n in range(3):
            await inbox.record(
                session, channel="t", update_id=n, payload={"n": n}, chat_key=f"c{n}", now=T0
            )
    async with db.unit() as session:
        ids = {r.update_id: r.id for r in (await session.exec(select(InboxUpdate))).all()}
        await bulk.update_by_id(
            session,
            table=SQLModel.metadata.tables["inbox_update"],
            rows=[
                {
                    "id": ids[0],
                    "status": "done",
                    "processed_at": T0 + timedelta(hours=1),
                    "chat_key": None,
                },
                {"id": ids[1], "status": "failed", "processed_at": None, "chat_key": "x"},
            ],
            columns=["status", "processed_at", "chat_key"],
        )
    async with db.unit() as session:
        rows = (await session.exec(select(InboxUpdate).order_by(col(InboxUpdate.update_id)))).all()
    assert [(r.status, r.processed_at, r.chat_key, r.payload) for r in rows] == [
        ("done", T0 + timedelta(hours=1), None, {"n": 0}),
        ("failed", None, "x", {"n": 1}),
        ("pending", None, "c2", {"n": 2}),
    ]


async def test_no_rows_is_no_statement(db: Database) -> None:
    async with db.unit() as session:
        await bulk.update_by_id(
            session, table=SQLModel.metadata.tables["inbox_update"], rows=[], columns=["status"]
        )
