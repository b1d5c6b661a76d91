"""First contact through the real PTB stack: greeting, disclosure, language, commands."""

from __future__ import annotations

import aiohttp

from tests.botapi import BotApiDouble
from tests.e2e.conftest import Snakkes


async def test_start_greets_a_danish_user_in_danish_and_says_it_is_a_bot(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(first_name="Ada", username="ada_dk", language_code="da")
    double.send_command(ada, "/start")

    [greeting] = await double.wait_for_messages(ada.chat_id)
    assert "en bot, ikke et menneske" in greeting.text
    assert "ikke en terapeut og ikke en nødtjeneste" in greeting.text
    assert "anonym" in greeting.text
    assert greeting.labels() == ["Okay, det er fint"]


async def test_start_greets_an_english_user_in_english(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    bob = double.user(first_name="Bob", username="bob_uk", language_code="en-GB")
    double.send_command(bob, "/start")

    [greeting] = await double.wait_for_messages(bob.chat_id)
    assert "a bot, not a human" in greeting.text
    assert "not a therapist and not an emergency service" in greeting.text
    assert "anonymous" in greeting.text


async def test_an_unsupported_telegram_language_gets_danish(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    hans = double.user(first_name="Hans", language_code="de")
    double.send_command(hans, "/start")
    [greeting] = await double.wait_for_messages(hans.chat_id)
    assert "en bot, ikke et menneske" in greeting.text


async def test_consent_help_privacy_and_language(double: BotApiDouble, snakkes: Snakkes) -> None:
    ada = double.user(language_code="da")
    double.send_command(ada, "/start")
    [greeting] = await double.wait_for_messages(ada.chat_id)

    double.press(ada, greeting, greeting.button("Okay"))
    [thanks] = await double.wait_for_messages(ada.chat_id)
    assert thanks.text.startswith("Tak.")
    assert double.answered_callbacks, "the button press must be answered"

    double.send_command(ada, "/help")
    [help_text] = await double.wait_for_messages(ada.chat_id)
    assert "/forget" in help_text.text
    assert "bot" in help_text.text

    double.send_command(ada, "/privacy")
    [privacy] = await double.wait_for_messages(ada.chat_id)
    assert "pseudonym" in privacy.text.lower()
    assert "navn" in privacy.text

    double.send_command(ada, "/language")
    [prompt] = await double.wait_for_messages(ada.chat_id)
    assert prompt.labels() == ["Dansk", "English"]
    double.press(ada, prompt, prompt.button("English"))
    [switched] = await double.wait_for_messages(ada.chat_id)
    assert switched.text == "Fine, I'll write in English now."

    double.send_command(ada, "/help")
    [english_help] = await double.wait_for_messages(ada.chat_id)
    assert english_help.text.startswith("I'm a bot")


async def test_commands_are_registered_in_danish_and_english(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    by_language = {language: cmds for (_, language), cmds in double.commands.items()}
    names = [c["command"] for c in by_language["da"]]
    assert names[:5] == ["start", "help", "privacy", "forget", "language"]
    assert names == [c["command"] for c in by_language["en"]]
    assert by_language["da"][3]["description"] == "Slet alt om mig"
    assert by_language["en"][3]["description"] == "Delete everything about me"


async def test_healthz_reports_database_and_telegram(snakkes: Snakkes) -> None:
    async with aiohttp.ClientSession() as client, client.get(f"{snakkes.url}/healthz") as reply:
        assert reply.status == 200
        assert await reply.json() == {
            "status": "ok", "database": True, "telegram": "polling", "safety_classifier": "on"
        }
