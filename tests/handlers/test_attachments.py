"""What a reporter attached reaches the station: its 📎 button in a private chat sends each
file again by the id Telegram gave it, and the viewing is in the ticket's history."""

from __future__ import annotations

import pytest
from bot_api import Call
from citizen import Citizen
from factories import events_of, join_by_bot, ticket_by_code
from harness import BotService, FakeClock
from sqlmodel import col, select

from flows.messages import Reply
from flows.outbox import reply_of, reply_payload
from flows.staff import Scope
from storage.db import Database
from storage.models import TicketAttachment

JIEKOU = "440117001000"
REPORTER, WORKER = 3401, 3402


@pytest.fixture
def life(svc: BotService) -> BotService:
    return svc  # tests/handlers/conftest.py: on the test's clock, without pacing


async def test_the_station_sees_the_photos_the_reporter_sent(
    life: BotService, clock: FakeClock, db: Database
) -> None:
    api = life.api
    await join_by_bot(life, chat=WORKER, scope=Scope("station", "township", JIEKOU), now=clock())
    citizen = Citizen(api, REPORTER)
    await citizen.report_until_story()
    await citizen.photo()
    await citizen.photo(caption="孩子身上有伤，一个人在家两天了。")
    await citizen.press("ct", "anon")
    await citizen.press("sm", "ok")
    code = await citizen.receipt_code()
    ticket = await ticket_by_code(db, code)

    mark = len(api.calls)
    api.push_text(WORKER, f"/ticket {code}")
    detail = await api.wait_for(
        lambda c: (c.text or "").startswith(f"<b>工单 <code>{code}"), after=mark, chat_id=WORKER
    )
    files = [data for label, data in detail.buttons() if label.startswith("📎")]
    assert files == [f"w:files:{ticket.id}"]
    assert "📎 附件（2）" in [label for label, _ in detail.buttons()]

    mark = len(api.calls)
    api.push_callback(WORKER, files[0], message_id=int(detail.message_id or 0))
    photos: list[Call] = []
    while len(photos) < 2:
        call = await api.wait_for(lambda c: c.method == "sendPhoto", after=mark, chat_id=WORKER)
        photos.append(call)
        mark = call.index + 1
    assert [p.params["caption"] for p in photos] == [
        f"工单 <code>{code}</code> · 附件 1/2（图片）",
        f"工单 <code>{code}</code> · 附件 2/2（图片）",
    ]
    async with db.unit() as session:
        refs = (
            await session.exec(
                select(TicketAttachment.file_ref)
                .where(col(TicketAttachment.ticket_id) == ticket.id)
                .order_by(col(TicketAttachment.id))
            )
        ).all()
    assert [p.params["photo"] for p in photos] == list(refs)  # the very files, by their ids
    assert "files_viewed" in [e.kind for e in await events_of(db, ticket.id)]


def test_a_file_survives_the_outbox_and_a_forged_one_is_refused() -> None:
    reply = Reply("附件 1/1", media=("voice", "AwACAgUAAxkBAA-1"))
    payload = reply_payload(reply, locale="zh", edit_message_id=None)
    assert reply_of(payload).media == ("voice", "AwACAgUAAxkBAA-1")
    with pytest.raises(ValueError):
        reply_of({**payload, "media": ["sticker", "x"]})
    with pytest.raises(ValueError):
        reply_of({**payload, "media": ["voice"]})
