"""Staff actions from outside the bot (flows.ticket_actions) against the real database: each
action by the right person does what the bot's button does, with the same history; every
refusal — scope, role, state, words — changes nothing but the trace the bot also leaves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from factories import (
    CONGHUA,
    JIANGPU,
    JIEKOU,
    county_supervisor,
    events_of,
    file_ticket,
    outbox_rows,
    row_of,
    station_member,
    ticket_in,
)
from harness import FakeClock

from flows import ticket_actions as acts
from flows.places import Directory
from flows.states import State
from flows.ticket_actions import Done, Refused, act
from storage.db import Database
from storage.models import TEXT_MAX, StaffMember, Ticket

SHIQIAO = "440113007000"  # a township of 番禺区: same city, another county


async def _act(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    member: StaffMember,
    ticket: Ticket | str,
    action: acts.Action,
) -> Done | Refused:
    code = ticket if isinstance(ticket, str) else ticket.code
    async with db.unit() as session:
        return await act(
            session=session,
            directory=directory,
            member=member,
            code=code,
            action=action,
            now=clock(),
        )


async def _done(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    member: StaffMember,
    ticket: Ticket,
    action: acts.Action,
) -> tuple[Done, Ticket]:
    result = await _act(db, directory, clock, member, ticket, action)
    assert isinstance(result, Done), result
    return result, await row_of(db, Ticket, ticket.id)


async def _snapshot(db: Database, ticket: Ticket) -> tuple[dict[str, Any], list[str], int]:
    """What an action could change: the ticket's row, its history, the messages written."""
    row = await row_of(db, Ticket, ticket.id)
    kinds = [e.kind for e in await events_of(db, ticket.id)]
    return row.model_dump(), kinds, len(await outbox_rows(db))


async def test_a_station_signs_works_and_resolves_its_ticket(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await file_ticket(db, directory, now=clock())
    done, after = await _done(db, directory, clock, worker, ticket, acts.Sign())
    assert after.state == State.ACKNOWLEDGED and after.assignee_id == worker.id
    assert done.ticket.row.state == "acknowledged" and done.ticket.row.signed_at == clock()
    assert set(done.ticket.actions) == {
        "note",
        "first_action",
        "request_extension",
        "resolve",
        "return",
    }
    assert done.ticket.row.next_due_at == after.next_due_at

    clock.advance(minutes=5)
    await _done(db, directory, clock, worker, ticket, acts.AddNote("  已电话联系学校  "))
    _, after = await _done(db, directory, clock, worker, ticket, acts.FirstAction("visit"))
    assert after.state == State.IN_PROGRESS and after.first_action_at == clock()
    done, after = await _done(
        db, directory, clock, worker, ticket, acts.Resolve("police", "已报警")
    )
    assert after.state == State.RESOLVED and after.outcome == "police"
    assert after.resolution_note == "已报警" and done.ticket.actions == ()

    history = [
        (e.kind, e.actor, e.from_state, e.to_state, e.note) for e in await events_of(db, ticket.id)
    ]
    me = f"staff:{worker.id}"
    assert history[2:] == [
        ("signed", me, "dispatched", "acknowledged", None),
        ("note", me, None, None, "已电话联系学校"),
        ("first_action", me, "acknowledged", "in_progress", "visit"),
        ("resolved", me, "in_progress", "resolved", "police: 已报警"),
    ]


async def test_more_time_is_asked_by_the_station_and_decided_by_the_county(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    county = await county_supervisor(db, now=clock())
    ticket = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock(), member=worker)
    due = ticket.resolve_due_at
    assert due is not None
    done, after = await _done(
        db, directory, clock, worker, ticket, acts.RequestExtension(3, "需要联系民政")
    )
    assert after.pending_extension_days == 3 and done.ticket.pending_extension_days == 3
    assert "request_extension" not in done.ticket.actions
    [asked] = await outbox_rows(db, kind="extension", ticket_id=ticket.id)
    assert asked.target == CONGHUA
    done, after = await _done(db, directory, clock, county, ticket, acts.DecideExtension(True))
    assert after.pending_extension_days is None and after.resolve_due_at == due + timedelta(days=3)
    assert done.ticket.actions == ("reassign",)  # what the county may still do: route it
    await _done(db, directory, clock, worker, ticket, acts.RequestExtension(7, "还需时间"))
    _, after = await _done(db, directory, clock, county, ticket, acts.DecideExtension(False))
    assert after.pending_extension_days is None and after.resolve_due_at == due + timedelta(days=3)
    kinds = [e.kind for e in await events_of(db, ticket.id)]
    assert kinds[-4:] == [
        "extension_requested",
        "extension_approved",
        "extension_requested",
        "extension_denied",
    ]


@pytest.mark.parametrize(
    ("action", "note"),
    [
        (acts.Return("area"), "不在本辖区"),
        (acts.Return("other", " 孩子已搬到外省 "), "孩子已搬到外省"),
    ],
)
async def test_a_station_returns_a_ticket_with_a_reason(
    db: Database, directory: Directory, clock: FakeClock, action: acts.Return, note: str
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await file_ticket(db, directory, now=clock())
    done, after = await _done(db, directory, clock, worker, ticket, action)
    assert after.state == State.RETURNED and after.owner_code == CONGHUA
    assert done.ticket.actions == ()  # the station waits for the county
    last = (await events_of(db, ticket.id))[-1]
    assert (last.kind, last.note) == ("returned", note)
    [told] = await outbox_rows(db, kind="returned", ticket_id=ticket.id)
    assert told.target == CONGHUA


async def test_the_county_rejects_a_return_or_routes_the_ticket_elsewhere(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    county = await county_supervisor(db, now=clock())
    kept = await ticket_in(db, directory, state=State.RETURNED, now=clock())
    _, after = await _done(db, directory, clock, county, kept, acts.RejectReturn())
    assert after.state == State.DISPATCHED and after.owner_code == JIEKOU
    assert (await events_of(db, kept.id))[-1].kind == "return_rejected"

    moved = await ticket_in(db, directory, state=State.RETURNED, now=clock())
    assert set(acts.available(county, moved)) == {"reject_return", "reassign"}
    done, after = await _done(db, directory, clock, county, moved, acts.Reassign(JIANGPU))
    assert after.state == State.DISPATCHED and after.station_code == JIANGPU
    assert done.ticket.row.station == JIANGPU and done.ticket.row.owner.startswith("从化区江埔")
    last = (await events_of(db, moved.id))[-1]
    assert (last.kind, last.actor, last.note) == (
        "redispatched",
        f"staff:{county.id}",
        f"{JIEKOU} -> {JIANGPU}",
    )
    assert [r.target for r in await outbox_rows(db, kind="referral", ticket_id=moved.id)][
        -1
    ] == JIANGPU


async def test_another_stations_member_is_told_no_such_ticket_and_traced(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    there = await station_member(db, now=clock(), station=JIANGPU, user="7002")
    ticket = await file_ticket(db, directory, now=clock())
    before = await _snapshot(db, ticket)
    assert await _act(db, directory, clock, there, ticket, acts.Sign()) == Refused("unseen")
    assert await _act(db, directory, clock, there, "ZZZZZZZZ", acts.Sign()) == Refused("unseen")
    assert await _act(db, directory, clock, there, "x'; --", acts.Sign()) == Refused("unseen")
    after = await _snapshot(db, ticket)
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1] == [*before[1], "refused"]
    refused = (await events_of(db, ticket.id))[-1]
    assert (refused.actor, refused.note) == (f"staff:{there.id}", "api:sign")


@pytest.mark.parametrize(
    ("who", "state", "action"),
    [
        ("station", State.RETURNED, acts.Reassign(JIANGPU)),
        ("station", State.RETURNED, acts.RejectReturn()),
        ("station", State.IN_PROGRESS, acts.DecideExtension(True)),
        ("county", State.DISPATCHED, acts.Sign()),
        ("county", State.ACKNOWLEDGED, acts.AddNote("督办意见")),
        ("county", State.IN_PROGRESS, acts.Resolve("other", "办完了")),
    ],
)
async def test_an_action_of_the_other_role_is_forbidden_and_traced(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    who: str,
    state: State,
    action: acts.Action,
) -> None:
    worker = await station_member(db, now=clock())
    county = await county_supervisor(db, now=clock())
    ticket = await ticket_in(db, directory, state=state, now=clock(), member=worker)
    before = await _snapshot(db, ticket)
    member = worker if who == "station" else county
    assert await _act(db, directory, clock, member, ticket, action) == Refused("forbidden")
    after = await _snapshot(db, ticket)
    assert (after[0], after[2]) == (before[0], before[2])
    assert after[1] == [*before[1], "refused"]


@pytest.mark.parametrize(
    ("state", "who", "action", "why"),
    [
        (State.ACKNOWLEDGED, "station", acts.Sign(), "not_now"),
        (State.DISPATCHED, "station", acts.FirstAction("call"), "not_now"),
        (State.DISPATCHED, "station", acts.AddNote("记录一下"), "not_now"),
        (State.IN_PROGRESS, "station", acts.FirstAction("call"), "not_now"),
        (State.IN_PROGRESS, "station", acts.Return("area"), "not_now"),
        (State.RESOLVED, "station", acts.Resolve("other", "再次办结"), "not_now"),
        (State.DISPATCHED, "county", acts.RejectReturn(), "not_now"),
        (State.CLOSED, "county", acts.Reassign(JIANGPU), "not_now"),
        (State.IN_PROGRESS, "county", acts.DecideExtension(True), "no_extension"),
    ],
)
async def test_an_action_in_the_wrong_state_changes_nothing(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    state: State,
    who: str,
    action: acts.Action,
    why: str,
) -> None:
    worker = await station_member(db, now=clock())
    county = await county_supervisor(db, now=clock())
    ticket = await ticket_in(db, directory, state=state, now=clock(), member=worker)
    before = await _snapshot(db, ticket)
    result = await _act(
        db, directory, clock, worker if who == "station" else county, ticket, action
    )
    assert result == Refused(why, state=state.value)
    assert await _snapshot(db, ticket) == before


async def test_a_second_request_for_more_time_waits_for_the_first(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock(), member=worker)
    await _done(db, directory, clock, worker, ticket, acts.RequestExtension(1, "一天就好"))
    before = await _snapshot(db, ticket)
    result = await _act(db, directory, clock, worker, ticket, acts.RequestExtension(7, "再多点"))
    assert result == Refused("extension_pending", state="in_progress")
    assert await _snapshot(db, ticket) == before


@pytest.mark.parametrize(
    ("action", "field"),
    [
        (acts.AddNote(" a "), "text"),
        (acts.AddNote("长" * (TEXT_MAX + 1)), "text"),
        (acts.AddNote("a\x00b"), "text"),
        (acts.FirstAction("email"), "how"),
        (acts.RequestExtension(2, "两天"), "days"),
        (acts.RequestExtension(True, "一天"), "days"),  # type: ignore[arg-type]
        (acts.RequestExtension(3, ""), "reason"),
        (acts.Resolve("magic", "办完了"), "outcome"),
        (acts.Resolve("police", "x"), "note"),
        (acts.Return("other"), "text"),
        (acts.Return("area", "多余的话"), "text"),
        (acts.Return("bored"), "reason"),
        (acts.Return("bored", "无聊"), "reason"),
        (acts.Reassign("4401170020"), "station"),
        (acts.Reassign("44011700200０"), "station"),
    ],
)
async def test_bad_words_or_choices_are_refused_before_the_ticket_is_read(
    db: Database, directory: Directory, clock: FakeClock, action: acts.Action, field: str
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock(), member=worker)
    before = await _snapshot(db, ticket)
    result = await _act(db, directory, clock, worker, ticket, action)
    assert isinstance(result, Refused) and (result.why, result.field) == ("invalid", field)
    assert result.message and "长长" not in result.message
    assert await _snapshot(db, ticket) == before


@pytest.mark.parametrize("station", [SHIQIAO, "440117999000", CONGHUA])
async def test_a_county_routes_only_to_its_own_stations(
    db: Database, directory: Directory, clock: FakeClock, station: str
) -> None:
    county = await county_supervisor(db, now=clock())
    ticket = await ticket_in(db, directory, state=State.RETURNED, now=clock())
    before = await _snapshot(db, ticket)
    result = await _act(db, directory, clock, county, ticket, acts.Reassign(station))
    assert isinstance(result, Refused) and (result.why, result.field) == ("invalid", "station")
    assert await _snapshot(db, ticket) == before


async def test_what_each_may_do_follows_the_ticket_through_its_life(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    county = await county_supervisor(db, now=clock())
    there = await station_member(db, now=clock(), station=JIANGPU, user="7002")
    fresh = await file_ticket(db, directory, now=clock())
    assert acts.available(worker, fresh) == ("sign", "return")
    assert acts.available(county, fresh) == ("reassign",)
    assert acts.available(there, fresh) == ()
    done = await ticket_in(db, directory, state=State.CLOSED, now=clock(), member=worker)
    assert acts.available(worker, done) == acts.available(county, done) == ()
