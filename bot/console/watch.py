"""One look at the queue per instance every couple of seconds, instead of one per console.

Someone joining or leaving the queue is announced to available volunteers only (and only
on the instance that handled it); a console of a volunteer who is away, or on another
instance, must still see the queue change. So each instance reads a small fingerprint of
the waiting rows (how many, which, since when) and, when it changed, wakes every console
through the hub. One read-only statement on an index, whatever the number of consoles.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sqlalchemy import func, select

from bot.pubsub import Hub, org_topic
from storage.db import Database
from storage.handover import WAITING
from storage.models import Handover

log = logging.getLogger(__name__)

_FINGERPRINT = select(
    func.count(), func.coalesce(func.sum(Handover.id), 0), func.max(Handover.waiting_since),
    func.count().filter(Handover.crisis),
).where(Handover.status == WAITING)


async def watch_queue(database: Database, hub: Hub, organisations: Sequence[str],
                      interval: float = 2.0) -> None:
    seen: object = None
    while True:
        try:
            async with database.reading() as session:
                now = tuple((await session.execute(_FINGERPRINT)).one())
            if seen is not None and now != seen:
                for slug in organisations:
                    hub.publish(org_topic(slug), {"type": "changed"}, local_only=True)
            seen = now
        except Exception as error:
            log.error("queue watch failed: %s", type(error).__name__)
        await asyncio.sleep(interval)
