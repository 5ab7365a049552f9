"""合并 and 撤销合并 through the REST API, as the bot does them: a possible duplicate named in
the report's details and merged by its station (or refused: twice, into another ticket);
the kept ticket lists the merged report; only a supervisor un-merges."""

from __future__ import annotations

from typing import Any

import pytest
from factories import county_supervisor, events_of, file_ticket, outbox_rows, station_member
from harness import FakeClock

from flows.api_tokens import create_token
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from handlers.web.api.context import Api
from handlers.web.app import init_app
from storage.db import Database
from storage.models import StaffMember


@pytest.fixture
async def client(aiohttp_client: Any, db: Database, directory: Directory, clock: Any) -> Any:
    api = Api(directory=directory, policy=DEFAULT_POLICY)
    return await aiohttp_client(init_app(db=db, clock=clock, api=api))


async def token_of(db: Database, clock: FakeClock, member: StaffMember) -> dict[str, str]:
    assert member.id is not None
    async with db.unit() as session:
        _, token = await create_token(session=session, staff_id=member.id, label=None, now=clock())
    return {"Authorization": f"Bearer {token}"}


async def post_action(client: Any, auth: dict[str, str], code: str, body: Any) -> Any:
    return await client.post(f"/api/v1/tickets/{code}/actions", json=body, headers=auth)


async def assert_problem(resp: Any, status: int, slug: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert body["type"] == f"/api/v1/problems/{slug}" and body["message"]["en"]
    return dict(body)


async def test_a_station_merges_a_duplicate_and_a_supervisor_undoes_it(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    station = await token_of(db, clock, await station_member(db, now=clock()))
    county = await token_of(db, clock, await county_supervisor(db, now=clock()))
    one = await file_ticket(db, directory, now=clock(), chat="801")
    clock.advance(hours=1)
    two = await file_ticket(db, directory, now=clock(), chat="802", story="另一位邻居看到的")

    found = await (await client.get(f"/api/v1/tickets/{two.code}", headers=station)).json()
    assert (found["duplicate_of"], found["merged_into"], found["merged_reports"]) == (
        one.code,
        None,
        [],
    )
    assert "merge" in found["actions"] and "unmerge" not in found["actions"]

    # Into another ticket than the one named: refused, nothing changes.
    wrong = await post_action(client, station, two.code, {"action": "merge", "into": two.code})
    body = await assert_problem(wrong, 409, "not-mergeable")
    assert [e["field"] for e in body["errors"]] == ["into"]
    assert "merged" not in [e.kind for e in await events_of(db, two.id)]

    done = await post_action(client, station, two.code, {"action": "merge", "into": one.code})
    assert done.status == 200, await done.text()
    state = await done.json()
    assert state["state"] == "merged" and state["actions"] == []
    kept = await (await client.get(f"/api/v1/tickets/{one.code}", headers=station)).json()
    [merged] = kept["merged_reports"]
    assert (merged["code"], merged["story"], merged["files"]) == (two.code, "另一位邻居看到的", 0)
    assert merged["contact"] == {"status": "anonymous", "phone": None, "callback_consent": None}
    assert kept["history"][-2]["kind"] == "merged_in" and kept["history"][-2]["note"] == two.code

    again = await post_action(client, station, two.code, {"action": "merge"})
    await assert_problem(again, 409, "not-now")
    refused = await post_action(client, station, two.code, {"action": "unmerge"})
    await assert_problem(refused, 403, "forbidden-action")

    # The county's supervisor sees 撤销合并 among the report's actions, and takes it.
    seen = await (await client.get(f"/api/v1/tickets/{two.code}", headers=county)).json()
    assert seen["merged_into"] == one.code and seen["actions"] == ["unmerge"]
    undone = await post_action(client, county, two.code, {"action": "unmerge"})
    assert undone.status == 200, await undone.text()
    assert (await undone.json())["state"] == "dispatched"
    told = await outbox_rows(db, kind="reporter_update", ticket_id=two.id)
    assert [r.target for r in told] == ["802", "802"]  # merged, then un-merged
    assert "单独处理" in told[-1].payload["text"]
    again = await post_action(client, county, two.code, {"action": "unmerge"})
    await assert_problem(again, 409, "not-now")


async def test_merge_is_invalid_with_a_malformed_code(
    client: Any, db: Database, clock: FakeClock
) -> None:
    station = await token_of(db, clock, await station_member(db, now=clock()))
    resp = await post_action(client, station, "ABCD2345", {"action": "merge", "into": "A-B"})
    body = await assert_problem(resp, 422, "invalid-action")
    assert [e["field"] for e in body["errors"]] == ["merge.into"]


async def test_the_web_status_of_a_merged_report_says_it_is_handled_together(
    client: Any, db: Database, directory: Directory, clock: FakeClock
) -> None:
    station = await token_of(db, clock, await station_member(db, now=clock()))
    one = await file_ticket(db, directory, now=clock(), chat="801")
    two = await file_ticket(db, directory, now=clock(), chat="802")
    assert (await post_action(client, station, two.code, {"action": "merge"})).status == 200
    page = await (await client.get(f"/status?code={two.code}")).text()
    assert "已和关于同一个孩子的另一份报告一起处理" in page
    assert "一起处理的进度：已转给工作站，等待受理。" in page
    assert one.code not in page  # the other reporter's code is theirs
    page = await (await client.get(f"/status?code={two.code}&lang=en")).text()
    assert "Where the reports handled together stand: sent to the workstation" in page
