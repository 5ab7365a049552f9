"""A chat's stored dialogue (the ``conversation`` row) as one turn reads and writes it.

Every update is a turn, so this is the hottest row of the service: it is read (locked) with
one Core statement built once, kept in a plain object while the turn runs, and written back
with one UPDATE when the turn changed anything — no ORM unit of work in between. Other
code (retention, the failure notice) may still use the ``Conversation`` model.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Conversation, table

_CONV = table(Conversation)
# What a turn may change; ``id``, ``channel`` and ``chat_id`` identify the row.
MUTABLE: Final = (
    "step",
    "answers",
    "locale",
    "version",
    "report_seq",
    "updated_at",
    "flood_tokens",
    "flood_at",
    "muted_until",
)
_COLUMNS = [_CONV.c.id, _CONV.c.channel, _CONV.c.chat_id, *(_CONV.c[name] for name in MUTABLE)]
_LOCK = (
    select(*_COLUMNS)
    .where(_CONV.c.channel == bindparam("b_channel"), _CONV.c.chat_id == bindparam("b_chat"))
    .with_for_update()  # PostgreSQL; SQLite has one writer, and renders nothing here
)
_CREATE = {
    name: dialect.insert(_CONV)
    .on_conflict_do_nothing(index_elements=["channel", "chat_id"])
    .returning(*_COLUMNS)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
# The SET clause comes from the parameters, bound under their columns' names (so the write
# is checked like any other by storage.limits).
_SAVE = update(_CONV).where(_CONV.c.id == bindparam("b_id"))


@dataclass(slots=True, eq=False)
class Chat:
    """One chat's dialogue row, as loaded for a turn; ``save`` writes what changed."""

    id: int
    channel: str
    chat_id: str
    step: str
    answers: dict[str, Any]
    locale: str
    version: int
    report_seq: int
    updated_at: datetime
    flood_tokens: float | None
    flood_at: datetime | None
    muted_until: datetime | None
    # The values as stored (answers as JSON, so a change made in place is seen too).
    stored: tuple[Any, ...] = ()
    # Made by this turn's ``lock`` (the chat's first message).
    created: bool = False

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in MUTABLE}

    def state(self) -> tuple[Any, ...]:
        return tuple(
            _frozen(value) if name == "answers" else value for name, value in self.values().items()
        )

    def copy(self) -> dict[str, Any]:
        """The mutable values now, to be put back with ``restore``."""
        return copy.deepcopy(self.values())

    def restore(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            setattr(self, name, value)


def _frozen(answers: dict[str, Any]) -> bytes | str:
    try:
        return orjson.dumps(answers, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # what orjson refuses (an integer past 64 bits) the column may take
        return json.dumps(answers, sort_keys=True, default=repr)


def _chat(row: Any) -> Chat:
    chat = Chat(*row)
    chat.stored = chat.state()
    return chat


async def lock(
    session: AsyncSession, *, channel: str, chat_id: str, locale: str, now: datetime
) -> Chat:
    """The chat's dialogue, locked for the caller's transaction; made (at the menu) on its
    first message. Two workers making it at once: the second takes the first's row."""
    conn = await session.connection()
    key = {"b_channel": channel, "b_chat": chat_id}
    row = (await conn.execute(_LOCK, key)).first()
    if row is not None:
        return _chat(row)
    created = await conn.execute(
        _CREATE[conn.dialect.name],
        {
            "channel": channel,
            "chat_id": chat_id,
            "step": "menu",
            "answers": {},
            "locale": locale,
            "version": 0,
            "report_seq": 0,
            "updated_at": now,
            "flood_tokens": None,
            "flood_at": None,
            "muted_until": None,
        },
    )
    made = created.first()
    row = made or (await conn.execute(_LOCK, key)).first()
    assert row is not None
    chat = _chat(row)
    chat.created = made is not None
    return chat


async def save(session: AsyncSession, chat: Chat) -> None:
    """Write the chat's dialogue back if the turn changed it (one UPDATE)."""
    state = chat.state()
    if state == chat.stored:
        return
    conn = await session.connection()
    await conn.execute(_SAVE, {"b_id": chat.id, **chat.values()})
    chat.stored = state
