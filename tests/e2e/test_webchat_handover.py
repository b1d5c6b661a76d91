"""The web chat's promise end to end: a person in a browser talks through a topic, asks for
a human, and a volunteer on Telegram takes them; text flows both ways through the relay;
the person ends and gives feedback."""

from __future__ import annotations

from playwright.async_api import expect
from sqlalchemy import select

from storage.models import Handover
from tests.botapi import BotApiDouble
from tests.e2e.conftest import StartSnakkes
from tests.e2e.webchat import ChatPage, chromium
from tests.volunteers.helpers import onboard, tap


async def test_a_web_person_is_taken_by_a_volunteer_on_telegram(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    maria = await onboard(double, snakkes, "Maria")

    async with chromium() as browser:
        context = await browser.new_context(locale="da-DK")
        chat = await ChatPage(await context.new_page(), snakkes.url).open()
        await chat.to_menu()
        await chat.press("Snakke om, hvordan jeg har det")
        await chat.press("Venner")
        await chat.say("Jeg har ingen at være sammen med efter skole")
        await chat.wait_for_bot("Her er én lille ting, du kan prøve")

        await chat.press("Tale med et menneske")
        await chat.wait_for_bot("Ung #")  # what the volunteer will see, shown first
        await chat.press("Skriv en besked")
        await chat.say("Jeg vil gerne snakke om at være ny i klassen")
        await chat.wait_for_bot("Jeg vil gerne snakke om at være ny i klassen")
        await chat.press("Ja, send den med")  # the note, read back and approved
        await chat.wait_for_bot("nummer 1")

        [notice] = await double.wait_for_messages(maria)
        assert "Sprog: dansk" in notice.text
        [taken] = await tap(double, maria, notice, "vt:take:")
        assert "Jeg vil gerne snakke om at være ny i klassen" in taken.text
        assert "webchat" in taken.text  # a small channel tag, and nothing else about them
        await chat.wait_for_bot("Maria fra Eksempelforeningen er her nu")

        await chat.say("Hej Maria, tak fordi du tog den")
        [relayed] = await double.wait_for_messages(maria)
        assert relayed.text.endswith(": Hej Maria, tak fordi du tog den")
        assert relayed.text.startswith("Ung #")
        double.send_text(maria, "Selvfølgelig. Hvordan har din uge været?")
        await chat.wait_for_bot("Maria: Selvfølgelig. Hvordan har din uge været?")

        await chat.press("Afslut samtalen")
        await chat.wait_for_bot("Vil du afslutte samtalen")
        await chat.press("Ja, afslut")
        await chat.wait_for_bot("Samtalen med Maria er slut")
        await chat.wait_for_bot("Hvordan var samtalen?")
        await chat.press("5")
        await chat.wait_for_bot("Ville du skrive til en frivillig igen?")
        await chat.press("Ja")
        await chat.wait_for_bot("Tak, det hjælper os")
        await expect(chat.bot_says("Ung #")).to_have_count(1)  # only the preview
        await context.close()

    ended, _debrief = await double.wait_for_messages(maria, 2)
    assert "slut" in ended.text
    async with snakkes.service.database.session() as session:
        [row] = (await session.scalars(select(Handover))).all()
    assert (row.channel, row.status, row.ended_by) == ("web", "ended", "young")
    assert (row.feedback_rating, row.feedback_again) == (5, True)
