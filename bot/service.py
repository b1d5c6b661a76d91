"""The running service's parts, opened and closed together."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from telegram.error import InvalidToken, TelegramError

from bot.config import Settings
from bot.core import Core
from bot.telegram.channel import TelegramChannel
from dialogues.content import Texts
from dialogues.conversation import Conversation, DialogueSettings
from dialogues.resources import EXAMPLE_DIRECTORY, Directory
from dialogues.safety import CrisisNet
from storage import migrate, updates
from storage.crypto import Keyring
from storage.db import Database
from storage.types import Clock, utcnow

log = logging.getLogger(__name__)

_RETRY_TELEGRAM_AFTER = 15.0
_MAINTENANCE_EVERY = 3600.0


@dataclass
class Service:
    settings: Settings
    database: Database
    core: Core
    telegram: TelegramChannel | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    def build(
        cls, settings: Settings, *, poll_timeout: int = 10, clock: Clock = utcnow
    ) -> Service:
        database = Database(settings.database.url)
        keyring = Keyring(settings.secret_key)
        conversation = build_conversation(settings, clock=clock)
        texts = conversation.texts
        core = Core(
            database, keyring, conversation, default_language=settings.service.default_language
        )
        service = cls(settings, database, core)
        if settings.telegram.enabled:
            service.telegram = TelegramChannel(
                settings.telegram,
                core,
                texts,
                conversation.commands,
                webhook_secret=webhook_secret(settings),
                poll_timeout=poll_timeout,
            )
        return service

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        """Run in the background, keeping a reference so it is cancelled on shutdown."""
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        await migrate.upgrade(self.database)
        self.spawn(self._maintain(), "maintenance")
        if self.telegram is None:
            log.warning(
                "Telegram is off: no bot token. Set [telegram] token in config.toml or "
                "SNAKKES_TELEGRAM_TOKEN to add it (see README, 'Telegram')."
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
        if self.telegram is not None and self.telegram.state != "stopped":
            await self.telegram.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.database.close()

    async def health(self) -> dict[str, Any]:
        database = await self.database.ping()
        telegram = "disabled" if self.telegram is None else self.telegram.state
        healthy = database and telegram in ("disabled", "polling", "webhook")
        return {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "telegram": telegram,
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
        """Hourly housekeeping: forget update ids Telegram will no longer redeliver."""
        while True:
            async with self.database.session() as session, session.begin():
                await updates.prune(session, utcnow() - timedelta(days=2))
            await asyncio.sleep(_MAINTENANCE_EVERY)


def build_conversation(settings: Settings, *, clock: Clock = utcnow) -> Conversation:
    """The conversation with every feature registered and the flows loaded and validated
    (raises dialogues.flows.FlowError)."""
    conversation = Conversation(
        Texts.default(), CrisisNet.default(), dialogue_settings(settings), clock=clock
    )
    conversation.load_flows()
    return conversation


def dialogue_settings(settings: Settings) -> DialogueSettings:
    configured = settings.dialogues.communities_file
    return DialogueSettings(
        crisis_lines=settings.crisis_lines,
        directory=Directory.load(Path(configured) if configured else EXAMPLE_DIRECTORY),
        flood_limit_per_minute=settings.dialogues.flood_limit_per_minute,
        idle_restart=timedelta(hours=settings.dialogues.idle_restart_hours),
    )


def webhook_secret(settings: Settings) -> str:
    """The configured webhook secret, or one derived from the secret key."""
    if settings.telegram.webhook_secret:
        return settings.telegram.webhook_secret.get()
    return hmac.new(settings.secret_key, b"telegram-webhook", hashlib.sha256).hexdigest()
