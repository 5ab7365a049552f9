"""``hutong api-token …``: bearer tokens for the REST API, for operators at the console."""

from __future__ import annotations

import argparse

from bot.console import table
from bot.settings import SettingsError
from flows.api_tokens import TokenError, create_token, list_tokens, revoke_token
from flows.clock import system_clock
from flows.staff import scope_name
from storage.db import Database

_MESSAGES = {
    "token.unknown_staff": "no staff member has id {staff_id} (see `hutong staff list`)",
    "token.inactive_staff": "staff member {staff_id} has left; a token needs an enrolled member",
    "token.label_too_long": "--label is at most {max} characters",
    "token.label_unprintable": "--label must be printable text on one line",
    "revoke.unknown": "no API token has id {token_id} (see `hutong api-token list`)",
    "revoke.already": "API token {token_id} is already revoked",
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    api = sub.add_parser("api-token", help="bearer tokens for the REST API")
    api_sub = api.add_subparsers(dest="token_command", required=True)
    create = api_sub.add_parser("create", help="print a new token for a staff member, once")
    create.add_argument("--staff", type=int, required=True, help="staff member id")
    create.add_argument("--label", default=None, help="what the token is for (64 characters)")
    listing = api_sub.add_parser("list", help="tokens, revoked ones too (never a token)")
    listing.add_argument("--staff", type=int, default=None, help="only this staff member's")
    rev = api_sub.add_parser("revoke", help="refuse a token from now on")
    rev.add_argument("token_id", type=int)


def _refused(exc: TokenError) -> SettingsError:
    return SettingsError(_MESSAGES[exc.key].format(**exc.values))


async def run(args: argparse.Namespace, db: Database) -> str:
    from bot.service import load_directory

    if args.token_command == "create":
        try:
            async with db.unit() as session:
                row, token = await create_token(
                    session=session, staff_id=args.staff, label=args.label, now=system_clock()
                )
        except TokenError as exc:
            raise _refused(exc) from None
        return (
            f"{token}\nAPI token {row.id} for staff member {row.staff_id}; send it as"
            " `Authorization: Bearer TOKEN`. It is shown only now and cannot be shown again"
            " (only its hash is stored): keep it safe, or revoke it and make a new one"
        )
    if args.token_command == "revoke":
        try:
            async with db.unit() as session:
                row = await revoke_token(
                    session=session, token_id=args.token_id, now=system_clock()
                )
        except TokenError as exc:
            raise _refused(exc) from None
        return (
            f"revoked API token {row.id} (staff member {row.staff_id});"
            " requests with it are refused from now on"
        )
    async with db.unit() as session:
        tokens = await list_tokens(session=session, staff_id=args.staff)
    if not tokens:
        return "no API tokens" + (f" for staff member {args.staff}" if args.staff else "")
    directory = await load_directory(db)
    rows = [
        (
            i.id,
            i.staff_id,
            i.role,
            scope_name(directory, i.scope_code),
            i.label,
            i.created_at,
            i.last_used_at,
            i.revoked_at,
        )
        for i in tokens
    ]
    header = ("id", "staff", "role", "scope", "label", "created", "last used", "revoked")
    return f"{len(rows)} API token(s), times Asia/Shanghai\n" + table(header, rows)
