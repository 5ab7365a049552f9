"""Schema migrations (Alembic, the only way the schema is made) and first-start seeding."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from storage.db import Database, async_url
from storage.directory_data import DivisionRow, iter_bundled_divisions
from storage.models import Division, Station

# Rows per INSERT when seeding, and per SELECT when the directory is read back.
SEED_BATCH = 2000


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("storage") / "migrations"))
    # ConfigParser interpolates '%'; URL-encoded passwords must survive it.
    cfg.set_main_option("sqlalchemy.url", async_url(database_url).replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Runs its own event loop (Alembic's env is async)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str) -> None:
    # Alembic's env.py calls asyncio.run(); keep it off the caller's running loop.
    await asyncio.to_thread(upgrade, database_url)


def station_name(township: str, county: str | None) -> str:
    return f"{county or ''}{township}未成年人保护工作站"


async def seed_directory(db: Database) -> bool:
    """Load the bundled directory and one station per township, once. Returns True if loaded.

    Rows go in as plain INSERTs of ``SEED_BATCH`` at a time, read from the files as they go:
    neither the 28,680 rows nor an ORM object per row are ever held at once."""
    async with db.unit() as session:
        count = (await session.exec(select(func.count()).select_from(Division))).one()
        if count:
            return False
        # Core executemany on the session's connection: SQLModel's session.execute() would
        # do the same but warns that it is meant for ORM selects.
        conn = await session.connection()
        upper: dict[str, DivisionRow] = {}  # cities and counties, for the stations' names
        stations: list[dict[str, str]] = []
        batch: list[dict[str, str | None]] = []
        for r in iter_bundled_divisions():
            batch.append(r._asdict())
            if len(batch) == SEED_BATCH:
                await conn.execute(insert(Division), batch)
                batch = []
            if r.level in ("city", "county"):
                upper[r.code] = r
            elif r.level == "township":
                parent = upper[r.parent_code] if r.parent_code else None
                county = parent if parent is not None and parent.level == "county" else None
                city_code = county.parent_code if county is not None else r.parent_code
                assert city_code is not None
                stations.append(
                    {
                        "code": r.code,
                        "name": station_name(r.name, county.name if county else None),
                        "county_code": county.code if county else city_code,
                        "city_code": city_code,
                    }
                )
        if batch:
            await conn.execute(insert(Division), batch)
        await conn.execute(insert(Station), stations)
    return True


async def division_batches(
    db: Database, *, size: int = SEED_BATCH
) -> AsyncIterator[list[DivisionRow]]:
    """The directory as stored (loaded once from the bundled files by ``seed_directory``), in
    code order, ``size`` rows at a time, each batch read in its own short transaction."""
    after = ""
    while True:
        async with db.unit() as session:
            rows = (
                await session.exec(
                    select(Division.code, Division.name, Division.level, Division.parent_code)
                    .where(Division.code > after)
                    .order_by(Division.code)
                    .limit(size)
                )
            ).all()
        if not rows:
            return
        yield [DivisionRow(*row) for row in rows]
        after = rows[-1][0]


async def schema_is_current(engine: AsyncEngine) -> bool:
    """True when the database is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    async with engine.connect() as conn:
        current = await conn.run_sync(
            lambda c: MigrationContext.configure(c).get_current_revision()
        )
    return current == script.get_current_head()
