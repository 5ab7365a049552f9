"""Deadlines and the escalation ladder: the defaults, overridable by a TOML file.

The policy in force is frozen onto each ticket when it is dispatched (``Ticket.sla``), so an
operator editing the file later changes new tickets only, never tickets in flight.

    # hutong-sla.toml (HUTONG_SLA_FILE); minutes unless said otherwise
    reminder_fraction = 0.5   # reminder to the station at this part of the sign-for window
    repeat_limit = 3          # after L1 (county) and L2 (city): this many repeats, then digest
    digest_hour = 9           # daily digest to supervisors, Asia/Shanghai hour
    [P0]
    sign = 15
    first_action = 120
    resolve = 1440
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flows.states import State

if TYPE_CHECKING:
    from storage.models import Ticket

PRIORITIES: Final = ("P0", "P1", "P2")


class Windows(BaseModel):
    """Minutes from dispatch. The clock starts at dispatch, not at sign-for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sign: float = Field(gt=0)
    first_action: float = Field(gt=0)
    resolve: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Windows:
        if not self.sign <= self.first_action <= self.resolve:
            raise ValueError("expected sign <= first_action <= resolve")
        return self


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    P0: Windows = Windows(sign=15, first_action=120, resolve=1440)
    P1: Windows = Windows(sign=120, first_action=1440, resolve=3 * 1440)
    P2: Windows = Windows(sign=1440, first_action=3 * 1440, resolve=7 * 1440)
    reminder_fraction: float = Field(default=0.5, gt=0, lt=1)
    repeat_limit: int = Field(default=3, ge=0, le=20)
    digest_hour: int = Field(default=9, ge=0, le=23)
    name: str = "default"

    def windows(self, priority: str) -> Windows:
        windows: Windows = getattr(self, priority)
        return windows


DEFAULT_POLICY: Final = Policy()


class PolicyError(Exception):
    """The SLA file cannot be used; the message is one line for the operator."""


def load_policy(path: Path | None) -> Policy:
    if path is None:
        return DEFAULT_POLICY
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        data.setdefault("name", path.name)
        return Policy.model_validate(data)
    except OSError as exc:
        raise PolicyError(f"cannot read the SLA file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"the SLA file {path} is not valid TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PolicyError(f"the SLA file {path}: {where}: {first['msg']}") from None


@dataclass(frozen=True, slots=True)
class Frozen:
    """The part of a policy a ticket carries: its windows and the ladder's shape."""

    sign: float
    first_action: float
    resolve: float
    reminder_fraction: float
    repeat_limit: int
    policy: str

    def as_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "windows": {
                "sign": self.sign,
                "first_action": self.first_action,
                "resolve": self.resolve,
            },
            "reminder_fraction": self.reminder_fraction,
            "repeat_limit": self.repeat_limit,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, priority: str) -> Frozen:
        """Read a ticket's frozen policy; tickets from before a key existed get the default."""
        w = data.get("windows") or DEFAULT_POLICY.windows(priority).model_dump()
        return cls(
            sign=float(w["sign"]),
            first_action=float(w["first_action"]),
            resolve=float(w["resolve"]),
            reminder_fraction=float(
                data.get("reminder_fraction", DEFAULT_POLICY.reminder_fraction)
            ),
            repeat_limit=int(data.get("repeat_limit", DEFAULT_POLICY.repeat_limit)),
            policy=str(data.get("policy", "default")),
        )


def freeze(policy: Policy, priority: str) -> Frozen:
    w = policy.windows(priority)
    return Frozen(
        sign=w.sign,
        first_action=w.first_action,
        resolve=w.resolve,
        reminder_fraction=policy.reminder_fraction,
        repeat_limit=policy.repeat_limit,
        policy=policy.name,
    )


@dataclass(frozen=True, slots=True)
class Deadlines:
    sign: datetime
    first_action: datetime
    resolve: datetime


def deadlines(frozen: Frozen, *, start: datetime) -> Deadlines:
    return Deadlines(
        sign=start + timedelta(minutes=frozen.sign),
        first_action=start + timedelta(minutes=frozen.first_action),
        resolve=start + timedelta(minutes=frozen.resolve),
    )


# ---- the sign-for ladder ---------------------------------------------------------------
# Rung 0: reminder to the station, at reminder_fraction of the sign window.
# Rung 1: sign-for breach: county supervisors (L1); the ticket is overdue.
# Rung 2: one window later: the city (L2).
# Rungs 3 … 2+repeat_limit: once a window, county and city again.
# After that the ticket is in each supervisor's daily digest until someone acts.

REMINDER, LEVEL1, LEVEL2 = 0, 1, 2


def rung_time(frozen: Frozen, rung: int, *, start: datetime, base: datetime) -> datetime | None:
    """When sign-for rung ``rung`` fires; None when the ladder is exhausted.

    ``start`` is the dispatch, ``base`` the time of rung 1: the sign-for deadline, or, when
    the ladder resumes after a reverted sign-for, the moment it resumed.
    """
    window = timedelta(minutes=frozen.sign)
    if rung == REMINDER:
        return start + window * frozen.reminder_fraction
    if rung > LEVEL2 + frozen.repeat_limit:
        return None
    return base + window * (rung - LEVEL1)


# ---- a ticket on the ladder ------------------------------------------------------------
# Every change of a ticket's deadlines or ladder position is made here, so the arithmetic
# has one home; the callers decide *when* (dispatch, sign-for, a sweep, a failed referral).


def frozen_of(ticket: Ticket) -> Frozen:
    return Frozen.from_json(ticket.sla, priority=ticket.priority)


def sign_window(ticket: Ticket) -> timedelta:
    return sign_window_of(ticket.sla, ticket.priority)


def sign_window_of(frozen_json: dict[str, Any], priority: str) -> timedelta:
    """The sign-for window from a ticket's stored policy (for queries that read columns)."""
    return timedelta(minutes=Frozen.from_json(frozen_json, priority=priority).sign)


def start_ladder(ticket: Ticket, *, now: datetime) -> None:
    """A dispatch or re-dispatch: a full sign-for window from ``now`` and a fresh ladder
    starting with the reminder. The first-action and resolve deadlines are not touched."""
    frozen = frozen_of(ticket)
    ticket.dispatched_at = now
    ticket.sign_due_at = now + timedelta(minutes=frozen.sign)
    ticket.ladder_rung = REMINDER
    ticket.ladder_base = ticket.sign_due_at
    ticket.overdue_level = 0
    ticket.overdue_since = None
    ticket.next_due_at = rung_time(frozen, REMINDER, start=now, base=ticket.sign_due_at)


def next_rung_at(ticket: Ticket) -> datetime | None:
    assert ticket.dispatched_at is not None
    base = ticket.ladder_base or ticket.sign_due_at
    assert base is not None
    return rung_time(frozen_of(ticket), ticket.ladder_rung, start=ticket.dispatched_at, base=base)


def overdue_level_for(rung: int) -> int:
    """How far up an un-signed ticket has gone, from the next rung to fire."""
    return 2 if rung > LEVEL2 else 1 if rung > LEVEL1 else 0


RungName = Literal["reminder", "breach", "city", "repeat"]


def rung_name(rung: int) -> RungName:
    """What a rung is: the station's reminder, the breach (county), the city, a repeat."""
    if rung == REMINDER:
        return "reminder"
    if rung == LEVEL1:
        return "breach"
    return "city" if rung == LEVEL2 else "repeat"


def repeat_number(rung: int) -> int:
    """Which repeat a rung past L2 is (1, 2, …)."""
    return rung - LEVEL2


def rung_note(rung: int) -> str:
    """How a fired rung is written in the ticket's history."""
    return f"rung {rung}" + (f" L{min(rung, LEVEL2)}" if rung >= LEVEL1 else "")


def climb(ticket: Ticket, *, due_at: datetime) -> None:
    """The current rung has fired: the ticket is overdue from its breach on, and the next
    rung is due (None once the ladder is exhausted: the daily digest carries it on)."""
    if ticket.ladder_rung >= LEVEL1 and ticket.overdue_since is None:
        ticket.overdue_since = ticket.sign_due_at or due_at
    ticket.ladder_rung += 1
    ticket.overdue_level = overdue_level_for(ticket.ladder_rung)
    ticket.next_due_at = next_rung_at(ticket)


def resume_ladder(ticket: Ticket, now: datetime) -> None:
    """Back to un-signed after a sign-for: the ladder goes on from the rung it had reached,
    that rung now and the next ones a window apart. The sign-for deadline has passed by
    then, so a reminder still pending gives way to L1."""
    ticket.ladder_rung = max(ticket.ladder_rung, LEVEL1)
    ticket.ladder_base = now - sign_window(ticket) * (ticket.ladder_rung - LEVEL1)
    ticket.overdue_level = overdue_level_for(ticket.ladder_rung)
    ticket.next_due_at = next_rung_at(ticket)


def breach_now(ticket: Ticket, *, now: datetime) -> None:
    """Skip the reminder and go to L1 at once (a referral that reached nobody)."""
    ticket.ladder_rung = max(ticket.ladder_rung, LEVEL1)
    ticket.next_due_at = now


def first_action_deadline(ticket: Ticket, now: datetime) -> datetime:
    """When a signed ticket reverts without a first action: its first-action deadline, but
    at least one sign-for window from ``now``, so a sign-for made late (or a return judged
    late) is not undone by the next sweep before anyone could call or visit."""
    grace = now + sign_window(ticket)
    if ticket.first_action_due_at is None:
        return grace
    return max(ticket.first_action_due_at, grace)


def tighten(ticket: Ticket, frozen: Frozen, *, now: datetime) -> None:
    """The ticket was raised to a more urgent priority after filing (words added to it
    raised the alarm): ``frozen`` (that priority's windows) is its policy from now on, and
    its deadlines are the new windows counted from ``now`` where that is sooner — none
    moves later. An un-signed ticket still waiting for its reminder gets the new sign-for
    window; one already past it climbs on, a window (now the shorter one) a rung."""
    ticket.sla = frozen.as_json()
    due = deadlines(frozen, start=now)
    old_first, old_resolve = ticket.first_action_due_at, ticket.resolve_due_at
    ticket.first_action_due_at = _sooner(old_first, due.first_action)
    ticket.resolve_due_at = _sooner(old_resolve, due.resolve)
    if ticket.signed_at is None and ticket.ladder_rung == REMINDER:
        if ticket.sign_due_at is None or due.sign < ticket.sign_due_at:
            ticket.sign_due_at = ticket.ladder_base = due.sign
            reminder = rung_time(frozen, REMINDER, start=now, base=due.sign)
            ticket.next_due_at = _sooner(ticket.next_due_at, reminder)
    elif ticket.next_due_at is not None:
        # A signed ticket waits for the deadline its next_due_at was set from.
        if ticket.next_due_at == old_first:
            ticket.next_due_at = ticket.first_action_due_at
        elif ticket.next_due_at == old_resolve:
            ticket.next_due_at = ticket.resolve_due_at


def _sooner(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return min(a, b)


def restart_after_merge(ticket: Ticket, state: str, *, now: datetime) -> None:
    """A merged report worked on its own again (un-merged) in ``state``: its clock, stopped
    while the kept ticket carried the case, starts again. A first-action or resolve deadline
    still ahead is kept; one that passed meanwhile gets its full window from ``now``. An
    un-signed report gets a fresh sign-for window and ladder, as a re-dispatch does."""
    frozen = frozen_of(ticket)

    def kept_or_fresh(at: datetime | None, minutes: float) -> datetime:
        return at if at is not None and at > now else now + timedelta(minutes=minutes)

    ticket.first_action_due_at = kept_or_fresh(ticket.first_action_due_at, frozen.first_action)
    ticket.resolve_due_at = kept_or_fresh(ticket.resolve_due_at, frozen.resolve)
    ticket.resolve_overdue_at = None
    if state == State.DISPATCHED:
        start_ladder(ticket, now=now)
    elif state == State.ACKNOWLEDGED:
        ticket.next_due_at = first_action_deadline(ticket, now)
    else:  # in progress or reopened: the resolve deadline is the one that runs
        ticket.next_due_at = ticket.resolve_due_at
