"""The whole conversation, through the real PTB stack, in Danish and in English:
welcome → age band → a topic → free text → menu → measure → ideas → communities."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from storage.models import Measurement, StatEvent
from tests.botapi import BotApiDouble
from tests.e2e.conftest import Snakkes
from tests.e2e.helpers import press, reply_to, to_menu


@dataclass(frozen=True)
class Script:
    """What a person taps and types, and what the bot says back, in one language."""

    language: str
    consent: str
    age_question: str
    age: str
    measure_offer: str
    not_now: str
    menu: str
    talk: str
    topics_question: str
    topic: str
    topic_id: str
    normalising: str
    free_text: str
    reflection: str
    idea: str
    measure: str
    first_question: str
    often: str
    skip: str
    thanks: str
    result: str
    ideas: str
    communities: str
    sport: str
    region: str
    suggestions: str


DANISH = Script(
    language="da",
    consent="Okay, det er fint",
    age_question="Må jeg spørge, hvor gammel du er?",
    age="18–24",
    measure_offer="Må jeg stille dig fire korte spørgsmål",
    not_now="Ikke nu",
    menu="Hvad har du lyst til?",
    talk="Snakke om, hvordan jeg har det",
    topics_question="Hvad handler det mest om?",
    topic="Skole eller studie",
    topic_id="school_or_studies",
    normalising="der er ikke noget galt med dig",
    free_text="Alle i min klasse har deres grupper, og jeg sidder bare for mig selv",
    reflection="lyder",
    idea="Her er én lille ting, du kan prøve",
    measure="Hvordan har jeg det egentlig?",
    first_question="Hvor ofte føler du, at du mangler nogen at være sammen med?",
    often="Ofte",
    skip="Spring over",
    thanks="Tak for dine svar",
    result="kommer og går",
    ideas="Små idéer til i dag",
    communities="Fællesskaber",
    sport="Sport og bevægelse",
    region="Midtjylland",
    suggestions="Her er nogle forslag:",
)

ENGLISH = Script(
    language="en",
    consent="Okay, that's fine",
    age_question="May I ask how old you are?",
    age="25–30",
    measure_offer="May I ask you four short questions",
    not_now="Not now",
    menu="What would you like?",
    talk="Talk about how I feel",
    topics_question="What is it mostly about?",
    topic="Friends – or being left out",
    topic_id="friends",
    normalising="So many people feel",
    free_text="Everyone at work already has their people and I just sit alone at lunch",
    reflection="sounds",
    idea="Here's one small thing you could try",
    measure="How am I really doing?",
    first_question="How often do you feel that you lack companionship?",
    often="Often",
    skip="Skip",
    thanks="Thank you for your answers",
    result="comes and goes",
    ideas="Small ideas for today",
    communities="Communities",
    sport="Sport and movement",
    region="Central Jutland",
    suggestions="Here are some suggestions:",
)


@pytest.mark.parametrize("script", [DANISH, ENGLISH], ids=["da", "en"])
async def test_a_whole_conversation(
    double: BotApiDouble, snakkes: Snakkes, script: Script
) -> None:
    person = double.user(language_code=script.language)
    s = script

    # Welcome: who the bot is, consent, the age band.
    double.send_command(person, "/start")
    [greeting] = await double.wait_for_messages(person.chat_id)
    assert "bot" in greeting.text
    assert "112" in greeting.text
    [age_question] = await press(double, person, greeting, s.consent)
    assert s.age_question in age_question.text
    [measure_offer] = await press(double, person, age_question, s.age)
    assert s.measure_offer in measure_offer.text
    [menu] = await press(double, person, measure_offer, s.not_now)
    assert menu.text == s.menu

    # A topic, chosen with a button, then free text, then an idea.
    [topics] = await press(double, person, menu, s.talk)
    assert topics.text.startswith(s.topics_question)
    [topic] = await press(double, person, topics, s.topic)
    assert s.normalising in topic.text
    assert topic.text.endswith("?")  # one open question
    double.send_text(person, s.free_text)
    reflection, idea = await double.wait_for_messages(person.chat_id, count=2)
    assert s.reflection in reflection.text  # what was said is acknowledged first
    assert idea.text.startswith(s.idea)
    assert len(idea.labels()) == 5  # another idea, another topic, communities, human, menu

    # Back to the menu by typing, then the measure.
    menu = await reply_to(double, person, "menu")
    assert menu.text == s.menu
    intro, first = await press(double, person, menu, s.measure, count=2)
    assert first.text == s.first_question
    assert intro.labels() == []
    [second] = await press(double, person, first, s.often)
    [third] = await press(double, person, second, s.skip)
    [fourth] = await press(double, person, third, s.skip)
    thanks, result = await press(double, person, fourth, s.skip, count=2)
    assert s.thanks in thanks.text
    assert s.result in result.text  # the answers reflected, kindly, with a way on
    assert result.labels()
    menu = await reply_to(double, person, "menu")
    assert menu.text == s.menu

    # Ideas, then communities.
    ideas = await press(double, person, menu, s.ideas, count=2)
    assert ideas[-1].labels()
    menu = await reply_to(double, person, "menu")
    [communities] = await press(double, person, menu, s.communities)
    [region] = await press(double, person, communities, s.sport)
    [suggestions] = await press(double, person, region, s.region)
    assert suggestions.text.startswith(s.suggestions)
    assert "•" in suggestions.text
    assert "example" in suggestions.text.lower() or "eksempel" in suggestions.text.lower()

    async with snakkes.service.database.session() as session:
        [measurement] = (await session.scalars(select(Measurement))).all()
        topics_chosen = (
            await session.scalars(select(StatEvent.detail).where(StatEvent.kind == "topic"))
        ).all()
    assert (measurement.context, measurement.companionship, measurement.left_out) == (
        "menu",
        3,
        None,
    )
    assert topics_chosen == [s.topic_id]


async def test_typed_sentences_find_the_topic_from_the_menu(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    await to_menu(double, ada)
    answer = await reply_to(double, ada, "jeg har ingen venner og ingen at snakke med")
    assert answer.text.rstrip().endswith("?")
    async with snakkes.service.database.session() as session:
        topics = (await session.scalars(select(StatEvent.detail))).all()
    assert "friends" in topics
