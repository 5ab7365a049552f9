"""A ticket's states, and the groups of them that rules and queries ask about.

The values are the strings stored in ``ticket.state`` and in the history's ``from_state`` and
``to_state``; ``State`` is a ``StrEnum``, so a member compares equal to what the database
holds and is written as that string.

A report is filed to ``dispatched`` (a township) or ``triage`` (a county's or city's queue);
签收 makes it ``acknowledged``, the first call or visit ``in_progress``, 办结 ``resolved``,
and the reporter's answer ``closed`` (or ``reopened``). 退单 makes it ``returned``; a
supervisor routes it again (``dispatched``) or rejects the return. A sign-for with no first
action in time reverts to ``dispatched``. A report about the same child as an older open
ticket of its station may be merged into it (``merged``, 合并) and un-merged again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class State(StrEnum):
    # Only in the history: the report as filed, before it was routed.
    SUBMITTED = "submitted"
    # Routed to a township station, waiting for its 签收.
    DISPATCHED = "dispatched"
    # In a county's or city's queue: the place named no township.
    TRIAGE = "triage"
    # Signed for by the station; the first call or visit is owed.
    ACKNOWLEDGED = "acknowledged"
    # The first call or visit was made; the resolution is owed.
    IN_PROGRESS = "in_progress"
    # Given back by the station (退单); a supervisor routes it again or rejects the return.
    RETURNED = "returned"
    # Resolved, and the reporter answered 不满意: the station owes a new resolution.
    REOPENED = "reopened"
    # 办结; the reporter's feedback is awaited.
    RESOLVED = "resolved"
    # Done: feedback given, or none within the window.
    CLOSED = "closed"
    # Another report about the same child, merged into an older open ticket of the same
    # station (``merged_into_id``), whose one set of deadlines carries the case; its own
    # clock has stopped. A supervisor may undo it (flows.merging).
    MERGED = "merged"


# Not finished: someone still owes the case something.
OPEN: Final = (
    State.DISPATCHED,
    State.TRIAGE,
    State.ACKNOWLEDGED,
    State.IN_PROGRESS,
    State.RETURNED,
    State.REOPENED,
)
# Nobody has signed for it: the escalation ladder runs on its sign-for deadline.
UNSIGNED: Final = (State.DISPATCHED, State.TRIAGE, State.RETURNED)
# Signed for and not resolved: the station may add notes, ask for more time and resolve.
WORKABLE: Final = (State.ACKNOWLEDGED, State.IN_PROGRESS, State.REOPENED)
# The resolve deadline is the one running (the first action was made, or the reporter
# reopened it): past it, 催办; an extension moves it.
RESOLVING: Final = (State.IN_PROGRESS, State.REOPENED)
# The station may give it back (退单): before or right after signing for it, not once work
# has begun.
RETURNABLE: Final = (State.DISPATCHED, State.ACKNOWLEDGED)
# In a county's or city's queue (unplaced, or returned): a supervisor routes it.
QUEUED: Final = (State.TRIAGE, State.RETURNED)
# A report the station holds (not in a queue) may be merged into an older ticket about the
# same child (合并); un-merging brings it back to the state it had.
MERGEABLE: Final = (State.DISPATCHED, State.ACKNOWLEDGED, State.IN_PROGRESS, State.REOPENED)


# ---- what a station, a supervisor or a reporter may answer ----------------------------
# 办结 outcomes, 退单 reasons, extension lengths in days, the reporter's ratings.
OUTCOMES: Final = (
    "helped_on_site",
    "police",
    "medical",
    "education",
    "financial",
    "placed",
    "not_located",
    "not_cp",
    "other",
)
RETURN_REASONS: Final = ("area", "duplicate", "other")
EXTENSION_DAYS: Final = (1, 3, 7)
FEEDBACK: Final = ("sat", "ok", "unsat")
