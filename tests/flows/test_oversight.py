"""A supervisor's decisions on a ticket: an extension approved or denied, a returned or
unplaced ticket routed to a township, a return rejected; each refused (NotNow) when stale or
outside the supervisor's area.

These live in flows.lifecycle today and move to flows.oversight: the import below is the
one line to change then.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from factories import (
    CONGHUA,
    JIANGPU,
    JIEKOU,
    city_supervisor,
    county_supervisor,
    file_ticket,
    outbox_rows,
    station_member,
    ticket_in,
)
from harness import FakeClock

from flows import lifecycle, oversight, tickets
from flows.places import Directory
from flows.states import State
from storage.db import Database
from storage.models import StaffMember, Ticket

HUADU_TOWN = "440114001000"  # 新华街道, 花都区: same city, another county


async def _do(db: Database, ticket: Ticket, change: Any) -> Any:
    assert ticket.id is not None
    async with db.unit() as session:
        locked = await tickets.locked_ticket(session, ticket.id)
        assert locked is not None
        result = await change(session, locked)
    return locked, result


async def _asking(
    db: Database, directory: Directory, clock: FakeClock, state: State, days: int = 3
) -> tuple[Ticket, StaffMember]:
    worker = await station_member(db, now=clock())
    ticket = await ticket_in(db, directory, state=state, now=clock(), member=worker)

    async def ask(s: Any, x: Ticket) -> None:
        await lifecycle.request_extension(
            session=s,
            directory=directory,
            ticket=x,
            member=worker,
            days=days,
            reason="r",
            now=clock(),
        )

    ticket, _ = await _do(db, ticket, ask)
    return ticket, await county_supervisor(db, now=clock())


async def test_an_approved_extension_moves_the_resolve_deadline_once(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket, supervisor = await _asking(db, directory, clock, State.IN_PROGRESS)
    due = ticket.resolve_due_at
    assert due is not None

    def decide(approve: bool) -> Any:
        return lambda s, x: oversight.decide_extension(
            session=s, ticket=x, supervisor=supervisor, approve=approve, now=clock()
        )

    after, days = await _do(db, ticket, decide(True))
    assert days == 3 and after.pending_extension_days is None
    assert after.resolve_due_at == due + timedelta(days=3) == after.next_due_at
    [told] = await outbox_rows(db, kind="extension_decision")
    assert (told.target_kind, told.target) == ("station", JIEKOU)
    assert told.payload["key"] == "notify.ext_approved"
    with pytest.raises(lifecycle.NotNow):  # the other supervisor's press, a moment later
        await _do(db, ticket, decide(False))


async def test_a_denied_extension_leaves_the_deadline_and_an_unresolving_one_its_next_due(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket, supervisor = await _asking(db, directory, clock, State.ACKNOWLEDGED, days=7)
    due, next_due = ticket.resolve_due_at, ticket.next_due_at
    denied, days = await _do(
        db,
        ticket,
        lambda s, x: oversight.decide_extension(
            session=s, ticket=x, supervisor=supervisor, approve=False, now=clock()
        ),
    )
    assert days == 7 and denied.resolve_due_at == due and denied.next_due_at == next_due
    assert (await outbox_rows(db, kind="extension_decision"))[0].payload[
        "key"
    ] == "notify.ext_denied"


async def test_redispatch_routes_within_the_area_and_restarts_only_the_sign_window(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await ticket_in(db, directory, state=State.RETURNED, now=clock())
    county = await county_supervisor(db, now=clock())
    first_due = ticket.first_action_due_at
    clock.advance(minutes=30)

    def to(township: str, who: StaffMember = county) -> Any:
        return lambda s, x: oversight.redispatch(
            session=s, directory=directory, ticket=x, supervisor=who, township=township, now=clock()
        )

    for outside in (HUADU_TOWN, "440300000000", "999999999999"):  # another county, city, none
        with pytest.raises(lifecycle.NotNow):
            await _do(db, ticket, to(outside))
    after, name = await _do(db, ticket, to(JIANGPU))
    assert name == "从化区江埔街道未成年人保护工作站"
    assert (after.state, after.station_code, after.owner_code) == (
        State.DISPATCHED,
        JIANGPU,
        JIANGPU,
    )
    assert after.assignee_id is None and after.signed_at is None
    assert after.dispatched_at == clock() and after.first_action_due_at == first_due
    [referral] = [r for r in await outbox_rows(db, kind="referral") if r.target == JIANGPU]
    assert referral.target_kind == "station"
    # A city supervisor may route across counties; a closed ticket is routed by nobody.
    city = await city_supervisor(db, now=clock())
    moved, _ = await _do(db, after, to(HUADU_TOWN, city))
    assert moved.station_code == HUADU_TOWN and moved.county_code == "440114000000"
    closed = await ticket_in(db, directory, state=State.CLOSED, now=clock())
    with pytest.raises(lifecycle.NotNow):
        await _do(db, closed, to(JIANGPU))


async def test_an_unplaced_ticket_is_routed_from_the_county_queue(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock(), place=CONGHUA)
    county = await county_supervisor(db, now=clock())
    after, _ = await _do(
        db,
        ticket,
        lambda s, x: oversight.redispatch(
            session=s,
            directory=directory,
            ticket=x,
            supervisor=county,
            township=JIEKOU,
            now=clock(),
        ),
    )
    assert (after.state, after.owner_level, after.station_code) == (
        State.DISPATCHED,
        "township",
        JIEKOU,
    )


@pytest.mark.parametrize(
    ("before", "back"),
    [(State.DISPATCHED, State.DISPATCHED), (State.ACKNOWLEDGED, State.ACKNOWLEDGED)],
)
async def test_a_rejected_return_goes_back_to_the_state_it_left(
    db: Database, directory: Directory, clock: FakeClock, before: State, back: State
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await ticket_in(db, directory, state=before, now=clock(), member=worker)
    ticket, _ = await _do(
        db,
        ticket,
        lambda s, x: lifecycle.return_ticket(
            session=s,
            directory=directory,
            ticket=x,
            member=worker,
            reason="不在本街道",
            now=clock(),
        ),
    )
    supervisor = await county_supervisor(db, now=clock())

    def reject(s: Any, x: Ticket) -> Any:
        return oversight.reject_return(session=s, ticket=x, supervisor=supervisor, now=clock())

    after, _ = await _do(db, ticket, reject)
    assert (after.state, after.owner_level, after.owner_code) == (back, "township", JIEKOU)
    assert (await outbox_rows(db, kind="return_rejected"))[0].target == JIEKOU
    with pytest.raises(lifecycle.NotNow):  # pressed twice
        await _do(db, ticket, reject)
