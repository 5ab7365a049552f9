"""One ticket's whole life against the fake Bot API, with the exact messages each party gets:
report, referral, 签收, note, first action, extension asked and approved, 办结, feedback."""

from __future__ import annotations

from typing import Any

import pytest
from citizen import Citizen
from factories import events_of, join_by_bot, ticket_by_code
from harness import BotService, FakeClock
from party import Party

from flows.staff import Scope
from storage.db import Database

JIEKOU = "440117001000"
STATION = "从化区街口街道未成年人保护工作站"
REPORTER, WORKER, SUPERVISOR = 3001, 3101, 3201


@pytest.fixture
def life(svc: BotService) -> BotService:
    return svc  # tests/handlers/conftest.py: on the test's clock, without pacing


async def enrol(svc: BotService, clock: FakeClock, chat: int, scope: Scope) -> None:
    await join_by_bot(svc, chat=chat, scope=scope, now=clock())


async def test_one_ticket_from_report_to_feedback(
    life: BotService, clock: FakeClock, db: Database
) -> None:
    api = life.api
    await enrol(life, clock, WORKER, Scope("station", "township", JIEKOU))
    await enrol(life, clock, SUPERVISOR, Scope("supervisor", "county", "440117000000"))
    worker, supervisor, reporter = Party(api, WORKER), Party(api, SUPERVISOR), Party(api, REPORTER)
    worker.mark = supervisor.mark = len(api.calls)

    # 1. The report (10:00 Shanghai), by buttons.
    citizen = Citizen(api, REPORTER)
    code = await citizen.file_report_by_buttons()
    reporter.mark = len(api.calls)
    ticket = await ticket_by_code(db, code)
    tid = ticket.id

    # 2. The referral reaches the station, without the reporter's contact.
    referral = await worker.next()
    assert referral.text == (
        f"🆕 <b>新转介 <code>{code}</code></b> · 🟠 P1 较急\n"
        "地点：广州市从化区街口街道\n情况：无人照料 / 独自在家\n儿童：6–11 岁，女孩\n"
        "报告人：邻居或朋友\n经过：孩子一个人在家两天了，没有大人照看。\n\n"
        "签收时限：2026-11-23 12:00\n首次联系时限：2026-11-24 10:00\n"
        "办结时限：2026-11-26 10:00"
    )
    assert [d for _, d in referral.buttons()] == [f"w:sign:{tid}", f"w:ret:{tid}", f"w:det:{tid}"]

    # 3. 签收 at 10:10: the referral is edited, the worker gets the next steps, the reporter
    #    is told (the station's name, not the worker's).
    clock.advance(minutes=10)
    await worker.press(f"w:sign:{tid}", on=referral)
    edit = await worker.next("editMessageText")
    assert edit.params["message_id"] == referral.message_id
    assert edit.text == referral.text + "\n\n✅ 已由 User3101 于 2026-11-23 10:10 签收"
    assert [d for _, d in edit.buttons()] == [f"w:det:{tid}"]
    menu = await worker.next()
    assert menu.text == (
        f"您已签收 <code>{code}</code>。请在 2026-11-24 10:00 前联系报告人或上门（首次行动）。"
    )
    told = await reporter.next()
    assert (
        told.text == f"您提交的报告 <code>{code}</code> 已由 {STATION} 受理，工作人员会尽快处理。"
    )

    # 4. A note.
    await worker.press(f"w:note:{tid}", on=menu)
    ask = await worker.next()
    assert (
        ask.text
        == f"请输入工单 <code>{code}</code> 的进展记录（不超过 2000 字）。发送 /cancel 放弃。"
    )
    worker.say("已与村儿童主任核实，孩子父母在外地打工。")
    saved = await worker.next()
    assert saved.text == "已记录进展。"

    # 5. The first action: a home visit at 11:00.
    clock.advance(minutes=50)
    await worker.press(f"w:first:{tid}", on=saved)
    how = await worker.next()
    assert how.text == "首次行动是电话联系还是上门走访？"
    await worker.press(f"w:fa:{tid}:visit", on=how)
    first = await worker.next()
    assert first.text == "已记录首次行动。请在 2026-11-26 10:00 前办结。"
    told = await reporter.next()
    assert told.text == f"您提交的报告 <code>{code}</code>：工作人员已经上门走访。"

    # 6. More time: 3 days, asked by the station, approved by the county supervisor.
    await worker.press(f"w:ext:{tid}", on=first)
    days = await worker.next()
    assert days.text == "延期多少天？"
    await worker.press(f"w:exd:{tid}:3", on=days)
    reason = await worker.next()
    assert reason.text == "请说明延期 3 天的理由（不超过 2000 字）。发送 /cancel 放弃。"
    worker.say("需要等民政部门审批临时监护")
    sent = await worker.next()
    assert sent.text == "延期申请已提交，等待区督导审批。"
    request = await supervisor.next()
    assert request.text == (
        f"⏳ <b>延期申请 <code>{code}</code></b>\n{STATION} 申请延期 3 天。\n"
        "理由：需要等民政部门审批临时监护\n当前办结时限：2026-11-26 10:00"
    )
    await supervisor.press(f"w:exa:{tid}", on=request)
    decided = await supervisor.next()
    assert decided.text == "已同意延期 3 天，新的办结时限：2026-11-29 10:00。"
    approved = await worker.next()
    assert approved.text == (
        f"⏳ 工单 <code>{code}</code> 的延期申请已获同意，新的办结时限：2026-11-29 10:00。"
    )

    # 7. 办结 with an outcome, two days later.
    clock.advance(days=2)
    await worker.press(f"w:done:{tid}", on=sent)
    outcomes = await worker.next()
    assert outcomes.text == "请选择处理结果："
    assert len(outcomes.buttons()) == 9
    await worker.press(f"w:out:{tid}:placed", on=outcomes)
    note = await worker.next()
    assert note.text == "请输入办结说明（不超过 2000 字）。发送 /cancel 放弃。"
    worker.say("孩子已由祖父母临时照料，村儿童主任每周探访。")
    done = await worker.next()
    assert done.text == f"工单 <code>{code}</code> 已办结。"
    resolved = await reporter.next()
    assert resolved.text == (
        f"您提交的报告 <code>{code}</code>，{STATION} 已处理完毕。\n处理结果：已安置照料\n\n"
        "您对处理结果满意吗？"
    )
    assert [d for _, d in resolved.buttons()] == [f"f:{tid}:sat", f"f:{tid}:ok", f"f:{tid}:unsat"]

    # 8. The reporter is satisfied: closed.
    await reporter.press(f"f:{tid}:sat", on=resolved)
    thanks = await reporter.next()
    assert thanks.text == "谢谢您的反馈。"

    # Nobody else heard anything, and the reporter never saw a staff member's name.
    for call in api.calls_for(REPORTER):
        assert "User3101" not in (call.text or "") and "User3201" not in (call.text or "")
    ticket = await ticket_by_code(db, code)
    assert ticket.state == "closed" and ticket.outcome == "placed" and ticket.feedback == "sat"
    history = await _history(db, tid)
    assert history == [
        ("citizen", "submitted", None, "submitted"),
        ("system", "dispatched", "submitted", "dispatched"),
        (f"staff:{ticket.assignee_id}", "signed", "dispatched", "acknowledged"),
        (f"staff:{ticket.assignee_id}", "note", None, None),
        (f"staff:{ticket.assignee_id}", "first_action", "acknowledged", "in_progress"),
        (f"staff:{ticket.assignee_id}", "extension_requested", None, None),
        (_actor_of(history, "extension_approved"), "extension_approved", None, None),
        (f"staff:{ticket.assignee_id}", "resolved", "in_progress", "resolved"),
        ("reporter", "feedback", None, None),
        ("reporter", "closed", "resolved", "closed"),
    ]
    assert _actor_of(history, "extension_approved") != f"staff:{ticket.assignee_id}"


def _actor_of(history: list[tuple[Any, ...]], kind: str) -> str:
    return next(str(h[0]) for h in history if h[1] == kind)


async def _history(db: Database, ticket_id: int | None) -> list[tuple[Any, ...]]:
    return [(e.actor, e.kind, e.from_state, e.to_state) for e in await events_of(db, ticket_id)]
