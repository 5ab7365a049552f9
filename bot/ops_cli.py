"""``hutong inbox …`` and ``hutong outbox …``: what could not be processed or delivered, and
putting it back in line, for operators at the console.

Never a payload or a message's text: they hold what people wrote (a child's situation, a
phone number). Ids, kinds, targets, counts, times and error types are enough to act on.
"""

from __future__ import annotations

import argparse
from collections.abc import Sized

from bot.console import table
from bot.settings import SettingsError
from flows.clock import system_clock
from storage import inbox, outbox
from storage.db import Database
from storage.models import InboxUpdate, OutboxMessage

LISTED = 500  # rows shown at most, the oldest first


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, what in (
        ("inbox", "updates from Telegram whose processing failed (parked)"),
        ("outbox", "messages the sender could not deliver"),
    ):
        parser = sub.add_parser(name, help=what)
        commands = parser.add_subparsers(dest="ops_command", required=True)
        commands.add_parser("failed", help=f"list {what}")
        retry = commands.add_parser("retry", help="put one (ID) or all (--all) back in line")
        which = retry.add_mutually_exclusive_group(required=True)
        which.add_argument("id", type=int, nargs="?", help="row id, from `failed`")
        which.add_argument("--all", action="store_true", help="every failed row")


async def run(args: argparse.Namespace, db: Database) -> str:
    if args.command == "inbox":
        if args.ops_command == "failed":
            return await _inbox_failed(db)
        return await _inbox_retry(db, None if args.all else args.id)
    if args.ops_command == "failed":
        return await _outbox_failed(db)
    return await _outbox_retry(db, None if args.all else args.id)


async def _inbox_failed(db: Database) -> str:
    async with db.unit() as session:
        parked = await inbox.failed(session, limit=LISTED)
    if not parked:
        return "no parked updates"
    header = ("id", "update_id", "chat", "attempts", "received", "processed", "error")
    rows = [
        (u.id, u.update_id, u.chat_key, u.attempts, u.received_at, u.processed_at, u.error)
        for u in parked
    ]
    return (
        f"{_count(rows)} parked update(s), times Asia/Shanghai; "
        "`hutong inbox retry ID|--all` processes them again\n" + table(header, rows)
    )


async def _inbox_retry(db: Database, row_id: int | None) -> str:
    async with db.unit() as session:
        if row_id is not None:
            row = await session.get(InboxUpdate, row_id)
            if row is None or row.status != "failed":
                raise SettingsError(
                    f"no parked update with id {row_id} (see `hutong inbox failed`)"
                )
            if row.scrubbed:
                raise SettingsError(
                    f"update {row_id} cannot be retried: its content was erased after 7 days"
                )
        n = await inbox.retry_failed(session, ids=None if row_id is None else [row_id])
    if row_id is None:
        async with db.unit() as session:
            left = len(await inbox.failed(session))
        kept = f"; {left} erased one(s) cannot be retried" if left else ""
        return f"{n} update(s) back to pending{kept}; the running service takes them within 15 s"
    return f"update {row_id} back to pending; the running service takes it within 15 s"


async def _outbox_failed(db: Database) -> str:
    async with db.unit() as session:
        failed = await outbox.failed(session, limit=LISTED)
    if not failed:
        return "no failed messages"
    header = ("id", "kind", "target", "ticket", "attempts", "failed", "error")
    rows = [
        (m.id, m.kind, f"{m.target_kind} {m.target}", code, m.attempts, m.failed_at, m.error)
        for m, code in failed
    ]
    return (
        f"{_count(rows)} failed message(s), times Asia/Shanghai; "
        "`hutong outbox retry ID|--all` sends them again\n" + table(header, rows)
    )


async def _outbox_retry(db: Database, row_id: int | None) -> str:
    now = system_clock()
    async with db.unit() as session:
        if row_id is not None:
            row = await session.get(OutboxMessage, row_id)
            if row is None or row.status != "failed":
                raise SettingsError(
                    f"no failed message with id {row_id} (see `hutong outbox failed`)"
                )
            if row.scrubbed:
                raise SettingsError(
                    f"message {row_id} cannot be sent again: its content was erased"
                )
        n = await outbox.retry_failed(session, now=now, ids=None if row_id is None else [row_id])
    if row_id is None:
        async with db.unit() as session:
            left = len(await outbox.failed(session))
        kept = f"; {left} erased one(s) cannot be sent" if left else ""
        return f"{n} message(s) back in the queue{kept}"
    return f"message {row_id} back in the queue; the running service sends it shortly"


def _count(rows: Sized) -> str:
    return f"the oldest {LISTED} of more" if len(rows) >= LISTED else str(len(rows))
