"""In a real browser (headless Chromium, driven by Playwright), against a running `hutong
serve`, the three web doors together: a hotline operator enters a call in /console, a
citizen files through /report, and a county supervisor — signed in with the link the bot
sends on /dashboard — finds both on the dashboard, filters the list, opens a ticket and
exports the CSV.

Served as http://localhost (the session cookie is Secure; Chromium keeps it there).
Screenshots go to ``test-artifacts/`` (or ``HUTONG_TEST_ARTIFACTS``). Needs Debian's
``chromium``; skipped, saying so, without it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bot_api import FakeBotAPI
from factories import county_supervisor, hotline_operator
from serve_process import Service
from sqlmodel import select

from flows import web_sessions
from storage.db import Database
from storage.models import Ticket, TicketEvent

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("HUTONG_TEST_ARTIFACTS", "test-artifacts"))
LINK = re.compile(r"(http://localhost:\d+/signin\?link=[A-Za-z0-9_-]+)")

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


async def test_a_call_and_a_web_report_reach_the_supervisors_dashboard_and_its_csv(
    service_env: Service, bot_api: FakeBotAPI, db: Database
) -> None:
    from playwright.async_api import async_playwright, expect

    service = service_env
    base = f"http://localhost:{service.port}"
    service.env["HUTONG_PUBLIC_URL"] = base  # where the bot's sign-in links lead
    await service.start(bot_api)
    now = datetime.now(UTC)
    operator = await hotline_operator(db, now=now)
    supervisor = await county_supervisor(db, now=now)  # 从化区: both reports are theirs
    async with db.unit() as session:
        console_link = await web_sessions.issue_link(session=session, member=operator, now=now)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            # 1. The operator enters a call: a child in danger now (P0).
            desk = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await desk.new_page()
            await page.goto(f"{base}/signin?link={console_link}")
            await page.locator("#signin-link").click()
            await expect(page).to_have_url(f"{base}/console")
            await page.locator('input[name="danger"][value="yes"]').check()
            await expect(page.locator("#priority-value")).to_contain_text("P0")
            await page.locator("#place").fill("从化区街口街道")
            await page.locator('input[name="reporter"][value="neighbour"]').check()
            await page.locator('input[name="concerns"][value="physical"]').check()
            await page.locator("#story").fill("来电人说听到孩子哭喊，大人在打孩子。")
            await page.locator("#file-call").click()
            await expect(page).to_have_url(re.compile(r"/console/filed\?code="))
            call = await page.locator("#ticket-code").get_attribute("data-code")
            assert call is not None
            await page.screenshot(path=str(ARTIFACTS / "doors-console.png"), full_page=True)
            await desk.close()

            # 2. A citizen files through /report on a phone (P1).
            phone = await browser.new_context(viewport={"width": 390, "height": 844})
            page = await phone.new_page()
            await page.goto(f"{base}/report")
            await page.get_by_label("没有").check()
            await page.get_by_label("邻居或朋友").check()
            await page.get_by_label("孩子在哪里？").fill("从化区街口街道")
            await page.get_by_label("无人照料 / 独自在家").check()
            await page.get_by_label("请简单描述情况").fill("孩子一个人在家两天了，没有大人照看。")
            await page.get_by_role("button", name="提交报告").click()
            web = (await page.locator("#ticket-code").inner_text()).strip()
            await page.screenshot(path=str(ARTIFACTS / "doors-report.png"), full_page=True)
            await phone.close()

            # 3. The supervisor asks the bot for a link, and signs in with it.
            mark = len(bot_api.calls)
            bot_api.push_text(int(supervisor.chat_id), "/dashboard")
            sent = await bot_api.wait_for(
                lambda c: "signin?link=" in (c.text or ""),
                after=mark,
                chat_id=int(supervisor.chat_id),
                timeout=20,
            )
            found = LINK.search(sent.text or "")
            assert found is not None, sent.text
            office = await browser.new_context(
                viewport={"width": 1366, "height": 900}, accept_downloads=True
            )
            page = await office.new_page()
            await page.goto(found[1])
            await page.locator("#signin-link").click()
            await expect(page).to_have_url(f"{base}/dashboard")
            await expect(page.locator("#open-total")).to_have_text("2")
            await page.screenshot(path=str(ARTIFACTS / "doors-dashboard.png"), full_page=True)

            # Both on the list; the P0 filter keeps the call only.
            await page.goto(f"{base}/dashboard/tickets")
            rows = page.locator("#tickets tbody tr")
            await expect(rows).to_have_count(2)
            await expect(page.locator("#tickets")).to_contain_text(call)
            await expect(page.locator("#tickets")).to_contain_text(web)
            await page.locator('input[name="priority"][value="P0"]').check()
            await page.locator("#f-submit").click()
            await expect(page).to_have_url(re.compile(r"priority=P0"))
            await expect(rows).to_have_count(1)
            await expect(rows.first).to_contain_text(call)
            await page.screenshot(path=str(ARTIFACTS / "doors-filtered.png"), full_page=True)

            # The CSV of the filtered list: UTF-8 with BOM, the call only.
            async with page.expect_download() as info:
                await page.locator("#csv").click()
            download = await info.value
            path = ARTIFACTS / "doors-filtered.csv"
            await download.save_as(str(path))
            raw = await asyncio.to_thread(path.read_bytes)
            assert raw.startswith(b"\xef\xbb\xbf")
            table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
            assert len(table) == 2 and call in table[1] and web not in raw.decode("utf-8-sig")

            # The call's page, with its history; viewing it is recorded.
            await rows.first.get_by_role("link", name=call).click()
            await expect(page).to_have_url(re.compile(rf"/dashboard/tickets/{call}"))
            await expect(page.locator("body")).to_contain_text("P0")
            await page.screenshot(path=str(ARTIFACTS / "doors-ticket.png"), full_page=True)
            await office.close()
        finally:
            await browser.close()
    async with db.unit() as session:
        tickets = {
            t.code: t
            for t in (await session.exec(select(Ticket).where(Ticket.code.in_([call, web])))).all()  # type: ignore[attr-defined]
        }
        viewed = (
            await session.exec(
                select(TicketEvent).where(
                    TicketEvent.ticket_id == tickets[call].id, TicketEvent.kind == "viewed"
                )
            )
        ).all()
    assert (tickets[call].reporter_channel, tickets[call].priority) == ("phone_12349", "P0")
    assert (tickets[web].reporter_channel, tickets[web].priority) == ("web", "P1")
    assert [e.actor for e in viewed] == [f"staff:{supervisor.id}"]
