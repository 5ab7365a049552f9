"""The hotline operators' console (/console): a call entered while talking is filed like the
same report by the API (the operator in its history), once however often it is sent; every
bad input is answered with its 4xx, the answers kept, and nothing filed; only the operator
sees their calls."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from factories import (
    JIEKOU,
    county_supervisor,
    enrol,
    hotline_operator,
    station_member,
    web_session,
)
from harness import FakeClock
from sqlmodel import col, select

from flows.api_tokens import create_token
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.staff import PROVINCE_CODE, Scope
from handlers.web.api.context import Api
from handlers.web.app import init_app
from handlers.web.pages.session import COOKIE
from storage import web_sessions as stored_sessions
from storage.db import Database
from storage.models import TEXT_MAX, StaffMember, Ticket, TicketContact, TicketEvent

YUANLING = "440304002000"  # 深圳市福田区园岭街道: outside a Guangzhou operator's city
STORY = "来电人说孩子三天没有人照顾了"
PHONE = "13800138000"
CALL: dict[str, Any] = {
    "channel": "phone_12355",
    "danger": "no",
    "place": "从化区街口街道",
    "reporter": "neighbour",
    "age": "6-11",
    "sex": "f",
    "concerns": ["no_carer"],
    "story": STORY,
    "phone": PHONE,
    "callback": "yes",
}


@pytest.fixture
async def client(aiohttp_client: Any, db: Database, directory: Directory, clock: Any) -> Any:
    api = Api(directory=directory, policy=DEFAULT_POLICY)
    return await aiohttp_client(init_app(db=db, clock=clock, api=api))


async def signed_in(db: Database, member: StaffMember, clock: FakeClock) -> dict[str, str]:
    """The header a browser would send: the session cookie is Secure and the test client
    speaks http, so it goes by hand (the CSRF cookie stays in the client's jar)."""
    return {"Cookie": f"{COOKIE}={await web_session(db, member, now=clock())}"}


@pytest.fixture
async def operator(db: Database, clock: FakeClock) -> StaffMember:
    return await hotline_operator(db, now=clock())


@pytest.fixture
async def as_operator(db: Database, operator: StaffMember, clock: FakeClock) -> dict[str, str]:
    return await signed_in(db, operator, clock)


async def tickets(db: Database) -> list[Ticket]:
    async with db.unit() as session:
        return list((await session.exec(select(Ticket).order_by(col(Ticket.id)))).all())


async def open_console(
    client: Any, cookie: dict[str, str], query: str = ""
) -> tuple[str, str, str]:
    """The page's CSRF token, submission id and HTML."""
    resp = await client.get(f"/console{query}", headers=cookie)
    assert resp.status == 200, await resp.text()
    html = await resp.text()
    token = re.search(r'name="csrf" value="([^"]+)"', html)
    submission = re.search(r'name="submission" value="([0-9a-f]{32})"', html)
    assert token and submission
    return token[1], submission[1], html


def form_data(**fields: Any) -> list[tuple[str, str]]:
    data: list[tuple[str, str]] = []
    for name, value in fields.items():
        if value is None:
            continue
        for v in value if isinstance(value, list) else [value]:
            data.append((name, v))
    return data


async def send(client: Any, cookie: dict[str, str], **changes: Any) -> Any:
    """Open the console and send a call: ``CALL`` with ``changes`` (None leaves a field out)."""
    token, submission = (await open_console(client, cookie))[:2]
    fields = {"csrf": token, "submission": submission, **CALL, **changes}
    return await client.post(
        "/console", data=form_data(**fields), headers=cookie, allow_redirects=False
    )


def code_of(resp: Any) -> str:
    assert resp.status == 303, resp.status
    found = re.fullmatch(
        r"/console/filed\?code=([A-Z0-9]{8})&lang=(zh|en)", resp.headers["Location"]
    )
    assert found, resp.headers["Location"]
    return found[1]


async def test_the_console_asks_in_the_operators_order(
    client: Any, as_operator: dict[str, str], db: Database, clock: FakeClock
) -> None:
    resp = await client.get("/console", headers=as_operator)
    html = await resp.text()
    assert resp.status == 200
    questions = [
        'name="channel"',
        "孩子现在有危险吗",
        'id="place"',
        "您是孩子的什么人",
        "孩子大约几岁",
        "孩子的性别",
        'name="concerns"',
        'id="story"',
        'id="phone"',
        'name="callback"',
    ]
    where = [html.index(q) for q in questions]
    assert where == sorted(where)
    # The first question has the keyboard; Alt+S files; the script comes from this site.
    assert re.search(r'name="danger" value="yes"[^>]*autofocus', html)
    assert 'accesskey="s"' in html and '<script src="/static/console.js" defer></script>' in html
    assert "<script>" not in html
    policy = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "广州市" in html  # the operator's scope in the frame
    english = await (await client.get("/console?lang=en", headers=as_operator)).text()
    assert "Is the child in danger right now?" in english and "Log a call" in english
    # An operator who chose English in the bot gets English without asking.
    other = await hotline_operator(db, now=clock(), user="7402", locale="en")
    page = await client.get("/console", headers=await signed_in(db, other, clock))
    assert "Log a call" in await page.text()


async def test_the_script_is_served_from_this_site(client: Any) -> None:
    resp = await client.get("/static/console.js")
    assert resp.status == 200 and resp.content_type == "text/javascript"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    body = await resp.text()
    assert "/console/places" in body and "/console/priority" in body


async def test_a_call_is_filed_like_the_same_report_by_the_api(
    client: Any, as_operator: dict[str, str], operator: StaffMember, db: Database, clock: FakeClock
) -> None:
    code = code_of(await send(client, as_operator))
    [ticket] = await tickets(db)
    assert (ticket.code, ticket.reporter_channel, ticket.station_code) == (
        code,
        "phone_12355",
        JIEKOU,
    )
    assert ticket.story == STORY and ticket.place_text == "从化区街口街道"
    async with db.unit() as session:
        event = (
            await session.exec(
                select(TicketEvent).where(
                    TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "submitted"
                )
            )
        ).one()
        contact = await session.get(TicketContact, ticket.id)
    assert event.actor == f"staff:{operator.id}"
    assert contact is not None and contact.phone == PHONE and contact.callback_consent
    # The same call by the API, with the operator's token.
    assert operator.id is not None
    async with db.unit() as session:
        _, token = await create_token(
            session=session, staff_id=operator.id, label=None, now=clock()
        )
    body = {
        **{k: v for k, v in CALL.items() if k not in ("place", "callback")},
        "place": {"text": CALL["place"]},
        "callback": True,
    }
    api = await client.post(
        "/api/v1/reports", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status == 201, await api.text()
    [_, by_api] = await tickets(db)
    for name in ("priority", "owner_code", "owner_level", "state", "sla", "reporter_channel"):
        assert getattr(by_api, name) == getattr(ticket, name), name
    for name in ("sign_due_at", "first_action_due_at", "resolve_due_at", "next_due_at"):
        assert (
            getattr(by_api, name) - by_api.created_at == getattr(ticket, name) - ticket.created_at
        )
    # The receipt: the code to read back, spaced; the priority, the station, the deadlines.
    receipt = await client.get(f"/console/filed?code={code}", headers=as_operator)
    html = await receipt.text()
    assert receipt.status == 200
    assert (
        f'data-code="{code}"' in html and f"<span>{code[:4]}</span><span>{code[4:]}</span>" in html
    )
    assert "P1 较急" in html and "街口街道" in html
    assert "签收时限：2小时" in html and "首次联系或走访时限：1天" in html
    assert 'id="next-call"' in html and 'href="/console?lang=zh"' in html
    assert 'id="filed-outside"' not in html
    assert STORY not in html and PHONE not in html


async def test_danger_makes_it_p0_on_the_receipt(
    client: Any, as_operator: dict[str, str], db: Database
) -> None:
    code = code_of(await send(client, as_operator, danger="yes", concerns=None, story=None))
    [ticket] = await tickets(db)
    assert ticket.priority == "P0" and ticket.story == ""
    html = await (await client.get(f"/console/filed?code={code}", headers=as_operator)).text()
    assert "P0 紧急" in html and "110" in html and "签收时限：15分钟" in html


async def test_a_double_submit_files_one_ticket(
    client: Any, as_operator: dict[str, str], db: Database
) -> None:
    token, submission, _ = await open_console(client, as_operator)
    data = form_data(csrf=token, submission=submission, **CALL)
    codes = set()
    for _ in range(3):
        resp = await client.post("/console", data=data, headers=as_operator, allow_redirects=False)
        codes.add(code_of(resp))
    assert len(codes) == 1 and len(await tickets(db)) == 1


async def test_the_line_of_the_last_call_is_offered_first(
    client: Any, as_operator: dict[str, str]
) -> None:
    _, _, html = await open_console(client, as_operator)
    assert re.search(r'value="phone_12349" checked', html)
    code_of(await send(client, as_operator, channel="phone_12355"))
    _, _, html = await open_console(client, as_operator)
    assert re.search(r'value="phone_12355" checked', html)
    assert not re.search(r'value="phone_12349" checked', html)


BAD = [
    pytest.param({"danger": None}, "请回答这一项", id="danger-missing"),
    pytest.param({"danger": "maybe"}, "请检查这一项", id="danger-unknown"),
    pytest.param({"reporter": "alien"}, "请检查这一项", id="reporter-unknown"),
    pytest.param({"reporter": None}, "请回答这一项", id="reporter-missing"),
    pytest.param({"age": "99"}, "请检查这一项", id="age-unknown"),
    pytest.param({"sex": "x"}, "请检查这一项", id="sex-unknown"),
    pytest.param({"concerns": ["no_carer", "aliens"]}, "请检查这一项", id="concern-unknown"),
    pytest.param({"callback": "maybe"}, "请检查这一项", id="callback-not-a-tick"),
    pytest.param({"story": "长" * (TEXT_MAX + 1)}, "请检查这一项", id="story-too-long"),
    pytest.param({"story": "孩子\x00在家"}, "请检查这一项", id="story-nul"),
    pytest.param({"place": "街" * 61}, "请检查这一项", id="place-too-long"),
    pytest.param({"place": "街"}, "请检查这一项", id="place-too-short"),
    pytest.param({"place": ""}, "请回答这一项", id="place-missing"),
    pytest.param({"place": "qqqq月球"}, "没有找到这个地点", id="place-not-found"),
    pytest.param({"place_code": "999999999999"}, "已不在名录中", id="place-code-unknown"),
    pytest.param({"place_code": "44011700100x"}, "请检查这一项", id="place-code-malformed"),
    pytest.param({"phone": "1" * 40}, "请检查这一项", id="phone-too-long"),
    pytest.param({"phone": "call me"}, "请检查这一项", id="phone-not-a-number"),
    pytest.param({"channel": "web"}, "请检查这一项", id="channel-web"),
    pytest.param({"channel": "phone_110"}, "请检查这一项", id="channel-unknown"),
    pytest.param({"channel": None}, "请回答这一项", id="channel-missing"),
    pytest.param({"submission": "not-an-id"}, "表单不完整", id="submission-malformed"),
    pytest.param({"submission": None}, "表单不完整", id="submission-missing"),
]


@pytest.mark.parametrize(("changes", "says"), BAD)
async def test_a_bad_call_is_shown_again_with_its_answers_and_files_nothing(
    client: Any, as_operator: dict[str, str], db: Database, changes: dict[str, Any], says: str
) -> None:
    resp = await send(client, as_operator, **changes)
    html = await resp.text()
    assert resp.status == 422, html
    assert says in html
    # Every answer is kept (those the change did not touch).
    if "story" not in changes:
        assert STORY in html
    if "phone" not in changes:
        assert f'value="{PHONE}"' in html
    if "danger" not in changes:
        assert re.search(r'name="danger" value="no" checked', html)
    assert re.search(r'name="concerns" value="no_carer" checked', html)
    assert await tickets(db) == []


@pytest.mark.parametrize("csrf", [None, "forged", ""])
async def test_without_its_csrf_token_a_call_files_nothing(
    client: Any, as_operator: dict[str, str], db: Database, csrf: str | None
) -> None:
    _, submission, _ = await open_console(client, as_operator)
    data = form_data(csrf=csrf, submission=submission, **CALL)
    resp = await client.post("/console", data=data, headers=as_operator, allow_redirects=False)
    html = await resp.text()
    assert resp.status == 403 and "页面已过期" in html and STORY in html
    assert await tickets(db) == []


async def test_a_file_where_an_answer_belongs_files_nothing(
    client: Any, as_operator: dict[str, str], db: Database
) -> None:
    token, submission, _ = await open_console(client, as_operator)
    data = aiohttp.FormData()
    for name, value in form_data(csrf=token, submission=submission, **CALL):
        if name != "story":
            data.add_field(name, value)
    data.add_field("story", STORY.encode(), filename="story.txt", content_type="text/plain")
    resp = await client.post("/console", data=data, headers=as_operator, allow_redirects=False)
    html = await resp.text()
    assert resp.status == 422 and "表单不完整" in html and f'value="{PHONE}"' in html
    assert await tickets(db) == []


async def test_words_that_name_several_stations_become_a_choice(
    client: Any, as_operator: dict[str, str], db: Database
) -> None:
    resp = await send(client, as_operator, place="新城社区")
    html = await resp.text()
    assert resp.status == 422 and "请向来电人确认地点" in html
    assert 'value="440117001001"' in html and "深圳市龙华区福城街道新城社区" in html
    assert re.search(r'name="place_code" value="440117001001"[^>]*autofocus', html)
    assert await tickets(db) == []
    # The choice sent with the form (the empty hidden field of the script comes first).
    code_of(await send(client, as_operator, place="新城社区", place_code=["", "440117001001"]))
    [ticket] = await tickets(db)
    assert (ticket.place_code, ticket.station_code) == ("440117001001", JIEKOU)


async def test_nobody_signed_in_is_sent_to_sign_in(client: Any, db: Database) -> None:
    for path in ("/console", "/console/filed?code=ABCDEFGH"):
        resp = await client.get(path, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/signin?next=%2Fconsole")
    fields = form_data(csrf="x", submission="a" * 32, **CALL)
    for cookie in ({}, {"Cookie": f"{COOKIE}=junk"}):
        resp = await client.post("/console", data=fields, headers=cookie, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/signin?next=%2Fconsole"
    for path in ("/console/places?q=街口", "/console/priority?danger=yes"):
        resp = await client.get(path)
        assert resp.status == 401 and (await resp.json())["error"] == "not-signed-in"
    assert await tickets(db) == []


async def test_a_supervisor_meets_403_and_files_nothing(
    client: Any, db: Database, clock: FakeClock
) -> None:
    cookie = await signed_in(db, await county_supervisor(db, now=clock()), clock)
    page = await client.get("/console", headers=cookie)
    html = await page.text()
    assert page.status == 403 and 'href="/dashboard"' in html
    token = re.search(r'name="csrf" value="([^"]+)"', html)
    assert token
    fields = form_data(csrf=token[1], submission="a" * 32, **CALL)
    resp = await client.post("/console", data=fields, headers=cookie, allow_redirects=False)
    assert resp.status == 403
    for path in ("/console/places?q=街口", "/console/priority?danger=yes"):
        refused = await client.get(path, headers=cookie)
        assert refused.status == 403 and (await refused.json())["error"] == "operator-only"
    assert (await client.get("/console/filed?code=ABCDEFGH", headers=cookie)).status == 403
    assert await tickets(db) == []


async def test_station_staff_have_no_session_to_use(
    client: Any, db: Database, clock: FakeClock
) -> None:
    """Station staff cannot sign in to the pages; even a session row forged for one is no
    session."""
    member = await station_member(db, now=clock())
    assert member.id is not None
    async with db.unit() as session:
        await stored_sessions.insert(
            session,
            kind="session",
            staff_id=member.id,
            token_hash=hashlib.sha256(b"forged-token").hexdigest(),
            now=clock(),
            expires_at=clock() + timedelta(hours=1),
        )
    cookie = {"Cookie": f"{COOKIE}=forged-token"}
    resp = await client.get("/console", headers=cookie, allow_redirects=False)
    assert resp.status == 303
    assert (await client.get("/console/places?q=街口", headers=cookie)).status == 401


async def test_places_are_suggested_to_a_signed_in_operator(
    client: Any, as_operator: dict[str, str], db: Database, clock: FakeClock
) -> None:
    async def ask(q: str, cookie: dict[str, str] = as_operator) -> Any:
        return await client.get("/console/places", params={"q": q}, headers=cookie)

    resp = await ask("街口")
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    [first, *_] = (await resp.json())["candidates"]
    assert first == {
        "code": JIEKOU,
        "name": "广州市从化区街口街道",
        "level": "township",
        "outside": False,
    }
    many = (await (await ask("新城社区")).json())["candidates"]
    assert len(many) == 8 and {c["outside"] for c in many} == {False, True}
    # Too short to mean anything yet: nothing, not an error (the operator is typing).
    for q in ("", " ", "街"):
        short = await ask(q)
        assert short.status == 200 and (await short.json()) == {"candidates": []}
    long = await ask("街" * 61)
    assert long.status == 400 and (await long.json())["error"] == "too-long"
    # Shenzhen is outside a Guangzhou operator's area, not a province operator's.
    outside = (await (await ask("园岭街道")).json())["candidates"]
    assert outside[0]["code"] == YUANLING and outside[0]["outside"] is True
    province_cookie = await signed_in(db, await _province_operator(db, clock), clock)
    inside = (await (await ask("园岭街道", province_cookie)).json())["candidates"]
    assert inside[0]["outside"] is False


async def _province_operator(db: Database, clock: FakeClock) -> StaffMember:
    scope = Scope("operator", "province", PROVINCE_CODE)
    return await enrol(db, scope=scope, user="7404", now=clock())


@pytest.mark.parametrize(
    ("query", "status", "priority"),
    [
        ("danger=yes", 200, "P0"),
        ("danger=no&concerns=physical", 200, "P1"),
        ("danger=no&concerns=no_carer&age=3-5", 200, "P0"),
        ("danger=no&concerns=sexual", 200, "P0"),
        ("danger=no&concerns=out_of_school", 200, "P2"),
        ("", 200, None),
        ("danger=maybe", 400, None),
        ("danger=no&concerns=aliens", 400, None),
        ("danger=no&age=99", 400, None),
        ("danger=no" + "&concerns=other" * 13, 400, None),
    ],
)
async def test_the_priority_is_told_as_the_answers_are_ticked(
    client: Any, as_operator: dict[str, str], query: str, status: int, priority: str | None
) -> None:
    resp = await client.get(f"/console/priority?{query}", headers=as_operator)
    body = await resp.json()
    assert resp.status == status, body
    if status == 200:
        assert body["priority"] == priority
        if priority:
            assert priority in body["label"]
    else:
        assert body["error"] == "bad-answer"


async def test_a_call_outside_the_operators_city_is_filed_with_a_note(
    client: Any, as_operator: dict[str, str], db: Database, clock: FakeClock
) -> None:
    code = code_of(await send(client, as_operator, place="深圳市福田区园岭街道", danger="yes"))
    [ticket] = await tickets(db)
    assert ticket.station_code == YUANLING and ticket.priority == "P0"
    html = await (await client.get(f"/console/filed?code={code}", headers=as_operator)).text()
    assert 'id="filed-outside"' in html and "广州市" in html and "照常登记" in html
    # A province operator's area holds every place: no note.
    cookie = await signed_in(db, await _province_operator(db, clock), clock)
    code = code_of(await send(client, cookie, place="深圳市福田区园岭街道"))
    html = await (await client.get(f"/console/filed?code={code}", headers=cookie)).text()
    assert 'id="filed-outside"' not in html


async def test_recent_calls_are_the_operators_own(
    client: Any, as_operator: dict[str, str], db: Database, clock: FakeClock
) -> None:
    mine = []
    for place in ("从化区街口街道", "深圳市福田区园岭街道"):
        mine.append(code_of(await send(client, as_operator, place=place)))
        clock.advance(minutes=2)
    colleague = await signed_in(db, await hotline_operator(db, now=clock(), user="7405"), clock)
    theirs = code_of(await send(client, colleague))
    # A citizen's report by the API is nobody's call.
    body = {"danger": "no", "reporter": "neighbour", "place": {"code": JIEKOU}}
    citizens = await client.post("/api/v1/reports", json=body)
    assert citizens.status == 201
    citizen_code = (await citizens.json())["code"]
    _, _, html = await open_console(client, as_operator)
    section = html[html.index('id="calls-title"') :]
    assert theirs not in section and citizen_code not in section
    assert len(re.findall(r'href="/console/filed\?code=', section)) == 2
    assert section.index(mine[1]) < section.index(mine[0])  # newest first
    assert "已转交工作站，等待签收" in section and "P1" in section and "<td>12355</td>" in section
    assert STORY not in html and PHONE not in html
    # A code alone does not open another operator's call.
    other = await client.get(f"/console/filed?code={theirs}", headers=as_operator)
    assert other.status == 404 and "没有找到您登记的这个编号" in await other.text()
    for code in ("nope", "A" * 40, ""):
        resp = await client.get("/console/filed", params={"code": code}, headers=as_operator)
        assert resp.status == 404
    _, _, fresh = await open_console(client, colleague)
    assert "还没有登记过来电" not in fresh and mine[0] not in fresh


async def test_a_new_operator_has_no_calls_yet(client: Any, as_operator: dict[str, str]) -> None:
    _, _, html = await open_console(client, as_operator)
    assert 'id="calls-none"' in html


async def test_alarm_words_in_the_callers_story_raise_it_and_the_receipt_says_so(
    client: Any, as_operator: dict[str, str], db: Database
) -> None:
    code = code_of(await send(client, as_operator, story="来电人说孩子被继父性侵，孩子说想死"))
    [ticket] = await tickets(db)
    assert ticket.priority == "P0"  # the buttons said P1 (no carer, 6–11)
    assert [f["category"] for f in ticket.red_flags] == ["self_harm", "sexual_abuse"]
    html = await (await client.get(f"/console/filed?code={code}", headers=as_operator)).text()
    assert 'id="filed-red-flags"' in html and "自伤/自杀、性侵害" in html and "12355" in html
    # No words on the receipt: the console shows no story.
    assert "想死" not in html
    plain = code_of(await send(client, as_operator))
    html = await (await client.get(f"/console/filed?code={plain}", headers=as_operator)).text()
    assert 'id="filed-red-flags"' not in html
