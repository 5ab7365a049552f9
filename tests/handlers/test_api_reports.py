"""The REST API's report submission and public status: a whole report is filed as the bot
files it; every bad input gets its problem (RFC 9457, zh and en) and files nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from factories import GUANGZHOU, JIEKOU, enrol, file_ticket, outbox_rows, sign, station_member
from sqlmodel import col, select

from flows.api_tokens import create_token, list_tokens, revoke_token
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.staff import Scope
from flows.states import State
from handlers.web.api.context import Api
from handlers.web.app import init_app
from storage.db import Database
from storage.models import TEXT_MAX, Ticket, TicketEvent

REPORT: dict[str, Any] = {
    "channel": "web",
    "danger": "no",
    "reporter": "neighbour",
    "place": {"code": JIEKOU},
    "age": "6-11",
    "sex": "f",
    "concerns": ["no_carer"],
    "story": "孩子三天没有人照顾了",
}


@pytest.fixture
async def client(aiohttp_client: Any, db: Database, directory: Directory, clock: Any) -> Any:
    api = Api(directory=directory, policy=DEFAULT_POLICY, trusted_proxies=frozenset({"127.0.0.1"}))
    return await aiohttp_client(init_app(db=db, clock=clock, api=api))


async def tickets(db: Database) -> list[Ticket]:
    async with db.unit() as session:
        return list((await session.exec(select(Ticket).order_by(col(Ticket.id)))).all())


def report(**changes: Any) -> dict[str, Any]:
    return {**REPORT, **changes}


async def post(client: Any, body: Any, *, address: str = "203.0.113.1", **headers: str) -> Any:
    return await client.post(
        "/api/v1/reports", json=body, headers={"X-Forwarded-For": address, **headers}
    )


async def assert_problem(resp: Any, status: int, slug: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert body["type"] == f"/api/v1/problems/{slug}" and body["status"] == status
    assert body["message"]["zh"] and body["message"]["en"]
    return body


async def test_a_report_is_filed_as_the_bot_files_it(
    client: Any, db: Database, directory: Directory, clock: Any
) -> None:
    resp = await post(client, report())
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["priority"] == "P1" and body["triage"] is False
    assert body["owner"].endswith("未成年人保护工作站")
    assert resp.headers["Location"] == body["status_url"] == f"/api/v1/status/{body['code']}"
    by_bot = await file_ticket(db, directory, now=clock(), chat="77")
    [api_ticket, bot_ticket] = await tickets(db)
    assert api_ticket.code == body["code"]
    # The same report by two doors: only the door, the code and the way back differ.
    # And, being about the same child, the second is a possible duplicate of the first.
    differ = {"id", "code", "intake_key", "reporter_channel", "reporter_chat_id"}
    differ.add("duplicate_of_id")
    a, b = api_ticket.model_dump(exclude=differ), bot_ticket.model_dump(exclude=differ)
    assert a == b
    assert (api_ticket.duplicate_of_id, bot_ticket.duplicate_of_id) == (None, api_ticket.id)
    assert (api_ticket.reporter_channel, api_ticket.reporter_chat_id) == ("web", "")
    assert by_bot.id == bot_ticket.id
    [referral] = await outbox_rows(db, kind="referral", ticket_id=api_ticket.id)
    assert referral.target == JIEKOU


async def test_a_retried_post_with_its_idempotency_key_files_one_ticket(
    client: Any, db: Database
) -> None:
    first = await post(client, report(), **{"Idempotency-Key": "call-2026-12-05-0001"})
    again = await post(client, report(), **{"Idempotency-Key": "call-2026-12-05-0001"})
    assert (first.status, again.status) == (201, 200)
    assert (await first.json())["code"] == (await again.json())["code"]
    assert len(await tickets(db)) == 1
    other = await post(client, report(), **{"Idempotency-Key": "call-2026-12-05-0002"})
    assert other.status == 201 and len(await tickets(db)) == 2


async def test_a_place_in_words_is_taken_when_all_matches_lead_to_one_station(
    client: Any, db: Database
) -> None:
    resp = await post(client, report(place={"text": "从化街口新城"}))
    assert resp.status == 201, await resp.text()
    [ticket] = await tickets(db)
    assert ticket.station_code == JIEKOU and ticket.place_text == "从化街口新城"


async def test_words_that_match_several_stations_return_candidates_and_file_nothing(
    client: Any, db: Database
) -> None:
    body = await assert_problem(
        await post(client, report(place={"text": "新城社区"})), 422, "place-ambiguous"
    )
    codes = [c["code"] for c in body["candidates"]]
    assert "440117001001" in codes and len(codes) > 1
    assert all(c["name"].endswith(("居委会", "居民委员会")) for c in body["candidates"])
    retry = await post(client, report(place={"code": codes[0]}))
    assert retry.status == 201
    assert len(await tickets(db)) == 1


async def test_a_place_found_only_by_its_sound_is_offered_not_taken(
    client: Any, db: Database
) -> None:
    # Pinyin (or a homophone) is a guess, however plain: the reporter confirms it.
    body = await assert_problem(
        await post(client, report(place={"text": "conghua jiekou"})), 422, "place-ambiguous"
    )
    assert [c["code"] for c in body["candidates"]] == [JIEKOU]
    assert await tickets(db) == []


@pytest.mark.parametrize(
    ("place", "slug"),
    [
        ({"text": "我也说不清"}, "place-not-found"),
        ({"code": "449999999999"}, "unknown-place-code"),
    ],
)
async def test_an_unknown_place_is_422(
    client: Any, db: Database, place: dict[str, str], slug: str
) -> None:
    await assert_problem(await post(client, report(place=place)), 422, slug)
    assert await tickets(db) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (report(danger=5), "danger"),
        (report(danger="maybe"), "danger"),
        (report(reporter=None), "reporter"),
        (report(concerns=["no_carer", "aliens"]), "concerns.1"),
        (report(concerns="no_carer"), "concerns"),
        (report(story="长" * (TEXT_MAX + 1)), "story"),
        (report(story="a\x00b"), "story"),
        (report(place={}), "place"),
        (report(place={"code": "44011700100X"}), "place.code"),
        (report(place={"text": "街" * 61}), "place.text"),
        (report(phone="call me"), "phone"),
        (report(channel="telegram"), "channel"),
        (report(locale="fr"), "locale"),
        (report(child_name="小明"), "child_name"),  # nothing beyond the minimal fields
        ({k: v for k, v in REPORT.items() if k != "place"}, "place"),
        ([REPORT], "(body)"),
    ],
)
async def test_each_invalid_field_is_named_and_nothing_is_filed(
    client: Any, db: Database, body: Any, field: str
) -> None:
    problem = await assert_problem(await post(client, body), 422, "invalid-report")
    assert field in [e["field"] for e in problem["errors"]]
    # The value sent is not echoed back (a story is personal).
    assert "长长长" not in json.dumps(problem, ensure_ascii=False)
    assert await tickets(db) == []


@pytest.mark.parametrize(
    ("data", "content_type", "status", "slug"),
    [
        (b'{"danger": "no",', "application/json", 400, "malformed-json"),
        (b"\xff\xfe\x00", "application/json", 400, "malformed-json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "malformed-json"),
        (b"danger=no", "application/x-www-form-urlencoded", 415, "unsupported-media-type"),
        (b"x" * (1024 * 1024 + 1), "application/json", 413, "body-too-large"),
    ],
)
async def test_bodies_that_are_not_json_reports_get_their_problem(
    client: Any, db: Database, data: bytes, content_type: str, status: int, slug: str
) -> None:
    resp = await client.post("/api/v1/reports", data=data, headers={"Content-Type": content_type})
    await assert_problem(resp, status, slug)
    assert await tickets(db) == []


@pytest.mark.parametrize("key", ["short", "x" * 101, "has space in it", "中文中文中文中文"])
async def test_a_bad_idempotency_key_is_400(client: Any, db: Database, key: str) -> None:
    resp = await client.post(
        "/api/v1/reports",
        data=json.dumps(REPORT),
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": key.encode().decode("latin-1"),
        },
    )
    await assert_problem(resp, 400, "bad-idempotency-key")
    assert await tickets(db) == []


@pytest.mark.parametrize("channel", ["phone_12349", "phone_12355"])
async def test_a_phone_call_needs_an_operator(client: Any, db: Database, channel: str) -> None:
    await assert_problem(
        await post(client, report(channel=channel)), 401, "operator-token-required"
    )
    assert await tickets(db) == []


async def test_reports_are_limited_per_client_address(client: Any, db: Database) -> None:
    for _ in range(5):  # the burst
        assert (await post(client, report())).status == 201
    refused = await post(client, report())
    body = await assert_problem(refused, 429, "too-many-requests")
    assert int(refused.headers["Retry-After"]) == body["retry_after"] > 0
    assert "110" in body["message"]["zh"]
    # Another client behind the same trusted proxy is not held back by this one.
    assert (await post(client, report(), address="198.51.100.7")).status == 201
    # Naming another client before the real one does not escape the limit.
    spoofed = await post(client, report(), address="198.51.100.99, 203.0.113.1")
    await assert_problem(spoofed, 429, "too-many-requests")
    assert len(await tickets(db)) == 6


async def test_a_limited_client_is_let_in_again_as_time_passes(client: Any, clock: Any) -> None:
    for _ in range(5):
        await post(client, report())
    assert (await post(client, report())).status == 429
    clock.advance(minutes=7)  # ten an hour: one more every six minutes
    assert (await post(client, report())).status == 201


async def test_status_shows_state_and_station_only(
    client: Any, db: Database, directory: Directory, clock: Any
) -> None:
    code = (await (await post(client, report(phone="13800138000"))).json())["code"]
    resp = await client.get(f"/api/v1/status/{code.lower()}")
    assert resp.status == 200
    body = await resp.json()
    assert set(body) == {"code", "state", "station"}
    assert (body["code"], body["state"]) == (code, "dispatched")
    assert "13800138000" not in await resp.text()
    await assert_problem(await client.get("/api/v1/status/ZZZZZZZZ"), 404, "ticket-not-found")
    await assert_problem(await client.get("/api/v1/status/x'%20or%201=1"), 404, "ticket-not-found")


async def test_status_lookups_are_limited_per_client_address(client: Any) -> None:
    statuses = [
        (
            await client.get("/api/v1/status/ZZZZZZZZ", headers={"X-Forwarded-For": "192.0.2.9"})
        ).status
        for _ in range(21)
    ]
    assert statuses[:20] == [404] * 20 and statuses[20] == 429


async def test_a_reporter_without_a_chat_is_never_written_to(
    client: Any, db: Database, directory: Directory, clock: Any
) -> None:
    """Signing for an API ticket would tell a bot reporter; this one has no chat."""
    await post(client, report())
    [ticket] = await tickets(db)
    member = await station_member(db, station=JIEKOU, now=clock())
    signed = await sign(db, directory, ticket=ticket, member=member, now=clock())
    assert signed.state == State.ACKNOWLEDGED
    assert await outbox_rows(db, kind="reporter_update") == []
    assert await outbox_rows(db, target="") == []


async def test_errors_under_the_api_are_problems_in_the_clients_language(client: Any) -> None:
    en = {"Accept-Language": "en-GB,en;q=0.9"}
    body = await assert_problem(await client.get("/api/v1/nothing", headers=en), 404, "not-found")
    assert body["title"] == body["message"]["en"]
    body = await assert_problem(await client.get("/api/v1/reports"), 405, "method-not-allowed")
    assert body["title"] == body["message"]["zh"]


async def test_the_openapi_document_comes_from_the_models(client: Any) -> None:
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"] == "3.1.0"
    schemas = doc["components"]["schemas"]
    assert schemas["ReportIn"]["properties"]["danger"]["enum"] == ["yes", "no", "unsure"]
    assert schemas["ReportIn"]["additionalProperties"] is False
    assert set(doc["paths"]) == {
        "/api/v1/reports",
        "/api/v1/status/{code}",
        "/api/v1/tickets",
        "/api/v1/tickets/{code}",
        "/api/v1/tickets/{code}/actions",
    }

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$ref"] + [
                r for v in node.values() for r in refs(v)
            ]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(doc):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


async def _token_for(db: Database, clock: Any, scope: Scope, user: str) -> str:
    member = await enrol(db, scope=scope, user=user, now=clock())
    assert member.id is not None
    async with db.unit() as session:
        _, token = await create_token(session=session, staff_id=member.id, label=None, now=clock())
    return token


async def test_a_hotline_operator_enters_phone_calls_with_a_token(
    client: Any, db: Database, clock: Any
) -> None:
    token = await _token_for(db, clock, Scope("operator", "city", GUANGZHOU), "8101")
    auth = {"Authorization": f"Bearer {token}"}
    # A call centre is one address: its operators are not held to the public limit.
    for n in range(7):
        resp = await post(client, report(channel="phone_12349"), **auth)
        assert resp.status == 201, (n, await resp.text())
    found = await tickets(db)
    assert len(found) == 7 and {t.reporter_channel for t in found} == {"phone_12349"}
    async with db.unit() as session:
        first = (
            await session.exec(
                select(TicketEvent).where(
                    TicketEvent.ticket_id == found[0].id, TicketEvent.kind == "submitted"
                )
            )
        ).one()
    member_id = first.actor.removeprefix("staff:")
    assert first.actor.startswith("staff:") and member_id.isdigit()


async def test_idempotency_keys_are_each_operators_own(
    client: Any, db: Database, clock: Any
) -> None:
    a = await _token_for(db, clock, Scope("operator", "city", GUANGZHOU), "8201")
    b = await _token_for(db, clock, Scope("operator", "province", "440000000000"), "8202")
    key = {"Idempotency-Key": "call-0001-same"}
    codes = set()
    for token in (a, b, a):
        resp = await post(
            client, report(channel="phone_12355"), Authorization=f"Bearer {token}", **key
        )
        assert resp.status in (200, 201)
        codes.add((await resp.json())["code"])
    assert len(codes) == 2 and len(await tickets(db)) == 2


async def test_station_staff_cannot_enter_phone_calls(
    client: Any, db: Database, clock: Any
) -> None:
    token = await _token_for(db, clock, Scope("station", "township", JIEKOU), "8301")
    resp = await post(client, report(channel="phone_12349"), Authorization=f"Bearer {token}")
    await assert_problem(resp, 403, "operator-only")
    assert await tickets(db) == []


@pytest.mark.parametrize(
    "header", ["Bearer hutong_not-a-token", "Bearer ", "Basic dXNlcjpwdw==", "hutong_x"]
)
async def test_a_bad_token_is_refused_not_taken_as_anonymous(
    client: Any, db: Database, header: str
) -> None:
    resp = await post(client, report(), Authorization=header)
    await assert_problem(resp, 401, "invalid-token")
    assert "invalid_token" in resp.headers["WWW-Authenticate"]
    assert await tickets(db) == []


async def test_a_revoked_token_stops_working(client: Any, db: Database, clock: Any) -> None:
    token = await _token_for(db, clock, Scope("operator", "city", GUANGZHOU), "8401")
    auth = {"Authorization": f"Bearer {token}"}
    assert (await post(client, report(channel="phone_12349"), **auth)).status == 201
    async with db.unit() as session:
        [info] = await list_tokens(session=session)
        await revoke_token(session=session, token_id=info.id, now=clock())
    await assert_problem(
        await post(client, report(channel="phone_12349"), **auth), 401, "invalid-token"
    )
    assert len(await tickets(db)) == 1


async def test_retries_racing_each_other_file_one_ticket(client: Any, db: Database) -> None:
    """A client that gives up waiting and sends again while the first request still runs."""
    key = {"Idempotency-Key": "race-0001-same-key"}
    answers = await asyncio.gather(*(post(client, report(), **key) for _ in range(5)))
    assert sorted(r.status for r in answers).count(201) == 1
    assert {r.status for r in answers} <= {200, 201}
    assert len({(await r.json())["code"] for r in answers}) == 1
    assert len(await tickets(db)) == 1
