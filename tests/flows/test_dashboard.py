"""The supervisors' dashboard figures against the real database: open tickets by station
(or queue) and by how overdue (flows.dashboard), sign-for and resolve compliance per week
(flows.compliance) — each checked against numbers worked out by hand from the fixture."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from factories import (
    CONGHUA,
    JIANGPU,
    JIEKOU,
    act,
    city_supervisor,
    county_supervisor,
    file_ticket,
    station_member,
    ticket_in,
)
from harness import FakeClock
from sqlalchemy import func
from sqlmodel import select

from flows import compliance, dashboard, lifecycle, oversight, tickets
from flows.compliance import Week
from flows.escalation import overdue_filter, sweep_deadlines
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.staff import scope_filter
from flows.states import State
from storage.db import Database
from storage.models import StaffMember, Ticket

WUSHAN = "440106001000"  # 五山街道, 天河区, 广州市: the city, not 从化区
ELSEWHERE = "440303001000"  # a township of 深圳: another city


async def _overview(
    db: Database, directory: Directory, member: StaffMember, locale: str = "zh"
) -> dashboard.Overview:
    async with db.unit() as session:
        return await dashboard.overview(
            session=session, directory=directory, member=member, locale=locale
        )


def _table(overview: dashboard.Overview) -> dict[str, dict[str, int]]:
    """Each line's non-zero columns, by the line's code."""
    return {
        line.code: {c: line.counts[c] for c in dashboard.COLUMNS if line.counts[c]}
        for line in overview.lines
    }


async def _sweep(db: Database, directory: Directory, clock: FakeClock) -> None:
    await sweep_deadlines(db=db, directory=directory, policy=DEFAULT_POLICY, clock=clock)


def test_every_open_state_has_one_column() -> None:
    assert dashboard.column_of("dispatched", 0, False) == "waiting"
    assert dashboard.column_of("triage", 1, False) == "level1"
    assert dashboard.column_of("returned", 3, False) == "level2"
    assert dashboard.column_of("acknowledged", 0, False) == "signed"
    assert dashboard.column_of("in_progress", 0, False) == "working"
    assert dashboard.column_of("reopened", 0, True) == "resolve_overdue"
    with pytest.raises(ValueError):
        dashboard.column_of("closed", 0, False)


async def test_open_tickets_by_station_and_level(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    # Past its resolve deadline (P1: 3 days), 催办 sent.
    late_work = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock(), member=worker)
    clock.advance(days=3, minutes=1)
    await _sweep(db, directory, clock)
    # Un-signed for two windows (P1: 2 h): the city told (L2); for one: the county (L1).
    level2 = await file_ticket(db, directory, now=clock())
    clock.advance(hours=2)
    level1 = await file_ticket(db, directory, now=clock(), place=JIANGPU)
    triage_l1 = await file_ticket(db, directory, now=clock(), place=CONGHUA)
    clock.advance(hours=2, minutes=1)
    await _sweep(db, directory, clock)
    # Fresh: waiting, signed, being worked, finished (not open), and outside the county.
    waiting = await file_ticket(db, directory, now=clock())
    await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock(), member=worker)
    await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock(), member=worker)
    await ticket_in(db, directory, state=State.CLOSED, now=clock(), member=worker)
    await ticket_in(db, directory, state=State.RESOLVED, now=clock(), member=worker)
    await file_ticket(db, directory, now=clock(), place=WUSHAN)
    await file_ticket(db, directory, now=clock(), place=ELSEWHERE)
    for ticket in (level2, level1, triage_l1, waiting, late_work):
        assert ticket.id is not None

    county = await county_supervisor(db, now=clock())
    seen = await _overview(db, directory, county)
    assert _table(seen) == {
        JIEKOU: {"level2": 1, "waiting": 1, "signed": 1, "working": 1, "resolve_overdue": 1},
        CONGHUA: {"level1": 1},  # the county's queue
        JIANGPU: {"level1": 1},
    }
    # The most overdue first (L2, then overdue, then size), a queue before a station.
    assert [line.code for line in seen.lines] == [JIEKOU, CONGHUA, JIANGPU]
    assert seen.lines[1].name == "从化区未成年人救助保护中心" and seen.lines[2].name == "江埔街道"
    assert (seen.total.total, seen.total.overdue) == (7, 4)
    assert seen.by_state == (
        ("dispatched", 3, 2),
        ("triage", 1, 1),
        ("acknowledged", 1, 0),
        ("in_progress", 2, 1),
    )
    # The overdue columns are what /overdue lists, all columns what /open counts.
    async with db.unit() as session:
        overdue = (
            await session.exec(
                select(func.count())
                .select_from(Ticket)
                .where(scope_filter(county), overdue_filter())
            )
        ).one()
    assert overdue == seen.total.overdue

    city = await city_supervisor(db, now=clock())
    wide = await _overview(db, directory, city, locale="en")
    assert _table(wide)[WUSHAN] == {"waiting": 1}
    assert (wide.total.total, wide.total.overdue) == (8, 4)
    assert {line.code: line.county for line in wide.lines}[WUSHAN] == "天河区"
    assert {line.code: line.name for line in wide.lines}[CONGHUA] == (
        "从化区 minor protection centre"
    )


async def test_an_area_with_nothing_open(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    await file_ticket(db, directory, now=clock(), place=ELSEWHERE)
    seen = await _overview(db, directory, await county_supervisor(db, now=clock()))
    assert seen.lines == () and seen.total.total == 0 and seen.by_state == ()


# ---- compliance per week ---------------------------------------------------------------
# The clock starts on Monday 2026-11-23, 10:00 in Shanghai (ISO week 48).
W48 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def _walk(
    db: Database,
    directory: Directory,
    ticket: Ticket,
    member: StaffMember,
    *steps: tuple[str, datetime],
) -> None:
    assert ticket.id is not None
    for what, at in steps:
        await act(db, directory, ticket_id=ticket.id, what=what, now=at, member=member)


async def _extend(
    db: Database,
    directory: Directory,
    ticket: Ticket,
    worker: StaffMember,
    supervisor: StaffMember,
    days: int,
    at: datetime,
) -> None:
    assert ticket.id is not None
    async with db.unit() as session:
        locked = await tickets.locked_ticket(session, ticket.id)
        assert locked is not None
        await lifecycle.request_extension(
            session=session,
            directory=directory,
            ticket=locked,
            member=worker,
            days=days,
            reason="需要家访",
            now=at,
        )
        await oversight.decide_extension(
            session=session, ticket=locked, supervisor=supervisor, approve=True, now=at
        )


async def _weekly(db: Database, member: StaffMember, now: datetime, weeks: int) -> list[Week]:
    async with db.unit() as session:
        return list(await compliance.weekly(session=session, member=member, now=now, weeks=weeks))


async def test_compliance_per_week(db: Database, directory: Directory) -> None:
    h = timedelta(hours=1)
    d = timedelta(days=1)
    worker = await station_member(db, now=W48)
    county = await county_supervisor(db, now=W48)
    # W48. a: signed in 1 h, resolved in 2 days (on time, both), later reopened and resolved
    # again late — the first 办结 counts.
    a = await file_ticket(db, directory, now=W48)
    await _walk(
        db,
        directory,
        a,
        worker,
        ("sign", W48 + h),
        ("first_action", W48 + 2 * h),
        ("resolve", W48 + 2 * d),
        ("unsat", W48 + 2 * d + h),
        ("resolve", W48 + 6 * d),
    )
    # b: signed after 3 h (window 2 h: late), resolved after 4 days (deadline 3 days: late).
    b = await file_ticket(db, directory, now=W48 + h)
    await _walk(
        db,
        directory,
        b,
        worker,
        ("sign", W48 + 4 * h),
        ("first_action", W48 + 5 * h),
        ("resolve", W48 + h + 4 * d),
    )
    # c: never signed for: received, in no share.
    await file_ticket(db, directory, now=W48 + 2 * h)
    # e: signed in time; 3 more days approved; resolved on day 5 — within 3 + 3 days.
    e = await file_ticket(db, directory, now=W48 + 3 * h)
    await _walk(db, directory, e, worker, ("sign", W48 + 4 * h), ("first_action", W48 + 5 * h))
    await _extend(db, directory, e, worker, county, 3, W48 + d)
    await _walk(db, directory, e, worker, ("resolve", W48 + 3 * h + 5 * d))
    # Outside the county: counted for nobody here.
    await file_ticket(db, directory, now=W48, place=ELSEWHERE)
    # W49: nothing at all.
    # W50: returned, then sent again; signed 1 h after the re-dispatch but 7 h after filing:
    # on time, measured from the dispatch it answered (as /stats does).
    w50 = W48 + 14 * d
    f = await file_ticket(db, directory, now=w50)
    await _walk(db, directory, f, worker, ("return", w50 + h))
    assert f.id is not None
    await act(db, directory, ticket_id=f.id, what="redispatch", now=w50 + 6 * h, member=county)
    await _walk(db, directory, f, worker, ("sign", w50 + 7 * h))
    # The week's edges, in Shanghai time: Sunday 23:30 is W50, Monday 00:30 is W51.
    sunday = datetime(2026, 12, 13, 15, 30, tzinfo=UTC)
    monday = datetime(2026, 12, 13, 16, 30, tzinfo=UTC)
    g = await file_ticket(db, directory, now=sunday)
    await _walk(db, directory, g, worker, ("sign", sunday + 2 * h))  # exactly the window
    k = await file_ticket(db, directory, now=monday)
    await _walk(db, directory, k, worker, ("sign", monday + 2 * h + timedelta(seconds=1)))

    now = monday + 3 * h
    weeks = await _weekly(db, county, now, 4)
    assert [w.label for w in weeks] == ["2026-W48", "2026-W49", "2026-W50", "2026-W51"]
    assert [w.start for w in weeks] == [
        date(2026, 11, 23),
        date(2026, 11, 30),
        date(2026, 12, 7),
        date(2026, 12, 14),
    ]
    figures = [
        (w.received, w.signed, w.signed_on_time, w.resolved, w.resolved_on_time) for w in weeks
    ]
    assert figures == [(4, 3, 2, 3, 2), (0, 0, 0, 0, 0), (2, 2, 2, 0, 0), (1, 1, 0, 0, 0)]
    assert [(w.sign_percent, w.resolve_percent) for w in weeks] == [
        (66, 66),
        (None, None),
        (100, None),
        (0, None),
    ]
    # The city sees the same here (nothing else of 广州 was filed); 深圳's supervisor only
    # their own ticket.
    city = await city_supervisor(db, now=W48)
    assert await _weekly(db, city, now, 4) == weeks
    shenzhen = await city_supervisor(db, now=W48, city="440300000000", user="7302")
    theirs = await _weekly(db, shenzhen, now, 4)
    assert [w.received for w in theirs] == [1, 0, 0, 0]
    # Twelve weeks by default: the eight before are empty.
    default = await _weekly(db, county, now, compliance.WEEKS_DEFAULT)
    assert default[-4:] == weeks and all(w.received == 0 for w in default[:-4])


async def test_weeks_out_of_range_are_refused(db: Database, clock: FakeClock) -> None:
    county = await county_supervisor(db, now=clock())
    for weeks in (0, compliance.WEEKS_MIN - 1, compliance.WEEKS_MAX + 1):
        with pytest.raises(ValueError):
            await _weekly(db, county, clock(), weeks)


def test_first_resolves_adds_the_extensions_granted_before_it() -> None:
    at = W48
    events = [
        (1, "extension_approved", at, "3d"),
        (1, "extension_approved", at + timedelta(hours=1), "1d"),
        (1, "resolved", at + timedelta(days=2), "other: x"),
        (1, "extension_approved", at + timedelta(days=3), "7d"),  # after it: not counted
        (2, "extension_approved", at, None),  # erased or malformed: nothing added
        (2, "resolved", at, None),
        (3, "extension_approved", at, "2d"),  # never resolved
    ]
    assert compliance.first_resolves(events) == {
        1: (at + timedelta(days=2), timedelta(days=4)),
        2: (at, timedelta()),
    }


def test_percent_and_monday() -> None:
    assert compliance.percent(2, 3) == 66 and compliance.percent(0, 0) is None
    # Sunday 23:59 in Shanghai is still the week of the Monday before.
    assert compliance.monday_of(datetime(2026, 11, 29, 15, 59, tzinfo=UTC)) == date(2026, 11, 23)
    assert compliance.monday_of(datetime(2026, 11, 29, 16, 0, tzinfo=UTC)) == date(2026, 11, 30)


async def test_a_city_without_counties(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """东莞 has no county level: its townships and its own queue, no county names."""
    dongguan, dongcheng = "441900000000", "441900003000"
    await file_ticket(db, directory, now=clock(), place=dongcheng)
    await file_ticket(db, directory, now=clock(), place=dongguan)  # the city's queue
    city = await city_supervisor(db, now=clock(), city=dongguan)
    seen = await _overview(db, directory, city)
    lines = {line.code: (line.level, line.name, line.county) for line in seen.lines}
    assert lines == {
        dongguan: ("city", "东莞市未成年人救助保护中心", ""),
        dongcheng: ("township", "东城街道", ""),
    }
    assert [line.code for line in seen.lines] == [dongguan, dongcheng]  # the queue first
