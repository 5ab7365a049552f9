"""flows.staff_views: what staff see — each person's buttons by the ticket's state, the
details with the reporter's phone only where it may be shown (and each view recorded), the
township picker within the supervisor's area, the two-step choices, where case data may be
shown, and a member's open tickets."""

from __future__ import annotations

from datetime import timedelta

from factories import (
    CONGHUA,
    GUANGZHOU,
    JIANGPU,
    JIEKOU,
    county_supervisor,
    file_ticket,
    group_of,
    person_of,
    sign,
    station_member,
    ticket_details,
)
from harness import FakeClock
from sqlmodel import col, func, select

from flows import staff_views
from flows.callbacks import StaffAction, StaffData, parse_staff
from flows.places import Directory
from flows.states import EXTENSION_DAYS, OUTCOMES, RETURN_REASONS, State
from flows.texts import t
from storage.db import Database
from storage.models import StaffMember, Ticket, TicketEvent

PUNING = "445281000000"  # 普宁市, 33 townships


def _member(role: str, level: str = "township", code: str = JIEKOU) -> StaffMember:
    return StaffMember(
        id=1,
        user_id="1",
        chat_id="1",
        display_name="x",
        role=role,
        scope_level=level,
        scope_code=code,
        joined_at=None,  # type: ignore[arg-type]
    )


def _actions(rows: list[list[object]]) -> set[str]:
    found = {parse_staff(b.data) for row in rows for b in row}  # type: ignore[attr-defined]
    return {d.action.value for d in found if isinstance(d, StaffData)}


async def test_details_show_the_phone_only_to_the_signing_station_in_private_and_record_it(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    colleague = await station_member(db, now=clock(), user="7002")
    ticket = await file_ticket(db, directory, now=clock(), phone="13800138000")

    async def details(member: StaffMember, *, private: bool = True) -> str:
        return await ticket_details(
            db, directory, member=member, ticket_id=ticket.id, now=clock(), private=private
        )

    assert "13800138000" not in await details(worker)  # not signed for yet
    assert "13800138000" not in await details(colleague)
    await sign(db, directory, ticket=ticket, member=worker, now=clock())
    assert "13800138000" not in await details(worker, private=False)  # not in a group
    assert "13800138000" in await details(worker)
    assert "13800138000" in await details(colleague)  # the signing station's
    assert await _views(db, ticket) == 2  # each view recorded


def test_station_buttons_follow_the_state() -> None:
    member = StaffMember(
        id=1,
        user_id="1",
        chat_id="1",
        display_name="x",
        role="station",
        scope_level="township",
        scope_code="1",
        joined_at=None,  # type: ignore[arg-type]
    )

    def actions(state: State) -> set[str]:
        ticket = Ticket(id=9, state=state)
        return {
            b.data.split(":")[1] for row in staff_views.station_buttons(member, ticket) for b in row
        }

    assert actions(State.DISPATCHED) == {"sign", "ret"}
    assert actions(State.ACKNOWLEDGED) == {"first", "note", "ext", "done", "ret"}
    assert actions(State.IN_PROGRESS) == {"note", "ext", "done"}
    assert actions(State.RESOLVED) == actions(State.CLOSED) == set()


async def _views(db: Database, ticket: Ticket) -> int:
    async with db.unit() as session:
        query = select(func.count()).where(
            col(TicketEvent.ticket_id) == ticket.id, col(TicketEvent.kind) == "contact_viewed"
        )
        return (await session.exec(query)).one()


def test_supervisor_buttons_follow_the_state() -> None:
    supervisor = _member("supervisor", "county", CONGHUA)
    assert _actions(staff_views.supervisor_buttons(supervisor, Ticket(id=9, state=State.TRIAGE)))
    assert _actions(
        staff_views.supervisor_buttons(supervisor, Ticket(id=9, state=State.RETURNED))
    ) == {StaffAction.REDISPATCH.value, StaffAction.REJECT_RETURN.value}
    asked = Ticket(id=9, state=State.IN_PROGRESS, pending_extension_days=3)
    assert _actions(staff_views.supervisor_buttons(supervisor, asked)) == {
        StaffAction.APPROVE.value,
        StaffAction.DENY.value,
    }
    quiet = Ticket(id=9, state=State.IN_PROGRESS)
    assert staff_views.supervisor_buttons(supervisor, quiet) == []
    # A station member has no supervisor's buttons; a supervisor none of a station's.
    assert staff_views.station_buttons(supervisor, Ticket(id=9, state=State.DISPATCHED)) == []


def test_the_township_picker_stays_in_the_area_and_turns_pages(directory: Directory) -> None:
    county = _member("supervisor", "county", CONGHUA)
    city = _member("supervisor", "city", GUANGZHOU)
    ticket = Ticket(id=9, code="AB12CD34", state=State.TRIAGE, county_code=CONGHUA)
    first = staff_views.township_picker(directory, county, ticket, 0)
    towns = {
        d.argument
        for row in first.buttons
        for b in row
        if isinstance(d := parse_staff(b.data), StaffData) and d.action == StaffAction.REDISPATCH_TO
    }
    assert JIEKOU in towns and JIANGPU in towns
    assert all(directory.get(code).parent_code == CONGHUA for code in towns)  # type: ignore[union-attr]
    assert not first.edit
    # A city supervisor picks within the ticket's county; a page past the end is the last.
    assert staff_views.township_picker(directory, city, ticket, 0).text == first.text
    assert "1/1" in first.text
    # 普宁市 has 33 townships: three pages; a page past the end (an old button) is the last.
    puning = _member("supervisor", "county", PUNING)
    big = Ticket(id=9, code="AB12CD34", state=State.TRIAGE, county_code=PUNING)
    pages = [staff_views.township_picker(directory, puning, big, n) for n in (0, 1, 2, 99)]
    assert [p.edit for p in pages] == [False, True, True, True]
    assert "3/3" in pages[3].text and pages[3].buttons == pages[2].buttons
    seen = [b.data for p in pages[:3] for row in p.buttons for b in row if ":rdt:" in b.data]
    assert len(seen) == len(set(seen)) == 33


def test_choices_offer_every_answer_of_their_step() -> None:
    member = _member("station")
    ticket = Ticket(id=9, state=State.ACKNOWLEDGED)

    def args(action: StaffAction) -> list[str]:
        reply = staff_views.choices(member, ticket, action)
        return [
            d.argument
            for row in reply.buttons
            for b in row
            if isinstance(d := parse_staff(b.data), StaffData)
        ]

    assert args(StaffAction.FIRST) == ["call", "visit"]
    assert args(StaffAction.EXTEND) == [str(d) for d in EXTENSION_DAYS]
    assert args(StaffAction.RESOLVE) == list(OUTCOMES)
    assert args(StaffAction.RETURN) == list(RETURN_REASONS)


async def test_case_data_is_shown_in_private_or_in_the_stations_own_group(
    db: Database, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    await group_of(db, station=JIEKOU, chat="-100", now=clock())
    await group_of(db, station=JIANGPU, chat="-200", now=clock())
    async with db.unit() as session:
        assert await staff_views.shown_here(session, person_of(worker), JIEKOU)
        own = person_of(worker, in_group=True, chat="-100")
        other = person_of(worker, in_group=True, chat="-200")
        unbound = person_of(worker, in_group=True, chat="-300")
        assert await staff_views.shown_here(session, own, JIEKOU)
        assert not await staff_views.shown_here(session, other, JIEKOU)
        assert not await staff_views.shown_here(session, unbound, JIEKOU)
        assert not await staff_views.shown_here(session, own, None)  # a supervisor's list
    assert staff_views.not_here(None, "en").replies[0].text == t("en", "place.private")
    assert staff_views.not_here(JIEKOU, "zh").replies[0].text == t("zh", "place.elsewhere")


async def test_my_tickets_lists_the_scope_soonest_due_first(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    elsewhere = await station_member(db, now=clock(), station=JIANGPU, user="7009")
    county = await county_supervisor(db, now=clock())
    later = await file_ticket(db, directory, now=clock())  # P1: sign within 2 hours
    clock.advance(minutes=1)
    sooner = await file_ticket(db, directory, now=clock(), danger="yes")  # P0: 15 minutes
    signed = await file_ticket(db, directory, now=clock())
    await sign(db, directory, ticket=signed, member=worker, now=clock() + timedelta(seconds=1))
    async with db.unit() as session:
        mine = (await staff_views.my_tickets(session, worker)).text
        theirs = (await staff_views.my_tickets(session, elsewhere)).text
        area = (await staff_views.my_tickets(session, county)).text
    assert mine.index(sooner.code) < mine.index(later.code)
    assert signed.code in mine  # signed for, still open
    assert theirs == t("zh", "mytickets.none")
    assert later.code in area and sooner.code in area
