"""The stored policy answers (``faq_entry``): replaced whole by an operator's import, read by
the bot (flows.faq).

An import is one transaction: the old set is read, compared with the new one (what the
command prints), deleted, and the new set inserted — so the bot sees the old answers or the
new ones, never a mixture, and a failure anywhere leaves the old ones untouched. On
PostgreSQL two imports at once take turns on a table lock that readers never wait for;
SQLite's transactions take its one write lock up front (storage.db).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.faq_file import FIELDS, Entry
from storage.models import FaqEntry


@dataclass(slots=True)
class Changes:
    """What an import changed, by entry id, in the file's order."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[tuple[str, list[str]]] = field(default_factory=list)  # id, fields changed
    unchanged: int = 0
    reordered: bool = False  # the same ids, listed in another order
    total: int = 0

    @property
    def anything(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.reordered)


def row_of(entry: Entry, *, position: int, now: datetime) -> FaqEntry:
    return FaqEntry(
        key=entry.key,
        position=position,
        texts={
            locale: {
                "question": words.question,
                "answer": words.answer,
                "keywords": list(words.keywords),
            }
            for locale, words in entry.texts.items()
        },
        source_title=entry.source_title,
        source_date=entry.source_date,
        source_url=entry.source_url,
        imported_at=now,
    )


def _fields(row: FaqEntry) -> dict[str, Any]:
    """A stored entry as the file's fields (question, answer_en, …), to compare."""
    flat: dict[str, Any] = {
        "source_title": row.source_title,
        "source_date": row.source_date.isoformat(),
        "source_url": row.source_url,
    }
    for locale, words in row.texts.items():
        suffix = "" if locale == "zh" else f"_{locale}"
        for name in ("question", "answer", "keywords"):
            flat[name + suffix] = words.get(name)
    return flat


def compare(old: list[FaqEntry], new: list[FaqEntry]) -> Changes:
    before = {row.key: row for row in old}
    changes = Changes(total=len(new))
    for row in new:
        was = before.get(row.key)
        if was is None:
            changes.added.append(row.key)
            continue
        a, b = _fields(was), _fields(row)
        differ = sorted(
            (name for name in {*a, *b} if a.get(name) != b.get(name)),
            key=lambda name: (FIELDS.index(name) if name in FIELDS else len(FIELDS), name),
        )
        if differ:
            changes.changed.append((row.key, differ))
        else:
            changes.unchanged += 1
    kept = {row.key for row in new}
    changes.removed = [
        row.key for row in sorted(old, key=lambda r: r.position) if row.key not in kept
    ]
    order_before = [r.key for r in sorted(old, key=lambda r: r.position) if r.key in kept]
    order_after = [r.key for r in new if r.key in before]
    changes.reordered = order_before != order_after
    return changes


async def replace_all(
    *, session: AsyncSession, entries: list[Entry], now: datetime, apply: bool = True
) -> Changes:
    """Put ``entries`` in place of every stored one (``apply=False``: only say what would
    change), in the caller's transaction."""
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        # Serialises imports with each other only: SHARE ROW EXCLUSIVE conflicts with itself
        # and with writes, not with the bot's reads.
        await conn.execute(text("LOCK TABLE faq_entry IN SHARE ROW EXCLUSIVE MODE"))
    old = list((await session.exec(select(FaqEntry))).all())
    new = [row_of(entry, position=n, now=now) for n, entry in enumerate(entries)]
    changes = compare(old, new)
    if apply:
        await conn.execute(delete(FaqEntry))
        for row in old:  # the ORM must not flush the deleted rows' objects again
            session.expunge(row)
        session.add_all(new)
        await session.flush()
    return changes


async def listed(session: AsyncSession) -> list[FaqEntry]:
    """Every stored entry, in the file's order."""
    return list((await session.exec(select(FaqEntry).order_by(col(FaqEntry.position)))).all())


async def get(session: AsyncSession, key: str) -> FaqEntry | None:
    return await session.get(FaqEntry, key)
