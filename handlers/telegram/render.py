"""Channel-neutral replies -> Bot API calls (HTML, keyboards, long texts split)."""

from __future__ import annotations

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest

from flows.intake import Reply
from flows.texts import t

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


def markup(reply: Reply, locale: str) -> Markup:
    if reply.buttons:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                for row in reply.buttons
            ]
        )
    if reply.ask_contact:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(t(locale, "btn.share_phone"), request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split on line breaks under Telegram's 4096-character limit."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            cut = _cut_at(line, limit)
            parts.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


def _cut_at(line: str, limit: int) -> int:
    """Where to cut an over-long line of HTML: not inside an entity (``&lt;``) or a tag."""
    chunk = line[:limit]
    cut = limit
    for opener, closer in (("&", ";"), ("<", ">")):
        at = chunk.rfind(opener)
        if at > 0 and closer not in chunk[at:]:
            cut = min(cut, at)
    return cut


async def send(
    bot: Bot, *, chat_id: int, reply: Reply, locale: str, edit_message_id: int | None
) -> int | None:
    """Deliver one reply: edit the pressed message in place when the reply asks for it,
    else send (split when long). Returns the id of the (last) message."""
    kb = markup(reply, locale)
    if reply.edit and edit_message_id is not None and isinstance(kb, InlineKeyboardMarkup | None):
        try:
            await bot.edit_message_text(
                reply.text,
                chat_id=chat_id,
                message_id=edit_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=kb,
            )
            return edit_message_id
        except BadRequest as exc:
            # "message is not modified" (same page pressed twice) needs nothing more; any
            # other edit failure (message too old) falls back to a new message.
            if "not modified" in str(exc).lower():
                return edit_message_id
    parts = split_text(reply.text)
    sent = None
    for i, part in enumerate(parts):
        sent = await bot.send_message(
            chat_id,
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=kb if i == len(parts) - 1 else None,
        )
    return sent.message_id if sent is not None else None
