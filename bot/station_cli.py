"""``hutong station phone CODE [NUMBER | --clear]``: the phone people are given for a station
(in the bot's policy answers), for operators at the console."""

from __future__ import annotations

import argparse

from bot.settings import SettingsError
from flows.stations import StationError, get, set_phone
from storage.db import Database


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    station = sub.add_parser("station", help="township stations: the phone people are given")
    commands = station.add_subparsers(dest="station_command", required=True)
    phone = commands.add_parser(
        "phone", help="show a station's phone, set it (NUMBER) or remove it (--clear)"
    )
    phone.add_argument("code", help="the station's township code (12 digits)")
    which = phone.add_mutually_exclusive_group()
    which.add_argument("number", nargs="?", help='the phone, e.g. "020-8765 4321"')
    which.add_argument("--clear", action="store_true", help="remove the phone")


async def run(args: argparse.Namespace, db: Database) -> str:
    code = args.code.strip()
    try:
        async with db.unit() as session:
            if args.number is None and not args.clear:
                station = await get(session=session, code=code)
                shown = station.phone or "none set"
                return f"{station.name} ({station.code}): phone {shown}"
            station = await set_phone(session=session, code=code, phone=args.number)
            name, phone = station.name, station.phone
    except StationError as exc:
        raise SettingsError(str(exc)) from None
    if phone is None:
        return f"{name} ({code}): phone removed; the bot names the station without one"
    return f"{name} ({code}): phone set to {phone}"
