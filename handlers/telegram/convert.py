"""Telegram ``Update`` -> channel-neutral intake events."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import ChatMember, Message, Update

from flows.events import (
    BotMembership,
    Command,
    Event,
    Media,
    Photo,
    Press,
    SharedContact,
    Text,
    Unsupported,
)
from flows.inputs import clean_optional, clean_text
from storage.models import FILE_REF_MAX

# Telegram caps message text at 4096; anything longer is not a person typing.
_MAX_TEXT = 4096


@dataclass(frozen=True, slots=True)
class Incoming:
    chat_id: int
    event: Event
    user_locale: str | None
    user_id: int | None = None
    display_name: str = ""
    in_group: bool = False
    callback_id: str | None = None
    message_id: int | None = None  # the bot message whose button was pressed


def to_incoming(update: Update, bot_username: str | None = None) -> Incoming | None:
    """What the person did, or None for updates the bot does not act on (edits, joins…)
    or that do not come from a real chat (ids that are not integers: not Telegram's)."""
    incoming = _incoming(update, bot_username)
    if incoming is None or type(incoming.chat_id) is not int:
        return None
    if incoming.user_id is not None and type(incoming.user_id) is not int:
        return None
    return incoming


def _incoming(update: Update, bot_username: str | None) -> Incoming | None:
    user = update.effective_user
    locale = user.language_code if user else None
    user_id = user.id if user else None
    name = clean_text(user.full_name) if user else ""
    if update.my_chat_member is not None:  # the bot's own membership of a chat changed
        changed = update.my_chat_member
        new = changed.new_chat_member
        present = new.status not in (ChatMember.LEFT, ChatMember.BANNED) and bool(
            getattr(new, "is_member", True)  # restricted: still a member, or not
        )
        return Incoming(
            chat_id=changed.chat.id,
            event=BotMembership(present),
            user_locale=locale,
            user_id=user_id,
            display_name=name,
            in_group=changed.chat.type != "private",
        )
    query = update.callback_query
    if query is not None:
        msg = query.message
        if msg is None or query.data is None:
            return None
        return Incoming(
            chat_id=msg.chat.id,
            event=Press(clean_text(query.data[:64])),
            user_locale=locale,
            user_id=user_id,
            display_name=name,
            in_group=msg.chat.type != "private",
            callback_id=query.id,
            message_id=msg.message_id,
        )
    message = update.message
    if message is None:
        return None
    event = _event(message, bot_username)
    in_group = message.chat.type != "private"
    # In groups the bot listens to commands only (a station binding itself, staff commands);
    # people's conversation there is none of its business.
    if in_group and not isinstance(event, Command):
        return None
    return Incoming(
        chat_id=message.chat.id,
        event=event,
        user_locale=locale,
        user_id=user_id,
        display_name=name,
        in_group=in_group,
    )


def _event(message: Message, bot_username: str | None) -> Event:
    """What the message says; every text in it cleaned (flows.inputs) before it is kept."""
    if message.text is not None:
        text = clean_text(message.text[:_MAX_TEXT])
        if text.startswith("/"):
            head, _, arg = text.partition(" ")
            name, _, target = head[1:].partition("@")
            if target and bot_username and target.lower() != bot_username.lower():
                return Unsupported("other")
            return Command(name.lower(), arg.strip())
        return Text(text)
    if message.photo:
        # The largest size whose file id fits the column (Telegram's ids are far shorter).
        sizes = [p for p in message.photo if len(clean_text(p.file_id)) <= FILE_REF_MAX]
        if not sizes:
            return Unsupported("photo")
        return Photo(clean_text(sizes[-1].file_id), clean_optional(message.caption))
    if message.contact is not None:
        user = message.from_user
        own = user is not None and message.contact.user_id == user.id
        return SharedContact(clean_text(message.contact.phone_number), own)
    for kind in ("voice", "video", "document"):
        media = getattr(message, kind, None)
        if media is not None:
            ref = clean_text(media.file_id)
            if not ref or len(ref) > FILE_REF_MAX:
                return Unsupported(kind)
            return Media(kind, ref, clean_optional(message.caption))
    for kind in ("sticker", "location"):
        if getattr(message, kind, None):
            return Unsupported(kind)
    if message.video_note or message.audio or message.animation:
        return Unsupported("video" if message.video_note else "other")
    return Unsupported("other")
