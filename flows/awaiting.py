"""What a chat's next text message completes: a staff member's note, reason or resolution,
or a reporter's comment after 不满意.

A button that needs words leaves one of these records on the chat's conversation
(``answers["_await"]``, kept by ``flows.conversations``), and the next text is read
against it. Stored as a small dict: ``{"v": 1, "k": <kind>, "t": <ticket id>, …}``. Dicts
written before records had a version carry the same keys without ``"v"`` and read as
version 1. A dict that cannot be read (another version, an unknown kind, a field of the
wrong type) reads as None: nothing is awaited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

VERSION: Final = 1
ANSWERS_KEY: Final = "_await"  # where a conversation's answers hold the record
_ID_MAX: Final = 2**31 - 1  # PostgreSQL's integer ids


@dataclass(frozen=True, slots=True)
class Note:
    """A progress note on a signed ticket."""

    KIND: ClassVar[str] = "note"
    ticket_id: int


@dataclass(frozen=True, slots=True)
class ExtensionReason:
    """Why the station asks for ``days`` more."""

    KIND: ClassVar[str] = "ext"
    ticket_id: int
    days: int


@dataclass(frozen=True, slots=True)
class Resolution:
    """What was done, for 办结 with ``outcome``."""

    KIND: ClassVar[str] = "res"
    ticket_id: int
    outcome: str


@dataclass(frozen=True, slots=True)
class ReturnReason:
    """Why the station gives the ticket back (退单, reason "other")."""

    KIND: ClassVar[str] = "ret"
    ticket_id: int


@dataclass(frozen=True, slots=True)
class FeedbackComment:
    """The reporter's words after 不满意."""

    KIND: ClassVar[str] = "fbc"
    ticket_id: int


StaffText = Note | ExtensionReason | Resolution | ReturnReason
Awaiting = StaffText | FeedbackComment


def to_dict(record: Awaiting) -> dict[str, Any]:
    stored: dict[str, Any] = {"v": VERSION, "k": record.KIND, "t": record.ticket_id}
    if isinstance(record, ExtensionReason):
        stored["d"] = record.days
    elif isinstance(record, Resolution):
        stored["o"] = record.outcome
    return stored


def from_dict(stored: object) -> Awaiting | None:
    """The record a conversation holds, or None when it holds none this version reads."""
    if not isinstance(stored, dict) or _number(stored.get("v", VERSION)) != VERSION:
        return None
    ticket_id = _number(stored.get("t"))
    if ticket_id is None:
        return None
    kind = stored.get("k")
    if kind == Note.KIND:
        return Note(ticket_id)
    if kind == ReturnReason.KIND:
        return ReturnReason(ticket_id)
    if kind == FeedbackComment.KIND:
        return FeedbackComment(ticket_id)
    if kind == ExtensionReason.KIND:
        days = _number(stored.get("d"))
        return ExtensionReason(ticket_id, days) if days is not None else None
    if kind == Resolution.KIND:
        outcome = stored.get("o")
        return Resolution(ticket_id, outcome) if isinstance(outcome, str) else None
    return None


def _number(value: object) -> int | None:
    # bool is an int to Python; JSON true is not a ticket id.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _ID_MAX:
        return value
    return None
