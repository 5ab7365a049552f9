"""One chat's side of a conversation with the bot under test: what it receives, in order,
from a point on, and what it presses or says."""

from __future__ import annotations

from bot_api import Call, FakeBotAPI


class Party:
    """What one chat receives, in order, from a point on (``mark``: the first call to read)."""

    def __init__(self, api: FakeBotAPI, chat: int) -> None:
        self.api, self.chat, self.mark = api, chat, 0

    async def next(self, method: str = "sendMessage") -> Call:
        call = await self.api.wait_for(
            lambda c: c.method == method, after=self.mark, chat_id=self.chat
        )
        self.mark = call.index + 1
        return call

    async def press(self, data: str, on: Call) -> None:
        """Press a button ``on`` a message this chat received; it must be offered there."""
        message_id = on.message_id or on.params.get("message_id")
        assert message_id is not None
        assert data in [d for _, d in on.buttons()], f"{data} not offered: {on.buttons()}"
        self.api.push_callback(self.chat, data, message_id=int(message_id))

    def say(self, text: str) -> None:
        self.api.push_text(self.chat, text)
