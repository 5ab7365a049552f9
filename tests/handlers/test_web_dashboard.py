"""/dashboard, the supervisors' overview: behind the sign-in, for supervisors only, scoped
to their county or city; every bad parameter gets the 400 page and changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from factories import (
    JIANGPU,
    city_supervisor,
    county_supervisor,
    file_ticket,
    hotline_operator,
    web_session,
)
from harness import FakeClock
from sqlalchemy import func
from sqlmodel import select

from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from handlers.web.api.context import Api
from handlers.web.app import init_app
from handlers.web.pages.charts import Bar, bar_chart
from handlers.web.pages.session import COOKIE
from storage.db import Database
from storage.models import StaffMember, TicketEvent

WUSHAN = "440106001000"  # 五山街道, 天河区: 广州, not 从化区
ELSEWHERE = "440303001000"  # a township of 深圳


@pytest.fixture
async def client(aiohttp_client: Any, db: Database, directory: Directory, clock: Any) -> Any:
    api = Api(directory=directory, policy=DEFAULT_POLICY)
    return await aiohttp_client(init_app(db=db, clock=clock, api=api))


async def _cookie(db: Database, member: StaffMember, clock: FakeClock) -> dict[str, str]:
    # The cookie is Secure: the test client (plain http) would not send it back by itself.
    return {"Cookie": f"{COOKIE}={await web_session(db, member, now=clock())}"}


async def _events(db: Database) -> int:
    async with db.unit() as session:
        return int((await session.exec(select(func.count()).select_from(TicketEvent))).one())


def _owners(page: str) -> list[str]:
    return re.findall(r'data-owner="([0-9]+)"', page)


async def test_nobody_signed_in_goes_to_sign_in_and_back(client: Any) -> None:
    resp = await client.get("/dashboard?weeks=8", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/signin?next=%2Fdashboard%3Fweeks%3D8"
    junk = await client.get(
        "/dashboard", headers={"Cookie": f"{COOKIE}=forged"}, allow_redirects=False
    )
    assert junk.status == 303


async def test_an_operator_meets_403(client: Any, db: Database, clock: FakeClock) -> None:
    operator = await hotline_operator(db, now=clock())
    resp = await client.get("/dashboard", headers=await _cookie(db, operator, clock))
    assert resp.status == 403 and 'href="/console"' in await resp.text()


async def test_a_county_supervisor_sees_the_county_and_a_city_one_the_city(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    await file_ticket(db, directory, now=clock())  # 街口街道, 从化区
    await file_ticket(db, directory, now=clock(), place=JIANGPU)
    await file_ticket(db, directory, now=clock(), place=JIANGPU)
    await file_ticket(db, directory, now=clock(), place=WUSHAN)
    await file_ticket(db, directory, now=clock(), place=ELSEWHERE)
    before = await _events(db)

    county = await county_supervisor(db, now=clock())
    resp = await client.get("/dashboard", headers=await _cookie(db, county, clock))
    page = await resp.text()
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
    assert _owners(page) == [JIANGPU, "440117001000"]  # the larger first
    assert '<strong id="open-total">3</strong>' in page
    assert "广州市从化区" in page and "督导看板" in page
    assert page.count("<svg") == 3 and "按时签收率" in page and "2026-W48" in page
    assert "五山街道" not in page and "天河区" not in page

    city = await city_supervisor(db, now=clock())
    resp = await client.get("/dashboard?lang=en", headers=await _cookie(db, city, clock))
    page = await resp.text()
    assert resp.status == 200 and "Supervisor dashboard" in page
    assert sorted(_owners(page)) == sorted([JIANGPU, "440117001000", WUSHAN])
    assert '<strong id="open-total">4</strong>' in page and "天河区" in page
    assert "Signed for on time" in page and "Waiting for sign-for" in page
    assert await _events(db) == before  # looking changes nothing


async def test_the_overview_leads_to_the_lists_behind_its_figures(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    jiangpu = [await file_ticket(db, directory, now=clock(), place=JIANGPU) for _ in range(2)]
    await file_ticket(db, directory, now=clock())  # 街口街道
    county = await county_supervisor(db, now=clock())
    cookie = await _cookie(db, county, clock)
    page = await (await client.get("/dashboard", headers=cookie)).text()
    found = re.search(rf'<a href="(/dashboard/tickets\?station={JIANGPU}[^"]*)"', page)
    assert found is not None and "state=dispatched" in found[1]
    listed = await (await client.get(found[1].replace("&amp;", "&"), headers=cookie)).text()
    codes = re.findall(r'<tr data-code="([A-Z0-9]+)"', listed)
    assert sorted(codes) == sorted(t.code for t in jiangpu)
    total = re.search(r'<a class="figure" href="([^"]+)">[^<]*<strong id="open-total">', page)
    assert total is not None
    listed = await (await client.get(total[1].replace("&amp;", "&"), headers=cookie)).text()
    assert len(re.findall(r'<tr data-code="', listed)) == 3


async def test_the_weeks_shown_can_be_chosen(client: Any, db: Database, clock: FakeClock) -> None:
    county = await county_supervisor(db, now=clock())
    cookie = await _cookie(db, county, clock)
    page = await (await client.get("/dashboard?weeks=4", headers=cookie)).text()
    assert len(re.findall(r'data-week="', page)) == 4
    assert '<option value="4" selected>' in page
    page = await (await client.get("/dashboard", headers=cookie)).text()
    assert len(re.findall(r'data-week="', page)) == 12


@pytest.mark.parametrize(
    "query",
    [
        "weeks=0",
        "weeks=3",
        "weeks=27",
        "weeks=abc",
        "weeks=",
        "weeks=-4",
        "weeks=1e1",
        "weeks=%EF%BC%91%EF%BC%92",  # １２ in full-width digits
        "weeks=99999999999999999999",
        "weeks=8&weeks=12",
        "state=open",
        "week=8",
    ],
)
async def test_a_bad_parameter_gets_the_400_page(
    client: Any, db: Database, directory: Directory, clock: FakeClock, query: str
) -> None:
    await file_ticket(db, directory, now=clock())
    county = await county_supervisor(db, now=clock())
    before = await _events(db)
    resp = await client.get(f"/dashboard?{query}", headers=await _cookie(db, county, clock))
    page = await resp.text()
    assert resp.status == 400, query
    assert 'role="alert"' in page and ("周数须为 4 到 26" in page or "不认识的参数" in page)
    assert 'href="/dashboard?lang=zh"' in page and "<svg" not in page
    assert await _events(db) == before


async def test_the_400_page_speaks_english_too(client: Any, db: Database, clock: FakeClock) -> None:
    county = await county_supervisor(db, now=clock(), locale="en")
    resp = await client.get("/dashboard?weeks=2", headers=await _cookie(db, county, clock))
    assert resp.status == 400
    assert "Weeks must be a whole number from 4 to 26." in await resp.text()


def test_a_chart_escapes_its_words_and_says_its_numbers() -> None:
    svg = str(
        bar_chart(
            key="k",
            title='<script>alert("x")</script>',
            description="a & b",
            bars=[Bar("W01", 50.0, "50%", "1/2 on time"), Bar("W02", None, "—")],
            percent=True,
            axis="share",
        )
    )
    assert "<script>" not in svg and "&lt;script&gt;alert(&quot;x&quot;)" in svg
    assert "a &amp; b W01: 50% (1/2 on time); W02: —" in svg
    assert svg.count("<rect") == 1  # no bar where there is nothing to measure
    assert ">100%<" in svg and ">0%<" in svg
