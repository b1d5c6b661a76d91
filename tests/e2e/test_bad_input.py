"""Bad input never breaks the bot: every kind gets a short, kind answer or is ignored on
purpose, and the next message is answered as usual."""

from __future__ import annotations

import logging

import pytest

from tests.botapi import BotApiDouble
from tests.e2e.conftest import Snakkes

MEDIA_KINDS = [
    "sticker",
    "photo",
    "voice",
    "video",
    "video_note",
    "audio",
    "document",
    "animation",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
]


@pytest.fixture(autouse=True)
def no_handler_errors(caplog: pytest.LogCaptureFixture) -> object:
    """Whatever the input, nothing may reach the error handler."""
    caplog.set_level(logging.ERROR)
    yield
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


async def test_every_media_kind_gets_a_kind_text_only_answer(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    for kind in MEDIA_KINDS:
        double.send_kind(ada, kind)
        [reply] = await double.wait_for_messages(ada.chat_id)
        assert "kan kun læse tekst" in reply.text, kind


async def test_media_answer_in_english(double: BotApiDouble, snakkes: Snakkes) -> None:
    bob = double.user(language_code="en")
    double.send_kind(bob, "voice")
    [reply] = await double.wait_for_messages(bob.chat_id)
    assert "can only read text" in reply.text


async def test_an_edited_message_is_answered_not_reprocessed(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    original = double.send_text(ada, "hej")
    await double.wait_for_messages(ada.chat_id)
    double.edit_text(ada, original, "hej igen")
    [reply] = await double.wait_for_messages(ada.chat_id)
    assert "rettelser" in reply.text


async def test_text_over_4096_characters_gets_asked_to_split(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    double.send_text(ada, "å" * 5000)
    [reply] = await double.wait_for_messages(ada.chat_id)
    assert "4096 tegn" in reply.text


async def test_whitespace_only_text_is_ignored_on_purpose(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    double.send_text(ada, "   ")
    double.send_command(ada, "/help")
    [reply] = await double.wait_for_messages(ada.chat_id)
    assert "/forget" in reply.text
    assert len(double.messages_to(ada.chat_id)) == 1


async def test_an_unknown_command_points_to_help(double: BotApiDouble, snakkes: Snakkes) -> None:
    ada = double.user(language_code="da")
    double.send_command(ada, "/frobnicate now")
    [reply] = await double.wait_for_messages(ada.chat_id)
    assert "/help" in reply.text


@pytest.mark.parametrize("data", ["nonsense", "lang:xx", "forget:yes:00000000", "", "forget"])
async def test_unknown_or_stale_button_data_gets_a_kind_answer(
    double: BotApiDouble, snakkes: Snakkes, data: str
) -> None:
    ada = double.user(language_code="da")
    double.send_command(ada, "/help")
    [help_message] = await double.wait_for_messages(ada.chat_id)
    double.press(ada, help_message, data, allow_unknown=True)
    [reply] = await double.wait_for_messages(ada.chat_id)
    assert "ikke aktiv" in reply.text
    assert double.answered_callbacks


async def test_a_stale_button_of_an_old_language_prompt(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    double.send_command(ada, "/language")
    [prompt] = await double.wait_for_messages(ada.chat_id)
    english = prompt.button("English")
    double.press(ada, prompt, english)
    await double.wait_for_messages(ada.chat_id)
    # The keyboard is gone, but a second device may still show it: pressed again, harmless.
    assert double.edits_in(ada.chat_id)[-1].labels() == []
    double.press(ada, prompt, english, allow_unknown=True)
    [again] = await double.wait_for_messages(ada.chat_id)
    assert again.text == "Fine, I'll write in English now."


async def test_in_a_group_the_bot_says_once_that_it_only_talks_in_private(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada, bo = double.user(language_code="da"), double.user(language_code="en")
    first = double.group_text(ada, "hej bot")
    group_id = next(u for u in double.pending_updates if u["update_id"] == first)["message"][
        "chat"
    ]["id"]
    double.group_text(bo, "/start", group_id=group_id)
    double.group_text(ada, "hallo?", group_id=group_id)
    [notice] = await double.wait_for_messages(group_id)
    assert "kun i private beskeder" in notice.text
    assert "only talk in private" in notice.text
    double.send_command(ada, "/help")  # a private message after: answered as usual
    await double.wait_for_messages(ada.chat_id)
    assert len(double.messages_to(group_id)) == 1
