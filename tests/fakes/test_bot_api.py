"""Tests for the fake Bot API server, driven by a real python-telegram-bot ``Bot``."""

from __future__ import annotations

import asyncio
import datetime as dtm
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity
from telegram.constants import ChatAction
from telegram.error import (
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bot_api import SECRET_HEADER, Call, FakeBotAPI

CHAT = 424242


@pytest.fixture
def fake(bot_api: FakeBotAPI) -> FakeBotAPI:
    """A running fake server (the suite's ``bot_api``)."""
    return bot_api


@pytest.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    """A PTB bot pointed at the fake."""
    b = Bot(fake.token, base_url=f"{fake.base_url}/bot")
    await b.initialize()
    yield b
    await b.shutdown()


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("是", callback_data="yes")],
            [InlineKeyboardButton("否", callback_data="no")],
        ]
    )


async def test_start_returns_real_port_and_initialize_uses_get_me(
    fake: FakeBotAPI, bot: Bot
) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert not fake.base_url.endswith(":0")
    assert bot.id == fake.bot_id == 123456
    assert bot.username == fake.bot_username
    assert [c.method for c in fake.calls] == ["getMe"]


async def test_send_message_records_decoded_markup_and_message_id(
    fake: FakeBotAPI, bot: Bot
) -> None:
    sent = await bot.send_message(CHAT, "您好", reply_markup=_keyboard())
    call = await fake.wait_for(lambda c: c.method == "sendMessage")

    assert call.chat_id == CHAT and isinstance(call.params["chat_id"], int)
    assert call.params["text"] == "您好"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "是", "callback_data": "yes"}],
            [{"text": "否", "callback_data": "no"}],
        ]
    }
    assert call.buttons() == [("是", "yes"), ("否", "no")]
    assert call.message_id == sent.message_id == 1
    # PTB parsed the echoed message, keyboard included.
    assert sent.text == "您好"
    assert sent.chat.id == CHAT and sent.chat.type == "private"
    assert sent.from_user is not None and sent.from_user.id == fake.bot_id
    assert sent.reply_markup == _keyboard()

    second = await bot.send_message(CHAT, "again")
    other = await bot.send_message(CHAT + 1, "elsewhere")
    assert second.message_id == 2  # per-chat counter
    assert other.message_id == 1
    assert [c.message_id for c in fake.calls_for(CHAT, "sendMessage")] == [1, 2]
    assert [c.index for c in fake.calls] == list(range(len(fake.calls)))


async def test_reply_keyboard_is_recorded_but_not_echoed(fake: FakeBotAPI, bot: Bot) -> None:
    from telegram import KeyboardButton, ReplyKeyboardMarkup

    markup = ReplyKeyboardMarkup([[KeyboardButton("分享号码", request_contact=True)]])
    sent = await bot.send_message(CHAT, "号码?", reply_markup=markup)
    call = fake.calls_for(CHAT, "sendMessage")[-1]
    assert call.params["reply_markup"]["keyboard"][0][0] == {
        "text": "分享号码",
        "request_contact": True,
    }
    assert sent.reply_markup is None


async def test_push_text_command_gets_bot_command_entity(fake: FakeBotAPI, bot: Bot) -> None:
    update_id = fake.push_text(CHAT, "/start payload")
    updates = await bot.get_updates(timeout=5)

    assert [u.update_id for u in updates] == [update_id] == [1]
    message = updates[0].message
    assert message is not None
    assert message.text == "/start payload"
    assert message.chat.id == CHAT and message.chat.type == "private"
    assert message.from_user is not None and message.from_user.id == CHAT
    assert message.from_user.language_code == fake.language_code
    assert message.entities[0].type == MessageEntity.BOT_COMMAND
    assert message.parse_entities([MessageEntity.BOT_COMMAND]) == {message.entities[0]: "/start"}


async def test_offset_confirms_and_drops_old_updates(fake: FakeBotAPI, bot: Bot) -> None:
    first = fake.push_text(CHAT, "one")
    second = fake.push_text(CHAT, "two")
    assert second == first + 1

    # Without an offset nothing is confirmed: the same updates come back.
    assert [u.update_id for u in await bot.get_updates()] == [first, second]
    assert [u.update_id for u in await bot.get_updates(limit=1)] == [first]

    got = await bot.get_updates(offset=first + 1)
    assert [u.update_id for u in got] == [second]
    assert fake.pending_updates == 1

    assert await bot.get_updates(offset=second + 1, timeout=0) == ()
    assert fake.pending_updates == 0
    third = fake.push_text(CHAT, "three")
    assert [u.update_id for u in await bot.get_updates(offset=second + 1)] == [third]


async def test_long_poll_wakes_on_push(fake: FakeBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(offset=1, timeout=10))
    await fake.wait_for_poll(timeout=5)
    assert not poll.done()

    fake.push_text(CHAT, "hello")
    updates = await asyncio.wait_for(poll, timeout=5)

    assert len(updates) == 1
    assert updates[0].message is not None and updates[0].message.text == "hello"
    assert fake.get_updates_calls == 1
    assert all(c.method != "getUpdates" for c in fake.calls)


async def test_long_poll_times_out_with_empty_list(fake: FakeBotAPI, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert time.monotonic() - started >= 0.9


async def test_stop_releases_parked_long_poll(fake: FakeBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.wait_for_poll(timeout=5)
    started = time.monotonic()
    await fake.stop()
    assert await asyncio.wait_for(poll, timeout=5) == ()
    assert time.monotonic() - started < 5


async def test_callback_round_trip(fake: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "确认?", reply_markup=_keyboard())
    fake.push_callback(CHAT, "yes", message_id=sent.message_id)

    (update,) = await bot.get_updates(timeout=5)
    query = update.callback_query
    assert query is not None
    assert query.data == "yes"
    assert query.from_user.id == CHAT
    assert query.chat_instance
    assert query.message is not None
    assert query.message.message_id == sent.message_id
    assert query.message.chat.id == CHAT
    assert getattr(query.message, "text", None) == "确认?"
    assert getattr(query.message, "reply_markup", None) == _keyboard()

    assert await query.answer("ok") is True
    answer = fake.calls[-1]
    assert answer.method == "answerCallbackQuery"
    assert answer.params["callback_query_id"] == query.id
    assert isinstance(answer.params["callback_query_id"], str)

    edited = await bot.edit_message_text("已确认", chat_id=CHAT, message_id=sent.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "已确认"
    assert edited.reply_markup is None  # editing text without markup drops the keyboard
    assert edited.edit_date is not None
    stored = fake.message(CHAT, sent.message_id)
    assert stored is not None and stored["text"] == "已确认"

    relabelled = await bot.edit_message_reply_markup(
        chat_id=CHAT, message_id=sent.message_id, reply_markup=_keyboard()
    )
    assert not isinstance(relabelled, bool)
    assert relabelled.reply_markup == _keyboard()
    assert await bot.edit_message_text("inline", inline_message_id="AAE123") is True


async def test_callback_for_unknown_message_gets_minimal_message(
    fake: FakeBotAPI, bot: Bot
) -> None:
    fake.push_callback(CHAT, "stale", message_id=99)
    (update,) = await bot.get_updates(timeout=5)
    assert update.callback_query is not None
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == 99


async def test_media_updates_parse(fake: FakeBotAPI, bot: Bot) -> None:
    fake.push_photo(CHAT, caption="看这个")
    fake.push_contact(CHAT, "+8613800138000")
    fake.push_sticker(CHAT)
    fake.push_voice(CHAT)
    fake.push_raw({"message": {"message_id": 500, "date": 0, "chat": {"id": 1, "type": "private"}}})

    photo, contact, sticker, voice, raw = await bot.get_updates(timeout=5)
    assert photo.message is not None and photo.message.caption == "看这个"
    assert len(photo.message.photo) == 3
    assert photo.message.photo[-1].file_id and photo.message.photo[-1].file_unique_id
    assert contact.message is not None and contact.message.contact is not None
    assert contact.message.contact.phone_number == "+8613800138000"
    assert contact.message.contact.user_id == CHAT
    assert sticker.message is not None and sticker.message.sticker is not None
    assert voice.message is not None and voice.message.voice is not None
    voice_note = voice.message.voice
    assert _seconds(lambda: voice_note.duration) == 3
    assert raw.update_id == 5
    # message ids are shared by user and bot in a chat, as on Telegram
    assert [u.message.message_id for u in (photo, contact, sticker, voice) if u.message] == [
        1,
        2,
        3,
        4,
    ]
    assert (await bot.send_message(CHAT, "收到")).message_id == 5


async def test_group_chat_shape(fake: FakeBotAPI, bot: Bot) -> None:
    fake.push_text(-100, "hi group")
    (update,) = await bot.get_updates(timeout=5)
    assert update.message is not None
    assert update.message.chat.type == "group"
    assert update.message.from_user is not None and update.message.from_user.id > 0


def _seconds(read: Callable[[], int | dtm.timedelta | None]) -> float | None:
    """A PTB time period as seconds, whether PTB_TIMEDELTA is on or not (no warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = read()
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def test_fail_next_429_raises_retry_after(fake: FakeBotAPI, bot: Bot) -> None:
    fake.fail_next("sendMessage", retry_after=7)
    with warnings.catch_warnings():  # PTB's RetryAfter.__init__ warns about int periods
        warnings.simplefilter("ignore")
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(CHAT, "flood")
    assert _seconds(lambda: info.value.retry_after) == 7

    failed = fake.calls_for(CHAT, "sendMessage")[-1]
    assert failed.error == 429 and failed.message_id is None
    # only once: the retry succeeds and gets the first message id
    assert (await bot.send_message(CHAT, "flood")).message_id == 1


async def test_fail_next_403_is_chat_scoped(fake: FakeBotAPI, bot: Bot) -> None:
    fake.fail_next("sendMessage", chat_id=CHAT, status=403, times=2)
    assert (await bot.send_message(CHAT + 1, "fine")).message_id == 1
    for _ in range(2):
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(CHAT, "blocked")
    assert (await bot.send_message(CHAT, "unblocked")).message_id == 1


PROXY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


async def test_fail_next_answers_a_raw_body_with_its_status_and_type(fake: FakeBotAPI) -> None:
    fake.fail_next("getUpdates", status=200, body=PROXY_PAGE)
    fake.fail_next("sendMessage", chat_id=CHAT, status=502, body=b"\xff not utf-8", times=2)
    fake.fail_next("getMe", status=503, body="{}", content_type="application/json")
    base = f"{fake.base_url}/bot{fake.token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/getUpdates") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/html"
            assert await resp.text() == PROXY_PAGE
        async with http.post(f"{base}/getUpdates", data={"timeout": "0"}) as resp:
            assert (await resp.json()) == {"ok": True, "result": []}  # only once
        for _ in range(2):
            async with http.post(f"{base}/sendMessage", data={"chat_id": CHAT, "text": "x"}) as r:
                assert r.status == 502 and await r.read() == b"\xff not utf-8"
        async with http.post(f"{base}/sendMessage", data={"chat_id": CHAT, "text": "x"}) as r:
            assert r.status == 200 and (await r.json())["result"]["message_id"] == 1
        async with http.post(f"{base}/getMe") as resp:
            assert resp.status == 503 and resp.content_type == "application/json"
            assert await resp.json() == {}
    assert [c.error for c in fake.calls_for(CHAT, "sendMessage")] == [502, 502, None]


async def test_a_raw_body_fails_ptb_as_a_proxy_page_would(fake: FakeBotAPI, bot: Bot) -> None:
    fake.fail_next("getUpdates", status=200, body=PROXY_PAGE)
    with pytest.raises(TelegramError, match="Invalid server response"):
        await bot.get_updates(timeout=0)
    fake.fail_next("getUpdates", status=502, body=PROXY_PAGE)
    with pytest.raises(NetworkError, match=r"Bad Gateway \(502\)"):
        await bot.get_updates(timeout=0)
    fake.fail_next("getUpdates", status=401, body=PROXY_PAGE)
    with pytest.raises(InvalidToken):
        await bot.get_updates(timeout=0)
    assert await bot.get_updates(timeout=0) == ()


async def test_fail_next_reset_closes_the_connection_without_an_answer(
    fake: FakeBotAPI, bot: Bot
) -> None:
    fake.fail_next("sendMessage", reset=True)
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientError):  # no status line at all
            await http.post(f"{fake.base_url}/bot{fake.token}/sendMessage", data={"chat_id": "1"})
    fake.fail_next("getUpdates", reset=True)
    with pytest.raises(NetworkError) as info:
        await bot.get_updates(timeout=0)
    assert not isinstance(info.value, TimedOut)
    assert fake.calls_for(1, "sendMessage")[0].error is not None  # recorded as failed
    assert await bot.get_updates(timeout=0) == ()


async def test_fail_next_delay_makes_a_client_time_out(fake: FakeBotAPI, bot: Bot) -> None:
    fake.fail_next("getUpdates", delay=30, status=200, body="late")
    with pytest.raises(TimedOut):
        await bot.get_updates(timeout=0, read_timeout=0.2)
    assert await bot.get_updates(timeout=0) == ()  # the next call is answered
    # stop() releases a held answer at once
    fake.fail_next("getUpdates", delay=30, status=502, body="late")
    held = asyncio.create_task(bot.get_updates(timeout=0, read_timeout=60))
    async with asyncio.timeout(10):  # until the fake holds it
        while fake.get_updates_calls < 3:  # noqa: ASYNC110 - the fake has no event for this
            await asyncio.sleep(0.01)
    await fake.stop()
    with pytest.raises(NetworkError):
        await asyncio.wait_for(held, 10)


async def test_wrong_token_is_unauthorized(fake: FakeBotAPI) -> None:
    wrong = Bot("999:WRONG", base_url=f"{fake.base_url}/bot")
    try:
        with pytest.raises(InvalidToken, match="rejected"):
            await wrong.initialize()  # its getMe is refused
        with pytest.raises(InvalidToken, match="Unauthorized"):
            await wrong.get_me()
    finally:
        await wrong.shutdown()
    assert fake.calls == []


async def test_unknown_method_is_404(fake: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod", api_kwargs={"chat_id": CHAT})
    recorded = fake.calls[-1]
    assert (recorded.method, recorded.chat_id, recorded.error) == ("noSuchMethod", CHAT, 404)
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{fake.base_url}/bot{fake.token}/noSuchMethod") as resp,
    ):
        assert resp.status == 404
        assert await resp.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }


async def test_wait_for_timeout_lists_recent_calls(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(CHAT, "something else")
    with pytest.raises(TimeoutError) as info:
        await fake.wait_for(lambda c: c.method == "sendPhoto", timeout=0.2)
    text = str(info.value)
    assert "sendMessage" in text and "something else" in text


async def test_wait_for_wakes_on_later_call_and_honours_after(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(CHAT, "old")
    mark = len(fake.calls)
    waiter = asyncio.create_task(
        fake.wait_for(lambda c: c.method == "sendMessage", after=mark, timeout=5)
    )
    await asyncio.sleep(0)
    assert not waiter.done()
    await bot.send_message(CHAT, "new")
    call: Call = await waiter
    assert call.text == "new" and call.index == mark
    scoped = await fake.wait_for(lambda c: True, chat_id=CHAT, after=mark)
    assert scoped is call

    other_chat = asyncio.create_task(fake.wait_for(lambda c: True, chat_id=CHAT + 1, timeout=5))
    await asyncio.sleep(0)
    await bot.send_message(CHAT, "not for the other chat")
    assert not other_chat.done()
    await bot.send_message(CHAT + 1, "for the other chat")
    assert (await other_chat).text == "for the other chat"


async def test_misc_methods(fake: FakeBotAPI, bot: Bot) -> None:
    assert await bot.set_my_commands([BotCommand("start", "开始")]) is True
    assert fake.calls[-1].params["commands"] == [{"command": "start", "description": "开始"}]
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert await bot.delete_my_commands() is True
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert fake.calls[-1].params["drop_pending_updates"] is True
    assert await bot.set_webhook("https://example.org/hook") is True
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    assert await bot.send_chat_action(CHAT, ChatAction.TYPING) is True
    assert fake.calls[-1].params["action"] == "typing"
    chat = await bot.get_chat(CHAT)
    assert chat.id == CHAT and chat.type == "private"
    photo = await bot.send_photo(CHAT, photo=b"\x89PNG fake bytes", caption="图")
    assert photo.photo and photo.caption == "图"
    upload = fake.calls[-1].params["photo"]
    assert upload["size"] == len(b"\x89PNG fake bytes")  # multipart upload recorded
    copied = await bot.copy_message(CHAT + 1, from_chat_id=CHAT, message_id=photo.message_id)
    assert copied.message_id == 1
    assert fake.calls[-1].params["from_chat_id"] == CHAT


async def test_json_and_form_bodies(fake: FakeBotAPI) -> None:
    url = f"{fake.base_url}/bot{fake.token}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"chat_id": 7, "text": "j", "reply_markup": markup}) as r:
            body = await r.json()
            assert body["ok"] is True and body["result"]["reply_markup"] == markup
        form = {"chat_id": "7", "text": "true", "disable_notification": "true"}
        async with http.post(url, data=form) as r:
            assert (await r.json())["result"]["message_id"] == 2
        async with http.get(url, params={"chat_id": "7", "text": "q"}) as r:
            assert (await r.json())["result"]["message_id"] == 3
    j, f, q = fake.calls_for(7)
    assert j.params["reply_markup"] == markup
    assert f.params == {"chat_id": 7, "text": "true", "disable_notification": True}
    assert q.text == "q"


async def test_many_concurrent_chats(fake: FakeBotAPI) -> None:
    from telegram.request import HTTPXRequest

    bot = Bot(
        fake.token,
        base_url=f"{fake.base_url}/bot",
        request=HTTPXRequest(connection_pool_size=64),
    )
    async with bot:

        async def chat(chat_id: int) -> list[int]:
            return [(await bot.send_message(chat_id, f"m{i}")).message_id for i in range(3)]

        results = await asyncio.gather(*(chat(1000 + i) for i in range(300)))
    assert all(ids == [1, 2, 3] for ids in results)
    assert len(fake.calls_for(1042, "sendMessage")) == 3
    assert len(fake.calls) == 1 + 900


async def test_standalone_script_and_control_api(tmp_path: Path) -> None:
    script = Path(__file__).with_name("bot_api.py")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        url = line.split(" on ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}/_fake/push/text", json={"chat_id": 5, "text": "/x"}) as r:
                assert (await r.json())["result"] == 1
            async with http.post(f"{url}/bot123456:TEST/getUpdates", data={"timeout": "1"}) as r:
                (update,) = (await r.json())["result"]
                assert update["message"]["text"] == "/x"
            async with http.post(
                f"{url}/bot123456:TEST/sendMessage", data={"chat_id": "5", "text": "y"}
            ) as r:
                assert r.status == 200
            async with http.get(f"{url}/_fake/calls", params={"chat_id": "5"}) as r:
                calls = (await r.json())["result"]
                assert [c["method"] for c in calls] == ["sendMessage"]
    finally:
        proc.terminate()
        await proc.wait()


async def test_allowed_updates_drop_other_types_and_bot_membership_parses(
    fake: FakeBotAPI, bot: Bot
) -> None:
    fake.push_bot_membership(-77, "kicked")
    fake.push_text(CHAT, "hello")
    (only,) = await bot.get_updates(timeout=5, allowed_updates=["message"])
    assert only.message is not None and only.message.text == "hello"
    assert fake.pending_updates == 1  # not confirmed yet; the membership update is gone
    fake.push_bot_membership(-77, "left", user_id=9)
    (update,) = await bot.get_updates(
        offset=only.update_id + 1, timeout=5, allowed_updates=["message", "my_chat_member"]
    )
    changed = update.my_chat_member
    assert changed is not None and changed.chat.id == -77 and changed.chat.type == "group"
    assert changed.new_chat_member.status == "left" and changed.from_user.id == 9
    assert changed.new_chat_member.user.id == fake.bot_id


async def test_webhook_delivery_posts_each_update_concurrently_with_the_secret(
    fake: FakeBotAPI, bot: Bot
) -> None:
    """deliver_webhook: pushed updates are POSTed (not held for getUpdates) with the secret,
    several at once up to max_connections, and posted again after a non-2xx answer."""
    received: list[tuple[int, str | None]] = []
    in_flight = 0
    most_in_flight = 0
    release = asyncio.Event()
    full = asyncio.Event()  # as many requests in flight as max_connections allows
    all_received = asyncio.Event()
    refused_once: set[int] = set()

    async def hook(request: web.Request) -> web.Response:
        nonlocal in_flight, most_in_flight
        update = await request.json()
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        if in_flight == 3:
            full.set()
        try:
            await asyncio.wait_for(release.wait(), 5)
        finally:
            in_flight -= 1
        if update["update_id"] % 4 == 0 and update["update_id"] not in refused_once:
            refused_once.add(update["update_id"])
            return web.Response(status=500)
        received.append((update["update_id"], request.headers.get(SECRET_HEADER)))
        if len(received) == 10:
            all_received.set()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        fake.webhook_retry_delay = 0.01
        fake.deliver_webhook(f"http://127.0.0.1:{port}/hook")
        first = fake.push_text(CHAT, "/start")  # before setWebhook: held until it is set
        for _ in range(10):
            await asyncio.sleep(0)
        assert fake.webhook_posts == 0 and fake.webhook_pending == 1
        await bot.set_webhook(
            "https://example.org/hook", secret_token="s3cret-token-0123", max_connections=3
        )
        ids = [first, *(fake.push_text(CHAT + i, f"hi {i}") for i in range(1, 10))]
        await asyncio.wait_for(full.wait(), 5)
        release.set()
        await asyncio.wait_for(all_received.wait(), 5)
    finally:
        await runner.cleanup()
    assert sorted(u for u, _ in received) == ids  # each once
    assert {secret for _, secret in received} == {"s3cret-token-0123"}
    assert most_in_flight == 3  # max_connections at once, no more
    refused = len([u for u in ids if u % 4 == 0])
    assert fake.webhook_failures == refused
    assert fake.webhook_posts == len(ids) + refused
    assert fake.pending_updates == 0 and fake.webhook_pending == 0
    assert await bot.get_updates(timeout=0) == ()  # nothing held for getUpdates


async def test_webhook_delivery_to_several_targets_takes_turns_and_posts_a_refusal_again(
    fake: FakeBotAPI, bot: Bot
) -> None:
    """Several targets (processes behind one webhook URL): every post goes to the next in
    turn, so one chat's updates reach each of them; a 500 is posted again, to the next."""
    received: dict[str, list[int]] = {"a": [], "b": []}
    refused: list[int] = []
    arrived = asyncio.Event()

    def hook_for(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def hook(request: web.Request) -> web.Response:
            update_id = (await request.json())["update_id"]
            if name == "b" and not refused:  # the first post to b fails once
                refused.append(update_id)
                return web.Response(status=500)
            received[name].append(update_id)
            arrived.set()
            return web.json_response({"ok": True})

        return hook

    runners = []
    urls = []
    for name in ("a", "b"):
        app = web.Application()
        app.router.add_post("/hook", hook_for(name))
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
    try:
        fake.webhook_retry_delay = 0.01
        fake.webhook_max_connections = 1
        fake.deliver_webhook(urls)
        await bot.set_webhook("https://example.org/hook", max_connections=1)
        ids = []
        for i in range(6):  # one chat, one update at a time, as a citizen waits for replies
            arrived.clear()
            ids.append(fake.push_text(CHAT, f"hi {i}"))
            await asyncio.wait_for(arrived.wait(), 5)
    finally:
        for runner in runners:
            await runner.cleanup()
    assert sorted(received["a"] + received["b"]) == ids  # each once
    assert received["a"] and received["b"]  # one chat's updates reached both
    assert refused == [ids[1]] and ids[1] in received["a"]  # the repeat went to the next one
    assert fake.webhook_failures == 1
    assert fake.webhook_posts_to == {urls[0]: 4, urls[1]: 3}


async def test_command_lists_are_kept_per_scope_and_language_and_resolved_as_telegram_does(
    fake: FakeBotAPI, bot: Bot
) -> None:
    from telegram import (
        BotCommandScopeAllPrivateChats,
        BotCommandScopeChat,
        BotCommandScopeChatMember,
        BotCommandScopeDefault,
    )
    from telegram.error import BadRequest

    await bot.set_my_commands([BotCommand("start", "开始")], scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands(
        [BotCommand("start", "Start")], scope=BotCommandScopeAllPrivateChats(), language_code="en"
    )
    await bot.set_my_commands([BotCommand("group", "g")], scope=BotCommandScopeDefault())
    await bot.set_my_commands([BotCommand("mytickets", "m")], scope=BotCommandScopeChat(CHAT))
    scoped = fake.calls[-1]
    assert scoped.chat_id == CHAT and fake.calls_for(CHAT, "setMyCommands") == [scoped]
    assert fake.commands_in("all_private_chats", language_code="en") == [("start", "Start")]
    assert fake.visible_commands(CHAT) == ["mytickets"]  # the chat's own list first
    assert fake.visible_commands(CHAT + 1, language_code="en-GB") == ["start"]
    assert fake.visible_commands(-CHAT) == ["group"]  # a group: not the private chats' list
    await bot.set_my_commands(
        [BotCommand("ticket", "t")], scope=BotCommandScopeChatMember(-CHAT, 7)
    )
    assert fake.visible_commands(-CHAT, user_id=7) == ["ticket"]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(CHAT))] == [
        "mytickets"
    ]
    await bot.delete_my_commands(scope=BotCommandScopeChat(CHAT))
    assert fake.visible_commands(CHAT, language_code="en") == ["start"]  # falls back
    await bot.set_my_commands([], scope=BotCommandScopeDefault())  # empty: none set
    assert fake.visible_commands(-CHAT) == []
    for bad in (
        {"commands": [BotCommand("Start", "upper case")]},
        {"commands": [BotCommand("start", "x" * 257)]},
        {"commands": [BotCommand("start", "x")], "language_code": "zh-hant"},
    ):
        with pytest.raises(BadRequest):
            await bot.set_my_commands(**bad)  # type: ignore[arg-type]
