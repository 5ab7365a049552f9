"""Red flags on tickets (flows.alarms through flows.tickets) against the real database:
a flag raises the priority a report is filed at and is kept with an event, never lowers a
priority the buttons chose, is screened again in words added later (raising a ticket on its
way, its deadlines shortened from then), is shown to the station, and loses its words when
the ticket's personal data is erased."""

from __future__ import annotations

from datetime import timedelta

from factories import events_of, file_ticket, station_member, ticket_details
from harness import FakeClock

from flows import retention, tickets
from flows.alarms import flags_line
from flows.notices import addition_text, referral_text
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from storage.db import Database
from storage.models import Ticket


async def test_a_flagged_story_raises_a_p2_report_to_p0_with_its_deadlines(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(
        db, directory, now=clock(), concerns=["other"], story="孩子在家里说想死，不想上学"
    )
    assert ticket.priority == "P0"
    assert ticket.red_flags == [{"category": "self_harm", "words": ["想死"]}]
    assert ticket.sign_due_at == clock() + timedelta(minutes=DEFAULT_POLICY.P0.sign)
    red = [e for e in await events_of(db, ticket.id) if e.kind == "red_flags"]
    assert [(e.actor, e.note) for e in red] == [("system", "self_harm P2→P0")]


async def test_a_priority_the_buttons_chose_is_never_lowered(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    # In danger now (P0), the story names plain violence (P1): still P0, the flag kept.
    ticket = await file_ticket(
        db, directory, now=clock(), danger="yes", story="他爸爸经常打他，畀人打"
    )
    assert ticket.priority == "P0"
    assert [f["category"] for f in ticket.red_flags] == ["violence"]
    red = [e.note for e in await events_of(db, ticket.id) if e.kind == "red_flags"]
    assert red == ["violence"]  # no change of priority to note


async def test_negated_or_ordinary_words_raise_nothing(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    for n, story in enumerate(["孩子没有被打，也没有流血", "佢唔係想死，只係好攰", "打电话没人接"]):
        ticket = await file_ticket(db, directory, now=clock(), n=900 + n, story=story)
        assert ticket.priority == "P1" and ticket.red_flags == [], story
        assert "red_flags" not in [e.kind for e in await events_of(db, ticket.id)]


async def test_the_station_reads_which_words_raised_it(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    member = await station_member(db, now=clock())
    ticket = await file_ticket(db, directory, now=clock(), story="他說想死，還被打到流血")
    zh = referral_text(directory, ticket, "zh", signed=None)
    title, flags_at, *_ = zh.split("\n")
    assert ticket.code in title
    assert flags_at == "⚠️ <b>警示词</b>：想死（自伤/自杀）、打到流血（严重暴力/受伤）"
    en = referral_text(directory, ticket, "en", signed=None)
    assert "想死 (self-harm/suicide), 打到流血 (severe violence/injury)" in en
    details = await ticket_details(db, directory, member=member, ticket_id=ticket.id, now=clock())
    assert details.split("\n")[1] == flags_at
    assert "报告中有警示词" in details  # the event, in the history
    # Words are the reporter's: escaped like every value put into a message.
    assert flags_line([{"category": "violence", "words": ["<b>"]}], "zh") == (
        "⚠️ <b>警示词</b>：&lt;b&gt;（暴力）"
    )


async def test_words_added_later_raise_a_ticket_on_its_way(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock(), story="孩子没人照顾")
    assert ticket.priority == "P1" and ticket.red_flags == []
    old_sign = ticket.sign_due_at
    assert old_sign is not None
    clock.advance(minutes=10)
    async with db.unit() as session:
        await tickets.add_to_report(
            session=session,
            directory=directory,
            ticket_id=ticket.id,
            fields=("story",),
            answers={"story": "补充：孩子被锁在家里，说不想活了"},
            now=clock(),
            policy=DEFAULT_POLICY,
        )
    async with db.unit() as session:
        after = await session.get(Ticket, ticket.id)
    assert after is not None
    assert after.priority == "P0"
    assert [f["category"] for f in after.red_flags] == ["self_harm", "confined"]
    # The P0 window from the addition, sooner than the P1 one from the filing.
    assert after.sign_due_at == clock() + timedelta(minutes=DEFAULT_POLICY.P0.sign) < old_sign
    assert after.next_due_at is not None and after.next_due_at <= after.sign_due_at
    assert after.sla["windows"]["sign"] == DEFAULT_POLICY.P0.sign
    red = [e.note for e in await events_of(db, ticket.id) if e.kind == "red_flags"]
    assert red == ["self_harm,confined P1→P0"]
    text = addition_text(directory, after, "zh", ["story"])
    assert "不想活（自伤/自杀）" in text and "锁在家（被关/被锁）" in text
    assert "警示词" not in addition_text(directory, after, "zh", ["age"])


async def test_erasure_keeps_the_categories_and_drops_the_words(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock(), story="孩子被性侵，他说想死")
    async with db.unit() as session:
        await retention.erase_ticket(session=session, code=ticket.code, now=clock(), force=True)
    async with db.unit() as session:
        erased = await session.get(Ticket, ticket.id)
    assert erased is not None and erased.priority == "P0"
    assert erased.red_flags == [
        {"category": "self_harm", "words": []},
        {"category": "sexual_abuse", "words": []},
    ]
    assert flags_line(erased.red_flags, "zh") == "⚠️ <b>警示词</b>：自伤/自杀、性侵害"
    notes = [e.note for e in await events_of(db, ticket.id) if e.kind == "red_flags"]
    assert notes == ["self_harm,sexual_abuse P1→P0"]  # codes, kept
