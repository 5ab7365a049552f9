"""What flows say back, independent of the channel that will render it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from flows.awaiting import Awaiting

# Button data comes back from the client and can be forged: ``str.isdigit`` also takes "²",
# and a number past 2**31 overflows PostgreSQL's integer ids (nine digits never do).
_NUMBER: Final = re.compile(r"[0-9]{1,9}")


def number_in(data: str) -> int | None:
    """The non-negative number a button's data carries, or None when it is not one."""
    return int(data) if _NUMBER.fullmatch(data) else None


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str  # under 64 bytes: Telegram's callback_data limit


@dataclass(slots=True)
class Reply:
    text: str  # HTML; every user-supplied value already escaped
    buttons: list[list[Button]] = field(default_factory=list)
    # Ask the channel for a "share my phone number" keyboard (Telegram: request_contact).
    ask_contact: bool = False
    # Take away a channel keyboard left over from ask_contact.
    remove_keyboard: bool = False
    # Replace the message whose button was pressed instead of sending a new one.
    edit: bool = False
    # A file the channel already holds, sent with ``text`` as its caption: (kind, file_ref),
    # kind one of MEDIA_KINDS.
    media: tuple[str, str] | None = None


# What a reporter may attach; each is kept as the channel's file reference, never the bytes.
MEDIA_KINDS: Final = ("photo", "voice", "video", "document")


@dataclass(slots=True)
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    # A short notice for the pressed button (Telegram: answerCallbackQuery text).
    notice: str | None = None
    # Something the caller must carry out in the same transaction (intake: file, look up).
    effect: object | None = None
    changed: bool = False
    locale: str = "zh"  # of the replies; set once the turn is over
    # Outbox rows were written: wake the sender instead of waiting for its next tick.
    outbox_written: bool = False
    # The next text message of this chat completes an action (a note, a reason, a comment).
    awaiting: Awaiting | None = None
