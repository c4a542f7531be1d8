"""The MiniLM sentence encoder as a self-contained folder: ONNX graph, tokenizer, identity.

The app builds the graph once from the model's weights, the one it also uses for search
(mean pooling and L2 normalisation inside the graph, no torch: see
``knowledge/onnx_encoder.py``); ``scripts/export_nlu_encoder.py`` lays it out here,
quantised, with the model's own WordPiece tokenizer. Rasa's venv only needs ONNX Runtime
and ``tokenizers``.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseSettings

GRAPH_FILE = "encoder.onnx"
TOKENIZER_FILE = "tokenizer.json"
IDENTITY_FILE = "encoder.json"
FILES = (GRAPH_FILE, TOKENIZER_FILE, IDENTITY_FILE)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CACHED_TEXTS = 512
"""How many short texts the encoder remembers the vectors of (least recently used first
forgotten): under 1 MB."""
CACHED_CHARS = 40
"""The longest text remembered: short messages ("hi", "yes", "cheaper", "show my cart", a
button's payload) come again and again; a long one seldom twice."""


class EncoderSettings(BaseSettings):
    """Where the set-up left the exported encoder (only read while training)."""

    nlu_encoder_dir: Path | None = None

    class Config:
        env_prefix = "ATELIER_"


def identity(directory: Path) -> dict[str, Any]:
    """The encoder's ``encoder.json``: model name, graph key, dimension, token limit."""
    return json.loads((directory / IDENTITY_FILE).read_text(encoding="utf-8"))


def copy_encoder(source: Path, target: Path) -> None:
    """Copy the encoder's files into ``target`` (a model storage resource)."""
    missing = [name for name in FILES if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"the NLU encoder in {source} lacks {missing}: run scripts/setup.sh model, which "
            "exports it with the app's venv")
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(source / name, target / name)


class SentenceEncoder:
    """Texts → L2-normalised MiniLM vectors through one ONNX Runtime session.

    A text encoded alone (the served bot's one message per parse) is run as a batch of its
    own, whose vector is always the same; the vectors of the last :data:`CACHED_TEXTS` such
    texts of at most :data:`CACHED_CHARS` characters are kept, and the same text is not run
    through the graph again. A batch of several texts is always run (the int8 graph scales
    its activations per batch, so a text's vector in a batch may differ in its last bits
    from its vector alone).

    Args:
        directory: a folder laid out by ``scripts/export_nlu_encoder.py``.
        threads: intra-op threads. One by default: a message is a dozen tokens, and on a
            busy 2-core machine a second thread mostly waits for the first.
        cached_texts: how many short texts' vectors to keep (0: none).
    """

    def __init__(self, directory: Path, *, threads: int = 1,
                 cached_texts: int = CACHED_TEXTS) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.identity = identity(directory)
        self.dimension = int(self.identity["dimension"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(directory / GRAPH_FILE), options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        # The file pads and truncates to 128 for its original training; sentence-transformers
        # pads each batch to its longest text and truncates at the model's limit.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(int(self.identity["max_tokens"]))
        self._alone = (functools.lru_cache(maxsize=cached_texts)(self._encode_alone)
                       if cached_texts > 0 else self._encode_alone)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """One row per text, in order; texts of similar length are batched together."""
        if len(texts) == 1:
            text = texts[0]
            vector = (self._alone(text) if len(text) <= CACHED_CHARS
                      else self._encode_alone(text))
            return vector.reshape(1, -1).copy()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts)) if texts else []
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            rows: list[int] = order[start:start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(rows):
                tokens = encodings[i].ids
                ids[row, :len(tokens)] = tokens
                mask[row, :len(tokens)] = 1
            out[rows] = self._run(ids, mask)
        return out

    def _encode_alone(self, text: str) -> np.ndarray:
        """One text's vector, read-only (it may be kept): a batch of one, unpadded."""
        ids = np.array([self._tokenizer.encode(text).ids], dtype=np.int64)
        vector = self._run(ids, np.ones_like(ids))[0]
        vector.setflags(write=False)
        return vector

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self._session.run(None, feed)[0]
