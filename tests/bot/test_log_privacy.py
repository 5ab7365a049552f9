"""Must show: a report run through the bot with real database faults leaves the reporter's
phone number, story and Telegram name nowhere in the logs.

Two faults, each made by a trigger this test creates and drops: the inbox cannot record the
update that carries the story (the poller's write fails, with the update's payload, the
Telegram name included, in its parameters), and the report's contact row cannot be written
(the turn fails with the phone number in its parameters; on PostgreSQL the trigger's own
message quotes the row and the story, as a driver's message or a DETAIL line would). Every
logger is captured at INFO, SQLAlchemy's statement log included, and each record is formatted
by the formatter `hutong` installs. The failures must be in the log (so this cannot pass by
logging nothing), the data must not; and the report is filed once the faults are gone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from citizen import Citizen
from logcapture import Capture, capture_all
from sqlalchemy import text
from sqlmodel import col, select

from storage.db import Database
from storage.models import InboxUpdate, Ticket, TicketContact

CHAT = 7301
PHONE = "13987654321"
STORY = "QX7-STORY 小红每天晚上睡在花都大桥下面，没有人照看她"
FIRST, LAST = "Qiaolin-NAME1", "Zhuang-NAME2"


def _needles() -> list[str]:
    """What must not appear, also as JSON would escape it."""
    values = [PHONE, STORY, FIRST, LAST, "QX7-STORY", "小红每天晚上睡在花都大桥下面"]
    return values + [json.dumps(v)[1:-1] for v in values]


async def _fault(db: Database, table: str) -> None:
    """Make INSERT INTO ``table`` fail."""
    async with db.unit() as session:
        if db.sqlite:
            # An error, not RAISE(ABORT): that is a constraint violation, which the inbox
            # takes for a redelivered update.
            await session.exec(
                text(
                    f"CREATE TRIGGER hutong_test_fault_{table} BEFORE INSERT ON {table} "
                    "BEGIN SELECT abs(-9223372036854775807 - 1); END"
                )
            )
            return
        # Like a driver's message or a DETAIL line, this one quotes the row (and the story).
        await session.exec(
            text(
                """
                CREATE OR REPLACE FUNCTION hutong_test_fault() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_TABLE_NAME = 'ticket_contact' THEN
                        RAISE EXCEPTION 'injected fault: % %', row_to_json(NEW),
                            (SELECT story FROM ticket WHERE id = NEW.ticket_id)
                            USING DETAIL = 'Key (phone)=(' || NEW.phone || ') is refused.';
                    END IF;
                    RAISE EXCEPTION 'injected fault: %', row_to_json(NEW);
                END $$
                """
            )
        )
        await session.exec(
            text(
                f"CREATE TRIGGER hutong_test_fault_{table} BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION hutong_test_fault()"
            )
        )


async def _heal(db: Database, table: str) -> None:
    async with db.unit() as session:
        if db.sqlite:
            await session.exec(text(f"DROP TRIGGER IF EXISTS hutong_test_fault_{table}"))
        else:
            await session.exec(text(f"DROP TRIGGER IF EXISTS hutong_test_fault_{table} ON {table}"))


@pytest.fixture
async def faults(db: Database) -> AsyncIterator[None]:
    """The triggers never outlive the test, whatever happens in it."""
    yield
    for table in ("inbox_update", "ticket_contact"):
        await _heal(db, table)
    if not db.sqlite:
        async with db.unit() as session:
            await session.exec(text("DROP FUNCTION IF EXISTS hutong_test_fault()"))


async def test_a_database_fault_logs_no_phone_story_or_telegram_name(
    service: Any, faults: None
) -> None:
    api, db = service.api, service.db
    api.user_names[CHAT] = (FIRST, LAST)
    citizen = Citizen(api, CHAT)
    with capture_all() as captured:
        await citizen.report_until_story()

        # 1. The update carrying the story cannot be recorded: the poller logs, backs off,
        #    and records it once the fault is gone; nothing is lost.
        await _fault(db, "inbox_update")
        mark = len(api.calls)
        api.push_text(CHAT, STORY)
        await captured.wait_for("recording updates failed")
        await _heal(db, "inbox_update")
        await api.wait_for(lambda c: c.method == "sendMessage", after=mark, chat_id=CHAT)

        # 2. A phone number to call back on, then the confirm fails on the contact row.
        await citizen.press("ct", "phone")
        await citizen.text(PHONE)
        await citizen.press("cs", "yes")
        call, data = await citizen.find_button("sm", "ok")
        await _fault(db, "ticket_contact")
        api.push_callback(CHAT, data, message_id=call.message_id)
        await captured.wait_for(" failed\nTraceback")
        await _heal(db, "ticket_contact")
        for _ in range(100):  # bounded: 10 s; the failure is logged, then recorded
            async with db.unit() as session:
                noted = (
                    await session.exec(
                        select(InboxUpdate).where(col(InboxUpdate.error).is_not(None))
                    )
                ).all()
            if noted:
                break
            await asyncio.sleep(0.1)
        [failed] = noted
        # The retry (the service's job does this every 15 s) files the report.
        await service.poller.replay_pending()
        code = await citizen.receipt_code()

    _assert_logged_without_data(captured, failed)
    async with db.unit() as session:
        ticket = (await session.exec(select(Ticket).where(col(Ticket.code) == code))).one()
        contact = await session.get(TicketContact, ticket.id)
    assert ticket.story == STORY and contact is not None and contact.phone == PHONE


def _assert_logged_without_data(captured: Capture, failed: InboxUpdate) -> None:
    log = captured.text
    # None of the reporter's data, in the log or in the inbox's error column ...
    for needle in _needles():
        assert needle not in log, f"{needle!r} is in the log"
        assert needle not in (failed.error or ""), f"{needle!r} is in inbox_update.error"
    # ... but the faults were logged, with what failed and where ...
    assert "recording updates failed (sqlalchemy.exc." in log
    assert f"update {failed.update_id} failed" in log
    assert "Traceback (most recent call last; exception messages withheld)" in log
    assert "in take_turn" in log
    assert failed.error is not None and failed.error.startswith("sqlalchemy.exc.")
    # ... and SQLAlchemy's statement log was on, its parameters hidden by the engine.
    assert "INSERT INTO ticket_contact" in log and "SQL parameters hidden" in log
