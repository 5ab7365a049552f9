"""What a person did, in any channel, and who did it.

A channel adapter (``handlers.telegram.convert``) turns its updates into these values; the
flows (``flows.conversations`` and what it routes to) never see a channel's own types.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # without the slash, lower case
    arg: str = ""


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Press:
    data: str  # as the client sent it back: parsed by flows.callbacks, may be forged


@dataclass(frozen=True, slots=True)
class Photo:
    file_ref: str
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class Media:
    """A voice message, a video or a file (a document): kept by the channel's reference."""

    kind: str  # voice | video | document
    file_ref: str
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class SharedContact:
    phone: str
    own: bool


@dataclass(frozen=True, slots=True)
class Unsupported:
    kind: str  # sticker | location | photo, voice, video, document too large to keep | other


@dataclass(frozen=True, slots=True)
class BotMembership:
    """The bot itself was added to (``present``) or removed from this chat; not a person's
    turn in the dialogue (``flows.conversations`` routes it to ``flows.staff``)."""

    present: bool


Event = Command | Text | Press | Photo | Media | SharedContact | Unsupported | BotMembership


@dataclass(frozen=True, slots=True)
class Person:
    """Who acts: the account (user) and where they wrote from (chat)."""

    channel: str
    user_id: str
    chat_id: str
    in_group: bool
    display_name: str
    locale: str
