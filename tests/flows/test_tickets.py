"""Filing a report as a ticket (flows.tickets) against the real database: what is written,
the same report filed twice, a county's queue, additions to an urgent report, and the status
a reporting chat may see."""

from __future__ import annotations

from factories import CONGHUA, GUANGZHOU, JIEKOU, REPORTER, file_in, file_ticket, report_answers
from harness import FakeClock
from sqlmodel import col, select

from flows import tickets
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.states import State
from storage.db import Database
from storage.models import OutboxMessage, Ticket, TicketAttachment, TicketContact, TicketEvent


async def test_a_report_becomes_a_routed_ticket_with_deadlines_history_and_referral(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    async with db.unit() as session:
        receipt = await tickets.file_report(
            session=session,
            directory=directory,
            answers=report_answers(
                reporter="teacher", phone="13800138000", callback=True, photos=["p1", "p2"]
            ),
            channel="telegram",
            chat_id=REPORTER,
            intake_key="telegram:900:1",
            locale="zh",
            now=clock(),
            policy=DEFAULT_POLICY,
        )
    async with db.unit() as session:
        ticket = await session.get(Ticket, receipt.ticket_id)
        contact = await session.get(TicketContact, receipt.ticket_id)
        photos = (await session.exec(select(TicketAttachment.file_ref))).all()
        history = (await session.exec(select(TicketEvent).order_by(col(TicketEvent.id)))).all()
        referral = (await session.exec(select(OutboxMessage))).one()
    assert ticket is not None and contact is not None
    assert (ticket.state, ticket.priority, ticket.station_code) == (
        State.DISPATCHED,
        "P1",
        JIEKOU,
    )
    assert (ticket.county_code, ticket.city_code) == (CONGHUA, GUANGZHOU)
    assert ticket.mandatory_reporter and not ticket.anonymous
    assert ticket.first_action_due_at is not None and ticket.resolve_due_at is not None
    assert clock() < ticket.first_action_due_at < ticket.resolve_due_at
    assert ticket.next_due_at is not None and ticket.next_due_at > clock()
    assert (contact.phone, contact.callback_consent) == ("13800138000", True)
    assert sorted(photos) == ["p1", "p2"]
    assert [(e.kind, e.to_state) for e in history] == [
        ("submitted", State.SUBMITTED),
        ("dispatched", State.DISPATCHED),
    ]
    assert (referral.kind, referral.target_kind, referral.target) == ("referral", "station", JIEKOU)
    assert receipt.code == ticket.code and not receipt.triage
    assert receipt.owner_name == "从化区街口街道未成年人保护工作站"
    text = tickets.receipt_text("zh", receipt)
    assert ticket.code in text and receipt.owner_name in text


async def test_the_same_intake_filed_twice_is_one_ticket(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    first = await file_ticket(db, directory, now=clock(), n=1)
    clock.advance(minutes=1)
    again = await file_ticket(db, directory, now=clock(), n=1, story="又提交了一次")
    assert again.id == first.id and again.story == first.story
    async with db.unit() as session:
        assert len((await session.exec(select(Ticket))).all()) == 1
        assert len((await session.exec(select(OutboxMessage))).all()) == 1


async def test_a_place_without_a_township_goes_to_the_county_queue_anonymously(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    async with db.unit() as session:
        ticket = await file_in(session, directory, now=clock(), place=CONGHUA)
        # A queue's name is rendered per reader; a station's is a proper name.
        assert await tickets.owner_name(session, directory, ticket, "en") == (
            "从化区 minor protection centre"
        )
        assert await tickets.owner_name(session, directory, ticket, "zh") == (
            "从化区未成年人救助保护中心"
        )
        referral = (await session.exec(select(OutboxMessage))).one()
    assert (ticket.state, ticket.owner_level, ticket.owner_code) == (
        State.TRIAGE,
        "county",
        CONGHUA,
    )
    assert ticket.station_code is None and ticket.anonymous
    assert (referral.target_kind, referral.target) == ("county", CONGHUA)


async def test_an_urgent_report_is_filed_with_unknowns_and_added_to_later(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    urgent = {"danger": "yes", "reporter": "neighbour", "place": JIEKOU}
    async with db.unit() as session:
        receipt = await tickets.file_report(
            session=session,
            directory=directory,
            answers=urgent,
            channel="telegram",
            chat_id=REPORTER,
            intake_key="telegram:900:u",
            locale="zh",
            now=clock(),
            policy=DEFAULT_POLICY,
        )
    assert receipt.priority == "P0"
    assert "还没有发送" in tickets.urgent_receipt_text("zh", receipt)
    clock.advance(minutes=2)
    more = {**urgent, "age": "3-5", "story": "补充的经过", "phone": "13900000000", "photos": ["a"]}
    async with db.unit() as session:
        await tickets.add_to_report(
            session=session,
            directory=directory,
            ticket_id=receipt.ticket_id,
            fields=("age", "story", "contact", "photos"),
            answers=more,
            now=clock(),
            policy=DEFAULT_POLICY,
        )
        # The same photo again is not attached twice; an unknown ticket is ignored.
        await tickets.add_to_report(
            session=session,
            directory=directory,
            ticket_id=receipt.ticket_id,
            fields=("photos",),
            answers=more,
            now=clock(),
            policy=DEFAULT_POLICY,
        )
        await tickets.add_to_report(
            session=session,
            directory=directory,
            ticket_id=424242,
            fields=("story",),
            answers=more,
            now=clock(),
            policy=DEFAULT_POLICY,
        )
    async with db.unit() as session:
        ticket = await session.get(Ticket, receipt.ticket_id)
        contact = await session.get(TicketContact, receipt.ticket_id)
        photos = (await session.exec(select(TicketAttachment))).all()
        additions = (
            await session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == "addition"))
        ).all()
    assert ticket is not None and contact is not None
    assert (ticket.child_age, ticket.child_sex, ticket.story) == ("3-5", "unknown", "补充的经过")
    assert not ticket.anonymous and contact.phone == "13900000000"
    assert len(photos) == 1
    assert [a.payload["fields"] for a in additions] == [
        ["age", "story", "contact", "photos"],
        ["photos"],
    ]
    assert {(a.target_kind, a.target) for a in additions} == {("station", JIEKOU)}


async def test_status_shows_only_this_chats_reports_and_no_probing(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    async def status(chat: str, code: str | None) -> str:
        async with db.unit() as session:
            return await tickets.status_text(
                session=session,
                directory=directory,
                channel="telegram",
                chat_id=chat,
                code=code,
                locale="zh",
            )

    assert "还没有提交过" in await status(REPORTER, None)
    mine = await file_ticket(db, directory, now=clock())
    theirs = await file_ticket(db, directory, now=clock(), chat="901")
    listed = await status(REPORTER, None)
    assert mine.code in listed and theirs.code not in listed
    detail = await status(REPORTER, mine.code.lower())  # typed in lower case
    assert mine.code in detail and "街口街道" in detail
    # Another chat's code reads exactly like a code that does not exist.
    assert (await status(REPORTER, theirs.code)).replace(theirs.code, "X") == (
        await status(REPORTER, "ZZZZZZZZ")
    ).replace("ZZZZZZZZ", "X")


def test_ticket_codes_avoid_look_alike_characters() -> None:
    codes = {tickets.new_ticket_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == tickets.CODE_LENGTH and not set(c) & set("01OIL") for c in codes)
