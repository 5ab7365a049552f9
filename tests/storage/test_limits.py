"""The storage guard: SQLite refuses what PostgreSQL refuses (too long for the column, U+0000,
a lone surrogate), for ORM flushes and Core statements alike, naming the column and never the
value; and the database's own errors carry no values either."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from factories import raw_invite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import col, insert, select, update

from storage.db import Database
from storage.limits import StoredValueError
from storage.models import NOTE_MAX, Invite, OutboxMessage, StaffMember, Station, TicketEvent
from storage.outbox import enqueue, fit_key

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SECRET = "孩子的名字是小明"


def _member(name: str) -> StaffMember:
    return StaffMember(
        user_id="1",
        chat_id="1",
        display_name=name,
        role="station",
        scope_level="township",
        scope_code="440117001000",
        joined_at=NOW,
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (SECRET + "名" * 121, "129 characters, at most 128"),
        (SECRET + "\x00", "contains U+0000"),
        (SECRET + "\ud800", "contains a lone surrogate"),
    ],
)
async def test_an_orm_insert_that_postgresql_would_refuse_is_refused_on_both(
    db: Database, value: str, problem: str
) -> None:
    with pytest.raises(StoredValueError) as caught:
        async with db.unit() as session:
            session.add(_member(value))
    assert str(caught.value) == f"staff_member.display_name: {problem}"
    assert caught.value.safe_detail == str(caught.value)
    # A failed write like PostgreSQL's: handled wherever a database error is.
    assert isinstance(caught.value, SQLAlchemyError)
    assert SECRET not in str(caught.value)
    async with db.unit() as session:
        assert (await session.exec(select(StaffMember))).all() == []


async def test_an_orm_update_is_checked_too(db: Database) -> None:
    async with db.unit() as session:
        member = _member("社工")
        session.add(member)
    with pytest.raises(StoredValueError, match=r"^staff_member\.display_name: contains U\+0000$"):
        async with db.unit() as session:
            member.display_name = "社\x00工"
            session.add(member)


async def test_the_longest_value_fits(db: Database) -> None:
    async with db.unit() as session:
        session.add(_member("名" * 128))
    async with db.unit() as session:
        assert len((await session.exec(select(StaffMember))).one().display_name) == 128


async def test_core_inserts_and_updates_are_checked(db: Database) -> None:
    with pytest.raises(StoredValueError, match=r"^outbox\.target: 65 characters, at most 64$"):
        async with db.unit() as session:
            await enqueue(
                session, dedup_key="k", kind="reply", now=NOW, payload={}, chat_id="9" * 65
            )
    async with db.unit() as session:
        session.add(raw_invite("h", now=NOW))
    with pytest.raises(StoredValueError, match=r"^invite\.used_by: contains U\+0000$"):
        async with db.unit() as session:
            await session.exec(update(Invite).values(used_by="telegram:\x00"))
    rows = [raw_invite(f"h{i}", now=NOW).model_dump(exclude={"id"}) for i in range(3)]
    rows[2]["used_by"] = "u" * 65
    with pytest.raises(StoredValueError, match=r"^invite\.used_by: 65 characters, at most 64$"):
        async with db.unit() as session:
            await session.exec(insert(Invite).values(rows))  # one VALUES clause, three rows


async def test_values_that_are_only_compared_are_not_refused(db: Database) -> None:
    """A long or odd value in a WHERE is no write: looking up "/ticket <long text>" must
    find nothing, not fail."""
    async with db.unit() as session:
        found = await session.exec(select(Station).where(col(Station.code) == "4" * 500))
        assert found.all() == []
        await session.exec(
            update(OutboxMessage).where(col(OutboxMessage.target) == "9" * 500).values(attempts=1)
        )


async def test_a_note_longer_than_its_column_is_refused(db: Database) -> None:
    with pytest.raises(StoredValueError, match=rf"^ticket_event\.note: {NOTE_MAX + 1} char"):
        async with db.unit() as session:
            session.add(
                TicketEvent(ticket_id=1, at=NOW, actor="a", kind="note", note="x" * (NOTE_MAX + 1))
            )


async def test_two_long_dedup_keys_that_differ_only_at_the_end_stay_two_messages(
    db: Database,
) -> None:
    base = "reporter:resolved:" + "x" * 200
    assert fit_key(base + "1") != fit_key(base + "2")
    assert len(fit_key(base + "1")) == 128 and fit_key("short") == "short"
    async with db.unit() as session:
        for end in "12":
            assert await enqueue(
                session, dedup_key=base + end, kind="reply", now=NOW, payload={}, chat_id="7"
            )
        assert not await enqueue(
            session, dedup_key=base + "1", kind="reply", now=NOW, payload={}, chat_id="7"
        )
    async with db.unit() as session:
        assert len((await session.exec(select(OutboxMessage))).all()) == 2


async def test_a_database_error_does_not_carry_the_statements_values(db: Database) -> None:
    """hide_parameters: an IntegrityError's text names the statement, not the row's values
    (PostgreSQL's DETAIL line, which quotes the key, is not in it either)."""
    for attempt in range(2):
        try:
            async with db.unit() as session:
                session.add(raw_invite(SECRET, now=NOW))
        except DBAPIError as exc:
            assert attempt == 1
            assert SECRET not in str(exc) and SECRET not in repr(exc)
            assert "parameters hidden" in str(exc)
            break
    else:
        pytest.fail("the duplicate was stored")
