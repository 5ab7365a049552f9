"""storage.outbox against the real database: a key is queued once, claims lease rows in each
chat's order, sent/failed/retried rows move as documented, and old payloads are emptied."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import row_of
from harness import FakeClock
from sqlmodel import col, select

from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage


async def _queue(db: Database, clock: FakeClock, key: str, chat: str, **kw: object) -> int:
    async with db.unit() as session:
        row_id = await outbox.enqueue(
            session,
            dedup_key=key,
            kind="reporter_update",
            now=clock(),
            payload={"text": key},
            chat_id=chat,
            **kw,  # type: ignore[arg-type]
        )
    assert row_id is not None
    return row_id


async def test_enqueue_writes_a_key_once_and_refuses_an_unclear_target(
    db: Database, clock: FakeClock
) -> None:
    first = await _queue(db, clock, "k1", "100")
    async with db.unit() as session:
        again = await outbox.enqueue(
            session, dedup_key="k1", kind="x", now=clock(), payload={"text": "other"}, chat_id="9"
        )
        nobody = await outbox.enqueue(
            session, dedup_key="k2", kind="x", now=clock(), payload={}, chat_id=""
        )
        with pytest.raises(ValueError):
            await outbox.enqueue(session, dedup_key="k3", kind="x", now=clock(), payload={})
        with pytest.raises(ValueError):
            await outbox.enqueue(
                session,
                dedup_key="k4",
                kind="x",
                now=clock(),
                payload={},
                chat_id="1",
                role_target=("station", "440117001000"),
            )
        with pytest.raises(ValueError):  # only one chat's row can be sent straight away
            await outbox.enqueue(
                session,
                dedup_key="k5",
                kind="x",
                now=clock(),
                payload={},
                role_target=("station", "440117001000"),
                send_now=True,
            )
        rows = (await session.exec(select(OutboxMessage))).all()
    assert again is None and nobody is None
    assert [(r.id, r.target, r.payload["text"]) for r in rows] == [(first, "100", "k1")]
    assert rows[0].status == "pending" and rows[0].next_attempt_at == clock()


async def test_a_long_key_is_hashed_not_cut_so_two_keys_stay_two(
    db: Database, clock: FakeClock
) -> None:
    head = "x" * outbox.DEDUP_KEY_MAX
    assert outbox.fit_key("short") == "short"
    a, b = outbox.fit_key(head + "a"), outbox.fit_key(head + "b")
    assert a != b and len(a) == len(b) == outbox.DEDUP_KEY_MAX
    assert await _queue(db, clock, head + "a", "1") != await _queue(db, clock, head + "b", "1")


async def test_a_row_sent_now_starts_leased_to_its_writer(db: Database, clock: FakeClock) -> None:
    direct = await _queue(db, clock, "direct", "200", send_now=True)
    row = await row_of(db, OutboxMessage, direct)
    assert (row.status, row.attempts) == ("sending", 1)
    assert row.next_attempt_at == clock() + outbox.DIRECT_LEASE
    async with db.unit() as session:
        assert await outbox.waiting_for(session, chat_id="200")
        assert not await outbox.waiting_for(session, chat_id="201")
        assert await outbox.claim(session, now=clock(), limit=10) == []  # its writer sends it
    clock.advance(seconds=outbox.DIRECT_LEASE.total_seconds())
    async with db.unit() as session:  # the writer died: after the lease, anyone may
        taken = await outbox.claim(session, now=clock(), limit=10)
    assert [r.id for r in taken] == [direct] and taken[0].attempts == 2


async def test_claim_leases_each_chats_oldest_and_keeps_its_later_ones_back(
    db: Database, clock: FakeClock
) -> None:
    a1 = await _queue(db, clock, "a1", "300")
    a2 = await _queue(db, clock, "a2", "300")
    b1 = await _queue(db, clock, "b1", "301")
    async with db.unit() as session:
        first = await outbox.claim(session, now=clock(), limit=10, lease=timedelta(seconds=30))
    assert {r.id for r in first} == {a1, a2, b1}
    assert {r.status for r in first} == {"sending"} and {r.attempts for r in first} == {1}
    async with db.unit() as session:  # leased: nobody else takes them meanwhile
        assert await outbox.claim(session, now=clock(), limit=10) == []
        await outbox.mark_sent(session, delivered=[(a1, 501)], now=clock())
        await outbox.reschedule(
            session, row_id=a2, at=clock() + timedelta(minutes=1), why="flood", count_attempt=False
        )
        await outbox.fail(session, row_id=b1, why="forbidden: " + "x" * 600, now=clock())
    sent, waiting, failed = [await row_of(db, OutboxMessage, i) for i in (a1, a2, b1)]
    assert (sent.status, sent.message_id, sent.sent_at) == ("sent", 501, clock())
    assert (waiting.status, waiting.attempts, waiting.error) == ("pending", 0, "flood")
    assert failed.status == "failed" and failed.failed_at == clock()
    assert failed.error is not None and len(failed.error) == 500
    later = await _queue(db, clock, "a3", "300")
    async with db.unit() as session:  # a2 waits in backoff: a3 may not overtake it
        assert await outbox.claim(session, now=clock(), limit=10) == []
    clock.advance(minutes=1)
    async with db.unit() as session:
        assert [r.id for r in await outbox.claim(session, now=clock(), limit=10)] == [a2, later]


async def test_release_and_release_in_flight_put_rows_back_untried(
    db: Database, clock: FakeClock
) -> None:
    one = await _queue(db, clock, "r1", "400")
    two = await _queue(db, clock, "r2", "401")
    async with db.unit() as session:
        held = {r.id: r.next_attempt_at for r in await outbox.claim(session, now=clock(), limit=10)}
    async with db.unit() as session:
        await outbox.release(session, leases=[(one, held[one])], at=clock() + timedelta(seconds=5))
        assert await outbox.release_in_flight(session, now=clock()) == 1  # only two was sending
    released, restarted = await row_of(db, OutboxMessage, one), await row_of(db, OutboxMessage, two)
    assert (released.status, released.attempts) == ("pending", 0)
    assert released.next_attempt_at == clock() + timedelta(seconds=5)
    assert (restarted.status, restarted.next_attempt_at) == ("pending", clock())


async def test_a_long_message_remembers_the_parts_already_sent(
    db: Database, clock: FakeClock
) -> None:
    row_id = await _queue(db, clock, "long", "450")
    async with db.unit() as session:
        await outbox.reschedule(
            session, row_id=row_id, at=clock(), why="e", count_attempt=True, parts_sent=2
        )
        await outbox.reschedule(
            session, row_id=row_id, at=clock(), why="e", count_attempt=True, parts_sent=1
        )
    assert (await row_of(db, OutboxMessage, row_id)).payload["parts_sent"] == 2  # never goes back


async def test_failed_rows_are_listed_and_retried_except_erased_and_withdrawn(
    db: Database, clock: FakeClock
) -> None:
    plain = await _queue(db, clock, "f1", "500")
    erased = await _queue(db, clock, "f2", "501")
    withdrawn = await _queue(db, clock, "f3", "502")
    async with db.unit() as session:
        for row_id in (plain, erased, withdrawn):
            await outbox.fail(session, row_id=row_id, why="gave up", now=clock())
        gone = await session.get(OutboxMessage, erased)
        left = await session.get(OutboxMessage, withdrawn)
        assert gone is not None and left is not None
        gone.payload, gone.scrubbed = {}, True
        left.error = f"{outbox.WITHDRAWN}recipient left"
        session.add_all([gone, left])
    async with db.unit() as session:
        listed = await outbox.failed(session)
        assert [(r.id, code) for r, code in listed] == [
            (plain, None),
            (erased, None),
            (withdrawn, None),
        ]
        assert await outbox.retry_failed(session, now=clock(), ids=[erased, withdrawn]) == 0
        clock.advance(minutes=3)
        assert await outbox.retry_failed(session, now=clock()) == 1
    again = await row_of(db, OutboxMessage, plain)
    assert (again.status, again.attempts, again.error, again.failed_at) == (
        "pending",
        0,
        None,
        None,
    )
    assert again.requeued_at == clock() == again.next_attempt_at


async def test_move_chat_takes_only_what_still_waits(db: Database, clock: FakeClock) -> None:
    waiting = await _queue(db, clock, "m1", "-600")
    done = await _queue(db, clock, "m2", "-600")
    async with db.unit() as session:
        await outbox.mark_sent(session, delivered=[(done, 1)], now=clock())
        await outbox.move_chat(session, old_chat_id="-600", new_chat_id="-100600")
        assert (await outbox.original(session, row_id=done)) is not None
    assert (await row_of(db, OutboxMessage, waiting)).target == "-100600"
    assert (await row_of(db, OutboxMessage, done)).target == "-600"


async def test_erase_delivered_empties_old_payloads_in_batches_and_keeps_the_rows(
    db: Database, clock: FakeClock
) -> None:
    rows = [await _queue(db, clock, f"e{i}", "700") for i in range(3)]
    pending = await _queue(db, clock, "e-pending", "701")
    async with db.unit() as session:
        await outbox.mark_sent(session, delivered=[(rows[0], 1), (rows[1], 2)], now=clock())
        await outbox.fail(session, row_id=rows[2], why="x", now=clock())
    cutoff = clock() + timedelta(days=1)
    async with db.unit() as session:
        assert await outbox.erase_delivered(session, before=clock(), batch=10) == 0  # not before
        assert await outbox.erase_delivered(session, before=cutoff, batch=2) == 2
    async with db.unit() as session:
        assert await outbox.erase_delivered(session, before=cutoff, batch=2) == 1
        assert await outbox.erase_delivered(session, before=cutoff, batch=2) == 0
        left = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    assert [(r.id, r.scrubbed, r.payload == {}) for r in left] == [
        (rows[0], True, True),
        (rows[1], True, True),
        (rows[2], True, True),
        (pending, False, False),
    ]
    assert left[0].message_id == 1  # what a later edit needs stays


async def test_a_batch_writes_each_key_once_in_as_few_statements_as_fit(
    db: Database, clock: FakeClock
) -> None:
    existing = await _queue(db, clock, "k:0", "5001")
    batch = outbox.Batch()
    n = 1007  # more than one multi-row insert's worth
    for i in range(n):
        batch.add(
            dedup_key=f"k:{i}", kind="reminder", now=clock(), payload={"i": i}, chat_id="5001"
        )
    batch.add(dedup_key="k:3", kind="reminder", now=clock(), payload={"i": -1}, chat_id="5001")
    batch.add(dedup_key="k:x", kind="reminder", now=clock(), payload={}, chat_id="")  # erased
    batch.add(
        dedup_key="k:role", kind="escalated", now=clock(), payload={}, role_target=("city", "1")
    )
    assert len(batch) == n + 1  # the repeated key and the unknown chat add nothing
    with pytest.raises(ValueError):
        batch.add(dedup_key="k:y", kind="x", now=clock(), payload={})
    async with db.unit() as session:
        await batch.write(session)
    assert len(batch) == 0
    async with db.unit() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    assert len(rows) == n + 1
    assert rows[0].id == existing and rows[0].payload == {"text": "k:0"}  # kept, not replaced
    by_key = {r.dedup_key: r for r in rows}
    assert by_key["k:3"].payload == {"i": 3}  # the first of a repeated key wins
    assert by_key["k:role"].target_kind == "city" and by_key["k:role"].status == "pending"


async def test_a_lease_is_renewed_or_released_only_by_its_holder(
    db: Database, clock: FakeClock
) -> None:
    """A sender whose lease ran out and whose row another sender claimed since must neither
    send it nor put it back: the lease's end tells who holds the row."""
    row_id = await _queue(db, clock, "lease", "402")
    async with db.unit() as session:
        (first,) = await outbox.claim(session, now=clock(), limit=10)
    old_lease = first.next_attempt_at
    clock.advance(seconds=outbox.LEASE.total_seconds() + 1)  # the first sender's lease ran out
    async with db.unit() as session:
        (second,) = await outbox.claim(session, now=clock(), limit=10)
    async with db.unit() as session:
        assert not await outbox.renew(
            session, row_id=row_id, held_until=old_lease, until=clock() + outbox.LEASE
        )
        await outbox.release(session, leases=[(row_id, old_lease)], at=clock())
    row = await row_of(db, OutboxMessage, row_id)
    assert (row.status, row.next_attempt_at, row.attempts) == ("sending", second.next_attempt_at, 2)
    async with db.unit() as session:  # the holder renews
        assert await outbox.renew(
            session,
            row_id=row_id,
            held_until=second.next_attempt_at,
            until=clock() + timedelta(minutes=5),
        )
    assert (await row_of(db, OutboxMessage, row_id)).next_attempt_at == clock() + timedelta(
        minutes=5
    )


def test_as_row_holds_what_the_model_would_and_can_be_changed(clock: FakeClock) -> None:
    values = {
        "id": 7,
        "dedup_key": "k",
        "kind": "reply",
        "target_kind": "chat",
        "target": "42",
        "payload": {"text": "x"},
        "status": "sending",
        "attempts": 1,
        "next_attempt_at": clock(),
        "created_at": clock(),
    }
    row, model = outbox.as_row(**values), OutboxMessage(**values)
    assert row.model_dump() == model.model_dump()
    row.next_attempt_at = clock() + timedelta(seconds=5)  # the sender renews its lease
    assert row.next_attempt_at == clock() + timedelta(seconds=5)
