"""A small BM25 index over product texts, for exact words the embedding may blur.

Shoppers type fast: a query word that is not in the catalog's vocabulary is matched to
the closest catalog word within one edit (two for words of eight letters or more; a
swap of two neighbouring letters counts as one edit). Candidates come from a
symmetric-delete table (each vocabulary word with at most one letter removed), so a
lookup costs a few dictionary probes, not a scan of the vocabulary. A corrected word
scores ``FUZZY_WEIGHT`` of an exact match. A word of the language that the catalog does not
use is not a typo and is left to the embedding: given the language's words
(``known_words``), "home" is not read as "come", "golf" as "gold" nor "decor" as "deco".
American spellings are folded to the British ones the shops write ("stationary", a common
slip, to "stationery"), and common function words are ignored.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterator

import numpy as np

TOKEN_RE = re.compile(r"[a-z0-9]+")
FUZZY_MIN_LENGTH = 4
FUZZY_WEIGHT = 0.8
SPELLING = {
    "color": "colour", "colors": "colours", "colored": "coloured", "gray": "grey",
    "jewelry": "jewellery", "mom": "mum", "moms": "mums", "favorite": "favourite",
    "personalized": "personalised", "personalize": "personalise", "organizer": "organiser",
    "center": "centre", "theater": "theatre", "aluminum": "aluminium", "pajamas": "pyjamas",
    "mold": "mould", "molded": "moulded", "catalog": "catalogue", "stationary": "stationery",
}
STOPWORDS = frozenset({
    "a", "an", "and", "any", "are", "as", "at", "be", "by", "can", "do", "for", "from", "have",
    "i", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "please", "show", "so",
    "some", "that", "the", "their", "them", "these", "this", "those", "to", "too", "want", "was",
    "we", "who", "will", "with", "would", "you", "your", "looking", "need", "something",
})

QUERY_NOISE = frozenset({
    "but", "not", "maybe", "very", "just", "really", "also", "his", "her", "he", "she", "they",
    "him", "dunno", "anything", "thing", "things", "perhaps", "probably", "bit", "kind",
    "sort", "quite", "lot", "lots", "around", "about", "got", "get", "ok", "okay",
})
"""Words of a shopper's request that never name a piece ("something classy but not too
expensive, maybe for his desk"): left out of a product query, where a weak match on
them in one description would put it first. The FAQ's words keep them."""


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
    return [stem(SPELLING.get(t, t)) for t in TOKEN_RE.findall(text.lower())
            if t not in STOPWORDS]


def _deletes(term: str) -> Iterator[str]:
    yield term
    for i in range(len(term)):
        yield term[:i] + term[i + 1:]


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours is one edit), capped at limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class BM25:
    def __init__(self, k1: float = 1.2, b: float = 0.75, *,
                 known_words: Collection[str] = frozenset()) -> None:
        self.k1, self.b = k1, b
        self.known_words = known_words
        """Words of the language, never corrected to a catalog word they are near."""
        self.postings: dict[str, dict[int, int]] = {}
        """term → {document: term frequency}"""
        self.lengths: dict[int, int] = {}
        self._terms: dict[int, tuple[str, ...]] = {}
        self._total_length = 0
        self._near: dict[str, set[str]] = {}
        """A term with one letter deleted (or none) → the vocabulary terms that give it."""
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        """term → (documents, term frequencies, document lengths), built on first use."""

    def __len__(self) -> int:
        return len(self.lengths)

    def add(self, doc_id: int, text: str) -> None:
        self.remove(doc_id)
        terms = Counter(tokenize(text))
        for term, tf in terms.items():
            self._arrays.pop(term, None)
            posting = self.postings.get(term)
            if posting is None:
                posting = self.postings[term] = {}
                if len(term) >= FUZZY_MIN_LENGTH:
                    for variant in _deletes(term):
                        self._near.setdefault(variant, set()).add(term)
            posting[doc_id] = tf
        self._terms[doc_id] = tuple(terms)
        self.lengths[doc_id] = length = sum(terms.values())
        self._total_length += length

    def remove(self, doc_id: int) -> None:
        terms = self._terms.pop(doc_id, None)
        if terms is None:
            return
        self._total_length -= self.lengths.pop(doc_id)
        for term in terms:
            self._arrays.pop(term, None)
            posting = self.postings[term]
            del posting[doc_id]
            if not posting:
                del self.postings[term]
                if len(term) >= FUZZY_MIN_LENGTH:
                    for variant in _deletes(term):
                        near = self._near[variant]
                        near.discard(term)
                        if not near:
                            del self._near[variant]

    def correct(self, token: str) -> str | None:
        """The vocabulary term a query token not in the vocabulary most likely meant."""
        if len(token) < FUZZY_MIN_LENGTH or token.isdigit() or token in self.known_words:
            return None
        limit = 2 if len(token) >= 8 else 1
        candidates = {t for v in _deletes(token) for t in self._near.get(v, ())}
        scored = [(edit_distance(token, t, limit), -len(self.postings[t]), t)
                  for t in candidates]
        best = min((s for s in scored if s[0] <= limit), default=None)
        return best[2] if best else None

    def query_terms(self, query: str) -> list[tuple[str, float]]:
        """The query's distinct terms as (vocabulary term, weight); unknown words corrected."""
        out: dict[str, float] = {}
        for token in tokenize(query):
            if token in QUERY_NOISE:
                continue
            if token in self.postings:
                out[token] = max(out.get(token, 0.0), 1.0)
                continue
            corrected = self.correct(token)
            if corrected is not None:
                out[corrected] = max(out.get(corrected, 0.0), FUZZY_WEIGHT)
        return list(out.items())

    def _posting_arrays(self, term: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        arrays = self._arrays.get(term)
        if arrays is None:
            posting = self.postings[term]
            docs = np.fromiter(posting.keys(), dtype=np.int64, count=len(posting))
            tfs = np.fromiter(posting.values(), dtype=np.float64, count=len(posting))
            lengths = np.fromiter((self.lengths[d] for d in posting), dtype=np.float64,
                                  count=len(posting))
            arrays = self._arrays[term] = (docs, tfs, lengths)
        return arrays

    def score_arrays(self, query: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """BM25 of every matching document as (documents, scores), and the query's terms.

        Vectorised per term: a common word of a 50,000-product catalog has thousands of
        postings, which a Python loop walks in milliseconds.
        """
        n = len(self.lengths) or 1
        avg = (self._total_length / n) or 1.0
        parts_docs: list[np.ndarray] = []
        parts_scores: list[np.ndarray] = []
        terms = self.query_terms(query)
        for term, weight in terms:
            docs, tfs, lengths = self._posting_arrays(term)
            idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            norm = tfs + self.k1 * (1 - self.b + self.b * lengths / avg)
            parts_docs.append(docs)
            parts_scores.append(weight * idf * tfs * (self.k1 + 1) / norm)
        names = [term for term, _ in terms]
        if not parts_docs:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64), names
        if len(parts_docs) == 1:
            return parts_docs[0], parts_scores[0], names
        docs, inverse = np.unique(np.concatenate(parts_docs), return_inverse=True)
        return docs, np.bincount(inverse, weights=np.concatenate(parts_scores)), names

    def matched(self, doc_id: int, terms: list[str]) -> list[str]:
        """Which of ``terms`` (as returned by ``score_arrays``) occur in the document."""
        return [t for t in terms if doc_id in self.postings.get(t, ())]

    def score(self, query: str, candidates: Collection[int] | None = None
              ) -> tuple[dict[int, float], dict[int, list[str]]]:
        """Return BM25 scores and the matched (vocabulary) terms of every matching document."""
        docs, scores, terms = self.score_arrays(query)
        out: dict[int, float] = {}
        matched: dict[int, list[str]] = {}
        for doc_id, score in zip(docs.tolist(), scores.tolist(), strict=True):
            if candidates is not None and doc_id not in candidates:
                continue
            out[doc_id] = score
            matched[doc_id] = self.matched(doc_id, terms)
        return out, matched
