"""Content similarity: products alike in words, category, attributes and price.

A product is described by four blocks, each giving a similarity in [0, 1]:

- its MiniLM vector (the one the search already has, when given): cosine, floored at 0;
- its category: 1 when the same;
- its attribute values (``colour:blue``, ``material:ceramic``…; sizes left out): cosine
  of the value sets;
- its price band (quintile of the lowest variant price on a log scale): 1 in the same
  band, 0.5 in a neighbouring one, so 30 € is near 35 € and far from 300 €.

The similarity of two products is the weighted mean of the blocks. A product imported a
minute ago is described as soon as it is in the product index, so it is recommendable
before anyone bought it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from knowledge.product_index import ProductDoc
from knowledge.recommend.basket import Seed

PRICE_BANDS = 5
REDUCE_ABOVE = 2000
REDUCED_DIMENSIONS = 64
"""Above this many products the vectors are projected on their top singular directions:
a request reads 10,000 × 64 floats instead of 10,000 × 384 (memory-bound, about six
times faster), and dot products keep the bulk of their variance."""
WEIGHTS = {"vector": 0.6, "category": 0.25, "attributes": 0.1, "price": 0.05}
"""Block weights (renormalised over the blocks a catalog has)."""


@dataclass(frozen=True)
class ContentModel:
    product_ids: np.ndarray
    position: Mapping[int, int]
    vectors: np.ndarray | None
    """Unit MiniLM vectors, float32, one row per product; None without them."""
    categories: np.ndarray
    attributes: sparse.csr_matrix
    """Unit rows over the attribute values of each product."""
    bands: np.ndarray
    weights: Mapping[str, float]

    @classmethod
    def build(cls, docs: Sequence[ProductDoc], vectors: np.ndarray | None = None,
              weights: Mapping[str, float] = WEIGHTS) -> ContentModel:
        """``vectors``: the products' MiniLM vectors in ``docs`` order, or None."""
        unit = None
        if vectors is not None and len(vectors):
            unit = np.asarray(vectors, dtype=np.float32)
            norms = np.linalg.norm(unit, axis=1, keepdims=True)
            unit = np.divide(unit, norms, out=np.zeros_like(unit), where=norms > 0)
            if len(unit) > REDUCE_ABOVE and unit.shape[1] > REDUCED_DIMENSIONS:
                unit = _reduce(unit)
        used = {k: w for k, w in weights.items() if k != "vector" or unit is not None}
        total = sum(used.values())
        category_codes: dict[str, int] = {}
        categories = np.asarray([category_codes.setdefault(d.category.lower(),
                                                           len(category_codes))
                                 for d in docs], dtype=np.int64)
        return cls(product_ids=np.asarray([d.id for d in docs], dtype=np.int64),
                   position={d.id: k for k, d in enumerate(docs)}, vectors=unit,
                   categories=categories, attributes=_attribute_rows(docs),
                   bands=_price_bands([float(d.min_price) for d in docs]),
                   weights={k: w / total for k, w in used.items()})

    def _known(self, seeds: Sequence[Seed]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        known = [(self.position[s.product_id], s.weight, k) for k, s in enumerate(seeds)
                 if s.product_id in self.position]
        if not known:
            return np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64)
        rows, weights, origin = (np.asarray(v) for v in zip(*known, strict=True))
        return rows, weights / weights.sum(), origin

    def similarity(self, seeds: Sequence[Seed]) -> np.ndarray:
        """Per product (in ``product_ids`` order), the weighted mean similarity to the seeds.

        Every block is linear in the seeds, so the seeds are averaged first and each
        product is compared once; no BLAS call (its threads only wait on a busy machine).
        """
        n = len(self.product_ids)
        rows, weights, _ = self._known(seeds)
        if not len(rows) or not n:
            return np.zeros(n)
        w = self.weights
        by_category = np.bincount(self.categories[rows], weights=weights,
                                  minlength=int(self.categories.max()) + 1)
        scores = w["category"] * by_category[self.categories]
        attributes = np.asarray(self.attributes[rows].T @ weights).ravel()
        scores += w["attributes"] * (self.attributes @ attributes)
        by_band = np.bincount(self.bands[rows], weights=weights, minlength=PRICE_BANDS)
        scores += w["price"] * (BAND_SIMILARITY @ by_band)[self.bands]
        if self.vectors is not None:
            mean = (self.vectors[rows] * weights[:, None].astype(np.float32)).sum(axis=0)
            scores += w["vector"] * np.einsum("ij,j->i", self.vectors, mean)
        return scores

    def closest_seed(self, seeds: Sequence[Seed], positions: np.ndarray) -> np.ndarray:
        """For products at ``positions``, the index in ``seeds`` of the one it is most like
        (-1: none), to say which one in the reason."""
        rows, weights, origin = self._known(seeds)
        if not len(rows):
            return np.full(len(positions), -1)
        w = self.weights
        sims = w["category"] * (self.categories[positions][:, None]
                                == self.categories[rows][None, :])
        sims = sims + w["attributes"] * (self.attributes[positions]
                                         @ self.attributes[rows].T).toarray()
        sims += w["price"] * BAND_SIMILARITY[self.bands[positions]][:, self.bands[rows]]
        if self.vectors is not None:
            sims += w["vector"] * np.einsum("ik,jk->ij", self.vectors[positions],
                                            self.vectors[rows])
        return origin[np.argmax(sims * weights[None, :], axis=1)]


BAND_SIMILARITY = np.array([[1.0 if i == j else 0.5 if abs(i - j) == 1 else 0.0
                             for j in range(PRICE_BANDS)] for i in range(PRICE_BANDS)])


def _reduce(unit: np.ndarray) -> np.ndarray:
    """Rows projected on the ``REDUCED_DIMENSIONS`` top right-singular vectors (not centred,
    so dot products, not distances, are what is kept).

    They are the top eigenvectors of the small ``unitᵀ unit`` (384 × 384): a fraction of a
    second for 10,000 products, where the SVD of ``unit`` itself took seconds (and the
    view is rebuilt with every change of the catalog). Their signs may differ from the
    SVD's; dot products do not see them."""
    wide = unit.astype(np.float64)
    _, vectors = np.linalg.eigh(wide.T @ wide)  # eigenvalues ascending
    top = vectors[:, ::-1][:, :REDUCED_DIMENSIONS]
    return np.ascontiguousarray(wide @ top, dtype=np.float32)


def _attribute_rows(docs: Sequence[ProductDoc]) -> sparse.csr_matrix:
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for i, doc in enumerate(docs):
        values = {f"{k}:{v}".lower() for variant in doc.variants
                  for k, v in variant.attributes.items() if k != "size"}
        for value in sorted(values):
            rows.append(i)
            cols.append(vocabulary.setdefault(value, len(vocabulary)))
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)),
                               shape=(len(docs), max(1, len(vocabulary))))
    norms = np.sqrt(np.asarray(matrix.sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sparse.csr_matrix(sparse.diags(scale) @ matrix)


def _price_bands(prices: Sequence[float]) -> np.ndarray:
    if not prices:
        return np.empty(0, dtype=np.int64)
    logs = np.log1p(np.maximum(np.asarray(prices, dtype=np.float64), 0.0))
    edges = np.quantile(logs, np.linspace(0, 1, PRICE_BANDS + 1)[1:-1])
    return np.searchsorted(edges, logs, side="right").astype(np.int64)
