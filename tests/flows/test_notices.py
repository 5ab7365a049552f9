"""Role-targeted messages turned into each chat's copy (flows.notices) against the real
database: who is behind a station or a supervisor level, a level with nobody passing up, a
referral to an unstaffed station escalating at once, and each copy in its reader's
language."""

from __future__ import annotations

from factories import (
    CONGHUA,
    GUANGZHOU,
    JIEKOU,
    city_supervisor,
    county_supervisor,
    file_ticket,
    invite,
    outbox_rows,
    sign,
    station_member,
)
from harness import FakeClock
from sqlmodel import col, select

from flows import lifecycle, notices, staff
from flows.places import Directory
from storage.db import Database
from storage.models import OutboxMessage, Ticket, TicketEvent
from storage.outbox import enqueue


async def _expand(
    db: Database, directory: Directory, clock: FakeClock, duty: str | None = None
) -> int:
    async with db.unit() as session:
        return await notices.expand(session, directory=directory, now=clock(), duty_chat=duty)


async def test_a_referral_reaches_each_member_and_group_in_their_language(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    await station_member(db, now=clock(), user="8001")
    await station_member(db, now=clock(), user="8002", locale="en")
    await station_member(db, now=clock(), station="440117002000", user="8003")  # elsewhere
    code = await invite(
        db, scope=staff.Scope("station", "township", JIEKOU), now=clock(), kind="group"
    )
    async with db.unit() as session:
        await staff.bind_group(
            session=session,
            code=code,
            channel="telegram",
            chat_id="-81",
            user_id="8001",
            now=clock(),
        )
        found = await notices.recipients(session, target_kind="station", target=JIEKOU)
    assert sorted(found, key=lambda r: r.chat_id) == [
        notices.Recipient("-81", "zh"),
        notices.Recipient("8001", "zh"),
        notices.Recipient("8002", "en"),
    ]
    ticket = await file_ticket(db, directory, now=clock(), story="<b>不是标签</b>")
    assert await _expand(db, directory, clock) == 1
    assert await _expand(db, directory, clock) == 0  # expanded once
    copies = {r.target: r for r in await outbox_rows(db, kind="referral", target_kind="chat")}
    assert set(copies) == {"-81", "8001", "8002"}
    assert (
        copies["8002"].payload["locale"] == "en" and ticket.code in copies["8002"].payload["text"]
    )
    assert "&lt;b&gt;不是标签&lt;/b&gt;" in copies["8001"].payload["text"]  # escaped once
    assert [b[1] for b in copies["8001"].payload["buttons"][0]] == [
        f"w:sign:{ticket.id}",
        f"w:ret:{ticket.id}",
    ]


async def test_a_referral_to_an_unstaffed_station_fails_and_escalates_at_once(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    await county_supervisor(db, now=clock())
    ticket = await file_ticket(db, directory, now=clock())
    await _expand(db, directory, clock, duty="-999")
    async with db.unit() as session:
        parent = (
            await session.exec(
                select(OutboxMessage).where(col(OutboxMessage.target_kind) == "station")
            )
        ).one()
        after = await session.get(Ticket, ticket.id)
        kinds = (
            await session.exec(
                select(TicketEvent.kind).where(col(TicketEvent.ticket_id) == ticket.id)
            )
        ).all()
    assert (parent.status, parent.error) == ("failed", "nobody enrolled")
    # Not to the supervisor, not to the duty chat.
    assert await outbox_rows(db, kind="referral", target_kind="chat") == []
    assert "not_notified" in kinds and after is not None and after.next_due_at == clock()


async def test_a_notice_passes_up_to_the_city_then_the_duty_chat(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock())
    async with db.unit() as session:
        await enqueue(
            session,
            dedup_key="n1",
            kind="extension",
            now=clock(),
            payload=lifecycle.notice("notify.reopened", code=ticket.code),
            role_target=("county", CONGHUA),
            ticket_id=ticket.id,
        )
    await _expand(db, directory, clock, duty="-999")
    [to_duty] = await outbox_rows(db, kind="extension", target_kind="chat")
    assert to_duty.target == "-999" and ticket.code in to_duty.payload["text"]
    await city_supervisor(db, now=clock(), locale="en")
    async with db.unit() as session:
        await enqueue(
            session,
            dedup_key="n2",
            kind="returned",
            now=clock(),
            payload=lifecycle.notice("notify.reopened", code=ticket.code),
            role_target=("county", CONGHUA),
            ticket_id=ticket.id,
        )
        up = await notices.recipients(
            session, target_kind="county", target=CONGHUA, city_code=GUANGZHOU
        )
    assert up == [notices.Recipient("7301", "en")]
    await _expand(db, directory, clock, duty="-999")
    [to_city] = await outbox_rows(db, kind="returned", target_kind="chat")
    assert to_city.target == "7301" and to_city.payload["locale"] == "en"


async def test_an_addition_with_nobody_above_goes_to_no_duty_chat_and_is_recorded(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    ticket = await file_ticket(db, directory, now=clock(), place=CONGHUA)
    async with db.unit() as session:
        await enqueue(
            session,
            dedup_key="a1",
            kind="addition",
            now=clock(),
            payload={"fields": ["story"]},
            role_target=("county", CONGHUA),
            ticket_id=ticket.id,
        )
    await _expand(db, directory, clock, duty="-999")
    # The reporter's words: not to a duty group.
    assert await outbox_rows(db, kind="addition", target_kind="chat") == []
    async with db.unit() as session:
        undelivered = (
            await session.exec(select(TicketEvent).where(col(TicketEvent.kind) == "undelivered"))
        ).all()
    assert len(undelivered) == 1 and "addition" in (undelivered[0].note or "")


async def test_a_row_that_cannot_be_rendered_is_given_up_and_the_rest_go_on(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    await county_supervisor(db, now=clock())
    async with db.unit() as session:
        for key, payload in (
            ("bad", {"key": "no.such.key", "values": {}, "buttons": []}),
            ("good", {"text": "好"}),
        ):
            await enqueue(
                session,
                dedup_key=key,
                kind="digest",
                now=clock(),
                payload=payload,
                role_target=("county", CONGHUA),
            )
    await _expand(db, directory, clock)
    async with db.unit() as session:
        parents = {
            r.dedup_key: r
            for r in (
                await session.exec(
                    select(OutboxMessage).where(col(OutboxMessage.target_kind) == "county")
                )
            ).all()
        }
    assert parents["bad"].status == "failed" and parents["bad"].error == "cannot render: KeyError"
    assert parents["good"].status == "sent"
    assert [
        r.payload["text"] for r in await outbox_rows(db, kind="digest", target_kind="chat")
    ] == ["好"]


async def test_a_referral_reaching_a_chat_after_sign_for_says_who_signed(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    worker = await station_member(db, now=clock(), name="社工甲")
    ticket = await file_ticket(db, directory, now=clock())
    signed = await sign(db, directory, ticket=ticket, member=worker, now=clock())
    async with db.unit() as session:
        assert await notices.signed_by(session, signed) == ("社工甲", clock())
        assert await notices.signed_by(session, ticket) is None  # as filed: nobody yet
    await _expand(db, directory, clock)
    [copy] = await outbox_rows(db, kind="referral", target_kind="chat")
    assert "社工甲" in copy.payload["text"]
    assert [b[1] for row in copy.payload["buttons"] for b in row] == [f"w:det:{ticket.id}"]


def test_place_words_name_the_place_and_what_was_typed(directory: Directory) -> None:
    ticket = Ticket(place_code=JIEKOU, place_text="村口 <小卖部>")
    assert notices.place_words(directory, ticket) == "广州市从化区街口街道（村口 <小卖部>）"
    assert notices.place_line(directory, ticket).endswith("（村口 &lt;小卖部&gt;）")
    assert notices.place_words(directory, Ticket(place_code="999")) == "—"


def test_a_traditional_reader_reads_the_place_in_traditional(directory: Directory) -> None:
    """The directory's name is converted for a zh-Hant reader; the words typed stay as typed."""
    ticket = Ticket(place_code=JIEKOU, place_text="村口小卖部")
    assert notices.place_words(directory, ticket, "zh-Hant") == "廣州市從化區街口街道（村口小卖部）"
    assert notices.place_words(directory, ticket, "zh") == "广州市从化区街口街道（村口小卖部）"
    assert notices.place_words(directory, ticket, "en") == "广州市从化区街口街道（村口小卖部）"
