""""Customers like you": user-user similarity on review ratings (Pearson over the
products both rated). The shop has no reviews yet, so the service is given
``NoRatings`` and this signal stays out of the blend; a review store only has to
implement ``RatingSource`` for it to take part.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

Ratings = Mapping[int, Mapping[int, float]]
"""customer id → product id → rating (1–5)."""
MIN_CO_RATED = 2
"""Fewer products rated in common say nothing about two customers' tastes."""


class RatingSource(Protocol):
    def ratings(self) -> Ratings:
        """Every customer's ratings."""
        ...


class NoRatings:
    """The source while the shop collects no reviews."""

    def ratings(self) -> Ratings:
        return {}


def pearson(a: Mapping[int, float], b: Mapping[int, float]) -> float | None:
    """Pearson correlation over the products both rated (each centred on its mean over
    those products); None with fewer than ``MIN_CO_RATED`` of them or no variance."""
    common = a.keys() & b.keys()
    if len(common) < MIN_CO_RATED:
        return None
    mean_a = sum(a[p] for p in common) / len(common)
    mean_b = sum(b[p] for p in common) / len(common)
    cov = sum((a[p] - mean_a) * (b[p] - mean_b) for p in common)
    var_a = sum((a[p] - mean_a) ** 2 for p in common)
    var_b = sum((b[p] - mean_b) ** 2 for p in common)
    if var_a == 0 or var_b == 0:
        return None
    return cov / math.sqrt(var_a * var_b)


def customers_like_you(ratings: Ratings, customer: int, *, neighbours: int = 20
                       ) -> dict[int, float]:
    """Predicted ratings of the products ``customer`` has not rated: their mean rating
    plus the similarity-weighted deviations of the positively correlated neighbours."""
    own = ratings.get(customer, {})
    if not own:
        return {}
    similar = sorted(((sim, other) for other, theirs in ratings.items() if other != customer
                      if (sim := pearson(own, theirs)) is not None and sim > 0),
                     reverse=True)[:neighbours]
    mean = sum(own.values()) / len(own)
    weighted: dict[int, float] = {}
    weights: dict[int, float] = {}
    for sim, other in similar:
        theirs = ratings[other]
        their_mean = sum(theirs.values()) / len(theirs)
        for product, rating in theirs.items():
            if product in own:
                continue
            weighted[product] = weighted.get(product, 0.0) + sim * (rating - their_mean)
            weights[product] = weights.get(product, 0.0) + sim
    return {p: mean + weighted[p] / weights[p] for p in weighted}
