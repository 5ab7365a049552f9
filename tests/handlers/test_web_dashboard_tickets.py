"""The dashboard's ticket list, ticket page and CSV export (/dashboard/tickets…): the API's
filters and scope (a filter never widens it), every bad value a 400 page that changes
nothing, another area's ticket the same 404 as an unknown code (with a ``refused`` trace),
every view of a ticket a ``viewed`` event, and a CSV Excel reads and cannot be tricked by."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from factories import (
    JIANGPU,
    JIEKOU,
    city_supervisor,
    county_supervisor,
    event_kinds,
    events_of,
    file_ticket,
    hotline_operator,
    station_member,
    ticket_in,
    web_session,
)
from harness import FakeClock
from sqlalchemy import func
from sqlmodel import select

from flows import merging
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.states import State
from flows.ticket_queries import TicketRow
from handlers.web.api.context import Api
from handlers.web.app import init_app
from handlers.web.pages import dashboard_csv
from handlers.web.pages.dashboard_words import WORDS
from handlers.web.pages.session import COOKIE
from storage.db import Database
from storage.models import StaffMember, Ticket, TicketEvent

WUSHAN = "440106001000"  # 五山街道, 天河区: 广州, not 从化区
TIANHE = "440106000000"
ELSEWHERE = "440303001000"  # a township of 深圳
SHENZHEN = "440300000000"


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


def _codes(page: str) -> list[str]:
    return re.findall(r'<tr data-code="([A-Z0-9]+)"', page)


async def _area(db: Database, directory: Directory, clock: FakeClock) -> dict[str, Ticket]:
    """Tickets across 广州 and 深圳, one a minute apart (the list is newest first)."""
    made = {}
    for name, place in (
        ("jiekou", JIEKOU),
        ("jiangpu", JIANGPU),
        ("wushan", WUSHAN),
        ("elsewhere", ELSEWHERE),
    ):
        made[name] = await file_ticket(db, directory, now=clock(), place=place)
        clock.advance(minutes=1)
    return made


async def test_every_page_needs_a_signed_in_supervisor(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock())
    paths = ["/dashboard/tickets?state=dispatched", f"/dashboard/tickets/{ticket.code}"]
    paths.append("/dashboard/tickets.csv?overdue=true")
    for path in paths:
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 303
        assert resp.headers["Location"].startswith("/signin?next=%2Fdashboard%2Ftickets")
    operator = await hotline_operator(db, now=clock())
    cookie = await _cookie(db, operator, clock)
    before = await _events(db)
    for path in paths:
        resp = await client.get(path, headers=cookie)
        assert resp.status == 403 and 'href="/console"' in await resp.text()
    assert await _events(db) == before


async def test_the_list_holds_the_area_and_a_filter_cannot_widen_it(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    t = await _area(db, directory, clock)
    county = await county_supervisor(db, now=clock())
    cookie = await _cookie(db, county, clock)
    page = await (await client.get("/dashboard/tickets", headers=cookie)).text()
    assert _codes(page) == [t["jiangpu"].code, t["jiekou"].code]  # newest first
    assert f'href="/dashboard/tickets/{t["jiekou"].code}?lang=zh"' in page
    for outside in (
        f"city={SHENZHEN}",
        f"station={WUSHAN}",
        f"county={TIANHE}",
        f"station={ELSEWHERE}&state=dispatched",
    ):
        resp = await client.get(f"/dashboard/tickets?{outside}", headers=cookie)
        assert resp.status == 200 and _codes(await resp.text()) == [], outside
        assert (
            'id="no-rows"'
            in await (await client.get(f"/dashboard/tickets?{outside}", headers=cookie)).text()
        )

    city = await city_supervisor(db, now=clock())
    cookie = await _cookie(db, city, clock)
    page = await (await client.get("/dashboard/tickets?lang=en", headers=cookie)).text()
    assert _codes(page) == [t["wushan"].code, t["jiangpu"].code, t["jiekou"].code]
    assert "天河区" in page and "Tickets" in page  # the county column, for a city
    page = await (await client.get(f"/dashboard/tickets?county={TIANHE}", headers=cookie)).text()
    assert _codes(page) == [t["wushan"].code]
    assert f'<option value="{TIANHE}" selected>' in page
    # The other language is the same list: its filters are kept.
    switch = re.search(r'id="lang-switch" href="([^"]+)"|href="([^"]+)" id="lang-switch"', page)
    assert switch is not None
    assert html.unescape(switch[2] or switch[1]) == f"/dashboard/tickets?county={TIANHE}&lang=en"


async def test_filters_narrow_and_a_blank_field_filters_nothing(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    waiting = await file_ticket(db, directory, now=clock())
    clock.advance(minutes=1)
    signed = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock(), member=worker)
    clock.advance(minutes=1)
    urgent = await file_ticket(db, directory, now=clock(), place=JIANGPU, concerns=["sexual"])
    county = await county_supervisor(db, now=clock())
    cookie = await _cookie(db, county, clock)

    async def codes(query: str) -> list[str]:
        resp = await client.get(f"/dashboard/tickets?{query}", headers=cookie)
        assert resp.status == 200, query
        return _codes(await resp.text())

    everything = [urgent.code, signed.code, waiting.code]
    assert await codes("state=&priority=&overdue=&station=&created_from=&limit=50") == everything
    assert await codes("state=acknowledged") == [signed.code]
    assert await codes("state=dispatched&state=acknowledged&priority=P1") == [
        signed.code,
        waiting.code,
    ]
    assert await codes("priority=P0") == [urgent.code]
    assert await codes(f"station={JIANGPU}") == [urgent.code]
    assert await codes("overdue=true") == [] and await codes("overdue=false") == everything
    assert await codes("created_from=2026-11-23&created_to=2026-11-24") == everything
    assert await codes("created_to=2026-11-23") == []
    page = await (await client.get("/dashboard/tickets?state=acknowledged", headers=cookie)).text()
    assert 'name="state" value="acknowledged" checked' in page
    assert 'href="/dashboard/tickets.csv?state=acknowledged&amp;lang=zh"' in page


async def test_pages_follow_by_cursor(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    made = []
    for _ in range(3):
        made.append(await file_ticket(db, directory, now=clock()))
        clock.advance(minutes=1)
    county = await county_supervisor(db, now=clock())
    cookie = await _cookie(db, county, clock)
    page = await (await client.get("/dashboard/tickets?limit=2", headers=cookie)).text()
    assert _codes(page) == [made[2].code, made[1].code] and 'id="first-page"' not in page
    found = re.search(r'id="next-page" href="([^"]+)"', page)
    assert found is not None
    link = found[1].replace("&amp;", "&")
    assert "limit=2" in link and "cursor=" in link
    second = await (await client.get(link, headers=cookie)).text()
    assert _codes(second) == [made[0].code]
    assert 'id="next-page"' not in second and 'id="first-page"' in second
    # The cursor belongs to its filter: under another one it is refused, changing nothing.
    before = await _events(db)
    moved = await client.get(link + "&priority=P0", headers=cookie)
    assert moved.status == 400 and "翻页链接已失效" in await moved.text()
    assert await _events(db) == before


BAD_FILTERS = [
    ("state=bogus", "状态"),
    ("state=submitted", "状态"),
    ("state=dispatched,", "状态"),
    ("priority=P9", "优先级"),
    ("overdue=maybe", "是否超时"),
    ("overdue=true&overdue=false", "是否超时"),
    ("station=123", "工作站"),
    ("station=44011700100x", "工作站"),
    ("county=%27%3Bdrop", "区县"),
    ("city=4401000000001", "地市"),
    ("created_from=yesterday", "收到日期（从"),
    ("created_to=2026-02-30", "收到日期（早于"),
    ("created_from=" + "9" * 60, "收到日期（从"),
    ("limit=0", "每页条数"),
    ("limit=201", "每页条数"),
    ("limit=ten", "每页条数"),
    ("cursor=" + "x" * 40, "翻页链接已失效"),
    ("cursor=%00", "翻页链接已失效"),
    ("sort=newest", "不认识的参数"),
    ("%3Cscript%3E=1", "不认识的参数"),
]


@pytest.mark.parametrize(("query", "said"), BAD_FILTERS)
async def test_a_bad_filter_gets_the_400_page_and_changes_nothing(
    client: Any, db: Database, directory: Directory, clock: FakeClock, query: str, said: str
) -> None:
    await file_ticket(db, directory, now=clock())
    county = await county_supervisor(db, now=clock())
    cookie = await _cookie(db, county, clock)
    before = await _events(db)
    for path in ("/dashboard/tickets", "/dashboard/tickets.csv"):
        if path.endswith(".csv") and query.startswith(("limit=", "cursor=")):
            said_here = "不认识的参数"  # the file has every page: no size, no cursor
        else:
            said_here = said
        resp = await client.get(f"{path}?{query}", headers=cookie)
        page = await resp.text()
        assert resp.status == 400, (path, query)
        assert resp.headers["Content-Type"].startswith("text/html")
        assert 'role="alert"' in page and said_here in page, (path, query, page)
        assert "<script>" not in page and 'href="/dashboard/tickets?lang=zh"' in page
    assert await _events(db) == before


async def test_the_400_page_names_the_field_in_english(
    client: Any, db: Database, clock: FakeClock
) -> None:
    county = await county_supervisor(db, now=clock(), locale="en")
    resp = await client.get(
        "/dashboard/tickets?priority=P7", headers=await _cookie(db, county, clock)
    )
    assert resp.status == 400
    assert "The filter “Priority” is not valid: choose P0, P1 or P2." in await resp.text()


async def test_the_ticket_page_shows_it_all_and_records_each_view(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(
        db,
        directory,
        now=clock(),
        story="<script>alert(1)</script> 孩子一个人在家",
        phone="13800138000",
        callback=True,
    )
    county = await county_supervisor(db, now=clock())
    cookie = await _cookie(db, county, clock)
    for _ in range(2):
        resp = await client.get(f"/dashboard/tickets/{ticket.code.lower()}", headers=cookie)
        page = await resp.text()
        assert resp.status == 200
        assert f'<span class="code" id="code">{ticket.code}</span>' in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; 孩子一个人在家" in page
        assert "<script>" not in page
        assert '<dd id="phone">13800138000</dd>' in page and "同意回访" in page
        assert 'data-kind="submitted"' in page and 'data-kind="dispatched"' in page
    events = await events_of(db, ticket.id)
    viewed = [e for e in events if e.kind == "viewed"]
    assert [(e.actor, e.note) for e in viewed] == [(f"staff:{county.id}", "web")] * 2
    assert [e.kind for e in events].count("contact_viewed") == 2
    # The page shows this view in the history, as the viewer's own.
    assert 'data-kind="viewed"' in page and "<td>您</td>" in page
    # A HEAD shows nothing, so it is no view: refused before anything is read.
    before = await _events(db)
    head = await client.head(f"/dashboard/tickets/{ticket.code}", headers=cookie)
    assert head.status == 405 and await _events(db) == before


async def test_a_ticket_without_contact_or_hidden_says_so(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    anonymous = await file_ticket(db, directory, now=clock())
    county = await county_supervisor(db, now=clock(), locale="en")
    page = await (
        await client.get(
            f"/dashboard/tickets/{anonymous.code}", headers=await _cookie(db, county, clock)
        )
    ).text()
    assert "Anonymous report: no contact was left." in page and 'id="phone"' not in page
    assert "contact_viewed" not in await event_kinds(db, anonymous.id)


async def test_unknown_and_other_areas_tickets_get_the_same_404(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    theirs = await file_ticket(db, directory, now=clock(), place=ELSEWHERE)
    county = await county_supervisor(db, now=clock())
    cookie = await _cookie(db, county, clock)
    answers = []
    for code in (theirs.code, "ZZZZZZZZ", "x" * 300, "AB%20CD", "AB%00CD", "%E5%B7%A5"):
        resp = await client.get(f"/dashboard/tickets/{code}", headers=cookie)
        assert resp.status == 404, code
        page = await resp.text()
        assert "没有这个编号的工单，或者它不在您的辖区内。" in page
        # Apart from the tokens and the language link (the address asked for, in the other
        # language), the pages are the same.
        answers.append(re.sub(r'(value|href)="[^"]+"( id="lang-switch")', r"\2", page))
        answers[-1] = re.sub(r'value="[^"]+"', "", answers[-1])
    assert len(set(answers)) == 1  # nothing tells another area's ticket from none at all
    kinds = await event_kinds(db, theirs.id)
    assert "viewed" not in kinds and kinds.count("refused") == 1
    refused = [e for e in await events_of(db, theirs.id) if e.kind == "refused"]
    assert refused[0].actor == f"staff:{county.id}" and refused[0].note == "web:view"
    # The city supervisor of 深圳 sees it.
    shenzhen = await city_supervisor(db, now=clock(), city=SHENZHEN, user="7302")
    resp = await client.get(
        f"/dashboard/tickets/{theirs.code}", headers=await _cookie(db, shenzhen, clock)
    )
    assert resp.status == 200


async def test_the_ticket_page_takes_no_other_parameters(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock())
    county = await county_supervisor(db, now=clock())
    before = await _events(db)
    resp = await client.get(
        f"/dashboard/tickets/{ticket.code}?view=all", headers=await _cookie(db, county, clock)
    )
    assert resp.status == 400 and "不认识的参数" in await resp.text()
    assert await _events(db) == before


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs for UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def test_the_csv_holds_the_filtered_list(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    t = await _area(db, directory, clock)
    signed = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock(), member=worker)
    county = await county_supervisor(db, now=clock())
    cookie = await _cookie(db, county, clock)
    before = await _events(db)
    resp = await client.get("/dashboard/tickets.csv", headers=cookie)
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"] == (
        'attachment; filename="hutong-tickets-2026-11-23.csv"'
    )
    rows = _csv(await resp.read())
    assert rows[0] == [WORDS["zh"][f"th.{c}"] for c in dashboard_csv.COLUMNS]
    assert rows[0][:3] == ["编号", "优先级", "状态"]
    assert [r[0] for r in rows[1:]] == [signed.code, t["jiangpu"].code, t["jiekou"].code]
    assert rows[1][1:8] == [
        "🟠 P1 较急",
        "工作站已签收",
        "从化区街口街道未成年人保护工作站",
        "从化区",
        "广州市",
        "telegram",
        "2026-11-23 10:04",
    ]
    assert rows[1][10] == "2026-11-23 10:04" and rows[1][11] == ""
    assert all(len(r) == len(dashboard_csv.COLUMNS) for r in rows)
    text = (await resp.read()).decode("utf-8-sig")
    assert "孩子" not in text  # no story
    # Filtered like the list, in English on request; a filter cannot widen the area.
    resp = await client.get("/dashboard/tickets.csv?state=acknowledged&lang=en", headers=cookie)
    rows = _csv(await resp.read())
    assert rows[0][:3] == ["Code", "Priority", "State"] and [r[0] for r in rows[1:]] == [
        signed.code
    ]
    rows = _csv(
        await (await client.get(f"/dashboard/tickets.csv?city={SHENZHEN}", headers=cookie)).read()
    )
    assert len(rows) == 1  # the header alone
    assert await _events(db) == before  # an export is not a view of any one ticket


async def test_the_csv_stops_at_its_cap_and_says_so(
    client: Any, db: Database, directory: Directory, clock: FakeClock, monkeypatch: Any
) -> None:
    for _ in range(3):
        await file_ticket(db, directory, now=clock())
        clock.advance(minutes=1)
    county = await county_supervisor(db, now=clock())
    cookie = await _cookie(db, county, clock)
    monkeypatch.setattr(dashboard_csv, "CAP", 3)
    rows = _csv(await (await client.get("/dashboard/tickets.csv", headers=cookie)).read())
    assert len(rows) == 4  # all three: not capped
    monkeypatch.setattr(dashboard_csv, "CAP", 2)
    rows = _csv(await (await client.get("/dashboard/tickets.csv", headers=cookie)).read())
    assert len(rows) == 4 and rows[-1] == ["仅导出了前 2 条；请缩小筛选范围后分批导出。"]


def test_csv_cells_cannot_become_formulas() -> None:
    at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    evil = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "a=b"]
    rows = [
        TicketRow(
            code=f"CODE{i}",
            state="dispatched",
            priority="P1",
            station=None,
            owner=owner,
            county=None,
            city="440100000000",
            channel="=cmd|' /C calc'!A0",
            created_at=at,
            next_due_at=None,
            overdue_level=0,
            overdue=False,
            signed_at=None,
            resolved_at=None,
        )
        for i, owner in enumerate(evil)
    ]
    text = dashboard_csv.csv_text(
        rows,
        w=lambda key, **v: WORDS["en"][key].format(**v),
        locale="en",
        place_name=lambda code: "Guangzhou" if code else "",
        capped=False,
    )
    parsed = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    owners = [r[3] for r in parsed[1:]]
    assert owners == ["'" + e for e in evil[:-1]] + ["a=b"]
    assert all(r[6] == "'=cmd|' /C calc'!A0" for r in parsed[1:])
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in parsed for cell in r)


async def test_the_form_offers_the_areas_stations(
    client: Any, db: Database, clock: FakeClock
) -> None:
    county = await county_supervisor(db, now=clock())
    page = await (
        await client.get("/dashboard/tickets", headers=await _cookie(db, county, clock))
    ).text()
    assert f'<option value="{JIANGPU}">江埔街道</option>' in page
    assert "<optgroup" not in page and 'id="f-county"' not in page  # one county
    assert WUSHAN not in page
    city = await city_supervisor(db, now=clock())
    page = await (
        await client.get(
            f"/dashboard/tickets?station={WUSHAN}&limit=37", headers=await _cookie(db, city, clock)
        )
    ).text()
    assert '<optgroup label="天河区">' in page and f'<option value="{TIANHE}">天河区' in page
    assert f'<option value="{WUSHAN}" selected>五山街道</option>' in page
    assert '<option value="37" selected>' in page
    # 东莞 has no counties: its townships straight under the city.
    dongguan = await city_supervisor(db, now=clock(), city="441900000000", user="7303")
    page = await (
        await client.get("/dashboard/tickets", headers=await _cookie(db, dongguan, clock))
    ).text()
    assert '<option value="441900003000">东城街道</option>' in page
    assert "<optgroup" not in page and 'id="f-county"' not in page


async def test_the_ticket_page_shows_the_words_that_raised_the_alarm(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock(), story="佢話想死，<b>冇人理</b>")
    plain = await file_ticket(db, directory, now=clock(), story="孩子一个人在外面玩")
    cookie = await _cookie(db, await county_supervisor(db, now=clock()), clock)
    page = await (await client.get(f"/dashboard/tickets/{ticket.code}", headers=cookie)).text()
    assert '<dd id="red-flags">⚠️ 想死（自伤/自杀）</dd>' in page
    english = await client.get(f"/dashboard/tickets/{ticket.code}?lang=en", headers=cookie)
    assert "想死 (self-harm/suicide)" in await english.text()
    page = await (await client.get(f"/dashboard/tickets/{plain.code}", headers=cookie)).text()
    assert 'id="red-flags"' not in page


async def test_the_ticket_page_shows_duplicates_merged_reports_and_a_childs_own_call(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    kept = await file_ticket(db, directory, now=clock(), chat="9101")
    clock.advance(hours=1)
    child = await file_ticket(
        db, directory, now=clock(), chat="9102", reporter="child", story="我爸爸喝酒以后打我"
    )
    assert child.duplicate_of_id == kept.id  # same township, child, concern: 可能重复
    cookie = await _cookie(db, await county_supervisor(db, now=clock()), clock)
    page = await (await client.get(f"/dashboard/tickets/{child.code}", headers=cookie)).text()
    assert f'<dd id="duplicate-of"><a class="code" href="/dashboard/tickets/{kept.code}' in page
    assert "🧒 本人求助（孩子自己报告）" in page  # not the button's 我就是这个孩子

    member = await station_member(db, now=clock())
    async with db.unit() as session:
        report = await session.get(Ticket, child.id)
        assert report is not None
        await merging.merge(
            session=session,
            directory=directory,
            member=member,
            ticket=report,
            into_id=kept.id,
            now=clock(),
        )
    page = await (await client.get(f"/dashboard/tickets/{child.code}", headers=cookie)).text()
    assert f'<dd id="merged-into"><a class="code" href="/dashboard/tickets/{kept.code}' in page
    page = await (await client.get(f"/dashboard/tickets/{kept.code}", headers=cookie)).text()
    section = page.split('id="merged-reports"', 1)[1].split("</section>", 1)[0]
    assert child.code in section and "我爸爸喝酒以后打我" in section
    assert "🧒 本人求助" in section
