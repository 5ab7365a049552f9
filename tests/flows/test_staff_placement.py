"""Case data stays where it belongs: every staff and supervisor command and the 详情 button
answer in a private chat, or in the group bound to the ticket's (or member's) station, and
elsewhere say so and show nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pytest
from factories import county_supervisor, event_kinds, file_in, group_of, station_member
from harness import FakeClock

from flows import work
from flows.events import Command, Event, Person, Press
from flows.messages import Outcome
from flows.places import Directory
from flows.staff import unbind_group
from flows.texts import t
from storage.db import Database
from storage.models import Ticket, TicketEvent

JIEKOU, JIANGPU, CONGHUA = "440117001000", "440117002000", "440117000000"
STORY: Final = "孩子被关在家里三天没有吃饭"
NOTE: Final = "已联系村委会，明天上门"
STATION_USER, SUPERVISOR_USER = "7101", "7201"
BOUND, OTHER, UNBOUND = "-7301", "-7302", "-7303"  # JIEKOU's group, JIANGPU's, nobody's
PLACES: Final = ("private", "bound", "other", "unbound")
ELSEWHERE: Final = t("zh", "place.elsewhere")
PRIVATE_ONLY: Final = t("zh", "place.private")


@dataclass(frozen=True)
class Setup:
    code: str
    ticket_id: int


async def _setup(db: Database, directory: Directory, clock: FakeClock) -> Setup:
    station = await station_member(db, now=clock(), user=STATION_USER)
    await county_supervisor(db, now=clock(), user=SUPERVISOR_USER)
    await group_of(db, station=JIEKOU, chat=BOUND, now=clock())
    await group_of(db, station=JIANGPU, chat=OTHER, now=clock())
    # Once bound to 街口, then unbound: a group that used to be the station's shows nothing.
    await group_of(db, station=JIEKOU, chat=UNBOUND, now=clock())
    async with db.unit() as session:
        await unbind_group(session=session, chat_id=UNBOUND, now=clock())
    async with db.unit() as session:
        ticket = await file_in(session, directory, now=clock(), chat="7001", story=STORY)
        assert ticket.id is not None
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                at=clock(),
                actor=f"staff:{station.id}",
                kind="note",
                note=NOTE,
            )
        )
    return Setup(ticket.code, ticket.id)


def _person(user: str, place: str) -> Person:
    chat = {"private": user, "bound": BOUND, "other": OTHER, "unbound": UNBOUND}[place]
    return Person(
        channel="telegram",
        user_id=user,
        chat_id=chat,
        in_group=place != "private",
        display_name=f"社工{user}",
        locale="zh",
    )


async def _ask(
    db: Database, directory: Directory, clock: FakeClock, user: str, place: str, event: Event
) -> Outcome:
    async with db.unit() as session:
        return await work.handle(
            session=session,
            directory=directory,
            person=_person(user, place),
            event=event,
            now=clock(),
        )


def _said(out: Outcome) -> str:
    return "\n".join([r.text for r in out.replies] + [out.notice or ""])


# (who, what, where it may be answered, a fragment of the real answer)
CASES: Final = [
    ("station", "/ticket", {"private", "bound"}, STORY),
    ("station", "/mytickets", {"private", "bound"}, "{code}"),
    ("station", "det", {"private", "bound"}, STORY),
    ("supervisor", "/ticket", {"private", "bound"}, STORY),
    ("supervisor", "det", {"private", "bound"}, STORY),
    ("supervisor", "/mytickets", {"private"}, "{code}"),
    ("supervisor", "/overdue", {"private"}, "没有超时工单"),
    ("supervisor", "/open", {"private"}, "{code}"),
    ("supervisor", "/stats", {"private"}, "收到：1"),
    ("supervisor", "/reassign", {"private"}, "分派到哪个镇/街道"),
    ("supervisor", "rd", {"private"}, "分派到哪个镇/街道"),
]


@pytest.mark.parametrize(
    ("who", "what", "allowed", "answer"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES]
)
async def test_case_data_only_in_private_or_the_stations_group(
    db: Database,
    directory: Directory,
    clock: FakeClock,
    who: str,
    what: str,
    allowed: set[str],
    answer: str,
) -> None:
    setup = await _setup(db, directory, clock)
    user = STATION_USER if who == "station" else SUPERVISOR_USER
    event: Event
    if what == "det":
        event = Press(f"w:det:{setup.ticket_id}")
    elif what == "rd":
        event = Press(f"w:rd:{setup.ticket_id}:0")
    else:
        arg = setup.code if what in ("/ticket", "/reassign") else ""
        event = Command(what[1:], arg)
    answer = answer.format(code=setup.code)
    for place in PLACES:
        out = await _ask(db, directory, clock, user, place, event)
        said = _said(out)
        if place in allowed:
            assert answer in said, (place, said)
            continue
        # Nothing of the case: not the story, not a note, not even the code of a list.
        for secret in (STORY, NOTE, setup.code):
            assert secret not in said, (place, said)
        # The private-chat-only answer where no group can qualify (a supervisor's area, or
        # a supervisor's button); otherwise the station's group is named as well.
        expected = PRIVATE_ONLY if allowed == {"private"} else ELSEWHERE
        if isinstance(event, Press):
            assert (out.notice, out.replies) == (expected, []), place
        else:
            assert [r.text for r in out.replies] == [expected], place
            assert [r.buttons for r in out.replies] == [[]], place
    # The right person in the wrong place is not a refusal.
    assert "refused" not in await event_kinds(db, setup.ticket_id)


async def test_details_in_the_stations_group_hide_the_phone_and_the_buttons(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    setup = await _setup(db, directory, clock)
    out = await _ask(db, directory, clock, STATION_USER, "bound", Press(f"w:det:{setup.ticket_id}"))
    assert STORY in out.replies[0].text and NOTE in out.replies[0].text
    assert out.replies[0].buttons == []


async def test_station_buttons_work_only_in_private_or_the_stations_group(
    db: Database, directory: Directory, clock: FakeClock
) -> None:
    """签收 from a referral in the station's group works; the same press from a group the
    referral was forwarded to (or any other group) changes nothing."""
    setup = await _setup(db, directory, clock)
    sign = Press(f"w:sign:{setup.ticket_id}")
    for place in ("other", "unbound"):
        out = await _ask(db, directory, clock, STATION_USER, place, sign)
        assert (out.notice, out.replies) == (ELSEWHERE, [])
    async with db.unit() as session:
        ticket = await session.get(Ticket, setup.ticket_id)
    assert ticket is not None and ticket.state == "dispatched"
    out = await _ask(db, directory, clock, STATION_USER, "bound", sign)
    assert out.notice == "签收"
    async with db.unit() as session:
        ticket = await session.get(Ticket, setup.ticket_id)
    assert ticket is not None and ticket.state == "acknowledged"
