"""The safety net, state across restarts and idle time, the flood limit, fallbacks."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from storage.models import ConversationState, Measurement, StatEvent
from tests.botapi import BotApiDouble
from tests.e2e.conftest import Snakkes
from tests.e2e.helpers import press, reply_to, to_menu, welcome


async def test_the_crisis_answer_is_the_first_thing_sent_after_the_message(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    age_question = await welcome(double, ada)
    [measure_offer] = await press(double, ada, age_question, "18–24")
    [first_question, _] = await press(double, ada, measure_offer, "Ja", count=2)
    del first_question

    double.send_text(ada, "jeg orker ikke at leve mere")
    [answer] = await double.wait_for_messages(ada.chat_id)
    assert "et menneske kan, lige nu" in answer.text
    assert "Livslinien: 70 201 201" in answer.text
    assert "BørneTelefonen: 116 111" in answer.text
    assert "ring 112" in answer.text
    assert answer.labels() == ["🙋 Tale med et menneske nu", "Jeg er i sikkerhed lige nu"]

    async with snakkes.service.database.session() as session:
        events = (await session.scalars(select(StatEvent).where(StatEvent.kind == "crisis"))).all()
        state = await session.scalar(select(ConversationState))
    assert [(e.detail, e.channel, e.hour.minute) for e in events] == [("suicide", "telegram", 0)]
    assert state is not None
    assert (state.flow, state.node) == ("safety", "crisis")  # the flow stopped
    assert state.crisis_at is not None


async def test_the_crisis_net_works_in_english_and_offers_a_human(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    bob = double.user(language_code="en")
    await to_menu(double, bob)
    answer = await reply_to(double, bob, "i want to kms tonight")
    assert "a human can, right now" in answer.text
    [human] = await press(double, bob, answer, "Talk to a human now")
    assert "70 201 201" in human.text


async def test_restarting_mid_flow_continues_at_the_same_node(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    age_question = await welcome(double, ada)
    [measure_offer] = await press(double, ada, age_question, "15–17")
    _, companionship = await press(double, ada, measure_offer, "Ja", count=2)
    [left_out] = await press(double, ada, companionship, "Ofte")

    await snakkes.restart()

    assert left_out.text == "Hvor ofte føler du dig holdt udenfor?"
    double.send_text(ada, "2")  # a typed answer: the second choice
    [isolated] = await double.wait_for_messages(ada.chat_id)
    assert isolated.text == "Hvor ofte føler du dig isoleret fra andre?"
    [lonely] = await press(double, ada, isolated, "Spring over")
    thanks, result = await press(double, ada, lonely, "En sjælden gang", count=2)
    assert "aldrig til at sætte dig i bås" in thanks.text
    assert "kommer og går" in result.text
    assert "Menu" in result.labels()

    async with snakkes.service.database.session() as session:
        [measurement] = (await session.scalars(select(Measurement))).all()
    assert measurement.context == "intake"
    assert (
        measurement.companionship,
        measurement.left_out,
        measurement.isolated,
        measurement.lonely,
    ) == (3, 2, None, 3)


async def test_after_24_hours_idle_the_conversation_starts_afresh(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    age_question = await welcome(double, ada)
    await press(double, ada, age_question, "18–24")
    snakkes.clock.advance(hours=25)

    double.send_text(ada, "hej igen")
    welcome_back, menu = await double.wait_for_messages(ada.chat_id, count=2)
    assert welcome_back.text.startswith("Velkommen tilbage")
    assert menu.text == "Hvad har du lyst til?"


async def test_more_than_20_messages_a_minute_get_one_calm_slow_down(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    await to_menu(double, ada)  # 4 messages from Ada so far
    before = len(double.messages_to(ada.chat_id))
    for number in range(25):
        double.send_text(ada, f"blah {number}")
    double.send_text(ada, "jeg vil slå mig selv ihjel")  # the 30th: the net reads it too
    await double.wait_for_call(
        "sendMessage", predicate=lambda call: "menneske kan" in call.params["text"], timeout=15
    )
    replies = [m.text for m in double.messages_to(ada.chat_id)[before:]]
    slow_downs = [i for i, text in enumerate(replies) if "mange beskeder lige nu" in text]
    assert len(slow_downs) == 1
    # After the slow-down, only the crisis answer: the bot stays quiet but keeps reading.
    assert len(replies) == slow_downs[0] + 2
    assert "et menneske kan, lige nu" in replies[-1]
    await double.wait_for_messages(ada.chat_id, count=len(replies))  # all read

    snakkes.clock.advance(minutes=1)
    answer = await reply_to(double, ada, "menu")
    assert answer.text == "Hvad har du lyst til?"


async def test_the_same_fallback_is_never_sent_twice_in_a_row(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    bob = double.user(language_code="en")
    age_question = await welcome(double, bob)
    replies = [await reply_to(double, bob, f"qwerty {n}") for n in range(4)]
    answers = [reply.text for reply in replies]
    assert all(a != b for a, b in itertools.pairwise(answers))
    # Never "write it differently", never the bot's nature in every answer, and the buttons
    # in view (the age bands) stay under every answer.
    assert not any("another way" in a or "differently" in a for a in answers)
    assert sum("bot" in a for a in answers) <= 2
    for reply in replies:
        assert age_question.labels() == reply.labels()[: len(age_question.labels())]


async def test_asking_for_medication_advice_gets_a_kind_no(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    await to_menu(double, ada)
    answer = await reply_to(double, ada, "kan du anbefale noget medicin så jeg kan sove?")
    assert "giver aldrig råd om medicin" in answer.text


async def test_under_15_hears_about_bornetelefonen(double: BotApiDouble, snakkes: Snakkes) -> None:
    ada = double.user(language_code="da")
    age_question = await welcome(double, ada)
    young, measure_offer = await press(double, ada, age_question, "Under 15", count=2)
    assert "BørneTelefonen på 116 111" in young.text
    assert "dag og nat" in young.text
    assert measure_offer.labels() == ["Ja, gerne", "Ikke nu"]
