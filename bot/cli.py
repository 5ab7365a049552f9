"""The ``hutong`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence

from bot import erase_cli, faq_cli, logs, ops_cli, staff_cli, station_cli, token_cli
from bot.roles import Role
from bot.settings import SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hutong", description="护童之声 help-line triage")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the service: web server, scheduler, Telegram bot")
    serve.add_argument(
        "--role",
        choices=[role.value for role in Role],
        default=Role.ALL.value,
        help="all (default): everything in this process; web: webhook and HTTP (any number"
        " of processes); worker: outbox sender and scheduled jobs (one or more). web and"
        " worker need PostgreSQL and HUTONG_WEBHOOK_URL",
    )
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply schema migrations and load the directory")
    staff_cli.add_parser(sub)
    token_cli.add_parser(sub)
    ops_cli.add_parser(sub)
    erase_cli.add_parser(sub)
    faq_cli.add_parser(sub)
    station_cli.add_parser(sub)
    return parser


def _event_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop for the service where it is installed: the event loop's own bookkeeping (a
    callback per socket event, per database answer) was a fifth of the CPU of an update."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        # Every command logs through the formatter that withholds exception messages.
        # Console commands print their result; their logging is for problems only.
        logs.configure(settings.log_level.upper() if args.command == "serve" else logging.WARNING)
        if args.command == "serve":
            from bot.heap import fix_mmap_threshold
            from bot.service import serve

            fix_mmap_threshold()  # before start-up builds the place directory
            with asyncio.Runner(loop_factory=_event_loop()) as runner:
                runner.run(serve(settings, role=Role(args.role)))
        elif args.command == "db" and args.db_command == "upgrade":
            from bot.service import upgrade_and_seed

            asyncio.run(upgrade_and_seed(settings))
            print("database is up to date")
        elif args.command == "staff":
            from bot.service import with_database

            print(
                asyncio.run(with_database(settings, lambda db: staff_cli.run(args, settings, db)))
            )
        elif args.command == "api-token":
            from bot.service import with_database

            print(asyncio.run(with_database(settings, lambda db: token_cli.run(args, db))))
        elif args.command in ("inbox", "outbox"):
            from bot.service import with_database

            print(asyncio.run(with_database(settings, lambda db: ops_cli.run(args, db))))
        elif args.command == "erase":
            from bot.service import with_database

            print(asyncio.run(with_database(settings, lambda db: erase_cli.run(args, db))))
        elif args.command in ("faq", "station"):
            from bot.service import with_database

            module = faq_cli if args.command == "faq" else station_cli
            print(asyncio.run(with_database(settings, lambda db: module.run(args, db))))
    except SettingsError as exc:
        print(f"hutong: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"hutong: {exc}", file=sys.stderr)
        return 1
    except Exception:
        # Through the log formatter, not Python's traceback printer: a driver's message may
        # quote the values of the statement that failed.
        logging.getLogger("hutong").exception("hutong %s stopped by an error", args.command)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
