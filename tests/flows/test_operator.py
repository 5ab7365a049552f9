"""The hotline operator: enrolled by invitation like staff, scoped to a city or the province,
and never taken for station staff or a supervisor — no referrals, no escalations or digests,
no ticket in the bot, no supervisor command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import (
    CONGHUA,
    GUANGZHOU,
    JIEKOU,
    enrol,
    file_ticket,
    invite,
    person_of,
    station_member,
)
from harness import FakeClock
from sqlmodel import col, select

from flows import staff, work
from flows.api_tokens import authenticate, create_token
from flows.escalation import sweep_deadlines
from flows.events import Command, Person
from flows.messages import Outcome
from flows.notices import expand, recipients
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.staff import PROVINCE_CODE, Scope, may_view, scope_filter, supervises, works_at
from flows.texts import t
from storage.db import Database
from storage.models import OutboxMessage, StaffMember, Ticket

CITY_OPERATOR = Scope("operator", "city", GUANGZHOU)
PROVINCE_OPERATOR = Scope("operator", "province", PROVINCE_CODE)
DUTY = "-6999"


def test_scope_for_an_operator_is_a_city_or_the_province(directory: Directory) -> None:
    assert staff.scope_for(directory, role="operator", city=GUANGZHOU) == CITY_OPERATOR
    assert staff.scope_for(directory, role="operator", province=True) == PROVINCE_OPERATOR
    assert len(PROVINCE_OPERATOR.level) <= 8 and len(PROVINCE_CODE) == 12  # the columns
    for kwargs, key in (
        ({"role": "operator"}, "invite.operator_scope"),
        ({"role": "operator", "station": JIEKOU}, "invite.operator_scope"),
        ({"role": "operator", "county": CONGHUA}, "invite.operator_scope"),
        ({"role": "operator", "city": CONGHUA}, "invite.bad_city"),  # a county
        ({"role": "supervisor", "province": True}, "invite.province_needs_operator"),
        ({"role": "station", "province": True}, "invite.province_needs_operator"),
    ):
        with pytest.raises(staff.EnrolmentError) as refused:
            staff.scope_for(directory, **kwargs)  # type: ignore[arg-type]
        assert refused.value.key == key, kwargs
    assert staff.scope_name(directory, PROVINCE_CODE) == "广东省 (440000000000)"
    assert staff.scope_name(directory, GUANGZHOU) == "广州市 (440100000000)"


async def _say(
    db: Database, directory: Directory, clock: FakeClock, person: Person, command: Command
) -> Outcome:
    async with db.unit() as session:
        return await work.handle(
            session=session, directory=directory, person=person, event=command, now=clock()
        )


def _text(outcome: Outcome) -> str:
    return "\n".join(r.text for r in outcome.replies)


@pytest.mark.parametrize(
    ("scope", "name"), [(CITY_OPERATOR, "广州市"), (PROVINCE_OPERATOR, "广东省")]
)
async def test_an_operator_joins_with_a_code_and_leaves(
    db: Database, directory: Directory, clock: FakeClock, scope: Scope, name: str
) -> None:
    code = await invite(db, scope=scope, now=clock())
    person = Person("telegram", "6101", "6101", False, "接线员", "zh")
    joined = await _say(db, directory, clock, person, Command("join", code))
    assert _text(joined) == t("zh", "join.ok.operator", scope=name)
    async with db.unit() as session:
        member = (await session.exec(select(StaffMember))).one()
    assert (member.role, member.scope_level, member.scope_code) == (
        "operator",
        scope.level,
        scope.code,
    )
    assert member.id is not None
    async with db.unit() as session:
        _, token = await create_token(session=session, staff_id=member.id, label=None, now=clock())
    left = await _say(db, directory, clock, person, Command("leave"))
    assert _text(left) == t("zh", "leave.ok.operator", scope=name)
    async with db.unit() as session:
        assert await authenticate(session=session, token=token, now=clock()) is None


async def test_an_operator_sees_no_ticket_and_no_supervisor_command(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock())  # at 街口街道, in 广州市
    operators = [
        await enrol(db, scope=CITY_OPERATOR, user="6201", now=clock()),
        await enrol(db, scope=PROVINCE_OPERATOR, user="6202", now=clock(), locale="en"),
    ]
    for member in operators:
        assert not works_at(member, ticket)
        assert not supervises(member, ticket)
        assert not may_view(member, ticket)
        async with db.unit() as session:
            found = (await session.exec(select(Ticket.id).where(scope_filter(member)))).all()
        assert found == []
        loc = member.locale
        person = person_of(member)
        mine = await _say(db, directory, clock, person, Command("mytickets"))
        assert _text(mine) == t(loc, "operator.no_tickets")
        assert ticket.code not in _text(mine)
        for name in ("overdue", "open", "stats"):
            out = await _say(db, directory, clock, person, Command(name))
            assert _text(out) == t(loc, "supervisor.only"), name
        out = await _say(db, directory, clock, person, Command("reassign", ticket.code))
        assert _text(out) == t(loc, "supervisor.only")
        out = await _say(db, directory, clock, person, Command("ticket", ticket.code))
        assert _text(out) == t(loc, "ticket.none", code=ticket.code)


async def test_notices_never_go_to_an_operator(db: Database, clock: FakeClock) -> None:
    """A city operator shares a supervisor's scope level and code: still not one."""
    await enrol(db, scope=CITY_OPERATOR, user="6301", now=clock())
    await enrol(
        db, scope=Scope("operator", "city", JIEKOU[:4] + "00000000"), user="6302", now=clock()
    )
    await enrol(db, scope=PROVINCE_OPERATOR, user="6303", now=clock())
    async with db.unit() as session:
        for kind, target in (("city", GUANGZHOU), ("county", CONGHUA), ("station", JIEKOU)):
            found = await recipients(session, target_kind=kind, target=target, city_code=GUANGZHOU)
            assert found == [], kind
    supervisor = await enrol(
        db, scope=Scope("supervisor", "city", GUANGZHOU), user="6304", now=clock()
    )
    async with db.unit() as session:
        found = await recipients(session, target_kind="county", target=CONGHUA, city_code=GUANGZHOU)
    assert [r.chat_id for r in found] == [supervisor.chat_id]


async def test_the_ladder_and_digests_pass_operators_by(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """With only operators above the station, every escalation goes up to the duty chat and
    no digest is written: an operator is never a supervisor to tell."""
    await station_member(db, now=clock(), user="6401")
    await enrol(db, scope=CITY_OPERATOR, user="6402", now=clock())
    await enrol(db, scope=PROVINCE_OPERATOR, user="6403", now=clock())
    start = clock()
    ticket = await file_ticket(db, directory, now=clock(), danger="yes", concerns=["physical"])
    assert ticket.priority == "P0"
    for hours in (0, 0.2, 0.3, 0.6, 1, 2, 24, 48):
        clock.now = start + timedelta(hours=hours)
        await sweep_deadlines(db=db, directory=directory, policy=DEFAULT_POLICY, clock=clock)
        async with db.unit() as session:
            await expand(session, directory=directory, now=clock(), duty_chat=DUTY)
    async with db.unit() as session:
        rows = (
            await session.exec(
                select(OutboxMessage).where(col(OutboxMessage.target_kind) == "chat")
            )
        ).all()
    targets = {r.target for r in rows}
    assert "6401" in targets and DUTY in targets  # the ladder did climb
    assert not targets & {"6402", "6403"}
    assert not [r for r in rows if r.kind == "digest"]
