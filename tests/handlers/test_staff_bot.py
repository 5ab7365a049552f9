"""Staff in the bot against the fake Bot API: enrolment, referral, sign-for, refusals."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import factories
from bot_api import Call, FakeBotAPI
from citizen import Citizen
from factories import event_kinds, events_of, ticket_by_code
from sqlmodel import col, select

from flows.clock import system_clock
from flows.staff import Scope
from storage.db import Database
from storage.models import OutboxMessage, StaffMember, StationGroup

JIEKOU = "440117001000"
JIANGPU = "440117002000"
CONGHUA = "440117000000"


async def invite(db: Database, scope: Scope, *, kind: str = "member", hours: float = 72) -> str:
    return await factories.invite(
        db, scope=scope, kind=kind, now=system_clock(), ttl=timedelta(hours=hours)
    )


async def enrol(service: Any, chat_id: int, scope: Scope) -> None:
    await factories.join_by_bot(service, chat=chat_id, scope=scope, now=system_clock())


async def bind_group(service: Any, group_id: int) -> None:
    code = await invite(service.db, Scope("station", "township", JIEKOU), kind="group")
    mark = len(service.api.calls)
    service.api.push_text(group_id, f"/join {code}")
    await service.api.wait_for(lambda c: "本群已绑定" in (c.text or ""), after=mark)


async def file_with_phone(api: FakeBotAPI, chat_id: int) -> str:
    citizen = Citizen(api, chat_id)
    await citizen.text("/start")
    await citizen.press("mn", "report")
    await citizen.press("dg", "no")
    await citizen.press("rp", "neighbour")
    await citizen.text("从化区街口街道")
    await citizen.press("pk", JIEKOU)
    await citizen.press("ag", "3-5")
    await citizen.press("sx", "m")
    await citizen.press("cn", "illness")
    await citizen.press("cd")
    await citizen.text("孩子发烧三天，家里没人带他看病。")
    await citizen.press("ct", "phone")
    await citizen.text("13912345678")
    await citizen.press("cs", "yes")
    await citizen.press("sm", "ok")
    return await citizen.receipt_code()


def referral_to(api: FakeBotAPI, chat_id: int, code: str) -> Call | None:
    for call in api.calls_for(chat_id, "sendMessage"):
        if code in (call.text or "") and any(
            d and d.startswith("w:sign:") for _, d in call.buttons()
        ):
            return call
    return None


async def wait_referral(api: FakeBotAPI, chat_id: int, code: str) -> Call:
    return await api.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and code in (c.text or "")
            and "w:sign:" in str(c.params.get("reply_markup"))
        ),
        chat_id=chat_id,
    )


async def test_join_binds_role_and_scope_and_refuses_bad_codes(service: Any) -> None:
    api, db = service.api, service.db
    code = await invite(db, Scope("station", "township", JIEKOU))
    api.push_text(2101, f"/join {code}")
    ok = await api.wait_for(lambda c: "已加入" in (c.text or ""), chat_id=2101)
    assert "从化区街口街道" in (ok.text or "")
    async with db.unit() as session:
        member = (
            await session.exec(select(StaffMember).where(col(StaffMember.user_id) == "2101"))
        ).one()
    assert (member.role, member.scope_level, member.scope_code) == ("station", "township", JIEKOU)

    api.push_text(2102, f"/join {code}")  # the same code again, by someone else
    await api.wait_for(lambda c: "已经用过" in (c.text or ""), chat_id=2102)
    expired = await invite(db, Scope("station", "township", JIEKOU), hours=-1)
    api.push_text(2102, f"/join {expired}")
    await api.wait_for(lambda c: "已过期" in (c.text or ""), chat_id=2102)
    api.push_text(2102, "/join NOPE-NOPE-NOPE")
    await api.wait_for(lambda c: "邀请码无效" in (c.text or ""), chat_id=2102)
    api.push_text(2102, "/join")
    await api.wait_for(lambda c: "用法" in (c.text or ""), chat_id=2102)
    another = await invite(db, Scope("station", "township", JIANGPU))
    api.push_text(2101, f"/join {another}")  # already enrolled
    await api.wait_for(lambda c: "/leave" in (c.text or ""), chat_id=2101)
    api.push_text(2102, "/mytickets")  # not enrolled
    await api.wait_for(lambda c: "仅限" in (c.text or ""), chat_id=2102)
    async with db.unit() as session:
        members = (await session.exec(select(StaffMember))).all()
    assert [m.user_id for m in members] == ["2101"]


async def test_referral_reaches_station_members_and_group_only(service: Any) -> None:
    api = service.api
    await enrol(service, 2201, Scope("station", "township", JIEKOU))
    await enrol(service, 2202, Scope("station", "township", JIEKOU))
    await enrol(service, 2203, Scope("station", "township", JIANGPU))
    await bind_group(service, -2299)
    code = await file_with_phone(api, 2290)

    for chat in (2201, 2202, -2299):
        call = await wait_referral(api, chat, code)
        text = call.text or ""
        assert "🟠 P1 较急" in text and "从化区街口街道" in text
        assert "生病或得不到医治" in text and "3–5 岁" in text and "男孩" in text
        assert "孩子发烧三天" in text and "签收时限" in text
        assert "13912345678" not in text  # never the reporter's contact before sign-for
    await service.sender.run_once()
    assert referral_to(api, 2203, code) is None
    async with service.db.unit() as session:
        groups = (await session.exec(select(StationGroup))).all()
    assert [(g.station_code, g.chat_id) for g in groups] == [(JIEKOU, "-2299")]


async def test_two_staff_press_sign_at_once_one_wins(service: Any) -> None:
    api, db = service.api, service.db
    await enrol(service, 2301, Scope("station", "township", JIEKOU))
    await enrol(service, 2302, Scope("station", "township", JIEKOU))
    await bind_group(service, -2399)
    code = await file_with_phone(api, 2390)
    referrals = {chat: await wait_referral(api, chat, code) for chat in (2301, 2302, -2399)}
    ticket = await ticket_by_code(db, code)
    data = f"w:sign:{ticket.id}"

    mark = len(api.calls)
    for chat in (2301, 2302):  # the same moment: both queued before the bot looks
        message_id = referrals[chat].message_id
        assert message_id is not None
        api.push_callback(chat, data, message_id=message_id)
    first = await api.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    second = await api.wait_for(lambda c: c.method == "answerCallbackQuery", after=first.index + 1)
    notices = sorted(str(a.params.get("text")) for a in (first, second))
    assert notices[0] == "签收" and notices[1].startswith("这个工单已被")

    ticket = await ticket_by_code(db, code)
    assert ticket.state == "acknowledged" and ticket.assignee_id is not None
    signed = [e for e in await events_of(db, ticket.id or 0) if e.kind == "signed"]
    assert len(signed) == 1

    # Every referral message is edited exactly once, to say who signed.
    for chat, referral in referrals.items():
        edit = await api.wait_for(
            lambda c, r=referral: (
                c.method == "editMessageText" and c.params.get("message_id") == r.message_id
            ),
            chat_id=chat,
        )
        assert "已由" in (edit.text or "") and "w:sign" not in str(edit.params.get("reply_markup"))
    reporter = await api.wait_for(lambda c: "已由" in (c.text or ""), chat_id=2390)
    assert code in (reporter.text or "") and "街口街道" in (reporter.text or "")
    await service.sender.run_once()
    for chat, referral in referrals.items():
        edits = [
            c
            for c in api.calls_for(chat, "editMessageText")
            if c.params.get("message_id") == referral.message_id
        ]
        assert len(edits) == 1
    async with db.unit() as session:
        rows = (
            await session.exec(
                select(OutboxMessage).where(col(OutboxMessage.kind) == "referral_edit")
            )
        ).all()
    assert len(rows) == 3


async def test_forwarded_button_and_wrong_scope_are_refused(service: Any) -> None:
    api, db = service.api, service.db
    await enrol(service, 2401, Scope("station", "township", JIEKOU))
    await enrol(service, 2402, Scope("station", "township", JIANGPU))
    await enrol(service, 2403, Scope("supervisor", "county", CONGHUA))
    code = await file_with_phone(api, 2490)
    await wait_referral(api, 2401, code)
    ticket = await ticket_by_code(db, code)

    # A station member of 江埔 presses 签收 on a forwarded referral; a citizen forges one.
    for chat in (2402, 2499):
        mark = len(api.calls)
        api.push_callback(chat, f"w:sign:{ticket.id}", message_id=1)
        refused = await api.wait_for(
            lambda c: c.method == "answerCallbackQuery" and "无权" in str(c.params.get("text")),
            after=mark,
        )
        assert refused is not None
    api.push_text(2402, f"/ticket {code}")  # typing the code does not help either
    await api.wait_for(lambda c: "没有找到" in (c.text or ""), chat_id=2402)
    after = await ticket_by_code(db, code)
    assert (after.state, after.assignee_id, after.signed_at) == ("dispatched", None, None)
    refusals = [e for e in await events_of(db, ticket.id or 0) if e.kind == "refused"]
    # One trace per person within the hour: 2402's press and typed code are one event.
    assert len(refusals) == 2
    assert "telegram:2499" in {e.actor for e in refusals}
    assert [e.note for e in refusals] == [f"w:sign:{ticket.id}"] * 2

    # The county supervisor may see it, with the reporter's phone, and that view is recorded.
    api.push_text(2403, f"/ticket {code}")
    detail = await api.wait_for(lambda c: "13912345678" in (c.text or ""), chat_id=2403)
    assert code in (detail.text or "")
    # The station sees the details but not the phone before it signs for the ticket.
    api.push_text(2401, f"/ticket {code}")
    before = await api.wait_for(lambda c: "签收后可见" in (c.text or ""), chat_id=2401)
    assert "13912345678" not in (before.text or "")
    kinds = await event_kinds(db, ticket.id)
    assert kinds.count("contact_viewed") == 1


async def test_leave_stops_referrals(service: Any) -> None:
    api = service.api
    await enrol(service, 2501, Scope("station", "township", JIEKOU))
    api.push_text(2501, "/leave")
    await api.wait_for(lambda c: "已退出" in (c.text or ""), chat_id=2501)
    code = await file_with_phone(api, 2590)
    ticket = await ticket_by_code(service.db, code)
    # The running sender expands the referral (a second run_once may find it locked on
    # PostgreSQL and skip it): wait, bounded, for its escalation.
    for _ in range(100):
        await service.sender.run_once()
        kinds = await event_kinds(service.db, ticket.id)
        if "not_notified" in kinds:
            break
        await asyncio.sleep(0.1)
    assert "not_notified" in kinds
    assert referral_to(api, 2501, code) is None


async def test_my_tickets_lists_open_tickets_of_the_station(service: Any) -> None:
    api = service.api
    await enrol(service, 2601, Scope("station", "township", JIEKOU))
    code = await file_with_phone(api, 2690)
    mark = len(api.calls)
    api.push_text(2601, "/mytickets")
    listing = await api.wait_for(lambda c: "未办结工单" in (c.text or ""), after=mark, chat_id=2601)
    assert code in (listing.text or "")


async def test_in_a_group_the_bot_answers_staff_commands_of_staff_only(service: Any) -> None:
    """Anyone in a group may type commands: the bot answers enrolled staff's staff commands
    there, and nothing else, so nobody can make it flood a station's group."""
    api = service.api
    await enrol(service, 2701, Scope("station", "township", JIEKOU))
    await bind_group(service, -2799)
    mark = len(api.calls)
    api.push_text(-2799, "/start")
    api.push_text(-2799, "/help")
    api.push_text(-2799, "/mytickets")  # from user -2799's sender: not enrolled
    api.push_text(-2799, "/mytickets", user_id=2701)  # a member: answered, and comes last
    await api.wait_for(lambda c: "工单" in (c.text or ""), after=mark, chat_id=-2799)
    replies = [c.text for c in api.calls_for(-2799, "sendMessage") if c.index >= mark]
    assert len(replies) == 1 and "仅限" not in (replies[0] or "")


async def test_one_member_flooding_a_station_group_does_not_silence_its_staff(
    service: Any,
) -> None:
    """Flood control counts private chats: in a shared group, one person's flood must not
    drop a station member's 签收 (the bot answers only staff there anyway)."""
    api, db = service.api, service.db
    await enrol(service, 2801, Scope("station", "township", JIEKOU))
    await bind_group(service, -2899)
    code = await file_with_phone(api, 2890)
    referral = await wait_referral(api, -2899, code)
    for _ in range(40):
        api.push_text(-2899, "/start@hutong_test_bot", user_id=2888)  # not staff
    ticket = await ticket_by_code(db, code)
    api.push_callback(
        -2899, f"w:sign:{ticket.id}", message_id=referral.message_id or 0, user_id=2801
    )
    for _ in range(100):  # bounded: 10 s
        if (await ticket_by_code(db, code)).state == "acknowledged":
            break
        await asyncio.sleep(0.1)
    assert (await ticket_by_code(db, code)).state == "acknowledged"
    assert not [c for c in api.calls_for(-2899, "sendMessage") if "太快" in (c.text or "")]


async def test_a_hotline_operator_joins_by_the_bot_and_gets_no_referral(service: Any) -> None:
    """An operator for 广州市 joins with /join like staff; a report at a station in their city
    reaches the station's member, not them; /mytickets points them to the web console."""
    api, db = service.api, service.db
    await enrol(service, 2701, Scope("station", "township", JIEKOU))
    code = await invite(db, Scope("operator", "city", "440100000000"))
    mark = len(api.calls)
    api.push_text(2702, f"/join {code}")
    ok = await api.wait_for(lambda c: "热线接线员" in (c.text or ""), after=mark, chat_id=2702)
    assert "广州市" in (ok.text or "")
    async with db.unit() as session:
        member = (
            await session.exec(select(StaffMember).where(col(StaffMember.user_id) == "2702"))
        ).one()
    assert (member.role, member.scope_level) == ("operator", "city")

    ticket_code = await file_with_phone(api, 2790)
    await wait_referral(api, 2701, ticket_code)
    mark = len(api.calls)
    api.push_text(2702, "/mytickets")
    answer = await api.wait_for(lambda c: "/console" in (c.text or ""), after=mark, chat_id=2702)
    assert ticket_code not in (answer.text or "")
    assert referral_to(api, 2702, ticket_code) is None
    assert not [c for c in api.calls_for(2702, "sendMessage") if ticket_code in (c.text or "")]
