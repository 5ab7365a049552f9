"""``hutong faq import FILE.toml`` and ``hutong faq list``: the policy questions and answers
(政策咨询) the bot offers, kept by operators in a TOML file (see faq.example.toml).

An import checks the whole file first (flows.faq_file) and refuses it with every problem's
line and entry, changing nothing; a good file replaces every stored entry in one transaction
(flows.faq_store) and the command says what changed. The running bot answers from the new
set from its next message on: nothing to restart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.console import table
from bot.settings import SettingsError
from flows import faq_store
from flows.clock import system_clock
from flows.faq_file import FaqFileError, parse
from storage.db import Database


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    faq = sub.add_parser("faq", help="the policy questions and answers (政策咨询) of the bot")
    commands = faq.add_subparsers(dest="faq_command", required=True)
    load = commands.add_parser(
        "import", help="check FILE and put its entries in place of all stored ones"
    )
    load.add_argument("file", help="the TOML file (see faq.example.toml); - reads standard input")
    load.add_argument(
        "--dry-run", action="store_true", help="check the file and say what would change only"
    )
    commands.add_parser("list", help="the stored entries, in the order the bot lists them")


async def run(args: argparse.Namespace, db: Database) -> str:
    if args.faq_command == "list":
        return await _list(db)
    name, text = _read(args.file)
    try:
        entries = parse(text, name=name)
    except FaqFileError as exc:
        problems = "\n".join(f"  {p}" for p in exc.problems)
        raise SettingsError(f"{name} is refused, nothing was changed:\n{problems}") from None
    async with db.unit() as session:
        changes = await faq_store.replace_all(
            session=session, entries=entries, now=system_clock(), apply=not args.dry_run
        )
    return _report(name, changes, dry_run=args.dry_run)


def _read(file: str) -> tuple[str, str]:
    """The file's name for messages, and its text (UTF-8, a byte-order mark allowed)."""
    if file == "-":
        return "<stdin>", sys.stdin.buffer.read().decode("utf-8-sig", errors="strict")
    path = Path(file)
    try:
        return path.name, path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SettingsError(f"cannot read {file}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{file} is not UTF-8 text (byte {exc.start})") from None


def _report(name: str, changes: faq_store.Changes, *, dry_run: bool) -> str:
    was = changes.total - len(changes.added) + len(changes.removed)
    if dry_run:
        head = f"{name} is valid: {changes.total} entries (stored now: {was}); nothing stored"
    else:
        head = f"imported {name}: {changes.total} entries (before: {was})"
    if not changes.anything:
        return f"{head}; no changes"
    verb = "would be " if dry_run else ""
    lines = [head]
    if changes.added:
        lines.append(f"  {verb}added:   {', '.join(changes.added)}")
    for key, fields in changes.changed:
        lines.append(f"  {verb}changed: {key} ({', '.join(fields)})")
    if changes.removed:
        lines.append(f"  {verb}removed: {', '.join(changes.removed)}")
    if changes.unchanged:
        lines.append(f"  unchanged: {changes.unchanged}")
    if changes.reordered:
        lines.append(f"  the topics {'would be ' if dry_run else 'are '}listed in a new order")
    return "\n".join(lines)


async def _list(db: Database) -> str:
    async with db.unit() as session:
        rows = await faq_store.listed(session)
    if not rows:
        return "no policy answers stored: the bot says so and gives 12355 (hutong faq import FILE)"
    header = ("id", "question", "languages", "source", "date")
    cells = [
        (r.key, r.texts["zh"]["question"], " ".join(r.texts), r.source_title, r.source_date)
        for r in rows
    ]
    return f"{len(rows)} entries\n" + table(header, cells)
