"""One report, four doors: the bot's dialogue, the operators' console, the web form and the
REST API file tickets that differ only in their door (channel), their code and the way back
to the reporter; the same priority, routing, deadlines, ladder, history and referral. Being
about the same child, the three after the first are each a possible duplicate of it."""

from __future__ import annotations

import re
from typing import Any

from citizen import Citizen
from factories import (
    JIEKOU,
    events_of,
    hotline_operator,
    outbox_rows,
    station_member,
    web_session,
)
from harness import BotService, FakeClock
from sqlmodel import col, select

from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from handlers.web.api.context import Api
from handlers.web.app import init_app
from handlers.web.pages.session import COOKIE
from storage.db import Database
from storage.models import Ticket

STORY = "孩子一个人在家两天了，没有大人照看。"
# The bot's shortest full report (tests/fakes/citizen.py), as the other doors take it.
ANSWERS: dict[str, Any] = {
    "danger": "no",
    "reporter": "neighbour",
    "age": "6-11",
    "sex": "f",
    "concerns": ["no_carer"],
    "story": STORY,
}
# What may differ: the row, the door, the code, the key that made it once, the way back.
DOOR = {"id", "code", "intake_key", "reporter_channel", "reporter_chat_id"}


def _csrf(html: str) -> dict[str, str]:
    fields = dict(re.findall(r'name="(csrf|submission)" value="([^"]+)"', html))
    assert set(fields) == {"csrf", "submission"}
    return fields


async def test_the_same_report_by_every_door_is_the_same_ticket(
    svc: BotService,
    aiohttp_client: Any,
    db: Database,
    directory: Directory,
    clock: FakeClock,
) -> None:
    api = Api(directory=directory, policy=DEFAULT_POLICY)
    client = await aiohttp_client(init_app(db=db, clock=clock, api=api))
    codes: dict[str, str] = {}
    # Someone at the station: a referral that reached nobody would climb the ladder at once,
    # whenever the sender gets to it, and the tickets would differ by the sender's timing.
    await station_member(db, now=clock())

    codes["telegram"] = await Citizen(svc.api, 8801).file_report_by_buttons(STORY)

    operator = await hotline_operator(db, now=clock())
    cookie = {"Cookie": f"{COOKIE}={await web_session(db, operator, now=clock())}"}
    page = await client.get("/console", headers=cookie)
    form = {**_csrf(await page.text()), **ANSWERS, "channel": "phone_12349", "place_code": JIEKOU}
    filed = await client.post("/console", data=form, headers=cookie, allow_redirects=False)
    assert filed.status == 303, await filed.text()
    codes["phone_12349"] = filed.headers["Location"].split("code=")[1].split("&")[0]

    page = await client.get("/report")
    form = {**_csrf(await page.text()), **ANSWERS, "place_code": JIEKOU, "phone": ""}
    filed = await client.post("/report", data=form, allow_redirects=False)
    assert filed.status == 303, await filed.text()
    codes["web"] = filed.headers["Location"].split("code=")[1].split("&")[0]

    body = {**ANSWERS, "channel": "api", "place": {"code": JIEKOU}}
    filed = await client.post("/api/v1/reports", json=body)
    assert filed.status == 201, await filed.text()
    codes["api"] = (await filed.json())["code"]

    async with db.unit() as session:
        found = (await session.exec(select(Ticket).order_by(col(Ticket.id)))).all()
    tickets = {t.reporter_channel: t for t in found}
    assert sorted(tickets) == sorted(codes) and len(found) == 4
    assert {door: t.code for door, t in tickets.items()} == codes
    bot = tickets.pop("telegram")
    expected = bot.model_dump(exclude=DOOR | {"duplicate_of_id"})
    assert (bot.station_code, bot.priority, bot.state) == (JIEKOU, "P1", "dispatched")
    for door, ticket in tickets.items():
        assert ticket.model_dump(exclude=DOOR | {"duplicate_of_id"}) == expected, door
        assert ticket.reporter_chat_id == ""  # no chat: the reporter asks by the code
        # The same child as the first report, whatever door it came through.
        assert ticket.duplicate_of_id == bot.id, door
    # The same history, but for who filed it (the operator's call is theirs) and the line
    # naming the first report as possibly the same child.
    bot_events = [(e.kind, e.from_state, e.to_state, e.note) for e in await events_of(db, bot.id)]
    duplicate = ("duplicate_suspected", None, None, bot.code)
    for door, ticket in tickets.items():
        events = await events_of(db, ticket.id)
        seen = [(e.kind, e.from_state, e.to_state, e.note) for e in events]
        assert seen == [*bot_events, duplicate], door
        filer = {e.actor for e in events if e.kind == "submitted"}
        assert filer == ({f"staff:{operator.id}"} if door == "phone_12349" else {"citizen"})
    # And the same referral to the same station (the sender may have expanded some of them
    # into one row per chat already: the station's row is the referral).
    referral = [
        (r.target_kind, r.target)
        for r in await outbox_rows(db, kind="referral", target_kind="station", ticket_id=bot.id)
    ]
    assert referral == [("station", JIEKOU)]
    for door, ticket in tickets.items():
        rows = await outbox_rows(db, kind="referral", target_kind="station", ticket_id=ticket.id)
        assert [(r.target_kind, r.target) for r in rows] == referral, door
