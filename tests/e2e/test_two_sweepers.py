"""Two `hutong serve` processes sweep one PostgreSQL database while a ladder of deadlines
falls due: every rung fires exactly once (events and outbox rows counted)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from serve_process import free_port
from sqlmodel import col, select

from flows.clock import system_clock
from flows.places import Directory
from flows.sla import Policy, Windows
from flows.tickets import file_report
from storage.db import Database
from storage.models import OutboxMessage, Ticket, TicketEvent

pytestmark = pytest.mark.skipif(
    not os.environ.get("HUTONG_TEST_DATABASE_URL"), reason="needs PostgreSQL"
)

TICKETS = 40
# A 3-second sign-for window: reminder at 1.5 s, L1 at 3 s, L2 at 6 s, repeats at 9, 12, 15 s.
FAST = Policy(P0=Windows(sign=0.05, first_action=10, resolve=60), repeat_limit=3, name="fast")
RUNGS = {"reminder": 1, "escalated": 2, "escalation_repeat": 3}
# Role-targeted rows per ticket: reminder 1, L1 2 (county, station), L2 1, repeats 2 each.
ROWS_PER_TICKET = 1 + 2 + 1 + 2 * 3


async def test_two_processes_fire_each_rung_once(
    database_url: str, db: Database, directory: Directory, tmp_path: Path
) -> None:
    async with db.unit() as session:
        for i in range(TICKETS):
            await file_report(
                session=session,
                directory=directory,
                answers={
                    "danger": "yes",
                    "reporter": "teacher",
                    "place": "440117001000",
                    "age": "6-11",
                    "sex": "f",
                    "concerns": ["physical"],
                    "story": f"第 {i} 个",
                },
                channel="telegram",
                chat_id="8001",
                intake_key=f"telegram:8001:{i}",
                locale="zh",
                now=system_clock(),
                policy=FAST,
            )
    procs = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUTONG_")}
    env.update(HUTONG_DATABASE_URL=database_url, HUTONG_SWEEP_SECONDS="0.1", HUTONG_SWEEP_BATCH="3")
    try:
        for n in range(2):
            log = (tmp_path / f"serve-{n}.log").open("wb")
            procs.append(
                subprocess.Popen(  # noqa: ASYNC220 - started once, waited for below
                    [sys.executable, "-m", "bot.cli", "serve"],
                    env={**env, "HUTONG_HTTP_PORT": str(free_port())},
                    cwd=tmp_path,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        expected = TICKETS * sum(RUNGS.values())
        for _ in range(600):  # bounded: 60 s; the whole ladder takes 15 s
            fired = sum((await _event_kinds(db)).values())
            if fired >= expected:
                break
            assert all(p.poll() is None for p in procs), _logs(tmp_path)
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # both keep sweeping: a double fire would show now
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)

    async with db.unit() as session:
        events = (
            await session.exec(
                select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.note).where(
                    col(TicketEvent.kind).in_(tuple(RUNGS))
                )
            )
        ).all()
        rows = (
            await session.exec(
                select(OutboxMessage.ticket_id).where(
                    col(OutboxMessage.kind).in_(tuple(RUNGS)),
                    col(OutboxMessage.parent_id).is_(None),
                )
            )
        ).all()
        tickets = (await session.exec(select(Ticket))).all()
    per_ticket = Counter((tid, note) for tid, _kind, note in events)
    assert len(per_ticket) == TICKETS * sum(RUNGS.values()), _logs(tmp_path)
    assert set(per_ticket.values()) == {1}  # each rung of each ticket: exactly one event
    assert Counter(kind for _, kind, _ in events) == Counter(
        {k: v * TICKETS for k, v in RUNGS.items()}
    )
    assert Counter(rows) == Counter({t.id: ROWS_PER_TICKET for t in tickets})
    assert all(t.ladder_rung == 6 and t.next_due_at is None for t in tickets)
    # Both processes did part of the work.
    for n in range(2):
        assert "deadline sweep advanced" in (tmp_path / f"serve-{n}.log").read_text()


async def _event_kinds(db: Database) -> Counter[str]:
    async with db.unit() as session:
        return Counter(
            (
                await session.exec(
                    select(TicketEvent.kind).where(col(TicketEvent.kind).in_(tuple(RUNGS)))
                )
            ).all()
        )


def _logs(path: Path) -> str:
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(path.glob("*.log")))
