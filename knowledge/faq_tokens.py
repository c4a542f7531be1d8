"""Word-level evidence for the FAQ: MiniLM's token vectors, matched word by word.

A sentence vector is the mean of the encoder's token vectors, so one word that has no
counterpart in an entry ("how do i clean my *oven*" against "How do I clean my bike?")
moves it little. Here the token vectors themselves are kept (the sentence encoder's graph,
:mod:`knowledge.onnx_encoder`, with the last layer's output exposed as a second output,
each token's vector normalised), and a question is matched to an entry token by token,
as late-interaction retrievers do: each of the question's tokens takes the cosine of the
closest token of the entry's question, answer and ``Also asked`` phrasings. Two figures
come out per entry:

- ``mean`` of those cosines over the question's tokens: how well the entry covers the
  question, a ranking feature (``knowledge.faq_index``);
- ``weakest``, the lowest of them over the question's content words (function words and
  punctuation aside): whether some word of the question has nothing to match in the
  entry, which the decision to answer requires not to be the case
  (``knowledge.faq_service``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge.onnx_encoder import OPSET, max_tokens, padded_batches, session

SPECIAL_TOKENS = frozenset({"[CLS]", "[SEP]", "[PAD]"})
CONTENT_TOKEN_RE = re.compile(r"^(?:[a-z0-9]|##)")
FUNCTION_WORDS = frozenset({
    "a", "an", "and", "any", "are", "as", "at", "be", "by", "can", "do", "does", "did", "for",
    "from", "have", "i", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our",
    "please", "so", "some", "that", "the", "their", "them", "these", "this", "those", "to",
    "too", "want", "was", "we", "who", "will", "with", "would", "you", "your", "u", "im",
    "what", "how", "when", "where", "which", "why", "there", "get", "got",
    "hi", "hello", "hey", "thanks", "thank", "kindly", "just", "could", "should", "might",
    "may", "also", "if",
})
"""Words a question's weakest match ignores: any FAQ has them, so they show nothing."""
BATCH = 64


@dataclass(frozen=True)
class TokenVectors:
    tokens: tuple[str, ...]
    """The tokenizer's word pieces, without [CLS] and [SEP]."""
    vectors: np.ndarray
    """One unit-length row per token."""

    def content(self) -> np.ndarray:
        """Whether each token is a content word's piece (used by the weakest match)."""
        return np.array([bool(CONTENT_TOKEN_RE.match(t)) and t not in FUNCTION_WORDS
                         for t in self.tokens], dtype=bool)


class TokenEncoder:
    """Texts → their sentence vectors and token vectors, from one run of the graph.

    A single question runs on a session of ``query_threads`` threads (see
    ``knowledge.embedding.Embedder``); batches (index builds) on a second session that uses
    every core, made for each build and dropped after it: ONNX Runtime's arena keeps the
    working memory of the largest batch it ran, and 64 texts of 256 tokens (an entry's
    question with its answer) need about 400 MB of it. A build happens only when the FAQ
    files change; making the session takes about 0.2 s.
    """

    def __init__(self, *, graph_path: Path, model_dir: Path, query_threads: int = 1) -> None:
        import onnx
        from tokenizers import Tokenizer

        model = onnx.load(str(graph_path))
        produced = {out: node for node in model.graph.node for out in node.output}
        output = _token_output(model.graph, produced)
        model.graph.output.append(onnx.helper.make_tensor_value_info(
            output, onnx.TensorProto.FLOAT, None))
        self._graph = model.SerializeToString()
        self._query_session = session(self._graph, threads=query_threads)
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_tokens(model_dir))

    def encode_query(self, text: str) -> tuple[np.ndarray, TokenVectors]:
        """A question's sentence vector and token vectors."""
        encoding = self._tokenizer.encode(text)
        ids = np.asarray([encoding.ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids)}
        sentence, tokens = self._query_session.run(None, feed)
        return (np.ascontiguousarray(sentence[0], dtype=np.float32),
                _token_vectors(encoding.tokens, tokens[0]))

    def encode(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        """Each text's sentence vector (one row each) and token vectors, in order; texts
        of similar length are batched together."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32), []
        batches = session(self._graph, threads=0)
        encodings = self._tokenizer.encode_batch(list(texts))
        sentences = np.zeros((len(texts), 0), dtype=np.float32)
        vectors: list[TokenVectors] = [None] * len(texts)  # type: ignore[list-item]
        for rows, feed in padded_batches(encodings, BATCH):
            pooled, tokens = batches.run(None, feed)
            if not sentences.shape[1]:
                sentences = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            sentences[rows] = pooled
            for row, i in enumerate(rows):
                vectors[i] = _token_vectors(encodings[i].tokens,
                                            tokens[row, :len(encodings[i].ids)])
        return sentences, vectors


def _token_output(graph, produced: dict) -> str:  # noqa: ANN001 - onnx.GraphProto
    """The tensor mean pooling reads: the input of the Mul by the mask that ReduceSum sums."""
    for node in graph.node:
        if node.op_type == "ReduceSum" and node.input[0] in produced:
            mul = produced[node.input[0]]
            if mul.op_type == "Mul":
                return mul.input[0]
    raise ValueError("the sentence encoder's graph has no mean pooling to read tokens from")


def _token_vectors(tokens: Sequence[str], vectors: np.ndarray) -> TokenVectors:
    keep = [i for i, t in enumerate(tokens) if t not in SPECIAL_TOKENS]
    kept = vectors[keep].astype(np.float32)
    kept /= np.maximum(np.linalg.norm(kept, axis=1, keepdims=True), 1e-9)
    return TokenVectors(tuple(tokens[i] for i in keep), np.ascontiguousarray(kept))


@lru_cache(maxsize=1)
def _products():  # noqa: ANN202 - onnxruntime.InferenceSession
    """A one-thread session of one MatMul: (question tokens) · (entry tokens)ᵀ.

    numpy hands even a 10 × 300 product to OpenBLAS's threads, which on a busy 2-core
    machine wait for each other (p95 above 100 ms for ten entries); ONNX Runtime on one
    thread does the ten in well under 5 ms.
    """
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["question", "entry"], ["products"])], "token_products",
        [helper.make_tensor_value_info("question", TensorProto.FLOAT, ["tokens", "hidden"]),
         helper.make_tensor_value_info("entry", TensorProto.FLOAT, ["hidden", "entry_tokens"])],
        [helper.make_tensor_value_info("products", TensorProto.FLOAT,
                                       ["tokens", "entry_tokens"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return session(model.SerializeToString(), threads=1)


class TokenMatcher:
    """Every entry's token vectors; the per-entry figures of a question."""

    def __init__(self, entry_tokens: Sequence[Sequence[TokenVectors]]) -> None:
        self._blocks = [np.ascontiguousarray(np.concatenate([t.vectors for t in texts]).T)
                        for texts in entry_tokens]
        if any(not block.shape[1] for block in self._blocks):
            raise ValueError("every entry needs at least one token")

    def scores(self, query: TokenVectors, entries: Sequence[int]
               ) -> tuple[np.ndarray, np.ndarray]:
        """(mean, weakest) for each of ``entries`` (numbers): see the module docstring."""
        mean = np.zeros(len(entries), np.float32)
        weakest = np.zeros(len(entries), np.float32)
        if not len(query.tokens):
            return mean, weakest
        content = query.content()
        if not content.any():
            content = np.ones(len(query.tokens), dtype=bool)
        products = _products()
        for row, entry in enumerate(entries):
            closest = products.run(None, {"question": query.vectors,
                                          "entry": self._blocks[entry]})[0].max(axis=1)
            mean[row] = closest.mean()
            weakest[row] = closest[content].min()
        return mean, weakest
