"""flows.faq_store against the database: an import replaces every entry at once and says
what changed; one that fails half-way leaves the entries as they were."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from harness import FakeClock
from sqlalchemy import text

from flows import faq_store
from flows.faq_file import Entry, Texts, parse
from storage.db import Database
from storage.limits import StoredValueError

EXAMPLE = Path(__file__).resolve().parents[2] / "faq.example.toml"


def entry(key: str, answer: str = "答案。", *, title: str = "《文件》（文号）") -> Entry:
    return Entry(
        key, {"zh": Texts(f"问题{key}？", answer, ("关键词",))}, title, date(2020, 10, 17), None
    )


async def stored(db: Database) -> list[tuple[str, str]]:
    async with db.unit() as session:
        rows = await faq_store.listed(session)
    return [(r.key, r.texts["zh"]["answer"]) for r in rows]


async def test_the_first_import_adds_everything_in_the_file_s_order(
    db: Database, clock: FakeClock
) -> None:
    entries = parse(EXAMPLE.read_text(encoding="utf-8"))
    async with db.unit() as session:
        changes = await faq_store.replace_all(session=session, entries=entries, now=clock())
    assert changes.added == [e.key for e in entries] and changes.total == len(entries)
    assert not (changes.removed or changes.changed or changes.reordered)
    assert [key for key, _ in await stored(db)] == [e.key for e in entries]
    async with db.unit() as session:
        row = await faq_store.get(session, "kunjing-ertong")
    assert row is not None and row.source_date == date(2016, 6, 13)
    assert set(row.texts) == {"zh", "en"} and "困境儿童" in row.texts["zh"]["keywords"]


async def test_a_new_import_replaces_the_set_and_names_each_change(
    db: Database, clock: FakeClock
) -> None:
    async with db.unit() as session:
        await faq_store.replace_all(
            session=session, entries=[entry("a"), entry("b"), entry("c")], now=clock()
        )
    b2 = replace(entry("b", "新的答案。"), source_url="https://example.org/b")
    async with db.unit() as session:
        changes = await faq_store.replace_all(
            session=session, entries=[entry("c"), b2, entry("d")], now=clock()
        )
    assert changes.added == ["d"] and changes.removed == ["a"]
    assert changes.changed == [("b", ["answer", "source_url"])]
    assert changes.unchanged == 1 and changes.reordered  # c now comes before b
    assert await stored(db) == [("c", "答案。"), ("b", "新的答案。"), ("d", "答案。")]
    async with db.unit() as session:
        again = await faq_store.replace_all(
            session=session, entries=[entry("c"), b2, entry("d")], now=clock()
        )
    assert not again.anything and again.unchanged == 3


async def test_a_dry_run_says_what_would_change_and_stores_nothing(
    db: Database, clock: FakeClock
) -> None:
    async with db.unit() as session:
        await faq_store.replace_all(session=session, entries=[entry("a")], now=clock())
    async with db.unit() as session:
        changes = await faq_store.replace_all(
            session=session, entries=[entry("b")], now=clock(), apply=False
        )
    assert (changes.added, changes.removed) == (["b"], ["a"])
    assert await stored(db) == [("a", "答案。")]


async def test_an_import_that_fails_half_way_changes_nothing(
    db: Database, clock: FakeClock
) -> None:
    async with db.unit() as session:
        await faq_store.replace_all(session=session, entries=[entry("a"), entry("b")], now=clock())
    # The third entry cannot be stored (a title past its column): the whole import is undone,
    # the deletion of the old entries with it.
    bad = entry("z", title="《" + "长" * 250 + "》")
    with pytest.raises(StoredValueError, match=r"faq_entry\.source_title"):
        async with db.unit() as session:
            await faq_store.replace_all(
                session=session, entries=[entry("x"), entry("y"), bad], now=clock()
            )
    assert await stored(db) == [("a", "答案。"), ("b", "答案。")]


async def test_two_imports_at_once_leave_one_whole_set(db: Database, clock: FakeClock) -> None:
    """Two operators importing different files at the same moment: the second waits for the
    first (a table lock on PostgreSQL, the one writer on SQLite), so the answers are one file's
    or the other's, never a mixture of both."""
    async with db.unit() as session:
        await faq_store.replace_all(session=session, entries=[entry("old")], now=clock())
    started = asyncio.Event()

    async def one(keys: list[str], *, first: bool) -> None:
        async with db.unit() as session:
            if not first:
                await started.wait()  # the first holds its transaction open meanwhile
            await faq_store.replace_all(
                session=session, entries=[entry(k) for k in keys], now=clock()
            )
            if first:
                started.set()
                await other_is_waiting()  # the other import runs into this one, still open

    async def other_is_waiting() -> None:
        if db.sqlite:  # one writer: the other cannot begin before this one ends
            return
        async with asyncio.timeout(10):
            while True:  # the other transaction waits for a lock this one holds
                async with db.engine.connect() as conn:
                    query = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                    if (await conn.execute(query)).scalar_one():
                        return
                await asyncio.sleep(0.01)

    await asyncio.gather(one(["a1", "a2"], first=True), one(["b1", "b2"], first=False))
    assert [key for key, _ in await stored(db)] in (["a1", "a2"], ["b1", "b2"])
