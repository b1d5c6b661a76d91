"""Live delivery across instances: PostgreSQL LISTEN/NOTIFY (asyncpg).

A web chat message stored by one instance is announced (`pg_notify`, inside the storing
transaction, so it goes out only if the row is there); every instance listens and pushes it
to a socket it holds for that person. The payload is the person's pseudonym (an HMAC, never
an id or a session key). The web chat's 10-second sweep stays as a safety net, for a
notification lost while a listener reconnects. SQLite is one instance: nothing to announce.

Channels (one listening connection per instance hears them all):
- `WEBCHAT` ("snakkes_webchat"): a web chat message was stored; payload: the pseudonym.
- `OUTBOX` ("snakkes_outbox"): outbox rows came free for any sender (an instance gave its
  rows back, or wrote rows it will not send itself); payload: empty. Every instance's sender
  wakes and claims them (bot/delivery.py); its periodic sweep is only the safety net.

Interface (stable; later additions only add): `Announcer(url, channel=WEBCHAT)`,
`.listeners` (callbacks for `channel`), `announce(session, payload, channel=None)`,
`subscribe(channel, listener)` for further channels, `start()`, `stop()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

WEBCHAT = "snakkes_webchat"
OUTBOX = "snakkes_outbox"
CONSOLE = "snakkes_console"  # the console's hub across instances (bot/console/feed.py)
_RECONNECT_AFTER = 2.0


class Announcer:
    """Listens on its channel and any subscribed ones on one connection of its own;
    announces on the caller's connection (in its transaction) or, with `notify`, at once."""

    def __init__(self, database_url: str, channel: str = WEBCHAT) -> None:
        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self.channel = channel
        self.listeners: list[Callable[[str], None]] = []
        self._others: dict[str, list[Callable[[str], None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._sender: Any = None  # a connection of its own for `notify`, opened when needed
        self._sending = asyncio.Lock()

    def subscribe(self, channel: str, listener: Callable[[str], None]) -> None:
        """Hear `channel` too (on the same connection); call before `start`."""
        if channel == self.channel:
            self.listeners.append(listener)
        else:
            self._others.setdefault(channel, []).append(listener)

    async def announce(
        self, session: AsyncSession, payload: str, channel: str | None = None
    ) -> None:
        """Tell every instance, once the caller's transaction commits."""
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": channel or self.channel, "payload": payload},
        )

    async def notify(self, payloads: list[str], channel: str | None = None) -> None:
        """Tell every instance now, outside any transaction: for what is not stored (the
        console's "look again" and typing notices). Raises when the database cannot be
        reached; the caller's safety net covers a lost one."""
        async with self._sending:
            if self._sender is None or self._sender.is_closed():
                self._sender = await asyncpg.connect(self.dsn)
            try:
                await self._sender.execute(
                    "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload",
                    channel or self.channel, payloads,
                )
            except Exception:
                await self._close_sender()
                raise

    async def _close_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None and not sender.is_closed():
            await sender.close()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="notify-listen")
        try:
            await asyncio.wait_for(self._ready.wait(), 10)
        except TimeoutError:
            log.warning("not listening for other instances' messages yet; retrying")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        async with self._sending:
            await self._close_sender()

    async def _listen(self) -> None:
        while True:
            connection: Any = None
            try:
                connection = await asyncpg.connect(self.dsn)
                await connection.add_listener(self.channel, self._heard)
                for channel, listeners in self._others.items():
                    await connection.add_listener(channel, self._heard_other)
                    for listener in listeners:  # what was said while nobody listened
                        listener("")
                self._ready.set()
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _conn, ended=lost: ended.set())
                await lost.wait()
                log.warning("lost the connection that hears other instances; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("cannot listen for other instances: %s", type(error).__name__)
            finally:
                if connection is not None and not connection.is_closed():
                    await connection.close()
            await asyncio.sleep(_RECONNECT_AFTER)

    def _heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        for listener in self.listeners:
            listener(payload)

    def _heard_other(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        for listener in self._others.get(channel, ()):
            listener(payload)
