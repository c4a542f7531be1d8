"""A small BM25 index over product texts, for exact words the embedding may blur."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

TOKEN_RE = re.compile(r"[a-z0-9]+")


def stem(token: str) -> str:
    """A light plural folding ("mugs" → "mug", "boxes" → "box") shared by index and query."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 4 and token.endswith(("ches", "shes", "xes", "sses")):
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    return [stem(t) for t in TOKEN_RE.findall(text.lower())]


class BM25:
    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs: dict[int, Counter[str]] = {}
        self.lengths: dict[int, int] = {}
        self.df: Counter[str] = Counter()

    def add(self, doc_id: int, text: str) -> None:
        self.remove(doc_id)
        terms = Counter(tokenize(text))
        self.docs[doc_id] = terms
        self.lengths[doc_id] = sum(terms.values())
        self.df.update(terms.keys())

    def remove(self, doc_id: int) -> None:
        terms = self.docs.pop(doc_id, None)
        if terms is not None:
            self.lengths.pop(doc_id, None)
            self.df.subtract(terms.keys())

    def score(self, query: str, candidates: Iterable[int] | None = None
              ) -> tuple[dict[int, float], dict[int, list[str]]]:
        """Return BM25 scores and the matched query terms of every document that matches."""
        terms = list(dict.fromkeys(tokenize(query)))
        n = len(self.docs) or 1
        avg = (sum(self.lengths.values()) / n) or 1.0
        pool = self.docs.keys() if candidates is None else candidates
        scores: dict[int, float] = {}
        matched: dict[int, list[str]] = {}
        for doc_id in pool:
            doc = self.docs.get(doc_id)
            if not doc:
                continue
            total = 0.0
            hits = []
            for term in terms:
                tf = doc.get(term, 0)
                if not tf:
                    continue
                df = self.df.get(term, 0)
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[doc_id] / avg)
                total += idf * tf * (self.k1 + 1) / norm
                hits.append(term)
            if hits:
                scores[doc_id] = total
                matched[doc_id] = hits
        return scores, matched
