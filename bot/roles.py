"""What one ``hutong serve`` process does: everything, or one part of a split deployment.

``web`` processes receive (the webhook and the HTTP routes) and may run in any number behind
a load balancer; ``worker`` processes send (the outbox) and run the scheduled jobs (the
deadline sweep, retention, retries), and two or more may run: claims skip rows another
holds and Telegram's limits are kept in the database. ``all`` is one process doing both.
Split roles need PostgreSQL (SQLite has one writer) and the webhook (only one process can
long-poll).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ALL = "all"
    WEB = "web"
    WORKER = "worker"

    @property
    def receives(self) -> bool:
        """Takes updates in (webhook or long polling) and serves the HTTP routes."""
        return self in (Role.ALL, Role.WEB)

    @property
    def sends(self) -> bool:
        """Runs an outbox sender."""
        return self in (Role.ALL, Role.WORKER)

    @property
    def runs_jobs(self) -> bool:
        """Runs the scheduled jobs: the deadline sweep, retention, the inbox's retries."""
        return self in (Role.ALL, Role.WORKER)

    @property
    def shares_limits(self) -> bool:
        """Other processes may send too: Telegram's limits are kept in the database."""
        return self is Role.WORKER

    @property
    def is_split(self) -> bool:
        return self is not Role.ALL
