"""Signing in to the web pages: a link from the bot works once and for minutes; a session
lasts a shift, ends when idle, when signed out, and at once when its holder leaves; only
hashes are kept."""

from __future__ import annotations

from factories import city_supervisor, county_supervisor, hotline_operator, station_member
from harness import FakeClock
from sqlmodel import select

from flows import staff, web_sessions
from flows.api_tokens import authenticate, create_token
from storage.db import Database
from storage.models import WebSession


async def _link(db: Database, member: object, clock: FakeClock) -> str:
    async with db.unit() as session:
        return await web_sessions.issue_link(session=session, member=member, now=clock())  # type: ignore[arg-type]


async def _redeem(db: Database, token: str, clock: FakeClock) -> web_sessions.SignedIn | None:
    async with db.unit() as session:
        return await web_sessions.redeem_link(session=session, token=token, now=clock())


async def _who(db: Database, token: str, clock: FakeClock) -> int | None:
    async with db.unit() as session:
        member = await web_sessions.current(session=session, token=token, now=clock())
    return None if member is None else member.id


async def test_a_link_signs_in_once_and_leads_to_the_roles_page(
    db: Database, clock: FakeClock
) -> None:
    supervisor = await county_supervisor(db, now=clock())
    operator = await hotline_operator(db, now=clock())
    for member, home in ((supervisor, "/dashboard"), (operator, "/console")):
        link = await _link(db, member, clock)
        signed = await _redeem(db, link, clock)
        assert signed is not None and (signed.staff_id, signed.home) == (member.id, home)
        assert await _who(db, signed.token, clock) == member.id
        assert await _redeem(db, link, clock) is None  # used
        assert await _who(db, link, clock) is None  # a link is not a session
    async with db.unit() as session:
        rows = (await session.exec(select(WebSession))).all()
    # Only hashes are kept: no row holds a token given out.
    assert len(rows) == 4 and all(len(r.token_hash) == 64 for r in rows)
    assert {r.kind for r in rows} == {"link", "session"}


async def test_a_link_expires_after_ten_minutes(db: Database, clock: FakeClock) -> None:
    supervisor = await city_supervisor(db, now=clock())
    link = await _link(db, supervisor, clock)
    clock.advance(minutes=10, seconds=1)
    assert await _redeem(db, link, clock) is None
    for junk in ("", "x", "y" * 5000):
        assert await _redeem(db, junk, clock) is None
        assert await _who(db, junk, clock) is None


async def test_a_session_ends_when_idle_at_the_end_of_a_shift_or_signed_out(
    db: Database, clock: FakeClock
) -> None:
    supervisor = await county_supervisor(db, now=clock())
    idle = (await _redeem(db, await _link(db, supervisor, clock), clock)).token  # type: ignore[union-attr]
    clock.advance(hours=1, seconds=1)
    assert await _who(db, idle, clock) is None
    out = (await _redeem(db, await _link(db, supervisor, clock), clock)).token  # type: ignore[union-attr]
    async with db.unit() as session:
        assert await web_sessions.sign_out(session=session, token=out, now=clock())
    assert await _who(db, out, clock) is None


async def test_the_shift_is_twelve_hours_whatever_the_use(db: Database, clock: FakeClock) -> None:
    supervisor = await county_supervisor(db, now=clock())
    token = (await _redeem(db, await _link(db, supervisor, clock), clock)).token  # type: ignore[union-attr]
    used = 0
    for _ in range(30):
        clock.advance(minutes=30)
        if await _who(db, token, clock) is None:
            break
        used += 1
    assert used == 23  # 11.5 hours in use; at 12 hours it is over


async def test_leaving_ends_sessions_and_spends_links(db: Database, clock: FakeClock) -> None:
    supervisor = await county_supervisor(db, now=clock())
    token = (await _redeem(db, await _link(db, supervisor, clock), clock)).token  # type: ignore[union-attr]
    spare = await _link(db, supervisor, clock)
    async with db.unit() as session:
        assert supervisor.id is not None
        await staff.revoke(session=session, member_id=supervisor.id, now=clock())
    assert await _who(db, token, clock) is None
    assert await _redeem(db, spare, clock) is None


async def test_an_api_token_opens_a_session_for_supervisors_and_operators_only(
    db: Database, clock: FakeClock
) -> None:
    for member, expected in (
        (await county_supervisor(db, now=clock()), "/dashboard"),
        (await hotline_operator(db, now=clock()), "/console"),
        (await station_member(db, now=clock()), None),
    ):
        assert member.id is not None
        async with db.unit() as session:
            _, token = await create_token(
                session=session, staff_id=member.id, label=None, now=clock()
            )
            principal = await authenticate(session=session, token=token, now=clock())
            assert principal is not None
            signed = await web_sessions.open_with_token(
                session=session, principal=principal, now=clock()
            )
        assert (signed.home if signed else None) == expected
        if signed is not None:
            assert await _who(db, signed.token, clock) == member.id


async def test_old_rows_are_forgotten(db: Database, clock: FakeClock) -> None:
    supervisor = await county_supervisor(db, now=clock())
    await _redeem(db, await _link(db, supervisor, clock), clock)
    clock.advance(hours=13)
    live = (await _redeem(db, await _link(db, supervisor, clock), clock)).token  # type: ignore[union-attr]
    clock.advance(days=1)
    async with db.unit() as session:
        assert await web_sessions.forget(session=session, now=clock()) == 2
    clock.advance(days=-1)
    assert await _who(db, live, clock) is not None
