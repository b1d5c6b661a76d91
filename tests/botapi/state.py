"""The double's world: chats, messages, pending updates, limits and injected failures.

Separate from the HTTP layer so the method handlers (``methods.py``) and the test-facing API
(``double.py``) share one plain, synchronous model; only waiting needs the event loop.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.botapi.models import (
    BLOCKED,
    CHAT_NOT_FOUND,
    DEFAULT_DESCRIPTIONS,
    JSON,
    NOT_MEMBER,
    ApiError,
    Call,
    FakeUser,
    SentMessage,
    too_many_requests,
)

# Telegram's default when a bot never sets allowed_updates: everything except these.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class Signal:
    """Broadcast "something changed" to waiters, who then re-check their own predicate.

    An ``asyncio.Event`` that is replaced after every fire, so each waiter sees each change
    exactly once and nobody sleep-polls.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake everybody currently waiting."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109 - deadline semantics shared by all waiters
    ) -> bool:
        """Wait until ``predicate()`` holds or ``timeout`` seconds pass; return its last value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True


@dataclass
class Failure:
    """An error the test asked the double to answer instead of the next matching call."""

    method: str
    error: ApiError
    chat_id: int | None
    count: int


@dataclass
class Stall:
    """A call the double answers only after `seconds` (the bot times out first): with
    `delivered`, Telegram got the message before the answer was lost; without, it never did."""

    method: str
    seconds: float
    delivered: bool
    chat_id: int | None
    count: int


def update_kind(update: JSON) -> str:
    """The update's payload field name, e.g. ``"message"`` or ``"callback_query"``."""
    return next(key for key in update if key != "update_id")


class BotState:
    """Everything the fake Telegram server knows; mutated only from the event loop.

    ``lean`` keeps no history (calls, sent messages, their content for edits): counts, flood
    windows and ``sent_listeners`` only, so a long benchmark does not grow the double.
    """

    def __init__(self, token: str, *, enforce_limits: bool, lean: bool = False) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.enforce_limits = enforce_limits
        self.lean = lean
        self.signal = Signal()
        self.users: dict[int, FakeUser] = {}
        self.groups: dict[int, JSON] = {}
        self.left_groups: set[int] = set()
        self.blocked: set[int] = set()
        self.messages: dict[tuple[int, int], JSON] = {}  # current content of live messages
        self.bot_messages: set[tuple[int, int]] = set()
        self._message_ids: Counter[int] = Counter()
        self.sent: list[SentMessage] = []
        # Called with each message the bot sends or edits (benchmarks time replies with it).
        self.sent_listeners: list[Callable[[SentMessage], None]] = []
        self.deleted: list[tuple[int, int]] = []
        self.calls: list[Call] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.failures: list[Failure] = []
        self.stalls: list[Stall] = []
        # Deliveries in the last second, and the most there ever were in any one second.
        self._last_second: deque[float] = deque()
        self.most_per_second = 0
        self.callback_queries: dict[str, bool] = {}  # id -> answered
        self.queue: list[JSON] = []  # pending (unconfirmed) updates, ascending update_id
        self.redeliveries: list[JSON] = []
        self.all_updates: dict[int, JSON] = {}
        self.next_update_id = 10_000
        self.allowed_updates: list[str] | None = None
        self.webhook: JSON | None = None
        self.webhook_error: JSON = {}
        self.poll_generation = 0
        self.closing = False
        self.rejected_429 = 0
        self.delivered_count_by_chat: Counter[int] = Counter()
        self._chat_windows: dict[int, deque[float]] = {}  # least recently used first
        self._global_window: deque[float] = deque()

    # ----------------------------------------------------------------- identities and chats
    def bot_json(self) -> JSON:
        """The bot's ``User`` object, as used in ``from`` of its messages."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "snakkes",
            "username": "snakkes_test_bot",
        }

    def chat_json(self, chat_id: Any) -> JSON:
        """The ``Chat`` for ``chat_id`` or 400 chat not found, as for an unknown chat."""
        try:
            key = int(chat_id)
        except (TypeError, ValueError):
            raise ApiError(400, CHAT_NOT_FOUND) from None
        if key in self.users:
            return self.users[key].private_chat_json()
        if key in self.groups:
            return self.groups[key]
        raise ApiError(400, CHAT_NOT_FOUND)

    def ensure_reachable(self, chat_id: int) -> None:
        """403 when the user blocked the bot or the bot left the group."""
        if chat_id in self.blocked:
            raise ApiError(403, BLOCKED)
        if chat_id in self.left_groups:
            raise ApiError(403, NOT_MEMBER)

    def next_message_id(self, chat_id: int) -> int:
        """Message ids are per chat and shared by the user's and the bot's messages."""
        self._message_ids[chat_id] += 1
        return self._message_ids[chat_id]

    # --------------------------------------------------------------------------- updates
    def push_update(self, kind: str, payload: JSON, update_id: int | None = None) -> int:
        """Queue an update for getUpdates / the webhook and wake long polls."""
        if update_id is None:
            update_id = self.next_update_id
        self.next_update_id = max(self.next_update_id, update_id + 1)
        update = {"update_id": update_id, kind: payload}
        self.all_updates[update_id] = update
        if self.queue and int(self.queue[-1]["update_id"]) > update_id:
            bisect.insort(self.queue, update, key=_update_id)
        else:
            self.queue.append(update)
        self.signal.fire()
        return update_id

    def inject(self, raw: JSON) -> int:
        """Queue a raw update dict, assigning an update_id unless it has one."""
        body = {key: value for key, value in raw.items() if key != "update_id"}
        if len(body) != 1:
            raise ValueError(f"an update has exactly one payload field, got {sorted(body)}")
        ((kind, payload),) = body.items()
        return self.push_update(kind, payload, raw.get("update_id"))

    def redeliver(self, update_id: int) -> None:
        """Deliver an already delivered update once more, with its original update_id."""
        if update_id not in self.all_updates:
            raise KeyError(f"no update with id {update_id}; known: {sorted(self.all_updates)}")
        self.redeliveries.append(self.all_updates[update_id])
        self.signal.fire()

    def confirm(self, offset: int) -> None:
        """Apply a getUpdates ``offset``: forget what the bot has acknowledged."""
        if offset < 0:
            self.queue = self.queue[offset:]
        else:
            del self.queue[: bisect.bisect_left(self.queue, offset, key=_update_id)]

    def drop_pending(self) -> None:
        """``drop_pending_updates=True``: forget everything not yet delivered."""
        self.queue.clear()
        self.redeliveries.clear()

    def _allowed(self, update: JSON) -> bool:
        kind = update_kind(update)
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in _OPT_IN_UPDATES

    def deliverable(self, limit: int = 100) -> list[JSON]:
        """What the next getUpdates / webhook flush would hand out, redeliveries first."""
        pending = (u for u in self.queue if self._allowed(u))
        return list(itertools.islice(itertools.chain(self.redeliveries, pending), limit))

    def take_deliverable(self, limit: int = 100) -> list[JSON]:
        """Like :meth:`deliverable`, consuming the redeliveries handed out."""
        batch = self.deliverable(limit)
        self.redeliveries = self.redeliveries[len(batch) :]
        return batch

    # --------------------------------------------------------------- limits and failures
    def take_failure(self, method: str, params: JSON) -> ApiError | None:
        """Pop the first injected failure that matches this call, if any."""
        for failure in self.failures:
            if failure.method.lower() != method.lower():
                continue
            if failure.chat_id is not None and str(params.get("chat_id")) != str(failure.chat_id):
                continue
            failure.count -= 1
            if failure.count <= 0:
                self.failures.remove(failure)
            return failure.error
        return None

    def take_stall(self, method: str, params: JSON) -> Stall | None:
        """Pop the first injected stall that matches this call, if any."""
        for stall in self.stalls:
            if stall.method.lower() != method.lower():
                continue
            if stall.chat_id is not None and str(params.get("chat_id")) != str(stall.chat_id):
                continue
            stall.count -= 1
            if stall.count <= 0:
                self.stalls.remove(stall)
            return stall
        return None

    def add_failure(
        self,
        method: str,
        error_code: int,
        *,
        retry_after: int | None,
        chat_id: int | None,
        count: int,
        description: str | None,
    ) -> None:
        """Register an injected failure (see ``BotApiDouble.fail_next``)."""
        if error_code == 429:
            seconds = retry_after if retry_after is not None else 1
            error = too_many_requests(seconds)
            if description is not None:
                error.description = description
        else:
            text = description or DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
            error = ApiError(error_code, text, retry_after)
        self.failures.append(Failure(method, error, chat_id, count))

    def check_rate_limit(self, chat_id: int) -> None:
        """Telegram's flood limits: 1 msg/s per chat (20/min in groups), 30 msg/s overall."""
        if not self.enforce_limits:
            return
        now = time.monotonic()
        limit, period = _chat_limit(chat_id)
        window = self._chat_windows.get(chat_id, deque())
        waits: list[float] = []
        for win, win_limit, win_period in (
            (window, limit, period),
            (self._global_window, 30, 1.0),
        ):
            while win and win[0] <= now - win_period:
                win.popleft()
            if len(win) >= win_limit:
                waits.append(win[0] + win_period - now)
        if waits:
            self.rejected_429 += 1
            raise too_many_requests(max(1, math.ceil(max(waits))))

    def note_delivery(self, chat_id: int) -> None:
        """Count a delivered message towards the flood windows and per-chat totals."""
        now = time.monotonic()
        window = self._chat_windows.pop(chat_id, None) or deque()
        window.append(now)
        self._chat_windows[chat_id] = window  # now the most recently used
        self._global_window.append(now)
        second = self._last_second
        while second and second[0] <= now - 1.0:
            second.popleft()
        second.append(now)
        self.most_per_second = max(self.most_per_second, len(second))
        self.delivered_count_by_chat[chat_id] += 1
        self._forget_quiet_chats(now)

    def _forget_quiet_chats(self, now: float) -> None:
        """Drop per-chat windows that no longer hold anything back, oldest first (O(1)
        amortised): the same limits, without a window kept for every chat ever seen."""
        while self._chat_windows:
            chat_id, window = next(iter(self._chat_windows.items()))
            if window and window[-1] > now - _chat_limit(chat_id)[1]:
                return
            del self._chat_windows[chat_id]


def _update_id(update: JSON) -> int:
    return int(update["update_id"])


def _chat_limit(chat_id: int) -> tuple[int, float]:
    """Messages allowed per period in one chat: 1 a second privately, 20 a minute in groups."""
    return (1, 1.0) if chat_id > 0 else (20, 60.0)
