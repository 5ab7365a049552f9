"""The REST API for station staff and supervisors: their tickets listed, viewed and worked
with a bearer token, as the bot lets them; every bad request gets its problem (RFC 9457, zh
and en) and changes nothing on the ticket but the trace the bot also leaves."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from factories import (
    CONGHUA,
    GUANGZHOU,
    JIANGPU,
    city_supervisor,
    county_supervisor,
    enrol,
    events_of,
    file_ticket,
    outbox_rows,
    row_of,
    station_member,
    ticket_in,
)
from harness import FakeClock

from flows.api_tokens import create_token, list_tokens, revoke_token
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.staff import PROVINCE_CODE, Scope, revoke
from flows.states import State
from handlers.web.api.context import Api
from handlers.web.app import init_app
from storage.db import Database
from storage.models import TEXT_MAX, StaffMember, Ticket

SHIQIAO = "440113007000"  # a township of 番禺区: same city, another county
PHONE = "13800138000"


@pytest.fixture
async def client(aiohttp_client: Any, db: Database, directory: Directory, clock: Any) -> Any:
    api = Api(directory=directory, policy=DEFAULT_POLICY)
    return await aiohttp_client(init_app(db=db, clock=clock, api=api))


async def token_of(db: Database, clock: FakeClock, member: StaffMember) -> dict[str, str]:
    assert member.id is not None
    async with db.unit() as session:
        _, token = await create_token(session=session, staff_id=member.id, label=None, now=clock())
    return {"Authorization": f"Bearer {token}"}


async def assert_problem(resp: Any, status: int, slug: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert body["type"] == f"/api/v1/problems/{slug}" and body["status"] == status
    assert body["message"]["zh"] and body["message"]["en"]
    return body


async def snapshot(db: Database, ticket: Ticket) -> tuple[dict[str, Any], list[str], int]:
    row = await row_of(db, Ticket, ticket.id)
    return (
        row.model_dump(),
        [e.kind for e in await events_of(db, ticket.id)],
        len(await outbox_rows(db)),
    )


async def listed(client: Any, auth: dict[str, str], query: str = "") -> list[str]:
    resp = await client.get(f"/api/v1/tickets{query}", headers=auth)
    assert resp.status == 200, await resp.text()
    return [item["code"] for item in (await resp.json())["items"]]


async def post_action(client: Any, auth: dict[str, str], code: str, body: Any) -> Any:
    return await client.post(f"/api/v1/tickets/{code}/actions", json=body, headers=auth)


# ---- lists ----------------------------------------------------------------------------


async def test_each_token_lists_its_holders_scope_only(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    jiekou = await file_ticket(db, directory, now=clock(), phone=PHONE)
    jiangpu = await file_ticket(db, directory, now=clock(), place=JIANGPU)
    shiqiao = await file_ticket(db, directory, now=clock(), place=SHIQIAO)
    station = await token_of(db, clock, await station_member(db, now=clock()))
    county = await token_of(db, clock, await county_supervisor(db, now=clock()))
    city = await token_of(db, clock, await city_supervisor(db, now=clock()))
    assert await listed(client, station) == [jiekou.code]
    assert set(await listed(client, county)) == {jiekou.code, jiangpu.code}
    assert set(await listed(client, city)) == {jiekou.code, jiangpu.code, shiqiao.code}
    # A filter outside the scope lists nothing; it never shows what the scope hides.
    assert await listed(client, station, f"?station={JIANGPU}") == []
    assert await listed(client, county, "?county=440113000000") == []
    assert await listed(client, county, f"?station={SHIQIAO}") == []
    resp = await client.get("/api/v1/tickets", headers=station)
    [item] = (await resp.json())["items"]
    assert set(item) == {
        "code",
        "state",
        "priority",
        "station",
        "owner",
        "county",
        "city",
        "channel",
        "created_at",
        "next_due_at",
        "overdue_level",
        "overdue",
        "signed_at",
        "resolved_at",
    }
    text = await resp.text()
    assert PHONE not in text and jiekou.story not in text
    assert resp.headers["Cache-Control"] == "no-store"


async def test_lists_are_filtered_by_query_parameters(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    p1 = await file_ticket(db, directory, now=clock())
    clock.advance(hours=1)
    p0 = await file_ticket(db, directory, now=clock(), danger="yes")
    signed = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock(), member=worker)
    other = await file_ticket(db, directory, now=clock(), place=JIANGPU, concerns=["bullying"])
    county = await token_of(db, clock, await county_supervisor(db, now=clock()))
    assert await listed(client, county, "?state=acknowledged") == [signed.code]
    assert set(await listed(client, county, "?state=acknowledged&state=dispatched")) == {
        p1.code,
        p0.code,
        signed.code,
        other.code,
    }
    assert await listed(client, county, "?priority=P0") == [p0.code]
    assert set(await listed(client, county, "?priority=P0,P2")) == {p0.code, other.code}
    assert await listed(client, county, f"?station={JIANGPU}") == [other.code]
    assert set(await listed(client, county, f"?county={CONGHUA}&city={GUANGZHOU}")) == {
        p1.code,
        p0.code,
        signed.code,
        other.code,
    }
    assert await listed(client, county, "?overdue=true") == []
    # 02:00 UTC is 10:00 in Shanghai: the first ticket is filed then, the others an hour on.
    assert await listed(client, county, "?created_to=2026-11-23T10:30:00") == [p1.code]
    since = await listed(client, county, "?created_from=2026-11-23T03:00:00Z&priority=P1")
    assert since == [signed.code]


async def test_pages_follow_each_other_without_repeat_or_gap(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    codes = []
    for n in range(7):
        if n % 2:
            clock.advance(minutes=1)
        codes.append((await file_ticket(db, directory, now=clock())).code)
    auth = await token_of(db, clock, await station_member(db, now=clock()))
    seen: list[str] = []
    query = "?limit=3&state=dispatched"
    while True:
        resp = await client.get(f"/api/v1/tickets{query}", headers=auth)
        body = await resp.json()
        assert len(body["items"]) <= 3
        seen += [item["code"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        query = f"?limit=3&state=dispatched&cursor={body['next_cursor']}"
    assert sorted(seen) == sorted(codes) and len(seen) == len(set(seen)) == 7
    # The cursor belongs to its filter: with another one it is refused, not misread.
    first = await (await client.get("/api/v1/tickets?limit=1", headers=auth)).json()
    resp = await client.get(
        f"/api/v1/tickets?priority=P1&cursor={first['next_cursor']}", headers=auth
    )
    await assert_problem(resp, 400, "bad-cursor")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?state=everything", "state"),
        ("?priority=P7", "priority"),
        ("?overdue=maybe", "overdue"),
        ("?station=jiekou", "station"),
        ("?created_from=yesterday", "created_from"),
        ("?created_to=2026-02-30", "created_to"),
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?limit=ten", "limit"),
        ("?sort=code", "sort"),
        ("?city=440100000000&city=440300000000", "city"),
    ],
)
async def test_a_bad_filter_is_400_naming_the_parameter(
    client: Any, db: Database, clock: FakeClock, query: str, field: str
) -> None:
    auth = await token_of(db, clock, await county_supervisor(db, now=clock()))
    body = await assert_problem(
        await client.get(f"/api/v1/tickets{query}", headers=auth), 400, "invalid-filter"
    )
    assert [e["field"] for e in body["errors"]] == [field]
    value = query.split("=", 1)[1]
    if len(value) > 3:  # a short value may happen to be in the explanation
        assert value not in json.dumps(body, ensure_ascii=False)


@pytest.mark.parametrize("cursor", ["garbage!", "eyJ4IjogMX0", "W10", "%00", "x" * 400])
async def test_a_bad_cursor_is_400_never_500(
    client: Any, db: Database, clock: FakeClock, cursor: str
) -> None:
    auth = await token_of(db, clock, await county_supervisor(db, now=clock()))
    resp = await client.get(f"/api/v1/tickets?cursor={cursor}", headers=auth)
    await assert_problem(resp, 400, "bad-cursor")


# ---- who may call ---------------------------------------------------------------------


ROUTES = [
    ("GET", "/api/v1/tickets"),
    ("GET", "/api/v1/tickets/ABCDEFGH"),
    ("POST", "/api/v1/tickets/ABCDEFGH/actions"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_without_a_token_every_ticket_route_is_401_with_a_challenge(
    client: Any, method: str, path: str
) -> None:
    resp = await client.request(method, path, json={"action": "sign"})
    await assert_problem(resp, 401, "token-required")
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="hutong"'


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("header", ["Bearer hutong_not-a-token", "Basic dXNlcjpwdw==", "Bearer "])
async def test_a_bad_token_is_401(client: Any, method: str, path: str, header: str) -> None:
    resp = await client.request(
        method, path, json={"action": "sign"}, headers={"Authorization": header}
    )
    await assert_problem(resp, 401, "invalid-token")
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_a_hotline_operators_token_is_403(
    client: Any, db: Database, clock: FakeClock, method: str, path: str
) -> None:
    operator = await enrol(
        db, scope=Scope("operator", "province", PROVINCE_CODE), user="8101", now=clock()
    )
    auth = await token_of(db, clock, operator)
    await assert_problem(
        await client.request(method, path, json={"action": "sign"}, headers=auth), 403, "staff-only"
    )


async def test_a_revoked_token_or_one_whose_holder_left_stops_working(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await file_ticket(db, directory, now=clock())
    auth = await token_of(db, clock, worker)
    assert await listed(client, auth) == [ticket.code]
    async with db.unit() as session:
        [info] = await list_tokens(session=session)
        await revoke_token(session=session, token_id=info.id, now=clock())
    await assert_problem(await client.get("/api/v1/tickets", headers=auth), 401, "invalid-token")
    again = await token_of(db, clock, worker)
    async with db.unit() as session:
        assert worker.id is not None
        await revoke(session=session, member_id=worker.id, now=clock())
    before = await snapshot(db, ticket)
    resp = await post_action(client, again, ticket.code, {"action": "sign"})
    await assert_problem(resp, 401, "invalid-token")
    assert await snapshot(db, ticket) == before


async def test_each_use_of_a_token_is_logged_by_its_id_only(
    client: Any, db: Database, directory: Directory, clock: FakeClock, caplog: Any
) -> None:
    ticket = await file_ticket(db, directory, now=clock(), phone=PHONE)
    auth = await token_of(db, clock, await county_supervisor(db, now=clock(), name="督办甲"))
    token = auth["Authorization"].removeprefix("Bearer ")
    with caplog.at_level(logging.INFO):
        await client.get("/api/v1/tickets", headers=auth)
        await client.get(f"/api/v1/tickets/{ticket.code}", headers=auth)
    async with db.unit() as session:
        [info] = await list_tokens(session=session)
    assert info.last_used_at == clock()
    assert caplog.text.count(f"api token {info.id} used") == 2
    assert token not in caplog.text
    # The access log names paths (a ticket's code: no personal data); ours names ids only.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    for secret in (PHONE, ticket.story, "督办甲", ticket.code):
        assert secret not in ours


# ---- one ticket -----------------------------------------------------------------------


async def test_a_ticket_in_full_records_the_view_and_shows_the_phone_by_the_bots_rule(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await file_ticket(db, directory, now=clock(), phone=PHONE)
    auth = await token_of(db, clock, worker)
    resp = await client.get(f"/api/v1/tickets/{ticket.code.lower()}", headers=auth)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["code"] == ticket.code and body["story"] == ticket.story
    assert body["contact"] == {"status": "hidden", "phone": None, "callback_consent": None}
    assert body["actions"] == ["sign", "return"]
    assert [h["kind"] for h in body["history"]] == ["submitted", "dispatched", "viewed"]
    assert body["history"][-1]["by_you"] is True and body["history"][-1]["actor"] == "staff"
    # Signed for, the station sees the phone, and that view is recorded too.
    await post_action(client, auth, ticket.code, {"action": "sign"})
    body = await (await client.get(f"/api/v1/tickets/{ticket.code}", headers=auth)).json()
    assert body["contact"]["phone"] == PHONE and body["contact"]["status"] == "shown"
    kinds = [(e.kind, e.actor, e.note) for e in await events_of(db, ticket.id)]
    me = f"staff:{worker.id}"
    assert kinds[-2:] == [("viewed", me, "api"), ("contact_viewed", me, None)]
    assert [k for k, _, _ in kinds].count("viewed") == 2


async def test_an_unknown_code_and_another_scopes_ticket_get_the_same_404(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock())
    there = await station_member(db, now=clock(), station=JIANGPU, user="7002")
    auth = await token_of(db, clock, there)
    unknown = await client.get("/api/v1/tickets/ZZZZZZZZ", headers=auth)
    hidden = await client.get(f"/api/v1/tickets/{ticket.code}", headers=auth)
    odd = await client.get("/api/v1/tickets/x'%20or%201=1", headers=auth)
    bodies = [await assert_problem(r, 404, "ticket-not-found") for r in (unknown, hidden, odd)]
    assert bodies[0] == bodies[1] == bodies[2]
    last = (await events_of(db, ticket.id))[-1]
    assert (last.kind, last.actor, last.note) == ("refused", f"staff:{there.id}", "api:view")


async def test_head_of_a_ticket_is_refused_and_records_no_view(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock())
    auth = await token_of(db, clock, await county_supervisor(db, now=clock()))
    before = await snapshot(db, ticket)
    assert (await client.head(f"/api/v1/tickets/{ticket.code}", headers=auth)).status == 405
    assert (await client.head("/api/v1/tickets", headers=auth)).status == 405
    assert await snapshot(db, ticket) == before


# ---- actions --------------------------------------------------------------------------


async def test_a_station_works_its_ticket_through_the_api(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    county = await county_supervisor(db, now=clock())
    ticket = await file_ticket(db, directory, now=clock())
    auth = await token_of(db, clock, worker)
    boss = await token_of(db, clock, county)
    steps: list[tuple[dict[str, str], dict[str, Any], str]] = [
        (auth, {"action": "sign"}, "acknowledged"),
        (auth, {"action": "note", "text": "  已联系学校  "}, "acknowledged"),
        (auth, {"action": "first_action", "how": "call"}, "in_progress"),
        (auth, {"action": "request_extension", "days": 7, "reason": "等待医院报告"}, "in_progress"),
        (boss, {"action": "decide_extension", "approve": True}, "in_progress"),
        (auth, {"action": "resolve", "outcome": "medical", "note": "已送医"}, "resolved"),
    ]
    for who, body, state in steps:
        resp = await post_action(client, who, ticket.code, body)
        assert resp.status == 200, (body, await resp.text())
        answer = await resp.json()
        assert answer["state"] == state and answer["code"] == ticket.code
        assert {"next_due_at", "resolve_due_at", "actions"} <= set(answer)
    after = await row_of(db, Ticket, ticket.id)
    assert (after.state, after.outcome, after.resolution_note) == ("resolved", "medical", "已送医")
    history = [(e.kind, e.actor, e.note) for e in await events_of(db, ticket.id)][2:]
    me, them = f"staff:{worker.id}", f"staff:{county.id}"
    assert history == [
        ("signed", me, None),
        ("note", me, "已联系学校"),
        ("first_action", me, "call"),
        ("extension_requested", me, "7d: 等待医院报告"),
        ("extension_approved", them, "7d"),
        ("resolved", me, "medical: 已送医"),
    ]


async def test_a_return_is_judged_and_the_ticket_reassigned_through_the_api(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    county = await token_of(db, clock, await county_supervisor(db, now=clock()))
    auth = await token_of(db, clock, worker)
    first = await file_ticket(db, directory, now=clock())
    second = await file_ticket(db, directory, now=clock())
    resp = await post_action(client, auth, first.code, {"action": "return", "reason": "duplicate"})
    assert (await resp.json())["state"] == "returned"
    resp = await post_action(client, county, first.code, {"action": "reject_return"})
    assert (await resp.json())["state"] == "dispatched"
    body = {"action": "return", "reason": "other", "text": "孩子在江埔"}
    assert (await post_action(client, auth, second.code, body)).status == 200
    resp = await post_action(
        client, county, second.code, {"action": "reassign", "station": JIANGPU}
    )
    answer = await resp.json()
    assert (answer["state"], answer["station"]) == ("dispatched", JIANGPU)
    moved = await row_of(db, Ticket, second.id)
    assert moved.station_code == JIANGPU and moved.state == State.DISPATCHED
    kinds = [e.kind for e in await events_of(db, second.id)]
    assert kinds[-2:] == ["returned", "redispatched"]
    # It is no longer the first station's: its token now gets the unknown ticket's answer.
    await assert_problem(
        await post_action(client, auth, second.code, {"action": "sign"}), 404, "ticket-not-found"
    )


@pytest.mark.parametrize(
    ("data", "content_type", "status", "slug"),
    [
        (b'{"action": "note",', "application/json", 400, "malformed-json"),
        (b"\xff\xfe", "application/json", 400, "malformed-json"),
        (b"action=sign", "application/x-www-form-urlencoded", 415, "unsupported-media-type"),
        (b'{"action": "sign"}', "text/plain", 415, "unsupported-media-type"),
        (b"x" * (1024 * 1024 + 1), "application/json", 413, "body-too-large"),
    ],
)
async def test_a_body_that_is_not_json_is_refused_and_changes_nothing(
    client: Any,
    db: Database,
    directory: Directory,
    clock: FakeClock,
    data: bytes,
    content_type: str,
    status: int,
    slug: str,
) -> None:
    ticket = await file_ticket(db, directory, now=clock())
    auth = await token_of(db, clock, await station_member(db, now=clock()))
    before = await snapshot(db, ticket)
    resp = await client.post(
        f"/api/v1/tickets/{ticket.code}/actions",
        data=data,
        headers={**auth, "Content-Type": content_type},
    )
    await assert_problem(resp, status, slug)
    assert await snapshot(db, ticket) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "fly"}, "(body)"),
        ({}, "(body)"),
        (["sign"], "(body)"),
        ({"action": "sign", "extra": 1}, "sign.extra"),
        ({"action": "note"}, "note.text"),
        ({"action": "note", "text": 42}, "note.text"),
        ({"action": "note", "text": " 好 "}, "note.text"),
        ({"action": "note", "text": "长" * (TEXT_MAX + 1)}, "note.text"),
        ({"action": "note", "text": "a\x00b"}, "note.text"),
        ({"action": "first_action", "how": "email"}, "first_action.how"),
        ({"action": "request_extension", "days": "3", "reason": "等等"}, "request_extension.days"),
        ({"action": "request_extension", "days": 5, "reason": "等等"}, "request_extension.days"),
        ({"action": "resolve", "outcome": "solved", "note": "完成了"}, "resolve.outcome"),
        ({"action": "return", "reason": "other"}, "return"),
        ({"action": "decide_extension", "approve": "yes"}, "decide_extension.approve"),
        ({"action": "reassign", "station": "江埔"}, "reassign.station"),
    ],
)
async def test_an_invalid_action_is_422_naming_the_field_and_changes_nothing(
    client: Any, db: Database, directory: Directory, clock: FakeClock, body: Any, field: str
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock(), member=worker)
    auth = await token_of(db, clock, worker)
    before = await snapshot(db, ticket)
    problem = await assert_problem(
        await post_action(client, auth, ticket.code, body), 422, "invalid-action"
    )
    assert field in [e["field"] for e in problem["errors"]]
    assert "长长长" not in json.dumps(problem, ensure_ascii=False)
    assert await snapshot(db, ticket) == before


async def test_a_refusal_on_scope_or_role_changes_nothing_but_its_trace(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    there = await token_of(
        db, clock, await station_member(db, now=clock(), station=JIANGPU, user="7002")
    )
    county = await token_of(db, clock, await county_supervisor(db, now=clock()))
    auth = await token_of(db, clock, worker)
    ticket = await ticket_in(db, directory, state=State.RETURNED, now=clock(), member=worker)
    before = await snapshot(db, ticket)
    cases = [
        (there, {"action": "sign"}, 404, "ticket-not-found"),
        (auth, {"action": "reassign", "station": JIANGPU}, 403, "forbidden-action"),
        (county, {"action": "note", "text": "督办意见"}, 403, "forbidden-action"),
        (auth, {"action": "sign"}, 409, "not-now"),
    ]
    for who, body, status, slug in cases:
        await assert_problem(await post_action(client, who, ticket.code, body), status, slug)
    row, kinds, messages = await snapshot(db, ticket)
    assert (row, messages) == (before[0], before[2])
    # One trace per person per hour (flows.staff.refusal); the 409 is no refusal.
    assert kinds == [*before[1], "refused", "refused", "refused"]
    unknown = await post_action(client, auth, "ZZZZZZZZ", {"action": "sign"})
    await assert_problem(unknown, 404, "ticket-not-found")


async def test_an_action_in_the_wrong_state_is_409_naming_the_state(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    county = await token_of(db, clock, await county_supervisor(db, now=clock()))
    auth = await token_of(db, clock, worker)
    ticket = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock(), member=worker)
    before = await snapshot(db, ticket)
    body = await assert_problem(
        await post_action(client, auth, ticket.code, {"action": "first_action", "how": "visit"}),
        409,
        "not-now",
    )
    assert body["state"] == "in_progress" and "正在处理" in body["message"]["zh"]
    assert "being handled" in body["message"]["en"]
    await assert_problem(
        await post_action(
            client, county, ticket.code, {"action": "decide_extension", "approve": False}
        ),
        409,
        "no-extension-request",
    )
    assert await snapshot(db, ticket) == before
    ask = {"action": "request_extension", "days": 1, "reason": "一天"}
    assert (await post_action(client, auth, ticket.code, ask)).status == 200
    await assert_problem(
        await post_action(client, auth, ticket.code, ask), 409, "extension-pending"
    )


async def test_a_county_cannot_reassign_outside_its_county(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    county = await token_of(db, clock, await county_supervisor(db, now=clock()))
    ticket = await ticket_in(db, directory, state=State.RETURNED, now=clock())
    before = await snapshot(db, ticket)
    resp = await post_action(
        client, county, ticket.code, {"action": "reassign", "station": SHIQIAO}
    )
    body = await assert_problem(resp, 422, "invalid-action")
    assert [e["field"] for e in body["errors"]] == ["station"]
    assert await snapshot(db, ticket) == before


async def test_the_openapi_document_describes_the_ticket_routes(client: Any) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    for path, method in [
        ("/api/v1/tickets", "get"),
        ("/api/v1/tickets/{code}", "get"),
        ("/api/v1/tickets/{code}/actions", "post"),
    ]:
        operation = doc["paths"][path][method]
        assert operation["security"] == [{"bearer": []}]
        assert {"401", "403"} <= set(operation["responses"])
    actions = doc["paths"]["/api/v1/tickets/{code}/actions"]["post"]
    assert {"404", "409", "422"} <= set(actions["responses"])
    assert set(schemas["ActionIn"]["discriminator"]["mapping"]) == {
        "sign",
        "note",
        "first_action",
        "request_extension",
        "decide_extension",
        "resolve",
        "return",
        "reject_return",
        "reassign",
        "merge",
        "unmerge",
    }
    assert schemas["NoteIn"]["properties"]["text"]["maxLength"] == TEXT_MAX
    assert schemas["RequestExtensionIn"]["properties"]["days"]["enum"] == [1, 3, 7]
    names = [p["name"] for p in doc["paths"]["/api/v1/tickets"]["get"]["parameters"]]
    assert names == [
        "state",
        "priority",
        "overdue",
        "station",
        "county",
        "city",
        "created_from",
        "created_to",
        "limit",
        "cursor",
    ]
    assert "TicketDetailOut" in schemas and "story" not in schemas["TicketItemOut"]["properties"]
