"""What reviews say to the recommender.

- ``rating_signal``: each product's Bayesian score (the one its page shows, from
  ``commerce_core.review``) against the score of a product nobody reviewed, so a
  well-rated product rises in the hybrid and a poorly rated one sinks;
- "customers like you": user-user similarity on review ratings (Pearson over the products
  both rated), not part of the blend yet: the service is given ``NoRatings``; a review
  store only has to implement ``RatingSource`` for it to take part.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol

import numpy as np

Ratings = Mapping[int, Mapping[int, float]]
"""customer id → product id → rating (1–5)."""
MIN_CO_RATED = 2
"""Fewer products rated in common say nothing about two customers' tastes."""


STAR_RANGE = 4.0
"""From one star to five."""


def rating_signal(scores: Mapping[int, Decimal], prior: Decimal, product_ids: np.ndarray
                  ) -> np.ndarray | None:
    """Per product (in ``product_ids`` order), its score minus the score of a product
    without reviews, over the star range: from -1 to 1, 0 for a product nobody reviewed.
    None when no product of ``product_ids`` has a review (the ranking is left alone)."""
    if not scores:
        return None
    position = {int(p): k for k, p in enumerate(product_ids)}
    rated = [(position[p], float(score - prior) / STAR_RANGE) for p, score in scores.items()
             if p in position]
    if not rated:
        return None
    where, values = zip(*rated, strict=True)
    signal = np.zeros(len(product_ids))
    signal[list(where)] = values
    return signal


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
