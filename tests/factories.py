"""Builders the tests share: a report's answers, a filed ticket, enrolled staff, and a ticket
walked to a given state, each made through the real flows functions (filing, invitations,
签收, the lifecycle) so a test starts from what the service itself would have written; and
the few queries many tests read the result with (a ticket's history, outbox rows).

The one place in the tests that calls the sign-for function (``flows.lifecycle.sign``): when
it moves, only ``sign_in`` changes.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any, Final, TypeVar

from harness import BotService
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows import feedback, lifecycle, oversight, staff_views, tickets, web_sessions, work
from flows.awaiting import StaffText
from flows.events import Person
from flows.messages import Outcome
from flows.places import Directory
from flows.sla import DEFAULT_POLICY, Policy
from flows.staff import Scope, bind_group, issue_invite, join, list_members
from flows.states import State
from flows.tickets import file_report
from storage.db import Database
from storage.models import Invite, OutboxMessage, StaffMember, StationGroup, Ticket, TicketEvent

# Places most tests aim at: 街口街道 and 江埔街道 in 从化区, 广州市 (tests/flows/test_places.py).
JIEKOU, JIANGPU, CONGHUA, GUANGZHOU = (
    "440117001000",
    "440117002000",
    "440117000000",
    "440100000000",
)
REPORTER: Final = "900"  # the chat a report is filed from unless a test says otherwise
STORY: Final = "孩子三天没有人照顾了"
Row = TypeVar("Row", bound=SQLModel)
# Each filing gets its own intake key unless a test names one (``n``): filing is idempotent
# on the key, so a repeated key would quietly hand back the earlier ticket.
_SEQUENCE: Final = itertools.count(1)


def report_answers(**overrides: Any) -> dict[str, Any]:
    """A complete, valid report's answers (a P1: no carer, at 街口街道); ``overrides``
    replace fields."""
    return {
        "danger": "no",
        "reporter": "neighbour",
        "place": JIEKOU,
        "age": "6-11",
        "sex": "f",
        "concerns": ["no_carer"],
        "story": STORY,
        **overrides,
    }


async def file_in(
    session: AsyncSession,
    directory: Directory,
    *,
    now: datetime,
    chat: str = REPORTER,
    n: int | None = None,
    locale: str = "zh",
    policy: Policy = DEFAULT_POLICY,
    **answers: Any,
) -> Ticket:
    """File a report in the caller's transaction (intake key ``telegram:{chat}:{n}``; a
    fresh ``n`` when not given)."""
    receipt = await file_report(
        session=session,
        directory=directory,
        answers=report_answers(**answers),
        channel="telegram",
        chat_id=chat,
        intake_key=f"telegram:{chat}:{next(_SEQUENCE) if n is None else n}",
        locale=locale,
        now=now,
        policy=policy,
    )
    ticket = await session.get(Ticket, receipt.ticket_id)
    assert ticket is not None
    return ticket


async def file_ticket(
    db: Database,
    directory: Directory,
    *,
    now: datetime,
    chat: str = REPORTER,
    n: int | None = None,
    locale: str = "zh",
    policy: Policy = DEFAULT_POLICY,
    **answers: Any,
) -> Ticket:
    """File a report (``report_answers`` with ``answers`` over it) and commit it."""
    async with db.unit() as session:
        return await file_in(
            session, directory, now=now, chat=chat, n=n, locale=locale, policy=policy, **answers
        )


async def invite(
    db: Database, *, scope: Scope, now: datetime, kind: str = "member", **ttl: Any
) -> str:
    """A one-time code for ``scope``, as ``hutong staff invite`` issues it."""
    async with db.unit() as session:
        return await issue_invite(session=session, scope=scope, kind=kind, now=now, **ttl)


def raw_invite(code_hash: str, *, now: datetime) -> Invite:
    """An invitation row with a hash the test chooses, made without the flows (for tests of
    what the database itself does with a row: limits, constraint errors)."""
    return Invite(
        code_hash=code_hash,
        kind="member",
        role="station",
        scope_level="township",
        scope_code=JIEKOU,
        created_at=now,
        expires_at=now,
    )


async def enrol(
    db: Database,
    *,
    scope: Scope,
    user: str,
    now: datetime,
    chat: str | None = None,
    name: str | None = None,
    locale: str = "zh",
) -> StaffMember:
    """A staff member who joined with an invitation for ``scope`` (private chat = ``user``
    unless ``chat`` says otherwise)."""
    async with db.unit() as session:
        code = await issue_invite(session=session, scope=scope, kind="member", now=now)
        return await join(
            session=session,
            code=code,
            channel="telegram",
            user_id=user,
            chat_id=chat or user,
            display_name=name or f"社工{user}",
            locale=locale,
            now=now,
        )


async def station_member(
    db: Database, *, now: datetime, station: str = JIEKOU, user: str = "7001", **kw: Any
) -> StaffMember:
    return await enrol(db, scope=Scope("station", "township", station), user=user, now=now, **kw)


async def county_supervisor(
    db: Database, *, now: datetime, county: str = CONGHUA, user: str = "7201", **kw: Any
) -> StaffMember:
    return await enrol(db, scope=Scope("supervisor", "county", county), user=user, now=now, **kw)


async def city_supervisor(
    db: Database, *, now: datetime, city: str = GUANGZHOU, user: str = "7301", **kw: Any
) -> StaffMember:
    return await enrol(db, scope=Scope("supervisor", "city", city), user=user, now=now, **kw)


async def hotline_operator(
    db: Database, *, now: datetime, city: str = GUANGZHOU, user: str = "7401", **kw: Any
) -> StaffMember:
    return await enrol(db, scope=Scope("operator", "city", city), user=user, now=now, **kw)


async def web_session(db: Database, member: StaffMember, *, now: datetime) -> str:
    """A session cookie's value for a supervisor or operator, signed in by the bot's link."""
    async with db.unit() as session:
        link = await web_sessions.issue_link(session=session, member=member, now=now)
    async with db.unit() as session:
        signed = await web_sessions.redeem_link(session=session, token=link, now=now)
    assert signed is not None
    return signed.token


async def group_of(db: Database, *, station: str, chat: str, now: datetime) -> StationGroup:
    """A group chat bound to ``station`` with a group invitation, as typed in the group."""
    async with db.unit() as session:
        code = await issue_invite(
            session=session, scope=Scope("station", "township", station), kind="group", now=now
        )
        return await bind_group(
            session=session, code=code, channel="telegram", chat_id=chat, user_id="1", now=now
        )


async def join_by_bot(
    service: BotService, *, chat: int, scope: Scope, now: datetime, answer: str = "已"
) -> None:
    """A person typing ``/join CODE`` (a fresh code for ``scope``) to the running bot, and
    the bot's answer (containing ``answer``) arriving."""
    code = await invite(service.db, scope=scope, now=now)
    mark = len(service.api.calls)
    service.api.push_text(chat, f"/join {code}")
    await service.api.wait_for(lambda c: answer in (c.text or ""), after=mark, chat_id=chat)


def person_of(member: StaffMember, *, in_group: bool = False, chat: str | None = None) -> Person:
    """The staff member as the bot sees them acting (their private chat unless ``chat``)."""
    return Person(
        member.channel,
        member.user_id,
        chat or member.chat_id,
        in_group,
        member.display_name,
        member.locale,
    )


async def sign_in(
    session: AsyncSession,
    directory: Directory,
    *,
    member: StaffMember,
    ticket: Ticket,
    now: datetime,
) -> Outcome:
    """签收 in the caller's transaction (the only call of the sign-for flow in the tests)."""
    return await lifecycle.sign(
        session=session, directory=directory, member=member, ticket=ticket, now=now
    )


async def sign(
    db: Database, directory: Directory, *, ticket: Ticket, member: StaffMember, now: datetime
) -> Ticket:
    """The ticket signed for by ``member``; fails the test if the sign-for was refused."""
    assert ticket.id is not None
    async with db.unit() as session:
        locked = await tickets.locked_ticket(session, ticket.id)
        assert locked is not None
        await sign_in(session, directory, member=member, ticket=locked, now=now)
        await session.refresh(locked)
    assert locked.state == State.ACKNOWLEDGED and locked.assignee_id == member.id, locked.state
    return locked


async def _someone_at(db: Database, *, station: str, now: datetime) -> StaffMember:
    """A station member already enrolled there, else a new one: ``ticket_in`` may be called
    several times in a test without enrolling one account twice."""
    async with db.unit() as session:
        members = await list_members(session=session, scope_code=station)
    for member in members:
        if member.role == "station":
            return member
    return await station_member(db, now=now, station=station, user=f"70{station[-6:]}")


# What ``act`` can do: a station member's steps, the reporter's ratings, and a supervisor
# routing a returned ticket back to its own station.
ACTIONS: Final = ("sign", "first_action", "resolve", "return", "redispatch", "sat", "unsat")


async def act(
    db: Database,
    directory: Directory,
    *,
    ticket_id: int,
    what: str,
    now: datetime,
    member: StaffMember | None = None,
) -> Ticket:
    """One step of a ticket's life (``ACTIONS``) by ``member``, through the flow that does
    it, in its own transaction; the ticket after it. Each step's words are fixed here: tests
    that care about them call the flow themselves."""
    if what not in ACTIONS:
        raise ValueError(f"no action {what}")
    async with db.unit() as session:
        ticket = await tickets.locked_ticket(session, ticket_id)
        assert ticket is not None
        if what in ("sat", "unsat"):  # the reporter's rating
            await feedback.give_feedback(session=session, ticket=ticket, rating=what, now=now)
            return ticket
        assert member is not None, f"{what} needs a staff member"
        if what == "sign":
            await sign_in(session, directory, member=member, ticket=ticket, now=now)
            await session.refresh(ticket)
        elif what == "first_action":
            await lifecycle.first_action(
                session=session,
                directory=directory,
                ticket=ticket,
                member=member,
                how="visit",
                now=now,
            )
        elif what == "resolve":
            await lifecycle.resolve(
                session=session,
                directory=directory,
                ticket=ticket,
                member=member,
                outcome="other",
                note="已处理",
                now=now,
            )
        elif what == "return":
            await lifecycle.return_ticket(
                session=session,
                directory=directory,
                ticket=ticket,
                member=member,
                reason="不属本镇",
                now=now,
            )
        else:  # redispatch: back to the station it was returned from
            assert ticket.station_code is not None
            await oversight.redispatch(
                session=session,
                directory=directory,
                ticket=ticket,
                supervisor=member,
                township=ticket.station_code,
                now=now,
            )
    return ticket


# The states ``ticket_in`` reaches, and the path it walks to each (after filing).
_PATHS: Final[dict[State, tuple[str, ...]]] = {
    State.DISPATCHED: (),
    State.TRIAGE: (),
    State.ACKNOWLEDGED: ("sign",),
    State.IN_PROGRESS: ("sign", "first_action"),
    State.RETURNED: ("return",),
    State.RESOLVED: ("sign", "first_action", "resolve"),
    State.REOPENED: ("sign", "first_action", "resolve", "unsat"),
    State.CLOSED: ("sign", "first_action", "resolve", "sat"),
}


async def ticket_in(
    db: Database,
    directory: Directory,
    *,
    state: State | str,
    now: datetime,
    member: StaffMember | None = None,
    **answers: Any,
) -> Ticket:
    """A ticket walked to ``state`` through the real flows: filed at 街口街道 (at 从化区's
    queue for ``triage``), then signed for, worked, returned, resolved or rated by
    ``member`` (a station member of its township, enrolled here when not given)."""
    state = State(state)
    if state not in _PATHS:
        raise ValueError(f"no path to {state}")
    if state == State.TRIAGE:
        answers.setdefault("place", CONGHUA)
    ticket = await file_ticket(db, directory, now=now, **answers)
    steps = _PATHS[state]
    if steps and member is None:
        member = await _someone_at(db, station=ticket.station_code or "", now=now)
    assert ticket.id is not None
    for step in steps:
        if step == "sign":
            assert member is not None
            ticket = await sign(db, directory, ticket=ticket, member=member, now=now)
        else:
            ticket = await act(
                db, directory, ticket_id=ticket.id, what=step, now=now, member=member
            )
    assert ticket.state == state, ticket.state
    return ticket


async def staff_text(
    db: Database,
    directory: Directory,
    *,
    person: Person,
    awaiting: StaffText,
    text: str,
    now: datetime,
) -> Outcome:
    """Words a staff member typed while the bot waited for them (``awaiting``), through
    ``work.on_text`` in its own transaction."""
    async with db.unit() as session:
        return await work.on_text(
            session=session,
            directory=directory,
            person=person,
            awaiting=awaiting,
            text=text,
            now=now,
        )


async def row_of(db: Database, model: type[Row], row_id: int | None) -> Row:
    """The ``model`` row with id ``row_id`` as stored now (fails the test if there is none)."""
    async with db.unit() as session:
        row = await session.get(model, row_id)
    assert row is not None, f"no {model.__name__} {row_id}"
    return row


async def ticket_by_code(db: Database, code: str) -> Ticket:
    """The ticket with receipt code ``code`` (fails the test if there is none)."""
    async with db.unit() as session:
        return (await session.exec(select(Ticket).where(col(Ticket.code) == code))).one()


async def ticket_details(
    db: Database,
    directory: Directory,
    *,
    member: StaffMember,
    ticket_id: int | None,
    now: datetime,
    private: bool = True,
) -> str:
    """The details of the ticket as ``member`` sees them (in a private chat unless
    ``private`` is false), read afresh in their own transaction."""
    async with db.unit() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        reply = await staff_views.details(
            session=session,
            directory=directory,
            member=member,
            ticket=ticket,
            now=now,
            private=private,
        )
    return reply.text


async def events_of(db: Database, ticket_id: int | None) -> list[TicketEvent]:
    """A ticket's history, oldest first."""
    async with db.unit() as session:
        return list(
            (
                await session.exec(
                    select(TicketEvent)
                    .where(col(TicketEvent.ticket_id) == ticket_id)
                    .order_by(col(TicketEvent.id))
                )
            ).all()
        )


async def event_kinds(db: Database, ticket_id: int | None) -> list[str]:
    """The kinds of a ticket's events, oldest first."""
    return [event.kind for event in await events_of(db, ticket_id)]


async def outbox_rows(
    db: Database,
    *,
    kind: str | None = None,
    target: str | None = None,
    target_kind: str | None = None,
    ticket_id: int | None = None,
) -> list[OutboxMessage]:
    """The outbox rows matching every filter given, oldest first."""
    query = select(OutboxMessage)
    if kind is not None:
        query = query.where(col(OutboxMessage.kind) == kind)
    if target is not None:
        query = query.where(col(OutboxMessage.target) == target)
    if target_kind is not None:
        query = query.where(col(OutboxMessage.target_kind) == target_kind)
    if ticket_id is not None:
        query = query.where(col(OutboxMessage.ticket_id) == ticket_id)
    async with db.unit() as session:
        return list((await session.exec(query.order_by(col(OutboxMessage.id)))).all())


async def mark_outbox_sent(session: AsyncSession, *, now: datetime) -> None:
    """Every outbox row marked sent at ``now``, as if the sender had delivered them all (in the
    caller's transaction): what retention may then erase once it is old enough."""
    for row in (await session.exec(select(OutboxMessage))).all():
        row.status, row.sent_at = "sent", now
        session.add(row)
