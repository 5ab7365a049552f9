"""``hutong staff …``: invitations and the staff list, for operators at the console."""

from __future__ import annotations

import argparse
from datetime import timedelta

from bot.settings import Settings, SettingsError
from flows.clock import system_clock
from flows.staff import EnrolmentError, issue_invite, list_members, revoke, scope_for
from flows.tickets import local_time
from storage.db import Database

_MESSAGES = {
    "invite.bad_station": "--station {code} is not a township code in the directory",
    "invite.bad_county": "--county {code} is not a county code (东莞/中山 have none: use --city)",
    "invite.bad_city": "--city {code} is not a city code",
    "invite.need_scope": "a supervisor needs --county or --city",
    "invite.bad_role": "unknown role {role}",
    "invite.group_needs_station": "a group can only be bound to a station (--station)",
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = sub.add_parser("staff", help="enrol and manage station staff and supervisors")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    invite = staff_sub.add_parser("invite", help="print a one-time /join code")
    where = invite.add_mutually_exclusive_group(required=True)
    where.add_argument("--station", help="township code (12 digits) of the station")
    where.add_argument("--county", help="county code, for a county supervisor")
    where.add_argument("--city", help="city code, for a city supervisor")
    invite.add_argument("--role", choices=["station", "supervisor"], default=None)
    invite.add_argument("--group", action="store_true", help="bind a Telegram group instead")
    invite.add_argument("--hours", type=int, default=72, help="valid for (default 72)")
    listing = staff_sub.add_parser("list", help="enrolled staff")
    listing.add_argument("--scope", help="only this station/county/city code")
    listing.add_argument("--all", action="store_true", help="include those who left")
    rev = staff_sub.add_parser("revoke", help="end a staff member's access")
    rev.add_argument("member_id", type=int)


async def run(args: argparse.Namespace, settings: Settings, db: Database) -> str:
    from bot.service import load_directory

    now = system_clock()
    if args.staff_command == "invite":
        role = args.role or ("station" if args.station else "supervisor")
        if not 1 <= args.hours <= 24 * 30:
            raise SettingsError("--hours must be between 1 and 720")
        directory = await load_directory(db)
        try:
            scope = scope_for(
                directory, role=role, station=args.station, county=args.county, city=args.city
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
        what = "group binding" if args.group else f"{scope.role}"
        return (
            f"{code}\n{what} for {directory.full_name(scope.code)} ({scope.code}); "
            f"send /join {code} to the bot; valid once, until {expires} (Asia/Shanghai)"
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
    async with db.unit() as session:
        member = await revoke(session=session, member_id=args.member_id, now=now)
    if member is None:
        raise SettingsError(f"no active staff member with id {args.member_id}")
    return f"revoked {member.id} ({member.display_name}, {member.role} {member.scope_code})"
