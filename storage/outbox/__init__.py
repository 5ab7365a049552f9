"""The outbox: every message the system must say, as rows in the database.

A package, one module per side: ``queue`` (writing rows), ``leases`` (the sender's claims
and results), ``admin`` (operators and retention); everything is used as ``outbox.<name>``.

The one place that writes and moves outbox rows. A row is queued (``enqueue``) in the
transaction of the change that causes it, for one chat or for a role (a station, a
county's supervisors) that ``flows.notices.expand`` turns into one row per chat. The
channel's sender claims due rows with a lease (``claim``), and marks each sent, rescheduled
or failed; operators list and requeue failed rows; retention empties old payloads.

A row's life: ``pending`` → ``sending`` (claimed, or written by a dialogue turn that sends
it itself right after its commit) → ``sent`` | back to ``pending`` (a passing failure, a
chat that must wait) | ``failed`` (given up, with the reason in ``error``).

What a failure means for a ticket (escalation) is decided in ``flows.delivery``, not here.
"""

from storage.outbox.admin import erase_delivered, failed, retry_failed
from storage.outbox.leases import (
    claim,
    due_for_roles,
    fail,
    mark_sent,
    move_chat,
    original,
    release,
    release_in_flight,
    renew,
    reschedule,
)
from storage.outbox.queue import (
    DEDUP_KEY_MAX,
    DIRECT,
    DIRECT_LEASE,
    LEASE,
    SCOPE,
    WITHDRAWN,
    Batch,
    as_row,
    enqueue,
    fit_key,
    waiting_for,
)

__all__ = [
    "DEDUP_KEY_MAX",
    "DIRECT",
    "DIRECT_LEASE",
    "LEASE",
    "SCOPE",
    "WITHDRAWN",
    "Batch",
    "as_row",
    "claim",
    "due_for_roles",
    "enqueue",
    "erase_delivered",
    "fail",
    "failed",
    "fit_key",
    "mark_sent",
    "move_chat",
    "original",
    "release",
    "release_in_flight",
    "renew",
    "reschedule",
    "retry_failed",
    "waiting_for",
]
