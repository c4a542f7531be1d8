"""Single-query encoding through ONNX Runtime.

A shopper's query is one short text. Through torch each one pays the eager dispatcher's
cost on every one of the model's operators, which on this 2-core machine is most of the
~9 ms a query took; ONNX Runtime runs the same graph with the same weights in a fraction
of that (``make bench`` reports both). The graph is exported once from the loaded
sentence-transformers model — mean pooling and L2 normalisation included, so its output
is the very vector the torch path gives (the tests hold the two to a cosine of 0.99999) —
and kept in a cache directory keyed by a hash of the model's files and the exporter.
Batches (index builds) stay on torch, which uses every core for them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

OPSET = 17
GRAPH_FORMAT = "mean-pooled-normalised-v1"
"""Bump when the exported graph changes shape or meaning: old cached graphs are ignored."""
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def graph_key(model_dir: Path) -> str:
    """A hash of the model's files, the exporter and the graph's format."""
    import torch

    digest = hashlib.sha256(f"{GRAPH_FORMAT}|{OPSET}|{torch.__version__}".encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        if path.suffix in {".md"} or path.name.startswith("."):
            continue
        digest.update(str(path.relative_to(model_dir)).encode())
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _check_supported(model: Any) -> None:
    """Only Transformer → mean Pooling (→ Normalize) models are exported."""
    from sentence_transformers.models import Normalize, Pooling, Transformer

    modules = list(model)
    if not (2 <= len(modules) <= 3 and isinstance(modules[0], Transformer)
            and isinstance(modules[1], Pooling)
            and all(isinstance(m, Normalize) for m in modules[2:])):
        raise ValueError(f"cannot export {[type(m).__name__ for m in modules]} to ONNX; "
                         "set ATELIER_QUERY_ENCODER=torch")
    if modules[1].pooling_mode != "mean":
        raise ValueError(f"cannot export {modules[1].pooling_mode!r} pooling to ONNX; "
                         "set ATELIER_QUERY_ENCODER=torch")


def export_graph(model: Any, target: Path) -> None:
    """Write ``model`` (a SentenceTransformer) as one ONNX graph: ids → normalised vector."""
    import torch

    _check_supported(model)
    transformer = model[0].auto_model

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    sample = model.tokenizer(["a blue speckled mug", "hi"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=target.parent, prefix=".export-", suffix=".onnx")
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The tracer's notes on constant Python values: the mask is always given,
            # and the tests compare the graph's vectors with torch's.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", module=r"torch\.onnx\..*")
            # The newer exporter needs onnxscript and more; at the pinned torch the
            # TorchScript one exports this graph exactly (held to it by the tests).
            warnings.filterwarnings("ignore", "You are using the legacy TorchScript",
                                    DeprecationWarning)
            torch.onnx.export(
                Pooled().eval(), tuple(sample[name] for name in INPUTS), scratch,
                input_names=list(INPUTS), output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}}, opset_version=OPSET,
                dynamo=False)
        os.replace(scratch, target)  # readers see a whole file or none
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)


class OnnxQueryEncoder:
    """Encodes one text at a time with the model's tokenizer and an ONNX Runtime session."""

    def __init__(self, *, model: Any, model_dir: Path, cache_dir: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        path = cache_dir / f"{model_dir.name}-{graph_key(model_dir)}.onnx"
        if not path.is_file():
            log.info("exporting the query encoder to %s (once per model)", path)
            export_graph(model, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path
        self._session = ort.InferenceSession(str(path), options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = model.tokenizer
        self._max_tokens = int(model.max_seq_length)

    def __call__(self, text: str) -> np.ndarray:
        tokens = self._tokenizer([text], truncation=True, max_length=self._max_tokens,
                                 return_tensors="np")
        feed = {name: np.asarray(tokens[name], dtype=np.int64) for name in INPUTS}
        vector = self._session.run(None, feed)[0][0]
        return np.ascontiguousarray(vector, dtype=np.float32)
