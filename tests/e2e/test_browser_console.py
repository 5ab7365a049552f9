"""In a real browser (headless Chromium, driven by Playwright), against a running `hutong
serve`: a hotline operator signs in with the bot's one-time link and enters a call with the
keyboard alone — danger ticked (P0 shows at once), the place typed and picked among the
suggestions, who calls, the child, the story — files it with Ctrl+Enter, reads the code back,
and finds the call among their recent calls.

The session cookie is Secure: Chromium keeps it on http://localhost (a secure context), so
the site is opened as localhost, not 127.0.0.1. Screenshots go to ``test-artifacts/`` (or
``HUTONG_TEST_ARTIFACTS``). Needs Debian's ``chromium``; skipped, saying so, without it.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bot_api import FakeBotAPI
from factories import hotline_operator
from serve_process import Service
from sqlmodel import select

from flows import web_sessions
from storage.db import Database
from storage.models import Ticket, TicketEvent

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("HUTONG_TEST_ARTIFACTS", "test-artifacts"))

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


async def test_an_operator_enters_a_call_with_the_keyboard(
    service_env: Service, bot_api: FakeBotAPI, db: Database
) -> None:
    from playwright.async_api import async_playwright, expect

    service = service_env
    await service.start(bot_api)
    # The operator, enrolled in the served database, and the link the bot's /console gives.
    now = datetime.now(UTC)
    operator = await hotline_operator(db, now=now)
    async with db.unit() as session:
        link = await web_sessions.issue_link(session=session, member=operator, now=now)
    base = f"http://localhost:{service.port}"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(f"{base}/signin?link={link}")
            await page.locator("#signin-link").click()
            await expect(page).to_have_url(f"{base}/console")
            keys = page.keyboard
            # The danger question has the focus: Space ticks "yes", and P0 shows at once.
            danger_yes = page.locator('input[name="danger"][value="yes"]')
            await expect(danger_yes).to_be_focused()
            await keys.press("Space")
            await expect(page.locator("#priority-value")).to_contain_text("P0")
            await expect(page.locator("#p0-advice")).to_be_visible()
            # The place: typed, the suggestions come, ↓ and Enter take one.
            await keys.press("Tab")
            await expect(page.locator("#place")).to_be_focused()
            await keys.type("新城社区", delay=30)
            # The places for all four characters (not those for the first two or three).
            listed = page.locator('#place-list[data-q="新城社区"]')
            option = listed.get_by_role("option", name=re.compile("从化区街口街道新城社区"))
            await expect(option).to_be_visible()
            await page.screenshot(path=str(ARTIFACTS / "console-suggestions.png"), full_page=True)
            await keys.press("ArrowDown")
            await expect(option).to_have_attribute("aria-selected", "true")
            await keys.press("Enter")
            await expect(page.locator("#place-chosen")).to_contain_text("街口街道新城社区")
            await expect(page.locator("#place-code")).to_have_value("440117001001")
            # Who calls: arrows move through the radio group (the 4th is a neighbour).
            await keys.press("Tab")
            for _ in range(3):
                await keys.press("ArrowRight")
            await expect(page.locator('input[name="reporter"][value="neighbour"]')).to_be_checked()
            await keys.press("Tab")  # age: "don't know" until told, the arrows wrap round
            await keys.press("ArrowRight")  # 0-2
            await keys.press("ArrowRight")  # 3-5
            await expect(page.locator('input[name="age"][value="3-5"]')).to_be_checked()
            await keys.press("Tab")  # sex
            await keys.press("Tab")  # the first concern
            await keys.press("Space")
            await expect(page.locator('input[value="no_carer"]')).to_be_checked()
            for _ in range(12):  # past the other concerns
                await keys.press("Tab")
            await expect(page.locator("#story")).to_be_focused()
            await keys.type("来电人说孩子一个人在家两天了。", delay=10)
            await page.screenshot(path=str(ARTIFACTS / "console-call.png"), full_page=True)
            await keys.press("Control+Enter")
            # The receipt: the code to read back, big; P0; the station.
            await expect(page).to_have_url(re.compile(r"/console/filed\?code="))
            code = await page.locator("#ticket-code").get_attribute("data-code")
            assert code is not None and re.fullmatch(r"[A-Z0-9]{8}", code)
            await expect(page.locator("#ticket-code")).to_have_text(f"{code[:4]}{code[4:]}")
            await expect(page.locator("#filed-priority")).to_contain_text("P0")
            await expect(page.locator("#filed-owner")).to_contain_text("街口街道")
            await page.screenshot(path=str(ARTIFACTS / "console-filed.png"), full_page=True)
            # Enter opens the next call; the call is first among the recent ones.
            await expect(page.locator("#next-call")).to_be_focused()
            await keys.press("Enter")
            await expect(page).to_have_url(re.compile(r"/console\?lang=zh$"))
            await expect(page.locator("#calls tbody tr").first).to_contain_text(code)
            await expect(page.locator('input[name="danger"][value="yes"]')).to_be_focused()
            await page.screenshot(path=str(ARTIFACTS / "console-next.png"), full_page=True)
        finally:
            await browser.close()
    async with db.unit() as session:
        ticket = (await session.exec(select(Ticket).where(Ticket.code == code))).one()
        filed = (
            await session.exec(
                select(TicketEvent).where(
                    TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "submitted"
                )
            )
        ).one()
    assert (ticket.reporter_channel, ticket.priority, ticket.place_code) == (
        "phone_12349",
        "P0",
        "440117001001",
    )
    assert (ticket.reporter_role, ticket.child_age, ticket.concerns) == (
        "neighbour",
        "3-5",
        ["no_carer"],
    )
    assert filed.actor == f"staff:{operator.id}"
