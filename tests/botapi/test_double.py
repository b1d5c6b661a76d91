"""The Bot API double, exercised through the real python-telegram-bot client over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, RetryAfter
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from tests.botapi import MEDIA_KINDS, BotApiDouble, FakeUser

TOKEN = "123456:TEST-TOKEN"


@pytest.fixture
async def double() -> AsyncIterator[BotApiDouble]:
    async with BotApiDouble(TOKEN) as running:
        yield running


def make_bot(double: BotApiDouble, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=f"{double.url}/bot", base_file_url=f"{double.url}/file/bot")


@pytest.fixture
async def bot(double: BotApiDouble) -> AsyncIterator[Bot]:
    async with make_bot(double) as client:
        yield client


@pytest.fixture
def ada(double: BotApiDouble) -> FakeUser:
    return double.user(first_name="Ada", username="ada_lovelace", language_code="da")


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


async def test_get_me_and_inline_keyboard_round_trip(
    double: BotApiDouble, bot: Bot, ada: FakeUser
) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "snakkes_test_bot")

    message = await bot.send_message(
        ada.chat_id, "Vil du snakke?", reply_markup=keyboard(("Ja tak", "yes"), ("Nej", "no"))
    )

    [sent] = double.sent
    assert (sent.chat_id, sent.message_id) == (ada.id, message.message_id)
    assert sent.text == "Vil du snakke?"
    assert sent.buttons == [[("Ja tak", "yes")], [("Nej", "no")]]
    assert sent.labels() == ["Ja tak", "Nej"]
    assert sent.button("Ja") == "yes"
    assert message.from_user is not None
    assert message.from_user.id == me.id
    assert double.delivered_count_by_chat == {ada.id: 1}


async def test_long_poll_answers_empty_after_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 2.0


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    double: BotApiDouble, bot: Bot, ada: FakeUser
) -> None:
    asyncio.get_running_loop().call_later(0.1, double.send_text, ada, "hej")
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    assert time.monotonic() - started < 1.0
    assert [u.message.text for u in updates if u.message] == ["hej"]


async def test_offset_confirms_updates(double: BotApiDouble, bot: Bot, ada: FakeUser) -> None:
    first = double.send_text(ada, "en")
    second = double.send_command(ada, "/volunteer ABC")

    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first, second]
    assert updates[1].message is not None
    assert updates[1].message.parse_entities() != {}
    assert (await bot.get_updates(offset=first + 1))[0].update_id == second
    assert await bot.get_updates(offset=second + 1) == ()
    assert double.pending_updates == []


async def test_application_polling_echoes_text(double: BotApiDouble, ada: FakeUser) -> None:
    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(f"{double.url}/bot")
        .base_file_url(f"{double.url}/file/bot")
        .build()
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"echo: {update.message.text}")

    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    await app.start()
    try:
        double.send_text(ada, "hej med dig")
        [reply] = await double.wait_for_messages(ada, timeout=5)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert reply.text == "echo: hej med dig"
    assert double.pending_updates == []


async def test_blocked_user_is_forbidden(double: BotApiDouble, bot: Bot, ada: FakeUser) -> None:
    double.block(ada)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ada.chat_id, "hallo?")
    double.unblock(ada)
    await bot.send_message(ada.chat_id, "hallo!")
    assert [m.text for m in double.sent] == ["hallo!"]


async def test_injected_429_is_retry_after(
    double: BotApiDouble, bot: Bot, ada: FakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB's int retry_after is deprecated
    double.fail_next("sendMessage", error_code=429, retry_after=2, chat_id=ada.chat_id)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(ada.chat_id, "travlt")
    assert caught.value.retry_after == dtm.timedelta(seconds=2)
    await bot.send_message(ada.chat_id, "igen")  # only the next call failed
    assert double.calls_to("sendMessage")[0].description == "Too Many Requests: retry after 2"


@pytest.mark.parametrize(
    ("kwargs", "description"),
    [
        ({"text": "x" * 4097}, "(?i)message is too long"),
        ({"text": "   "}, "(?i)message text is empty"),
        ({"text": "ok", "reply_markup": keyboard(("A", "a" * 65))}, "(?i)BUTTON_DATA_INVALID"),
        ({"text": "I <3 you", "parse_mode": "HTML"}, '(?i)Unsupported start tag "3"'),
        ({"text": "Hej.", "parse_mode": "MarkdownV2"}, "(?i)Character '.' is reserved"),
    ],
)
async def test_invalid_messages_are_bad_requests(
    double: BotApiDouble, bot: Bot, ada: FakeUser, kwargs: dict[str, Any], description: str
) -> None:
    with pytest.raises(BadRequest, match=description):
        await bot.send_message(ada.chat_id, **kwargs)
    with pytest.raises(BadRequest, match="Chat not found"):  # PTB drops "Bad Request: "
        await bot.send_message(42, "hvem?")
    assert double.sent == []


async def test_html_counts_visible_text(double: BotApiDouble, bot: Bot, ada: FakeUser) -> None:
    with pytest.raises(BadRequest):
        await bot.send_message(ada.chat_id, "<b>" + "x" * 4096 + "</b> &lt;", parse_mode="HTML")
    assert double.sent == []  # 4098 visible characters is still too long
    await bot.send_message(ada.chat_id, "<b>fed</b> &lt;3", parse_mode="HTML")
    assert double.sent[0].text == "fed <3"


async def test_press_and_answer_callback_once(
    double: BotApiDouble, bot: Bot, ada: FakeUser
) -> None:
    await bot.send_message(ada.chat_id, "Klar?", reply_markup=keyboard(("Ja", "ready:yes")))
    [message] = await double.wait_for_messages(ada)
    update_id = double.press(ada, message, message.button("Ja"))

    [update] = await bot.get_updates()
    query = update.callback_query
    assert update.update_id == update_id
    assert query is not None
    assert query.data == "ready:yes"
    assert query.from_user.id == ada.id
    assert await query.answer("Tak!")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()
    assert [c.params["text"] for c in double.answered_callbacks] == ["Tak!"]


async def test_redeliver_repeats_the_same_update_id(
    double: BotApiDouble, bot: Bot, ada: FakeUser
) -> None:
    update_id = double.send_text(ada, "to gange?")
    [first] = await bot.get_updates()
    assert await bot.get_updates(offset=update_id + 1) == ()

    double.redeliver(update_id)
    [again] = await bot.get_updates(offset=update_id + 1)
    assert again.update_id == first.update_id == update_id
    assert await bot.get_updates(offset=update_id + 1) == ()


async def test_enforced_limits_reject_second_message_within_a_second(
    bot: Bot, ada: FakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    async with BotApiDouble(TOKEN, enforce_limits=True) as limited:
        user = limited.user()
        async with make_bot(limited) as client:
            await client.send_message(user.chat_id, "en")
            with pytest.raises(RetryAfter) as caught:
                await client.send_message(user.chat_id, "to")
            await client.send_message(limited.user().chat_id, "anden chat er fin")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)
        assert limited.rejected_429 == 1
        assert sum(limited.delivered_count_by_chat.values()) == 2


async def test_lean_double_keeps_no_history_but_enforces_the_same_limits(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    seen: list[int] = []
    async with BotApiDouble(TOKEN, enforce_limits=True, lean=True) as lean:
        lean.on_sent(lambda message: seen.append(message.chat_id))
        people = [lean.user() for _ in range(31)]
        async with make_bot(lean) as client:
            await client.send_message(people[0].chat_id, "en")
            with pytest.raises(RetryAfter):  # one a second in a chat
                await client.send_message(people[0].chat_id, "to")
            for person in people[1:30]:
                await client.send_message(person.chat_id, "hej")
            with pytest.raises(RetryAfter):  # 30 a second overall
                await client.send_message(people[30].chat_id, "en for mange")
        assert seen == [person.chat_id for person in people[:30]]
        assert (lean.sent, lean.calls) == ([], [])
        assert lean.rejected_429 == 2
        assert sum(lean.delivered_count_by_chat.values()) == 30


async def test_overlapping_long_polls_conflict(double: BotApiDouble) -> None:
    url = f"{double.url}/bot{TOKEN}/getUpdates"
    async with aiohttp.ClientSession() as session:

        async def poll(seconds: int) -> tuple[int, Any]:
            async with session.post(url, json={"timeout": seconds}) as resp:
                return resp.status, await resp.json()

        older = asyncio.create_task(poll(3))
        await double.wait_for_call("getUpdates")
        newer = await poll(0)
        status, body = await older
    assert newer == (200, {"ok": True, "result": []})
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")


async def test_webhook_delivery(double: BotApiDouble, bot: Bot, ada: FakeUser) -> None:
    received: list[tuple[str | None, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        port = runner.addresses[0][1]
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        update_id = double.send_text(ada, "via webhook")
        assert await double.flush_webhook() == [200]
    finally:
        await runner.cleanup()
    assert received == [("s3cret", {"update_id": update_id, "message": received[0][1]["message"]})]
    assert received[0][1]["message"]["text"] == "via webhook"
    assert (await bot.get_webhook_info()).pending_update_count == 0
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_unknown_method_and_wrong_token(double: BotApiDouble, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar")
    assert double.calls[-1].method == "fooBar"
    assert double.calls[-1].error_code == 404
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{double.url}/bot999:WRONG/getMe") as resp,
    ):
        assert resp.status == 401
        assert await resp.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_edits_commands_and_deletes(double: BotApiDouble, bot: Bot, ada: FakeUser) -> None:
    message = await bot.send_message(ada.chat_id, "Valg", reply_markup=keyboard(("A", "a")))
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await message.edit_text("Valg", reply_markup=keyboard(("A", "a")))
    await message.edit_text("Valgt: A")  # without reply_markup the keyboard goes away
    first, edit = await double.wait_for_messages(ada, count=2, edits=True)
    assert (edit.edited, edit.message_id, edit.text) == (True, first.message_id, "Valgt: A")
    assert edit.buttons == []
    assert await message.delete()
    assert double.deleted == [(ada.chat_id, message.message_id)]

    assert await bot.set_my_commands([("start", "Start en samtale")], language_code="da")
    assert double.commands == {
        ("default", "da"): [{"command": "start", "description": "Start en samtale"}]
    }
    assert [c.command for c in await bot.get_my_commands(language_code="da")] == ["start"]
    assert await bot.get_my_commands() == ()
    call = await double.wait_for_call("setMyCommands")
    assert call.params["language_code"] == "da"


async def test_wait_for_messages_explains_timeout(double: BotApiDouble, ada: FakeUser) -> None:
    double.fail_next("sendMessage", error_code=403)
    with pytest.raises(AssertionError, match=r"expected 1 new message\(s\) to chat"):
        await double.wait_for_messages(ada, timeout=0.05)


async def test_all_update_kinds_parse_in_ptb(
    double: BotApiDouble, bot: Bot, ada: FakeUser
) -> None:
    for kind in MEDIA_KINDS:
        double.send_kind(ada, kind)
    text_id = double.send_text(ada, "original")
    double.edit_text(ada, text_id, "rettet")
    double.group_text(ada, "hej gruppe")
    double.inject({"message": {"message_id": 999, "date": 0, "chat": ada.private_chat_json()}})

    updates = await bot.get_updates()
    assert len(updates) == len(MEDIA_KINDS) + 4
    assert updates[len(MEDIA_KINDS) + 1].edited_message is not None
    group_message = updates[-2].message
    assert group_message is not None
    assert group_message.chat.type == "group"
    assert await bot.send_message(group_message.chat.id, "hej alle")
    assert (await bot.get_chat(ada.chat_id)).first_name == "Ada"
