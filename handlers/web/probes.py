"""What the running service tells ``/healthz`` and ``/readyz`` about its parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

# Component states that mean this process is broken, not merely waiting on something.
STALLED: Final = "stalled"
STOPPED: Final = "stopped"
OFF: Final = "off"
UNHEALTHY: Final = frozenset({STALLED, STOPPED})


def off() -> str:
    return OFF


def _yes() -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Probes:
    """What the running service says about its parts: "ok", what it is waiting for, or
    "off" where the part does not run in this process (a web role has no scheduler)."""

    telegram: Callable[[], str] = off
    scheduler: Callable[[], str] = off
    sender: Callable[[], str] = off
    accepting: Callable[[], bool] = _yes  # False once shutdown has begun
