"""The bot's ``/dashboard`` and ``/console``: a one-time link to sign in to the web pages
(``flows.web_sessions``), sent to the member's private chat only, where nobody else reads
it. Supervisors get the dashboard, hotline operators the console."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlmodel.ext.asyncio.session import AsyncSession

from flows.events import Command, Event, Person
from flows.messages import Outcome, Reply
from flows.staff import active_member
from flows.texts import t
from flows.web_sessions import LINK_TTL, PAGES, issue_link

COMMANDS: Final = {"dashboard": "supervisor", "console": "operator"}


def is_signin_command(event: Event) -> bool:
    return isinstance(event, Command) and event.name in COMMANDS


async def command(
    *, session: AsyncSession, person: Person, event: Command, web_url: str | None, now: datetime
) -> Outcome:
    member = await active_member(session, channel=person.channel, user_id=person.user_id)
    loc = member.locale if member else person.locale
    if member is None:
        # In a group anyone may type it: answering each would let one person flood the group.
        return Outcome([] if person.in_group else [Reply(t(loc, "staff.only"))], locale=loc)
    if person.in_group:
        return Outcome([Reply(t(loc, "signin.private", command=event.name))], locale=loc)
    role = COMMANDS[event.name]
    if member.role != role:
        return Outcome([Reply(t(loc, f"signin.{event.name}_only"))], locale=loc)
    if web_url is None:
        return Outcome([Reply(t(loc, "signin.not_set"))], locale=loc)
    token = await issue_link(session=session, member=member, now=now)
    url = f"{web_url}/signin?link={token}"
    minutes = int(LINK_TTL.total_seconds() // 60)
    page = t(loc, f"signin.page.{PAGES[role].strip('/')}")
    text = t(loc, "signin.link", page=page, url=url, minutes=minutes)
    return Outcome([Reply(text)], changed=True, locale=loc)
