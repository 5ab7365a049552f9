"""API bearer tokens: issued to enrolled staff, stored as a hash, refused once revoked or
once their holder left, last use written at most once a minute, each use logged by id."""

from __future__ import annotations

import hashlib
import logging

import pytest
from factories import CONGHUA, JIEKOU, enrol
from harness import FakeClock
from sqlalchemy import text
from sqlmodel import select

from flows.api_tokens import (
    PREFIX,
    Principal,
    TokenError,
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
)
from flows.staff import Scope, leave, revoke
from storage.db import Database
from storage.models import ApiToken, StaffMember


async def _member(db: Database, clock: FakeClock, *, user: str = "501", **kw: str) -> StaffMember:
    scope = Scope(kw.get("role", "station"), kw.get("level", "township"), kw.get("code", JIEKOU))
    return await enrol(db, scope=scope, user=user, now=clock(), locale=kw.get("locale", "zh"))


async def _create(
    db: Database, clock: FakeClock, staff_id: int | None, label: str | None = None
) -> tuple[ApiToken, str]:
    assert staff_id is not None
    async with db.unit() as session:
        return await create_token(session=session, staff_id=staff_id, label=label, now=clock())


async def _auth(db: Database, clock: FakeClock, token: str) -> Principal | None:
    async with db.unit() as session:
        return await authenticate(session=session, token=token, now=clock())


async def test_a_token_stands_for_its_holder_role_and_scope(db: Database, clock: FakeClock) -> None:
    member = await _member(db, clock, role="supervisor", level="county", code=CONGHUA, locale="en")
    row, token = await _create(db, clock, member.id, "  CRM  ")
    assert token.startswith(PREFIX) and len(token) >= len(PREFIX) + 43
    assert row.label == "CRM" and row.created_at == clock() and row.revoked_at is None
    assert await _auth(db, clock, token) == Principal(
        token_id=row.id or 0,
        staff_id=member.id or 0,
        role="supervisor",
        scope_level="county",
        scope_code=CONGHUA,
        locale="en",
    )
    # Each token is new; one more for the same member works beside the first.
    second_row, second = await _create(db, clock, member.id)
    assert second != token and second_row.label is None
    principal = await _auth(db, clock, second)
    assert principal is not None and principal.token_id == second_row.id


async def test_only_the_hash_is_stored(db: Database, clock: FakeClock) -> None:
    member = await _member(db, clock)
    row, token = await _create(db, clock, member.id, "front desk")
    async with db.unit() as session:
        stored = (await session.exec(select(ApiToken))).one()
        # Every column of every row, as text: the token is in none of them.
        dump = (await session.exec(text("SELECT * FROM api_token"))).all()  # type: ignore[call-overload]
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() == row.token_hash
    assert len(stored.token_hash) == 64
    secret = token.removeprefix(PREFIX)
    assert dump and not any(secret in str(v) for r in dump for v in r)


@pytest.mark.parametrize(
    "token",
    ["", "hutong_", "hutong_not-a-token", "x" * 5000, "Bearer hutong_abc"],
)
async def test_an_unknown_token_is_refused(db: Database, clock: FakeClock, token: str) -> None:
    member = await _member(db, clock)
    _, real = await _create(db, clock, member.id)
    assert await _auth(db, clock, token) is None
    assert await _auth(db, clock, real[:-1]) is None  # one character short
    assert await _auth(db, clock, real) is not None


async def test_a_revoked_token_is_refused_and_cannot_be_revoked_twice(
    db: Database, clock: FakeClock
) -> None:
    member = await _member(db, clock)
    row, token = await _create(db, clock, member.id)
    _, other = await _create(db, clock, member.id)
    assert row.id is not None
    clock.advance(minutes=5)
    async with db.unit() as session:
        revoked = await revoke_token(session=session, token_id=row.id, now=clock())
    assert revoked.revoked_at == clock()
    assert await _auth(db, clock, token) is None
    assert await _auth(db, clock, other) is not None  # only that one
    for token_id, key in ((row.id, "revoke.already"), (987654, "revoke.unknown")):
        with pytest.raises(TokenError) as refused:
            async with db.unit() as session:
                await revoke_token(session=session, token_id=token_id, now=clock())
        assert refused.value.key == key


async def test_tokens_of_a_member_who_left_stop_working(db: Database, clock: FakeClock) -> None:
    member = await _member(db, clock)
    other = await _member(db, clock, user="502")
    _, token = await _create(db, clock, member.id)
    _, kept = await _create(db, clock, other.id)
    assert await _auth(db, clock, token) is not None
    clock.advance(hours=1)
    async with db.unit() as session:
        fresh = await session.get(StaffMember, member.id)
        assert fresh is not None
        await leave(session=session, member=fresh, now=clock())  # /leave in the bot
    assert await _auth(db, clock, token) is None
    assert await _auth(db, clock, kept) is not None
    async with db.unit() as session:
        listed = {i.staff_id: i for i in await list_tokens(session=session)}
    assert listed[member.id or 0].revoked_at == clock()
    assert listed[other.id or 0].revoked_at is None
    # And no new one for them.
    with pytest.raises(TokenError) as refused:
        await _create(db, clock, member.id)
    assert refused.value.key == "token.inactive_staff"


async def test_a_holder_made_inactive_without_revoking_is_refused(
    db: Database, clock: FakeClock
) -> None:
    """authenticate checks the holder itself, not only what leaving wrote on the tokens."""
    member = await _member(db, clock)
    _, token = await _create(db, clock, member.id)
    async with db.unit() as session:
        row = await session.get(StaffMember, member.id)
        assert row is not None
        row.active = False
        session.add(row)
    assert await _auth(db, clock, token) is None


async def test_hutong_staff_revoke_ends_the_tokens_too(db: Database, clock: FakeClock) -> None:
    member = await _member(db, clock)
    assert member.id is not None
    _, token = await _create(db, clock, member.id)
    async with db.unit() as session:
        assert await revoke(session=session, member_id=member.id, now=clock()) is not None
    assert await _auth(db, clock, token) is None


async def test_unknown_or_inactive_staff_and_long_labels_get_no_token(
    db: Database, clock: FakeClock
) -> None:
    member = await _member(db, clock)
    for staff_id, label, key in (
        (424242, None, "token.unknown_staff"),
        (member.id, "x" * 65, "token.label_too_long"),
    ):
        with pytest.raises(TokenError) as refused:
            await _create(db, clock, staff_id, label)
        assert refused.value.key == key
    row, _ = await _create(db, clock, member.id, "x" * 64)
    assert row.label == "x" * 64
    async with db.unit() as session:
        assert len((await session.exec(select(ApiToken))).all()) == 1


async def test_last_use_is_written_at_most_once_a_minute(db: Database, clock: FakeClock) -> None:
    member = await _member(db, clock)
    row, token = await _create(db, clock, member.id)
    start = clock()

    async def last_used() -> object:
        async with db.unit() as session:
            stored = await session.get(ApiToken, row.id)
            assert stored is not None
            return stored.last_used_at

    assert await last_used() is None
    assert await _auth(db, clock, token) is not None
    assert await last_used() == start
    clock.advance(seconds=30)
    assert await _auth(db, clock, token) is not None
    assert await last_used() == start  # not again within the minute
    clock.advance(seconds=29)
    assert await _auth(db, clock, token) is not None
    assert await last_used() == start
    clock.advance(seconds=1)  # a minute after the last write
    assert await _auth(db, clock, token) is not None
    assert await last_used() == clock()


async def test_each_use_is_logged_by_id_only(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    member = await _member(db, clock)
    row, token = await _create(db, clock, member.id, "secret-label")
    caplog.set_level(logging.INFO, logger="flows.api_tokens")
    for _ in range(3):
        assert await _auth(db, clock, token) is not None
    assert await _auth(db, clock, token + "x") is None
    uses = [r.getMessage() for r in caplog.records if r.name == "flows.api_tokens"]
    assert uses == [f"api token {row.id} used"] * 3
    text_logged = caplog.text
    for needle in (token, token.removeprefix(PREFIX), row.token_hash, "社工", "secret-label"):
        assert needle not in text_logged


async def test_list_tokens_for_one_member_or_all(db: Database, clock: FakeClock) -> None:
    station = await _member(db, clock)
    operator = await _member(
        db, clock, user="503", role="operator", level="province", code="440000000000"
    )
    first, _ = await _create(db, clock, station.id, "a")
    clock.advance(minutes=1)
    second, token = await _create(db, clock, operator.id, "b")
    await _auth(db, clock, token)
    async with db.unit() as session:
        every = await list_tokens(session=session)
        mine = await list_tokens(session=session, staff_id=operator.id)
        none = await list_tokens(session=session, staff_id=424242)
    assert [i.id for i in every] == [first.id, second.id]
    [info] = mine
    assert (info.id, info.staff_id, info.role, info.scope_level, info.scope_code) == (
        second.id,
        operator.id,
        "operator",
        "province",
        "440000000000",
    )
    assert (info.label, info.created_at, info.last_used_at, info.revoked_at) == (
        "b",
        clock(),
        clock(),
        None,
    )
    assert not hasattr(info, "token_hash")
    assert none == []
