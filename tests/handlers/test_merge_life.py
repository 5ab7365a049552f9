"""One child, two neighbours, one ticket, against the fake Bot API with the exact messages
each party gets: two reports about the same child from two chats; the station's referral of
the second says 可能重复 and offers 合并; once merged, the older ticket carries the case on
its own deadlines (the sweep never takes up the merged one) and both reporters hear every
step under their own code — signed for, first action, resolved and the feedback question —
and the ticket closes once both have answered."""

from __future__ import annotations

from citizen import Citizen
from factories import events_of, join_by_bot, outbox_rows, ticket_by_code
from harness import BotService, FakeClock
from party import Party

from flows.escalation import sweep_deadlines
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.staff import Scope
from storage.db import Database

JIEKOU = "440117001000"
STATION = "从化区街口街道未成年人保护工作站"
FIRST, SECOND, WORKER = 3001, 3002, 3101


async def test_two_reports_of_one_child_become_one_case_both_reporters_hear(
    svc: BotService, clock: FakeClock, db: Database, directory: Directory
) -> None:
    api = svc.api
    await join_by_bot(svc, chat=WORKER, scope=Scope("station", "township", JIEKOU), now=clock())
    worker, first, second = Party(api, WORKER), Party(api, FIRST), Party(api, SECOND)
    worker.mark = len(api.calls)

    # 10:00: a neighbour reports a child alone at home; the station gets the referral.
    one = await Citizen(api, FIRST).file_report_by_buttons()
    kept = await ticket_by_code(db, one)
    referral_one = await worker.next()
    assert "可能重复" not in (referral_one.text or "")

    # 10:30: another neighbour, from another chat, reports the same child.
    clock.advance(minutes=30)
    two = await Citizen(api, SECOND).file_report_by_buttons("楼下的小女孩两天没见到大人了。")
    merged = await ticket_by_code(db, two)
    first.mark, second.mark = len(api.calls), len(api.calls)
    referral_two = await worker.next()
    assert referral_two.text == (
        f"🆕 <b>新转介 <code>{two}</code></b> · 🟠 P1 较急\n"
        "地点：广州市从化区街口街道\n情况：无人照料 / 独自在家\n儿童：6–11 岁，女孩\n"
        "报告人：邻居或朋友\n经过：楼下的小女孩两天没见到大人了。\n\n"
        "签收时限：2026-11-23 12:30\n首次联系时限：2026-11-24 10:30\n"
        "办结时限：2026-11-26 10:30\n\n"
        f"⚠️ 可能重复：与 <code>{one}</code>（提交于 2026-11-23 10:00）"
    )
    assert [d for _, d in referral_two.buttons()] == [
        f"w:sign:{merged.id}",
        f"w:ret:{merged.id}",
        f"w:mg:{merged.id}:{kept.id}",
        f"w:det:{merged.id}",
    ]

    # 10:35: the station presses 合并 on the second referral.
    clock.advance(minutes=5)
    await worker.press(f"w:mg:{merged.id}:{kept.id}", on=referral_two)
    edit = await worker.next("editMessageText")
    assert edit.params["message_id"] == referral_two.message_id
    assert edit.text == referral_two.text.replace(
        f"⚠️ 可能重复：与 <code>{one}</code>（提交于 2026-11-23 10:00）",
        f"🔗 已合并到 <code>{one}</code>（提交于 2026-11-23 10:00），按该工单的时限处理。",
    )
    assert [d for _, d in edit.buttons()] == [f"w:det:{merged.id}"]
    done = await worker.next()
    assert done.text == (
        f"已合并：<code>{two}</code> 并入 <code>{one}</code>，按 <code>{one}</code> 的时限处理；"
        f"报告人都会收到 <code>{one}</code> 的后续进展。"
    )
    told = await second.next()
    assert told.text == (
        f"您提交的报告 <code>{two}</code> 和另一份报告说的是同一个孩子，工作站会把两份报告放在一起"
        "处理。现在的进度：已转给工作站，等待受理。之后的进展我们会照常告诉您，也可以用 "
        f"/status {two} 查看。"
    )
    # 合并 pressed again, on the same (old) message: nothing changes twice.
    await worker.press(f"w:mg:{merged.id}:{kept.id}", on=referral_two)
    again = await worker.next()
    assert again.text == f"这份报告已经合并到 <code>{one}</code>。"

    # /status on the merged report's code says it is handled together, and how.
    second.say(f"/status {two}")
    status = await second.next()
    assert status.text == (
        f"<b>报告 <code>{two}</code></b>\n提交时间：2026-11-23 10:30\n负责处理：{STATION}\n"
        "进度：已和关于同一个孩子的另一份报告一起处理\n一起处理的进度：已转给工作站，等待受理"
    )

    # 10:40: 签收 of the kept ticket; both reporters hear it, each under their own code.
    clock.advance(minutes=5)
    await worker.press(f"w:sign:{kept.id}", on=referral_one)
    await worker.next("editMessageText")
    menu = await worker.next()
    assert (await first.next()).text == (
        f"您提交的报告 <code>{one}</code> 已由 {STATION} 受理，工作人员会尽快处理。"
    )
    assert (await second.next()).text == (
        f"您提交的报告 <code>{two}</code> 已由 {STATION} 受理，工作人员会尽快处理。"
    )

    # 12:45: past the second report's own reminder (11:30) and sign-for deadline (12:30):
    # the sweep takes up nothing — its clock stopped at the merge, the kept one is signed.
    clock.now = clock.now.replace(hour=4, minute=45)
    advanced = await sweep_deadlines(
        db=db, directory=directory, policy=DEFAULT_POLICY, clock=clock, with_digests=False
    )
    assert advanced == 0
    escalations = [
        r
        for r in await outbox_rows(db, ticket_id=merged.id)
        if r.kind in ("reminder", "escalated", "escalation_repeat", "resolve_overdue")
    ]
    assert escalations == []

    # 13:00: the first action — a home visit.
    clock.advance(minutes=15)
    await worker.press(f"w:first:{kept.id}", on=menu)
    how = await worker.next()
    await worker.press(f"w:fa:{kept.id}:visit", on=how)
    recorded = await worker.next()
    assert (await first.next()).text == f"您提交的报告 <code>{one}</code>：工作人员已经上门走访。"
    assert (await second.next()).text == f"您提交的报告 <code>{two}</code>：工作人员已经上门走访。"

    # The next day: 办结; both reporters are told and asked, each for their own report.
    clock.advance(days=1)
    await worker.press(f"w:done:{kept.id}", on=recorded)
    outcomes = await worker.next()
    await worker.press(f"w:out:{kept.id}:placed", on=outcomes)
    await worker.next()
    worker.say("孩子已由祖父母临时照料，村儿童主任每周探访。")
    assert (await worker.next()).text == f"工单 <code>{one}</code> 已办结。"
    asked_one, asked_two = await first.next(), await second.next()
    assert asked_one.text == (
        f"您提交的报告 <code>{one}</code>，{STATION} 已处理完毕。\n处理结果：已安置照料\n\n"
        "您对处理结果满意吗？"
    )
    assert asked_two.text == asked_one.text.replace(one, two)
    assert [d for _, d in asked_one.buttons()] == [
        f"f:{kept.id}:{r}" for r in ("sat", "ok", "unsat")
    ]
    assert [d for _, d in asked_two.buttons()] == [
        f"f:{merged.id}:{r}" for r in ("sat", "ok", "unsat")
    ]

    # The first reporter is satisfied: the case waits for the second, who is too: closed.
    await first.press(f"f:{kept.id}:sat", on=asked_one)
    assert (await first.next()).text == "谢谢您的反馈。"
    assert (await ticket_by_code(db, one)).state == "resolved"
    await second.press(f"f:{merged.id}:ok", on=asked_two)
    assert (await second.next()).text == "谢谢您的反馈。"
    closed = await ticket_by_code(db, one)
    assert closed.state == "closed" and closed.feedback == "sat"

    # The audit trail on both: who merged, when, and each reporter's answer.
    member = f"staff:{closed.assignee_id}"
    assert [
        (e.actor, e.kind, e.from_state, e.to_state, e.note) for e in await events_of(db, merged.id)
    ] == [
        ("citizen", "submitted", None, "submitted", None),
        ("system", "dispatched", "submitted", "dispatched", f"township {JIEKOU} P1"),
        ("system", "duplicate_suspected", None, None, one),
        (member, "merged", "dispatched", "merged", one),
        ("reporter", "feedback", None, None, "ok"),
    ]
    assert [(e.actor, e.kind, e.note) for e in await events_of(db, kept.id)][2:] == [
        (member, "merged_in", two),
        (member, "signed", None),
        (member, "first_action", "visit"),
        (member, "resolved", "placed: 孩子已由祖父母临时照料，村儿童主任每周探访。"),
        ("reporter", "feedback", "sat"),
        ("reporter", "feedback", f"ok ({two})"),
        ("reporter", "closed", None),
    ]
    # Neither reporter saw a staff member's name, nor the other's report code.
    for chat, other in ((FIRST, two), (SECOND, one)):
        for call in api.calls_for(chat):
            assert f"User{WORKER}" not in (call.text or "") and other not in (call.text or "")


async def test_the_merged_reporter_adds_to_the_case_and_its_deadlines_tighten(
    svc: BotService, clock: FakeClock, db: Database
) -> None:
    """Adding to a merged report (/status CODE → 📎 补充情况) adds to the ticket that carries
    the case: words that raise the alarm raise its priority and shorten its deadlines; the
    reporter is answered under their own code."""
    api = svc.api
    await join_by_bot(svc, chat=WORKER, scope=Scope("station", "township", JIEKOU), now=clock())
    worker = Party(api, WORKER)
    worker.mark = len(api.calls)
    one = await Citizen(api, FIRST).file_report_by_buttons()
    kept = await ticket_by_code(db, one)
    await worker.next()
    clock.advance(minutes=30)
    second = Citizen(api, SECOND)
    two = await second.file_report_by_buttons("楼下的小女孩两天没见到大人了。")
    merged = await ticket_by_code(db, two)
    referral_two = await worker.next()
    await worker.press(f"w:mg:{merged.id}:{kept.id}", on=referral_two)
    await worker.next()  # 已合并
    clock.advance(minutes=5)

    status = await second.text(f"/status {two}")
    assert [label for label, _ in status.buttons()] == ["📎 补充情况"]
    await second.press("ad", two)
    worker.mark = len(api.calls)
    advice = await second.text("刚才听到孩子哭着说想死。")
    assert "可能十分紧急" in (advice.text or "")  # the advice first, as for a story
    saved = await second.wait_text("已补充到报告")
    assert f"<code>{two}</code>" in (saved.text or "") and one not in (saved.text or "")
    notice = await api.wait_for(
        lambda c: "补充信息" in (c.text or ""), after=worker.mark, chat_id=WORKER
    )
    assert f"<code>{one}</code>" in (notice.text or "")  # the case's ticket
    case = await ticket_by_code(db, one)
    assert (case.priority, kept.priority) == ("P0", "P1")
    assert case.sign_due_at is not None and kept.sign_due_at is not None
    assert case.sign_due_at < kept.sign_due_at  # the P0 window from now, not P1's from filing
    assert "reporter_added" in [e.kind for e in await events_of(db, kept.id)]
    assert (await ticket_by_code(db, two)).state == "merged"
