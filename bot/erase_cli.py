"""``hutong erase --ticket CODE``: erase one ticket's personal data now, for operators."""

from __future__ import annotations

import argparse

from bot.settings import SettingsError
from flows.clock import system_clock
from flows.retention import EraseError, erase_ticket
from flows.tickets import local_time
from storage.db import Database


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    erase = sub.add_parser(
        "erase",
        help="erase a ticket's personal data now (contact, photos, story, notes, chat)",
    )
    erase.add_argument("--ticket", required=True, metavar="CODE", help="the ticket's code")
    erase.add_argument(
        "--force", action="store_true", help="erase a ticket that is still open as well"
    )


async def run(args: argparse.Namespace, db: Database) -> str:
    code = args.ticket.strip().upper()
    try:
        async with db.unit() as session:
            done = await erase_ticket(
                session=session, code=code, now=system_clock(), force=args.force
            )
    except EraseError as exc:
        if exc.reason == "erased" and exc.erased_at is not None:
            # The state asked for is there already: an answer, not a failure.
            return f"ticket {code} was already erased on {local_time(exc.erased_at)}"
        if exc.reason == "open":
            raise SettingsError(
                f"ticket {code} is still open ({exc.state}) and its case needs the"
                " story: close it first, or add --force"
            ) from None
        raise SettingsError(f"no ticket {code}") from None
    contact = "reporter contact deleted" if done.contact else "no reporter contact"
    return (
        f"erased ticket {done.code}: {contact}, {done.attachments} photo(s),"
        f" {done.notes} note(s), story, place words and reporting chat; statistics kept"
    )
