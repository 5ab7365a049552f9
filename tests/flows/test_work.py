"""Staff in the bot (flows.work) against the real database: pressing a ticket's buttons and
typing what they ask for, each checked for role, scope and state, whatever chat it comes
from; a refused press leaves a trace; a stale or repeated press changes nothing."""

from __future__ import annotations

from typing import Any

from factories import (
    JIANGPU,
    REPORTER,
    county_supervisor,
    event_kinds,
    file_ticket,
    person_of,
    row_of,
    staff_text,
    station_member,
    ticket_in,
)
from harness import FakeClock
from sqlmodel import col, select

from flows import work
from flows.awaiting import Note, Resolution, ReturnReason
from flows.callbacks import StaffAction, StaffData
from flows.events import Command, Person, Press
from flows.messages import Outcome
from flows.places import Directory
from flows.states import State
from flows.texts import t
from storage.db import Database
from storage.models import Ticket, TicketEvent


async def _handle(
    db: Database, directory: Directory, clock: FakeClock, person: Person, event: Any
) -> Outcome:
    async with db.unit() as session:
        return await work.handle(
            session=session, directory=directory, person=person, event=event, now=clock()
        )


async def _press(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    person: Person,
    action: StaffAction,
    ticket: Ticket,
    arg: str = "",
) -> Outcome:
    data = StaffData(action, ticket.id or 0, arg).encode()
    return await _handle(db, directory, clock, person, Press(data))


async def test_sign_by_press_then_a_second_press_is_told_who_has_it(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock(), name="社工甲")
    colleague = await station_member(db, now=clock(), user="7002")
    ticket = await file_ticket(db, directory, now=clock())
    out = await _press(db, directory, clock, person_of(worker), StaffAction.SIGN, ticket)
    assert out.notice == t("zh", "event.signed") and out.outbox_written
    late = await _press(db, directory, clock, person_of(colleague), StaffAction.SIGN, ticket)
    assert late.notice == t("zh", "sign.taken", name="社工甲")
    again = await _press(db, directory, clock, person_of(worker), StaffAction.SIGN, ticket)
    assert again.notice is not None and "已被" in again.notice
    after = await row_of(db, Ticket, ticket.id)
    assert after.state == State.ACKNOWLEDGED and after.assignee_id == worker.id
    assert (await event_kinds(db, ticket.id)).count("signed") == 1


async def test_another_stations_member_and_a_stranger_are_refused_and_traced(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    there = await station_member(db, now=clock(), station=JIANGPU, user="7002")
    ticket = await file_ticket(db, directory, now=clock())
    stranger = Person("telegram", "666", "666", False, "x", "zh")
    for person in (person_of(there), stranger):
        out = await _press(db, directory, clock, person, StaffAction.SIGN, ticket)
        assert out.notice == t("zh", "refused")
    out = await _handle(db, directory, clock, stranger, Press("w:sign:424242"))  # no ticket
    assert out.notice == t("zh", "refused")
    assert (await row_of(db, Ticket, ticket.id)).state == State.DISPATCHED
    async with db.unit() as session:
        actors = (
            await session.exec(select(TicketEvent.actor).where(col(TicketEvent.kind) == "refused"))
        ).all()
    assert sorted(actors) == sorted([f"staff:{there.id}", "telegram:666"])


async def test_a_stale_button_says_the_state_and_changes_nothing(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock(), member=worker)
    before = await event_kinds(db, ticket.id)
    for action, arg in ((StaffAction.FIRST, ""), (StaffAction.FIRST_HOW, "call")):
        out = await _press(db, directory, clock, person_of(worker), action, ticket, arg)
        assert out.notice == t("zh", "work.not_now", state=t("zh", "state.in_progress"))
    assert await event_kinds(db, ticket.id) == before


async def test_a_note_is_asked_for_then_typed_and_kept(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock(), member=worker)
    me = person_of(worker)
    asked = await _press(db, directory, clock, me, StaffAction.NOTE, ticket)
    assert asked.awaiting == Note(ticket.id or 0)
    # In the station's group the words are not asked for: the bot does not read group text.
    in_group = await _press(
        db, directory, clock, person_of(worker, in_group=True, chat="-1"), StaffAction.NOTE, ticket
    )
    assert in_group.notice == t("zh", "work.private_only") and in_group.awaiting is None
    short = await staff_text(
        db, directory, person=me, awaiting=Note(ticket.id or 0), text=" x ", now=clock()
    )
    assert short.replies[0].text == t("zh", "work.too_short") and short.awaiting is not None
    saved = await staff_text(
        db, directory, person=me, awaiting=Note(ticket.id or 0), text="已电话联系邻居", now=clock()
    )
    assert saved.replies[0].text == t("zh", "work.note_saved") and saved.changed
    assert (await event_kinds(db, ticket.id))[-1] == "note"


async def test_typed_words_from_someone_who_may_not_act_are_refused(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    there = await station_member(db, now=clock(), station=JIANGPU, user="7002")
    ticket = await ticket_in(db, directory, state=State.ACKNOWLEDGED, now=clock(), member=worker)
    out = await staff_text(
        db,
        directory,
        person=person_of(there),
        awaiting=ReturnReason(ticket.id or 0),
        text="不归我们",
        now=clock(),
    )
    assert out.replies[0].text == t("zh", "refused")
    assert (await row_of(db, Ticket, ticket.id)).state == State.ACKNOWLEDGED
    assert (await event_kinds(db, ticket.id))[-1] == "refused"


async def test_resolve_by_buttons_and_words_then_the_same_words_again_are_not_now(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock(), member=worker)
    me = person_of(worker)
    asked = await _press(db, directory, clock, me, StaffAction.OUTCOME, ticket, "police")
    assert asked.awaiting == Resolution(ticket.id or 0, "police")
    # The same words twice: the second finds the ticket already resolved.
    done, twice = [
        await staff_text(
            db,
            directory,
            person=me,
            awaiting=Resolution(ticket.id or 0, "police"),
            text="已报警",
            now=clock(),
        )
        for _ in range(2)
    ]
    assert ticket.code in done.replies[0].text
    assert twice.replies[0].text == t("zh", "work.not_now", state=t("zh", "state.resolved"))
    assert (await event_kinds(db, ticket.id)).count("resolved") == 1


async def test_a_supervisors_approval_pressed_twice_decides_once(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock())
    ticket = await ticket_in(db, directory, state=State.IN_PROGRESS, now=clock(), member=worker)
    asked = await _press(
        db, directory, clock, person_of(worker), StaffAction.EXTEND_DAYS, ticket, "3"
    )
    assert asked.awaiting is not None
    await staff_text(
        db,
        directory,
        person=person_of(worker),
        awaiting=asked.awaiting,
        text="等学校回复",
        now=clock(),
    )
    supervisor = await county_supervisor(db, now=clock())
    # The station may not approve its own request.
    own = await _press(db, directory, clock, person_of(worker), StaffAction.APPROVE, ticket)
    assert own.notice == t("zh", "refused")
    first = await _press(db, directory, clock, person_of(supervisor), StaffAction.APPROVE, ticket)
    second = await _press(db, directory, clock, person_of(supervisor), StaffAction.DENY, ticket)
    assert first.changed and second.replies[0].text == t("zh", "work.decided")
    kinds = await event_kinds(db, ticket.id)
    assert kinds.count("extension_approved") == 1 and "extension_denied" not in kinds


async def test_commands_answer_staff_only_and_list_the_stations_tickets(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    stranger = Person("telegram", "666", "666", False, "x", "zh")
    out = await _handle(db, directory, clock, stranger, Command("mytickets"))
    assert out.replies[0].text == t("zh", "staff.only")
    in_group = Person("telegram", "666", "-5", True, "x", "zh")
    assert (await _handle(db, directory, clock, in_group, Command("mytickets"))).replies == []
    worker = await station_member(db, now=clock())
    assert (
        t("zh", "mytickets.none")
        in (await _handle(db, directory, clock, person_of(worker), Command("mytickets")))
        .replies[0]
        .text
    )
    ticket = await file_ticket(db, directory, now=clock(), chat=REPORTER)
    listed = await _handle(db, directory, clock, person_of(worker), Command("mytickets"))
    assert ticket.code in listed.replies[0].text
    # A supervisor's command from a station member; /leave ends the membership.
    out = await _handle(db, directory, clock, person_of(worker), Command("overdue"))
    assert out.replies[0].text == t("zh", "supervisor.only")
    left = await _handle(db, directory, clock, person_of(worker), Command("leave"))
    assert left.changed
    out = await _handle(db, directory, clock, person_of(worker), Command("mytickets"))
    assert out.replies[0].text == t("zh", "staff.only")
