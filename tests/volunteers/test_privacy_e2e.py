"""Nothing a volunteer receives names the young person (Telegram id, name, username), and
nothing the young person receives names the volunteer: checked over every message, button
label and button payload each side got in a whole handover."""

from __future__ import annotations

from tests.botapi import BotApiDouble, FakeUser, SentMessage
from tests.e2e.conftest import Snakkes
from tests.e2e.helpers import to_menu
from tests.volunteers.helpers import handovers, invite_code, say, tap


def identities(user: FakeUser) -> list[str]:
    found = [str(user.id), user.first_name]
    found += [value for value in (user.username, user.last_name) if value]
    return found


def everything(messages: list[SentMessage]) -> str:
    parts = []
    for message in messages:
        parts.append(message.text)
        parts += [f"{label} {data}" for row in message.buttons for label, data in row]
    return "\n".join(parts)


async def test_neither_side_ever_receives_the_other_sides_identity(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    volunteer = double.user(
        "Birgitte", username="birgitte_v", last_name="Vestergaard", language_code="da"
    )
    young = double.user("Zoraida", username="zoraida_k", last_name="Kvist", language_code="da")

    double.send_command(volunteer, f"/volunteer {await invite_code(snakkes)}")
    [conduct] = await double.wait_for_messages(volunteer)
    await tap(double, volunteer, conduct, "vo:accept")
    await say(double, volunteer, "Sol")
    double.send_command(volunteer, "/available")
    await double.wait_for_messages(volunteer)

    menu = await to_menu(double, young)
    [preview] = await tap(double, young, menu, "f:menu.start.human")
    [_prompt] = await tap(double, young, preview, "vq:note")
    [readback] = await say(double, young, "Jeg er ny i byen og kender ingen")
    await tap(double, young, readback, "vq:join")
    [notice] = await double.wait_for_messages(volunteer)
    [taken] = await tap(double, volunteer, notice, "vt:take:")
    await double.wait_for_messages(young)
    double.send_text(young, "hej Sol")
    await double.wait_for_messages(volunteer)
    double.send_text(volunteer, "Hej! Godt du skrev.")
    await double.wait_for_messages(young)
    await tap(double, volunteer, taken, "vc:flag:")
    double.send_command(young, "/end")
    await double.wait_for_messages(young, 2)
    await double.wait_for_messages(volunteer, 2)
    [row] = await handovers(snakkes)
    assert row.status == "ended"

    to_volunteer = everything(double.messages_to(volunteer))
    to_young = everything(double.messages_to(young))
    assert "Ung #" in to_volunteer
    assert "Sol" in to_young
    for secret in identities(young):
        assert secret not in to_volunteer, secret
    for secret in identities(volunteer):
        assert secret not in to_young, secret
