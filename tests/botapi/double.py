"""A Telegram Bot API double: a real HTTP server the unmodified PTB ``Application`` talks to.

Why a server and not mocks: the bot's request encoding, error mapping (Forbidden, RetryAfter,
BadRequest), polling loop and webhook handling are exercised exactly as in production, and
tests stay independent of PTB internals. Point PTB at it with
``.base_url(f"{double.url}/bot").base_file_url(f"{double.url}/file/bot")``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from tests.botapi.methods import METHODS
from tests.botapi.models import (
    CONFLICT_POLL,
    CONFLICT_WEBHOOK,
    JSON,
    ApiError,
    Call,
    FakeUser,
    SentMessage,
)
from tests.botapi.players import Players
from tests.botapi.state import BotState, Stall
from tests.botapi.wire import read_params

_TOKEN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")


def _chat_id(chat: int | FakeUser) -> int:
    return chat.chat_id if isinstance(chat, FakeUser) else int(chat)


class BotApiDouble(Players):
    """Fake Telegram Bot API on 127.0.0.1 plus the test-facing controls and observations.

    Use as ``async with BotApiDouble() as double:`` or ``start()``/``stop()``. With
    ``enforce_limits`` Telegram's flood limits are applied and answered with 429. ``lean``
    (for benchmarks) keeps no calls or messages: watch them with :meth:`on_sent` instead.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",  # noqa: S107 - a fake token, the double's default
        *,
        enforce_limits: bool = False,
        lean: bool = False,
    ) -> None:
        if not _TOKEN.match(token):
            raise ValueError(f"not a bot token: {token!r}")
        super().__init__()
        self.token = token
        self._state = BotState(token, enforce_limits=enforce_limits, lean=lean)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._read_cursor: dict[int, int] = {}
        self._pump: asyncio.Task[None] | None = None
        self._claimed_calls: set[int] = set()

    # ------------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """The Bot API root, e.g. ``http://127.0.0.1:PORT``; PTB's base_url is ``url + "/bot"``."""
        if self._url is None:
            raise RuntimeError("BotApiDouble is not started")
        return self._url

    async def start(self) -> None:
        """Bind a free port on 127.0.0.1 and serve."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)
        # handler_cancellation: a long poll whose client went away must not linger.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self._url = f"http://127.0.0.1:{port}"
        self._state.closing = False

    async def stop(self) -> None:
        """Answer pending long polls, close the webhook client and the server."""
        self._state.closing = True
        self._state.signal.fire()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._url = None

    async def __aenter__(self) -> BotApiDouble:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ----------------------------------------------------------------------------- HTTP
    async def _file(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").to_json(), status=404)

    async def _handle(self, request: web.Request) -> web.Response:
        params = await read_params(request)
        name = request.match_info["method"]
        known = METHODS.get(name.lower())
        canonical = "getUpdates" if name.lower() == "getupdates" else (known or (name,))[0]
        call = Call(canonical, params)
        if not self._state.lean:
            self._state.calls.append(call)
        self._state.signal.fire()
        try:
            result = await self._dispatch(request.match_info["token"], canonical, params)
        except ApiError as error:
            call.error_code, call.description = error.error_code, error.description
            self._state.signal.fire()
            return web.json_response(error.to_json(), status=error.error_code)
        call.result = result
        self._state.signal.fire()
        return web.json_response({"ok": True, "result": result})

    async def _dispatch(self, token: str, method: str, params: JSON) -> Any:
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        handler = METHODS.get(method.lower())
        if handler is None and method != "getUpdates":
            raise ApiError(404, "Not Found")
        failure = self._state.take_failure(method, params)
        if failure is not None:
            raise failure
        if handler is None:
            return await self._get_updates(params)
        stall = self._state.take_stall(method, params)
        if stall is None:
            return handler[1](self._state, params)
        if not stall.delivered:
            await asyncio.sleep(stall.seconds)  # the bot gives up first; nothing arrived
            raise ApiError(504, "Gateway Timeout")
        result = handler[1](self._state, params)
        await asyncio.sleep(stall.seconds)  # arrived, but the answer comes too late
        return result

    async def _get_updates(self, params: JSON) -> list[JSON]:
        state = self._state
        if state.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        if isinstance(params.get("allowed_updates"), list):
            state.allowed_updates = list(params["allowed_updates"])
        if params.get("offset") is not None:
            state.confirm(int(params["offset"]))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        state.poll_generation += 1  # a newer poll terminates an overlapping older one
        generation = state.poll_generation
        state.signal.fire()

        def settled() -> bool:
            return (
                state.closing
                or state.poll_generation != generation
                or state.webhook is not None
                or bool(state.deliverable(limit))
            )

        await state.signal.wait_for(settled, timeout)
        if state.poll_generation != generation:
            raise ApiError(409, CONFLICT_POLL)
        if state.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        return state.take_deliverable(limit)

    # -------------------------------------------------------------------------- webhook
    @property
    def webhook(self) -> JSON | None:
        """``{"url", "secret_token"}`` once the bot called setWebhook, else ``None``."""
        return self._state.webhook

    async def deliver_webhook(self, update: int | JSON) -> int:
        """POST one update (by update_id or as a dict) to the bot's webhook; return the status.

        A 2xx answer removes it from the pending updates, anything else is recorded in
        getWebhookInfo's last_error_* fields and left pending, as Telegram does.
        """
        hook = self._state.webhook
        if hook is None:
            raise AssertionError("no webhook set: the bot has not called setWebhook")
        body = self._state.all_updates[update] if isinstance(update, int) else update
        headers = {}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(str(hook["url"]), json=body, headers=headers) as resp:
            await resp.read()
            status, reason = resp.status, resp.reason
        if 200 <= status < 300:
            self._mark_delivered(body)
        else:
            self._state.webhook_error = {
                "last_error_date": int(time.time()),
                "last_error_message": f"Wrong response from the webhook: {status} {reason}",
            }
        return status

    def _mark_delivered(self, update: JSON) -> None:
        state = self._state
        for index, pending in enumerate(state.redeliveries):
            if pending is update:
                del state.redeliveries[index]
                return
        state.queue = [u for u in state.queue if u["update_id"] != update.get("update_id")]

    def route_webhook(self, url: str) -> None:
        """Post webhook updates to ``url`` from now on, as if a reverse proxy in front of
        several instances stood at the address they registered."""
        if self._state.webhook is None:
            raise AssertionError("no webhook set: the bot has not called setWebhook")
        self._state.webhook = {**self._state.webhook, "url": url}

    def pump_webhook(self, connections: int = 8, retry_after: float = 0.2) -> None:
        """From now on, post pending updates to the webhook as Telegram does: up to
        ``connections`` at once, each again after ``retry_after`` until it gets a 2xx (also
        while the bot is down: a refused connection is a failed delivery)."""
        if self._pump is None:
            self._pump = asyncio.create_task(self._pump_webhook(connections, retry_after))

    async def _pump_webhook(self, connections: int, retry_after: float) -> None:
        state = self._state
        in_flight: set[int] = set()
        free = asyncio.Semaphore(connections)
        posts: set[asyncio.Task[None]] = set()

        async def post(update: JSON) -> None:
            try:
                try:
                    status = await self.deliver_webhook(update)
                except (aiohttp.ClientError, OSError):
                    status = 0
                if not 200 <= status < 300:
                    await asyncio.sleep(retry_after)
            finally:
                in_flight.discard(int(update["update_id"]))
                free.release()
                state.signal.fire()

        def waiting() -> list[JSON]:
            if state.webhook is None:
                return []
            return [u for u in state.deliverable() if int(u["update_id"]) not in in_flight]

        try:
            # Not `while True`: Python 3.11's wait_for can swallow the cancel from stop().
            while not state.closing:
                await state.signal.wait_for(lambda: bool(waiting()), 1.0)
                for update in waiting():
                    await free.acquire()
                    in_flight.add(int(update["update_id"]))
                    task = asyncio.create_task(post(update))
                    posts.add(task)
                    task.add_done_callback(posts.discard)
        finally:
            for task in list(posts):
                task.cancel()
            await asyncio.gather(*posts, return_exceptions=True)

    async def flush_webhook(self) -> list[int]:
        """Deliver every pending update to the webhook in order; return the HTTP statuses.

        Failed deliveries stay pending, so calling it again is the test's way to retry.
        """
        return [await self.deliver_webhook(update) for update in self._state.deliverable()]

    # ------------------------------------------------------------------ failure control
    def on_sent(self, listener: Callable[[SentMessage], None]) -> None:
        """Call `listener` with every message the bot sends or edits, as it arrives."""
        self._state.sent_listeners.append(listener)

    def stall_next(
        self,
        method: str,
        seconds: float,
        *,
        delivered: bool,
        chat_id: int | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` only after ``seconds``, so the bot
        times out: with ``delivered`` the message arrived anyway (the answer was lost), without
        it never did."""
        self._state.stalls.append(Stall(method, seconds, delivered, chat_id, count))

    @property
    def most_in_a_second(self) -> int:
        """The most messages the bot got delivered within any one second."""
        return self._state.most_per_second

    def block(self, user: FakeUser) -> None:
        """From now on the bot's sends to ``user`` get 403 "bot was blocked by the user"."""
        self._state.blocked.add(user.chat_id)

    def unblock(self, user: FakeUser) -> None:
        """Undo :meth:`block`."""
        self._state.blocked.discard(user.chat_id)

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        *,
        retry_after: int | None = None,
        chat_id: int | None = None,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` (optionally to ``chat_id``) with an error.

        429 defaults to ``retry_after=1``; other codes get Telegram's usual description
        unless one is given.
        """
        self._state.add_failure(
            method,
            error_code,
            retry_after=retry_after,
            chat_id=chat_id,
            count=count,
            description=description,
        )

    # --------------------------------------------------------------------- observations
    @property
    def sent(self) -> list[SentMessage]:
        """Every message the bot sent or edited successfully, in order."""
        return list(self._state.sent)

    def messages_to(self, chat: int | FakeUser, *, edits: bool = False) -> list[SentMessage]:
        """The bot's messages in one chat, in order; with ``edits``, its edits too."""
        chat_id = _chat_id(chat)
        return [
            message
            for message in self._state.sent
            if message.chat_id == chat_id and (edits or not message.edited)
        ]

    def edits_in(self, chat: int | FakeUser) -> list[SentMessage]:
        """The bot's edits of earlier messages in one chat, in order."""
        return [m for m in self.messages_to(chat, edits=True) if m.edited]

    @property
    def calls(self) -> list[Call]:
        """Every request the bot made (including failed and unknown ones), in order."""
        return list(self._state.calls)

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one method (case-insensitive)."""
        return [call for call in self._state.calls if call.method.lower() == method.lower()]

    @property
    def answered_callbacks(self) -> list[Call]:
        """The successful answerCallbackQuery calls."""
        return [call for call in self.calls_to("answerCallbackQuery") if call.ok]

    @property
    def commands(self) -> dict[tuple[str, str], list[JSON]]:
        """setMyCommands state by ``(scope, language_code)``, e.g. ``("default", "")``.

        Chat-bound scopes are keyed like ``"chat:<chat_id>"``.
        """
        return dict(self._state.commands)

    @property
    def deleted(self) -> list[tuple[int, int]]:
        """``(chat_id, message_id)`` of every message the bot deleted."""
        return list(self._state.deleted)

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued but not yet confirmed by the bot."""
        return list(self._state.queue)

    @property
    def rejected_429(self) -> int:
        """How many sends the enforced flood limits rejected (injected 429s not counted)."""
        return self._state.rejected_429

    @property
    def delivered_count_by_chat(self) -> dict[int, int]:
        """Successfully sent messages per chat id."""
        return dict(self._state.delivered_count_by_chat)

    # -------------------------------------------------------------------------- waiting
    async def wait_for_messages(
        self,
        chat: int | FakeUser,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the test-facing API by design
        *,
        edits: bool = False,
    ) -> list[SentMessage]:
        """Wait for ``count`` messages to ``chat`` not returned by an earlier wait; return them.

        Each chat has a read cursor, so consecutive waits walk through the conversation.
        Edits (``edited=True``) count only with ``edits``; use one setting per chat, since
        the cursor counts what that setting sees. Raises AssertionError on timeout.
        """
        chat_id = _chat_id(chat)
        cursor = self._read_cursor.get(chat_id, 0)

        def enough() -> bool:
            return len(self.messages_to(chat_id, edits=edits)) - cursor >= count

        if not await self._state.signal.wait_for(enough, timeout):
            raise AssertionError(self._explain_missing(chat_id, cursor, count, timeout))
        self._read_cursor[chat_id] = cursor + count
        return self.messages_to(chat_id, edits=edits)[cursor : cursor + count]

    def _explain_missing(self, chat_id: int, cursor: int, count: int, timeout: float) -> str:
        earlier = [m.text for m in self.messages_to(chat_id)[:cursor]]
        new = self.messages_to(chat_id)[cursor:]
        lines = [
            f"expected {count} new message(s) to chat {chat_id} within {timeout}s, "
            f"got {len(new)}:",
            *(f"  {m.message_id}{' (edit)' if m.edited else ''}: {m.text!r}" for m in new),
            f"earlier messages to this chat: {earlier!r}",
            "failed bot calls: "
            + repr([(c.method, c.error_code, c.description) for c in self.calls if not c.ok]),
            f"pending updates: {len(self._state.queue)}",
        ]
        return "\n".join(lines)

    async def wait_for_call(
        self,
        method: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the test-facing API by design
        predicate: Callable[[Call], bool] | None = None,
    ) -> Call:
        """Wait for a call of ``method`` (matching ``predicate``) not returned before.

        Calls made before the wait count too, so there is no race with a fast bot.
        """

        def find() -> int | None:
            for index, call in enumerate(self._state.calls):
                if index in self._claimed_calls or call.method.lower() != method.lower():
                    continue
                if predicate is None or predicate(call):
                    return index
            return None

        await self._state.signal.wait_for(lambda: find() is not None, timeout)
        index = find()
        if index is None:
            seen = [call.method for call in self._state.calls]
            raise AssertionError(f"no {method} call within {timeout}s; calls so far: {seen}")
        self._claimed_calls.add(index)
        return self._state.calls[index]
