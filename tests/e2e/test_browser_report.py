"""In a real browser (headless Chromium, driven by Playwright), against a running `hutong
serve`: a citizen without Telegram files a report through /report — the place typed,
chosen among candidates — gets the ticket code and follows it on /status.

Screenshots go to ``test-artifacts/`` (or ``HUTONG_TEST_ARTIFACTS``). Needs Debian's
``chromium`` (``.ci/run`` installs it); the test is skipped, saying so, where it is absent.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from bot_api import FakeBotAPI
from serve_process import Service
from sqlmodel import select

from storage.db import Database
from storage.models import Ticket

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("HUTONG_TEST_ARTIFACTS", "test-artifacts"))

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


@pytest.fixture
def artifacts() -> Path:
    return ARTIFACTS


async def test_a_citizen_files_through_the_web_form_and_follows_it(
    service_env: Service, bot_api: FakeBotAPI, db: Database, artifacts: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    service = service_env
    await service.start(bot_api)
    base = f"http://127.0.0.1:{service.port}"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            await page.goto(f"{base}/report")
            await expect(page.get_by_role("alert").first).to_contain_text("110")
            await page.get_by_label("没有").check()
            await page.get_by_label("邻居或朋友").check()
            await page.get_by_label("孩子在哪里？").fill("新城社区")
            await page.get_by_label("无人照料 / 独自在家").check()
            await page.get_by_label("请简单描述情况").fill("孩子一个人在家两天了，没有大人照看。")
            await page.get_by_role("button", name="提交报告").click()
            # The words name places of several stations: the page asks which one.
            await expect(page.get_by_text("请确认孩子所在的地点").first).to_be_visible()
            await page.screenshot(path=str(artifacts / "report-candidates.png"), full_page=True)
            await page.get_by_label(re.compile("从化区街口街道新城社区")).check()
            await page.get_by_role("button", name="提交报告").click()
            code = (await page.locator("#ticket-code").inner_text()).strip()
            assert re.fullmatch(r"[A-Z0-9]{8}", code)
            await page.screenshot(path=str(artifacts / "report-filed.png"), full_page=True)
            await page.get_by_role("link", name="查询进度").first.click()
            await expect(page.locator("#status-result")).to_contain_text("等待受理")
            await page.screenshot(path=str(artifacts / "report-status.png"), full_page=True)
            # The English switch keeps the visitor on the same page.
            await page.goto(f"{base}/report?lang=en")
            await expect(page.get_by_text("Is the child in danger right now?")).to_be_visible()
        finally:
            await browser.close()
    async with db.unit() as session:
        ticket = (await session.exec(select(Ticket).where(Ticket.code == code))).one()
    assert (ticket.reporter_channel, ticket.station_code) == ("web", "440117001000")
    assert ticket.place_code == "440117001001"
