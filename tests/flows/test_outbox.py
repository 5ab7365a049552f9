"""Outbox payloads (flows.outbox): a reply and its buttons survive the round trip through a
row's JSON, and a payload that cannot be read says so instead of sending something wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flows import outbox
from flows.messages import Button, Reply


def test_payload_of_is_json_and_reads_back() -> None:
    buttons = [[Button("签收", "w:sign:1"), Button("退单", "w:ret:1")], [Button("详情", "w:d:1")]]
    payload = outbox.payload_of("<b>新工单</b>", buttons)
    assert json.loads(json.dumps(payload)) == payload  # what the JSON column keeps
    assert payload["text"] == "<b>新工单</b>"
    assert outbox.buttons_of(payload) == buttons
    assert outbox.buttons_of({"text": "x"}) == []  # no buttons: none


def test_reply_payload_keeps_the_flags_and_edits_only_a_known_message() -> None:
    reply = Reply("请分享电话", [[Button("a", "b")]], ask_contact=True, edit=True)
    payload = outbox.reply_payload(reply, locale="en", edit_message_id=42)
    assert payload["locale"] == "en" and payload["ask_contact"] is True
    assert payload["edit_message_id"] == 42 and "remove_keyboard" not in payload
    back = outbox.reply_of(payload)
    assert (back.text, back.buttons, back.ask_contact, back.edit) == (
        reply.text,
        reply.buttons,
        True,
        True,
    )
    # Asked to edit, but no message was pressed (a typed command): a new message instead.
    typed = outbox.reply_payload(reply, locale="zh", edit_message_id=None)
    assert "edit_message_id" not in typed and outbox.reply_of(typed).edit is False
    plain = outbox.reply_payload(Reply("好", remove_keyboard=True), locale="zh", edit_message_id=7)
    assert plain["remove_keyboard"] is True and "edit_message_id" not in plain


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"text": None},
        {"text": 5},
        {"text": "x", "buttons": [["only-a-label"]]},
        {"text": "x", "buttons": 3},
    ],
)
def test_an_unreadable_payload_raises(payload: dict[str, Any]) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        outbox.reply_of(payload)
