"""Every text passes the safety net: captions, edits, thoughts split over two messages (on
Telegram and in the web chat), and the graded answers to ambiguous distress: the direct
question, and where "yes" and "no" lead, in Danish and in English."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import ConversationState, StatEvent
from tests.botapi import BotApiDouble, FakeUser, SentMessage
from tests.e2e.conftest import Snakkes, StartSnakkes
from tests.e2e.helpers import press, reply_to, to_menu
from tests.e2e.webchat import WebClient, choice_data

CRISIS_DA = "et menneske kan, lige nu"
CRISIS_EN = "a human can, right now"


async def _crisis_events(snakkes: Snakkes) -> list[str]:
    async with snakkes.service.database.session() as session:
        events = await session.scalars(select(StatEvent).where(StatEvent.kind == "crisis"))
        return [event.detail for event in events]


async def _state(snakkes: Snakkes) -> ConversationState:
    async with snakkes.service.database.session() as session:
        states = (await session.scalars(select(ConversationState))).all()
    [state] = states
    return state


async def test_a_photo_whose_caption_says_it_gets_the_crisis_answer(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    await to_menu(double, ada)
    double.send_kind(ada, "photo", caption="jeg vil tage mit eget liv i aften")
    [answer] = await double.wait_for_messages(ada)
    assert CRISIS_DA in answer.text
    assert "70 201 201" in answer.text
    assert await _crisis_events(snakkes) == ["suicide"]


async def test_a_photo_with_an_ordinary_caption_gets_the_usual_answer(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    bob = double.user(language_code="en")
    await to_menu(double, bob)
    double.send_kind(bob, "photo", caption="my cat sleeping on my homework lol")
    [answer] = await double.wait_for_messages(bob)
    assert CRISIS_EN not in answer.text
    assert await _crisis_events(snakkes) == []


async def test_an_edit_that_adds_risk_gets_the_crisis_answer(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    await to_menu(double, ada)
    sent = double.send_text(ada, "det går fint")
    [first] = await double.wait_for_messages(ada)
    assert CRISIS_DA not in first.text
    double.edit_text(ada, sent, "det går ikke fint. jeg vil slå mig selv ihjel")
    [answer] = await double.wait_for_messages(ada)
    assert CRISIS_DA in answer.text
    assert (await _state(snakkes)).crisis_at is not None


async def test_a_thought_split_over_two_messages_is_judged_together(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    await to_menu(double, ada)
    first = await reply_to(double, ada, "jeg vil bare")
    assert CRISIS_DA not in first.text
    answer = await reply_to(double, ada, "dø")
    assert CRISIS_DA in answer.text
    assert await _crisis_events(snakkes) == ["suicide"]
    # Answered as a whole once: the next ordinary message is not answered with it again.
    after = await reply_to(double, ada, "okay")
    assert CRISIS_DA not in after.text


async def test_a_thought_split_over_two_messages_in_the_web_chat(snakkes: Snakkes) -> None:
    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket(lang="en") as sock:
            [greeting], _ = await sock.say("/start")
            messages, _ = await sock.press(choice_data(greeting, "Okay"))
            messages, _ = await sock.say("i just want to")
            assert all(CRISIS_EN not in m["text"] for m in messages)
            messages, _ = await sock.say("die")
            assert CRISIS_EN in messages[0]["text"]
            assert "116 111" in messages[0]["text"]
    assert await _crisis_events(snakkes) == ["suicide"]


# -- the direct question --------------------------------------------------------------------

QUESTION = {"da": "Tænker du på selvmord", "en": "Are you thinking about suicide"}
DISTRESS = {"da": "jeg kan ikke mere", "en": "i can't do this anymore"}
YES = {"da": "Ja", "en": "Yes"}
NO = {"da": "Nej", "en": "No"}
UNSURE = {"da": "Ved ikke", "en": "I don't know"}


async def _asked(double: BotApiDouble, person: FakeUser, language: str) -> SentMessage:
    await to_menu(double, person)
    question = await reply_to(double, person, DISTRESS[language])
    assert QUESTION[language] in question.text
    assert question.labels() == [YES[language], NO[language], UNSURE[language]]
    return question


async def test_the_direct_question_and_yes_lead_to_the_crisis_answer_da(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    question = await _asked(double, ada, "da")
    assert "hemmelig" not in question.text  # never a promise of secrecy
    thanks, crisis = await press(double, ada, question, "Ja", count=2)
    assert "modigt" in thanks.text
    assert CRISIS_DA in crisis.text
    assert "🙋 Tale med et menneske nu" in crisis.labels()
    assert await _crisis_events(snakkes) == ["asked_yes"]
    assert (await _state(snakkes)).crisis_at is not None


async def test_the_direct_question_answered_yes_in_words_en(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    bob = double.user(language_code="en")
    await _asked(double, bob, "en")
    double.send_text(bob, "yeah")
    thanks, crisis = await double.wait_for_messages(bob, 2)
    assert "courage" in thanks.text
    assert CRISIS_EN in crisis.text
    assert "🙋 Talk to a human now" in crisis.labels()


async def test_the_direct_question_answered_no_goes_back_with_care_and_is_not_repeated(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    question = await _asked(double, ada, "da")
    [care] = await press(double, ada, question, "Nej", count=1)
    assert "Tak fordi du svarer" in care.text
    assert "også om natten" in care.text
    assert care.labels() == ["Ja, lad os snakke", "🙋 Tale med et menneske", "Menu"]
    assert await _crisis_events(snakkes) == []
    state = await _state(snakkes)
    assert state.crisis_at is None
    assert "safety_asked_at" in state.answers
    # Asked recently: the same kind of message now goes on with the conversation.
    again = await reply_to(double, ada, DISTRESS["da"])
    assert QUESTION["da"] not in again.text


async def test_the_direct_question_answered_no_in_words_en(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    bob = double.user(language_code="en")
    await _asked(double, bob, "en")
    care = await reply_to(double, bob, "no")
    assert "Thank you for answering" in care.text
    assert care.labels() == ["Yes, let's talk", "🙋 Talk to a human", "Menu"]
    [topics] = await press(double, bob, care, "Yes, let's talk")
    assert topics.text


async def test_an_unsure_answer_gets_the_crisis_lines_without_pressure(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    await _asked(double, ada, "da")
    unsure = await reply_to(double, ada, "ved ikke helt")
    assert "helt okay ikke at vide" in unsure.text
    assert unsure.text.count("\n") <= 6  # at most three lines of resources
    assert "70 201 201" in unsure.text


async def test_with_the_classifier_off_the_lexicon_still_answers_and_healthz_says_so(
    double: BotApiDouble, start_snakkes: StartSnakkes, caplog: pytest.LogCaptureFixture
) -> None:
    snakkes = await start_snakkes(safety_classifier="off")
    assert "classifier is OFF" in caplog.text
    async with WebClient(snakkes.url) as client, client.http.get(f"{snakkes.url}/healthz") as r:
        health = await r.json()
    assert health["safety_classifier"] == "off"
    ada = double.user(language_code="da")
    await to_menu(double, ada)
    answer = await reply_to(double, ada, "jeg vil slå mig selv ihjel")
    assert CRISIS_DA in answer.text
