"""A ticket in full for staff outside the bot (flows.ticket_detail): every view recorded,
the reporter's phone under the bot's rule (and each view of it recorded), a history that
names no staff member, and another scope's ticket answered as an unknown one."""

from __future__ import annotations

from factories import (
    CONGHUA,
    JIANGPU,
    STORY,
    county_supervisor,
    events_of,
    file_ticket,
    sign,
    station_member,
    ticket_in,
)
from harness import FakeClock

from flows.places import Directory
from flows.retention import erase_ticket
from flows.states import State
from flows.ticket_detail import TicketDetail, view_ticket
from storage.db import Database
from storage.models import StaffMember, Ticket

PHONE = "13800138000"


async def _view(
    db: Database, directory: Directory, clock: FakeClock, member: StaffMember, code: str
) -> TicketDetail | None:
    async with db.unit() as session:
        return await view_ticket(
            session=session, directory=directory, member=member, code=code, now=clock()
        )


async def _seen(
    db: Database, directory: Directory, clock: FakeClock, member: StaffMember, ticket: Ticket
) -> TicketDetail:
    found = await _view(db, directory, clock, member, ticket.code)
    assert found is not None
    return found


async def test_the_station_sees_the_phone_only_once_it_has_signed(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await file_ticket(db, directory, now=clock(), phone=PHONE, callback=True)
    before = await _seen(db, directory, clock, worker, ticket)
    assert before.contact.status == "hidden" and before.contact.phone is None
    assert before.story == STORY and before.state.actions == ("sign", "return")
    kinds = [(e.kind, e.actor, e.note) for e in await events_of(db, ticket.id)]
    assert kinds[-1] == ("viewed", f"staff:{worker.id}", "api")
    assert "contact_viewed" not in [k for k, _, _ in kinds]

    await sign(db, directory, ticket=ticket, member=worker, now=clock())
    after = await _seen(db, directory, clock, worker, ticket)
    assert (after.contact.status, after.contact.phone, after.contact.callback_consent) == (
        "shown",
        PHONE,
        True,
    )
    last = [(e.kind, e.actor) for e in await events_of(db, ticket.id)][-2:]
    assert last == [("viewed", f"staff:{worker.id}"), ("contact_viewed", f"staff:{worker.id}")]


async def test_the_county_sees_the_phone_and_each_view_is_recorded(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    county = await county_supervisor(db, now=clock())
    ticket = await file_ticket(db, directory, now=clock(), phone=PHONE)
    for _ in range(2):
        seen = await _seen(db, directory, clock, county, ticket)
        assert seen.contact.phone == PHONE
    kinds = [e.kind for e in await events_of(db, ticket.id)]
    assert kinds.count("viewed") == 2 and kinds.count("contact_viewed") == 2


async def test_an_anonymous_and_an_erased_report_show_no_contact(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    county = await county_supervisor(db, now=clock())
    anonymous = await file_ticket(db, directory, now=clock())
    assert (await _seen(db, directory, clock, county, anonymous)).contact.status == "anonymous"
    closed = await ticket_in(db, directory, state=State.CLOSED, now=clock(), phone=PHONE)
    async with db.unit() as session:
        await erase_ticket(session=session, code=closed.code, now=clock())
    erased = await _seen(db, directory, clock, county, closed)
    assert erased.contact.status == "erased" and erased.story is None
    assert erased.erased_at == clock() and erased.resolution_note is None
    assert "contact_viewed" not in [e.kind for e in await events_of(db, closed.id)]


async def test_the_history_says_what_kind_of_actor_never_which_staff_member(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    county = await county_supervisor(db, now=clock())
    ticket = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock(), member=worker)
    history = (await _seen(db, directory, clock, county, ticket)).history
    rows = [(h.kind, h.actor, h.by_you, h.note) for h in history]
    assert rows == [
        ("submitted", "reporter", False, None),
        ("dispatched", "system", False, None),  # its note is routing detail, not shown
        ("signed", "staff", False, None),
        ("first_action", "staff", False, "visit"),
        ("viewed", "staff", True, None),
    ]
    mine = (await _seen(db, directory, clock, worker, ticket)).history
    assert [h.by_you for h in mine if h.kind == "signed"] == [True]
    assert all(":" not in h.actor for h in mine) and worker.display_name not in repr(mine)


async def test_another_scopes_ticket_is_an_unknown_one_and_the_attempt_is_kept(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    there = await station_member(db, now=clock(), station=JIANGPU, user="7002")
    ticket = await file_ticket(db, directory, now=clock(), place=CONGHUA)  # the county's queue
    assert await _view(db, directory, clock, there, ticket.code) is None
    assert await _view(db, directory, clock, there, "ZZZZZZZZ") is None
    assert await _view(db, directory, clock, there, "") is None
    events = await events_of(db, ticket.id)
    assert [(e.kind, e.actor, e.note) for e in events][-1] == (
        "refused",
        f"staff:{there.id}",
        "api:view",
    )
    assert "viewed" not in [e.kind for e in events]
    # The code is read as the bot reads it: case does not matter.
    county = await county_supervisor(db, now=clock())
    assert (await _seen(db, directory, clock, county, ticket)).state.row.code == ticket.code
    assert await _view(db, directory, clock, county, ticket.code.lower()) is not None
