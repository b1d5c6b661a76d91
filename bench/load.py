"""The Bot API double in its own process, playing many people at once.

Run by bench/inbound.py: prints `URL <root>`, waits for the bot's first getUpdates, warms
up, prints `START`, offers the load, and prints `RESULT <json>`. Two modes:
- `throughput`: every person's updates are queued at once; each person ends with /help, a
  sentinel: when all sentinels are answered, everything before them was handled (bots
  answer one person's updates in order).
- `rate`: updates offered at a fixed rate, each person at most one in flight; the time from
  injection to the first reply is the latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
from collections import Counter, deque

from tests.botapi import BotApiDouble, FakeUser, SentMessage

TEXTS = (
    "hej",
    "jeg føler mig alene",
    "ingen at snakke med i weekenden",
    "menu",
    "det er svært i skolen",
    "I feel lonely tonight",
    "I moved to a new city",
    "jeg har ingen venner",
    "2",
    "ja",
    "nej tak",
    "what can you do?",
)
# SNAKKES_BENCH_VARIED=1: every text made unique (a number appended), so the safety net's
# cache of short texts cannot answer and the embedding model runs as for real people.
VARIED = os.environ.get("SNAKKES_BENCH_VARIED") == "1"
COMMANDS = ("/start", "/menu", "/privacy")  # not /help: that is the sentinel
SENTINEL_REPLIES = (
    "Jeg er en bot, der er her for at snakke om ensomhed",
    "I'm a bot that's here to talk about loneliness",
    "/help",  # the echo bot
)


class Players:
    def __init__(self, double: BotApiDouble, people: int, seed: int) -> None:
        self.double = double
        self.random = random.Random(seed)
        self.people = [
            double.user(f"P{n}", language_code=("da", "en")[n % 2]) for n in range(people)
        ]
        self.keyboards: dict[int, SentMessage] = {}
        self.pending: dict[int, deque[float]] = {p.chat_id: deque() for p in self.people}
        self.latencies: list[float] = []
        self.in_flight = 0
        self.drained = asyncio.Event()
        self.sentinels_left: set[int] = set()
        self.done = asyncio.Event()
        double.on_sent(self._on_sent)

    def _on_sent(self, message: SentMessage) -> None:
        if message.edited:
            return
        if message.buttons:
            self.keyboards[message.chat_id] = message
        pending = self.pending.get(message.chat_id)
        if pending:
            self.latencies.append(time.perf_counter() - pending.popleft())
            self.in_flight -= 1
            if self.in_flight == 0:
                self.drained.set()
        if message.chat_id in self.sentinels_left and message.text.startswith(SENTINEL_REPLIES):
            self.sentinels_left.discard(message.chat_id)
            if not self.sentinels_left:
                self.done.set()

    def send(self, person: FakeUser, *, track: bool = True) -> None:
        """One update of the realistic mix: text 55 %, a command 20 %, a button 25 %."""
        roll = self.random.random()
        keyboard = self.keyboards.get(person.chat_id)
        if track:
            self.pending[person.chat_id].append(time.perf_counter())
            self.in_flight += 1
            self.drained.clear()
        if roll < 0.25 and keyboard is not None:
            labels = [data for row in keyboard.buttons for _, data in row]
            self.double.press(person, keyboard, self.random.choice(labels), allow_unknown=True)
        elif roll < 0.45:
            self.double.send_command(person, self.random.choice(COMMANDS))
        else:
            text = self.random.choice(TEXTS)
            if VARIED:
                text = f"{text} {self.random.randrange(1_000_000)}"
            self.double.send_text(person, text)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["throughput", "rate"], required=True)
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    async with BotApiDouble() as double:
        players = Players(double, args.people, args.seed)
        print(f"URL {double.url}", flush=True)
        await double.wait_for_call("getUpdates", timeout=120)
        for person in players.people:  # warm-up: everyone says hello once, not measured
            double.send_command(person, "/start")
        await double.wait_for_messages(players.people[-1].chat_id, timeout=120)
        await asyncio.sleep(1)
        players.latencies.clear()
        for queue in players.pending.values():
            queue.clear()
        players.in_flight = 0
        print("START", flush=True)
        calls_before = len(double.calls)
        started = time.perf_counter()
        if args.mode == "throughput":
            result = await _throughput(players, args.updates)
        else:
            result = await _rate(players, args.updates, args.rate)
        result["seconds"] = time.perf_counter() - started
        result["requests"] = dict(Counter(call.method for call in double.calls[calls_before:]))
        print("RESULT " + json.dumps(result), flush=True)


async def _throughput(players: Players, updates: int) -> dict[str, float]:
    people = players.people
    for index in range(updates):
        players.send(people[index % len(people)], track=False)
    players.sentinels_left = {p.chat_id for p in people}
    for person in people:
        players.double.send_command(person, "/help")
    await asyncio.wait_for(players.done.wait(), 600)
    return {"updates": updates + len(people)}


async def _rate(players: Players, updates: int, rate: float) -> dict[str, float]:
    people = players.people
    interval = 1.0 / rate
    begin = time.perf_counter()
    for index in range(updates):
        await asyncio.sleep(max(0.0, begin + index * interval - time.perf_counter()))
        players.send(people[index % len(people)])
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(players.drained.wait(), 30)
    lost = sum(len(q) for q in players.pending.values())
    return {
        "updates": updates,
        "offered_rate": rate,
        "unanswered": lost,
        "latencies": players.latencies,
    }


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
