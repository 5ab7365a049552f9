"""Enrolment and authorisation (flows.staff) against the real database: codes used once,
cancelled or expired codes refused, groups bound and unbound, leaving withdraws what was on
its way, and who may act on which ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import (
    CONGHUA,
    GUANGZHOU,
    JIANGPU,
    JIEKOU,
    city_supervisor,
    county_supervisor,
    file_ticket,
    invite,
    station_member,
)
from harness import FakeClock
from sqlmodel import col, select

from flows import staff
from flows.places import Directory
from storage.db import Database
from storage.models import OutboxMessage, TicketEvent
from storage.outbox import WITHDRAWN, enqueue

SHENZHEN = "440300000000"
STATION = staff.Scope("station", "township", JIEKOU)


def test_scope_for_checks_the_operators_place_against_the_directory(
    directory: Directory,
) -> None:
    assert staff.scope_for(directory, role="station", station=JIEKOU) == STATION
    assert staff.scope_for(directory, role="supervisor", county=CONGHUA) == staff.Scope(
        "supervisor", "county", CONGHUA
    )
    assert staff.scope_for(directory, role="supervisor", city=GUANGZHOU).level == "city"
    for kwargs, key in (
        ({"role": "station", "station": CONGHUA}, "invite.bad_station"),  # a county
        ({"role": "station"}, "invite.bad_station"),
        ({"role": "supervisor", "county": JIEKOU}, "invite.bad_county"),
        ({"role": "supervisor", "city": CONGHUA}, "invite.bad_city"),
        ({"role": "supervisor"}, "invite.need_scope"),
        ({"role": "admin"}, "invite.bad_role"),
    ):
        with pytest.raises(staff.EnrolmentError) as refused:
            staff.scope_for(directory, **kwargs)  # type: ignore[arg-type]
        assert refused.value.key == key


async def _join(db: Database, clock: FakeClock, code: str, user: str) -> str:
    """The key of the refusal, or "ok"."""
    try:
        async with db.unit() as session:
            await staff.join(
                session=session,
                code=code,
                channel="telegram",
                user_id=user,
                chat_id=user,
                display_name="",
                locale="zh",
                now=clock(),
            )
    except staff.EnrolmentError as exc:
        return exc.key
    return "ok"


async def test_a_code_enrols_once_and_keeps_only_its_hash(db: Database, clock: FakeClock) -> None:
    code = await invite(db, scope=STATION, now=clock())
    assert len(code) == 14 and code.count("-") == 2  # XXXX-XXXX-XXXX
    assert await _join(db, clock, code.lower().replace("-", " "), "8001") == "ok"  # as typed
    assert await _join(db, clock, code, "8002") == "join.used"
    assert await _join(db, clock, "AAAA-BBBB-CCCC", "8002") == "join.unknown"
    again = await invite(db, scope=STATION, now=clock())
    assert await _join(db, clock, again, "8001") == "join.already"
    async with db.unit() as session:
        members = await staff.list_members(session=session, scope_code=JIEKOU)
        dumped = " ".join(str(m) for m in members)
    assert [m.user_id for m in members] == ["8001"] and members[0].display_name == "8001"
    assert code.replace("-", "") not in dumped


async def test_expired_cancelled_and_group_codes_are_refused_where_they_do_not_fit(
    db: Database, clock: FakeClock
) -> None:
    short = await invite(db, scope=STATION, now=clock(), ttl=timedelta(hours=1))
    cancelled = await invite(db, scope=STATION, now=clock())
    group = await invite(db, scope=STATION, now=clock(), kind="group")
    async with db.unit() as session:
        assert len(await staff.pending_invites(session=session, now=clock())) == 3
        done = await staff.cancel_invite(session=session, code=cancelled, now=clock())
        assert done.cancelled_at == clock()
        with pytest.raises(staff.EnrolmentError) as twice:
            await staff.cancel_invite(session=session, code=cancelled, now=clock())
        assert twice.value.key == "cancel.cancelled"
        with pytest.raises(staff.EnrolmentError) as supervisor_group:
            await staff.issue_invite(
                session=session,
                scope=staff.Scope("supervisor", "county", CONGHUA),
                kind="group",
                now=clock(),
            )
        assert supervisor_group.value.key == "invite.group_needs_station"
    assert await _join(db, clock, cancelled, "8101") == "join.cancelled"
    assert await _join(db, clock, group, "8101") == "join.unknown"  # a group's code, in private
    clock.advance(hours=1)
    assert await _join(db, clock, short, "8101") == "join.expired"
    async with db.unit() as session:
        pending = await staff.pending_invites(session=session, now=clock())
        with pytest.raises(staff.EnrolmentError) as expired:
            await staff.cancel_invite(session=session, code=short, now=clock())
    assert [p.kind for p in pending] == ["group"] and expired.value.key == "cancel.expired"


async def test_a_group_serves_one_station_and_unbinding_withdraws_its_waiting_copies(
    db: Database, clock: FakeClock
) -> None:
    first = await invite(db, scope=STATION, now=clock(), kind="group")
    second = await invite(
        db, scope=staff.Scope("station", "township", JIANGPU), now=clock(), kind="group"
    )
    async with db.unit() as session:
        await staff.bind_group(
            session=session, code=first, channel="telegram", chat_id="-51", user_id="1", now=clock()
        )
        assert await staff.bound_station(session, chat_id="-51") == JIEKOU
        await staff.bind_group(
            session=session,
            code=second,
            channel="telegram",
            chat_id="-51",
            user_id="1",
            now=clock(),
        )
        assert await staff.bound_station(session, chat_id="-51") == JIANGPU
        assert [g.station_code for g in await staff.active_groups(session=session)] == [JIANGPU]
        # The station's referral, and its copy waiting for the group.
        parent = await enqueue(
            session,
            dedup_key="referral",
            kind="referral",
            now=clock(),
            payload={},
            role_target=("station", JIANGPU),
        )
        await enqueue(
            session,
            dedup_key="copy",
            kind="referral",
            now=clock(),
            payload={},
            chat_id="-51",
            parent_id=parent,
        )
    async with db.unit() as session:
        assert (
            await staff.chat_migrated(
                session=session, old_chat_id="-51", new_chat_id="-1051", now=clock()
            )
            == 1
        )
        assert await staff.bound_station(session, chat_id="-1051") == JIANGPU
        assert await staff.unbind_group(session=session, chat_id="-1051", now=clock()) == 1
        assert await staff.unbind_group(session=session, chat_id="-1051", now=clock()) == 0
        assert await staff.bound_station(session, chat_id="-1051") is None
        row = (
            await session.exec(select(OutboxMessage).where(col(OutboxMessage.dedup_key) == "copy"))
        ).one()
    assert row.target == "-1051" and row.status == "failed"
    assert row.error is not None and row.error.startswith(WITHDRAWN)


async def test_leaving_and_revoking_end_the_membership_and_withdraw_staff_messages(
    db: Database, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    other = await station_member(db, now=clock(), user="7002")
    async with db.unit() as session:
        await enqueue(
            session,
            dedup_key="menu",
            kind="staff_menu",
            now=clock(),
            payload={},
            chat_id=worker.chat_id,
        )
        await enqueue(  # a reply the citizen side wrote: not staff data, left alone
            session,
            dedup_key="reply",
            kind="reply",
            now=clock(),
            payload={},
            chat_id=worker.chat_id,
        )
        await staff.leave(session=session, member=worker, now=clock())
        assert other.id is not None
        revoked = await staff.revoke(session=session, member_id=other.id, now=clock())
        assert revoked is not None and not revoked.active
        assert await staff.revoke(session=session, member_id=other.id, now=clock()) is None
        assert await staff.revoke(session=session, member_id=424242, now=clock()) is None
        assert await staff.active_member(session, channel="telegram", user_id="7001") is None
        everyone = await staff.list_members(session=session, include_inactive=True)
        rows = {r.dedup_key: r for r in (await session.exec(select(OutboxMessage))).all()}
    assert {m.user_id for m in everyone} == {"7001", "7002"}
    assert rows["menu"].status == "failed" and rows["reply"].status == "pending"


async def test_who_may_act_on_which_ticket(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock())
    here = await station_member(db, now=clock())
    there = await station_member(db, now=clock(), station=JIANGPU, user="7002")
    county = await county_supervisor(db, now=clock())
    city = await city_supervisor(db, now=clock())
    elsewhere = await city_supervisor(db, now=clock(), city=SHENZHEN, user="7302")
    assert staff.works_at(here, ticket) and not staff.supervises(here, ticket)
    assert not staff.works_at(there, ticket) and not staff.may_view(there, ticket)
    assert staff.supervises(county, ticket) and not staff.works_at(county, ticket)
    assert staff.supervises(city, ticket) and staff.may_view(city, ticket)
    assert not staff.may_view(elsewhere, ticket)
    here.active = False  # a member who left may do nothing
    assert not staff.may_view(here, ticket)
    assert staff.actor(county, channel="telegram", user_id="x") == f"staff:{county.id}"
    assert staff.actor(None, channel="telegram", user_id="x") == "telegram:x"


async def test_refusals_leave_one_trace_per_person_per_window(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock())
    for _ in range(5):
        async with db.unit() as session:
            await staff.refusal(
                session, ticket=ticket, who="telegram:66", action="w:sign:1", now=clock()
            )
    async with db.unit() as session:
        await staff.refusal(session, ticket=ticket, who="telegram:67", action="sign", now=clock())
    clock.advance(seconds=staff.REFUSAL_WINDOW.total_seconds() + 1)
    async with db.unit() as session:
        await staff.refusal(
            session, ticket=ticket, who="telegram:66", action="x" * 300, now=clock()
        )
        refused = (
            await session.exec(
                select(TicketEvent)
                .where(col(TicketEvent.kind) == "refused")
                .order_by(col(TicketEvent.id))
            )
        ).all()
    assert [(e.actor, len(e.note or "")) for e in refused] == [
        ("telegram:66", 8),
        ("telegram:67", 4),
        ("telegram:66", 200),
    ]
