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

from flows.messages import Reply
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


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split on line breaks under Telegram's 4096-unit limit (measured on the HTML, which
    is never shorter than the text Telegram counts)."""
    if units(text) <= limit:
        return [text]
    parts: list[str] = []
    current, current_units = "", 0
    for line in text.split("\n"):
        while units(line) > limit:
            if current:
                parts.append(current)
                current, current_units = "", 0
            cut = _cut_at(line, limit)
            parts.append(line[:cut])
            line = line[cut:]
        line_units = units(line)
        if current and current_units + 1 + line_units > limit:
            parts.append(current)
            current, current_units = line, line_units
        elif current:
            current, current_units = f"{current}\n{line}", current_units + 1 + line_units
        else:
            current, current_units = line, line_units
    if current:
        parts.append(current)
    return parts


def _cut_at(line: str, limit: int) -> int:
    """Where to cut an over-long line of HTML: as far as ``limit`` units go, but not inside
    an entity (``&lt;``) or a tag, nor between the halves of a surrogate pair."""
    cut, used = 0, 0
    for ch in line:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            break
        cut += 1
    chunk = line[:cut]
    for opener, closer in (("&", ";"), ("<", ">")):
        at = chunk.rfind(opener)
        if at > 0 and closer not in chunk[at:]:
            cut = min(cut, at)
    return cut


class PartlySent(Exception):
    """A long reply failed after its first ``sent`` parts went out (``__cause__``: why)."""

    def __init__(self, sent: int) -> None:
        super().__init__(f"{sent} part(s) sent")
        self.sent = sent


async def send(
    bot: Bot,
    *,
    chat_id: int,
    reply: Reply,
    locale: str,
    edit_message_id: int | None,
    from_part: int = 0,
) -> int | None:
    """Deliver one reply: edit the pressed message in place when the reply asks for it,
    else send (split when long), starting at ``from_part`` (those before went out on an
    earlier try). Returns the id of the (last) message."""
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
    for i in range(min(from_part, len(parts) - 1), len(parts)):
        try:
            sent = await bot.send_message(
                chat_id,
                parts[i],
                parse_mode=ParseMode.HTML,
                reply_markup=kb if i == len(parts) - 1 else None,
            )
        except Exception as exc:
            if i > from_part:  # some went out: a retry must not send them again
                raise PartlySent(i) from exc
            raise
    return sent.message_id if sent is not None else None
