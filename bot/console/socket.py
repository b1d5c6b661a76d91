"""The console's WebSocket at /console/ws: one JSON object per frame.

From the page: `{"type": "hello", "csrf": …}` first (the session's CSRF token; anything
else closes the socket), then moves: `available` (value), `take`, `say` (text, ref),
`end`, `back` (note), `flag`, `transfer` (to, note), `debrief` (topic, crisis,
follow_up), each with the conversation's `id`; and `typing` (id), sent by the page at most
every few seconds while the volunteer writes, unanswered. From the server: `state`
(everything the console shows, read from the database), `result` (op, ok, code, ref),
`whisper`, and `typing` (id): the young person is writing. A typing notice carries no text
either way and is never stored: to the web chat it goes through the hub, to Telegram as a
chat action (bot/telegram/channel.py), never through the outbox.

The socket subscribes to the hub (bot/pubsub.py) for its volunteer, its organisation and
its console address; every event there means "look again", and the state is re-read and
sent. Every 20 to 40 seconds it looks again anyway, so what another instance changed (or what no
event announced, like someone leaving the queue) shows up even before the hub is fed
across instances; the page counts waiting minutes between state frames itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.pubsub import console_topic, org_topic, typing_topic, volunteer_topic
from bot.service import Service
from dialogues.messages import MAX_TEXT
from storage import console as console_store
from storage import participants
from storage.models import CannedResponse, Participant, Volunteer
from storage.types import Clock
from volunteers import lifecycle
from volunteers.messages import Post
from volunteers.web import Line, View, WebDesk

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 24 * 1024
# A look again without any event, for what nothing announced: between REFRESH_SECONDS
# and twice that, at random, so that consoles that all refreshed together (after a take)
# do not all read again in the same instant; the page counts waiting minutes itself.
REFRESH_SECONDS = 20.0
_HELLO_TIMEOUT = 10.0
CLOSE_REFUSED = 4403
_ID_OPS = {"take", "say", "end", "back", "flag", "transfer", "debrief", "typing"}
TYPING_EVERY = 4.0  # seconds: at most one typing notice per conversation from one socket


class FrameError(ValueError):
    """A frame the protocol does not allow: answered with an error frame."""


class ConsoleConnection:
    def __init__(self, ws: web.WebSocketResponse, service: Service, volunteer_id: int,
                 clock: Clock) -> None:
        self.ws = ws
        self.service = service
        self.volunteer_id = volunteer_id
        self.clock = clock
        self.org = ""
        self.address = ""
        self._send_lock = asyncio.Lock()
        self._flagged: set[int] = set()
        self._line: Line | None = None
        self._typed: dict[int, float] = {}  # conversation -> monotonic time of last notice

    @property
    def desk(self) -> WebDesk:
        if self.service.desk is None:
            raise RuntimeError("the service was built without the console's desk")
        return self.service.desk

    async def send(self, payload: dict[str, Any]) -> None:
        if self.ws.closed:
            return
        async with self._send_lock:
            with contextlib.suppress(ConnectionError):
                await self.ws.send_str(json.dumps(payload, ensure_ascii=False, default=_plain))

    async def identify(self) -> bool:
        async with self.service.database.session() as session:
            volunteer = await session.get(Volunteer, self.volunteer_id)
            person = (await session.get(Participant, volunteer.participant_id)
                      if volunteer else None)
        if volunteer is None or person is None or not volunteer.active:
            return False
        self.org = volunteer.org_slug
        self.address = participants.address_of(self.service.core.keyring, person)
        return True

    # -- state -------------------------------------------------------------------------
    async def push_state(self) -> bool:
        async with self.service.database.reading() as session:
            volunteer = await session.get(Volunteer, self.volunteer_id)
            person = (await session.get(Participant, volunteer.participant_id)
                      if volunteer else None)
            if volunteer is None or person is None or not volunteer.active:
                return False
            view = await self.desk.view(session, volunteer, person.language, self.clock())
            canned = await console_store.canned(session, volunteer.org_slug)
        await self.send(state_frame(view, canned, self._flagged))
        return True

    # -- moves -------------------------------------------------------------------------
    async def on_frame(self, data: str) -> None:
        try:
            frame = _parse(data)
        except FrameError as error:
            await self.send({"type": "error", "code": str(error)})
            return
        kind = frame["type"]
        if kind == "typing":
            await self.typing(frame["id"])
            return
        self._line = None
        async with self.service.database.session() as session, session.begin():
            volunteer = await session.get(Volunteer, self.volunteer_id,
                                          populate_existing=True)
            if volunteer is None or not volunteer.active:
                await self.ws.close(code=CLOSE_REFUSED, message=b"inactive")
                return
            ok, code, posts = await self._move(session, volunteer, frame, self.clock())
        await self.send({"type": "result", "op": kind, "ok": ok, "code": code,
                         "id": frame.get("id"), "ref": frame.get("ref")})
        if self._line is not None:  # the volunteer's own line: no need to read it all again
            await self.send({"type": "line", "id": frame["id"], "line": asdict(self._line)})
        outbox = self.service.outbox
        delivered = outbox is None or not posts or await lifecycle.deliver(outbox, posts)
        if not delivered and self.service.handovers is not None:
            self.service.handovers.wake()  # someone blocked the bot: the runner settles it
        if kind in ("take", "end", "back", "transfer", "available"):
            self.service.hub.publish(org_topic(self.org), {"type": "changed"})
        elif kind != "say" or not ok:
            await self.push_state()

    async def typing(self, row_id: int) -> None:
        """The volunteer is writing to one of their conversations: show the young person
        (best-effort, throttled, nothing stored, no answer)."""
        now = time.monotonic()
        if now - self._typed.get(row_id, float("-inf")) < TYPING_EVERY:
            return
        self._typed = {k: at for k, at in self._typed.items() if now - at < TYPING_EVERY}
        self._typed[row_id] = now
        service = self.service
        async with service.database.reading() as session:
            volunteer = await session.get(Volunteer, self.volunteer_id)
            row = None if volunteer is None else await self.desk.own(session, volunteer, row_id)
            person = None if row is None else await session.get(Participant, row.participant_id)
            address = (participants.address_of(service.core.keyring, person)
                       if person is not None and row is not None and row.channel == "telegram"
                       else "")
        if person is None or row is None:
            return
        if row.channel == "telegram":
            if service.telegram is not None:
                service.telegram.typing(address)
        else:
            service.hub.publish(typing_topic(person.pseudonym), {"type": "typing"})

    async def _move(  # noqa: PLR0911 - one answer per move
        self, session: AsyncSession, volunteer: Volunteer, frame: dict[str, Any], now: datetime
    ) -> tuple[bool, str, list[Post]]:
        kind, desk = frame["type"], self.desk
        if kind == "available":
            desk.set_available(volunteer, frame.get("value") is True, now)
            return True, "", []
        if kind == "take":
            outcome, posts = await desk.take(session, volunteer, frame["id"], now)
            return outcome.value == "taken", outcome.value, posts
        if kind == "debrief":
            ok, posts = await desk.debrief(
                session, volunteer, frame["id"], topic=_text(frame, "topic", 16),
                crisis=frame.get("crisis") is True, follow_up=frame.get("follow_up") is True,
                now=now,
            )
            return ok, "" if ok else "gone", posts
        row = await desk.own(session, volunteer, frame["id"])
        if row is None:
            return False, "gone", []
        if kind == "say":
            self._line, posts = await desk.say(session, volunteer, row, frame["text"], now)
            return True, "", posts
        if kind == "end":
            return True, "", await desk.end(session, volunteer, row, now)
        if kind == "back":
            note = _text(frame, "note", 500)
            return True, "", await desk.hand_back(session, volunteer, row, note, now)
        if kind == "flag":
            self._flagged.add(row.id)
            return True, "", await desk.flag(session, volunteer, row, now)
        ok, posts = await desk.transfer(
            session, volunteer, row, to_alias=_text(frame, "to", 24),
            note=_text(frame, "note", 500), now=now,
        )
        return ok, "" if ok else "transfer_none", posts


def state_frame(view: View, canned: Sequence[CannedResponse], flagged: set[int]
                ) -> dict[str, Any]:
    frame = asdict(view)
    frame["type"] = "state"
    for talk in frame["talks"]:
        card = talk["card"]
        card["flagged"] = card["id"] in flagged
        talk["canned"] = [
            {"title": item.title,
             "text": item.text.replace("{pseudonym}", card["name"]).replace(
                 "{alias}", view.alias)}
            for item in canned
        ]
    return frame


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _text(frame: dict[str, Any], key: str, limit: int) -> str:
    value = frame.get(key, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def _parse(data: str) -> dict[str, Any]:
    if len(data) > MAX_FRAME_BYTES:
        raise FrameError("too_long")
    try:
        frame = json.loads(data)
    except ValueError:
        raise FrameError("bad_frame") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("bad_frame")
    kind = frame["type"]
    if kind not in _ID_OPS and kind != "available":
        raise FrameError("bad_frame")
    if kind in _ID_OPS:
        row_id = frame.get("id")
        if isinstance(row_id, bool) or not isinstance(row_id, int) or row_id < 1:
            raise FrameError("bad_frame")
    if kind == "say":
        text = frame.get("text")
        if not isinstance(text, str) or not text.strip():
            raise FrameError("bad_frame")
        if len(text) > MAX_TEXT:
            raise FrameError("too_long")
        frame["text"] = text.strip()
    return frame


async def serve(  # noqa: PLR0917
    request: web.Request, service: Service, volunteer_id: int, csrf: str, clock: Clock,
    open_sockets: set[web.WebSocketResponse],
) -> web.WebSocketResponse:
    """Run one console socket until it closes; `open_sockets` holds it meanwhile (closed
    at shutdown)."""
    ws = web.WebSocketResponse(heartbeat=25.0, max_msg_size=MAX_FRAME_BYTES, compress=False,
                               timeout=3.0)
    await ws.prepare(request)
    open_sockets.add(ws)
    try:
        return await _run(ws, service, volunteer_id, csrf, clock)
    finally:
        open_sockets.discard(ws)


async def _run(ws: web.WebSocketResponse, service: Service, volunteer_id: int, csrf: str,
               clock: Clock) -> web.WebSocketResponse:
    conn = ConsoleConnection(ws, service, volunteer_id, clock)
    try:
        hello = await ws.receive(timeout=_HELLO_TIMEOUT)
    except TimeoutError:
        await ws.close(code=CLOSE_REFUSED, message=b"no hello")
        return ws
    if not _hello_ok(hello, csrf) or not await conn.identify():
        await ws.close(code=CLOSE_REFUSED, message=b"refused")
        return ws
    topics = (volunteer_topic(volunteer_id), org_topic(conn.org), console_topic(conn.address))
    async with service.hub.subscribe(*topics) as subscription:
        async def follow() -> None:
            while not ws.closed:
                event = await subscription.get(REFRESH_SECONDS * (1 + random.random()))  # noqa: S311
                events = ([event] if event else []) + subscription.drain()
                typing = {e.get("id") for e in events if e.get("type") == "typing"}
                for row_id in typing:
                    await conn.send({"type": "typing", "id": row_id})
                if typing and all(e.get("type") == "typing" for e in events):
                    continue  # only "is writing": nothing to read again
                for whisper in (e for e in events if e.get("type") == "whisper"):
                    await conn.send({"type": "whisper", "from": whisper.get("from", ""),
                                     "text": whisper.get("text", "")})
                if not await conn.push_state():
                    await ws.close(code=CLOSE_REFUSED, message=b"inactive")

        await conn.push_state()
        follower = asyncio.create_task(follow(), name="console-follow")
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    try:
                        await conn.on_frame(message.data)
                    except Exception as error:
                        log.error("console move failed: %s", type(error).__name__)
                        await conn.send({"type": "result", "ok": False, "code": "failed"})
                else:
                    await conn.send({"type": "error", "code": "bad_frame"})
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
    return ws


def _hello_ok(message: Any, csrf: str) -> bool:
    if message.type is not WSMsgType.TEXT:
        return False
    try:
        frame = json.loads(message.data)
    except ValueError:
        return False
    token = frame.get("csrf") if isinstance(frame, dict) else None
    return (frame.get("type") == "hello" and isinstance(token, str)
            and secrets.compare_digest(token, csrf))
