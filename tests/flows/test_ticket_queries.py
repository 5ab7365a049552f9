"""Ticket lists for staff (flows.ticket_queries) against the real database: the member's
scope and nothing else, every filter, keyset pages with no repeat and no gap, cursors that
belong to their list, and query parameters read strictly."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import (
    CONGHUA,
    GUANGZHOU,
    JIANGPU,
    JIEKOU,
    city_supervisor,
    county_supervisor,
    enrol,
    file_ticket,
    station_member,
    ticket_in,
)
from harness import FakeClock

from flows.escalation import sweep_deadlines
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.staff import PROVINCE_CODE, Scope
from flows.states import State
from flows.ticket_queries import (
    LIMIT_DEFAULT,
    CursorError,
    FilterError,
    TicketFilter,
    TicketPage,
    encode_cursor,
    list_tickets,
    parse_filter,
    parse_limit,
    parse_listing,
)
from storage.db import Database
from storage.models import StaffMember, Ticket

PANYU, SHIQIAO = "440113000000", "440113007000"  # another county of 广州, and a township in it
SHENZHEN_TOWN = "440303001000"  # another city


async def _list(
    db: Database,
    directory: Directory,
    member: StaffMember,
    filter: TicketFilter | None = None,
    *,
    cursor: str | None = None,
    limit: int = LIMIT_DEFAULT,
) -> TicketPage:
    async with db.unit() as session:
        return await list_tickets(
            session=session,
            directory=directory,
            member=member,
            filter=filter or TicketFilter(),
            cursor=cursor,
            limit=limit,
        )


async def _codes(
    db: Database, directory: Directory, member: StaffMember, filter: TicketFilter | None = None
) -> set[str]:
    return {row.code for row in (await _list(db, directory, member, filter)).items}


async def test_each_member_lists_their_own_scope_only(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    jiekou = await file_ticket(db, directory, now=clock())
    jiangpu = await file_ticket(db, directory, now=clock(), place=JIANGPU)
    shiqiao = await file_ticket(db, directory, now=clock(), place=SHIQIAO)
    queued = await file_ticket(db, directory, now=clock(), place=CONGHUA)  # 从化区's queue
    await file_ticket(db, directory, now=clock(), place=SHENZHEN_TOWN)
    station = await station_member(db, now=clock())
    county = await county_supervisor(db, now=clock())
    city = await city_supervisor(db, now=clock())
    operator = await enrol(
        db, scope=Scope("operator", "province", PROVINCE_CODE), user="81", now=clock()
    )
    assert await _codes(db, directory, station) == {jiekou.code}
    assert await _codes(db, directory, county) == {jiekou.code, jiangpu.code, queued.code}
    assert await _codes(db, directory, city) == {
        jiekou.code,
        jiangpu.code,
        shiqiao.code,
        queued.code,
    }
    assert await _codes(db, directory, operator) == set()


async def test_a_filter_narrows_the_scope_and_never_widens_it(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    jiekou = await file_ticket(db, directory, now=clock())
    await file_ticket(db, directory, now=clock(), place=JIANGPU)
    await file_ticket(db, directory, now=clock(), place=SHIQIAO)
    station = await station_member(db, now=clock())
    county = await county_supervisor(db, now=clock())
    assert await _codes(db, directory, station, TicketFilter(station=JIANGPU)) == set()
    assert await _codes(db, directory, station, TicketFilter(city=GUANGZHOU)) == {jiekou.code}
    assert await _codes(db, directory, county, TicketFilter(county=PANYU)) == set()
    assert await _codes(db, directory, county, TicketFilter(station=SHIQIAO)) == set()
    assert await _codes(db, directory, county, TicketFilter(station=JIEKOU)) == {jiekou.code}


async def test_filters_by_state_priority_place_and_time(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    start = clock()
    p1 = await file_ticket(db, directory, now=clock())  # P1 (no carer)
    clock.advance(hours=1)
    p0 = await file_ticket(db, directory, now=clock(), danger="yes")
    clock.advance(hours=1)
    p2 = await file_ticket(db, directory, now=clock(), place=JIANGPU, concerns=["bullying"])
    worker = await station_member(db, now=clock())
    signed = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock(), member=worker)
    queued = await file_ticket(db, directory, now=clock(), place=CONGHUA)
    county = await county_supervisor(db, now=clock())

    async def codes(**parts: Any) -> set[str]:
        return await _codes(db, directory, county, TicketFilter(**parts))

    assert await codes(states=("acknowledged",)) == {signed.code}
    assert await codes(states=("triage", "acknowledged")) == {signed.code, queued.code}
    assert await codes(priorities=("P0",)) == {p0.code}
    assert await codes(priorities=("P2",)) == {p2.code}
    assert await codes(station=JIANGPU) == {p2.code}
    assert await codes(county=CONGHUA, states=("dispatched",)) == {p1.code, p0.code, p2.code}
    hour = timedelta(hours=1)
    # created_from is inclusive, created_to exclusive: one hour's tickets, not the next's.
    assert await codes(created_from=start, created_to=start + hour) == {p1.code}
    assert await codes(created_from=start + hour, created_to=start + 2 * hour) == {p0.code}
    assert await codes(created_from=start + 2 * hour) == {p2.code, signed.code, queued.code}
    assert await codes(created_to=start) == set()


async def test_overdue_is_what_the_supervisors_overdue_list_counts(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    late = await file_ticket(db, directory, now=clock())  # P1: 2 h to sign for
    worker = await station_member(db, now=clock())
    signed = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock(), member=worker)
    clock.advance(hours=2, minutes=1)
    await sweep_deadlines(db=db, directory=directory, policy=DEFAULT_POLICY, clock=clock)
    fresh = await file_ticket(db, directory, now=clock())
    county = await county_supervisor(db, now=clock())
    assert await _codes(db, directory, county, TicketFilter(overdue=True)) == {late.code}
    assert await _codes(db, directory, county, TicketFilter(overdue=False)) == {
        signed.code,
        fresh.code,
    }
    [row] = (await _list(db, directory, county, TicketFilter(overdue=True))).items
    assert row.overdue and row.overdue_level == 1


async def test_a_row_holds_where_the_ticket_stands_and_nothing_personal(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock(), phone="13800138000")
    queued = await file_ticket(db, directory, now=clock(), place=CONGHUA)
    county = await county_supervisor(db, now=clock())
    page = await _list(db, directory, county)
    by_code = {row.code: row for row in page.items}
    row = by_code[ticket.code]
    assert (row.state, row.priority, row.station, row.county, row.city) == (
        "dispatched",
        "P1",
        JIEKOU,
        CONGHUA,
        GUANGZHOU,
    )
    assert row.owner.endswith("未成年人保护工作站") and row.channel == "telegram"
    assert row.next_due_at == ticket.next_due_at and row.signed_at is None
    assert "从化区" in by_code[queued.code].owner and by_code[queued.code].station is None
    assert "13800138000" not in repr(page) and ticket.story not in repr(page)


async def test_pages_cover_every_ticket_once_newest_first(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    filed: list[Ticket] = []
    for n in range(8):
        # Several filed in the same instant: the id breaks the tie.
        if n % 3 == 0:
            clock.advance(minutes=5)
        filed.append(await file_ticket(db, directory, now=clock()))
    station = await station_member(db, now=clock())
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await _list(db, directory, station, cursor=cursor, limit=3)
        seen += [row.code for row in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        # A ticket filed while the client pages does not push an older one off a page.
        await file_ticket(db, directory, now=clock())
    newest_first = sorted(filed, key=lambda x: (x.created_at, x.id or 0), reverse=True)
    assert seen == [x.code for x in newest_first]
    assert pages == 3


async def test_a_cursor_reads_back_only_for_its_own_list(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    for _ in range(3):
        await file_ticket(db, directory, now=clock())
    station = await station_member(db, now=clock())
    page = await _list(db, directory, station, limit=1)
    assert page.next_cursor is not None
    with pytest.raises(CursorError):
        await _list(
            db, directory, station, TicketFilter(priorities=("P1",)), cursor=page.next_cursor
        )
    # The same filter written in another order is the same list.
    two = TicketFilter(states=("dispatched", "triage"))
    first = await _list(db, directory, station, two, limit=1)
    assert first.next_cursor is not None
    again = await _list(
        db,
        directory,
        station,
        TicketFilter(states=("triage", "dispatched")),
        cursor=first.next_cursor,
    )
    assert len(again.items) == 2  # the rest, after the first page's one


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _made(*parts: object) -> str:
    """A cursor made by hand: the JSON of ``parts``, encoded as the list encodes its own."""
    return _b64(json.dumps(list(parts)).encode())


AT = "2026-11-23T02:00:00+00:00"
ANY = TicketFilter().fingerprint()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64!",
        "x" * 301,
        _b64(b"\xff\xfe"),
        _b64(b"[1, 2"),
        _b64(json.dumps({"a": 1}).encode()),
        _made(1, AT, 5),
        _made(2, AT, 5, ANY),  # another version
        _made(1, "yesterday", 5, ANY),
        _made(1, "2026-11-23T02:00:00", 5, ANY),  # no offset
        _made(1, AT, "5", ANY),
        _made(1, AT, True, ANY),
        _made(1, AT, 0, ANY),
        _made(1, AT, 2**31, ANY),  # past what PostgreSQL's integer holds
        _made(1, AT, 5, "0" * 16),  # another filter's
    ],
)
async def test_a_broken_or_made_up_cursor_is_refused_before_any_query(
    db: Database, directory: Directory, clock: FakeClock, cursor: str
) -> None:
    station = await station_member(db, now=clock())
    with pytest.raises(CursorError) as caught:
        await _list(db, directory, station, cursor=cursor)
    assert caught.value.field == "cursor"


async def test_a_hand_made_cursor_moves_the_page_but_not_the_scope(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    await file_ticket(db, directory, now=clock(), place=JIANGPU)
    station = await station_member(db, now=clock())
    later = datetime(2030, 1, 1, tzinfo=UTC)
    page = await _list(
        db, directory, station, cursor=encode_cursor(later, 2**31 - 1, TicketFilter())
    )
    assert page.items == ()


# ---- query parameters -----------------------------------------------------------------


def test_parameters_make_a_filter() -> None:
    params = [
        ("state", "dispatched,triage"),
        ("state", "acknowledged"),
        ("priority", "P0"),
        ("overdue", "true"),
        ("station", JIEKOU),
        ("county", CONGHUA),
        ("city", GUANGZHOU),
        ("created_from", "2026-12-05"),
        ("created_to", "2026-12-06T08:30:00Z"),
    ]
    found = parse_filter(params)
    assert found.states == ("acknowledged", "dispatched", "triage")
    assert found.priorities == ("P0",) and found.overdue is True
    assert (found.station, found.county, found.city) == (JIEKOU, CONGHUA, GUANGZHOU)
    # A date is its midnight in Asia/Shanghai; a time with an offset is taken as given.
    assert found.created_from == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    assert found.created_to == datetime(2026, 12, 6, 8, 30, tzinfo=UTC)
    assert parse_filter({"created_from": "2026-12-05T10:00"}).created_from == datetime(
        2026, 12, 5, 2, 0, tzinfo=UTC
    )
    assert parse_filter({"overdue": "false"}).overdue is False
    assert parse_filter({}) == TicketFilter()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "everything"}, "state"),
        ({"state": "submitted"}, "state"),
        ({"state": "dispatched,"}, "state"),
        ({"priority": "P9"}, "priority"),
        ({"overdue": "yes"}, "overdue"),
        ({"overdue": ""}, "overdue"),
        ({"station": "44011700100"}, "station"),
        ({"county": "44011700000x"}, "county"),
        ({"city": "4401000000000"}, "city"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"created_to": "2026-13-01"}, "created_to"),
        ({"created_to": "0001-01-01T00:00:00+08:00"}, "created_to"),
        ({"created_from": "9999-12-31T23:59:59-08:00"}, "created_from"),
        ({"created_from": "2026-12-05T10:00:00 08:00"}, "created_from"),
        ({"created_from": "2" * 50}, "created_from"),
        ({"stat": "dispatched"}, "stat"),
        ({"x\x00y": "1"}, "(query)"),
        ([("station", JIEKOU), ("station", JIANGPU)], "station"),
    ],
)
def test_each_bad_parameter_is_named_and_its_value_not_repeated(
    params: dict[str, str] | list[tuple[str, str]], field: str
) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(params)
    assert caught.value.field == field
    sent = params.values() if isinstance(params, dict) else [v for _, v in params]
    for value in sent:
        if len(value) > 3:
            assert value not in caught.value.message


def test_limit_and_cursor_are_read_with_the_filter() -> None:
    listing = parse_listing([("limit", "200"), ("cursor", "abc"), ("priority", "P1")])
    assert (listing.limit, listing.cursor, listing.filter.priorities) == (200, "abc", ("P1",))
    assert parse_listing({}).limit == LIMIT_DEFAULT and parse_limit("1") == 1
    for bad in ("0", "201", "-1", "1.5", "ten", "", " 5", "99999"):
        with pytest.raises(FilterError) as caught:
            parse_listing({"limit": bad})
        assert caught.value.field == "limit"
    with pytest.raises(FilterError) as caught:
        parse_listing([("cursor", "a"), ("cursor", "b")])
    assert caught.value.field == "cursor"
    # A list's own parameters are not a filter's: they are refused by parse_filter alone.
    with pytest.raises(FilterError):
        parse_filter({"limit": "5"})
    assert parse_filter({"limit": "5", "page": "2"}, extra=("limit", "page")) == TicketFilter()
