"""Groups through the whole bot (fake Bot API): case data only in the station's own group,
a group the bot is removed from is unbound, a cancelled invitation is refused."""

from __future__ import annotations

from typing import Any

from bot_api import FakeBotAPI
from citizen import Citizen
from sqlmodel import col, select
from telegram import Update

from flows.clock import system_clock
from flows.events import BotMembership
from flows.staff import Scope, cancel_invite, issue_invite
from handlers.telegram.convert import to_incoming
from storage.db import Database
from storage.models import InboxUpdate, StaffMember, StationGroup

JIEKOU, JIANGPU = "440117001000", "440117002000"
STORY = "孩子一个人在家两天了，没有大人照看。"  # Citizen.file_report_by_buttons
MEMBER = 7501
RESTRICTED_PERMISSIONS = (
    "change_info",
    "invite_users",
    "pin_messages",
    "send_messages",
    "send_polls",
    "send_other_messages",
    "add_web_page_previews",
    "manage_topics",
    "send_audios",
    "send_documents",
    "send_photos",
    "send_videos",
    "send_video_notes",
    "send_voice_notes",
    "edit_tag",
    "react_to_messages",
)


async def _code(db: Database, scope: Scope, kind: str = "member") -> str:
    async with db.unit() as session:
        return await issue_invite(session=session, scope=scope, kind=kind, now=system_clock())


async def _say(api: FakeBotAPI, chat: int, text: str, needle: str, user: int = MEMBER) -> str:
    mark = len(api.calls)
    api.push_text(chat, text, user_id=user)
    call = await api.wait_for(lambda c: needle in (c.text or ""), after=mark, chat_id=chat)
    return call.text or ""


async def _setup(service: Any) -> str:
    """A 街口 member, 街口's group -7510, 江埔's group -7520, and a ticket for 街口."""
    api, db = service.api, service.db
    await _say(api, MEMBER, f"/join {await _code(db, Scope('station', 'township', JIEKOU))}", "已")
    for group, station in ((-7510, JIEKOU), (-7520, JIANGPU)):
        code = await _code(db, Scope("station", "township", station), kind="group")
        await _say(api, group, f"/join {code}", "本群已绑定")
    return await Citizen(api, 7590).file_report_by_buttons()


async def test_ticket_and_details_only_in_the_stations_own_group(service: Any) -> None:
    api = service.api
    code = await _setup(service)
    referral = await api.wait_for(
        lambda c: code in (c.text or "") and "w:sign:" in str(c.params.get("reply_markup")),
        chat_id=-7510,
    )
    assert referral.message_id is not None
    shown = await _say(api, -7510, f"/ticket {code}", "工单")
    assert STORY in shown
    for group in (-7520, -7530):  # another station's group; a group never bound
        said = await _say(api, group, f"/ticket {code}", "这里不显示工单内容")
        assert STORY not in said and code not in said
        said = await _say(api, group, "/mytickets", "这里不显示工单内容")
        assert code not in said
    ticket_id = referral.buttons()[-1][1] or ""  # the 详情 button of the referral
    assert ticket_id.startswith("w:det:")
    mark = len(api.calls)
    api.push_callback(-7530, ticket_id, message_id=referral.message_id, user_id=MEMBER)
    notice = await api.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    assert "这里不显示工单内容" in str(notice.params.get("text"))
    assert [c for c in api.calls_for(-7530, "sendMessage") if STORY in (c.text or "")] == []


async def test_removed_from_a_group_unbinds_it_and_being_added_does_not_bind(
    service: Any,
) -> None:
    api, db = service.api, service.db
    await _setup(service)
    assert "未办结工单" in await _say(api, -7510, "/mytickets", "未办结工单")

    removed = api.push_bot_membership(-7510, "left")
    kicked = api.push_bot_membership(-7520, "kicked")
    added = api.push_bot_membership(-7510, "member")  # added back: nothing until a /join
    # One chat's updates are handled in order: this answer comes after the three above.
    said = await _say(api, -7510, "/mytickets", "这里不显示工单内容")
    assert "未办结工单" not in said
    await _say(api, -7520, "/mytickets", "这里不显示工单内容")

    async with db.unit() as session:
        groups = (await session.exec(select(StationGroup))).all()
        inbox = (
            await session.exec(
                select(InboxUpdate).where(col(InboxUpdate.update_id).in_((removed, kicked, added)))
            )
        ).all()
    assert sorted((g.chat_id, g.active, g.unbound_at is not None) for g in groups) == [
        ("-7510", False, True),
        ("-7520", False, True),
    ]
    assert sorted(row.status for row in inbox) == ["done", "done", "done"]  # inbox first

    # Referrals no longer go to either group; the member still gets them.
    code = await Citizen(api, 7591).file_report_by_buttons()
    await api.wait_for(lambda c: code in (c.text or ""), chat_id=MEMBER)
    await service.sender.run_once()
    for group in (-7510, -7520):
        assert [c for c in api.calls_for(group, "sendMessage") if code in (c.text or "")] == []


async def test_a_cancelled_invitation_is_refused_with_its_own_text(service: Any) -> None:
    api, db = service.api, service.db
    member_code = await _code(db, Scope("station", "township", JIEKOU))
    group_code = await _code(db, Scope("station", "township", JIEKOU), kind="group")
    async with db.unit() as session:
        for code in (member_code, group_code):
            await cancel_invite(session=session, code=code, now=system_clock())
    await _say(api, 7601, f"/join {member_code}", "已被管理员取消", user=7601)
    await _say(api, -7602, f"/join {group_code}", "已被管理员取消", user=7601)
    async with db.unit() as session:
        assert (await session.exec(select(StationGroup))).all() == []
        assert (await session.exec(select(StaffMember))).all() == []


def test_bot_membership_event_from_each_status() -> None:
    """left and kicked are removals, as is being restricted out of the group; member is not."""
    bot = {"id": 1, "is_bot": True, "first_name": "bot"}
    restricted = {
        "user": bot,
        "status": "restricted",
        "until_date": 0,
        **{f"can_{p}": False for p in RESTRICTED_PERMISSIONS},
    }
    cases = [
        ({"user": bot, "status": "left"}, False),
        ({"user": bot, "status": "kicked", "until_date": 0}, False),
        ({**restricted, "is_member": False}, False),
        ({**restricted, "is_member": True}, True),
        ({"user": bot, "status": "member"}, True),
    ]
    for new, present in cases:
        update = Update.de_json(
            {
                "update_id": 1,
                "my_chat_member": {
                    "chat": {"id": -5, "type": "supergroup", "title": "g"},
                    "from": {"id": 9, "is_bot": False, "first_name": "admin"},
                    "date": 0,
                    "old_chat_member": {"user": bot, "status": "member"},
                    "new_chat_member": new,
                },
            },
            None,
        )
        incoming = to_incoming(update)
        assert incoming is not None
        assert (incoming.chat_id, incoming.in_group, incoming.user_id) == (-5, True, 9)
        assert incoming.event == BotMembership(present), new["status"]
