"""Tf-idf of character and word n-grams whose fitted state is plain data (no pickle).

Digits are read as their shape, not their value: every digit becomes ``0`` before the
n-grams are cut, so "order 448120993817" and "order 552310" look alike, a two-digit
quantity stays distinct from a twelve-digit order number, and no particular number seen
in training pulls a message towards an intent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, diags
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

DIGIT = re.compile(r"\d")
WORD = r"(?u)\b\w+\b"
ORDER_NUMBER = re.compile(r"\bAT-[A-Z0-9]{6}\b|#\d{4,}\b|\b\d{6,}\b", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def canonical(text: str) -> str:
    """Every order number and email address written the same way.

    They are codes: the letters of "AT-JWDMC9" or of a shopper's address say nothing about
    what the shopper wants, yet the encoder's word pieces and the n-grams would read them.
    The patterns are those of the entities (nlu_data/regexes.yml).
    """
    return EMAIL.sub("name@example.com", ORDER_NUMBER.sub("AT-123456", text))


def normalise(text: str) -> str:
    """Canonical codes, lower case, digits reduced to their shape."""
    return DIGIT.sub("0", canonical(text).lower())


class NgramTfidf:
    """Sublinear tf-idf over a fixed n-gram vocabulary, L2-normalised per text.

    The same sums as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` with a smooth
    idf, but the fitted state is a vocabulary and an idf vector, so it is stored as JSON and
    an array instead of a pickled object.
    """

    def __init__(self, analyzer: str, ngram_range: tuple[int, int], min_df: int = 1,
                 vocabulary: dict[str, int] | None = None,
                 idf: np.ndarray | None = None) -> None:
        self.analyzer = analyzer
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        self.min_df = int(min_df)
        self.vocabulary = vocabulary
        self.idf = idf
        self._fixed: CountVectorizer | None = None
        """Built once: scikit-learn validates a given vocabulary on an instance's first use."""
        self._analyze: Callable[[str], list[str]] | None = None

    def _counter(self, vocabulary: dict[str, int] | None = None) -> CountVectorizer:
        return CountVectorizer(analyzer=self.analyzer, ngram_range=self.ngram_range,
                               min_df=1 if vocabulary else self.min_df, lowercase=False,
                               token_pattern=WORD, vocabulary=vocabulary, dtype=np.float64)

    def fit(self, texts: Sequence[str]) -> NgramTfidf:
        counter = self._counter()
        counts = counter.fit_transform([normalise(t) for t in texts])
        self.vocabulary = {term: int(i) for term, i in counter.vocabulary_.items()}
        self._fixed = self._analyze = None
        documents = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf = np.log((1 + counts.shape[0]) / (1 + documents)) + 1.0
        return self

    def transform(self, texts: Iterable[str]) -> csr_matrix:
        if self.vocabulary is None or self.idf is None:
            raise RuntimeError("NgramTfidf.transform before fit")
        if self._fixed is None:
            self._fixed = self._counter(self.vocabulary)
        counts = self._fixed.transform([normalise(t) for t in texts])
        counts = csr_matrix(counts, dtype=np.float64)
        counts.data = np.log(counts.data) + 1.0
        return normalize(counts @ diags(self.idf), norm="l2", copy=False).tocsr()

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The non-zero columns of ``transform([text])`` and their values, without scipy.

        The same n-grams (scikit-learn's own analyser) and the same sums. One message at a
        time, the sparse matrices, their checks and conversions cost more than the sums.
        """
        if self.vocabulary is None or self.idf is None:
            raise RuntimeError("NgramTfidf.row before fit")
        if self._analyze is None:
            self._analyze = self._counter(self.vocabulary).build_analyzer()
        vocabulary = self.vocabulary
        counts: dict[int, int] = {}
        for gram in self._analyze(normalise(text)):
            column = vocabulary.get(gram)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        values = np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        values = (values + 1.0) * self.idf[columns]
        norm = np.sqrt(values @ values)
        return columns, values / norm if norm > 0 else values

    def to_dict(self) -> dict[str, Any]:
        """What :meth:`from_dict` needs, the idf aside (it goes into the array file)."""
        return {"analyzer": self.analyzer, "ngram_range": list(self.ngram_range),
                "min_df": self.min_df, "vocabulary": self.vocabulary}

    @classmethod
    def from_dict(cls, data: dict[str, Any], idf: np.ndarray) -> NgramTfidf:
        return cls(data["analyzer"], tuple(data["ngram_range"]), data["min_df"],
                   {str(k): int(v) for k, v in data["vocabulary"].items()}, idf)

