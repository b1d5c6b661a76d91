"""The Bot API double in its own process for the check-in burst: N known people, Telegram's
limits enforced (30 messages/s overall, 1/s per chat, 429 with retry_after beyond that).

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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--limit-seconds", type=float, default=900)
    args = parser.parse_args()
    async with BotApiDouble(enforce_limits=True, lean=True) as double:
        people = [double.user(f"P{n}", language_code="da") for n in range(args.people)]
        gc.freeze()  # the people stay to the end: no full collection needs to walk them
        received: Counter[int] = Counter()
        times: list[float] = []
        everyone = asyncio.Event()

        def on_sent(message: SentMessage) -> None:
            received[message.chat_id] += 1
            times.append(time.perf_counter())
            if len(received) == len(people):
                everyone.set()

        double.on_sent(on_sent)
        print(f"URL {double.url}", flush=True)
        print(f"FIRST_ID {people[0].id}", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone.wait(), args.limit_seconds)
        quiet_since = len(times)
        await asyncio.sleep(5)  # anything still coming would be a duplicate
        seconds = times[-1] - times[0] if len(times) > 1 else 0.0
        result = {
            "checkins": args.people,
            "delivered": len(received),
            "seconds": round(seconds, 1),
            "messages_per_second": round(len(times) / seconds, 2) if seconds else 0.0,
            "share_of_cap": round(len(times) / seconds / 30, 3) if seconds else 0.0,
            "rejected_429": double.rejected_429,
            "duplicates": sum(count - 1 for count in received.values() if count > 1),
            "late_duplicates": len(times) - quiet_since,
            "lost": args.people - len(received),
        }
        print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
