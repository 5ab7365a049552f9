"""A supervisor's lists and figures (flows.supervision) against the real database: only
their own area, overdue grouped by level, open tickets counted, statistics per period."""

from __future__ import annotations

from datetime import UTC, datetime

from factories import (
    JIANGPU,
    city_supervisor,
    county_supervisor,
    file_ticket,
    station_member,
    ticket_in,
)
from harness import FakeClock

from flows import supervision
from flows.escalation import sweep_deadlines
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.states import State
from flows.texts import t
from storage.db import Database
from storage.models import StaffMember

SHENZHEN = "440300000000"
TOWN_ELSEWHERE = "440303001000"  # a township of 深圳: another city


async def _lists(
    db: Database, directory: Directory, clock: FakeClock, member: StaffMember, period: str = "today"
) -> tuple[str, str, str]:
    async with db.unit() as session:
        late = await supervision.overdue(session=session, directory=directory, member=member)
        open_ = await supervision.open_tickets(session=session, directory=directory, member=member)
        figures = await supervision.stats(
            session=session, directory=directory, member=member, period=period, now=clock()
        )
    return late.text, open_.text, figures.text


async def test_an_empty_area_says_so(db: Database, directory: Directory, clock: FakeClock) -> None:
    county = await county_supervisor(db, now=clock())
    late, open_, figures = await _lists(db, directory, clock, county)
    assert late == t("zh", "overdue.none") and open_ == t("zh", "open.none")
    assert "收到：0" in figures and "按时签收：—" in figures


async def test_lists_and_figures_cover_the_area_and_nothing_outside_it(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    late = await file_ticket(db, directory, now=clock())  # P1: 2 h to sign for
    signed = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock(), member=worker)
    closed = await ticket_in(db, directory, state=State.CLOSED, now=clock(), member=worker)
    jiangpu = await file_ticket(db, directory, now=clock(), place=JIANGPU)
    elsewhere = await file_ticket(db, directory, now=clock(), place=TOWN_ELSEWHERE)
    clock.advance(hours=2, minutes=1)
    await sweep_deadlines(db=db, directory=directory, policy=DEFAULT_POLICY, clock=clock)
    county = await county_supervisor(db, now=clock())
    overdue, open_, figures = await _lists(db, directory, clock, county)
    assert late.code in overdue and jiangpu.code in overdue
    assert t("zh", "overdue.level1") in overdue
    assert signed.code not in overdue and elsewhere.code not in overdue
    assert "（3 件" in open_ and closed.code not in open_ and elsewhere.code not in open_
    assert "收到：4" in figures  # received today in 从化区: all but 深圳's
    assert "按时签收：2/2 (100%)" in figures and "办结：1" in figures
    assert "当前超时：区县级 2，市级 0" in figures
    # 深圳's supervisor sees only 深圳's.
    shenzhen = await city_supervisor(db, now=clock(), city=SHENZHEN, user="7302")
    overdue, open_, _ = await _lists(db, directory, clock, shenzhen)
    assert elsewhere.code in open_ and late.code not in open_ and late.code not in overdue


async def test_unknown_period_is_answered_with_the_usage(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    county = await county_supervisor(db, now=clock(), locale="en")
    *_, figures = await _lists(db, directory, clock, county, period="year")
    assert figures == t("en", "stats.usage")


def test_today_starts_at_midnight_in_shanghai_and_weeks_count_back() -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    today = supervision.period_start("today", now)
    assert today.astimezone(UTC) == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    late = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # already the 24th in Shanghai
    assert supervision.period_start("today", late).astimezone(UTC) == datetime(
        2026, 11, 23, 16, 0, tzinfo=UTC
    )
    assert (now - supervision.period_start("week", now)).days == 7
    assert (now - supervision.period_start("month", now)).days == 30
