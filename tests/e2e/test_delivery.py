"""Delivery semantics: duplicates, webhook secret and failures, blocked bot, 429."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from sqlalchemy import text

from tests.botapi import BotApiDouble
from tests.e2e.conftest import StartSnakkes


async def test_a_redelivered_update_gets_one_reply_in_polling_mode(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    await start_snakkes()
    ada = double.user(language_code="da")
    first = double.send_command(ada, "/help")
    await double.wait_for_messages(ada.chat_id)

    double.redeliver(first)
    double.send_command(ada, "/privacy")  # handled after the redelivery, in order
    [privacy] = await double.wait_for_messages(ada.chat_id)
    assert "gemmer" in privacy.text
    assert len(double.messages_to(ada.chat_id)) == 2


async def test_a_redelivered_update_is_recognised_after_a_restart(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    ada = double.user(language_code="da")
    first = double.send_command(ada, "/help")
    await double.wait_for_messages(ada.chat_id)
    await snakkes.restart()

    double.redeliver(first)
    double.send_command(ada, "/privacy")
    await double.wait_for_messages(ada.chat_id)
    assert len(double.messages_to(ada.chat_id)) == 2


async def test_webhook_mode_answers_200_after_processing_and_once_per_update(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    await start_snakkes(telegram_mode="webhook")
    webhook = double.webhook
    assert webhook is not None
    assert webhook["url"].endswith("/telegram/webhook")
    ada = double.user(language_code="en")
    update_id = double.send_command(ada, "/start")

    assert await double.deliver_webhook(update_id) == 200
    # 200 came after processing: the reply is already there.
    assert len(double.messages_to(ada.chat_id)) == 1
    assert await double.deliver_webhook(update_id) == 200
    assert len(double.messages_to(ada.chat_id)) == 1


async def test_webhook_without_the_secret_gets_401_and_changes_nothing(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes(telegram_mode="webhook")
    ada = double.user(language_code="en")
    update_id = double.send_command(ada, "/start")
    [update] = [u for u in double.pending_updates if u["update_id"] == update_id]
    async with aiohttp.ClientSession() as client:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with client.post(
                f"{snakkes.url}/telegram/webhook", json=update, headers=headers
            ) as reply:
                assert reply.status == 401
    assert double.messages_to(ada.chat_id) == []
    async with snakkes.service.database.session() as session:
        assert await session.scalar(text("SELECT count(*) FROM participants")) == 0
        assert await session.scalar(text("SELECT count(*) FROM processed_updates")) == 0


async def test_webhook_answers_500_when_processing_fails_and_the_retry_succeeds(
    double: BotApiDouble, start_snakkes: StartSnakkes, caplog: pytest.LogCaptureFixture
) -> None:
    snakkes = await start_snakkes(telegram_mode="webhook")
    database = snakkes.service.database
    ada = double.user(language_code="en")
    update_id = double.send_command(ada, "/start")

    async with database.engine.begin() as connection:  # the database loses a table
        await connection.execute(text("ALTER TABLE participants RENAME TO participants_away"))
    with caplog.at_level(logging.ERROR):
        assert await double.deliver_webhook(update_id) == 500
    assert double.messages_to(ada.chat_id) == []
    assert any("update failed: OperationalError" in r.getMessage() for r in caplog.records)

    async with database.engine.begin() as connection:  # and gets it back
        await connection.execute(text("ALTER TABLE participants_away RENAME TO participants"))
    assert await double.deliver_webhook(update_id) == 200  # Telegram's retry
    [greeting] = await double.wait_for_messages(ada.chat_id)
    assert "a bot, not a human" in greeting.text


async def test_a_blocked_bot_marks_the_person_unreachable_and_keeps_running(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    ada, bo = double.user(language_code="da"), double.user(language_code="da")
    double.block(ada)
    double.send_command(ada, "/help")
    await double.wait_for_call(
        "sendMessage", predicate=lambda call: call.params["chat_id"] == ada.chat_id
    )
    double.send_command(bo, "/help")
    await double.wait_for_messages(bo.chat_id)  # the bot carries on for others
    async with snakkes.service.database.session() as session:
        reachable = await session.scalar(text("SELECT count(*) FROM participants WHERE reachable"))
    assert reachable == 1

    double.unblock(ada)
    double.send_command(ada, "/help")  # writing again makes them reachable again
    await double.wait_for_messages(ada.chat_id)


async def test_a_429_is_waited_out_and_the_reply_still_arrives(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    await start_snakkes()
    ada = double.user(language_code="da")
    double.fail_next("sendMessage", error_code=429, retry_after=1)
    double.send_command(ada, "/help")
    [reply] = await double.wait_for_messages(ada.chat_id, timeout=10)
    assert "/forget" in reply.text
    attempts = [c for c in double.calls if c.method == "sendMessage"]
    assert len(attempts) == 2
    assert attempts[1].at - attempts[0].at >= 1.0


async def test_people_writing_at_once_each_get_their_replies_in_order(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    """Updates of different people are handled side by side, one person's strictly in turn
    (bot/telegram/ordering.py): all queued before the bot fetches them, and the first reply
    of each person held up by a 429, every reply still comes in the order it was asked."""
    people = [double.user(language_code="da") for _ in range(12)]
    sequence = ["/privacy", "/help", "/help", "/privacy", "/help", "/privacy"]
    for command in sequence:
        for person in people:
            double.send_command(person, command)
    for person in people[:3]:
        double.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=person.chat_id)
    await start_snakkes()
    for person in people:
        replies = await double.wait_for_messages(person.chat_id, count=len(sequence), timeout=30)
        answered = ["/help" if r.text.startswith("Jeg er en bot") else "/privacy" for r in replies]
        assert answered == sequence
