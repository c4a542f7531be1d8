"""The blend the shop serves, the single methods it is measured against, and the reasons.

Per product the hybrid adds four signals, each brought to [0, 1] for the query:
EASE and the item-item cosine (each divided by its largest value among the candidates),
the content similarity and the popularity (log of orders, divided by the largest); the
shop's reviews then add or take away up to ``WEIGHTS["rating"]`` (``ratings.py``). EASE
knows only the most bought products and says nothing about a product nobody bought; the
cosine reaches the long tail, the content a product with no sales, and the popularity
breaks ties for a basket the orders say little about. The weights were chosen on the
validation part of the training baskets (``python -m knowledge.recommend.evaluate
--tune``), never on the held-out part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from knowledge.recommend.basket import BasketModel, Seed
from knowledge.recommend.content import ContentModel

Mode = Literal["popularity", "cosine", "ease", "content", "hybrid"]
MODES: tuple[Mode, ...] = ("popularity", "cosine", "ease", "content", "hybrid")
WEIGHTS: Mapping[str, float] = {"ease": 1.0, "cosine": 0.3, "content": 0.3,
                                "popularity": 0.05, "rating": 0.3}
"""Chosen on the validation part of the Ta Feng training baskets (``--tune``), but for the
rating: Ta Feng has no reviews. At 0.3, a product of 4.8 stars over 20 reviews in a shop
whose mean is 4.2 gains 0.036 (the popularity's whole range is 0.05), one of 2 stars over
10 reviews loses 0.11."""
Signal = Literal["ease", "cosine", "content", "popularity"]


@dataclass(frozen=True)
class Scored:
    product_id: int
    score: float
    signal: Signal
    """The signal that gave the largest share of the score (it picks the reason)."""
    seed: Seed | None
    together: int
    """Paid orders holding both this product and ``seed``."""
    orders: int
    """Paid orders holding this product."""


@dataclass(frozen=True)
class Signals:
    ease: np.ndarray
    cosine: np.ndarray
    content: np.ndarray
    popularity: np.ndarray
    orders: np.ndarray


class Hybrid:
    """Scores every product of ``content`` from the orders in ``basket`` and the seeds."""

    def __init__(self, *, basket: BasketModel, content: ContentModel,
                 weights: Mapping[str, float] = WEIGHTS) -> None:
        self.basket = basket
        self.content = content
        self.weights = dict(weights)
        self._map_key: tuple[int, int] | None = None
        self._to_basket = np.empty(0, dtype=np.int64)
        self._counted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        """The basket model's frequencies, and the orders and popularity read from them."""

    def _basket_positions(self) -> np.ndarray:
        """For each content product, its position in the basket model (-1: never bought)."""
        key = (len(self.basket.product_ids), len(self.content.product_ids))
        if key != self._map_key:
            position = self.basket.position
            self._to_basket = np.fromiter(
                (position.get(int(p), -1) for p in self.content.product_ids),
                dtype=np.int64, count=len(self.content.product_ids))
            self._map_key = key
        return self._to_basket

    def _orders(self, to_basket: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per content product: the orders holding it, and its popularity (log of the
        orders over the log of the most); kept until an order is learnt."""
        frequency = self.basket.frequency()
        counted = self._counted
        if counted is None or counted[0] is not frequency or len(counted[1]) != len(
                to_basket):
            orders = np.zeros(len(to_basket))
            bought = to_basket >= 0
            if len(frequency):
                orders[bought] = frequency[to_basket[bought]]
            top = orders.max() if len(orders) else 0.0
            popularity = np.log1p(orders) / np.log1p(top) if top > 0 else np.zeros_like(
                orders)
            counted = self._counted = (frequency, orders, popularity)
        return counted[1], counted[2]

    def signals(self, seeds: Sequence[Seed], *, need: Sequence[str] = ("ease", "cosine",
                                                                        "content")) -> Signals:
        to_basket = self._basket_positions()
        bought = to_basket >= 0
        n = len(to_basket)

        def spread(values: np.ndarray) -> np.ndarray:
            out = np.zeros(n, dtype=values.dtype)
            out[bought] = values[to_basket[bought]]
            return out

        orders, popularity = self._orders(to_basket)
        ease = cosine = content = np.zeros(n)
        known = len(self.basket.product_ids) > 0
        if "ease" in need and known:
            ease = spread(self.basket.ease(seeds))
        if "cosine" in need and known:
            cosine = spread(self.basket.cosine(seeds))
        if "content" in need:
            content = self.content.similarity(seeds)
        return Signals(ease=ease, cosine=cosine, content=content, popularity=popularity,
                       orders=orders)

    def rank(self, seeds: Sequence[Seed], *, mode: Mode = "hybrid", limit: int = 10,
             allowed: np.ndarray | None = None, exclude: Sequence[int] = (),
             rating: np.ndarray | None = None, explain: bool = True) -> list[Scored]:
        """The ``limit`` best products, never one in ``exclude`` or outside ``allowed``
        (a boolean mask in ``content.product_ids`` order). ``rating`` (same order, from -1
        to 1; ``ratings.rating_signal``) moves the hybrid's scores up or down; it never
        picks the reason. ``explain=False`` skips what only the reasons need."""
        need = {"hybrid": ("ease", "cosine", "content"), "ease": ("ease",),
                "cosine": ("cosine",), "content": ("content",), "popularity": ()}[mode]
        signals = self.signals(seeds, need=need)
        keep = np.ones(len(self.content.product_ids), dtype=bool)
        if allowed is not None:
            keep &= allowed
        for product_id in exclude:
            position = self.content.position.get(product_id)
            if position is not None:
                keep[position] = False
        parts = self.blend(signals, mode, keep)
        total = sum(parts.values())
        if rating is not None and mode == "hybrid":
            total = total + self.weights.get("rating", 0.0) * rating
        candidates = np.flatnonzero(keep)
        if not len(candidates) or limit <= 0:
            return []
        if limit < len(candidates):  # only the best (and those tied with the last) are sorted
            threshold = np.partition(total[candidates], -limit)[-limit]
            candidates = candidates[total[candidates] >= threshold]
        # ties (e.g. no orders at all) go to the more ordered, then the lower id
        order = np.lexsort((self.content.product_ids[candidates], -signals.orders[candidates],
                            -total[candidates]))[:limit]
        chosen = candidates[order]
        if not explain:
            return [Scored(product_id=int(self.content.product_ids[p]), score=float(total[p]),
                           signal="popularity", seed=None, together=0,
                           orders=int(signals.orders[p])) for p in chosen]
        names = list(parts)
        strongest = [names[int(k)] for k in
                     np.vstack([parts[name][chosen] for name in names]).argmax(axis=0)]
        seed_of = np.full(len(chosen), -1)
        for signal in ("ease", "cosine"):
            mine = np.flatnonzero([s == signal for s in strongest])
            if len(mine):
                seed_of[mine] = self.basket.strongest_seed(
                    signal, seeds, self._basket_positions()[chosen[mine]])
        mine = np.flatnonzero([s == "content" for s in strongest])
        if len(mine):
            seed_of[mine] = self.content.closest_seed(seeds, chosen[mine])
        out = []
        for position, signal, seed_index in zip(chosen, strongest, seed_of, strict=True):
            seed = seeds[seed_index] if seed_index >= 0 else None
            product_id = int(self.content.product_ids[position])
            out.append(Scored(
                product_id=product_id, score=float(total[position]),
                signal=signal,  # type: ignore[arg-type]
                seed=seed,
                together=self.basket.together(seed.product_id, product_id) if seed else 0,
                orders=int(signals.orders[position])))
        return out

    def blend(self, signals: Signals, mode: Mode, keep: np.ndarray) -> dict[str, np.ndarray]:
        """The weighted signals of ``mode`` (their sum is the score), scaled over ``keep``."""
        if mode == "popularity":
            return {"popularity": signals.popularity}
        if mode != "hybrid":
            return {mode: getattr(signals, mode)}

        def scaled(values: np.ndarray) -> np.ndarray:
            top = values[keep].max() if keep.any() else 0.0
            return np.maximum(values, 0.0) / top if top > 0 else np.zeros_like(values)

        w = self.weights
        return {"ease": w["ease"] * scaled(signals.ease),
                "cosine": w["cosine"] * scaled(signals.cosine),
                "content": w["content"] * signals.content,
                "popularity": w["popularity"] * signals.popularity}


def reason(item: Scored, names: Mapping[int, str]) -> str:
    """One line saying why ``item`` is recommended."""
    seed = item.seed
    seed_name = names.get(seed.product_id, "") if seed else ""
    if seed and item.signal in ("ease", "cosine") and item.together > 0:
        times = "once" if item.together == 1 else f"{item.together} times"
        return f"bought together with the {seed_name} {times}"
    if seed and item.signal in ("ease", "cosine"):
        return f"often chosen by shoppers who bought the {seed_name}"
    if seed and item.signal == "content":
        where = {"viewed": "you viewed", "cart": "in your cart",
                 "bought": "you bought before"}.get(seed.source, "you looked at")
        return f"like the {seed_name} {where}"
    if item.orders > 0:
        times = "once" if item.orders == 1 else f"{item.orders} times"
        return f"popular in the shop: ordered {times}"
    return "new in the shop"
