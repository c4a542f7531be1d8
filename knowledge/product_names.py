"""Which product a shopper names: "the Blue Willow mug", "blue wilow ceramic mug".

A run of the shopper's words that all occur in one product's name names it when the run
covers at least ``NAME_COVERAGE`` of the name — or of its part before a dash or a
bracket, where shops put the colour or the size — each word weighted by how rare it is
among the names (idf), and holds a *distinctive* word: one that is neither an ordinary
catalog value (a colour, a type) nor common among the names. So "blue ceramic mug"
describes a kind of product and names none, while "blue willow mug" names the Blue
Willow Ceramic Mug. Two products fitting equally well name neither.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING

from knowledge.lexical import STOPWORDS

if TYPE_CHECKING:
    from knowledge.product_index import ProductDoc

NAME_COVERAGE = 0.6
NAME_WORD_COMMON_SHARE = 0.01
NAME_WORD_MIN_COMMON = 20
"""A word in more names than this share of them (and than the minimum) does not tell
one product from another ("print", "handmade"), so it names none by itself."""
NAME_HEAD_RE = re.compile(r"\s+[—–-]\s+|\s*[(:|]")
Span = tuple[int, int, int]
"""(product id, first word, end word) of a name in a request."""


class ProductNames:
    def __init__(self, docs: Sequence[ProductDoc], *, read: Callable[[str], Sequence[str]],
                 generic: Collection[str]) -> None:
        """``read`` turns a name into the normalised words requests are read as;
        ``generic`` are the catalog's values' words (they describe, they do not name)."""
        self._names: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        self.named_by: dict[str, set[int]] = defaultdict(set)
        for doc in docs:
            full = frozenset(w for w in read(doc.name) if w not in STOPWORDS)
            head = frozenset(w for w in read(NAME_HEAD_RE.split(doc.name)[0])
                             if w not in STOPWORDS) or full
            self._names[doc.id] = (full, head)
            for word in full:
                self.named_by[word].add(doc.id)
        total = len(docs) or 1
        self._idf = {w: math.log(1 + total / len(ids)) for w, ids in self.named_by.items()}
        common = max(NAME_WORD_MIN_COMMON, int(NAME_WORD_COMMON_SHARE * total))
        self.distinctive = {w for w, ids in self.named_by.items()
                            if w not in generic and len(ids) <= common}

    def find(self, words: Sequence[str], usable: Sequence[bool]) -> Span | None:
        """The product the ``usable`` ones of the normalised ``words`` name, if any."""
        candidates = {pid for w, ok in zip(words, usable, strict=True)
                      if ok and w in self.distinctive for pid in self.named_by[w]}
        best: list[tuple[float, int, int, int, int]] = []
        for pid in candidates:
            full, head = self._names[pid]
            for start, end in _runs(words, usable, full):
                matched = set(words[start:end]) - STOPWORDS
                if not matched & self.distinctive:
                    continue
                for target in (full, head):
                    if len(matched & target) < min(2, len(target)):
                        continue
                    weight = sum(self._idf.get(w, 0.0) for w in target) or 1.0
                    coverage = sum(self._idf.get(w, 0.0) for w in matched & target) / weight
                    if coverage >= NAME_COVERAGE - 1e-9:
                        best.append((round(coverage, 6), len(matched), pid, start, end))
        if not best:
            return None
        best.sort(reverse=True)
        top = best[0]
        if any(b[:2] == top[:2] and b[2] != top[2] for b in best[1:]):
            return None  # two products fit as well: the shopper named neither
        return top[2], top[3], top[4]


def _runs(words: Sequence[str], usable: Sequence[bool], name: Collection[str]
          ) -> Iterator[tuple[int, int]]:
    """Maximal runs of usable words that all occur in ``name`` (stopwords inside a run
    allowed, not at its ends), as (start, end) positions."""
    start = None
    for i, (word, ok) in enumerate([*zip(words, usable, strict=True), ("", False)]):
        inside = ok and (word in name or (word in STOPWORDS and start is not None))
        if inside and start is None:
            start = i
        if not inside and start is not None:
            end = i
            while end > start and words[end - 1] not in name:
                end -= 1
            yield start, end
            start = None
