"""One look at the database per instance every couple of seconds, instead of one per
console: what changed elsewhere reaches the consoles on this instance.

Someone joining or leaving the queue is announced to available volunteers only, and only
on the instance that handled it; a young person's words wake the volunteer's console
through the hub of the instance that handled them. A console of a volunteer who is away,
or connected to another instance, must still see these. So each instance reads, with two
small read-only statements on indexes: a fingerprint of the waiting and active rows (how
many, which, since when), and the relayed messages newer than the last it saw (a table
that holds only running conversations' text). A change wakes the consoles concerned
through the hub. With PostgreSQL LISTEN/NOTIFY feeding the hub (feed.py) this is the safety
net, every five seconds; on one instance it costs two statements every two seconds. Only
the young person's lines wake a console here: the volunteer's own come back to them at once
(and waking every console that wrote in the last two seconds made a burst of full reads,
the worst of the relay's tail).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select

from bot.pubsub import Hub, org_topic, volunteer_topic
from storage.db import Database
from storage.handover import ACTIVE, WAITING
from storage.models import Handover, RelayMessage

log = logging.getLogger(__name__)

_FINGERPRINT = select(
    Handover.status, func.count(), func.coalesce(func.sum(Handover.id), 0),
    func.max(Handover.waiting_since), func.count().filter(Handover.crisis),
).where(Handover.status.in_((WAITING, ACTIVE))).group_by(Handover.status)
_LAST_LINE = select(func.coalesce(func.max(RelayMessage.id), 0))


def _new_lines_since(seen: int) -> Select[Any]:
    return (
        select(Handover.volunteer_id)
        .join(RelayMessage, RelayMessage.handover_id == Handover.id)
        .where(RelayMessage.id > seen, RelayMessage.sender == "young",
               Handover.status == ACTIVE, Handover.volunteer_id.is_not(None))
        .distinct()
    )


async def watch(database: Database, hub: Hub, organisations: Sequence[str],
                interval: float = 2.0) -> None:
    rows: object = None
    last_line: int | None = None
    while True:
        try:
            async with database.reading() as session:
                now_rows = sorted(tuple(row) for row in (await session.execute(_FINGERPRINT)))
                newest = int(await session.scalar(_LAST_LINE) or 0)
                volunteers = []
                if last_line is not None and newest > last_line:
                    volunteers = list(await session.scalars(_new_lines_since(last_line)))
            if rows is not None and now_rows != rows:
                for slug in organisations:
                    hub.publish(org_topic(slug), {"type": "changed"}, local_only=True)
            for volunteer_id in volunteers:
                if isinstance(volunteer_id, int):
                    hub.publish(volunteer_topic(volunteer_id), {"type": "changed"},
                                local_only=True)
            rows, last_line = now_rows, newest
        except Exception as error:
            log.error("console watch failed: %s", type(error).__name__)
        await asyncio.sleep(interval)
