"""``hutong staff …``: invitations and the staff list, for operators at the console."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import Final

from telegram import Bot

from bot.console import table
from bot.settings import Settings, SettingsError
from flows.clock import system_clock
from flows.commands import join_link
from flows.faults import describe
from flows.places import Directory
from flows.staff import (
    ROLES,
    EnrolmentError,
    active_groups,
    bound_station,
    cancel_invite,
    issue_invite,
    list_members,
    pending_invites,
    revoke,
    scope_for,
    scope_name,
    unbind_group,
)
from flows.tickets import local_time
from handlers.telegram.request import AiohttpRequest
from storage.db import Database

# How long `staff invite` waits for the Bot API to say the bot's username (getMe): the
# code is printed anyway, so an unreachable Telegram costs at most this.
USERNAME_LOOKUP_SECONDS: Final = 5.0

_MESSAGES = {
    "invite.bad_station": "--station {code} is not a township code in the directory",
    "invite.bad_county": "--county {code} is not a county code (东莞/中山 have none: use --city)",
    "invite.bad_city": "--city {code} is not a city code",
    "invite.need_scope": "a supervisor needs --county or --city",
    "invite.operator_scope": "a hotline operator needs --city or --province",
    "invite.province_needs_operator": "--province is for a hotline operator (--role operator)",
    "invite.bad_role": "unknown role {role}",
    "invite.group_needs_station": "a group can only be bound to a station (--station)",
    "cancel.unknown": "no invitation has that code",
    "cancel.used": "that code was already used: end the access with `hutong staff revoke ID`"
    " or `hutong staff unbind-group CHAT_ID` instead",
    "cancel.cancelled": "that code was already cancelled",
    "cancel.expired": "that code has already expired; it cannot be used",
}

_ROLE_NAMES = {"station": "station", "supervisor": "supervisor", "operator": "hotline operator"}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = sub.add_parser(
        "staff", help="enrol and manage station staff, supervisors and hotline operators"
    )
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    invite = staff_sub.add_parser("invite", help="print a one-time /join code")
    where = invite.add_mutually_exclusive_group(required=True)
    where.add_argument("--station", help="township code (12 digits) of the station")
    where.add_argument("--county", help="county code, for a county supervisor")
    where.add_argument("--city", help="city code, for a city supervisor or hotline operator")
    where.add_argument(
        "--province", action="store_true", help="the whole province, for a hotline operator"
    )
    where.add_argument("--cancel", metavar="CODE", help="cancel a code that was not used yet")
    invite.add_argument(
        "--role",
        choices=ROLES,
        default=None,
        help="station (with --station), supervisor (--county, --city) or operator, a hotline"
        " operator for the REST API (--city, --province)",
    )
    invite.add_argument("--group", action="store_true", help="bind a Telegram group instead")
    invite.add_argument("--hours", type=int, default=None, help="valid for (default 72)")
    staff_sub.add_parser("invites", help="invitations not used, cancelled or expired yet")
    listing = staff_sub.add_parser("list", help="enrolled staff")
    listing.add_argument("--scope", help="only this station/county/city code")
    listing.add_argument("--all", action="store_true", help="include those who left")
    rev = staff_sub.add_parser("revoke", help="end a staff member's access")
    rev.add_argument("member_id", type=int)
    staff_sub.add_parser("groups", help="Telegram groups bound to a station")
    unbind = staff_sub.add_parser("unbind-group", help="stop sending referrals to a group")
    unbind.add_argument("chat_id", help="the group's chat id (see `hutong staff groups`)")


async def run(args: argparse.Namespace, settings: Settings, db: Database) -> str:
    from bot.service import load_directory

    now = system_clock()
    if args.staff_command == "invite" and args.cancel is not None:
        if args.role or args.group or args.hours is not None:
            raise SettingsError("--cancel takes no other option")
        return await _cancel(db, args.cancel)
    if args.staff_command == "invite":
        role = args.role or (
            "station" if args.station else "operator" if args.province else "supervisor"
        )
        args.hours = 72 if args.hours is None else args.hours
        if not 1 <= args.hours <= 24 * 30:
            raise SettingsError("--hours must be between 1 and 720")
        directory = await load_directory(db)
        try:
            scope = scope_for(
                directory,
                role=role,
                station=args.station,
                county=args.county,
                city=args.city,
                province=args.province,
            )
            async with db.unit() as session:
                code = await issue_invite(
                    session=session,
                    scope=scope,
                    kind="group" if args.group else "member",
                    now=now,
                    ttl=timedelta(hours=args.hours),
                )
        except EnrolmentError as exc:
            raise SettingsError(_MESSAGES[exc.key].format(**exc.values)) from None
        expires = local_time(now + timedelta(hours=args.hours))
        what = "group binding" if args.group else _ROLE_NAMES[scope.role]
        where = "in the group" if args.group else "to the bot"
        return (
            f"{code}\n{what} for {scope_name(directory, scope.code)}; "
            f"send /join {code} {where}; valid once, until {expires} (Asia/Shanghai)\n"
            f"{await _link(settings, code, group=args.group)}"
        )
    if args.staff_command == "list":
        async with db.unit() as session:
            members = await list_members(
                session=session, scope_code=args.scope, include_inactive=args.all
            )
        lines = [f"{'id':>5}  {'role':<10} {'scope':<12} {'active':<6} name"]
        lines += [
            f"{m.id:>5}  {m.role:<10} {m.scope_code:<12} {'yes' if m.active else 'no':<6} "
            f"{m.display_name}"
            for m in members
        ]
        return "\n".join(lines)
    if args.staff_command == "invites":
        return await _invites(db)
    if args.staff_command == "groups":
        return await _groups(db)
    if args.staff_command == "unbind-group":
        return await _unbind(db, args.chat_id)
    async with db.unit() as session:
        member = await revoke(session=session, member_id=args.member_id, now=now)
    if member is None:
        raise SettingsError(f"no active staff member with id {args.member_id}")
    return f"revoked {member.id} ({member.display_name}, {member.role} {member.scope_code})"


async def _link(settings: Settings, code: str, *, group: bool) -> str:
    """The t.me link that joins with the code (in a group: adds the bot to one, then binds
    it), or why there is none: the bot's username is a setting, or getMe's answer."""
    username, why = settings.telegram_username, ""
    if username is None and settings.telegram_token is None:
        why = "HUTONG_TELEGRAM_USERNAME (or HUTONG_TELEGRAM_TOKEN) is not set"
    elif username is None:
        try:
            username = await _ask_username(settings)
        except Exception as exc:  # the code stands without its link: say why, go on
            why = f"the Bot API did not say the bot's username ({describe(exc)})"
    if username is None:
        return f"no link: {why}; set HUTONG_TELEGRAM_USERNAME to print one"
    what = "adds the bot to a group and binds it" if group else "opens the bot and joins"
    return f"link ({what}): {join_link(username, code, group=group)}"


async def _ask_username(settings: Settings) -> str:
    assert settings.telegram_token is not None
    seconds = USERNAME_LOOKUP_SECONDS
    bot = Bot(
        settings.telegram_token.get_secret_value(),
        base_url=f"{settings.telegram_api_url}/bot",
        request=AiohttpRequest(1, read_timeout=seconds, connect_timeout=seconds),
        get_updates_request=AiohttpRequest(1),  # not used; PTB's own would be httpx
    )
    try:
        async with asyncio.timeout(seconds * 2):
            await bot.initialize()  # getMe
        return bot.username
    finally:
        await bot.shutdown()


def _scope(directory: Directory, code: str) -> str:
    return scope_name(directory, code)


async def _invites(db: Database) -> str:
    """Codes that could still be used; never a code (only its hash is stored)."""
    from bot.service import load_directory

    async with db.unit() as session:
        invites = await pending_invites(session=session, now=system_clock())
    if not invites:
        return "no pending invitations"
    directory = await load_directory(db)
    rows = [
        (i.id, i.kind, i.role, _scope(directory, i.scope_code), i.created_at, i.expires_at)
        for i in invites
    ]
    header = ("id", "kind", "role", "scope", "created", "expires")
    return f"{len(rows)} pending invitation(s), times Asia/Shanghai\n" + table(header, rows)


async def _cancel(db: Database, code: str) -> str:
    from bot.service import load_directory

    try:
        async with db.unit() as session:
            invite = await cancel_invite(session=session, code=code, now=system_clock())
    except EnrolmentError as exc:
        raise SettingsError(_MESSAGES[exc.key].format(**exc.values)) from None
    directory = await load_directory(db)
    return (
        f"cancelled invitation {invite.id} ({invite.kind}, {invite.role},"
        f" {_scope(directory, invite.scope_code)}); /join with it is refused"
    )


async def _groups(db: Database) -> str:
    from bot.service import load_directory

    async with db.unit() as session:
        groups = await active_groups(session=session)
    if not groups:
        return "no groups are bound to a station"
    directory = await load_directory(db)
    rows = [(g.id, g.chat_id, _scope(directory, g.station_code), g.bound_at) for g in groups]
    header = ("id", "chat id", "station", "bound since")
    return f"{len(rows)} bound group(s), times Asia/Shanghai\n" + table(header, rows)


async def _unbind(db: Database, chat_id: str) -> str:
    from bot.service import load_directory

    async with db.unit() as session:
        station = await bound_station(session, chat_id=chat_id)
        if station is not None:
            await unbind_group(session=session, chat_id=chat_id, now=system_clock())
    if station is None:
        raise SettingsError(f"no group with chat id {chat_id} is bound (see `hutong staff groups`)")
    directory = await load_directory(db)
    return f"unbound group {chat_id} from {_scope(directory, station)}; referrals stop going there"
