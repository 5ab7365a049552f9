"""What the process counts for ``/metrics`` (Prometheus), as it happens.

Counts of this process only: each process of a split deployment is scraped on its own and
Prometheus adds them up. What is a state of the database (backlog, open tickets, sweep lag)
is read from it at each scrape instead (``handlers/web/metrics.py``). Labels are fixed small
sets (channel, way in, outcome): never a chat, a ticket or a person.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

UPDATES_RECEIVED: Final = Counter(
    "hutong_updates_received_total",
    "Updates stored in the inbox, by channel and way in (webhook, polling).",
    ["channel", "via"],
)
UPDATES_HANDLED: Final = Counter(
    "hutong_updates_handled_total",
    "Updates handled, by outcome: handled, duplicate (already handled), failed (left"
    " pending for a retry).",
    ["channel", "outcome"],
)
HANDLING_SECONDS: Final = Histogram(
    "hutong_update_handling_seconds",
    "Time to handle one update: its turn committed and its replies handed to the sender.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DELIVERIES: Final = Counter(
    "hutong_deliveries_total",
    "Outbox rows settled by the sender: sent, retried (a failed try, tried again later) or"
    " failed (given up).",
    ["channel", "result"],
)
SWEEP_SECONDS: Final = Histogram(
    "hutong_sweep_duration_seconds",
    "Wall time of one deadline sweep tick.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SWEEP_FIRED: Final = Counter(
    "hutong_sweep_advanced_total", "Tickets the deadline sweep advanced (a rung fired)."
)
SWEEP_LAST_RUN: Final = Gauge(
    "hutong_sweep_last_run_timestamp_seconds",
    "When this process's last deadline sweep tick finished (Unix time).",
)
