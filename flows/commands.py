"""Which commands each person can use: what ``/help`` lists, and the lists Telegram shows in
its command menu, kept in step by the outbox.

Telegram picks the list a person sees from scopes, the narrowest that is set first: in a
private chat the chat's own list (``BotCommandScopeChat``), then the list for all private
chats in the person's app language, then that list without a language; in a group, the
group's own list, then the group-wide and default lists. So:

- citizens' commands are the list for all private chats, once per language Telegram can
  tell apart (``telegram_languages``); the default scope (what every group would show) is
  cleared, as the bot answers nobody's citizen commands in a group;
- a staff member's private chat gets its own list when they join — citizens' commands and
  their role's, in their language — and loses it when they leave or are revoked (it then
  falls back to the citizens' list);
- a group bound to a station gets the commands that work there (``GROUP``) for as long as
  it is bound. It is the group's list (``BotCommandScopeChat``), not one per member
  (``BotCommandScopeChatMember``): the bot does not know who is in a group, the group is
  the station's own, and the bot answers nobody but enrolled staff there anyway.

Every list is an outbox row (kind ``commands``, target kind ``scope``) written in the
transaction of the change that calls for it, so it is retried like any message while
Telegram is down; at start ``reconcile`` compares what should be shown with what was last
sent and queues only the difference (a new release's wording, members enrolled before
this existed).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from flows.events import Command, Event
from flows.messages import Outcome, Reply
from flows.texts import DEFAULT_LOCALE, LOCALES, t
from storage import outbox
from storage.models import Conversation, OutboxMessage, StaffMember, StationGroup

KIND: Final = "commands"
SET: Final = "setMyCommands"
DELETE: Final = "deleteMyCommands"
# Bot API scope types (BotCommandScope…); ``chat`` is completed with the row's target.
CHAT: Final = "chat"
PRIVATE: Final = "all_private_chats"
DEFAULT: Final = "default"
# Telegram's rules: a command is 1-32 of a-z, 0-9 and _; a description 1-256 characters.
NAME_RULE: Final = re.compile(r"[a-z0-9_]{1,32}")
DESCRIPTION_MAX: Final = 256
# A deep link's start parameter: 1-64 of A-Z, a-z, 0-9, _ and - (Telegram's rule); an
# invitation code as issued (flows.staff.format_code) fits after this prefix.
START_PARAMETER: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
JOIN_PREFIX: Final = "join-"


@dataclass(frozen=True, slots=True)
class Cmd:
    name: str
    arg: str | None = None  # the text key of its argument, shown in /help


_CODE: Final = "cmd.arg.code"
CITIZEN: Final[tuple[Cmd, ...]] = (
    Cmd("start"),
    Cmd("status", _CODE),
    Cmd("language"),
    Cmd("cancel"),
    Cmd("help"),
)
# What each role adds to the citizens' commands in a private chat.
ROLE_COMMANDS: Final[dict[str, tuple[Cmd, ...]]] = {
    "station": (Cmd("mytickets"), Cmd("ticket", _CODE), Cmd("leave")),
    "supervisor": (
        Cmd("mytickets"),
        Cmd("ticket", _CODE),
        Cmd("overdue"),
        Cmd("open"),
        Cmd("stats", "cmd.arg.period"),
        Cmd("reassign", _CODE),
        Cmd("unmerge", _CODE),
        Cmd("dashboard"),
        Cmd("leave"),
    ),
    # Operators file and follow reports through the API and the web console.
    "operator": (Cmd("console"), Cmd("leave")),
}
# In a station's bound group: what the station's staff can use there (flows.staff_views).
GROUP: Final[tuple[Cmd, ...]] = (Cmd("mytickets"), Cmd("ticket", _CODE), Cmd("help"))


def for_role(role: str | None) -> tuple[Cmd, ...]:
    """A person's commands in a private chat: a citizen's, and their role's if enrolled."""
    return CITIZEN + ROLE_COMMANDS.get(role or "", ())


def telegram_languages(locale: str) -> tuple[str | None, ...]:
    """The Telegram language codes a catalogue's list is published for (None: no code, the
    list for everyone whose language has none of its own).

    Telegram's ``language_code`` here is a two-letter ISO 639-1 code, so a script or region
    cannot be targeted: the default catalogue is the list without a code; another catalogue
    of a plain language has its code (``en``); a variant (``zh-Hant``) has none of its own
    when its language is already taken (by the default's ``zh``, or by a plainer catalogue
    or an earlier variant of it) — its readers see that list, and staff get their own list
    in their own catalogue anyway (a chat's list has no language code)."""
    if locale == DEFAULT_LOCALE:
        return (None,)
    base = locale.split("-", 1)[0].lower()
    if not re.fullmatch(r"[a-z]{2}", base) or base == DEFAULT_LOCALE.split("-", 1)[0]:
        return ()
    if base != locale and base in LOCALES:
        return ()
    earlier = LOCALES[: LOCALES.index(locale)] if locale in LOCALES else LOCALES
    if any(other.split("-", 1)[0].lower() == base for other in earlier):
        return ()
    return (base,)


def menu(commands: Sequence[Cmd], locale: str) -> list[list[str]]:
    """``[name, description]`` pairs as the Bot API's BotCommand wants them."""
    return [[c.name, t(locale, f"cmd.{c.name}")] for c in commands]


def help_text(locale: str, role: str | None, *, in_group: bool = False) -> str:
    """/help: the commands this person can use here, and the emergency numbers."""
    sections: list[tuple[str, tuple[Cmd, ...]]]
    if in_group:
        sections = [("help.group", GROUP)]
    else:
        sections = [("help.title", CITIZEN)]
        if role in ROLE_COMMANDS:
            sections.append((f"help.{role}", ROLE_COMMANDS[role]))
    parts = ["\n".join([t(locale, heading), *_lines(locale, cmds)]) for heading, cmds in sections]
    if in_group:
        parts.append(t(locale, "help.group.private"))
    parts.append(t(locale, "help.danger"))
    return "\n\n".join(parts)


def _lines(locale: str, commands: Sequence[Cmd]) -> list[str]:
    lines = []
    for c in commands:
        arg = f" {html.escape(t(locale, c.arg), quote=False)}" if c.arg else ""
        about = html.escape(t(locale, f"cmd.{c.name}"), quote=False)  # menu text is plain
        lines.append(f"/{c.name}{arg} {about}")
    return lines


def help_outcome(member: StaffMember | None, *, in_group: bool, locale: str) -> Outcome:
    """/help for an enrolled member (their role's commands), or in a group, where only
    enrolled staff are answered (``flows.work``); a citizen's is the dialogue's own."""
    if member is None:
        return Outcome(locale=locale)
    loc = member.locale
    return Outcome([Reply(help_text(loc, member.role, in_group=in_group))], locale=loc)


def deep_link(event: Event) -> Event:
    """``/start join-CODE`` (a ``t.me/<bot>?start=join-CODE`` link) is ``/join CODE``."""
    if not isinstance(event, Command) or event.name != "start":
        return event
    if event.arg[: len(JOIN_PREFIX)].lower() != JOIN_PREFIX:
        return event
    return Command("join", event.arg[len(JOIN_PREFIX) :])


def join_link(username: str, code: str, *, group: bool = False) -> str:
    """The link that sends ``/start join-CODE`` to the bot: in a private chat, or (a group
    invitation) in a group the person picks, adding the bot to it."""
    parameter = f"{JOIN_PREFIX}{code}"
    if not START_PARAMETER.fullmatch(parameter):
        raise ValueError("an invitation code that does not fit a start parameter")
    return f"https://t.me/{username}?{'startgroup' if group else 'start'}={parameter}"


# ---- publishing the lists through the outbox ---------------------------------------------


def _target(scope: str, language: str | None) -> str:
    return scope if language is None else f"{scope}:{language}"


def _set(scope: str, language: str | None, commands: Sequence[Cmd], locale: str) -> dict[str, Any]:
    return {
        "method": SET,
        "scope": scope,
        "language_code": language,
        "locale": locale,
        "commands": menu(commands, locale),
    }


def _delete(scope: str, language: str | None) -> dict[str, Any]:
    return {"method": DELETE, "scope": scope, "language_code": language}


async def _queue(
    session: AsyncSession, *, target: str, payload: dict[str, Any], key: str, now: datetime
) -> bool:
    """Whether a row was queued (not when its key was: the same change, or two processes
    reconciling at the same instant)."""
    row_id = await outbox.enqueue(
        session,
        dedup_key=f"{KIND}:{target}:{key}",
        kind=KIND,
        now=now,
        payload=payload,
        role_target=(outbox.SCOPE, target),
    )
    return row_id is not None


async def member_joined(*, session: AsyncSession, member: StaffMember, now: datetime) -> None:
    """Their private chat's list: citizens' commands and their role's, in their language."""
    payload = _set(CHAT, None, for_role(member.role), member.locale)
    await _queue(session, target=member.chat_id, payload=payload, key=f"join:{member.id}", now=now)


async def member_left(*, session: AsyncSession, member: StaffMember, now: datetime) -> None:
    """Their chat's own list goes: it falls back to the citizens' list."""
    payload = _delete(CHAT, None)
    await _queue(session, target=member.chat_id, payload=payload, key=f"leave:{member.id}", now=now)


async def group_bound(
    *, session: AsyncSession, group: StationGroup, locale: str, now: datetime
) -> None:
    payload = _set(CHAT, None, GROUP, locale)
    await _queue(session, target=group.chat_id, payload=payload, key=f"bind:{group.id}", now=now)


async def group_unbound(*, session: AsyncSession, chat_id: str, key: str, now: datetime) -> None:
    await _queue(session, target=chat_id, payload=_delete(CHAT, None), key=f"unbind:{key}", now=now)


async def group_moved(
    *, session: AsyncSession, old_chat_id: str, new_chat_id: str, now: datetime
) -> None:
    """A bound group became a supergroup (a new id): its list is set for the new id, in the
    language it had."""
    latest = (await _latest(session, targets=[old_chat_id])).get(old_chat_id)
    locale = _locale_of(latest)
    payload = _set(CHAT, None, GROUP, locale)
    await _queue(session, target=new_chat_id, payload=payload, key=f"moved:{old_chat_id}", now=now)


# Telegram's menus cannot be targeted at Traditional Chinese by language (setMyCommands takes
# a two-letter code, and zh is Simplified's): a citizen whose dialogue speaks Traditional gets
# the citizens' list in it on their own chat instead.
HANT: Final = "zh-Hant"


async def citizen_language(
    *, session: AsyncSession, chat_id: str, locale: str, was: str | None, now: datetime
) -> None:
    """A private chat's dialogue now speaks ``locale`` (``was``: before; None: the chat is
    new). Traditional gets its own list; leaving Traditional falls back to the shared ones.
    A staff member's chat keeps their role's list (their language is their membership's)."""
    if (locale == HANT) == (was == HANT):
        return
    staff = await session.exec(
        select(StaffMember.id).where(
            col(StaffMember.chat_id) == chat_id, col(StaffMember.active).is_(True)
        )
    )
    if staff.first() is not None:
        return
    payload = _set(CHAT, None, CITIZEN, HANT) if locale == HANT else _delete(CHAT, None)
    key = f"language:{locale}:{now.isoformat()}"
    await _queue(session, target=chat_id, payload=payload, key=key, now=now)


def _locale_of(row: OutboxMessage | None) -> str:
    locale = row.payload.get("locale") if row is not None else None
    return locale if isinstance(locale, str) and locale in LOCALES else DEFAULT_LOCALE


async def _latest(
    session: AsyncSession, *, targets: Sequence[str] | None = None
) -> dict[str, OutboxMessage]:
    """The last row queued for each scope (these, or all): what Telegram shows, or will."""
    query = (
        select(func.max(OutboxMessage.id))
        .where(col(OutboxMessage.target_kind) == outbox.SCOPE)
        .group_by(col(OutboxMessage.target))
    )
    if targets is not None:
        query = query.where(col(OutboxMessage.target).in_(targets))
    ids = [row_id for row_id in (await session.exec(query)).all() if row_id is not None]
    if not ids:
        return {}
    rows = (await session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids)))).all()
    return {row.target: row for row in rows}


async def desired(
    session: AsyncSession, *, latest: dict[str, OutboxMessage]
) -> dict[str, dict[str, Any]]:
    """Every scope's list as it should be now, by target."""
    wanted: dict[str, dict[str, Any]] = {}
    for locale in LOCALES:
        for language in telegram_languages(locale):
            wanted[_target(PRIVATE, language)] = _set(PRIVATE, language, CITIZEN, locale)
            wanted[_target(DEFAULT, language)] = _delete(DEFAULT, language)
    members = (
        await session.exec(select(StaffMember).where(col(StaffMember.active).is_(True)))
    ).all()
    for member in members:
        wanted[member.chat_id] = _set(CHAT, None, for_role(member.role), member.locale)
    groups = (
        await session.exec(select(StationGroup).where(col(StationGroup.active).is_(True)))
    ).all()
    for group in groups:  # the language it was bound in, kept in its last list
        wanted[group.chat_id] = _set(CHAT, None, GROUP, _locale_of(latest.get(group.chat_id)))
    hant = await session.exec(  # citizens reading Traditional (citizen_language)
        select(Conversation.chat_id).where(
            col(Conversation.channel) == "telegram",
            col(Conversation.locale) == HANT,
            col(Conversation.chat_id).not_like("-%"),  # private chats (groups' ids are < 0)
        )
    )
    for chat_id in hant.all():
        wanted.setdefault(chat_id, _set(CHAT, None, CITIZEN, HANT))
    for target, row in latest.items():  # a list set before, not wanted now: cleared
        if target not in wanted and row.payload.get("method") == SET:
            wanted[target] = _delete(str(row.payload["scope"]), row.payload.get("language_code"))
    return wanted


def _same(payload: dict[str, Any], other: dict[str, Any]) -> bool:
    fields = ("method", "scope", "language_code", "commands")
    return all(payload.get(f) == other.get(f) for f in fields)


async def reconcile(*, session: AsyncSession, now: datetime) -> int:
    """Queue every list that differs from the last one queued for its scope (or whose last
    row was given up); returns how many. Run at start: a second run queues nothing."""
    latest = await _latest(session)
    key, queued = f"sync:{now.isoformat()}", 0
    for target, payload in (await desired(session, latest=latest)).items():
        last = latest.get(target)
        if last is None and payload["method"] == DELETE and payload["scope"] == CHAT:
            continue  # a chat that never had a list of its own
        if last is not None and last.status != "failed" and _same(last.payload, payload):
            continue
        queued += await _queue(session, target=target, payload=payload, key=key, now=now)
    return queued
