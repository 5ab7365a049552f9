"""describe(exc): what failed, in types and codes, never the data the failure was about."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest
from factories import raw_invite
from sqlalchemy.exc import DBAPIError
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from flows.faults import LIMIT, describe
from storage.db import Database
from storage.limits import StoredValueError

SECRET = "13912345678 孩子的名字是小明"


def test_a_message_is_never_part_of_the_description() -> None:
    assert describe(ValueError(SECRET)) == "ValueError"
    text_error = UnicodeEncodeError("utf-8", SECRET, 0, 1, "surrogates not allowed")
    assert describe(text_error) == "UnicodeEncodeError"


def test_causes_and_contexts_follow_outermost_first() -> None:
    try:
        try:
            raise KeyError(SECRET)
        except KeyError as inner:
            raise RuntimeError(SECRET) from inner
    except RuntimeError as exc:
        assert describe(exc) == "RuntimeError <- KeyError"
    try:
        try:
            raise KeyError(SECRET)
        except KeyError:
            raise OSError(111, SECRET) from None
    except OSError as exc:
        assert describe(exc) == "ConnectionRefusedError [errno 111]"  # context suppressed
    try:
        try:
            raise KeyError(SECRET)
        except KeyError:
            raise ValueError(SECRET)  # noqa: B904 - the implicit context is the point
    except ValueError as exc:
        assert describe(exc) == "ValueError <- KeyError"


def test_driver_codes_are_kept() -> None:
    error = asyncpg.exceptions.CharacterNotInRepertoireError(
        f"invalid byte sequence for encoding UTF8: 0x00 in {SECRET}"
    )
    assert describe(error) == ("asyncpg.exceptions.CharacterNotInRepertoireError [SQLSTATE 22021]")
    stored = StoredValueError("ticket", "story", "contains U+0000")
    assert describe(stored) == "storage.limits.StoredValueError [ticket.story: contains U+0000]"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), "403, bot was blocked by the user"),
        (BadRequest(f"Can't parse entities: unsupported start tag {SECRET}"), "400, can't parse"),
        (BadRequest(f"Bad Request: {SECRET}"), "400]"),
        (NetworkError(f"{SECRET} (503)"), "[503]"),
        (NetworkError("Bad Gateway"), "[bad gateway]"),
        (RetryAfter(7), "[429, retry after 7s]"),
        (TimedOut(), "[timeout]"),
        (InvalidToken(), "[401]"),
        (ChatMigrated(-100123), "[chat migrated]"),
    ],
)
def test_telegram_errors_give_a_status_and_only_known_phrases(
    error: Exception, expected: str
) -> None:
    described = describe(error)
    assert described.startswith("telegram.error.") and expected in described
    assert SECRET not in described


def test_a_long_chain_fits_the_error_column() -> None:
    exc: BaseException = ValueError()
    for _ in range(50):
        try:
            raise StoredValueError("t" * 60, "c" * 60, "x") from exc
        except StoredValueError as new:
            exc = new
    assert len(describe(exc)) <= LIMIT


async def test_a_real_database_error_is_described_without_its_values(db: Database) -> None:
    now = datetime.now(UTC)

    async with db.unit() as session:
        session.add(raw_invite(SECRET, now=now))
    with pytest.raises(DBAPIError) as caught:
        async with db.unit() as session:
            session.add(raw_invite(SECRET, now=now))
    described = describe(caught.value)
    assert described.startswith("sqlalchemy.exc.IntegrityError")
    assert ("SQLSTATE 23505" if not db.sqlite else "SQLITE_CONSTRAINT_UNIQUE") in described
    assert SECRET not in described and "13912345678" not in described
