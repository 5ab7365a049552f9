"""The bot's command lists in Telegram, /help per role and joining by an invitation's link,
against the fake Bot API: the lists go through the outbox (retried while Telegram fails
them), and what each person sees in the menu is what they can use."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import factories
from bot_api import Call, FakeBotAPI
from harness import BotService, FakeClock
from sqlmodel import col, select

from flows import commands
from flows.clock import system_clock
from flows.commands import CITIZEN, DELETE, GROUP, SET, for_role, help_text
from flows.staff import Scope, bound_station, revoke, unbind_group
from flows.texts import t
from storage.db import Database
from storage.models import OutboxMessage, StaffMember

JIEKOU = "440117001000"
CONGHUA = "440117000000"
GUANGZHOU = "440100000000"
STATION = Scope("station", "township", JIEKOU)


async def invite(db: Database, scope: Scope, *, kind: str = "member", hours: float = 72) -> str:
    return await factories.invite(
        db, scope=scope, kind=kind, now=system_clock(), ttl=timedelta(hours=hours)
    )


def names(of: list[str] | list[tuple[str, str]] | None) -> list[str]:
    return [x if isinstance(x, str) else x[0] for x in of or []]


async def reply(api: FakeBotAPI, chat: int, text: str, *, user_id: int | None = None) -> Call:
    """The bot's next message in ``chat`` after ``text`` is pushed there."""
    mark = len(api.calls)
    api.push_text(chat, text, user_id=user_id)
    return await api.wait_for(lambda c: c.method == "sendMessage", after=mark, chat_id=chat)


async def listed(api: FakeBotAPI, chat: int, method: str, *, after: int = 0) -> Call:
    return await api.wait_for(
        lambda c: c.method == method and c.error is None, after=after, chat_id=chat
    )


async def test_start_publishes_the_citizens_list_per_language_and_clears_the_default(
    service: BotService,
) -> None:
    api = service.api
    await service.side.publish_commands()
    expected = [
        ("setMyCommands", "all_private_chats", None),
        ("setMyCommands", "all_private_chats", "en"),
        ("deleteMyCommands", "default", None),
        ("deleteMyCommands", "default", "en"),
    ]
    for method, scope, language in expected:
        await api.wait_for(
            lambda c, m=method, s=scope, lang=language: (
                (c.method, c.params.get("scope", {}).get("type"), c.params.get("language_code"))
                == (m, s, lang)
            )
        )
    assert names(api.commands_in("all_private_chats")) == [c.name for c in CITIZEN]
    assert api.commands_in("all_private_chats") == [
        (c.name, t("zh", f"cmd.{c.name}")) for c in CITIZEN
    ]
    assert api.commands_in("all_private_chats", language_code="en") == [
        (c.name, t("en", f"cmd.{c.name}")) for c in CITIZEN
    ]
    scopes = [
        (c.method, c.params.get("scope", {}).get("type"), c.params.get("language_code"))
        for c in api.calls
        if c.method.endswith("MyCommands")
    ]
    assert sorted(scopes, key=str) == sorted(expected, key=str)  # each once
    # A citizen sees them in a private chat, in the app's language; a group sees none.
    assert api.visible_commands(4101, language_code="en") == [c.name for c in CITIZEN]
    assert api.visible_commands(-4101, language_code="zh-hans") == []
    mark = len(api.calls)
    await service.side.publish_commands()  # the next start: nothing has changed
    assert not [c for c in api.calls[mark:] if c.method.endswith("MyCommands")]


async def test_joining_shows_the_role_s_commands_and_leaving_takes_them_away(
    service: BotService,
) -> None:
    api, db = service.api, service.db
    await service.side.publish_commands()
    code = await invite(db, Scope("supervisor", "county", CONGHUA))
    mark = len(api.calls)
    api.push_text(4201, f"/join {code}")
    set_call = await listed(api, 4201, "setMyCommands", after=mark)
    assert set_call.params["scope"] == {"type": "chat", "chat_id": 4201}
    assert "language_code" not in set_call.params  # the chat's own list, whatever the app
    assert api.visible_commands(4201, language_code="en") == [
        c.name for c in for_role("supervisor")
    ]
    assert api.commands_in("chat", chat_id=4201) == [
        (c.name, t("zh", f"cmd.{c.name}")) for c in for_role("supervisor")
    ]
    mark = len(api.calls)
    api.push_text(4201, "/leave")
    gone = await listed(api, 4201, "deleteMyCommands", after=mark)
    assert gone.params["scope"] == {"type": "chat", "chat_id": 4201}
    assert api.commands_in("chat", chat_id=4201) is None
    assert api.visible_commands(4201) == [c.name for c in CITIZEN]  # a citizen's again


async def test_a_member_revoked_at_the_console_loses_the_list(service: BotService) -> None:
    api, db = service.api, service.db
    api.language_code = "en"  # an English-speaking member: the list in English
    await factories.join_by_bot(
        service, chat=4301, scope=STATION, now=system_clock(), answer="You joined"
    )
    await listed(api, 4301, "setMyCommands")
    assert api.commands_in("chat", chat_id=4301) == [
        (c.name, t("en", f"cmd.{c.name}")) for c in for_role("station")
    ]
    async with db.unit() as session:
        member = (
            await session.exec(select(StaffMember).where(col(StaffMember.user_id) == "4301"))
        ).one()
        assert member.id is not None
        await revoke(session=session, member_id=member.id, now=system_clock())
    service.sender.wake()  # as the running service would find it within a second
    await listed(api, 4301, "deleteMyCommands")
    assert api.commands_in("chat", chat_id=4301) is None


async def test_a_bound_group_shows_what_works_there_until_it_is_unbound(
    service: BotService,
) -> None:
    api, db = service.api, service.db
    code = await invite(db, STATION, kind="group")
    await reply(api, -4401, f"/join {code}", user_id=4401)
    await listed(api, -4401, "setMyCommands")
    assert api.visible_commands(-4401, user_id=4401) == [c.name for c in GROUP]
    # Unbound at the console: the list goes.
    async with db.unit() as session:
        assert await unbind_group(session=session, chat_id="-4401", now=system_clock()) == 1
    service.sender.wake()
    await listed(api, -4401, "deleteMyCommands")
    assert api.visible_commands(-4401, user_id=4401) == []
    # Bound again, then the bot is removed: the binding ends with no call Telegram would
    # refuse (the bot is not in the group any more).
    code = await invite(db, STATION, kind="group")
    mark = len(api.calls)
    await reply(api, -4401, f"/join {code}", user_id=4401)
    await listed(api, -4401, "setMyCommands", after=mark)
    api.push_bot_membership(-4401, "left")
    await until(lambda: bound(db, "-4401"), False)
    async with db.unit() as session:
        lists = (
            await session.exec(
                select(OutboxMessage).where(
                    col(OutboxMessage.kind) == commands.KIND, col(OutboxMessage.target) == "-4401"
                )
            )
        ).all()
    assert [row.payload["method"] for row in lists] == [SET, DELETE, SET]


async def test_telegram_failing_the_list_is_retried_and_the_join_still_succeeds(
    svc: BotService, clock: FakeClock
) -> None:
    api, db = svc.api, svc.db
    api.fail_next("setMyCommands", chat_id=4501, status=500, times=2)
    code = await invite(db, STATION)
    joined = await reply(api, 4501, f"/join {code}")
    assert "已加入" in (joined.text or "")  # not held up by the failing list
    async with db.unit() as session:
        member = (
            await session.exec(select(StaffMember).where(col(StaffMember.user_id) == "4501"))
        ).one()
    assert member.active
    for attempts, backoff in ((1, 1), (2, 2)):  # the sender's backoff: 1 s, then 2 s
        await until(lambda: list_state(db), ("pending", attempts))  # waiting its next try
        clock.advance(seconds=backoff)
        svc.sender.wake()
    await listed(api, 4501, "setMyCommands")
    assert len([c for c in api.calls_for(4501, "setMyCommands") if c.error == 500]) == 2
    assert api.visible_commands(4501) == [c.name for c in for_role("station")]
    await until(lambda: list_state(db), ("sent", 3))  # nothing lost: delivered on the third


async def until(check: Any, wanted: object) -> None:
    """Wait (bounded) until ``await check()`` is ``wanted``: what the service does in the
    background has happened."""
    for _ in range(200):
        if await check() == wanted:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"still not {wanted!r}")


async def bound(db: Database, chat: str) -> bool:
    async with db.unit() as session:
        return await bound_station(session, chat_id=chat) is not None


async def list_state(db: Database) -> tuple[str, int]:
    """The one command-list row's status and tries."""
    async with db.unit() as session:
        row = (
            await session.exec(
                select(OutboxMessage).where(col(OutboxMessage.kind) == commands.KIND)
            )
        ).one()
    return row.status, row.attempts


def _commands_of(text: str | None) -> list[str]:
    return re.findall(r"^/([a-z0-9_]+)", text or "", flags=re.MULTILINE)


async def test_help_shows_each_person_exactly_their_commands(service: BotService) -> None:
    api = service.api
    citizen = await reply(api, 4601, "/help")
    assert _commands_of(citizen.text) == [c.name for c in CITIZEN]
    for chat, scope, role in (
        (4602, STATION, "station"),
        (4603, Scope("supervisor", "county", CONGHUA), "supervisor"),
        (4604, Scope("operator", "city", GUANGZHOU), "operator"),
    ):
        await factories.join_by_bot(service, chat=chat, scope=scope, now=system_clock())
        shown = await reply(api, chat, "/help")
        assert shown.text == help_text("zh", role)
        assert _commands_of(shown.text) == [c.name for c in for_role(role)]
    # In the station's group: what works there, to its staff only.
    code = await invite(service.db, STATION, kind="group")
    await reply(api, -4605, f"/join {code}", user_id=4602)
    in_group = await reply(api, -4605, "/help", user_id=4602)
    assert _commands_of(in_group.text) == [c.name for c in GROUP]
    mark = len(api.calls)
    api.push_text(-4605, "/help", user_id=4699)  # not enrolled: no answer
    await reply(api, -4605, "/mytickets", user_id=4602)  # answered, and after it
    assert len([c for c in api.calls_for(-4605, "sendMessage") if c.index >= mark]) == 1


async def test_a_start_link_joins_exactly_as_join_does(service: BotService) -> None:
    api, db = service.api, service.db
    code = await invite(db, STATION)
    joined = await reply(api, 4701, f"/start join-{code}")
    assert joined.text == t("zh", "join.ok.station", scope="广州市从化区街口街道")
    await listed(api, 4701, "setMyCommands")
    # A used, an expired and an unknown code: the same answer by the link as by /join.
    expired = await invite(db, STATION, hours=-1)
    for bad, key in ((code, "join.used"), (expired, "join.expired"), ("NOPE-NOPE-NOPE", None)):
        by_link = await reply(api, 4702, f"/start join-{bad}")
        by_join = await reply(api, 4702, f"/join {bad}")
        assert by_link.text == by_join.text == t("zh", key or "join.unknown")
    assert (await reply(api, 4702, "/start join-")).text == t("zh", "join.usage")
    # A group's invitation by its link (?startgroup=join-CODE) binds the group.
    group_code = await invite(db, STATION, kind="group")
    bound = await reply(api, -4703, f"/start@{api.bot_username} join-{group_code}", user_id=4701)
    assert bound.text == t("zh", "join.ok.group", scope="广州市从化区街口街道")
