"""The aiohttp request class against the fake Bot API: what PTB's own client promises."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from bot_api import FakeBotAPI
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut

from handlers.telegram.request import AiohttpRequest


@pytest.fixture
async def abot(bot_api: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = Bot(
        bot_api.token,
        base_url=f"{bot_api.base_url}/bot",
        request=AiohttpRequest(connection_pool_size=8, read_timeout=2.0),
    )
    async with bot:
        yield bot


async def test_a_call_sends_its_parameters_and_reads_the_answer(
    bot_api: FakeBotAPI, abot: Bot
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("是 ✓", callback_data="1:a:yes")]])
    sent = await abot.send_message(7, "<b>你好</b>", parse_mode="HTML", reply_markup=markup)
    assert sent.message_id == 1 and sent.text == "<b>你好</b>"
    (call,) = bot_api.calls_for(7)
    assert call.params == {
        "chat_id": 7,
        "text": "<b>你好</b>",
        "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": [[{"text": "是 ✓", "callback_data": "1:a:yes"}]]},
    }
    assert abot.username  # getMe, read at initialize


async def test_an_answer_later_than_the_read_timeout_is_timed_out(
    bot_api: FakeBotAPI, abot: Bot
) -> None:
    bot_api.fail_next("sendMessage", delay=3.0)
    with pytest.raises(TimedOut):
        await abot.send_message(7, "late", read_timeout=0.2)


async def test_a_reset_connection_is_a_network_error_not_a_timeout(
    bot_api: FakeBotAPI, abot: Bot
) -> None:
    bot_api.fail_next("sendMessage", reset=True)
    with pytest.raises(NetworkError) as raised:
        await abot.send_message(7, "reset")
    assert not isinstance(raised.value, TimedOut)
    # The next call gets a fresh connection.
    assert (await abot.send_message(7, "again")).text == "again"


async def test_nobody_listening_is_a_network_error() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    request = AiohttpRequest(connect_timeout=2.0)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot1:x/getMe")
        assert not isinstance(raised.value, TimedOut)
    finally:
        await request.shutdown()


async def test_an_answer_that_is_not_json_is_a_telegram_error(
    bot_api: FakeBotAPI, abot: Bot
) -> None:
    bot_api.fail_next("sendMessage", status=200, body="<html>proxy</html>")
    with pytest.raises(TelegramError, match="Invalid server response"):
        await abot.send_message(7, "x")


async def test_broken_utf8_in_an_answer_is_read_as_ptb_reads_it(bot_api: FakeBotAPI) -> None:
    # orjson refuses invalid UTF-8; PTB's reading replaces it, and so must this class.
    bot_api.fail_next(
        "getMe",
        status=200,
        body=b'{"ok": true, "result": {"id": 1, "is_bot": true, "first_name": "B\xff",'
        b' "username": "b"}}',
        content_type="application/json",
    )
    bot = Bot(bot_api.token, base_url=f"{bot_api.base_url}/bot", request=AiohttpRequest())
    async with bot:
        assert bot.first_name == "B\ufffd"


async def test_429_carries_retry_after(bot_api: FakeBotAPI, abot: Bot) -> None:
    bot_api.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter, match="Retry in 7 seconds"):
        await abot.send_message(7, "x")


async def test_400_is_a_bad_request_with_telegrams_description(abot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await abot.send_message(7, " ")


async def test_a_file_is_uploaded_as_multipart(bot_api: FakeBotAPI, abot: Bot) -> None:
    content = b"%PDF-1.4 report\n" * 100
    sent = await abot.send_document(7, document=content, filename="r.pdf", caption="报告")
    assert sent.document is not None and sent.document.file_name == "r.pdf"
    (call,) = bot_api.calls_for(7)
    assert call.params["caption"] == "报告"
    assert call.params["document"]["filename"] == "r.pdf"
    assert call.params["document"]["size"] == len(content)


async def test_not_initialized_is_refused_and_shutdown_twice_is_harmless() -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError):
        await request.do_request("http://127.0.0.1:9/", "POST")
    await request.initialize()
    await request.shutdown()
    await request.shutdown()
    with pytest.raises(RuntimeError):
        await request.do_request("http://127.0.0.1:9/", "POST")


async def test_the_proxy_of_the_environment_is_used_and_no_proxy_is_honoured(
    bot_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fake stands in for the proxy: a host that does not exist is reached through it
    # (the client never looks the name up).
    monkeypatch.setenv("HTTP_PROXY", bot_api.base_url)
    bot = Bot(
        bot_api.token,
        base_url="http://api.telegram.invalid/bot",
        request=AiohttpRequest(connect_timeout=2.0),
    )
    async with bot:  # getMe went through the proxy
        assert (await bot.send_message(7, "via proxy")).text == "via proxy"
    with socket.socket() as sock:  # a proxy nobody answers at
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("HTTP_PROXY", dead)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    bot = Bot(bot_api.token, base_url=f"{bot_api.base_url}/bot", request=AiohttpRequest())
    async with bot:  # straight to the fake, not through the dead proxy
        assert (await bot.send_message(7, "direct")).text == "direct"
