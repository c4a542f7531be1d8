"""Hybrid product search: dense (FAISS) + lexical (BM25), fused by a convex combination.

One request, in order:

1. Filters (price range, category, attributes, in stock) pick the products that may be
   returned, and the variant each shows, as vectorised comparisons over columns of every
   variant (``knowledge.filtering``); both retrievers only ever see those products (FAISS
   through an ID selector or an exact scan of the kept vectors, BM25 scores masked to
   them), so a filter never empties a truncated top-k.
2. Dense retrieval ranks them by the inner product with the query vector; for "more
   like this one" (``like``) the query vector is moved toward the liked product's:
   q' = normalise(q + LIKE_WEIGHT · v). Lexical retrieval ranks them by BM25.
3. Each retriever's top ``FUSION_DEPTH`` scores are min-max normalised to [0, 1] and
   combined: DENSE_WEIGHT · dense + (1 − DENSE_WEIGHT) · lexical, a product missing
   from one list scoring 0 there. On the tuning half of the demo relevance set
   (``knowledge/search_eval``; ``python -m knowledge.eval_search --tune``) it edged out
   weighted reciprocal rank fusion at RRF's best setting (nDCG@10 0.912 against 0.911,
   recall@10 0.893 against 0.887) and, unlike RRF, whose best k was the grid's edge
   (k = 1), it stays within 0.005 of its best for any dense weight from 0.2 to 0.6. It
   keeps how far apart the scores are, which rank fusion throws away (see Bruch et al.,
   "An Analysis of Fusion Functions for Hybrid Retrieval", 2023).
4. Soft preferences (``boosts``, e.g. colour=blue) multiply the fused score of a
   product by 1 + BOOST_WEIGHT per preference it meets: matching products rise, the
   others stay in the list. With 0.5, a product meeting one preference passes any
   product up to 1.5 times its score: on the demo shop "mug" + colour=green puts the
   two green mugs (fused 0.70 and 0.68) above the best blue one (0.88), while no
   green non-mug (0.28 at best) passes a mug.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

import numpy as np

from knowledge.filtering import Selection
from knowledge.lexical import stem
from knowledge.product_index import ProductDoc, ProductIndex, VariantDoc

DENSE_WEIGHT = 0.5
BOOST_WEIGHT = 0.5
LIKE_WEIGHT = 2.0
"""α in q' = normalise(q + α·v_liked). Tuned by simulating "more like this one" on the
tuning half of the demo relevance set (``eval_search --tune``): liking the first
relevant product of the top 10, the nDCG@10 of the other relevant products goes from
0.723 (α = 0) to 0.745 (α = 1), 0.757 (α = 2) and back to 0.750 (α = 4); α = 2 leans
toward the liked product, which is what a shopper who asks for more like it wants."""
FUSION_DEPTH = 100
"""How many products of each ranking are fused (more when ``limit`` asks for more): the
first results do not depend on how many were asked for."""
SearchMode = Literal["hybrid", "dense", "lexical"]
Preferences = Mapping[str, tuple[str, ...]]


class QueryEncoder(Protocol):
    def encode_one(self, text: str) -> np.ndarray: ...


class UnknownProduct(LookupError):
    """``like`` names a product that is not in the index."""


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
    """The variant that meets the most boosts among those passing the filters, cheapest
    first."""
    score: float
    dense_score: float | None
    lexical_score: float | None
    matched_terms: list[str]
    matched_filters: list[str]
    boosts: list[str] = field(default_factory=list)
    """The preferences this product meets, as ``name=value``."""
    like: int | None = None
    named: bool = False
    """The shopper named this product: it comes first whatever the filters."""
    unmet: list[str] = field(default_factory=list)
    """What the shopper's words asked for that this product lacks (a close match shown
    because too few products have everything); see ``knowledge.understood_search``."""


def value_matches(actual: str | None, accepted: tuple[str, ...]) -> bool:
    """Whether an attribute value is one of ``accepted`` (plurals folded)."""
    if actual is None:
        return False
    actual_stem = " ".join(stem(w) for w in actual.split())
    return any(actual == a or actual_stem == " ".join(stem(w) for w in a.split())
               for a in accepted)


def _met(variant: VariantDoc, boosts: Preferences) -> list[str]:
    return [f"{k}={variant.attributes[k]}" for k, v in boosts.items()
            if value_matches(variant.attributes.get(k), v)]


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


def describe_boosts(boosts: Preferences) -> list[str]:
    return [f"{key}={'/'.join(values)}" for key, values in boosts.items()]


def fuse(rankings: Sequence[tuple[float, Mapping[int, float]]]) -> dict[int, float]:
    """Σ weight · min-max-normalised score over the rankings; absent from one counts 0."""
    fused: dict[int, float] = {}
    for weight, scores in rankings:
        if not scores:
            continue
        low, high = min(scores.values()), max(scores.values())
        for doc_id, score in scores.items():
            norm = (score - low) / (high - low) if high > low else 1.0
            fused[doc_id] = fused.get(doc_id, 0.0) + weight * norm
    return fused


def top(scores: Mapping[int, float], depth: int) -> dict[int, float]:
    """The ``depth`` best of ``scores`` (ties by id)."""
    return {i: scores[i] for i in sorted(scores, key=lambda i: (-scores[i], i))[:depth]}


def query_vector(*, index: ProductIndex, embedder: QueryEncoder, query: str,
                 like: int | None) -> np.ndarray | None:
    """The dense query: the text's vector, moved toward the liked product's if any."""
    vector = embedder.encode_one(query) if query else None
    if like is None:
        return vector
    liked = index.vectors.vectors(np.array([like], dtype=np.int64))[0]
    if vector is None:
        return liked
    moved = vector + LIKE_WEIGHT * liked
    return (moved / (np.linalg.norm(moved) or 1.0)).astype(np.float32)


def _selection(index: ProductIndex, filters: SearchFilters, boosts: Preferences) -> Selection:
    return index.filter_columns.select(
        min_price=filters.min_price, max_price=filters.max_price, category=filters.category,
        attributes=filters.attributes, in_stock=filters.in_stock, boosts=boosts)


def count(*, index: ProductIndex, filters: SearchFilters) -> int:
    """How many products pass ``filters``."""
    return len(_selection(index, filters, {}))


def _lexical(index: ProductIndex, query: str, selection: Selection, everything: bool,
             depth: int) -> tuple[dict[int, float], list[str]]:
    """BM25 scores of the ``depth`` best selected products, and the query's terms."""
    docs, scores, terms = index.lexical.score_arrays(query)
    if not everything:
        keep = selection.contains(docs)
        docs, scores = docs[keep], scores[keep]
    if len(docs) > depth:
        best = np.lexsort((docs, -scores))[:depth]
        docs, scores = docs[best], scores[best]
    return dict(zip(docs.tolist(), scores.tolist(), strict=True)), terms


def search(*, index: ProductIndex, embedder: QueryEncoder, query: str, limit: int,
           filters: SearchFilters, boosts: Preferences | None = None, like: int | None = None,
           include_liked: bool = False, mode: SearchMode = "hybrid", offset: int = 0,
           named: int | None = None, exclude: Collection[int] = ()) -> list[SearchHit]:
    """Return up to ``limit`` products passing ``filters``, best first, from the
    ``offset``-th on (the ranking is deterministic, so pages never overlap).

    ``mode`` keeps one retriever only (``dense`` or ``lexical``), for evaluation. The
    liked product is left out of the results unless ``include_liked``. A ``named``
    product (the shopper asked for it by name) comes first, whatever the filters.
    """
    if named is not None and named in index.docs and named != like and named not in exclude:
        return _with_named(index=index, embedder=embedder, query=query, limit=limit,
                           filters=filters, boosts=boosts or {}, like=like,
                           include_liked=include_liked, mode=mode, offset=offset, named=named,
                           exclude=exclude)
    boosts = boosts or {}
    if like is not None and like not in index.docs:
        raise UnknownProduct(f"product {like} is not in the search index")
    selection = _selection(index, filters, boosts)
    if like is not None and not include_liked:
        selection = selection.without(like)
    if exclude:
        selection = selection.without(*exclude)
    if not len(selection) or limit <= 0:
        return []
    query = query.strip()
    dense: dict[int, float] = {}
    lexical: dict[int, float] = {}
    terms: list[str] = []
    depth = min(len(selection), max(offset + limit, FUSION_DEPTH))
    everything = len(selection) == len(index.docs)
    if mode != "lexical":
        vector = query_vector(index=index, embedder=embedder, query=query, like=like)
        if vector is not None:
            dense = dict(index.vectors.search(vector, depth,
                                              None if everything else selection.ids))
    if mode != "dense" and query:
        lexical, terms = _lexical(index, query, selection, everything, depth)
    if dense or lexical:
        dense_weight = {"dense": 1.0, "lexical": 0.0}.get(mode, DENSE_WEIGHT)
        fused = fuse([(dense_weight, dense), (1 - dense_weight, lexical)])
        if boosts:
            ids = np.fromiter(fused, dtype=np.int64, count=len(fused))
            met = selection.met[np.searchsorted(selection.ids, ids)]
            for doc_id, count in zip(ids.tolist(), met.tolist(), strict=True):
                if count:
                    fused[doc_id] *= 1 + BOOST_WEIGHT * count
        order = sorted(fused, key=lambda i: (-fused[i], i))[offset:offset + limit]
    else:  # filters only: preferences met first, then cheapest
        fused = {}
        cents = index.filter_columns.cents[selection.rows]
        ranked = np.lexsort((selection.ids, cents, -selection.met))[offset:offset + limit]
        order = selection.ids[ranked].tolist()
    rows = selection.rows[np.searchsorted(selection.ids, np.asarray(order, dtype=np.int64))]
    matched_filters = describe_filters(filters)
    hits = []
    for doc_id, row in zip(order, rows.tolist(), strict=True):
        variant = index.variant_at(row)
        hits.append(SearchHit(
            doc=index.docs[doc_id], variant=variant, score=round(fused.get(doc_id, 0.0), 6),
            dense_score=round(dense[doc_id], 4) if doc_id in dense else None,
            lexical_score=round(lexical[doc_id], 4) if doc_id in lexical else None,
            matched_terms=index.lexical.matched(doc_id, terms) if doc_id in lexical else [],
            matched_filters=matched_filters, boosts=_met(variant, boosts), like=like))
    return hits


def _with_named(*, index: ProductIndex, embedder: QueryEncoder, query: str, limit: int,
                filters: SearchFilters, boosts: Preferences, like: int | None,
                include_liked: bool, mode: SearchMode, offset: int, named: int,
                exclude: Collection[int]) -> list[SearchHit]:
    """The named product first, then the others as ``search`` ranks them."""
    rest = search(index=index, embedder=embedder, query=query,
                  limit=limit if offset else limit - 1, filters=filters, boosts=boosts,
                  like=like, include_liked=include_liked, mode=mode,
                  offset=max(offset - 1, 0), named=None, exclude=(*exclude, named))
    if offset:
        return rest
    everything = index.filter_columns.select(min_price=None, max_price=None, category=None,
                                              attributes={}, in_stock=False, boosts=boosts)
    row = int(everything.rows[np.searchsorted(everything.ids, named)])
    variant = index.variant_at(row)
    first = SearchHit(doc=index.docs[named], variant=variant,
                      score=max([1.0, *(h.score for h in rest)]), dense_score=None,
                      lexical_score=None, matched_terms=[], matched_filters=[],
                      boosts=_met(variant, boosts), like=like, named=True)
    return [first, *rest]
