"""Channel-neutral replies -> Bot API calls (HTML, keyboards, long texts split)."""

from __future__ import annotations

from typing import Any, Final

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


def markup_json(reply: Reply, locale: str) -> dict[str, Any] | None:
    """``markup`` as the Bot API's JSON, what PTB's ``to_dict`` of it gives."""
    if reply.buttons:
        return {
            "inline_keyboard": [
                [{"text": b.label, "callback_data": b.data} for b in row] for row in reply.buttons
            ]
        }
    if reply.ask_contact:
        return {
            "keyboard": [[{"text": t(locale, "btn.share_phone"), "request_contact": True}]],
            "resize_keyboard": True,
            "one_time_keyboard": True,
        }
    if reply.remove_keyboard:
        return {"remove_keyboard": True}
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


# The Bot API method that sends each kind of file (flows.messages.MEDIA_KINDS).
_MEDIA_METHODS: Final = {
    "photo": "sendPhoto",
    "voice": "sendVoice",
    "video": "sendVideo",
    "document": "sendDocument",
}


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
    kb = markup_json(reply, locale)
    if reply.media is not None:
        # A file Telegram already holds, by its id: sent again, never downloaded.
        kind, file_ref = reply.media
        sent = await _call(
            bot,
            _MEDIA_METHODS[kind],
            chat_id=chat_id,
            caption=reply.text or None,  # ours, short: under the 1024-unit caption limit
            parse_mode=ParseMode.HTML.value,
            reply_markup=kb,
            **{kind: file_ref},
        )
        return _message_id(sent)
    if reply.edit and edit_message_id is not None and (kb is None or "inline_keyboard" in kb):
        try:
            await _call(
                bot,
                "editMessageText",
                chat_id=chat_id,
                message_id=edit_message_id,
                text=reply.text,
                parse_mode=ParseMode.HTML.value,
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
            sent = await _call(
                bot,
                "sendMessage",
                chat_id=chat_id,
                text=parts[i],
                parse_mode=ParseMode.HTML.value,
                reply_markup=kb if i == len(parts) - 1 else None,
            )
        except Exception as exc:
            if i > from_part:  # some went out: a retry must not send them again
                raise PartlySent(i) from exc
            raise
    return _message_id(sent)


async def _call(bot: Bot, method: str, **params: Any) -> Any:
    """One Bot API call with JSON parameters (those that are None left out), its result as
    JSON: no Telegram objects are built for what is sent, nor for the message that comes
    back, of which only the id is read. Errors are PTB's, as for ``bot.send_message``.

    The method is named in lower case (the Bot API's names are case-insensitive): PTB warns
    when ``do_api_request`` is given the name of a method it has."""
    return await bot.do_api_request(
        method.lower(), api_kwargs={k: v for k, v in params.items() if v is not None}
    )


def _message_id(result: Any) -> int | None:
    message_id = result.get("message_id") if isinstance(result, dict) else None
    return message_id if isinstance(message_id, int) else None
