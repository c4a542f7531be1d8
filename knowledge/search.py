"""Hybrid product search: dense (FAISS) + lexical (BM25), fused by reciprocal rank.

Filters are applied before ranking: both retrievers only ever see products that pass
them, so a filter never empties a truncated top-k.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import faiss
import numpy as np

from knowledge.embedding import Embedder
from knowledge.lexical import stem
from knowledge.product_index import ProductDoc, ProductIndex, VariantDoc

RRF_K = 60
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 1.0


@dataclass(frozen=True)
class SearchFilters:
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    category: str | None = None
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Attribute name → accepted values (any of them)."""
    in_stock: bool = False

    def is_empty(self) -> bool:
        return (self.min_price is None and self.max_price is None and not self.category
                and not self.attributes and not self.in_stock)


@dataclass(frozen=True)
class SearchHit:
    doc: ProductDoc
    variant: VariantDoc
    """The best-priced variant that passes the filters."""
    score: float
    dense_score: float | None
    lexical_score: float | None
    matched_terms: list[str]
    matched_filters: list[str]


def _value_matches(actual: str | None, accepted: tuple[str, ...]) -> bool:
    if actual is None:
        return False
    actual_stem = " ".join(stem(w) for w in actual.split())
    return any(actual == a or actual_stem == " ".join(stem(w) for w in a.split())
               for a in accepted)


def matching_variant(doc: ProductDoc, filters: SearchFilters) -> VariantDoc | None:
    if filters.category and doc.category != filters.category:
        return None
    best: VariantDoc | None = None
    for variant in doc.variants:
        if filters.min_price is not None and variant.price < filters.min_price:
            continue
        if filters.max_price is not None and variant.price > filters.max_price:
            continue
        if filters.in_stock and variant.stock <= 0:
            continue
        if any(not _value_matches(variant.attributes.get(k), v)
               for k, v in filters.attributes.items()):
            continue
        if best is None or variant.price < best.price:
            best = variant
    return best


def describe_filters(filters: SearchFilters) -> list[str]:
    out = []
    if filters.category:
        out.append(f"category={filters.category}")
    for key, values in filters.attributes.items():
        out.append(f"{key}={'/'.join(values)}")
    if filters.min_price is not None:
        out.append(f"price>={filters.min_price}")
    if filters.max_price is not None:
        out.append(f"price<={filters.max_price}")
    if filters.in_stock:
        out.append("in_stock")
    return out


def _dense(index: ProductIndex, vector: np.ndarray, allowed: list[int] | None,
           k: int) -> dict[int, float]:
    if k <= 0 or index.faiss.ntotal == 0:
        return {}
    params = None
    if allowed is not None:
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(
            np.asarray(allowed, dtype=np.int64)))
    scores, ids = index.faiss.search(vector.reshape(1, -1), k, params=params)
    return {int(i): float(s) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0}


def search(*, index: ProductIndex, embedder: Embedder, query: str, limit: int,
           filters: SearchFilters) -> list[SearchHit]:
    """Return up to ``limit`` products passing ``filters``, best first."""
    passing: dict[int, VariantDoc] = {}
    for doc in index.docs.values():
        variant = matching_variant(doc, filters)
        if variant is not None:
            passing[doc.id] = variant
    if not passing:
        return []
    allowed = None if filters.is_empty() else list(passing)
    query = query.strip()
    fused: dict[int, float] = {}
    dense: dict[int, float] = {}
    lexical: dict[int, float] = {}
    terms: dict[int, list[str]] = {}
    if query:
        depth = min(len(passing), max(limit * 10, 100))
        dense = _dense(index, embedder.encode_one(query), allowed, depth)
        lexical, terms = index.lexical.score(query, passing.keys())
        for weight, scores in ((DENSE_WEIGHT, dense), (LEXICAL_WEIGHT, lexical)):
            ranked = sorted(scores, key=lambda i: scores[i], reverse=True)[:depth]
            for rank, doc_id in enumerate(ranked, start=1):
                fused[doc_id] = fused.get(doc_id, 0.0) + weight / (RRF_K + rank)
        order = sorted(fused, key=lambda i: (-fused[i], i))
    else:  # filters only: cheapest first
        order = sorted(passing, key=lambda i: (passing[i].price, i))
    matched_filters = describe_filters(filters)
    return [
        SearchHit(doc=index.docs[i], variant=passing[i], score=round(fused.get(i, 0.0), 6),
                  dense_score=round(dense[i], 4) if i in dense else None,
                  lexical_score=round(lexical[i], 4) if i in lexical else None,
                  matched_terms=terms.get(i, []), matched_filters=matched_filters)
        for i in order[:limit]
    ]
