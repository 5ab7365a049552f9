"""Telegram updates -> intake events: everything a person sends is cleaned at this edge."""

from __future__ import annotations

import json
from typing import Any

from telegram import Update

from flows.events import Command, Photo, Press, SharedContact, Text, Unsupported
from handlers.telegram.convert import to_incoming
from storage.models import FILE_REF_MAX

# What a client can put in a JSON update: U+0000, an escape character, DEL, a lone surrogate.
DIRTY = json.loads('"a\\u0000b\\u001bc\\u007fd\\ud800e\\r\\nf\\tg"')
CLEAN = "abcde\nf\tg"
USER = {"id": 42, "is_bot": False, "first_name": "Wen\u0000jing", "last_name": "Lü\udc00"}


def _update(**message: Any) -> Update:
    base = {"message_id": 5, "date": 0, "chat": {"id": 42, "type": "private"}, "from": USER}
    update = Update.de_json({"update_id": 1, "message": {**base, **message}}, None)
    assert update is not None
    return update


def _event(update: Update) -> Any:
    incoming = to_incoming(update, "hutong_test_bot")
    assert incoming is not None
    return incoming


def test_message_text_and_the_display_name_are_cleaned() -> None:
    assert "\x00" in DIRTY and "\ud800" in DIRTY
    incoming = _event(_update(text=DIRTY))
    assert incoming.event == Text(CLEAN)
    assert incoming.display_name == "Wenjing Lü"


def test_command_name_and_argument_are_cleaned() -> None:
    incoming = _event(_update(text="/sta\x00tus AB\ud800C\x07D"))
    assert incoming.event == Command("status", "ABCD")


def test_a_caption_is_cleaned() -> None:
    photo = [{"file_id": "AgAC\x00x", "file_unique_id": "u", "width": 1, "height": 1}]
    incoming = _event(_update(photo=photo, caption=DIRTY))
    assert incoming.event == Photo("AgACx", CLEAN)


def test_a_shared_contacts_phone_is_cleaned() -> None:
    contact = {"phone_number": "+86\x00139\ud8001234\x1b5678", "first_name": "W", "user_id": 42}
    assert _event(_update(contact=contact)).event == SharedContact("+8613912345678", True)


def test_button_data_is_cleaned() -> None:
    update = Update.de_json(
        {
            "update_id": 2,
            "callback_query": {
                "id": "q",
                "from": USER,
                "chat_instance": "1",
                "data": "w:det\x00:7\ud800",
                "message": {
                    "message_id": 9,
                    "date": 0,
                    "chat": {"id": 42, "type": "private"},
                    "text": "x",
                },
            },
        },
        None,
    )
    assert update is not None
    assert _event(update).event == Press("w:det:7")


def test_a_photo_keeps_the_largest_size_whose_file_id_fits_the_column() -> None:
    fits, too_long = "F" * FILE_REF_MAX, "L" * (FILE_REF_MAX + 1)
    sizes = [
        {"file_id": fits, "file_unique_id": "a", "width": 90, "height": 90},
        {"file_id": too_long, "file_unique_id": "b", "width": 1280, "height": 960},
    ]
    assert _event(_update(photo=sizes)).event == Photo(fits, None)
    assert _event(_update(photo=sizes[1:])).event == Unsupported("photo")
