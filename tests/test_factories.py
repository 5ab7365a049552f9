"""The shared builders make what they say they make, through the flows, and nothing else."""

from __future__ import annotations

import pytest
from factories import (
    CONGHUA,
    GUANGZHOU,
    JIANGPU,
    JIEKOU,
    REPORTER,
    act,
    city_supervisor,
    county_supervisor,
    enrol,
    event_kinds,
    events_of,
    file_in,
    file_ticket,
    group_of,
    invite,
    mark_outbox_sent,
    outbox_rows,
    person_of,
    raw_invite,
    report_answers,
    row_of,
    sign,
    sign_in,
    staff_text,
    station_member,
    ticket_by_code,
    ticket_details,
    ticket_in,
)
from harness import FakeClock
from sqlmodel import col, select

from flows import staff
from flows.awaiting import Note
from flows.places import Directory
from flows.states import State
from flows.triage import derive_priority
from storage.db import Database
from storage.models import Invite, OutboxMessage, Ticket, TicketEvent


def test_report_answers_are_complete_and_overridable() -> None:
    answers = report_answers()
    assert set(answers) == {"danger", "reporter", "place", "age", "sex", "concerns", "story"}
    assert answers["place"] == JIEKOU
    assert derive_priority(
        in_danger=answers["danger"], concerns=answers["concerns"], child_age=answers["age"]
    ) == "P1"  # fmt: skip
    changed = report_answers(danger="yes", phone="13800138000")
    assert changed["danger"] == "yes" and changed["phone"] == "13800138000"
    assert report_answers()["danger"] == "no"  # each call a new dict


async def test_file_ticket_files_a_dispatched_ticket_with_its_referral(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock(), story="楼下孩子整夜哭")
    assert ticket.id is not None and ticket.state == State.DISPATCHED
    assert (ticket.station_code, ticket.story) == (JIEKOU, "楼下孩子整夜哭")
    assert ticket.reporter_chat_id == REPORTER and ticket.created_at == clock()
    async with db.unit() as session:
        kinds = (
            await session.exec(
                select(TicketEvent.kind).where(col(TicketEvent.ticket_id) == ticket.id)
            )
        ).all()
        referral = (
            await session.exec(
                select(OutboxMessage).where(col(OutboxMessage.ticket_id) == ticket.id)
            )
        ).one()
    assert sorted(kinds) == ["dispatched", "submitted"]
    assert (referral.kind, referral.target) == ("referral", JIEKOU)


async def test_each_filing_is_a_new_ticket_unless_the_same_n_is_given(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    first = await file_ticket(db, directory, now=clock())
    second = await file_ticket(db, directory, now=clock())
    assert first.id != second.id and first.code != second.code
    again = await file_ticket(db, directory, now=clock(), n=7)
    same = await file_ticket(db, directory, now=clock(), n=7)  # filing is idempotent
    assert again.id == same.id
    async with db.unit() as session:
        inside = await file_in(session, directory, now=clock(), chat="901", place=JIANGPU)
        assert inside.station_code == JIANGPU and inside.reporter_chat_id == "901"


async def test_staff_builders_enrol_through_an_invitation(db: Database, clock: FakeClock) -> None:
    worker = await station_member(db, now=clock())
    county = await county_supervisor(db, now=clock(), locale="en")
    city = await city_supervisor(db, now=clock(), name="督导丙")
    assert (worker.role, worker.scope_level, worker.scope_code) == ("station", "township", JIEKOU)
    assert (county.role, county.scope_level, county.scope_code) == (
        "supervisor",
        "county",
        CONGHUA,
    )
    assert (city.scope_level, city.scope_code, city.display_name) == ("city", GUANGZHOU, "督导丙")
    assert county.locale == "en" and worker.chat_id == worker.user_id
    async with db.unit() as session:
        used = (await session.exec(select(Invite).where(col(Invite.used_at).is_not(None)))).all()
    assert {i.id for i in used} == {worker.invite_id, county.invite_id, city.invite_id}
    with pytest.raises(staff.EnrolmentError):  # one account, one enrolment
        await station_member(db, now=clock(), station=JIANGPU)
    other = await enrol(
        db, scope=staff.Scope("station", "township", JIANGPU), user="7002", now=clock(), chat="-1"
    )
    assert other.scope_code == JIANGPU and other.chat_id == "-1"
    person = person_of(other)
    assert (person.user_id, person.chat_id, person.in_group) == ("7002", "-1", False)


async def test_group_of_binds_a_group_chat_to_the_station(db: Database, clock: FakeClock) -> None:
    group = await group_of(db, station=JIANGPU, chat="-42", now=clock())
    assert (group.station_code, group.chat_id, group.active) == (JIANGPU, "-42", True)
    async with db.unit() as session:
        assert await staff.bound_station(session, chat_id="-42") == JIANGPU
        invite_row = await session.get(Invite, group.invite_id)
    assert invite_row is not None and invite_row.kind == "group" and invite_row.used_at == clock()


async def test_invite_is_a_usable_code(db: Database, clock: FakeClock) -> None:
    code = await invite(db, scope=staff.Scope("station", "township", JIEKOU), now=clock())
    async with db.unit() as session:
        pending = await staff.pending_invites(session=session, now=clock())
        member = await staff.join(
            session=session,
            code=code,
            channel="telegram",
            user_id="7009",
            chat_id="7009",
            display_name="x",
            locale="zh",
            now=clock(),
        )
    assert len(pending) == 1 and member.scope_code == JIEKOU


async def test_sign_signs_for_and_refuses_loudly(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await file_ticket(db, directory, now=clock())
    signed = await sign(db, directory, ticket=ticket, member=worker, now=clock())
    assert signed.state == State.ACKNOWLEDGED and signed.assignee_id == worker.id
    assert signed.signed_at == clock()
    # The session-level one returns the flow's outcome: a second press finds it taken.
    async with db.unit() as session:
        again = await session.get(Ticket, ticket.id)
        assert again is not None
        out = await sign_in(session, directory, member=worker, ticket=again, now=clock())
    assert out.notice is not None and "已被" in out.notice
    outsider = await station_member(db, now=clock(), station=JIANGPU, user="7003")
    fresh = await file_ticket(db, directory, now=clock())
    with pytest.raises(AssertionError):  # another station's member cannot sign it
        await sign(db, directory, ticket=fresh, member=outsider, now=clock())


@pytest.mark.parametrize(
    "state",
    [
        State.DISPATCHED,
        State.TRIAGE,
        State.ACKNOWLEDGED,
        State.IN_PROGRESS,
        State.RETURNED,
        State.RESOLVED,
        State.REOPENED,
        State.CLOSED,
    ],
)
async def test_ticket_in_walks_the_real_path_to_each_state(
    db: Database, directory: Directory, clock: FakeClock, state: State
) -> None:
    ticket = await ticket_in(db, directory, state=state, now=clock())
    async with db.unit() as session:
        stored = await session.get(Ticket, ticket.id)
        kinds = (
            await session.exec(
                select(TicketEvent.kind)
                .where(col(TicketEvent.ticket_id) == ticket.id)
                .order_by(col(TicketEvent.id))
            )
        ).all()
    assert stored is not None and stored.state == state
    walked = {
        State.DISPATCHED: [],
        State.TRIAGE: [],
        State.ACKNOWLEDGED: ["signed"],
        State.IN_PROGRESS: ["signed", "first_action"],
        State.RETURNED: ["returned"],
        State.RESOLVED: ["signed", "first_action", "resolved"],
        State.REOPENED: ["signed", "first_action", "resolved", "feedback", "reopened"],
        State.CLOSED: ["signed", "first_action", "resolved", "feedback", "closed"],
    }[state]
    assert list(kinds[2:]) == walked
    if state == State.TRIAGE:
        assert (stored.owner_level, stored.owner_code) == ("county", CONGHUA)


async def test_ticket_in_reuses_the_station_member_and_refuses_unknown_states(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    one = await ticket_in(db, directory, state="acknowledged", now=clock())
    two = await ticket_in(db, directory, state="acknowledged", now=clock())
    assert one.id != two.id and one.assignee_id == two.assignee_id
    worker = await station_member(db, now=clock(), station=JIANGPU, user="7004")
    three = await ticket_in(
        db, directory, state=State.IN_PROGRESS, now=clock(), member=worker, place=JIANGPU
    )
    assert three.assignee_id == worker.id and three.station_code == JIANGPU
    with pytest.raises(ValueError):
        await ticket_in(db, directory, state=State.SUBMITTED, now=clock())


async def test_act_takes_one_step_through_its_flow(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    county = await county_supervisor(db, now=clock())
    ticket = await file_ticket(db, directory, now=clock())
    assert ticket.id is not None
    returned = await act(
        db, directory, ticket_id=ticket.id, what="return", now=clock(), member=worker
    )
    assert returned.state == State.RETURNED and returned.owner_level == "county"
    back = await act(
        db, directory, ticket_id=ticket.id, what="redispatch", now=clock(), member=county
    )
    assert (back.state, back.station_code) == (State.DISPATCHED, JIEKOU)
    signed = await act(db, directory, ticket_id=ticket.id, what="sign", now=clock(), member=worker)
    assert signed.state == State.ACKNOWLEDGED and signed.assignee_id == worker.id
    with pytest.raises(ValueError):
        await act(db, directory, ticket_id=ticket.id, what="close", now=clock(), member=worker)
    with pytest.raises(AssertionError):  # a staff step needs someone to take it
        await act(db, directory, ticket_id=ticket.id, what="first_action", now=clock())


async def test_the_shared_queries_read_history_outbox_and_rows_as_stored(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock())
    other = await file_ticket(db, directory, now=clock(), place=JIANGPU)
    events = await events_of(db, ticket.id)
    assert [e.kind for e in events] == ["submitted", "dispatched", "signed"]
    assert {e.ticket_id for e in events} == {ticket.id}
    assert [e.id for e in events] == sorted(e.id or 0 for e in events)  # oldest first
    assert await event_kinds(db, other.id) == ["submitted", "dispatched"]
    assert (await ticket_by_code(db, other.code)).id == other.id
    assert (await row_of(db, Ticket, ticket.id)).state == State.ACKNOWLEDGED
    with pytest.raises(AssertionError):
        await row_of(db, Ticket, -1)
    referrals = await outbox_rows(db, kind="referral")
    assert [(r.ticket_id, r.target) for r in referrals] == [
        (ticket.id, JIEKOU),
        (other.id, JIANGPU),
    ]
    assert await outbox_rows(db, kind="referral", ticket_id=other.id) == referrals[1:]
    assert await outbox_rows(db, kind="referral", target=JIANGPU) == referrals[1:]
    assert await outbox_rows(db, kind="referral", target_kind="chat") == []  # not expanded
    assert {r.status for r in await outbox_rows(db)} == {"pending"}
    async with db.unit() as session:
        await mark_outbox_sent(session, now=clock())
    sent = await outbox_rows(db)
    assert sent and all(r.status == "sent" and r.sent_at is not None for r in sent)


async def test_staff_text_and_ticket_details_go_through_the_staff_flows(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await ticket_in(
        db, directory, state=State.ACKNOWLEDGED, now=clock(), member=worker, phone="13800138000"
    )
    out = await staff_text(
        db,
        directory,
        person=person_of(worker),
        awaiting=Note(ticket.id or 0),
        text="已电话联系邻居",
        now=clock(),
    )
    assert out.changed and (await event_kinds(db, ticket.id))[-1] == "note"
    shown = await ticket_details(db, directory, member=worker, ticket_id=ticket.id, now=clock())
    assert ticket.code in shown and "13800138000" in shown  # the signer, in private
    in_group = await ticket_details(
        db, directory, member=worker, ticket_id=ticket.id, now=clock(), private=False
    )
    assert ticket.code in in_group and "13800138000" not in in_group


async def test_raw_invite_is_an_unsaved_row_with_the_hash_given(clock: FakeClock) -> None:
    row = raw_invite("h1", now=clock())
    assert row.id is None and row.code_hash == "h1"
    assert (row.kind, row.role, row.scope_level, row.scope_code) == (
        "member",
        "station",
        "township",
        JIEKOU,
    )
    assert row.created_at == row.expires_at == clock()
