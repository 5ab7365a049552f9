"""storage.dialogues: a chat's row is made on its first turn, and written back only when the
turn changed it — a change made inside the answers in place included."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlmodel import col, select

from storage import dialogues
from storage.db import Database
from storage.models import Conversation


async def _lock(db: Database, clock: Any, chat: str = "42") -> dialogues.Chat:
    async with db.unit() as session:
        return await dialogues.lock(
            session, channel="telegram", chat_id=chat, locale="en", now=clock()
        )


async def test_the_first_turn_makes_the_row_at_the_menu_and_later_ones_find_it(
    db: Database, clock: Any
) -> None:
    first = await _lock(db, clock)
    again = await _lock(db, clock)
    assert (first.id, first.step, first.answers, first.locale, first.version) == (
        again.id,
        "menu",
        {},
        "en",
        0,
    )
    async with db.unit() as session:
        rows = (await session.exec(select(Conversation))).all()
    assert [(r.chat_id, r.step) for r in rows] == [("42", "menu")]


async def test_save_writes_only_a_changed_row_and_sees_a_change_made_in_place(
    db: Database, clock: Any
) -> None:
    updates = 0

    def counted(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        nonlocal updates
        updates += statement.startswith("UPDATE conversation")

    event.listen(db.engine.sync_engine, "before_cursor_execute", counted)
    try:
        async with db.unit() as session:
            chat = await dialogues.lock(
                session, channel="telegram", chat_id="7", locale="zh", now=clock()
            )
            chat.answers = {"concerns": ["neglect"]}
            await dialogues.save(session, chat)
            await dialogues.save(session, chat)  # nothing changed since
        async with db.unit() as session:
            chat = await dialogues.lock(
                session, channel="telegram", chat_id="7", locale="zh", now=clock()
            )
            await dialogues.save(session, chat)  # untouched: no write
            chat.answers["concerns"].append("violence")  # in place
            chat.version += 1
            await dialogues.save(session, chat)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", counted)
    assert updates == 2
    async with db.unit() as session:
        row = (
            await session.exec(select(Conversation).where(col(Conversation.chat_id) == "7"))
        ).one()
    assert (row.answers, row.version) == ({"concerns": ["neglect", "violence"]}, 1)


async def test_restore_puts_back_what_copy_took(db: Database, clock: Any) -> None:
    chat = await _lock(db, clock)
    chat.flood_tokens = 3.0
    kept = chat.copy()
    chat.answers["x"] = 1
    chat.step, chat.flood_tokens = "danger", 2.0
    chat.restore(kept)
    assert (chat.step, chat.answers, chat.flood_tokens) == ("menu", {}, 3.0)
