"""Schema migrations (Alembic, the only way the schema is made) and first-start seeding."""

from __future__ import annotations

import asyncio
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from storage.db import Database, async_url
from storage.directory_data import DivisionRow, read_bundled_divisions
from storage.models import Division, Station


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
    """Load the bundled directory and one station per township, once. Returns True if loaded."""
    async with db.unit() as session:
        count = (await session.exec(select(func.count()).select_from(Division))).one()
        if count:
            return False
        rows = read_bundled_divisions()
        names = {r.code: r for r in rows}
        session.add_all(
            Division(code=r.code, name=r.name, level=r.level, parent_code=r.parent_code)
            for r in rows
        )
        for r in rows:
            if r.level != "township":
                continue
            parent = names[r.parent_code] if r.parent_code else None
            county = parent if parent is not None and parent.level == "county" else None
            city_code = county.parent_code if county is not None else r.parent_code
            assert city_code is not None
            session.add(
                Station(
                    code=r.code,
                    name=station_name(r.name, county.name if county else None),
                    county_code=county.code if county else city_code,
                    city_code=city_code,
                )
            )
    return True


async def load_divisions(db: Database) -> list[DivisionRow]:
    """The directory as stored (loaded once from the bundled files by ``seed_directory``)."""
    async with db.unit() as session:
        rows = (
            await session.exec(
                select(Division.code, Division.name, Division.level, Division.parent_code)
            )
        ).all()
    return [DivisionRow(*row) for row in rows]


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
