"""Black box: `hutong serve` as a real process against the fake Bot API on loopback,
killed with SIGKILL in the middle of a report and restarted."""

from __future__ import annotations

from bot_api import FakeBotAPI
from citizen import Citizen
from serve_process import Service
from sqlmodel import col, select

from storage.db import Database
from storage.models import Conversation, InboxUpdate, Ticket, TicketEvent


async def test_sigkill_mid_report_then_restart_finishes_without_repeating(
    service_env: Service, bot_api: FakeBotAPI, db: Database
) -> None:
    service = service_env
    await service.start(bot_api)
    citizen = Citizen(bot_api, 4242, timeout=30)
    await citizen.text("/start")
    await citizen.press("mn", "report")
    await citizen.press("dg", "no")
    await citizen.press("rp", "neighbour")
    await citizen.press("pc", "440100000000")
    await citizen.press("pn", "440117000000")

    await service.kill()
    # The next answer arrives while the service is down; Telegram keeps it.
    call, data = await citizen.find_button("pt", "440117001000")
    mark = len(bot_api.calls)
    assert call.message_id is not None
    citizen.interactions += 1
    bot_api.push_callback(4242, data, message_id=call.message_id)
    await service.start(bot_api)
    citizen.mark = mark
    await citizen.wait_text("几岁")  # resumed exactly where the person was

    await citizen.press("ag", "6-11")
    await citizen.press("sx", "f")
    await citizen.press("cn", "no_carer")
    await citizen.press("cd")
    await citizen.text("孩子一个人在家两天了，没有大人照看。")
    await citizen.press("ct", "anon")

    # The final confirm: pressed, then the same update redelivered, then pressed again.
    call, data = await citizen.find_button("sm", "ok")
    assert call.message_id is not None
    query = {
        "id": "confirm-1",
        "from": {"id": 4242, "is_bot": False, "first_name": "Ci"},
        "chat_instance": "4242",
        "data": data,
        "message": {
            "message_id": call.message_id,
            "date": 0,
            "chat": {"id": 4242, "type": "private"},
            "text": "summary",
        },
    }
    mark = len(bot_api.calls)
    update_id = bot_api.push_raw({"callback_query": query})
    citizen.interactions += 1
    citizen.mark = mark
    code = await citizen.receipt_code()
    bot_api.push_raw({"update_id": update_id, "callback_query": query})
    await citizen.press_data(data, message_id=call.message_id)
    again = await citizen.wait_text("已经提交")
    assert code in (again.text or "")
    assert citizen.interactions == 15  # 14 to file + the extra confirm; nothing repeated

    async with db.unit() as session:
        tickets = (
            await session.exec(select(Ticket).where(col(Ticket.reporter_chat_id) == "4242"))
        ).all()
        assert [t.code for t in tickets] == [code]
        ticket = tickets[0]
        assert ticket.station_code == "440117001000"
        assert ticket.child_age == "6-11" and ticket.concerns == ["no_carer"]
        events = (
            await session.exec(select(TicketEvent).where(col(TicketEvent.ticket_id) == ticket.id))
        ).all()
        assert [e.kind for e in events][:2] == ["submitted", "dispatched"]
        # Filed once; what follows is the system's: nobody is enrolled here, so the ticket
        # escalates at once, and the sweep may already have fired the county rung.
        assert all(e.actor == "system" for e in events[1:])
        assert "not_notified" in {e.kind for e in events[2:]}
        conv = (
            await session.exec(select(Conversation).where(col(Conversation.chat_id) == "4242"))
        ).one()
        assert conv.step == "menu" and conv.report_seq == 1
        inbox_rows = (
            await session.exec(select(InboxUpdate).where(col(InboxUpdate.chat_key) == "4242"))
        ).all()
        assert all(r.status == "done" for r in inbox_rows)
        assert len({r.update_id for r in inbox_rows}) == len(inbox_rows)
    # Every prompt was asked once: no question was repeated after the restart.
    prompts = [c.text for c in bot_api.calls_for(4242, "sendMessage") if "几岁" in (c.text or "")]
    assert len(prompts) == 1
