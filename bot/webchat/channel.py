"""The web chat channel: browser sockets in, the core in the middle, a durable mailbox out.

The protocol (JSON text frames; see README, "Web chat"):

- Each message from the browser carries a client-made `id`. It becomes the envelope's
  update key (scoped to the session), so a resend after a lost connection is claimed once
  by the core; the server answers `ack` with that id once the message is handled.
- `typing` frames, both ways, carry nothing but the fact: the browser sends one at most
  every few seconds while the person writes (shown to their volunteer as "Ung #NNNN
  skriver …"), and gets one while the volunteer writes. No text, never stored, best-effort.
- Each message to the browser is first stored (`webchat_messages`); its row id is the
  `seq` the browser acknowledges. Unacknowledged messages are sent again when the browser
  reconnects (and swept to open sockets now and then, for other instances' sends), and
  the browser drops a `seq` it has already shown. Nothing is lost; nothing is doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bot.core import Core, Envelope
from bot.delivery import SENT, Attempt
from bot.logs import correlation_id, new_correlation_id
from bot.notify import Announcer
from bot.pubsub import TYPING, Event, Hub, volunteer_topic
from bot.webchat.limits import WebLimits
from bot.webchat.session import Tokens
from dialogues.content import LANGUAGES
from dialogues.messages import MAX_TEXT, Inbound, Kind, Outbound
from storage import handover as handovers
from storage import participants, webchat
from storage.limits import TokenBuckets
from storage.models import Participant, WebchatMessage

log = logging.getLogger(__name__)

CHANNEL = "web"
MAX_FRAME_BYTES = 16 * 1024  # a 4096-character message with room for JSON; more closes
CLOSE_ERASED = 4000  # the session was erased: the page shows so and does not reconnect
CLOSE_NO_SESSION = 4401  # no valid cookie: the page asks for a new session, then reconnects
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_MAX_ACKS = 200
_MAX_SEQ = 2**63  # a row id; anything larger is not one (and overflows the database)
TYPING_EVERY = 3.0  # seconds: at most one typing notice per socket to the volunteer


class FrameError(ValueError):
    """A frame the protocol does not allow; answered with an error frame, never logged."""


@dataclass(eq=False)
class Connection:
    """One open socket of one browser session."""

    socket: web.WebSocketResponse
    key: str  # the session key (see session.py)
    pseudonym: str
    ip: str  # for rate limiting only
    language: str
    sent: set[int] = field(default_factory=set)  # seqs sent on this socket, not yet acked
    typed_at: float = float("-inf")  # monotonic: the last typing notice passed on

    async def send(self, payload: dict[str, Any]) -> bool:
        if self.socket.closed:
            return False
        try:
            await self.socket.send_str(json.dumps(payload, ensure_ascii=False))
        except ConnectionError:
            return False
        return True


def stored_frame(row: WebchatMessage) -> dict[str, Any]:
    return {"type": "message", "seq": row.id, "text": row.text, "choices": row.choices}


def unstored_frame(message: Outbound) -> dict[str, Any]:
    """For someone no longer known (the answer to /forget): sent once, without a seq."""
    return {"type": "message", "seq": None, "text": message.text, "choices": choices_of(message)}


def choices_of(message: Outbound) -> list[list[dict[str, str]]]:
    return [[{"label": c.label, "data": c.data} for c in row] for row in message.choices]


class WebChannel:
    def __init__(
        self,
        core: Core,
        *,
        limits: WebLimits | None = None,
        sweep_every: float = 10.0,
        announcer: Announcer | None = None,
        hub: Hub | None = None,
    ) -> None:
        self.core = core
        # Typing notices both ways (bot/pubsub.py): the volunteer's come in on "typing:…".
        self.hub = hub
        if hub is not None:
            hub.listen(TYPING, self._volunteer_typing)
        # Other instances hear of what this one stores (PostgreSQL), and this one of theirs.
        self.announcer = announcer
        if announcer is not None:
            announcer.listeners.append(self._heard)
        self._keys: dict[str, str] = {}  # pseudonym -> session key, for sockets held here
        self.tokens = Tokens(core.keyring.subkeys("web/session"))
        self.limits = limits or WebLimits()
        self.sweep_every = sweep_every
        self.per_session = TokenBuckets(self.limits.message_per_session)
        self.per_ip = TokenBuckets(self.limits.message_per_ip)
        self.new_sessions = TokenBuckets(self.limits.session_per_ip)
        self.connects = TokenBuckets(self.limits.connect_per_ip)
        self._connections: dict[str, set[Connection]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- the outbox sender's Transport -----------------------------------------------------
    async def attempt(self, address: str, message: Outbound) -> Attempt:
        """Store a message for a web person (a reply, a check-in, a volunteer's words) and
        push it to their open sockets; it is shown when they next open the chat if none is
        open. For someone no longer stored (the answer to "erase everything") it is pushed
        once, without a seq, and kept nowhere."""
        stored, _ = await self._store(address, [message])
        if stored is None:
            await self._broadcast(address, unstored_frame(message))
        else:
            await self._push(address, stored)
        return SENT

    # -- sockets -------------------------------------------------------------------------
    async def serve(
        self, socket: web.WebSocketResponse, key: str, ip: str, language_hint: str | None
    ) -> None:
        """Run one prepared socket until it closes."""
        conn = Connection(
            socket,
            key,
            self.core.keyring.pseudonym(CHANNEL, key),
            ip,
            self.core.language_for(language_hint),
        )
        self._connections.setdefault(key, set()).add(conn)
        self._keys[conn.pseudonym] = key
        sweeper = asyncio.create_task(self._sweep(conn), name="webchat-sweep")
        self._tasks.add(sweeper)
        sweeper.add_done_callback(self._tasks.discard)
        try:
            async for message in socket:
                if message.type is WSMsgType.TEXT:
                    await self._on_frame(conn, message.data)
                else:
                    await conn.send({"type": "error", "code": "bad_frame"})
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            self._drop(conn)

    async def erase(self, key: str) -> None:
        """Erase everything and leave: what /forget does; then every socket of the session
        is closed, so other tabs clear themselves too."""
        pseudonym = self.core.keyring.pseudonym(CHANNEL, key)
        async with self.core.database.session() as session, session.begin():
            participant = await webchat.participant_by_pseudonym(session, pseudonym)
            if participant is not None:
                await participants.erase(session, participant.id)
        self.per_session.forget(key)
        await self.close_session(key, CLOSE_ERASED, "erased")
        log.info("web session erased")

    async def close_session(self, key: str, code: int, reason: str) -> None:
        await _close(list(self._connections.get(key, ())), code, reason)

    async def close_all(self) -> None:
        """At shutdown: browsers reconnect to the next instance and resend what is open."""
        everyone = [conn for conns in self._connections.values() for conn in conns]
        await _close(everyone, WSCloseCode.GOING_AWAY, "restarting")

    def _drop(self, conn: Connection) -> None:
        conns = self._connections.get(conn.key)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._connections[conn.key]
                self._keys.pop(conn.pseudonym, None)

    # -- frames --------------------------------------------------------------------------
    async def _on_frame(self, conn: Connection, data: str) -> None:
        new_correlation_id()
        frame_id: str | None = None
        try:
            frame = _parse(data)
            kind = frame["type"]
            if kind == "ack":
                await self._on_ack(conn, _seqs(frame))
                return
            if kind == "hello":
                await self._on_hello(conn, frame.get("lang"))
                return
            if kind == "typing":
                await self._on_typing(conn)
                return
            frame_id = _client_id(frame)
            if kind == "message":
                text = _string(frame, "text", MAX_TEXT * 4)
                if len(text) > MAX_TEXT:
                    await conn.send(
                        {"type": "error", "id": frame_id, "code": "too_long", "limit": MAX_TEXT}
                    )
                    return
                await self._inbound(conn, frame_id, Inbound.from_text(text))
            elif kind == "choice":
                data_ = _string(frame, "data", 64)
                await self._inbound(conn, frame_id, Inbound(Kind.CHOICE, data=data_))
            elif kind == "language":
                await self._on_language(conn, frame_id, frame.get("lang"))
            else:
                raise FrameError(kind)
        except FrameError:
            await conn.send({"type": "error", "id": frame_id, "code": "bad_frame"})
        except Exception as error:
            log.exception("web frame failed: %s [%s]", type(error).__name__, correlation_id())
            # Not acked: the browser keeps the message and resends it on reconnect.
            await conn.send({"type": "error", "id": frame_id, "code": "failed"})

    async def _on_hello(self, conn: Connection, language: object) -> None:
        if isinstance(language, str) and language in LANGUAGES:
            conn.language = language
        async with self.core.database.reading() as session:
            participant = await webchat.participant_by_pseudonym(session, conn.pseudonym)
            rows = [] if participant is None else await webchat.pending(session, participant.id)
        if participant is not None:
            conn.language = participant.language
        await conn.send(
            {
                "type": "ready",
                "known": participant is not None,
                "lang": conn.language,
                "pending": len(rows),
            }
        )
        await self._send_new(conn, rows)

    async def _on_typing(self, conn: Connection) -> None:
        """The person is writing: tell their volunteer, if they are talking with one (at
        most every TYPING_EVERY seconds per socket; no answer, nothing stored)."""
        now = time.monotonic()
        if self.hub is None or now - conn.typed_at < TYPING_EVERY:
            return
        conn.typed_at = now
        async with self.core.database.reading() as session:
            participant = await webchat.participant_by_pseudonym(session, conn.pseudonym)
            row = None if participant is None else await handovers.open_for(
                session, participant.id)
        if row is not None and row.status == handovers.ACTIVE and row.volunteer_id:
            self.hub.publish(volunteer_topic(row.volunteer_id), {"type": "typing", "id": row.id})

    def _volunteer_typing(self, topic: str, _event: Event) -> None:
        """The volunteer is writing to this pseudonym: show it on the sockets held here."""
        key = self._keys.get(topic.removeprefix(TYPING))
        for conn in list(self._connections.get(key, ())) if key is not None else []:
            task = asyncio.create_task(conn.send({"type": "typing"}), name="webchat-typing")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _on_ack(self, conn: Connection, seqs: list[int]) -> None:
        async with self.core.database.session() as session, session.begin():
            participant = await webchat.participant_by_pseudonym(session, conn.pseudonym)
            if participant is not None:
                await webchat.acknowledge(session, participant.id, seqs)
        for other in self._connections.get(conn.key, ()):
            other.sent.difference_update(seqs)

    async def _on_language(self, conn: Connection, frame_id: str, language: object) -> None:
        if not isinstance(language, str) or language not in LANGUAGES:
            raise FrameError("language")
        conn.language = language
        async with self.core.database.session() as session:
            known = await webchat.participant_by_pseudonym(session, conn.pseudonym) is not None
        if known:  # the domain switches and says so, as after /language
            await self._inbound(conn, frame_id, Inbound(Kind.CHOICE, data=f"lang:{language}"))
        else:  # nobody to switch yet: the hint is used when the person first writes
            await conn.send({"type": "ack", "id": frame_id, "lang": language})

    async def _inbound(self, conn: Connection, frame_id: str, inbound: Inbound) -> None:
        wait = max(self.per_session.take(conn.key), self.per_ip.take(conn.ip))
        if wait > 0:
            await conn.send(
                {
                    "type": "error",
                    "id": frame_id,
                    "code": "rate_limited",
                    "retry_after": round(wait, 2),
                }
            )
            return
        update_key = hashlib.sha256(f"{conn.key}\x1f{frame_id}".encode()).hexdigest()
        handled = await self.core.handle(
            Envelope(
                channel=CHANNEL,
                user_key=conn.key,
                address=conn.key,
                inbound=inbound,
                update_key=update_key,
                language_hint=conn.language,
            )
        )
        # The replies are in the outbox; the sender stores and pushes them (see `attempt`).
        await handled.first_tries()
        language = handled.language
        if language is not None:
            conn.language = language
        await conn.send({"type": "ack", "id": frame_id, "lang": language or conn.language})

    # -- the mailbox ---------------------------------------------------------------------
    async def _store(
        self, key: str, messages: Sequence[Outbound]
    ) -> tuple[list[WebchatMessage] | None, str | None]:
        """Keep the messages until acked; None when nobody is known by this session."""
        pseudonym = self.core.keyring.pseudonym(CHANNEL, key)
        async with self.core.database.session() as session, session.begin():
            participant: Participant | None = await webchat.participant_by_pseudonym(
                session, pseudonym
            )
            if participant is None:
                return None, None
            rows = [
                await webchat.store(session, participant.id, m.text, choices_of(m))
                for m in messages
            ]
            if rows and self.announcer is not None:
                await self.announcer.announce(session, pseudonym)
            return rows, participant.language

    async def _push(self, key: str, rows: Sequence[WebchatMessage]) -> None:
        for conn in list(self._connections.get(key, ())):
            await self._send_new(conn, rows)

    async def _broadcast(self, key: str, payload: dict[str, Any]) -> None:
        for conn in list(self._connections.get(key, ())):
            await conn.send(payload)

    async def _send_new(self, conn: Connection, rows: Sequence[WebchatMessage]) -> None:
        for row in rows:
            if row.id in conn.sent:
                continue
            conn.sent.add(row.id)
            if not await conn.send(stored_frame(row)):
                return

    def _heard(self, pseudonym: str) -> None:
        """Some instance stored a message for this pseudonym: push it if a socket is here."""
        key = self._keys.get(pseudonym)
        for conn in list(self._connections.get(key, ())) if key is not None else []:
            task = asyncio.create_task(self._send_pending(conn), name="webchat-heard")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send_pending(self, conn: Connection) -> None:
        try:
            async with self.core.database.reading() as session:
                participant = await webchat.participant_by_pseudonym(session, conn.pseudonym)
                if participant is None:
                    return
                rows = await webchat.pending(session, participant.id)
            await self._send_new(conn, rows)
        except Exception as error:  # the sweep catches up
            log.warning("web chat push failed: %s", type(error).__name__)

    async def _sweep(self, conn: Connection) -> None:
        """Now and then, send what another instance stored for this session: a safety net
        behind the announcements (PostgreSQL), the only way on SQLite's one instance."""
        while not conn.socket.closed:
            await asyncio.sleep(self.sweep_every)
            await self._send_pending(conn)


async def _close(conns: list[Connection], code: int, reason: str) -> None:
    """Close together: each close waits (briefly) for the browser's answer."""
    await asyncio.gather(
        *(conn.socket.close(code=code, message=reason.encode()) for conn in conns)
    )


def _parse(data: str) -> dict[str, Any]:
    try:
        frame = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        raise FrameError("json") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("shape")
    return frame


def _client_id(frame: dict[str, Any]) -> str:
    value = frame.get("id")
    if not isinstance(value, str) or not _CLIENT_ID.match(value):
        raise FrameError("id")
    return value


def _string(frame: dict[str, Any], name: str, limit: int) -> str:
    value = frame.get(name)
    if not isinstance(value, str) or len(value) > limit:
        raise FrameError(name)
    return value


def _seqs(frame: dict[str, Any]) -> list[int]:
    value = frame.get("seqs")
    if (
        not isinstance(value, list)
        or len(value) > _MAX_ACKS
        or not all(isinstance(s, int) and not isinstance(s, bool) and 0 < s < _MAX_SEQ
                   for s in value)
    ):
        raise FrameError("seqs")
    return value
