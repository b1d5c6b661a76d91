"""The check-in runner: finds what is due in the database, claims it, and sends it once.

APScheduler (3.x) is only an alarm clock here: one job rings at the next due time, another
on a periodic safety tick, and each ring wakes the loop, which asks the database what to do.
Nothing about a check-in lives in the scheduler or in memory, so a restart or a second
instance changes nothing; see storage/checkins.py for how a row is sent exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from dialogues.content import Texts
from dialogues.messages import Outbox
from scheduler.dispatch import Dispatcher
from scheduler.planning import Rules
from storage import checkins
from storage.db import Database
from storage.limits import Pacer
from storage.types import Clock, utcnow

log = logging.getLogger(__name__)

_NEXT_JOB, _TICK_JOB = "checkins-next-due", "checkins-tick"


class CheckinRunner:
    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        texts: Texts,
        rules: Rules,
        *,
        clock: Clock = utcnow,
        tick_seconds: float = 60.0,
        batch_size: int = 200,
        concurrency: int = 8,
        pacer: Pacer | None = None,
        stop_grace: float = 10.0,
    ) -> None:
        self.database = database
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.stop_grace = stop_grace
        self.dispatcher = Dispatcher(
            database,
            outbox,
            texts,
            rules,
            clock=clock,
            batch_size=batch_size,
            concurrency=concurrency,
            pacer=pacer,
        )
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._scheduler: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Start the loop; its first round sends what came due while the service was down."""
        self._stopping = self.dispatcher.stopping = False
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(self._ring, "interval", seconds=self.tick_seconds, id=_TICK_JOB)
        scheduler.start()
        self._scheduler = scheduler
        self._task = asyncio.create_task(self._loop(), name="checkin-runner")

    async def stop(self) -> None:
        """Let a send in flight finish, then give back what this instance claimed."""
        self._stopping = self.dispatcher.stopping = True
        self._wake.set()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        if self._task is not None:
            _, pending = await asyncio.wait({self._task}, timeout=self.stop_grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.dispatcher.release()

    def wake(self) -> None:
        """Look at the database now (tests call this after moving their clock)."""
        if self._task is not None:
            self._idle.clear()
        self._wake.set()

    async def idle(self) -> None:
        """Wait until no round is running or asked for (tests wait here before they move
        their clock, so a send in flight is settled at the time it happened)."""
        await self._idle.wait()

    def expect(self, due_at: datetime) -> None:
        """Something was planned for `due_at`: ring then, unless the alarm rings earlier.

        Called inside the planning transaction, so it reads nothing: by the time it rings,
        the row is committed (or was rolled back, and the ring finds nothing)."""
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running:
            return
        ring_at = utcnow() + max(due_at - self.clock(), timedelta())
        job = scheduler.get_job(_NEXT_JOB)
        if job is not None and job.next_run_time is not None and job.next_run_time <= ring_at:
            return
        scheduler.add_job(
            self._ring,
            "date",
            run_date=ring_at,
            id=_NEXT_JOB,
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def _ring(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            self._idle.clear()
            try:
                await self.run_due()
                async with self.database.session() as session:
                    due = await checkins.next_due(session)
                if due is not None:
                    self.expect(due)
            except Exception as error:
                # The database may be away for a moment: log, and try again at the next ring.
                log.error("check-in round failed: %s", type(error).__name__)
            if not self._wake.is_set():
                self._idle.set()
            await self._wake.wait()

    # -- one round -----------------------------------------------------------------------
    async def run_due(self) -> None:
        """Settle what is past saving, keep quiet hours, then claim and send what is due."""
        await self.dispatcher.run()

    @property
    def sent(self) -> int:
        """Messages this instance delivered."""
        return self.dispatcher.sent
