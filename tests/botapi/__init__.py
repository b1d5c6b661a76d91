"""Telegram Bot API double for tests: a real aiohttp server speaking the Bot API.

See ``tests.botapi.double.BotApiDouble``.
"""

from tests.botapi.double import BotApiDouble
from tests.botapi.models import MEDIA_KINDS, Call, FakeUser, SentMessage

__all__ = ["MEDIA_KINDS", "BotApiDouble", "Call", "FakeUser", "SentMessage"]
