"""The Telegram channel: runs python-telegram-bot in polling or webhook mode and connects
it to the core. One TypeHandler takes every update; routing happens in our own code, where
conversation state lives in the database rather than in PTB's process memory."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any

from telegram import BotCommand, BotCommandScopeAllPrivateChats, Update
from telegram.constants import ChatAction
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.config import TelegramSettings
from bot.core import Core, Envelope, Handled
from bot.delivery import SENT, Attempt, Result
from bot.logs import correlation_id, new_correlation_id
from bot.telegram.limits import WindowRateLimiter
from bot.telegram.ordering import CONCURRENT_UPDATES, PerChatUpdateProcessor
from bot.telegram.polling import InboxPoller
from bot.telegram.request import AiohttpRequest
from bot.telegram.translate import inbound_of, keyboard_of
from dialogues.content import LANGUAGES, Texts
from dialogues.messages import Outbound
from storage.limits import SharedWindow

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
_FIRST_TRY_WAIT = 10.0
TYPING_EVERY = 4.5  # seconds: Telegram shows "typing" for about 5, so once in that per chat
_KEEP_TYPING = 4096  # chats remembered for that; older ones are dropped beyond this many


class TelegramChannel:
    def __init__(
        self,
        settings: TelegramSettings,
        core: Core,
        texts: Texts,
        commands: tuple[str, ...],
        *,
        webhook_secret: str,
        poll_timeout: int = 10,
        send_timeout: float = 5.0,
        shared_window: SharedWindow | None = None,
        chat_key: Callable[[str], str] = str,
    ) -> None:
        self.settings = settings
        self.core = core
        self.texts = texts
        self.commands = commands
        self.webhook_secret = webhook_secret
        self.poll_timeout = poll_timeout
        self.state = "stopped"
        self.poller: InboxPoller | None = None
        # Webhook requests wait here for the outcome of their update (keyed by id(update)).
        self._outcomes: dict[int, asyncio.Future[bool]] = {}
        self._typed: dict[str, float] = {}  # chat -> monotonic time of its last chat action
        self._typing_tasks: set[asyncio.Task[None]] = set()
        builder = (
            Application.builder()
            .token(settings.token.get())
            .base_url(f"{settings.api_url.rstrip('/')}/bot")
            .base_file_url(f"{settings.api_url.rstrip('/')}/file/bot")
            .request(
                AiohttpRequest(
                    connection_pool_size=32, read_timeout=send_timeout, write_timeout=send_timeout
                )
            )
            .concurrent_updates(PerChatUpdateProcessor(CONCURRENT_UPDATES))
            .rate_limiter(
                WindowRateLimiter(
                    settings.max_messages_per_second,
                    max_retries=5,
                    shared=shared_window,
                    chat_key=chat_key,
                )
            )
        )
        # No PTB Updater in either mode: webhook updates come from our route, polled ones
        # from our own loop (bot/telegram/polling.py), which loses nothing.
        self.application = builder.updater(None).build()
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    @property
    def mode(self) -> str:
        return self.settings.mode

    async def start(self) -> None:
        self.state = "starting"
        app = self.application
        await app.initialize()
        await self._register_commands()
        if self.mode == "webhook":
            await app.bot.set_webhook(
                self.settings.webhook_url,
                secret_token=self.webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
            )
        else:
            await app.bot.delete_webhook()
        await app.start()
        if self.mode == "polling":
            self.poller = InboxPoller(
                app.bot,
                self.core.database,
                self.core.keyring,
                self._process,
                timeout=self.poll_timeout,
                allowed_updates=list(ALLOWED_UPDATES),
            )
            self.poller.start()
        self.state = self.mode
        log.info("telegram channel running in %s mode", self.mode)

    async def stop(self) -> None:
        """Stop fetching, let updates in flight finish, then close the HTTP clients."""
        app = self.application
        if self.poller is not None:
            await self.poller.stop()
            self.poller = None
        if app.running:
            await app.stop()
        await app.shutdown()
        self.state = "stopped"

    def secret_matches(self, header: str | None) -> bool:
        # A header aiohttp could not decode holds surrogates: compared as the bytes it was.
        given = (header or "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self.webhook_secret.encode())

    async def process_webhook(self, payload: dict[str, Any], wait: float = 50.0) -> bool:
        """Queue one webhook update and wait until it is handled; False when handling failed,
        so the route can answer non-2xx and Telegram delivers it again."""
        return await self._process(Update.de_json(payload, self.application.bot), wait)

    async def _process(self, update: Update, wait: float = 50.0) -> bool:
        """Hand one update to PTB and wait until it is handled; False when it failed."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._outcomes[id(update)] = future
        try:
            await self.application.update_queue.put(update)
            return await asyncio.wait_for(future, wait)
        except TimeoutError:
            return False
        finally:
            self._outcomes.pop(id(update), None)

    def _settle(self, update: object, ok: bool) -> None:
        future = self._outcomes.get(id(update))
        if future is not None and not future.done():
            future.set_result(ok)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        new_correlation_id()
        chat, user = update.effective_chat, update.effective_user
        if update.my_chat_member is not None:
            await self._on_membership(update)
        elif chat is None or user is None or user.is_bot:
            pass  # channel posts, polls and the like: nothing for us
        elif chat.type != chat.PRIVATE:
            if update.message is not None:
                await self._notify_group(chat.id, update.update_id)
        else:
            await self._on_private(update, user.id, user.language_code)
        self._settle(update, ok=True)

    async def _on_private(self, update: Update, user_id: int, language: str | None) -> None:
        inbound = inbound_of(update)
        query = update.callback_query
        # A pressed button's spinner is stopped beside the turn, not before it: the answer
        # is a round trip to Telegram that the person's reply need not wait for.
        answering = (
            asyncio.ensure_future(self._quietly(query.answer())) if query is not None else None
        )
        try:
            if inbound is None:
                return
            poller = self.poller
            inbox_id = poller.settle(update.update_id) if poller is not None else None
            handled = await self.core.handle(
                Envelope(
                    channel=CHANNEL,
                    user_key=str(user_id),
                    address=str(user_id),  # a private chat's id is the user's id
                    inbound=inbound,
                    update_key=str(update.update_id),
                    language_hint=language,
                    inbox_update_id=inbox_id,
                )
            )
            if inbox_id is not None and poller is not None:
                poller.settled(update.update_id)
            if handled.duplicate:
                return
            if query is not None and query.message is not None:
                message = query.message
                await self._quietly(self._take_keyboard_away(message.chat.id, message.message_id))
            await self._reply(handled)
        finally:
            if answering is not None:
                await answering

    async def _take_keyboard_away(self, chat_id: int, message_id: int) -> None:
        """The pressed keyboard removed, by the raw call: PTB's edit_message_reply_markup
        would build a Message from the answer that nobody reads (as `attempt` does)."""
        await self.application.bot.do_api_request(
            "editmessagereplymarkup", api_kwargs={"chat_id": chat_id, "message_id": message_id}
        )

    async def _notify_group(self, chat_id: int, update_id: int) -> None:
        """Say once per group that snakkes only talks in private; otherwise stay silent."""
        if await self.core.claim_group_notice(CHANNEL, str(chat_id), str(update_id)):
            text = self.texts.get("group_only_private", self.core.default_language)
            await self._quietly(self.application.bot.send_message(chat_id, text))

    async def _on_membership(self, update: Update) -> None:
        member = update.my_chat_member
        if member is None:
            return
        chat, status = member.chat, member.new_chat_member.status
        if chat.type == chat.PRIVATE and status == "kicked":
            await self.core.mark_unreachable(self.core.keyring.pseudonym(CHANNEL, str(chat.id)))
        elif chat.type != chat.PRIVATE and status == "member":
            await self._notify_group(chat.id, update.update_id)

    async def attempt(self, address: str, message: Outbound) -> Attempt:
        """Try once to send one message to a chat (the outbox sender's Transport).

        429s are waited out by the rate limiter first; what it gives up on, the network,
        5xx and time-outs are for the sender to repeat (a time-out too: the message may not
        have arrived, and one twice is better than none).
        """
        # The raw call: PTB's send_message would build a Message from every answer (about
        # a third of PTB's CPU per update) that nobody reads. Lower case, as Telegram's
        # method names are case-insensitive and PTB then keeps its hint to itself.
        kwargs: dict[str, Any] = {"chat_id": int(address), "text": message.text}
        if message.choices:
            kwargs["reply_markup"] = keyboard_of(message)
        try:
            await self.application.bot.do_api_request("sendmessage", api_kwargs=kwargs)
        except TelegramError as error:
            return _attempt_of(error)
        return SENT

    def typing(self, address: str) -> None:
        """Show "typing" in a chat (a volunteer is writing): at most once every
        TYPING_EVERY seconds per chat, in the background, best-effort. Not a message: it
        never waits in the outbox's lanes, and a failure is only logged."""
        now = time.monotonic()
        if now - self._typed.get(address, float("-inf")) < TYPING_EVERY:
            return
        if len(self._typed) >= _KEEP_TYPING:
            self._typed = {k: at for k, at in self._typed.items() if now - at < TYPING_EVERY}
        self._typed[address] = now
        task = asyncio.create_task(self._chat_action(address), name="telegram-typing")
        self._typing_tasks.add(task)
        task.add_done_callback(self._typing_tasks.discard)

    async def _chat_action(self, address: str) -> None:
        try:
            await self.application.bot.send_chat_action(
                int(address), ChatAction.TYPING, rate_limit_args=0
            )
        except (TelegramError, ValueError) as error:
            log.info("typing not shown: %s", type(error).__name__)

    async def _reply(self, handled: Handled) -> None:
        """The replies are in the outbox already; wait for their first try, so the webhook
        answers once they were sent (or are being tried again) and a person's next update
        waits for this one's answer."""
        await handled.first_tries(_FIRST_TRY_WAIT)

    async def _quietly(self, call: Any) -> None:
        """For calls whose failure changes nothing for the person (answering a button press,
        removing a keyboard): an old query or unchanged markup is logged, not raised."""
        try:
            await call
        except TelegramError as error:
            log.info("telegram call skipped: %s", type(error).__name__)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        log.error(
            "update failed: %s [%s]",
            type(error).__name__ if error else "unknown",
            correlation_id(),
            exc_info=(type(error), error, error.__traceback__) if error else None,
        )
        self._settle(update, ok=False)

    async def _register_commands(self) -> None:
        scope = BotCommandScopeAllPrivateChats()
        for language in (None, *LANGUAGES):
            lang = language or self.core.default_language
            commands = [
                BotCommand(name, self.texts.get(f"command_{name}", lang)) for name in self.commands
            ]
            await self.application.bot.set_my_commands(
                commands, scope=scope, language_code=language
            )


def _attempt_of(error: TelegramError) -> Attempt:
    """What a failed send means for the outbox: stop, give up, or try again."""
    if isinstance(error, Forbidden):
        return Attempt(Result.BLOCKED)
    if isinstance(error, BadRequest):  # before NetworkError, of which it is a kind
        return Attempt(Result.FAILED, error.message)
    if isinstance(error, TimedOut):
        return Attempt(Result.RETRY, "timed out")
    if isinstance(error, RetryAfter):
        return Attempt(Result.RETRY, "flood limit")
    if isinstance(error, NetworkError):  # 5xx and the connection itself
        return Attempt(Result.RETRY, error.message)
    return Attempt(Result.FAILED, type(error).__name__)
