"""A child in danger now: the report is filed and dispatched as P0 the moment its place is
known, the reporter gets the code at once, and every later answer reaches the station."""

from __future__ import annotations

from typing import Any

from bot_api import FakeBotAPI
from citizen import Citizen
from factories import event_kinds, join_by_bot
from sqlmodel import col, select

from flows.clock import system_clock
from flows.staff import Scope
from storage.db import Database
from storage.models import Ticket, TicketContact

JIEKOU = "440117001000"
WORKER, REPORTER = 5101, 5201


async def enrol(service: Any, chat_id: int) -> None:
    await join_by_bot(
        service,
        chat=chat_id,
        scope=Scope("station", "township", JIEKOU),
        now=system_clock(),
        answer="已加入",
    )


async def tickets(db: Database) -> list[Ticket]:
    async with db.unit() as session:
        query = select(Ticket).where(col(Ticket.reporter_chat_id) == str(REPORTER))
        return list((await session.exec(query)).all())


async def station_hears(api: FakeBotAPI, needle: str, after: int) -> str:
    call = await api.wait_for(
        lambda c: c.method == "sendMessage" and needle in (c.text or ""),
        after=after,
        chat_id=WORKER,
    )
    return call.text or ""


async def test_a_child_in_danger_is_filed_at_the_place_and_the_rest_follows(
    service: Any, db: Database
) -> None:
    api: FakeBotAPI = service.api
    await enrol(service, WORKER)
    citizen = Citizen(api, REPORTER)
    await citizen.text("/start")
    await citizen.press("mn", "report")
    call = await citizen.press("dg", "yes")
    assert "110" in (call.text or "") and "12355" in (call.text or "")
    await citizen.press("rp", "neighbour")
    await citizen.press("pc", "440100000000")
    await citizen.press("pn", "440117000000")
    mark = len(api.calls)
    await citizen.press("pt", JIEKOU)
    assert citizen.interactions == 7

    # Filed and dispatched now: the code to the reporter, the referral to the station.
    code = await citizen.receipt_code()
    receipt = (await citizen.wait_text("最紧急")).text or ""
    assert "已经发送" in receipt and "还没有发送" in receipt
    [ticket] = await tickets(db)
    assert (ticket.code, ticket.priority, ticket.state) == (code, "P0", "dispatched")
    assert ticket.story == "" and ticket.concerns == [] and ticket.child_age == "unknown"
    referral = await station_hears(api, f"新转介 <code>{code}</code>", mark)
    assert "P0" in referral and "待补充" in referral

    # Each answer goes onto the ticket and to the station.
    mark = len(api.calls)
    await citizen.press("ag", "6-11")
    assert "年龄：6–11 岁" in await station_hears(api, "补充信息", mark)
    await citizen.press("sx", "m")
    await citizen.press("cn", "physical")
    await citizen.press("cd")
    mark = len(api.calls)
    await citizen.text("隔壁的孩子被打得流血，大人还在打。")
    assert "被打得流血" in await station_hears(api, "经过", mark)
    await citizen.press("ct", "phone")
    await citizen.text("13800138000")
    mark = len(api.calls)
    await citizen.press("cs", "yes")
    contact_note = await station_hears(api, "联系方式", mark)
    assert "留下了电话" in contact_note and "13800138000" not in contact_note
    await citizen.wait_text("都已转给工作站")

    [ticket] = await tickets(db)
    assert ticket.child_age == "6-11" and ticket.child_sex == "m"
    assert ticket.concerns == ["physical"] and "流血" in ticket.story
    assert not ticket.anonymous and ticket.priority == "P0"
    async with db.unit() as session:
        contact = await session.get(TicketContact, ticket.id)
    assert contact is not None and contact.phone == "13800138000" and contact.callback_consent
    assert (await event_kinds(db, ticket.id)).count("addition") == 5


async def test_a_reporter_who_stops_after_the_place_has_filed_the_report(
    service: Any, db: Database
) -> None:
    citizen = Citizen(service.api, REPORTER)
    await citizen.text("/start")
    await citizen.press("mn", "report")
    await citizen.press("dg", "yes")
    await citizen.press("rp", "relative")
    await citizen.text("从化区街口街道")
    await citizen.press("pk", JIEKOU)
    code = await citizen.receipt_code()
    await citizen.wait_text("几岁")  # the first addition is asked
    await citizen.text("/cancel")
    stopped = (await citizen.wait_text("不再补充")).text or ""
    assert code in stopped and "已经转交" in stopped
    [ticket] = await tickets(db)
    assert ticket.code == code and ticket.priority == "P0" and ticket.state == "dispatched"
    status = (await citizen.text(f"/status {code}")).text or ""
    assert code in status
