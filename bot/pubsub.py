"""Publish/subscribe inside one process: the console's push path.

A topic is a short string ("volunteer:12", "org:example"); an event is a small dict that
never holds message text or an identity beyond such ids. Subscribers are woken in order;
a slow subscriber loses nothing but is coalesced (its queue holds at most `depth` events,
then the oldest go: every event only says "look again", the database says what changed).

One instance needs nothing more. With several instances on PostgreSQL, the console's feed
(bot/console/feed.py, LISTEN/NOTIFY) is this hub's `forward`: it sends this instance's
events out, and publishes other instances' here (`local_only`, so they go no further).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

Event = dict[str, Any]


class Subscription:
    def __init__(self, hub: Hub, topics: tuple[str, ...], depth: int) -> None:
        self.hub = hub
        self.topics = topics
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=depth)

    def put(self, event: Event) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(event)

    async def get(self, wait: float | None = None) -> Event | None:
        """The next event, or None after `wait` seconds without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), wait)
        except TimeoutError:
            return None

    def drain(self) -> list[Event]:
        found = []
        while not self.queue.empty():
            found.append(self.queue.get_nowait())
        return found


Listener = Callable[[str, Event], None]


class Hub:
    def __init__(self, forward: Listener | None = None) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}
        self._listeners: list[tuple[str, Listener]] = []
        self._forward = forward

    def forward_to(self, forward: Listener | None) -> None:
        """Send this instance's events out from now on (the cross-instance feed)."""
        self._forward = forward

    def listen(self, prefix: str, listener: Listener) -> None:
        """Call `listener(topic, event)` for every event on a topic starting with `prefix`:
        for a part that holds many sockets (the web chat) rather than one subscription per
        socket. The listener must not block (start a task for anything slow)."""
        self._listeners.append((prefix, listener))

    def publish(self, topic: str, event: Event, *, local_only: bool = False) -> None:
        """Wake every subscriber of `topic` in this process (and, unless `local_only`,
        hand the event to the cross-instance forwarder, if there is one)."""
        for subscription in list(self._subscribers.get(topic, ())):
            subscription.put({**event, "topic": topic})
        for prefix, listener in self._listeners:
            if topic.startswith(prefix):
                listener(topic, event)
        if self._forward is not None and not local_only:
            self._forward(topic, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, *topics: str, depth: int = 64) -> AsyncIterator[Subscription]:
        subscription = Subscription(self, topics, depth)
        for topic in topics:
            self._subscribers.setdefault(topic, set()).add(subscription)
        try:
            yield subscription
        finally:
            for topic in topics:
                found = self._subscribers.get(topic)
                if found is not None:
                    found.discard(subscription)
                    if not found:
                        del self._subscribers[topic]

    def subscribers(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))


def volunteer_topic(volunteer_id: int) -> str:
    return f"volunteer:{volunteer_id}"


def org_topic(org_slug: str) -> str:
    return f"org:{org_slug}"


TYPING = "typing:"


def typing_topic(pseudonym: str) -> str:
    """A young person's typing indicator: "the volunteer is writing" (never any text); the
    pseudonym is the HMAC the web chat keys its sockets by."""
    return f"{TYPING}{pseudonym}"


def console_topic(address: str) -> str:
    """Where the outbox's console sender publishes what the handover says to a volunteer
    (the address is the volunteer participant's own random key)."""
    return f"console:{address}"
