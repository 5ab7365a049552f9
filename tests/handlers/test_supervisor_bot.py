"""Supervisor commands in the bot: /overdue, /open, /stats, /reassign, scoped."""

from __future__ import annotations

from datetime import timedelta

from citizen import Citizen
from factories import event_kinds, join_by_bot, ticket_by_code
from harness import BotService, FakeClock

from flows.escalation import sweep_deadlines
from flows.sla import DEFAULT_POLICY
from flows.staff import Scope

JIEKOU, JIANGPU, CONGHUA = "440117001000", "440117002000", "440117000000"
SHENZHEN = "440300000000"


async def enrol(svc: BotService, chat: int, scope: Scope) -> None:
    await join_by_bot(svc, chat=chat, scope=scope, now=svc.clock())


async def ask(svc: BotService, chat: int, text: str, needle: str) -> str:
    mark = len(svc.api.calls)
    svc.api.push_text(chat, text)
    call = await svc.api.wait_for(lambda c: needle in (c.text or ""), after=mark, chat_id=chat)
    return call.text or ""


async def test_overdue_open_stats_and_reassign(svc: BotService, clock: FakeClock) -> None:
    api = svc.api
    await enrol(svc, 6101, Scope("station", "township", JIEKOU))
    await enrol(svc, 6102, Scope("station", "township", JIANGPU))
    await enrol(svc, 6201, Scope("supervisor", "county", CONGHUA))
    await enrol(svc, 6301, Scope("supervisor", "city", SHENZHEN))
    late = await Citizen(api, 6001).file_report_by_buttons()  # P1: sign-for within 2 h
    signed = await Citizen(api, 6002).file_report_by_buttons()
    ticket = await ticket_by_code(svc.db, signed)
    api.push_callback(6101, f"w:sign:{ticket.id}", message_id=1)
    await api.wait_for(lambda c: "您已签收" in (c.text or ""), chat_id=6101)

    clock.advance(hours=2)  # the first one breached its sign-for deadline
    await sweep_deadlines(
        db=svc.db, directory=svc.intake.directory, policy=DEFAULT_POLICY, clock=clock
    )
    text = await ask(svc, 6201, "/overdue", "超时工单")
    assert late in text and signed not in text and "区县级（未签收）" in text
    text = await ask(svc, 6201, "/open", "未办结工单")
    assert late in text and signed in text and "（2 件" in text
    text = await ask(svc, 6201, "/stats today", "统计")
    assert "收到：2" in text and "按时签收：1/1 (100%)" in text
    assert "当前超时：区县级 1，市级 0" in text

    # Another city's supervisor sees none of it and cannot reassign it.
    assert "没有超时工单" in await ask(svc, 6301, "/overdue", "超时")
    assert "没有找到" in await ask(svc, 6301, f"/reassign {late}", "没有找到")
    # A station member is not a supervisor.
    assert "仅限督导" in await ask(svc, 6101, "/overdue", "督导")
    assert "用法" in await ask(svc, 6201, "/stats year", "用法")

    text = await ask(svc, 6201, f"/reassign {late}", "分派到哪个镇/街道")
    assert late in text
    late_ticket = await ticket_by_code(svc.db, late)
    mark = len(api.calls)
    api.push_callback(6201, f"w:rdt:{late_ticket.id}:{JIANGPU}", message_id=1)
    await api.wait_for(lambda c: "已分派到" in (c.text or ""), after=mark, chat_id=6201)
    await api.wait_for(lambda c: late in (c.text or ""), after=mark, chat_id=6102)
    moved = await ticket_by_code(svc.db, late)
    assert (moved.station_code, moved.state, moved.overdue_level) == (JIANGPU, "dispatched", 0)
    assert moved.sign_due_at == clock() + timedelta(hours=2)  # a full window for the new station
    kinds = await event_kinds(svc.db, late_ticket.id)
    assert "redispatched" in kinds and kinds.count("refused") == 1
