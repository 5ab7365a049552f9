"""/signin and /signout of the staff pages: the bot's one-time link (spent by the button's
POST, not by opening the page), or an API token; a Secure, HttpOnly, SameSite=Strict session
cookie; every bad attempt is refused and signs nobody in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from factories import county_supervisor, hotline_operator, station_member
from harness import FakeClock
from sqlmodel import select

from flows import staff, web_sessions
from flows.api_tokens import create_token
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from handlers.web.api.context import Api
from handlers.web.app import init_app
from handlers.web.pages.session import COOKIE, signed_in
from storage.db import Database
from storage.models import StaffMember, WebSession


async def _supervisors_only(request: web.Request) -> web.Response:
    found = await signed_in(request, "supervisor")
    if isinstance(found, web.Response):
        return found
    return web.Response(text=f"hello staff {found.id}")


@pytest.fixture
async def client(aiohttp_client: Any, db: Database, directory: Directory, clock: Any) -> Any:
    api = Api(directory=directory, policy=DEFAULT_POLICY)
    app = init_app(db=db, clock=clock, api=api)
    app.router.add_get("/dashboard/probe", _supervisors_only)  # a page behind the sign-in
    return await aiohttp_client(app)


async def _link(db: Database, member: StaffMember, clock: FakeClock) -> str:
    async with db.unit() as session:
        return await web_sessions.issue_link(session=session, member=member, now=clock())


async def _form(client: Any, path: str) -> tuple[str, str]:
    """The page's CSRF token (its cookie stays in the client's jar) and the page."""
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    page = await resp.text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found[1], page


async def _post(client: Any, data: dict[str, str]) -> Any:
    return await client.post("/signin", data=data, allow_redirects=False)


def _session_cookie(resp: Any) -> str:
    header = next(h for h in resp.headers.getall("Set-Cookie") if h.startswith(COOKIE + "="))
    parts = {p.strip().split("=")[0].lower() for p in header.split(";")}
    assert {"secure", "httponly"} <= parts and "samesite=strict" in header.lower()
    return header.split(";")[0].split("=", 1)[1]


async def _sessions(db: Database) -> int:
    async with db.unit() as session:
        rows = (await session.exec(select(WebSession))).all()
    return sum(1 for r in rows if r.kind == "session")


async def test_the_link_shows_a_button_and_the_button_signs_in(
    client: Any, db: Database, clock: FakeClock
) -> None:
    supervisor = await county_supervisor(db, now=clock())
    link = await _link(db, supervisor, clock)
    # Opening the page (as a chat app previewing the link would) spends nothing.
    for _ in range(2):
        csrf, page = await _form(
            client, f"/signin?link={link}&next=%2Fdashboard%2Fprobe%3Fstate%3Dx"
        )
    assert f'value="{link}"' in page and await _sessions(db) == 0
    resp = await _post(client, {"csrf": csrf, "link": link, "next": "/dashboard/probe?state=x"})
    assert resp.status == 303 and resp.headers["Location"] == "/dashboard/probe?state=x"
    token = _session_cookie(resp)
    page = await client.get("/dashboard/probe", headers={"Cookie": f"{COOKIE}={token}"})
    assert await page.text() == f"hello staff {supervisor.id}"
    again = await _post(client, {"csrf": csrf, "link": link})
    assert again.status == 401 and "用过" in await again.text()
    assert await _sessions(db) == 1


async def test_nobody_signed_in_is_sent_to_sign_in_and_back(client: Any) -> None:
    resp = await client.get("/dashboard/probe?state=open", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/signin?next=%2Fdashboard%2Fprobe%3Fstate%3Dopen"
    for cookie in ("junk", "x" * 500, ""):
        resp = await client.get(
            "/dashboard/probe", headers={"Cookie": f"{COOKIE}={cookie}"}, allow_redirects=False
        )
        assert resp.status == 303


async def test_an_operator_signed_in_meets_403_on_a_supervisors_page(
    client: Any, db: Database, clock: FakeClock
) -> None:
    operator = await hotline_operator(db, now=clock())
    csrf, _ = await _form(client, "/signin")
    resp = await _post(client, {"csrf": csrf, "link": await _link(db, operator, clock)})
    assert resp.headers["Location"] == "/console"
    page = await client.get(
        "/dashboard/probe", headers={"Cookie": f"{COOKIE}={_session_cookie(resp)}"}
    )
    assert page.status == 403 and 'href="/console"' in await page.text()


async def test_an_api_token_signs_in_a_supervisor_but_not_station_staff(
    client: Any, db: Database, clock: FakeClock
) -> None:
    supervisor = await county_supervisor(db, now=clock())
    member = await station_member(db, now=clock())
    tokens = {}
    for who in (supervisor, member):
        assert who.id is not None
        async with db.unit() as session:
            _, tokens[who.id] = await create_token(
                session=session, staff_id=who.id, label=None, now=clock()
            )
    csrf, _ = await _form(client, "/signin")
    resp = await _post(client, {"csrf": csrf, "token": tokens[supervisor.id]})  # type: ignore[index]
    assert resp.status == 303 and resp.headers["Location"] == "/dashboard"
    refused = await _post(client, {"csrf": csrf, "token": tokens[member.id]})  # type: ignore[index]
    assert refused.status == 401 and "站点工作人员" in await refused.text()
    bad = await _post(client, {"csrf": csrf, "token": "hutong_" + "x" * 43})
    assert bad.status == 401 and "令牌无效" in await bad.text()
    assert await _sessions(db) == 1


async def test_bad_attempts_sign_nobody_in(client: Any, db: Database, clock: FakeClock) -> None:
    supervisor = await county_supervisor(db, now=clock())
    link = await _link(db, supervisor, clock)
    csrf, _ = await _form(client, "/signin")
    cases = [
        ({"link": link}, 403),  # no CSRF token
        ({"csrf": "forged", "link": link}, 403),
        ({"csrf": csrf}, 401),  # nothing to sign in with
        ({"csrf": csrf, "link": "nope"}, 401),
        ({"csrf": csrf, "link": "z" * 5000}, 401),
        ({"csrf": csrf, "token": "\x00"}, 401),
    ]
    for data, status in cases:
        resp = await _post(client, data)
        assert resp.status == status, data
        assert not any(h.startswith(COOKIE) for h in resp.headers.getall("Set-Cookie", []))
    assert await _sessions(db) == 0
    # Another site's address is never where a sign-in leads.
    for next_ in ("//evil.example", "https://evil.example/", "/\\evil.example", "dashboard"):
        resp = await _post(
            client, {"csrf": csrf, "link": await _link(db, supervisor, clock), "next": next_}
        )
        assert resp.status == 303 and resp.headers["Location"] == "/dashboard", next_
    # A link that expired, or whose holder left.
    late = await _link(db, supervisor, clock)
    clock.advance(minutes=11)
    assert (await _post(client, {"csrf": csrf, "link": late})).status == 401
    left = await _link(db, supervisor, clock)
    async with db.unit() as session:
        assert supervisor.id is not None
        await staff.revoke(session=session, member_id=supervisor.id, now=clock())
    assert (await _post(client, {"csrf": csrf, "link": left})).status == 401


async def test_attempts_are_limited_per_address(client: Any, db: Database) -> None:
    csrf, _ = await _form(client, "/signin")
    statuses = [(await _post(client, {"csrf": csrf, "link": "nope"})).status for _ in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]


async def test_signing_out_ends_the_session(client: Any, db: Database, clock: FakeClock) -> None:
    supervisor = await county_supervisor(db, now=clock())
    csrf, _ = await _form(client, "/signin")
    token = _session_cookie(
        await _post(client, {"csrf": csrf, "link": await _link(db, supervisor, clock)})
    )
    cookie = {"Cookie": f"{COOKIE}={token}"}
    refused = await client.post("/signout", data={}, headers=cookie, allow_redirects=False)
    assert refused.status == 403  # no CSRF token: still signed in
    assert (await client.get("/dashboard/probe", headers=cookie)).status == 200
    out = await client.post("/signout", data={"csrf": csrf}, headers=cookie, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/signin"
    gone = await client.get("/dashboard/probe", headers=cookie, allow_redirects=False)
    assert gone.status == 303
