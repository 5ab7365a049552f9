"""Rendering replies for Telegram: keyboards, HTML limits, conversion of updates."""

from __future__ import annotations

from telegram import Bot, InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update

from flows.events import Command, Photo, Press, SharedContact, Text, Unsupported
from flows.messages import Button, Reply
from handlers.telegram.convert import to_incoming
from handlers.telegram.render import markup, markup_json, split_text


def test_inline_buttons_and_contact_keyboard() -> None:
    inline = markup(Reply("q", [[Button("a", "1:dg:yes")]]), "zh")
    assert isinstance(inline, InlineKeyboardMarkup)
    assert inline.inline_keyboard[0][0].callback_data == "1:dg:yes"
    contact = markup(Reply("q", ask_contact=True), "en")
    assert isinstance(contact, ReplyKeyboardMarkup)
    assert contact.keyboard[0][0].request_contact
    assert isinstance(markup(Reply("q", remove_keyboard=True), "zh"), ReplyKeyboardRemove)
    assert markup(Reply("q"), "zh") is None


def test_the_json_markup_is_what_ptb_would_send() -> None:
    replies = [
        Reply("q", [[Button("是", "1:dg:yes"), Button("否", "1:dg:no")], [Button("x", "2:x:y")]]),
        Reply("q", ask_contact=True),
        Reply("q", remove_keyboard=True),
        Reply("q"),
    ]
    for locale in ("zh", "en"):
        for reply in replies:
            kb = markup(reply, locale)
            assert markup_json(reply, locale) == (kb.to_dict() if kb is not None else None)


def test_split_text_under_the_limit() -> None:
    text = "\n".join("行" * 1000 for _ in range(10))
    parts = split_text(text)
    assert all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    long_line = "x" * 9000
    assert "".join(split_text(long_line)) == long_line


def test_a_long_line_is_not_cut_inside_an_entity_or_a_tag() -> None:
    escaped = "&lt;" * 2000 + "<b>x</b>" + "&amp;" * 10  # 2,000 "<" typed by someone
    parts = split_text("a" + escaped)
    assert "".join(parts) == "a" + escaped
    assert len(parts) == 2 and all(len(p) <= 4096 for p in parts)
    for part in parts:
        assert part.count("&") == part.count(";")  # every entity whole
        assert part.count("<") == part.count(">")  # every tag whole


def _update(payload: dict[str, object]) -> Update:
    update = Update.de_json({"update_id": 1, **payload}, Bot("1:x"))
    assert update is not None
    return update


def _message(**fields: object) -> dict[str, object]:
    return {
        "message": {
            "message_id": 5,
            "date": 0,
            "chat": {"id": 9, "type": "private"},
            "from": {"id": 9, "is_bot": False, "first_name": "A", "language_code": "en"},
            **fields,
        }
    }


def test_updates_become_events() -> None:
    cmd = to_incoming(_update(_message(text="/status@hutong_bot abc123")), "hutong_bot")
    assert cmd is not None and cmd.event == Command("status", "abc123")
    assert cmd.user_locale == "en"
    other_bot = to_incoming(_update(_message(text="/start@someone_else")), "hutong_bot")
    assert other_bot is not None and isinstance(other_bot.event, Unsupported)
    text = to_incoming(_update(_message(text="hello")))
    assert text is not None and text.event == Text("hello")
    sticker = to_incoming(
        _update(
            _message(
                sticker={
                    "file_id": "s",
                    "file_unique_id": "u",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                }
            )
        )
    )
    assert sticker is not None and sticker.event == Unsupported("sticker")
    photo = to_incoming(
        _update(
            _message(
                photo=[
                    {"file_id": "small", "file_unique_id": "1", "width": 1, "height": 1},
                    {"file_id": "big", "file_unique_id": "2", "width": 9, "height": 9},
                ],
                caption="看",
            )
        )
    )
    assert photo is not None and photo.event == Photo("big", "看")
    contact = to_incoming(
        _update(_message(contact={"phone_number": "+86138", "first_name": "A", "user_id": 9}))
    )
    assert contact is not None and contact.event == SharedContact("+86138", True)


def test_callbacks_and_groups() -> None:
    press = to_incoming(
        _update(
            {
                "callback_query": {
                    "id": "q1",
                    "from": {"id": 9, "is_bot": False, "first_name": "A"},
                    "chat_instance": "c",
                    "data": "3:dg:no",
                    "message": {
                        "message_id": 7,
                        "date": 0,
                        "chat": {"id": 9, "type": "private"},
                        "text": "x",
                    },
                }
            }
        )
    )
    assert press is not None and press.event == Press("3:dg:no")
    assert press.callback_id == "q1" and press.message_id == 7
    group = _message(text="hi")
    group["message"]["chat"] = {"id": -5, "type": "group", "title": "g"}  # type: ignore[index]
    assert to_incoming(_update(group)) is None


def test_split_text_counts_as_telegram_does_so_emoji_count_twice() -> None:
    """A 2,000-emoji note is 2,000 characters but 4,000 UTF-16 units: with a header it would
    pass a count of characters and be refused by Telegram as too long, every time."""
    from handlers.telegram.render import units

    text = "<b>经过记录</b>\n" + "😀" * 2000 + "\n" + "😡" * 2000
    parts = split_text(text)
    assert all(units(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    one_line = "😀" * 5000
    parts = split_text(one_line)
    assert all(units(p) <= 4096 for p in parts) and "".join(parts) == one_line
