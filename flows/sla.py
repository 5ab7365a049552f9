"""Default deadlines per priority (DESIGN's table), in minutes from dispatch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, TypedDict


class Windows(TypedDict):
    sign: int
    first_action: int
    resolve: int


DEFAULT_SLA: Final[dict[str, Windows]] = {
    "P0": {"sign": 15, "first_action": 120, "resolve": 1440},
    "P1": {"sign": 120, "first_action": 1440, "resolve": 3 * 1440},
    "P2": {"sign": 1440, "first_action": 3 * 1440, "resolve": 7 * 1440},
}


def windows_for(priority: str, policy: dict[str, Windows] | None = None) -> Windows:
    return (policy or DEFAULT_SLA)[priority]


@dataclass(frozen=True, slots=True)
class Deadlines:
    sign: datetime
    first_action: datetime
    resolve: datetime


def deadlines(windows: Windows, *, start: datetime) -> Deadlines:
    """Absolute due times. The clock starts at dispatch, not at sign-for (DESIGN)."""
    return Deadlines(
        sign=start + timedelta(minutes=windows["sign"]),
        first_action=start + timedelta(minutes=windows["first_action"]),
        resolve=start + timedelta(minutes=windows["resolve"]),
    )
