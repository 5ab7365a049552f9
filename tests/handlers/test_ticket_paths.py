"""The other paths of a ticket: 不满意 and reopening, no feedback, 退单 and re-dispatch,
rejecting a return, routing a ticket from the county queue, and who may do what."""

from __future__ import annotations

import functools

from bot_api import Call, FakeBotAPI
from citizen import Citizen
from factories import event_kinds, join_by_bot, ticket_by_code
from harness import BotService, FakeClock
from sqlmodel import select

from flows.escalation import sweep_deadlines
from flows.sla import DEFAULT_POLICY
from flows.staff import Scope
from storage.db import Database
from storage.models import Ticket

JIEKOU, JIANGPU, CONGHUA = "440117001000", "440117002000", "440117000000"


async def enrol(svc: BotService, chat: int, scope: Scope) -> None:
    await join_by_bot(svc, chat=chat, scope=scope, now=svc.clock())


async def said(api: FakeBotAPI, chat: int, needle: str, after: int = 0) -> Call:
    return await api.wait_for(
        lambda c: c.method in ("sendMessage", "editMessageText") and needle in (c.text or ""),
        after=after,
        chat_id=chat,
    )


async def press(api: FakeBotAPI, chat: int, data: str) -> int:
    mark = len(api.calls)
    api.push_callback(chat, data, message_id=1)
    return mark


async def signed_ticket(svc: BotService, worker: int, reporter: int) -> Ticket:
    code = await Citizen(svc.api, reporter).file_report_by_buttons()
    ticket = await ticket_by_code(svc.db, code)
    await said(svc.api, worker, code)
    await press(svc.api, worker, f"w:sign:{ticket.id}")
    await said(svc.api, worker, "您已签收")
    return await ticket_by_code(svc.db, code)


async def resolve(svc: BotService, worker: int, ticket: Ticket) -> None:
    api = svc.api
    mark = await press(api, worker, f"w:first:{ticket.id}")
    await said(api, worker, "首次行动是", after=mark)
    mark = await press(api, worker, f"w:fa:{ticket.id}:call")
    await said(api, worker, "已记录首次行动", after=mark)
    mark = await press(api, worker, f"w:done:{ticket.id}")
    await said(api, worker, "请选择处理结果", after=mark)
    mark = await press(api, worker, f"w:out:{ticket.id}:medical")
    await said(api, worker, "办结说明", after=mark)
    api.push_text(worker, "已送医")
    await said(api, worker, "已办结", after=mark)


async def test_not_satisfied_reopens_and_tells_the_supervisor(svc: BotService) -> None:
    api = svc.api
    await enrol(svc, 4101, Scope("station", "township", JIEKOU))
    await enrol(svc, 4201, Scope("supervisor", "county", CONGHUA))
    ticket = await signed_ticket(svc, 4101, 4001)
    await resolve(svc, 4101, ticket)
    await said(api, 4001, "满意吗")
    mark = await press(api, 4001, f"f:{ticket.id}:unsat")
    await said(api, 4001, "很抱歉", after=mark)
    await said(api, 4201, f"工单 <code>{ticket.code}</code> 被重新打开")
    await said(api, 4101, f"工单 <code>{ticket.code}</code> 被重新打开")
    api.push_text(4001, "孩子还是没人管")
    await said(api, 4001, "已收到您的说明", after=mark)
    mark = await press(api, 4001, f"f:{ticket.id}:sat")  # a second answer changes nothing
    await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "反馈过" in str(c.params.get("text")),
        after=mark,
    )
    after = await ticket_by_code(svc.db, ticket.code)
    assert after.state == "reopened" and after.feedback == "unsat"
    history = await event_kinds(svc.db, ticket.id)
    assert history[-3:] == ["feedback", "reopened", "feedback_comment"]
    # The station works it again and can resolve it a second time.
    mark = await press(api, 4101, f"w:done:{ticket.id}")
    await said(api, 4101, "请选择处理结果", after=mark)


async def test_not_satisfied_in_the_middle_of_a_new_report_does_not_take_its_answer(
    svc: BotService, clock: FakeClock
) -> None:
    """No comment is asked for then: the next text is the new report's story."""
    api = svc.api
    await enrol(svc, 4105, Scope("station", "township", JIEKOU))
    ticket = await signed_ticket(svc, 4105, 4005)
    await resolve(svc, 4105, ticket)
    await said(api, 4005, "满意吗")
    clock.advance(seconds=15)  # a person takes a moment between two reports
    citizen = Citizen(api, 4005)
    await citizen.report_until_story()
    mark = await press(api, 4005, f"f:{ticket.id}:unsat")
    sorry = await said(api, 4005, "很抱歉", after=mark)
    assert "回复" not in (sorry.text or "")
    await citizen.text("隔壁的孩子又一个人在家")  # the new report's story
    await said(api, 4005, "是否留下联系方式", after=mark)
    assert (await ticket_by_code(svc.db, ticket.code)).state == "reopened"
    assert "feedback_comment" not in await event_kinds(svc.db, ticket.id)


async def test_no_feedback_in_three_days_closes(svc: BotService, clock: FakeClock) -> None:
    await enrol(svc, 4102, Scope("station", "township", JIEKOU))
    ticket = await signed_ticket(svc, 4102, 4002)
    await resolve(svc, 4102, ticket)
    sweep = functools.partial(
        sweep_deadlines, db=svc.db, directory=svc.intake.directory, policy=DEFAULT_POLICY
    )
    clock.advance(days=3, seconds=-1)
    assert await sweep(clock=clock) == 0
    clock.advance(seconds=1)
    assert await sweep(clock=clock) == 1
    assert await sweep(clock=clock) == 0
    after = await ticket_by_code(svc.db, ticket.code)
    assert after.state == "closed" and after.feedback is None
    mark = await press(svc.api, 4002, f"f:{ticket.id}:unsat")  # too late: nothing reopens
    await svc.api.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    assert (await ticket_by_code(svc.db, ticket.code)).state == "closed"


async def test_return_then_redispatch_to_another_township(svc: BotService) -> None:
    api = svc.api
    await enrol(svc, 4103, Scope("station", "township", JIEKOU))
    await enrol(svc, 4104, Scope("station", "township", JIANGPU))
    await enrol(svc, 4203, Scope("supervisor", "county", CONGHUA))
    code = await Citizen(api, 4003).file_report_by_buttons()
    ticket = await ticket_by_code(svc.db, code)
    await said(api, 4103, code)
    mark = await press(api, 4103, f"w:ret:{ticket.id}")
    await said(api, 4103, "退单理由", after=mark)
    mark = await press(api, 4103, f"w:rr:{ticket.id}:other")
    await said(api, 4103, "请说明退单理由", after=mark)
    api.push_text(4103, "孩子住在江埔街道，不在本街道")
    await said(api, 4103, "已退单", after=mark)
    returned = await said(api, 4203, "孩子住在江埔街道")
    assert f"w:rd:{ticket.id}:0" in str(returned.params.get("reply_markup"))
    assert (await ticket_by_code(svc.db, code)).state == "returned"

    mark = await press(api, 4203, f"w:rd:{ticket.id}:0")
    picker = await said(api, 4203, "分派到哪个镇/街道", after=mark)
    assert f"w:rdt:{ticket.id}:{JIANGPU}" in str(picker.params.get("reply_markup"))
    mark = await press(api, 4203, f"w:rdt:{ticket.id}:{JIANGPU}")
    await said(api, 4203, "已分派到", after=mark)
    referral = await said(api, 4104, code)
    assert f"w:sign:{ticket.id}" in str(referral.params.get("reply_markup"))
    after = await ticket_by_code(svc.db, code)
    assert (after.state, after.station_code, after.owner_code) == ("dispatched", JIANGPU, JIANGPU)
    assert after.resolve_due_at == ticket.resolve_due_at  # the case's age keeps counting
    # The old station can no longer act on it; the new one can.
    mark = await press(api, 4103, f"w:sign:{ticket.id}")
    await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "无权" in str(c.params.get("text")),
        after=mark,
    )
    mark = await press(api, 4104, f"w:sign:{ticket.id}")
    await said(api, 4104, "您已签收", after=mark)
    assert (await event_kinds(svc.db, ticket.id))[-4:] == [
        "returned",
        "redispatched",
        "refused",
        "signed",
    ]


async def test_rejected_return_goes_back_to_the_station(svc: BotService) -> None:
    api = svc.api
    await enrol(svc, 4105, Scope("station", "township", JIEKOU))
    await enrol(svc, 4205, Scope("supervisor", "county", CONGHUA))
    code = await Citizen(api, 4005).file_report_by_buttons()
    ticket = await ticket_by_code(svc.db, code)
    await said(api, 4105, code)
    await press(api, 4105, f"w:ret:{ticket.id}")
    mark = await press(api, 4105, f"w:rr:{ticket.id}:area")
    await said(api, 4105, "已退单", after=mark)
    await said(api, 4205, "不在本辖区")
    mark = await press(api, 4105, f"w:rj:{ticket.id}")  # a station cannot judge its own return
    await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "无权" in str(c.params.get("text")),
        after=mark,
    )
    mark = await press(api, 4205, f"w:rj:{ticket.id}")
    await said(api, 4205, "已驳回退单", after=mark)
    await said(api, 4105, "退单被驳回")
    after = await ticket_by_code(svc.db, code)
    assert (after.state, after.owner_level, after.owner_code) == ("dispatched", "township", JIEKOU)


async def test_county_queue_ticket_is_routed_by_the_supervisor(svc: BotService) -> None:
    api = svc.api
    await enrol(svc, 4106, Scope("station", "township", JIEKOU))
    await enrol(svc, 4206, Scope("supervisor", "county", CONGHUA))
    citizen = Citizen(api, 4006)
    await citizen.text("/start")
    await citizen.press("mn", "report")
    await citizen.press("dg", "no")
    await citizen.press("rp", "other")
    await citizen.text("从化区")
    await citizen.press("pk", CONGHUA)
    await citizen.press("ag", "12-14")
    await citizen.press("sx", "f")
    await citizen.press("cn", "out_of_school")
    await citizen.press("cd")
    await citizen.text("邻居家孩子一直没去上学")
    await citizen.press("ct", "anon")
    await citizen.press("sm", "ok")
    code = await citizen.receipt_code()
    queue = await said(api, 4206, "待分派")
    ticket = await ticket_by_code(svc.db, code)
    assert ticket.state == "triage" and f"w:rd:{ticket.id}:0" in str(queue.params["reply_markup"])
    mark = await press(api, 4206, f"w:rdt:{ticket.id}:{JIEKOU}")
    await said(api, 4206, "已分派到", after=mark)
    await said(api, 4106, f"新转介 <code>{code}</code>")


async def test_station_cannot_decide_its_own_extension_or_type_into_anothers(
    svc: BotService, clock: FakeClock
) -> None:
    api = svc.api
    await enrol(svc, 4107, Scope("station", "township", JIEKOU))
    await enrol(svc, 4108, Scope("station", "township", JIANGPU))
    ticket = await signed_ticket(svc, 4107, 4007)
    mark = await press(api, 4107, f"w:exd:{ticket.id}:7")
    await said(api, 4107, "延期 7 天的理由", after=mark)
    api.push_text(4107, "/cancel")  # changed their mind
    await said(api, 4107, "已放弃", after=mark)
    api.push_text(4107, "这句话不该成为延期理由")
    await said(api, 4107, "护童之声", after=mark)  # plain text again: the citizen menu
    mark = await press(api, 4107, f"w:exd:{ticket.id}:7")
    api.push_text(4107, "等待检查结果")
    await said(api, 4107, "延期申请已提交", after=mark)
    for chat, data in ((4107, f"w:exa:{ticket.id}"), (4108, f"w:note:{ticket.id}")):
        mark = await press(api, chat, data)
        await api.wait_for(
            lambda c: c.method == "answerCallbackQuery" and "无权" in str(c.params.get("text")),
            after=mark,
        )
    after = await ticket_by_code(svc.db, ticket.code)
    assert after.pending_extension_days == 7
    assert after.resolve_due_at == ticket.resolve_due_at
    history = await event_kinds(svc.db, ticket.id)
    assert history.count("extension_requested") == 1 and history.count("refused") == 2
    assert "extension_approved" not in history


async def test_a_forged_button_for_an_unknown_ticket_changes_nothing(svc: BotService) -> None:
    api = svc.api
    await enrol(svc, 4109, Scope("station", "township", JIEKOU))
    # "²" passes str.isdigit but not int(); a 12-digit id overflows PostgreSQL's integer.
    forged = ("w:sign:999999", "w:sign:abc", "w:", "w:zz:1", "f:999999:sat", "f:x")
    crafted = ("w:sign:²", "w:sign:999999999999", "w:det:99999999999999999999", "f:²:sat")
    crafted += ("f:999999999999:sat",)
    for data in (*forged, *crafted, "²:lg:en", "99999999999999999999:menu:report"):
        mark = await press(api, 4109, data)
        await api.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    assert await _count_tickets(svc.db) == 0


async def _count_tickets(db: Database) -> int:
    async with db.unit() as session:
        return len((await session.exec(select(Ticket))).all())
