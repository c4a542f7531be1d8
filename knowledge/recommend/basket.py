"""The behavioural model: which products are bought together.

Everything is read from one symmetric matrix of co-occurrence counts ``C`` (products ×
products, ``C[i, j]`` = orders holding both, ``C[i, i]`` = orders holding ``i``):

- popularity: ``C[i, i]``;
- item-item cosine: ``C[i, j] / sqrt(C[i, i] C[j, j])``;
- EASE (Steck 2019, "Embarrassingly Shallow Autoencoders"): with the Gram matrix
  ``G = XᵀX`` — which is ``C`` itself for 0/1 baskets — ``P = (G + λI)⁻¹`` and
  ``B = I − P / diag(P)`` (the diagonal is zero). The inverse costs O(k³), so EASE is
  restricted to the ``EASE_MAX_ITEMS`` most frequently bought products; the others are
  carried by the cosine and the content similarity.

A paid order adds its products to ``C`` at once (``add_basket``); the EASE weights are
recomputed from ``C`` by ``refit_ease``, which the service runs after each order in a
small shop and off the request path in a large one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

EASE_MAX_ITEMS = 5000
EASE_LAMBDA = 50.0
"""The L2 weight, chosen on the validation part of the Ta Feng training baskets (hit@10
of EASE alone: 0.118 at 50 and 200, 0.1175 at 500; MRR@10 best at 50)."""


@dataclass(frozen=True)
class Seed:
    """A product the recommendation starts from, and how much it counts."""

    product_id: int
    weight: float
    source: str
    """``viewed``, ``cart`` or ``bought``: said in the reason."""


@dataclass(frozen=True)
class EaseWeights:
    items: np.ndarray
    """Positions of the products covered, ascending."""
    weights: np.ndarray
    """``weights[a, b]``: how much having ``items[a]`` speaks for ``items[b]``."""
    baskets: int
    """How many orders they were computed from."""


class BasketModel:
    """Co-occurrence counts over a growing set of products, and EASE weights over the
    most frequent of them."""

    def __init__(self, *, product_ids: Sequence[int] = (), ease_lambda: float = EASE_LAMBDA,
                 ease_max_items: int = EASE_MAX_ITEMS) -> None:
        self.ease_lambda = ease_lambda
        self.ease_max_items = ease_max_items
        self.product_ids: list[int] = []
        self.position: dict[int, int] = {}
        self._counts = sparse.csr_matrix((0, 0), dtype=np.float64)
        self._frequency: np.ndarray | None = None
        self.baskets = 0
        self._pending: list[list[int]] = []
        self.ease_weights = EaseWeights(items=np.empty(0, dtype=np.int64),
                                        weights=np.zeros((0, 0), dtype=np.float32), baskets=0)
        """Replaced whole by ``refit_ease``, so a reader never sees half of an update."""
        self._ensure(product_ids)

    @property
    def counts(self) -> sparse.csr_matrix:
        """``C`` without the orders still pending (``flush`` adds them)."""
        return self._counts

    @counts.setter
    def counts(self, value: sparse.csr_matrix) -> None:
        self._counts = value
        self._frequency = None

    # -- learning ------------------------------------------------------------------------

    def _ensure(self, product_ids: Iterable[int]) -> None:
        new = [p for p in dict.fromkeys(product_ids) if p not in self.position]
        if not new:
            return
        for product_id in new:
            self.position[product_id] = len(self.product_ids)
            self.product_ids.append(product_id)
        n = len(self.product_ids)
        self.flush()
        counts = self.counts.tocoo()
        self.counts = sparse.csr_matrix((counts.data, (counts.row, counts.col)), shape=(n, n))

    def add_basket(self, product_ids: Iterable[int]) -> None:
        """Learn one paid order (each product counted once, whatever the quantity)."""
        basket = list(dict.fromkeys(product_ids))
        if not basket:
            return
        self._ensure(basket)
        self._pending.append([self.position[p] for p in basket])
        self.baskets += 1

    def fit(self, baskets: Iterable[Sequence[int]], *,
            progress: Callable[[int], None] | None = None) -> None:
        """Learn many orders at once (a retrain): counts in one sparse product."""
        rows: list[int] = []
        cols: list[int] = []
        count = 0
        for basket in baskets:
            unique = list(dict.fromkeys(basket))
            if not unique:
                continue
            self._ensure(unique)
            cols.extend(self.position[p] for p in unique)
            rows.extend([count] * len(unique))
            count += 1
            if progress is not None:
                progress(1)
        if count:
            x = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)),
                                  shape=(count, len(self.product_ids)))
            self.flush()
            self.counts = (self.counts + (x.T @ x).tocsr()).tocsr()
            self.baskets += count

    def flush(self) -> None:
        """Add the orders learnt one at a time to the counts."""
        if not self._pending:
            return
        n = self.counts.shape[0]
        rows, cols = [], []
        for basket in self._pending:
            for i in basket:
                rows.extend([i] * len(basket))
                cols.extend(basket)
        self._pending = []
        self.counts = (self.counts + sparse.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(n, n))).tocsr()

    def ease_inputs(self) -> tuple[np.ndarray, np.ndarray, int]:
        """The products EASE covers (positions), their Gram matrix and the order count."""
        frequency = self.frequency()
        bought = np.flatnonzero(frequency > 0)
        if len(bought) > self.ease_max_items:
            top = np.argsort(-frequency[bought], kind="stable")[:self.ease_max_items]
            bought = np.sort(bought[top])
        return bought, self.counts[bought][:, bought].toarray(), self.baskets

    def solve_ease(self, items: np.ndarray, gram: np.ndarray, baskets: int) -> EaseWeights:
        """The EASE weights (O(k³) for k products; needs no lock)."""
        k = len(items)
        if k == 0:
            return EaseWeights(items=items, weights=np.zeros((0, 0), np.float32),
                               baskets=baskets)
        gram[np.diag_indices(k)] += self.ease_lambda
        inverse = np.linalg.inv(gram)
        weights = (-inverse / np.diag(inverse)).astype(np.float32)
        weights[np.diag_indices(k)] = 0.0
        return EaseWeights(items=items, weights=weights, baskets=baskets)

    def refit_ease(self) -> None:
        """Recompute the EASE weights from the counts."""
        self.ease_weights = self.solve_ease(*self.ease_inputs())

    # -- reading -------------------------------------------------------------------------

    def frequency(self) -> np.ndarray:
        """Orders holding each product, by position."""
        self.flush()
        if self._frequency is None:
            self._frequency = self._counts.diagonal()
        return self._frequency

    def together(self, a: int, b: int) -> int:
        """Orders holding both products (by id)."""
        self.flush()
        i, j = self.position.get(a), self.position.get(b)
        if i is None or j is None:
            return 0
        counts = self._counts
        if not counts.has_sorted_indices:
            counts.sort_indices()
        start, end = counts.indptr[i], counts.indptr[i + 1]
        k = start + int(np.searchsorted(counts.indices[start:end], j))
        return int(counts.data[k]) if k < end and counts.indices[k] == j else 0

    def _seed_positions(self, seeds: Sequence[Seed]
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions and weights of the seeds this model knows, and their index in ``seeds``."""
        known = [(self.position[s.product_id], s.weight, k) for k, s in enumerate(seeds)
                 if s.product_id in self.position]
        if not known:
            return np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=np.int64)
        positions, weights, origin = zip(*known, strict=True)
        return (np.asarray(positions, dtype=np.int64), np.asarray(weights, dtype=np.float64),
                np.asarray(origin, dtype=np.int64))

    def _seed_rows(self, positions: np.ndarray, weights: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The stored entries of the seeds' rows of ``C`` as (seed, column, cosine share):
        the share is ``weight × C[i, j] / sqrt(C[i, i] C[j, j])``. Reading the rows'
        slices directly costs a few microseconds; slicing the matrix, a millisecond."""
        counts = self.counts
        starts, ends = counts.indptr[positions], counts.indptr[positions + 1]
        take = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])
        seed = np.repeat(np.arange(len(positions)), ends - starts)
        columns = counts.indices[take]
        norm = np.sqrt(np.maximum(self.frequency(), 1.0))
        share = counts.data[take] / norm[columns]
        share /= norm[positions][seed]
        share *= weights[seed]
        return seed, columns, share

    def cosine(self, seeds: Sequence[Seed]) -> np.ndarray:
        """Per product: the weighted sum of cosines to the seeds."""
        self.flush()
        n = len(self.product_ids)
        positions, weights, _ = self._seed_positions(seeds)
        if not len(positions):
            return np.zeros(n)
        _, columns, share = self._seed_rows(positions, weights)
        return np.bincount(columns, weights=share, minlength=n)

    def ease(self, seeds: Sequence[Seed]) -> np.ndarray:
        """Per product: the EASE score given the seeds."""
        n = len(self.product_ids)
        scores = np.zeros(n)
        ease = self.ease_weights
        rows, weights, _ = self._ease_rows(seeds, ease)
        if len(rows):
            scores[ease.items] = (ease.weights[rows] * weights[:, None]).sum(axis=0)
        return scores

    def _ease_rows(self, seeds: Sequence[Seed], ease: EaseWeights
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows of the EASE weights for the seeds it covers, their weights and their
        index in ``seeds``."""
        positions, weights, origin = self._seed_positions(seeds)
        if not len(positions) or not len(ease.items):
            return np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=np.int64)
        rows = np.searchsorted(ease.items, positions)
        covered = (rows < len(ease.items)) & (ease.items[np.minimum(
            rows, len(ease.items) - 1)] == positions)
        return rows[covered], weights[covered], origin[covered]

    def strongest_seed(self, signal: str, seeds: Sequence[Seed], columns: np.ndarray
                       ) -> np.ndarray:
        """For the products at ``columns`` (positions, -1: never bought), the index in
        ``seeds`` of the seed that gave the most to ``signal`` (``ease`` or ``cosine``), or
        -1 where none gave anything: said in the reason, so only asked for the products
        shown."""
        self.flush()
        positions, weights, origin = self._seed_positions(seeds)
        best = np.full(len(columns), -1)
        if not len(positions) or not len(columns):
            return best
        if signal == "cosine":
            seed, found, share = self._seed_rows(positions, weights)
            where = np.full(len(self.product_ids) + 1, -1)
            where[columns] = np.arange(len(columns))  # a -1 column lands on the spare slot
            slot = where[found]
            rows = np.zeros((len(positions), len(columns)))
            rows[seed[slot >= 0], slot[slot >= 0]] = share[slot >= 0]
        else:
            ease = self.ease_weights
            covered, weights, origin = self._ease_rows(seeds, ease)
            if not len(covered):
                return best
            inside = np.full(len(self.product_ids) + 1, -1)
            inside[ease.items] = np.arange(len(ease.items))
            slot = inside[columns]
            rows = np.zeros((len(covered), len(columns)))
            rows[:, slot >= 0] = (ease.weights[np.ix_(covered, slot[slot >= 0])]
                                  * weights[:, None])
        return np.where(rows.max(axis=0) > 0, origin[rows.argmax(axis=0)], -1)
