"""The Bot API double in its own process for the check-in burst: N known people, Telegram's
limits enforced (30 messages/s overall, 1/s per chat, 429 with retry_after beyond that).
With --crisis-every S, a young person writes a crisis message every S seconds during the
burst (polling mode: as updates), and the first message of each answer is timed.

Prints `URL <root>`, then `RESULT <json>` once every person got a message and nothing more
arrived for a few seconds (or at the time limit)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import time
from collections import Counter

from tests.botapi import BotApiDouble, SentMessage

CRISIS_TEXT = "jeg orker ikke at leve mere"
_CRISIS_WRITERS = 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--limit-seconds", type=float, default=900)
    parser.add_argument("--crisis-every", type=float, default=0.0)
    args = parser.parse_args()
    async with BotApiDouble(enforce_limits=True, lean=True) as double:
        people = [double.user(f"P{n}", language_code="da") for n in range(args.people)]
        # Young people who write a crisis message during the burst, one every
        # --crisis-every seconds: how long until the first message of the answer arrives.
        writers = [double.user(f"C{n}", language_code="da") for n in range(_CRISIS_WRITERS)]
        crisis_ids = {w.id for w in writers}
        asked: dict[int, float] = {}
        crisis_ms: list[float] = []
        gc.freeze()  # the people stay to the end: no full collection needs to walk them
        received: Counter[int] = Counter()
        times: list[float] = []  # check-ins
        every_send: list[float] = []  # all the bot sent: the cap is the bot's, not the burst's
        everyone = asyncio.Event()
        started = asyncio.Event()

        def on_sent(message: SentMessage) -> None:
            now = time.perf_counter()
            every_send.append(now)
            if message.chat_id in crisis_ids:
                if (at := asked.pop(message.chat_id, None)) is not None:
                    crisis_ms.append((now - at) * 1000)
                return
            received[message.chat_id] += 1
            times.append(now)
            started.set()
            if len(received) == len(people):
                everyone.set()

        async def write_crisis() -> None:
            await started.wait()
            for writer in writers:
                if everyone.is_set():
                    return
                await asyncio.sleep(args.crisis_every)
                asked[writer.id] = time.perf_counter()
                double.send_text(writer, CRISIS_TEXT)

        double.on_sent(on_sent)
        print(f"URL {double.url}", flush=True)
        print(f"FIRST_ID {people[0].id}", flush=True)
        crisis = asyncio.create_task(write_crisis()) if args.crisis_every > 0 else None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone.wait(), args.limit_seconds)
        if crisis is not None:
            crisis.cancel()
        quiet_since = len(times)
        await asyncio.sleep(5)  # anything still coming would be a duplicate
        result = _result(args.people, received, times, every_send, quiet_since)
        result["rejected_429"] = double.rejected_429
        result |= _crisis(crisis_ms, asked)
        print("RESULT " + json.dumps(result), flush=True)


def _result(
    people: int, received: Counter[int], times: list[float], every_send: list[float],
    quiet_since: int,
) -> dict[str, float]:
    reached = len(received)
    seconds = times[-1] - times[0] if len(times) > 1 else 0.0
    # The crisis answers sent during the burst share Telegram's 30 a second with it.
    during = sum(1 for at in every_send if times[0] <= at <= times[-1]) if times else 0
    return {
        "checkins": people,
        "delivered": reached,
        "seconds": round(seconds, 1),
        "messages_per_second": round(len(times) / seconds, 2) if seconds else 0.0,
        "checkin_share_of_cap": round(len(times) / seconds / 30, 3) if seconds else 0.0,
        "share_of_cap": round(during / seconds / 30, 3) if seconds else 0.0,
        "duplicates": sum(count - 1 for count in received.values() if count > 1),
        "late_duplicates": len(times) - quiet_since,
        "lost": people - reached,
    }


def _crisis(crisis_ms: list[float], asked: dict[int, float]) -> dict[str, float]:
    if not crisis_ms:
        return {}
    ordered = sorted(crisis_ms)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "crisis_answers": len(ordered),
        "crisis_unanswered": len(asked),
        "crisis_p50_ms": round(ordered[len(ordered) // 2], 1),
        "crisis_p99_ms": round(p99, 1),
        "crisis_max_ms": round(ordered[-1], 1),
    }


if __name__ == "__main__":
    asyncio.run(main())
