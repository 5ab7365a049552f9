"""The schema comes from Alembic; the directory loads once."""

from __future__ import annotations

from sqlalchemy import func, inspect
from sqlmodel import SQLModel, col, select

import storage.models  # noqa: F401
from storage.db import Database
from storage.directory_data import read_bundled_divisions
from storage.migrate import division_batches, schema_is_current, seed_directory, station_name
from storage.models import Division, Station


async def test_migrations_create_every_table(db: Database) -> None:
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables
    assert await schema_is_current(db.engine)


async def test_directory_seeded_once(db: Database) -> None:
    assert await seed_directory(db) is False  # the session fixture loaded it already
    async with db.unit() as session:
        levels = dict(
            (
                await session.exec(
                    select(Division.level, func.count()).group_by(col(Division.level))
                )
            ).all()
        )
        stations = (await session.exec(select(func.count()).select_from(Station))).one()
        jiekou = await session.get(Station, "440117001000")
    assert levels == {"city": 21, "county": 122, "township": 1757, "village": 26780}
    assert stations == 1757
    assert jiekou is not None and jiekou.name == "从化区街口街道未成年人保护工作站"
    assert (jiekou.county_code, jiekou.city_code) == ("440117000000", "440100000000")


async def test_the_directory_reads_back_whole_in_code_order(db: Database) -> None:
    batches = [batch async for batch in division_batches(db, size=1000)]
    assert {len(b) for b in batches[:-1]} == {1000}
    assert [r for b in batches for r in b] == sorted(read_bundled_divisions())


async def test_every_township_has_its_station(db: Database) -> None:
    rows = {r.code: r for r in read_bundled_divisions()}
    expected = set()
    for r in rows.values():
        if r.level == "township":
            assert r.parent_code is not None
            parent = rows[r.parent_code]
            county = parent if parent.level == "county" else None
            city = county.parent_code if county else parent.code
            name = station_name(r.name, county.name if county else None)
            expected.add((r.code, name, county.code if county else city, city, True))
    async with db.unit() as session:
        stations = (await session.exec(select(Station))).all()
    assert {(s.code, s.name, s.county_code, s.city_code, s.active) for s in stations} == expected


async def test_dongguan_stations_hang_off_the_city(db: Database) -> None:
    async with db.unit() as session:
        humen = (
            await session.exec(select(Station).where(col(Station.name).contains("虎门")))
        ).one()
    assert humen.county_code == humen.city_code == "441900000000"


async def test_models_and_migrations_agree(db: Database) -> None:
    """A model change without a migration fails here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def diff(conn: object) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})  # type: ignore[arg-type]
        return list(compare_metadata(ctx, SQLModel.metadata))

    async with db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []


async def test_inbox_payloads_are_scrubbed_after_a_week(db: Database) -> None:
    from datetime import UTC, datetime, timedelta

    from storage import inbox
    from storage.models import InboxUpdate

    now = datetime(2026, 11, 23, tzinfo=UTC)
    typed = {"message": {"text": "孩子的电话 13800138000"}}
    async with db.unit() as session:
        # 1 done 8 days ago; 2 done 6 days ago; 4 parked as failed 8 days ago; 5 had no chat.
        for uid, processed, chat in (
            (1, now - timedelta(days=8), "42"),
            (2, now - timedelta(days=6), "42"),
            (4, now - timedelta(days=8), "43"),
            (5, now - timedelta(days=8), None),
        ):
            await inbox.record(
                session,
                channel="telegram",
                update_id=uid,
                payload=typed,
                chat_key=chat,
                now=processed,
            )
            if uid == 4:
                for _ in range(2):
                    await inbox.mark_failed_attempt(
                        session,
                        channel="telegram",
                        update_id=4,
                        error="boom",
                        max_attempts=2,
                        now=processed,
                    )
                continue
            row = await inbox.claim(session, channel="telegram", update_id=uid)
            assert row is not None
            inbox.mark_done(session, row, now=processed)
        await inbox.record(
            session, channel="telegram", update_id=3, payload={"x": 1}, chat_key="42", now=now
        )
    async with db.unit() as session:
        assert await inbox.scrub(session, processed_before=now - timedelta(days=7)) == 3
    async with db.unit() as session:
        assert await inbox.scrub(session, processed_before=now - timedelta(days=7)) == 0
        rows = {r.update_id: r for r in (await session.exec(select(InboxUpdate))).all()}
    assert rows[4].status == "failed"
    for uid in (1, 4, 5):
        assert rows[uid].payload == {} and rows[uid].chat_key is None and rows[uid].scrubbed
    assert rows[2].payload and rows[3].payload  # recent, and not yet processed


async def test_an_update_id_is_a_redelivery_within_a_day_and_reused_after(db: Database) -> None:
    """Telegram keeps updates a day and renumbers after a week without any: an id seen long
    ago is a new update, not a redelivery to be ignored."""
    from datetime import UTC, datetime, timedelta

    from storage import inbox
    from storage.models import InboxUpdate

    then = datetime(2026, 11, 1, tzinfo=UTC)
    async with db.unit() as session:
        assert await inbox.record(
            session, channel="telegram", update_id=77, payload={"a": 1}, chat_key="9", now=then
        )
        row = await inbox.claim(session, channel="telegram", update_id=77)
        assert row is not None
        inbox.mark_done(session, row, now=then)
    async with db.unit() as session:
        again = then + timedelta(hours=20)
        assert not await inbox.record(
            session, channel="telegram", update_id=77, payload={"a": 1}, chat_key="9", now=again
        )
    later = then + timedelta(days=9)
    async with db.unit() as session:
        assert await inbox.record(
            session, channel="telegram", update_id=77, payload={"b": 2}, chat_key="8", now=later
        )
    async with db.unit() as session:
        [row] = (await session.exec(select(InboxUpdate))).all()
        claimed = await inbox.claim(session, channel="telegram", update_id=77)
    assert (row.payload, row.chat_key, row.status, row.received_at) == (
        {"b": 2},
        "8",
        "pending",
        later,
    )
    assert claimed is not None  # it will be processed


async def test_0009_api_token_downgrades_and_upgrades_again(
    db: Database, database_url: str
) -> None:
    """A round trip on the test database: down to 0008 drops ``api_token`` (and the newer
    ``web_session`` and ``faq_entry``, nothing else), back up to head makes it again, usable."""
    import asyncio
    from datetime import UTC, datetime

    from alembic import command

    from storage.migrate import alembic_config, upgrade
    from storage.models import ApiToken, StaffMember

    async def tables() -> set[str]:
        async with db.engine.connect() as conn:
            return await conn.run_sync(lambda c: set(inspect(c).get_table_names()))

    before = await tables()
    assert "api_token" in before
    await db.engine.dispose()  # no pooled connection holds the table while it is dropped
    try:
        await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0008")
        assert await tables() == before - {"api_token", "web_session", "faq_entry"}
        assert not await schema_is_current(db.engine)
    finally:
        await asyncio.to_thread(upgrade, database_url)
    assert await tables() == before
    assert await schema_is_current(db.engine)
    now = datetime(2026, 12, 8, tzinfo=UTC)
    async with db.unit() as session:
        member = StaffMember(
            user_id="1",
            chat_id="1",
            display_name="x",
            role="operator",
            scope_level="province",
            scope_code="440000000000",
            joined_at=now,
        )
        session.add(member)
        await session.flush()
        assert member.id is not None
        session.add(ApiToken(staff_id=member.id, token_hash="0" * 64, created_at=now))
    async with db.unit() as session:
        assert len((await session.exec(select(ApiToken))).all()) == 1


async def test_0010_web_session_downgrades_and_upgrades_again(
    db: Database, database_url: str
) -> None:
    """Down to 0009 drops ``web_session`` (and the newer ``faq_entry``, nothing else); back up
    makes it again."""
    import asyncio

    from alembic import command

    from storage.migrate import alembic_config, upgrade

    async def tables() -> set[str]:
        async with db.engine.connect() as conn:
            return await conn.run_sync(lambda c: set(inspect(c).get_table_names()))

    before = await tables()
    assert "web_session" in before
    await db.engine.dispose()
    try:
        await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0009")
        assert await tables() == before - {"web_session", "faq_entry"}
    finally:
        await asyncio.to_thread(upgrade, database_url)
    assert await tables() == before
    assert await schema_is_current(db.engine)


async def test_0012_faq_downgrades_and_upgrades_again(db: Database, database_url: str) -> None:
    """Down to 0011 drops ``faq_entry`` and ``station.phone`` and keeps every station; back up
    makes them again, the phone empty."""
    import asyncio

    from alembic import command

    from storage.migrate import alembic_config, upgrade

    async def shape() -> tuple[set[str], set[str]]:
        async with db.engine.connect() as conn:
            return await conn.run_sync(
                lambda c: (
                    set(inspect(c).get_table_names()),
                    {column["name"] for column in inspect(c).get_columns("station")},
                )
            )

    async def stations() -> int:
        async with db.unit() as session:
            return int((await session.exec(select(func.count()).select_from(Station))).one())

    before = await shape()
    assert "faq_entry" in before[0] and "phone" in before[1]
    await db.engine.dispose()
    try:
        await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0011")
        tables, columns = await shape()
        assert tables == before[0] - {"faq_entry"} and columns == before[1] - {"phone"}
        assert await stations() == 1757
    finally:
        await asyncio.to_thread(upgrade, database_url)
    assert await shape() == before
    assert await stations() == 1757
    async with db.unit() as session:
        jiekou = await session.get(Station, "440117001000")
    assert jiekou is not None and jiekou.phone is None
