"""A simulated citizen talking to the bot through the fake Bot API (tests and bench)."""

from __future__ import annotations

import time

from bot_api import Call, FakeBotAPI

REPLY_METHODS = ("sendMessage", "editMessageText")


class Citizen:
    """Pushes updates for one chat and waits for what the bot says back.

    ``press`` waits until a message in this chat offers the wanted button, then presses it, so
    a test never sleeps and never races the bot's replies.
    """

    def __init__(self, api: FakeBotAPI, chat_id: int, *, timeout: float = 20.0) -> None:
        self.api = api
        self.chat_id = chat_id
        self.timeout = timeout
        self.interactions = 0
        self.mark = 0  # calls before this index belong to earlier turns
        self.latencies: list[float] = []

    def _pushed(self) -> float:
        self.interactions += 1
        return time.perf_counter()

    async def _reply_after(self, mark: int, started: float) -> Call:
        call = await self.api.wait_for(
            lambda c: c.method in REPLY_METHODS,
            after=mark,
            chat_id=self.chat_id,
            timeout=self.timeout,
        )
        self.latencies.append(time.perf_counter() - started)
        return call

    async def text(self, text: str) -> Call:
        """Send a message and return the bot's first reply to it."""
        mark = len(self.api.calls)
        started = self._pushed()
        self.api.push_text(self.chat_id, text)
        call = await self._reply_after(mark, started)
        self.mark = mark
        return call

    async def photo(self, caption: str | None = None) -> Call:
        mark = len(self.api.calls)
        started = self._pushed()
        self.api.push_photo(self.chat_id, caption=caption)
        call = await self._reply_after(mark, started)
        self.mark = mark
        return call

    async def sticker(self) -> Call:
        mark = len(self.api.calls)
        started = self._pushed()
        self.api.push_sticker(self.chat_id)
        call = await self._reply_after(mark, started)
        self.mark = mark
        return call

    async def find_button(self, action: str, value: str | None = None) -> tuple[Call, str]:
        """The newest offered button ``version:action:value`` in this chat."""

        def offers(call: Call) -> bool:
            return call.method in REPLY_METHODS and _match(call, action, value) is not None

        call = await self.api.wait_for(
            offers, after=self.mark, chat_id=self.chat_id, timeout=self.timeout
        )
        # A later message may offer a newer version of the same button.
        for later in reversed(self.api.calls_for(self.chat_id)):
            if later.index > call.index and offers(later):
                call = later
                break
        data = _match(call, action, value)
        assert data is not None
        return call, data

    async def press(
        self, action: str, value: str | None = None, *, expect_reply: bool = True
    ) -> Call:
        """Press a button offered since the last turn; return the bot's first reaction."""
        call, data = await self.find_button(action, value)
        return await self.press_data(data, message_id=_message_id(call), expect_reply=expect_reply)

    async def press_data(self, data: str, *, message_id: int, expect_reply: bool = True) -> Call:
        """Press; wait for the bot's first message (or, if none is expected, the answer to
        the button press itself)."""
        mark = len(self.api.calls)
        started = self._pushed()
        self.api.push_callback(self.chat_id, data, message_id=message_id)
        if expect_reply:
            reaction = await self._reply_after(mark, started)
        else:
            reaction = await self.api.wait_for(
                lambda c: c.method == "answerCallbackQuery",
                after=mark,
                chat_id=None,
                timeout=self.timeout,
            )
            self.latencies.append(time.perf_counter() - started)
        self.mark = mark
        return reaction

    async def wait_text(self, needle: str) -> Call:
        return await self.api.wait_for(
            lambda c: c.method in REPLY_METHODS and needle in (c.text or ""),
            after=self.mark,
            chat_id=self.chat_id,
            timeout=self.timeout,
        )

    async def file_report_by_buttons(
        self, story: str = "孩子一个人在家两天了，没有大人照看。"
    ) -> str:
        """The shortest full report, choosing 广州市从化区街口街道 by buttons; returns the code."""
        await self.report_until_story()
        await self.text(story)
        await self.press("ct", "anon")
        await self.press("sm", "ok")
        return await self.receipt_code()

    async def report_until_story(self) -> None:
        """/start and the button answers of a report (P1, 广州市从化区街口街道), up to the
        question of what happened."""
        await self.text("/start")
        await self.press("mn", "report")
        await self.press("dg", "no")
        await self.press("rp", "neighbour")
        await self.press("pc", "440100000000")
        await self.press("pn", "440117000000")
        await self.press("pt", "440117001000")
        await self.press("ag", "6-11")
        await self.press("sx", "f")
        await self.press("cn", "no_carer")
        await self.press("cd")

    async def receipt_code(self) -> str:
        call = await self.wait_text("<code>")
        text = call.text or ""
        return text.split("<code>", 1)[1].split("</code>", 1)[0]


def _message_id(call: Call) -> int:
    if call.method == "sendMessage":
        assert call.message_id is not None
        return call.message_id
    return int(call.params["message_id"])


def _match(call: Call, action: str, value: str | None) -> str | None:
    for _label, data in call.buttons():
        if not data:
            continue
        parts = data.split(":", 2)
        if len(parts) == 3 and parts[1] == action and (value is None or parts[2] == value):
            return data
    return None
