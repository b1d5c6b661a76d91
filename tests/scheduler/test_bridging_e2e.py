"""Community bridging with a follow-up, end to end: suggestions of communities, the offer
to ask again, the follow-up sent by the check-in runner at its time (the service's clock
moved, nothing waits), each answer, the anonymised events, and the community path that
"what helps" counts. Through the real PTB stack against the Bot API double, and in the
web chat over its socket."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage import checkins
from storage.models import ParticipantPath, StatEvent
from tests.botapi import BotApiDouble, FakeUser, SentMessage
from tests.e2e.conftest import Snakkes, StartSnakkes
from tests.e2e.helpers import press, to_menu
from tests.e2e.webchat import WebClient, choice_data
from tests.scheduler.helpers import local_noon, move_clock, rows, runner, settled

FIRST_LINE = "Hej 👋 – fik du kigget forbi?"


async def suggestions_and_offer(double: BotApiDouble, person: FakeUser) -> SentMessage:
    """Menu, communities, sport, the capital: the list; then "ask me later"."""
    menu = await to_menu(double, person)
    [start] = await press(double, person, menu, "Fællesskaber")
    [region] = await press(double, person, start, "Sport")
    [listing] = await press(double, person, region, "Hovedstaden")
    assert "Her er nogle forslag" in listing.text
    [offer] = await press(double, person, listing, "Spørg mig senere")
    assert offer.labels() == ["Om en uge", "Om to uger", "Nej tak"]
    return offer


async def events(snakkes: Snakkes, kind: str) -> list[str]:
    async with snakkes.service.database.session() as session:
        found = await session.scalars(select(StatEvent.detail).where(StatEvent.kind == kind))
        return sorted(found.all())


async def test_the_follow_up_asks_at_its_time_and_every_answer_is_recorded(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    await move_clock(snakkes, local_noon(snakkes))
    went, not_yet, not_for_me = (double.user(language_code="da") for _ in range(3))
    for person in (went, not_yet, not_for_me):
        offer = await suggestions_and_offer(double, person)
        [planned] = await press(double, person, offer, "Om en uge")
        assert "Jeg spørger dig" in planned.text
    assert await events(snakkes, "bridge_planned") == ["7", "7", "7"]
    # A week from today in the afternoon (15:00), in the deployment's zone.
    due = local_noon(snakkes, days=7).replace(hour=15)
    bridges = [r for r in await rows(snakkes) if r.kind == checkins.BRIDGE]
    assert [r.due_at for r in bridges] == [due] * 3
    assert all(r.status == checkins.PLANNED for r in bridges)
    # Not before its time.
    await move_clock(snakkes, due - timedelta(minutes=1))
    await runner(snakkes).run_due()
    assert not double.messages_to(went)[-1].text.startswith(FIRST_LINE)

    await move_clock(snakkes, due)
    follow_ups = {}
    for person in (went, not_yet, not_for_me):
        [message] = await double.wait_for_messages(person)
        assert message.text.splitlines()[0] == FIRST_LINE
        assert "ensom" not in message.text.lower()
        assert message.labels() == ["Ja, jeg var der", "Ikke endnu",
                                    "Det var ikke noget for mig"]
        follow_ups[person.id] = message
    await settled(snakkes)
    assert await events(snakkes, "checkin_sent") == ["bridge", "bridge", "bridge"]

    # Went: glad, and the community path is marked for "what helps".
    [glad] = await press(double, went, follow_ups[went.id], "Ja, jeg var der")
    assert "sejt" in glad.text
    # Not yet: company is offered (a volunteer, or bringing a friend).
    [company] = await press(double, not_yet, follow_ups[not_yet.id], "Ikke endnu")
    assert company.labels() == ["Snakke med en frivillig om det", "Tage en ven med",
                                "Spørg mig igen senere"]
    [friend] = await press(double, not_yet, company, "Tage en ven med")
    assert "spørge, om de vil med" in friend.text
    assert friend.labels() == ["Om en uge", "Om to uger", "Nej tak"]
    # Not for me: why, as choices, then other suggestions.
    [why] = await press(double, not_for_me, follow_ups[not_for_me.id], "ikke noget for mig")
    assert why.labels() == ["Det var for langt væk", "Det var ikke lige mig",
                            "Jeg blev for nervøs", "Tidspunktet passede ikke", "Noget andet"]
    [other] = await press(double, not_for_me, why, "for langt væk")
    [suggestions] = await press(double, not_for_me, other, "andre forslag")
    assert "fællesskab" in suggestions.text.lower()

    assert await events(snakkes, "bridge_answer") == ["not_for_me", "not_yet", "went"]
    assert await events(snakkes, "bridge_why") == ["far"]
    # A follow-up is not a check-in kept; the answers carry no text.
    assert await events(snakkes, "checkin_answered") == []
    async with snakkes.service.database.session() as session:
        found = (await session.scalars(select(ParticipantPath.path))).all()
    assert found == ["community"]
    bridges = [r for r in await rows(snakkes) if r.kind == checkins.BRIDGE]
    assert sorted(r.status for r in bridges) == [checkins.REPLIED] * 3

    # /forget erases the path with the person; the anonymised events stay.
    double.send_command(went, "/forget")
    [question] = await double.wait_for_messages(went)
    await press(double, went, question, "Ja")
    async with snakkes.service.database.session() as session:
        assert (await session.scalars(select(ParticipantPath.path))).all() == []
    assert await events(snakkes, "bridge_answer") == ["not_for_me", "not_yet", "went"]


async def test_the_follow_up_reaches_a_web_chat_person_when_they_come_back(
    snakkes: Snakkes,
) -> None:
    await move_clock(snakkes, local_noon(snakkes))
    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket(lang="da") as sock:
            [greeting], _ = await sock.say("/start")
            messages, _ = await sock.press(choice_data(greeting, "Okay"))
            messages, _ = await sock.press(choice_data(messages[-1], "helst ikke"))
            messages, _ = await sock.press(choice_data(messages[-1], "Ikke nu"))
            messages, _ = await sock.press(choice_data(messages[-1], "Fællesskaber"))
            messages, _ = await sock.press(choice_data(messages[-1], "Online"))
            messages, _ = await sock.press(choice_data(messages[-1], "Kun online"))
            messages, _ = await sock.press(choice_data(messages[-1], "Spørg mig senere"))
            messages, _ = await sock.press(choice_data(messages[-1], "Om to uger"))
            assert "Jeg spørger dig" in messages[-1]["text"]

        # Away for two weeks; the follow-up waits for them.
        due = local_noon(snakkes, days=14).replace(hour=15)
        await move_clock(snakkes, due)
        await runner(snakkes).run_due()
        async with client.socket(lang="da") as sock:
            assert sock.ready["pending"] == 1
            follow_up = await sock.expect("message")
            assert follow_up["text"].splitlines()[0] == FIRST_LINE
            await sock.ack([follow_up])
            went = choice_data(follow_up, "Ja, jeg var der")
            messages, _ = await sock.press(went)
            assert "sejt" in messages[-1]["text"]
            # The same button again (the page still shows it): recorded once only.
            messages, _ = await sock.press(went)
            assert "sejt" in messages[-1]["text"]
    await settled(snakkes)
    assert await events(snakkes, "bridge_answer") == ["went"]
    assert await events(snakkes, "checkin_sent") == ["bridge"]


async def test_checkins_lists_the_follow_up_and_it_can_be_cancelled(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    await move_clock(snakkes, local_noon(snakkes))
    ada = double.user(language_code="da")
    offer = await suggestions_and_offer(double, ada)
    await press(double, ada, offer, "Om to uger")
    double.send_command(ada, "/checkins")
    [listing] = await double.wait_for_messages(ada)
    assert "Opfølgning om fællesskaber:" in listing.text
    [cancelled] = await press(double, ada, listing, "Aflys opfølgningen")
    assert "så spørger jeg ikke" in cancelled.text
    await move_clock(snakkes, local_noon(snakkes, days=14).replace(hour=15))
    await runner(snakkes).run_due()
    await settled(snakkes)
    assert not any(m.text.startswith(FIRST_LINE) for m in double.messages_to(ada))
    assert await events(snakkes, "checkin_cancelled") == ["bridge"]
