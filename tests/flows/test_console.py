"""flows.console: an operator's calls are the tickets whose filing names them, however they
came in (console or API), newest first, at most ``limit``; a code alone opens nobody else's;
places are suggested with whether they lie in the operator's area."""

from __future__ import annotations

from factories import GUANGZHOU, JIEKOU, file_ticket, hotline_operator
from harness import FakeClock

from flows.console import filed_call, in_scope, recent_calls, suggest_places
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.staff import PROVINCE_CODE
from flows.submission import Report, ResolvedPlace, submit_once
from storage.db import Database

YUANLING = "440304002000"  # 深圳市福田区园岭街道


async def _call(
    db: Database, directory: Directory, clock: FakeClock, operator_id: int, **kw: str
) -> str:
    report = Report(
        channel=kw.get("channel", "phone_12349"),
        danger=kw.get("danger", "no"),
        reporter="neighbour",
        place=ResolvedPlace(kw.get("place", JIEKOU), None),
        story="来电人说的经过",
        phone="13800138000",
    )
    receipt, _ = await submit_once(
        db=db,
        directory=directory,
        policy=DEFAULT_POLICY,
        report=report,
        idempotency_key=None,
        locale="zh",
        now=clock(),
        operator_id=operator_id,
    )
    return receipt.code


async def test_recent_calls_are_the_operators_own_newest_first(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    me = await hotline_operator(db, now=clock())
    other = await hotline_operator(db, now=clock(), user="7499")
    assert me.id is not None and other.id is not None
    mine = []
    for n in range(4):
        channel = "api" if n == 3 else "phone_12355"  # a call through the API is theirs too
        mine.append(await _call(db, directory, clock, me.id, channel=channel))
        clock.advance(minutes=1)
    theirs = await _call(db, directory, clock, other.id, danger="yes", place=YUANLING)
    await file_ticket(db, directory, now=clock())  # a citizen's: nobody's call
    async with db.unit() as session:
        calls = await recent_calls(
            session=session, directory=directory, operator_id=me.id, locale="zh"
        )
        three = await recent_calls(
            session=session, directory=directory, operator_id=me.id, locale="zh", limit=3
        )
        found = await filed_call(
            session=session,
            directory=directory,
            operator_id=other.id,
            code=theirs.lower(),
            locale="en",
        )
        refused = await filed_call(
            session=session, directory=directory, operator_id=me.id, code=theirs, locale="zh"
        )
    assert [c.code for c in calls] == mine[::-1]
    assert [c.code for c in three] == mine[:0:-1]
    first = calls[-1]
    assert (first.channel, first.priority, first.state, first.place_code) == (
        "phone_12355",
        "P2",
        "dispatched",
        JIEKOU,
    )
    assert first.owner == "从化区街口街道未成年人保护工作站" and first.sign_minutes == 24 * 60
    assert first.sign_due_at is not None and first.place_name == "广州市从化区街口街道"
    assert found is not None and found.priority == "P0" and found.sign_minutes == 15
    assert refused is None


def test_places_outside_a_city_operators_area_are_marked(directory: Directory) -> None:
    assert in_scope(directory, scope_code=GUANGZHOU, place_code=JIEKOU)
    assert not in_scope(directory, scope_code=GUANGZHOU, place_code=YUANLING)
    assert in_scope(directory, scope_code=PROVINCE_CODE, place_code=YUANLING)
    assert not in_scope(directory, scope_code=GUANGZHOU, place_code="999999999999")
    found = suggest_places(directory, text="新城社区", scope_code=GUANGZHOU)
    assert len(found) == 8 and found[0].code == "440117001001" and not found[0].outside
    assert all(s.outside for s in found[1:])
    assert suggest_places(directory, text="街", scope_code=GUANGZHOU) == []
