"""Deadlines with a controlled clock: every rung of every priority, revert after sign-for,
levels with nobody enrolled, the duty chat, digests, downtime."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import act, enrol, event_kinds, file_ticket, outbox_rows, sign_in, station_member
from harness import FakeClock
from sqlmodel import col, select

from flows import feedback
from flows.escalation import sweep_deadlines
from flows.notices import expand
from flows.places import Directory
from flows.sla import DEFAULT_POLICY, Policy, Windows
from flows.staff import Scope
from flows.states import State
from storage.db import Database
from storage.models import OutboxMessage, StaffMember, Ticket

JIEKOU, CONGHUA, GUANGZHOU = "440117001000", "440117000000", "440100000000"
STATION, COUNTY, CITY, DUTY = "5101", "5201", "5301", "-5999"
ANSWERS: dict[str, dict[str, Any]] = {
    "P0": {"danger": "yes", "concerns": ["physical"]},
    "P1": {"danger": "no", "concerns": ["illness"]},
    "P2": {"danger": "no", "concerns": ["out_of_school"]},
}


SCOPES = {
    STATION: Scope("station", "township", JIEKOU),
    COUNTY: Scope("supervisor", "county", CONGHUA),
    CITY: Scope("supervisor", "city", GUANGZHOU),
}


async def staff(db: Database, clock: FakeClock, *who: str) -> dict[str, int]:
    """Enrol the station member, county and city supervisors named by their chats."""
    ids: dict[str, int] = {}
    for chat in who:
        member = await enrol(db, scope=SCOPES[chat], user=chat, now=clock())
        assert member.id is not None
        ids[chat] = member.id
    return ids


async def report(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    priority: str,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> int:
    """A new report of ``priority`` at 街口街道 from chat 5001."""
    ticket = await file_ticket(
        db,
        directory,
        now=clock(),
        chat="5001",
        policy=policy,
        age="12-14",
        story="情况说明",
        **ANSWERS[priority],
    )
    assert ticket.id is not None and ticket.priority == priority
    return ticket.id


class Run:
    """Sweeps at the clock's time and expands what it wrote into per-chat messages."""

    def __init__(
        self, db: Database, directory: Directory, clock: FakeClock, duty: str | None = None
    ) -> None:
        self.db, self.directory, self.clock, self.duty = db, directory, clock, duty

    async def sweep(self) -> int:
        n = await sweep_deadlines(
            db=self.db, directory=self.directory, policy=DEFAULT_POLICY, clock=self.clock
        )
        async with self.db.unit() as session:
            await expand(session, directory=self.directory, now=self.clock(), duty_chat=self.duty)
        return n

    async def at(self, when: Any) -> None:
        self.clock.now = when
        await self.sweep()

    async def messages(self, ticket_id: int) -> list[tuple[str, str]]:
        """(kind, chat) of every per-chat message about the ticket, in order."""
        rows = await outbox_rows(self.db, ticket_id=ticket_id, target_kind="chat")
        return [(r.kind, r.target) for r in rows if r.kind != "referral"]

    async def events(self, ticket_id: int) -> list[str]:
        return await event_kinds(self.db, ticket_id)

    async def ticket(self, ticket_id: int) -> Ticket:
        async with self.db.unit() as session:
            found = await session.get(Ticket, ticket_id)
        assert found is not None
        return found


@pytest.mark.parametrize("priority", ["P0", "P1", "P2"])
async def test_every_rung_of_the_sign_for_ladder(
    db: Database, directory: Directory, clock: FakeClock, priority: str
) -> None:
    await staff(db, clock, STATION, COUNTY, CITY)
    start = clock()
    tid = await report(db, directory, clock, priority)
    run = Run(db, directory, clock)
    window = timedelta(minutes=DEFAULT_POLICY.windows(priority).sign)
    sign_due = start + window

    await run.at(start + window / 2 - timedelta(seconds=1))
    assert await run.messages(tid) == []
    await run.at(start + window / 2)
    assert await run.messages(tid) == [("reminder", STATION)]
    assert (await run.ticket(tid)).overdue_level == 0

    await run.at(sign_due - timedelta(seconds=1))
    assert len(await run.messages(tid)) == 1
    await run.at(sign_due)  # the breach: the county, and the station hears it too
    assert (await run.messages(tid))[1:] == [("escalated", COUNTY), ("escalated", STATION)]
    t = await run.ticket(tid)
    assert (t.overdue_level, t.overdue_since) == (1, sign_due)

    await run.at(sign_due + window)  # one window later: the city
    assert (await run.messages(tid))[3:] == [("escalated", CITY)]
    assert (await run.ticket(tid)).overdue_level == 2

    for k in range(1, DEFAULT_POLICY.repeat_limit + 1):  # bounded repeats to both levels
        await run.at(sign_due + window * (1 + k))
        assert (await run.messages(tid))[-2:] == [
            ("escalation_repeat", COUNTY),
            ("escalation_repeat", CITY),
        ]
    assert (await run.ticket(tid)).next_due_at is None  # from here on: the daily digest
    count = len(await run.messages(tid))
    await run.at(sign_due + window * 50)
    assert len(await run.messages(tid)) == count
    assert Counter(await run.events(tid)) == Counter(
        {
            "submitted": 1,
            "dispatched": 1,
            "reminder": 1,
            "escalated": 2,
            "escalation_repeat": DEFAULT_POLICY.repeat_limit,
        }
    )


async def test_daily_digest_once_per_supervisor_per_day(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ids = await staff(db, clock, COUNTY, CITY)
    tid = await report(db, directory, clock, "P0")
    run = Run(db, directory, clock)
    await run.at(clock() + timedelta(hours=1))  # 11:00 Shanghai: overdue, past digest hour
    code = (await run.ticket(tid)).code
    async with db.unit() as session:
        digests = (
            await session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "digest"))
        ).all()
    assert sorted(d.target for d in digests) == sorted([COUNTY, CITY])
    assert all(code in d.payload["text"] for d in digests)
    await run.at(clock() + timedelta(hours=2))  # same day: nothing more
    await run.at(clock() + timedelta(hours=18))  # next morning (07:00): not yet
    async with db.unit() as session:
        assert (
            len(
                (
                    await session.exec(
                        select(OutboxMessage).where(col(OutboxMessage.kind) == "digest")
                    )
                ).all()
            )
            == 2
        )
    await run.at(clock() + timedelta(hours=2))  # 09:00 the next day
    async with db.unit() as session:
        keys = (
            await session.exec(
                select(OutboxMessage.dedup_key).where(col(OutboxMessage.kind) == "digest")
            )
        ).all()
    assert len(keys) == 4 and {k.split(":")[1] for k in keys} == {str(i) for i in ids.values()}


async def test_sign_for_without_first_action_reverts_and_the_ladder_resumes(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ids = await staff(db, clock, STATION, COUNTY, CITY)
    start = clock()
    tid = await report(db, directory, clock, "P0")  # sign 15 min, first action 2 h
    run = Run(db, directory, clock)
    await run.at(start + timedelta(minutes=16))  # reminder and L1 fired
    assert [k for k, _ in await run.messages(tid)] == ["reminder", "escalated", "escalated"]
    async with db.unit() as session:
        member = await session.get(StaffMember, ids[STATION])
        ticket = await session.get(Ticket, tid)
        assert member is not None and ticket is not None
        await sign_in(session, directory, member=member, ticket=ticket, now=clock())
    t = await run.ticket(tid)
    assert (t.state, t.overdue_level, t.next_due_at) == (
        "acknowledged",
        0,
        start + timedelta(hours=2),
    )
    before = [k for k, _ in await run.messages(tid)]
    await run.at(start + timedelta(hours=1))  # signed: the ladder is paused
    assert [k for k, _ in await run.messages(tid)] == before

    await run.at(start + timedelta(hours=2))  # no call or visit in time
    t = await run.ticket(tid)
    assert (t.state, t.assignee_id, t.signed_at) == ("dispatched", None, None)
    after = [k for k, _ in await run.messages(tid)][len(before) :]
    # The station is told; the ladder resumes at L2 (L1 had fired), now.
    assert after == ["reverted", "escalated"]
    assert (t.ladder_rung, t.overdue_level) == (3, 2)
    await run.at(start + timedelta(hours=2, minutes=15))  # one window later: first repeat
    assert [k for k, _ in await run.messages(tid)][-2:] == ["escalation_repeat"] * 2
    assert (await run.events(tid)).count("reverted") == 1


async def test_a_level_with_nobody_passes_up_and_the_top_is_the_duty_chat(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    await staff(db, clock, STATION)  # no county, no city supervisor
    start = clock()
    tid = await report(db, directory, clock, "P1")
    run = Run(db, directory, clock, duty=DUTY)
    await run.at(start + timedelta(hours=2))  # reminder + L1
    assert await run.messages(tid) == [
        ("reminder", STATION),
        ("escalated", DUTY),  # county → city → duty chat
        ("escalated", STATION),
    ]
    await staff(db, clock, CITY)
    await run.at(start + timedelta(hours=4))  # L2: the city now has someone
    assert (await run.messages(tid))[-1] == ("escalated", CITY)


async def test_without_a_duty_chat_an_undeliverable_notice_is_recorded(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    await staff(db, clock, STATION)
    start = clock()
    tid = await report(db, directory, clock, "P1")
    run = Run(db, directory, clock, duty=None)
    await run.at(start + timedelta(hours=2))
    assert ("escalated", STATION) in await run.messages(tid)
    assert "undelivered" in await run.events(tid)


async def test_a_referral_that_reaches_nobody_escalates_at_once(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    await staff(db, clock, COUNTY)  # the station has nobody
    tid = await report(db, directory, clock, "P2")  # sign-for window: 24 h
    run = Run(db, directory, clock)
    await run.sweep()  # the sender's expansion finds nobody at the station
    assert "not_notified" in await run.events(tid)
    await run.sweep()  # the next tick, same minute: L1 to the county
    assert await run.messages(tid) == [("escalated", COUNTY)]


async def test_resolve_deadline_and_feedback_window(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    from flows import lifecycle

    ids = await staff(db, clock, STATION, COUNTY)
    start = clock()
    tid = await report(db, directory, clock, "P0")
    run = Run(db, directory, clock)
    async with db.unit() as session:
        member = await session.get(StaffMember, ids[STATION])
        ticket = await session.get(Ticket, tid)
        assert member is not None and ticket is not None
        await sign_in(session, directory, member=member, ticket=ticket, now=clock())
        await lifecycle.first_action(
            session=session,
            directory=directory,
            ticket=ticket,
            member=member,
            how="visit",
            now=clock(),
        )
    await run.at(start + timedelta(days=1))  # resolve deadline (P0: 1 day): 催办
    assert [m for m in await run.messages(tid) if m[0] == "resolve_overdue"] == [
        ("resolve_overdue", COUNTY),
        ("resolve_overdue", STATION),
    ]
    await run.at(start + timedelta(days=5))
    assert (await run.events(tid)).count("resolve_overdue") == 1


async def test_downtime_past_two_deadlines_fires_each_once(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """The service is down (nothing sweeps) while two deadlines pass; the first sweep after
    start fires each once, and further sweeps fire nothing more."""
    await staff(db, clock, STATION, COUNTY)
    start = clock()
    tid = await report(db, directory, clock, "P0")
    run = Run(db, directory, clock)
    clock.now = start + timedelta(minutes=20)  # past the reminder (7.5 min) and L1 (15 min)
    await run.sweep()
    await run.sweep()
    assert Counter(await run.events(tid))["reminder"] == 1
    assert Counter(await run.events(tid))["escalated"] == 1
    assert [k for k, _ in await run.messages(tid)] == ["reminder", "escalated", "escalated"]


async def test_policy_frozen_at_dispatch(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    fast = Policy(P1=Windows(sign=10, first_action=60, resolve=600), name="pilot")
    start = clock()
    tid = await report(db, directory, clock, "P1", policy=fast)
    t = await Run(db, directory, clock).ticket(tid)
    assert t.sign_due_at == start + timedelta(minutes=10)
    assert t.sla["policy"] == "pilot" and t.sla["windows"]["sign"] == 10
    other = await report(db, directory, clock, "P1")  # filed under the default
    assert (await Run(db, directory, clock).ticket(other)).sign_due_at == start + timedelta(hours=2)


async def _act(
    db: Database, directory: Directory, clock: FakeClock, member_id: int, ticket_id: int, what: str
) -> None:
    """One staff action on the ticket, as its own transaction at the clock's time."""
    async with db.unit() as session:
        member = await session.get(StaffMember, member_id)
    assert member is not None
    await act(db, directory, ticket_id=ticket_id, what=what, now=clock(), member=member)


async def test_a_late_sign_for_gets_one_window_for_the_first_action(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """Signed after the first-action deadline had passed: not undone by the next tick; it
    reverts only if nobody calls or visits within one sign-for window."""
    ids = await staff(db, clock, STATION, COUNTY, CITY)
    start = clock()
    tid = await report(db, directory, clock, "P0")  # sign 15 min, first action 2 h
    run = Run(db, directory, clock)
    await run.at(start + timedelta(hours=2, minutes=5))
    clock.now = signed = start + timedelta(hours=2, minutes=6)
    await _act(db, directory, clock, ids[STATION], tid, "sign")
    t = await run.ticket(tid)
    assert (t.state, t.next_due_at) == ("acknowledged", signed + timedelta(minutes=15))
    await run.at(signed + timedelta(seconds=5))  # the next tick
    assert (await run.ticket(tid)).state == "acknowledged"
    await run.at(signed + timedelta(minutes=15))  # still no call or visit
    t = await run.ticket(tid)
    assert (t.state, t.assignee_id) == ("dispatched", None)
    assert (await run.events(tid)).count("reverted") == 1


async def test_a_ticket_redispatched_late_can_be_signed_for(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """Re-dispatched after its first-action deadline: the case's age keeps counting, but the
    new station's sign-for is not undone by the next tick."""
    ids = await staff(db, clock, STATION, COUNTY, CITY)
    start = clock()
    tid = await report(db, directory, clock, "P0")
    run = Run(db, directory, clock)
    clock.now = start + timedelta(minutes=10)
    await _act(db, directory, clock, ids[STATION], tid, "return")
    clock.now = again = start + timedelta(hours=3)
    await _act(db, directory, clock, ids[COUNTY], tid, "redispatch")
    t = await run.ticket(tid)
    assert (t.sign_due_at, t.first_action_due_at, t.resolve_due_at) == (
        again + timedelta(minutes=15),
        start + timedelta(hours=2),
        start + timedelta(days=1),
    )
    clock.now = signed = again + timedelta(minutes=1)
    await _act(db, directory, clock, ids[STATION], tid, "sign")
    await run.at(signed + timedelta(seconds=5))
    t = await run.ticket(tid)
    assert (t.state, t.next_due_at) == ("acknowledged", signed + timedelta(minutes=15))
    assert "reverted" not in await run.events(tid)


async def test_reopened_after_its_deadline_gets_a_new_one_and_a_second_cuiban(
    db: Database, directory: Directory, clock: FakeClock
) -> None:

    ids = await staff(db, clock, STATION, COUNTY)
    start = clock()
    tid = await report(db, directory, clock, "P0")  # resolve: 1 day
    run = Run(db, directory, clock)
    await _act(db, directory, clock, ids[STATION], tid, "sign")
    await _act(db, directory, clock, ids[STATION], tid, "first_action")
    await run.at(start + timedelta(days=1))  # 催办 1
    clock.now = start + timedelta(days=2)
    await _act(db, directory, clock, ids[STATION], tid, "resolve")
    clock.now = reopened = start + timedelta(days=2, hours=1)
    async with db.unit() as session:
        ticket = await session.get(Ticket, tid)
        assert ticket is not None
        await feedback.give_feedback(session=session, ticket=ticket, rating="unsat", now=clock())
    t = await run.ticket(tid)
    assert t.resolve_due_at == t.next_due_at == reopened + timedelta(days=1)
    await run.at(reopened + timedelta(days=1))  # 催办 2, to the same people again
    assert (await run.events(tid)).count("resolve_overdue") == 2
    assert [m for m in await run.messages(tid) if m[0] == "resolve_overdue"] == [
        ("resolve_overdue", COUNTY),
        ("resolve_overdue", STATION),
    ] * 2


async def test_after_a_revert_the_next_signer_gets_the_menu_and_the_reporter_hears_again(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ids = await staff(db, clock, STATION, COUNTY, CITY)
    second = await station_member(db, now=clock(), user="5102")
    assert second.id is not None
    second_id = second.id
    start = clock()
    tid = await report(db, directory, clock, "P2")  # sign 24 h, first action 3 days
    run = Run(db, directory, clock)
    await _act(db, directory, clock, ids[STATION], tid, "sign")
    await run.at(start + timedelta(days=3))  # no first action: reverted
    assert (await run.ticket(tid)).state == "dispatched"
    clock.now = start + timedelta(days=3, minutes=1)
    await _act(db, directory, clock, second_id, tid, "sign")
    sent = await run.messages(tid)
    assert [c for k, c in sent if k == "staff_menu"] == [STATION, "5102"]
    assert [c for k, c in sent if k == "reporter_update"] == ["5001", "5001"]


async def test_stats_measure_the_first_sign_for_from_the_dispatch_it_answered(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """Signed 10 minutes after dispatch, then returned and re-dispatched hours later: the
    re-dispatch moves the ticket's own dispatch time, not what /stats reports."""
    from flows import supervision

    ids = await staff(db, clock, STATION, COUNTY, CITY)
    start = clock()
    tid = await report(db, directory, clock, "P0")  # sign-for window: 15 min
    clock.now = start + timedelta(minutes=10)
    await _act(db, directory, clock, ids[STATION], tid, "sign")
    clock.now = start + timedelta(minutes=20)
    await _act(db, directory, clock, ids[STATION], tid, "return")
    clock.now = start + timedelta(hours=3)
    await _act(db, directory, clock, ids[COUNTY], tid, "redispatch")
    clock.now = start + timedelta(hours=3, minutes=40)  # late for the new window: not counted
    await _act(db, directory, clock, ids[STATION], tid, "sign")
    async with db.unit() as session:
        county = await session.get(StaffMember, ids[COUNTY])
        assert county is not None
        reply = await supervision.stats(
            session=session, directory=directory, member=county, period="week", now=clock()
        )
    assert "按时签收：1/1 (100%)" in reply.text
    assert "签收用时中位数：10分钟" in reply.text


async def test_the_digest_lists_the_oldest_breach_first(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """A worked ticket past its resolve deadline (no sign-for breach recorded) and an
    un-signed one breached later: oldest first, on SQLite and PostgreSQL alike."""
    ids = await staff(db, clock, STATION, COUNTY)
    start = clock()  # 10:00 in Shanghai
    worked = await report(db, directory, clock, "P2")  # resolve: 7 days
    await _act(db, directory, clock, ids[STATION], worked, "sign")
    await _act(db, directory, clock, ids[STATION], worked, "first_action")
    run = Run(db, directory, clock)
    await run.at(start + timedelta(days=7))  # 催办
    clock.now = start + timedelta(days=7, hours=1)
    unsigned = await report(db, directory, clock, "P0")
    await run.at(start + timedelta(days=7, hours=2))  # not signed for: L1
    await run.at(start + timedelta(days=8))  # the next morning's digest
    codes = [(await run.ticket(tid)).code for tid in (worked, unsigned)]
    async with db.unit() as session:
        latest = (
            await session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.kind) == "digest", col(OutboxMessage.target) == COUNTY)
                .order_by(col(OutboxMessage.id).desc())
            )
        ).first()
    assert latest is not None
    text = latest.payload["text"]
    assert text.index(codes[0]) < text.index(codes[1])


@pytest.mark.parametrize(
    ("state", "rung", "first_action"),
    [
        (State.DISPATCHED, 0, False),  # reminder
        (State.DISPATCHED, 1, False),  # breach
        (State.TRIAGE, 2, False),  # city
        (State.RETURNED, 3, False),  # repeat
        (State.ACKNOWLEDGED, 1, False),  # revert: no first action in time
        (State.IN_PROGRESS, 1, True),  # resolve deadline passed
        (State.RESOLVED, 1, True),  # no feedback in time
        (State.CLOSED, 1, True),  # nothing owed
    ],
)
def test_the_sweep_writes_back_every_column_it_changes(
    directory: Directory, state: State, rung: int, first_action: bool
) -> None:
    """The sweep writes tickets back by a fixed column list (escalation.SWEPT); a change on
    any other column would silently be lost."""
    from flows import escalation

    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    ticket = Ticket(
        id=1,
        code="AB12CD34",
        intake_key="k",
        state=state,
        priority="P1",
        in_danger="no",
        reporter_role="neighbour",
        place_code="440117001000",
        owner_code="440117001000",
        owner_level="township",
        station_code="440117001000",
        county_code="440117000000",
        city_code="440100000000",
        child_age="6-11",
        child_sex="f",
        story="x",
        reporter_channel="telegram",
        reporter_chat_id="9",
        created_at=now - timedelta(days=9),
        dispatched_at=now - timedelta(days=9),
        sign_due_at=now - timedelta(days=8),
        first_action_due_at=now - timedelta(days=7),
        resolve_due_at=now - timedelta(days=1),
        ladder_rung=rung,
        ladder_base=now - timedelta(days=8),
        next_due_at=now - timedelta(seconds=1),
        assignee_id=5 if state == State.ACKNOWLEDGED else None,
        signed_at=now - timedelta(days=8) if state == State.ACKNOWLEDGED else None,
        first_action_at=now - timedelta(days=6) if first_action else None,
        feedback_due_at=now - timedelta(seconds=1) if state == State.RESOLVED else None,
    )
    before = ticket.model_dump()
    tick = escalation._Tick({"440117001000": "街口街道"})
    escalation._fire(directory, tick, ticket, now)
    changed = {k for k, v in ticket.model_dump().items() if before[k] != v}
    assert changed, "the case fired nothing: it does not test the column list"
    assert changed <= set(escalation.SWEPT)


async def test_the_service_sweeps_and_sends_digests_as_jobs_of_their_own(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """As `hutong serve` schedules them: the sweep (every second by default, without the
    digests) and the digests (once a minute), each at once at start."""
    from bot.jobs import Jobs
    from bot.service import schedule_jobs
    from bot.settings import Settings
    from flows.intake import Intake

    await staff(db, clock, COUNTY, CITY)
    overdue = await report(db, directory, clock, "P0")
    clock.now = clock() + timedelta(hours=1)  # 11:00 Shanghai: overdue, past digest hour
    # Already escalated when the service starts (the digest job must not race the sweep).
    await sweep_deadlines(
        db=db, directory=directory, policy=DEFAULT_POLICY, clock=clock, with_digests=False
    )
    async with db.unit() as session:
        assert not (
            await session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "digest"))
        ).all()
    fresh = await report(db, directory, clock, "P0")
    clock.now = clock() + timedelta(minutes=20)  # the fresh one is past its sign-for deadline
    jobs = Jobs()
    schedule_jobs(
        jobs,
        Settings(),
        db=db,
        intake=Intake(directory, DEFAULT_POLICY),
        policy=DEFAULT_POLICY,
        clock=clock,
        sender=None,
    )
    jobs.start()
    try:
        for _ in range(100):  # bounded: 10 s; both jobs run at once
            kinds = await event_kinds(db, fresh)
            async with db.unit() as session:
                digests = (
                    await session.exec(
                        select(OutboxMessage).where(col(OutboxMessage.kind) == "digest")
                    )
                ).all()
            if "escalated" in kinds and len(digests) == 2:
                break
            await asyncio.sleep(0.1)
    finally:
        await jobs.stop()
    assert "escalated" in kinds  # by the sweep job
    assert sorted(d.target for d in digests) == sorted([COUNTY, CITY])  # by the digest job
    code = (await Run(db, directory, clock).ticket(overdue)).code
    assert all(code in d.payload["text"] for d in digests)
