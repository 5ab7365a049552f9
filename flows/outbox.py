"""What an outbox row says: payloads built from, and read back into, replies and buttons.

The rows themselves are written and moved by ``storage.outbox``; a payload is either a
rendered text with its buttons (``payload_of``, ``reply_payload``), a notice rendered per
reader (``flows.lifecycle.notice``), or a referral or addition rendered from its ticket when
it is expanded (``flows.notices``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flows.messages import MEDIA_KINDS, Button, Reply


def payload_of(text: str, buttons: Sequence[Sequence[Button]] = ()) -> dict[str, Any]:
    return {"text": text, "buttons": [[[b.label, b.data] for b in row] for row in buttons]}


def buttons_of(payload: dict[str, Any]) -> list[list[Button]]:
    return [[Button(label, data) for label, data in row] for row in payload.get("buttons", [])]


def reply_payload(reply: Reply, *, locale: str, edit_message_id: int | None) -> dict[str, Any]:
    """A dialogue reply as an outbox payload; ``edit_message_id`` is the message whose
    button was pressed, replaced in place when the reply asks for it."""
    payload = payload_of(reply.text, reply.buttons)
    payload["locale"] = locale
    if reply.ask_contact:
        payload["ask_contact"] = True
    if reply.remove_keyboard:
        payload["remove_keyboard"] = True
    if reply.edit and edit_message_id is not None:
        payload["edit_message_id"] = edit_message_id
    if reply.media is not None:
        payload["media"] = list(reply.media)
    return payload


def reply_of(payload: dict[str, Any]) -> Reply:
    """The reply a per-chat payload says; raises KeyError/ValueError/TypeError when the
    payload cannot be read (the caller marks such a row failed instead of retrying it)."""
    text = payload["text"]
    if not isinstance(text, str):
        raise TypeError("payload text is not a string")
    return Reply(
        text,
        buttons_of(payload),
        ask_contact=bool(payload.get("ask_contact")),
        remove_keyboard=bool(payload.get("remove_keyboard")),
        edit="edit_message_id" in payload,
        media=_media_of(payload.get("media")),
    )


def _media_of(value: Any) -> tuple[str, str] | None:
    if value is None:
        return None
    kind, ref = value  # a malformed payload raises: the row is failed, not retried
    if kind not in MEDIA_KINDS or not isinstance(ref, str):
        raise ValueError("payload media is not a known kind of file")
    return kind, ref
