"""A conversation that listens (issue #14): each way the bot answered as if it had not heard,
tried the way a person would, through the real PTB stack (and the web chat's socket)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Checkin, Handover, StatEvent
from tests.botapi import BotApiDouble, FakeUser, SentMessage
from tests.e2e.conftest import Snakkes, StartSnakkes
from tests.e2e.helpers import press, reply_to, to_menu
from tests.e2e.webchat import WebClient, choice_data
from tests.volunteers.helpers import ask_for_human, onboard, tap

COLD = ("anden måde", "another way", "differently", "skriv det på en")


async def topics_counted(snakkes: Snakkes) -> list[str]:
    async with snakkes.service.database.session() as session:
        query = select(StatEvent.detail).where(StatEvent.kind == "topic")
        return list((await session.scalars(query)).all())


async def at_ideas(double: BotApiDouble, person: FakeUser) -> SentMessage:
    menu = await to_menu(double, person)
    label = "idéer" if person.language_code == "da" else "ideas"
    _intro, idea = await press(double, person, menu, label, count=2)
    return idea


@pytest.mark.parametrize(
    ("language", "text"),
    [("da", "føler mig usynlig"), ("en", "i feel invisible"), ("da", "jeg føler mig så overset")],
)
async def test_a_feeling_typed_outside_menu_and_topics_is_heard_not_rejected(
    double: BotApiDouble, snakkes: Snakkes, language: str, text: str
) -> None:
    person = double.user(language_code=language)
    idea = await at_ideas(double, person)
    answer = await reply_to(double, person, text)
    assert not any(cold in answer.text for cold in COLD)
    talk = "Snakke om det" if language == "da" else "Talk about it"
    assert answer.labels()[0].endswith(talk)  # a reflection, and a way to talk about it
    # The buttons of the idea are still there, with a way to talk about it first.
    assert set(idea.labels()) <= set(answer.labels())
    assert len(answer.labels()) > len(idea.labels())


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("da", "jeg bliver mobbet i skolen"),
        ("da", "de andre driller mig hele tiden på snap"),
        ("en", "i get bullied at school"),
        ("en", "people keep making fun of me online"),
    ],
)
async def test_bullying_is_a_topic_of_its_own(
    double: BotApiDouble, snakkes: Snakkes, language: str, text: str
) -> None:
    person = double.user(language_code=language)
    await to_menu(double, person)
    answer = await reply_to(double, person, text)
    assert "skyld" in answer.text or "fault" in answer.text
    assert answer.text.rstrip().endswith("?")  # one open question
    assert await topics_counted(snakkes) == ["bullying"]


@pytest.mark.parametrize(
    ("language", "text"),
    [("da", "er du en rigtig person?"), ("en", "are you a real person?"), ("da", "er du en bot")],
)
async def test_are_you_a_real_person_is_answered_as_a_bot_with_a_human_offered(
    double: BotApiDouble, snakkes: Snakkes, language: str, text: str
) -> None:
    person = double.user(language_code=language)
    menu = await to_menu(double, person)
    answer = await reply_to(double, person, text)
    assert "bot" in answer.text
    human = "menneske" if language == "da" else "human"
    assert any(human in label for label in answer.labels()[:1])  # offered first
    assert set(menu.labels()) <= set(answer.labels())  # and the menu stays in view
    async with snakkes.service.database.session() as session:
        assert (await session.scalars(select(Handover))).all() == []  # no handover begun


async def test_an_open_question_hears_its_answer_and_the_measure_its_result(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    menu = await to_menu(double, ada)
    [topics] = await press(double, ada, menu, "Snakke om, hvordan jeg har det")
    [question] = await press(double, ada, topics, "Skole eller studie")
    assert "Hvad er det sværeste ved det lige nu?" in question.text
    double.send_text(ada, "at jeg sidder helt alene i frikvartererne")
    reflection, idea = await double.wait_for_messages(ada.chat_id, count=2)
    assert "alene" in reflection.text  # the feeling it heard, said back
    assert reflection.labels() == []
    assert idea.text.startswith("Her er én lille ting")

    menu = await reply_to(double, ada, "menu")
    intro, first = await press(double, ada, menu, "Hvordan har jeg det egentlig?", count=2)
    del intro
    [second] = await press(double, ada, first, "Ofte")
    [third] = await press(double, ada, second, "Ofte")
    [fourth] = await press(double, ada, third, "Ofte")
    thanks, result = await press(double, ada, fourth, "Ofte eller altid", count=2)
    assert "Tak for dine svar" in thanks.text
    assert "alene" in result.text
    assert "Tale med et menneske" in " ".join(result.labels())
    assert "Skriv til mig en anden dag" in " ".join(result.labels())


@pytest.mark.parametrize(
    ("language", "typed", "when"),
    [
        ("da", ("i morgen", "aften"), "i morgen kl. 19"),
        ("da", ("3", "om aftenen"), "kl. 19"),
        ("en", ("tomorrow", "evening"), "tomorrow at 19:00"),
        ("en", ("in a week", "in the morning"), "at 9:00"),
    ],
)
async def test_typed_answers_plan_a_checkin(
    double: BotApiDouble, snakkes: Snakkes, language: str, typed: tuple[str, str], when: str
) -> None:
    day, time_of_day = typed
    person = double.user(language_code=language)
    menu = await to_menu(double, person)
    await press(double, person, menu, "📅")
    slot_question = await reply_to(double, person, day)
    assert slot_question.labels()  # morning, afternoon, evening
    planned = await reply_to(double, person, time_of_day)
    assert when in planned.text
    async with snakkes.service.database.session() as session:
        assert len((await session.scalars(select(Checkin))).all()) == 1


async def test_a_fallback_inside_the_measure_keeps_its_buttons_and_typed_answers_count(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    menu = await to_menu(double, ada)
    _intro, first = await press(double, ada, menu, "Hvordan har jeg det egentlig?", count=2)
    second = await reply_to(double, ada, "typisk altid lol")
    assert second.text == "Hvor ofte føler du dig holdt udenfor?"
    puzzled = await reply_to(double, ada, "banan")
    assert second.labels() == puzzled.labels()[: len(second.labels())]
    third = await reply_to(double, ada, "nogle gange")
    assert third.text == "Hvor ofte føler du dig isoleret fra andre?"
    del first


async def test_the_flood_limit_never_swallows_a_button(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes(dialogues_flood_limit_per_minute="3")
    ada = double.user(language_code="da")
    menu = await to_menu(double, ada)  # /start and three taps: over the limit already
    for n in range(3):
        await reply_to(double, ada, f"hej {n}")
    [stories] = await press(double, ada, menu, "Andre har det også sådan")
    assert "langt fra den eneste" in stories.text
    del snakkes


async def test_typed_text_in_the_queue_is_answered_with_the_place(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    await onboard(double, snakkes, "Maria", available=False)
    ada = double.user(language_code="da")
    await ask_for_human(double, ada)
    answer = await reply_to(double, ada, "er der nogen der er der snart?")
    assert "nummer 1" in answer.text
    assert "Forlad køen" in answer.labels()
    assert "bot" not in answer.text


async def test_with_no_volunteer_registered_the_person_is_told_at_once(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    menu = await to_menu(double, ada)
    [answer] = await press(double, ada, menu, "Tale med et menneske")
    assert "ingen frivillige" in answer.text
    assert "70 201 201" in answer.text
    async with snakkes.service.database.session() as session:
        assert (await session.scalars(select(Handover))).all() == []


async def test_an_old_end_button_asks_before_ending(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    maria = await onboard(double, snakkes, "Maria")
    ada = double.user(language_code="da")
    await ask_for_human(double, ada)
    [notice] = await double.wait_for_messages(maria)
    await tap(double, maria, notice, "vt:take:")
    [connected] = await double.wait_for_messages(ada)
    [sure] = await tap(double, ada, connected, "vq:end")
    assert "afslutte" in sure.text
    [kept] = await tap(double, ada, sure, "vq:stay")
    assert "snakker videre" in kept.text
    async with snakkes.service.database.session() as session:
        [row] = (await session.scalars(select(Handover))).all()
    assert row.status == "active"


async def test_volunteer_commands_in_danish(double: BotApiDouble, snakkes: Snakkes) -> None:
    maria = await onboard(double, snakkes, "Maria", available=False)
    double.send_command(maria, "/klar")
    [ready] = await double.wait_for_messages(maria)
    double.send_command(maria, "/pause")
    [away] = await double.wait_for_messages(maria)
    double.send_command(maria, "/available")  # the English name still works
    [again] = await double.wait_for_messages(maria)
    assert ready.text == again.text != away.text
    assert "kender jeg ikke" not in ready.text + away.text


async def test_a_web_person_is_told_where_the_checkin_will_show(
    start_snakkes: StartSnakkes, double: BotApiDouble
) -> None:
    snakkes = await start_snakkes(telegram_token="")
    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket() as sock:
            [greeting], _ = await sock.say("hej")
            [age], _ = await sock.press(choice_data(greeting, "Okay"))
            [offer], _ = await sock.press(choice_data(age, "helst ikke"))
            [menu], _ = await sock.press(choice_data(offer, "Ikke nu"))
            [when], _ = await sock.press(choice_data(menu, "📅"))
            [slot], _ = await sock.say("i morgen")
            [planned], _ = await sock.press(choice_data(slot, "Aften"))
    assert "næste gang du åbner den" in planned["text"]
    assert planned["choices"]  # and a way on
    del when, double


async def test_a_typed_answer_to_the_measure_is_an_answer_not_distress(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    """Typed words that are exactly a button in view ("af og til" at the loneliness scale)
    answer the question on screen: the safety net's direct question is not put to them.
    (The model alone reads "af og til" as ambiguous distress.)"""
    ada = double.user(language_code="da")
    menu = await to_menu(double, ada)
    await press(double, ada, menu, "Hvordan har jeg det egentlig?", count=2)
    for answer in ("ofte", "ofte", "ofte"):
        asked = await reply_to(double, ada, answer)
    assert asked.text.endswith("Hvor ofte føler du dig ensom?")
    assert "En sjælden gang" in asked.labels()
    result = await reply_to(double, ada, "af og til")
    assert "selvmord" not in result.text, result.text
    assert "Mente du" not in result.text, result.text
