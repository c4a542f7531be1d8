"""Vectors of the FAQ's phrasings and the search over them.

Every question and ``Also asked`` phrasing, and each entry's question with its answer, is
embedded once (normalised MiniLM vectors) and kept in a cache keyed by its text, so a
reload embeds only what it has not seen: the entries of the files that changed.
An index is immutable: a reload builds a new one from the cache (a flat inner-product
FAISS index over a few thousand vectors takes milliseconds) and swaps it in.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import faiss
import numpy as np

from knowledge.faq_parser import FaqEntry
from knowledge.lexical import tokenize

PHRASING_WEIGHT = 0.7
CONTEXT_WEIGHT = 0.3
LEXICAL_WEIGHT = 0.15


class TextEncoder(Protocol):
    """What the FAQ needs of an embedder (``knowledge.embedding.Embedder``)."""

    dimension: int

    def encode(self, texts: Sequence[str], *, batch_size: int = ...,
               progress: bool = ...) -> np.ndarray: ...

    def encode_one(self, text: str) -> np.ndarray: ...


class PhrasingVectors:
    """Vectors of phrasings by exact text; not thread-safe (used under the service lock)."""

    def __init__(self) -> None:
        self._vectors: dict[str, np.ndarray] = {}
        self.encoded_total = 0
        """How many texts were sent to the embedder since creation (for tests and logs)."""

    def update(self, texts: Iterable[str], encoder: TextEncoder) -> int:
        """Embed the texts not seen yet, forget those no longer needed; returns how many
        were embedded."""
        wanted = list(dict.fromkeys(texts))
        missing = [t for t in wanted if t not in self._vectors]
        if missing:
            for text, vector in zip(missing, encoder.encode(missing), strict=True):
                self._vectors[text] = vector
            self.encoded_total += len(missing)
        keep = set(wanted)
        for text in [t for t in self._vectors if t not in keep]:
            del self._vectors[text]
        return len(missing)

    def __getitem__(self, text: str) -> np.ndarray:
        return self._vectors[text]


@dataclass(frozen=True)
class Candidate:
    entry: FaqEntry
    score: float
    """The blended score the confidence threshold applies to."""
    phrasing: float
    """Cosine similarity to the entry's closest phrasing (question or Also asked)."""
    context: float
    """Cosine similarity to the entry's question and answer together."""
    lexical: float
    """Share of the question's words (idf-weighted) found in the entry."""


def context_text(entry: FaqEntry) -> str:
    """What the entry's context vector is made of (the model reads its first 256 tokens)."""
    return f"{entry.question}\n{entry.answer}"


class _Coverage:
    """Which share of a question's words, weighted by rarity, an entry contains."""

    def __init__(self, entries: Sequence[FaqEntry]) -> None:
        self._postings: dict[str, list[int]] = defaultdict(list)
        for number, entry in enumerate(entries):
            for term in set(tokenize(" ".join(entry.phrasings) + " " + entry.answer)):
                self._postings[term].append(number)
        self._size = len(entries)

    def _idf(self, term: str) -> float:
        df = len(self._postings.get(term, ()))
        return math.log(1 + (self._size - df + 0.5) / (df + 0.5))

    def scores(self, question: str) -> np.ndarray:
        out = np.zeros(self._size, dtype=np.float32)
        terms = set(tokenize(question))
        total = sum(self._idf(t) for t in terms)
        if not total:
            return out
        for term in terms:
            docs = self._postings.get(term)
            if docs:
                out[docs] += self._idf(term) / total
        return out


class FaqIndex:
    """Score of an entry for a question::

        PHRASING_WEIGHT * max over its phrasings of cos(question, phrasing)
        + CONTEXT_WEIGHT * cos(question, its question and answer)
        + LEXICAL_WEIGHT * idf-weighted share of the question's words found in it

    The phrasings carry the meaning the merchant wrote; the answer catches questions
    about details only the answer mentions ("do you take amex?"); the words reward exact
    terms a paraphrase may blur. The score runs from about -0.5 to 1.15. With the
    threshold of each tuned on the tuning half of ``knowledge/faq_eval`` the same way
    (``knowledge.eval_faq``), the phrasings alone answer 46.7% of the tuning paraphrases
    right and 33.7% of the held-out ones; this blend 57.6% and 51.7%, with as few wrong
    answers and out-of-scope answers.
    """

    def __init__(self, entries: Sequence[FaqEntry], vectors: PhrasingVectors,
                 dimension: int) -> None:
        self.entries = tuple(entries)
        self._phrasings: list[str] = []
        owners: list[int] = []
        for number, entry in enumerate(self.entries):
            for phrasing in entry.phrasings:
                self._phrasings.append(phrasing)
                owners.append(number)
        self._owners = np.asarray(owners, dtype=np.int64)
        self._index = faiss.IndexFlatIP(dimension)
        self._contexts = faiss.IndexFlatIP(dimension)
        if self.entries:
            self._index.add(np.stack([vectors[p] for p in self._phrasings]))
            self._contexts.add(np.stack([vectors[context_text(e)] for e in self.entries]))
        self._coverage = _Coverage(self.entries)

    @staticmethod
    def texts_to_embed(entries: Iterable[FaqEntry]) -> Iterator[str]:
        for entry in entries:
            yield from entry.phrasings
            yield context_text(entry)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def phrasing_count(self) -> int:
        return len(self._phrasings)

    def rank(self, query: np.ndarray, text: str, *, limit: int = 3) -> list[Candidate]:
        """The best entries for a question and its normalised vector, best first."""
        if not self.entries:
            return []
        query = query.reshape(1, -1).astype(np.float32)
        scores, rows = self._index.search(query, self._index.ntotal)
        phrasing = np.full(len(self.entries), -1.0, dtype=np.float32)
        np.maximum.at(phrasing, self._owners[rows[0]], scores[0])
        context = np.empty(len(self.entries), dtype=np.float32)
        scores, rows = self._contexts.search(query, self._contexts.ntotal)
        context[rows[0]] = scores[0]
        lexical = self._coverage.scores(text)
        total = (PHRASING_WEIGHT * phrasing + CONTEXT_WEIGHT * context
                 + LEXICAL_WEIGHT * lexical)
        best = np.argsort(-total, kind="stable")[:limit]
        return [Candidate(self.entries[i], float(total[i]), float(phrasing[i]),
                          float(context[i]), float(lexical[i])) for i in best]
