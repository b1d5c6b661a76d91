"""The handover end to end: a volunteer invited and on duty, a young person asking for a
human, the relay both ways, the end with feedback and debrief; several Telegram users of
the Bot API double play both sides through the real PTB stack."""

from __future__ import annotations

from storage import handover as store
from storage.models import RelayMessage
from tests.botapi import BotApiDouble
from tests.e2e.conftest import Snakkes
from tests.volunteers.helpers import (
    ask_for_human,
    data_of,
    handovers,
    onboard,
    say,
    stat_events,
    tap,
)


async def test_invite_to_feedback_the_whole_way_through(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    maria = await onboard(double, snakkes, "Maria")
    ada = double.user("Ada", username="ada_secret", language_code="da")

    queued = await ask_for_human(double, ada, note="Jeg har ingen at snakke med i weekenden")
    assert "nummer 1" in queued.text
    assert "ikke nok tal" in queued.text  # no waits yet: no made-up estimate

    [notice] = await double.wait_for_messages(maria)
    assert "Nogen venter" in notice.text
    assert "I kø lige nu: 1" in notice.text
    assert "dansk" in notice.text
    [taken] = await tap(double, maria, notice, "vt:take:")
    assert "Ung #" in taken.text
    assert "Jeg har ingen at snakke med i weekenden" in taken.text
    [connected] = await double.wait_for_messages(ada)
    assert "Maria fra Eksempelforeningen er her nu" in connected.text
    assert "ikke en professionel nødtjeneste" in connected.text

    double.send_text(ada, "Hej, er du et rigtigt menneske?")
    [relayed] = await double.wait_for_messages(maria)
    young_name = taken.text.split("Du snakker nu med ")[1].split(" · ")[0]
    assert relayed.text == f"{young_name}: Hej, er du et rigtigt menneske?"
    double.send_text(maria, "Ja, jeg er frivillig. Hvordan går det?")
    [answer] = await double.wait_for_messages(ada)
    assert answer.text == "Maria: Ja, jeg er frivillig. Hvordan går det?"

    [row] = await handovers(snakkes)
    assert row.status == store.ACTIVE
    async with snakkes.service.database.session() as session:
        kept = await store.messages_of(session, row.id)
    assert [m.sender for m in kept] == ["young", "volunteer"]

    double.send_command(maria, "/end")
    ended, debrief = await double.wait_for_messages(maria, 2)
    assert "er slut" in ended.text
    goodbye, rating = await double.wait_for_messages(ada, 2)
    assert "Samtalen med Maria er slut" in goodbye.text
    [again] = await tap(double, ada, rating, f"vf:{row.id}:r:4")
    [thanks] = await tap(double, ada, again, f"vf:{row.id}:a:yes")
    assert "Tak" in thanks.text

    [crisis_q] = await tap(double, maria, debrief, f"vd:{row.id}:t:friends")
    [follow_q] = await tap(double, maria, crisis_q, f"vd:{row.id}:c:no")
    [done] = await tap(double, maria, follow_q, f"vd:{row.id}:f:no")
    assert "debrief er gemt" in done.text

    [row] = await handovers(snakkes)
    assert (row.status, row.feedback_rating, row.feedback_again) == ("ended", 4, True)
    assert (row.debrief_topic, row.debrief_crisis, row.debrief_follow_up) == (
        "friends", False, False,
    )
    assert row.note is None  # deleted at the end: no retention configured
    async with snakkes.service.database.session() as session:
        assert await store.messages_of(session, row.id) == []
        assert await session.get(RelayMessage, 1) is None
    kinds = [(e.kind, e.detail) for e in await stat_events(snakkes)]
    for expected in [
        ("handover_requested", ""),
        ("handover_claimed", ""),
        ("handover_ended", "volunteer"),
        ("feedback_rating", "4"),
        ("feedback_again", "yes"),
        ("debrief_topic", "friends"),
        ("debrief_crisis", "no"),
        ("debrief_follow_up", "no"),
    ]:
        assert expected in kinds
    claimed = next(e for e in await stat_events(snakkes, "handover_claimed"))
    assert claimed.value is not None
    assert claimed.value >= 0
    assert data_of(rating, "vf:")  # the feedback is a button press, nothing typed


async def test_the_young_person_can_end_and_media_is_not_relayed(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    sam = await onboard(double, snakkes, "Sam", language="en")
    bo = double.user("Bo", language_code="en")
    await ask_for_human(double, bo)
    [notice] = await double.wait_for_messages(sam)
    await tap(double, sam, notice, "vt:take:")
    [connected] = await double.wait_for_messages(bo)

    double.send_kind(bo, "photo")
    [note] = await double.wait_for_messages(bo)
    assert "aren't passed on" in note.text
    double.send_kind(sam, "sticker")
    [note] = await double.wait_for_messages(sam)
    assert "aren't passed on" in note.text
    assert double.messages_to(sam)[-1] == note  # nothing of the photo reached Sam

    [sure] = await tap(double, bo, connected, "vq:end")  # an old button: asked first
    assert "end the conversation" in sure.text
    assert double.messages_to(sam)[-1] == note  # nothing has ended yet
    goodbye, _rating = await tap(double, bo, sure, "vq:endok", count=2)
    assert "has ended" in goodbye.text
    ended, _debrief = await double.wait_for_messages(sam, 2)
    assert "has ended" in ended.text
    [row] = await handovers(snakkes)
    assert (row.status, row.ended_by) == ("ended", "young")
    assert await say(double, sam, "hello?")  # back at the console: no one to relay to
