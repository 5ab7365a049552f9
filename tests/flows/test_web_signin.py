"""The bot's /dashboard and /console: a one-time sign-in link, to a supervisor or an
operator, in their private chat only."""

from __future__ import annotations

import re

import pytest
from factories import county_supervisor, group_of, hotline_operator, person_of, station_member
from harness import FakeClock

from flows import conversations, web_sessions
from flows.events import Command, Person
from flows.intake import Intake
from flows.messages import Outcome
from flows.places import Directory
from flows.sla import DEFAULT_POLICY
from flows.texts import t
from storage.db import Database

WEB = "https://hutong.example.org"
LINK = re.compile(re.escape(WEB) + r"/signin\?link=([A-Za-z0-9_-]{43})")


async def _say(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    person: Person,
    command: str,
    web_url: str | None = WEB,
) -> Outcome:
    intake = Intake(directory, DEFAULT_POLICY, web_url)
    async with db.unit() as session:
        return await conversations.take_turn(
            session=session, intake=intake, person=person, event=Command(command), now=clock()
        )


def _text(outcome: Outcome) -> str:
    return "\n".join(r.text for r in outcome.replies)


@pytest.mark.parametrize("command", ["dashboard", "console"])
async def test_the_right_role_gets_a_link_that_signs_in(
    db: Database, directory: Directory, clock: FakeClock, command: str
) -> None:
    maker = county_supervisor if command == "dashboard" else hotline_operator
    member = await maker(db, now=clock())
    out = await _say(db, directory, clock, person_of(member), command)
    found = LINK.search(_text(out))
    assert found is not None, _text(out)
    assert "10" in _text(out)  # how long it works
    async with db.unit() as session:
        signed = await web_sessions.redeem_link(session=session, token=found[1], now=clock())
    assert signed is not None and signed.home == f"/{command}"


async def test_the_wrong_role_a_stranger_and_a_group_get_no_link(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    supervisor = await county_supervisor(db, now=clock())
    operator = await hotline_operator(db, now=clock())
    member = await station_member(db, now=clock())
    await group_of(db, station=member.scope_code, chat="-100500", now=clock())
    stranger = Person("telegram", "999", "999", False, "路人", "zh")
    in_group = person_of(member, in_group=True, chat="-100500")
    cases = [
        (person_of(operator), "dashboard", t("zh", "signin.dashboard_only")),
        (person_of(member), "dashboard", t("zh", "signin.dashboard_only")),
        (person_of(supervisor), "console", t("zh", "signin.console_only")),
        (person_of(member), "console", t("zh", "signin.console_only")),
        (stranger, "dashboard", t("zh", "staff.only")),
        (in_group, "dashboard", t("zh", "signin.private", command="dashboard")),
    ]
    for person, command, expected in cases:
        out = await _say(db, directory, clock, person, command)
        assert _text(out) == expected, (person.user_id, command)
        assert LINK.search(_text(out)) is None
    # A stranger in a group is not answered at all: nobody can make the bot flood a group.
    out = await _say(
        db, directory, clock, Person("telegram", "998", "-100500", True, "x", "zh"), "dashboard"
    )
    assert out.replies == []


async def test_without_a_public_address_the_bot_says_the_pages_are_not_set_up(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    supervisor = await county_supervisor(db, now=clock(), locale="en")
    out = await _say(db, directory, clock, person_of(supervisor), "dashboard", web_url=None)
    assert _text(out) == t("en", "signin.not_set")
