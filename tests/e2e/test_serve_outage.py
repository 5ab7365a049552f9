"""Black box: a station member's chat refuses every message for longer than the old sender's
eight tries while a report is filed; the referral still arrives once the API takes it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot_api import FakeBotAPI
from citizen import Citizen
from serve_process import Service
from sqlmodel import col, select

from storage.db import Database
from storage.models import OutboxMessage, StaffMember

MEMBER = 7701
OLD_MAX_ATTEMPTS = 8


async def test_a_referral_refused_through_a_long_outage_arrives_after_it(
    service_env: Service, bot_api: FakeBotAPI, db: Database
) -> None:
    async with db.unit() as session:
        session.add(
            StaffMember(
                user_id=str(MEMBER),
                chat_id=str(MEMBER),
                display_name="worker",
                role="station",
                scope_level="township",
                scope_code="440117001000",
                joined_at=datetime.now(UTC),
            )
        )
    # Pauses between tries of at most 0.2 s instead of minutes: the same outage, in tries.
    service_env.env["HUTONG_OUTBOX_RETRY_MAX_SECONDS"] = "0.2"
    failures = OLD_MAX_ATTEMPTS + 4
    bot_api.fail_next("sendMessage", chat_id=MEMBER, status=502, times=failures)
    await service_env.start(bot_api)

    code = await Citizen(bot_api, 7702, timeout=30).file_report_by_buttons()
    referral = await bot_api.wait_for(
        lambda c: c.method == "sendMessage" and c.error is None and code in (c.text or ""),
        chat_id=MEMBER,
        timeout=60,
    )
    refused = [c for c in bot_api.calls_for(MEMBER, "sendMessage") if c.error == 502]
    assert len(refused) == failures > OLD_MAX_ATTEMPTS
    assert all(c.index < referral.index for c in refused)
    assert "新转介" in (referral.text or "")
    # The service marks the copy sent right after Telegram's answer: look until it has.
    for _ in range(100):
        async with db.unit() as session:
            [copy] = (
                await session.exec(
                    select(OutboxMessage).where(
                        col(OutboxMessage.kind) == "referral",
                        col(OutboxMessage.target) == str(MEMBER),
                    )
                )
            ).all()
        if copy.status != "sending":
            break
        await asyncio.sleep(0.1)
    assert copy.status == "sent" and copy.attempts == failures + 1
