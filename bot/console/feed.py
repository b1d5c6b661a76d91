"""The console's hub across instances: PostgreSQL LISTEN/NOTIFY (bot/notify.py).

What one instance publishes on its hub (bot/pubsub.py) — a console move's "look again",
the outbox's wake-up for a volunteer's console, a whisper, a typing notice — goes out on the
`snakkes_console` channel, and every other instance publishes it on its own hub, locally.
So a console sees at once what another instance changed, and the watcher (watch.py) is
only the safety net for a notice lost while a listener reconnects. Events are small (ids,
a pseudonym's HMAC, a whisper), never a young person's words; a payload that would not fit
PostgreSQL's 8000 bytes is not sent (the watcher catches up). SQLite is one instance: no
feed, the in-process hub is all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets

from bot.notify import CONSOLE, Announcer
from bot.pubsub import Event, Hub

log = logging.getLogger(__name__)

MAX_PAYLOAD = 7900  # PostgreSQL refuses more than 8000 bytes
_BACKLOG = 2000  # events waiting to go out; beyond that they are dropped (the watcher looks)
_PAUSE = 1.0  # after a failed send


class HubFeed:
    """Hears `snakkes_console` on the service's one listening connection (`announcer`,
    which the service starts and stops); sends on the announcer's own sending connection."""

    def __init__(self, hub: Hub, announcer: Announcer) -> None:
        self.hub = hub
        self.announcer = announcer
        announcer.subscribe(CONSOLE, self._heard)
        self.origin = secrets.token_hex(8)  # this instance hears its own events: skipped
        self._out: asyncio.Queue[str] = asyncio.Queue(maxsize=_BACKLOG)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._send(), name="console-feed")
        self.hub.forward_to(self._forward)

    async def stop(self) -> None:
        self.hub.forward_to(None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _forward(self, topic: str, event: Event) -> None:
        payload = json.dumps({"o": self.origin, "t": topic, "e": event}, ensure_ascii=False)
        if len(payload.encode()) > MAX_PAYLOAD:
            log.info("console event too large to pass on; the watcher catches up")
            return
        with contextlib.suppress(asyncio.QueueFull):
            self._out.put_nowait(payload)

    async def _send(self) -> None:
        while True:
            batch = [await self._out.get()]
            while not self._out.empty() and len(batch) < 100:
                batch.append(self._out.get_nowait())
            try:
                await self.announcer.notify(batch, CONSOLE)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("console events not passed on: %s", type(error).__name__)
                await asyncio.sleep(_PAUSE)

    def _heard(self, payload: str) -> None:
        try:
            found = json.loads(payload)
            origin, topic, event = found["o"], found["t"], found["e"]
        except (ValueError, KeyError, TypeError):
            return
        if origin == self.origin or not isinstance(topic, str) or not isinstance(event, dict):
            return
        self.hub.publish(topic, event, local_only=True)
