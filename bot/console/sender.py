"""The outbox's sender for volunteers of the browser console.

What the handover says to a volunteer (someone is waiting, the young person wrote, the
safety net's alert) is already in the database; the console shows it from there. So this
sender only wakes the volunteer's open consoles through the hub: nothing is sent, nothing
is stored here, no text goes through the hub.
"""

from __future__ import annotations

from bot.delivery import SENT, Attempt
from bot.pubsub import Hub, console_topic
from dialogues.messages import Outbound


class ConsoleSender:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def attempt(self, address: str, message: Outbound) -> Attempt:
        self.hub.publish(console_topic(address), {"type": "changed"})
        return SENT
