"""The community directory on the dashboard: seeded from the YAML file, kept per
organisation, CSRF-protected, validated with clear messages, and what the bot suggests."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from tests.dashboard.conftest import csrf_of, log_in
from tests.e2e.conftest import Snakkes
from tests.e2e.webchat import WebClient, choice_data

pytestmark = pytest.mark.asyncio(loop_scope="module")
PAGE = "/dashboard/communities"
GOOD = {
    "name": "Brætspilscafé for unge", "kind": "peer", "regions": "syddanmark",
    "municipality": "Odense", "min_age": "15", "max_age": "25",
    "link": "https://braetspil.example.org", "languages": "da",
    "description_da": "Spil og snak hver torsdag – kom bare forbi.",
    "description_en": "Games and chat every Thursday – just drop by.",
}


@pytest_asyncio.fixture(loop_scope="module")
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def page_of(client: aiohttp.ClientSession, service: Snakkes) -> str:
    async with client.get(service.url + PAGE) as answer:
        assert answer.status == 200
        assert "Content-Security-Policy" in answer.headers
        return await answer.text()


def entry_id(html: str, name: str) -> str:
    found = re.search(rf'<tr data-id="(\d+)"><th scope="row">{re.escape(name)}<', html)
    assert found, f"no entry {name!r}"
    return found.group(1)


async def test_the_directory_is_seeded_kept_per_organisation_and_validated(
    service: Snakkes, client: aiohttp.ClientSession
) -> None:
    await log_in(client, service.url, "anna")  # coordinator of "example"
    html = await page_of(client, service)
    assert "Eksempel: Ungegruppen" in html  # seeded from the YAML file, shared
    assert "Slet Eksempel: Ungegruppen" not in html  # kept by the administrators
    token = csrf_of(html)

    # Without the CSRF token: refused.
    async with client.post(f"{service.url}{PAGE}/save", data=GOOD) as refused:
        assert refused.status == 403
    # An empty name and a bad link: a clear message for each, and nothing saved.
    bad = {**GOOD, "name": "  ", "link": "braetspil", "csrf": token}
    async with client.post(f"{service.url}{PAGE}/save", data=bad) as answer:
        assert answer.status == 400
        text = await answer.text()
    assert "Skriv et navn" in text
    assert "Linket skal være en hel webadresse, der starter med https://" in text
    assert 'value="braetspil"' in text  # what was typed is shown again
    for wrong, message in (({"min_age": "40"}, "Alderen skal være fra 13 til 30"),
                           ({"regions": "atlantis"}, "Vælg mindst én region"),
                           ({"description_en": ""}, "beskrivelse på engelsk")):
        async with client.post(f"{service.url}{PAGE}/save",
                               data={**GOOD, **wrong, "csrf": token}) as answer:
            assert answer.status == 400
            assert message in await answer.text()

    # A good one is saved for Anna's organisation.
    async with client.post(f"{service.url}{PAGE}/save", data={**GOOD, "csrf": token}) as saved:
        assert saved.status == 200
        text = await saved.text()
    assert "Fællesskabet er gemt" in text
    assert "Slet Brætspilscafé for unge" in text
    anna_entry = entry_id(text, GOOD["name"])
    # Edited: the form comes back filled in; saved again with a new description.
    async with client.get(f"{service.url}{PAGE}?edit={anna_entry}") as form:
        assert "Kom bare forbi".lower() in (await form.text()).lower()
    changed = {**GOOD, "id": anna_entry, "csrf": token,
               "description_da": "Brætspil og snak hver torsdag."}
    async with client.post(f"{service.url}{PAGE}/save", data=changed) as saved:
        assert saved.status == 200
        assert "Brætspil og snak hver torsdag." in await saved.text()

    # Otto of the other organisation sees it but can neither change nor delete it.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as otto:
        await log_in(otto, service.url, "otto")
        html = await page_of(otto, service)
        assert GOOD["name"] not in html  # another organisation's entries are not listed
        other_token = csrf_of(html)
        async with otto.post(f"{service.url}{PAGE}/delete",
                             data={"id": anna_entry, "csrf": other_token}) as denied:
            assert denied.status == 403
        async with otto.post(f"{service.url}{PAGE}/save",
                             data={**GOOD, "id": anna_entry, "name": "Overtaget",
                                   "csrf": other_token}) as denied:
            assert denied.status == 403
        # Nor the shared ones.
        shared = entry_id(html, "Eksempel: Ungegruppen")
        async with otto.post(f"{service.url}{PAGE}/delete",
                             data={"id": shared, "csrf": other_token}) as denied:
            assert denied.status == 403
    html = await page_of(client, service)
    assert GOOD["name"] in html
    assert "Overtaget" not in html


async def test_the_bot_suggests_what_the_dashboard_keeps(
    service: Snakkes, client: aiohttp.ClientSession
) -> None:
    await log_in(client, service.url, "ada")  # administrator
    token = csrf_of(await page_of(client, service))
    mine = {**GOOD, "name": "Rollespil i Vejle", "org": "", "csrf": token}
    async with client.post(f"{service.url}{PAGE}/save", data=mine) as saved:
        assert saved.status == 200
    async with WebClient(service.url) as person:
        await person.open_page()
        async with person.socket(lang="da") as sock:
            [greeting], _ = await sock.say("/start")
            messages, _ = await sock.press(choice_data(greeting, "Okay"))
            messages, _ = await sock.press(choice_data(messages[-1], "helst ikke"))
            messages, _ = await sock.press(choice_data(messages[-1], "Ikke nu"))
            messages, _ = await sock.press(choice_data(messages[-1], "Fællesskaber"))
            messages, _ = await sock.press(choice_data(messages[-1], "Grupper for unge"))
            messages, _ = await sock.press(choice_data(messages[-1], "Syddanmark"))
    listing = "\n".join(m["text"] for m in messages)
    assert "Rollespil i Vejle" in listing
    assert "https://braetspil.example.org" in listing
