"""The recommender's snapshot (``recommender.npz`` in the index directory): the
co-purchase counts, the ids of the orders they hold and the EASE weights computed from
them (``ease_baskets`` says from how many orders), so a restart reads the weights instead
of inverting the matrix again."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from knowledge.recommend.basket import BasketModel, EaseWeights

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "recommender.npz"
SNAPSHOT_FORMAT = 2
"""2 added the EASE weights; a format 1 snapshot is read and its weights recomputed."""


@dataclass(frozen=True)
class Snapshot:
    """What a model learnt, taken at one moment (written without holding the lock)."""

    product_ids: np.ndarray
    counts: sparse.csr_matrix
    baskets: int
    learnt: np.ndarray
    ease_lambda: float
    ease_max_items: int
    ease: EaseWeights

    @classmethod
    def of(cls, model: BasketModel, learnt: set[int]) -> Snapshot:
        """The model's state (the caller holds the lock that guards ``model``)."""
        model.flush()
        counts = model.counts
        counts.sort_indices()  # a reader never sorts them in place while they are written
        return cls(product_ids=np.asarray(model.product_ids, dtype=np.int64), counts=counts,
                   baskets=model.baskets, learnt=np.asarray(sorted(learnt), dtype=np.int64),
                   ease_lambda=model.ease_lambda, ease_max_items=model.ease_max_items,
                   ease=model.ease_weights)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{threading.get_ident()}.tmp.npz")
        np.savez(tmp, format=SNAPSHOT_FORMAT, product_ids=self.product_ids,
                 data=self.counts.data, indices=self.counts.indices,
                 indptr=self.counts.indptr, baskets=self.baskets, learnt=self.learnt,
                 ease_lambda=self.ease_lambda, ease_max_items=self.ease_max_items,
                 ease_items=self.ease.items, ease_weights=self.ease.weights,
                 ease_baskets=self.ease.baskets)
        tmp.replace(path)


def save_snapshot(path: Path, model: BasketModel, learnt: set[int]) -> None:
    """Write the counts, the learnt order ids and the EASE weights."""
    Snapshot.of(model, learnt).save(path)


def load_snapshot(path: Path) -> tuple[BasketModel, set[int]] | None:
    """The model of the last snapshot and the orders it learnt. Its EASE weights are those
    saved with it (``ease_weights.baskets`` says from how many orders; none in a format 1
    snapshot)."""
    if not path.exists():
        return None
    try:
        with np.load(path) as data:
            version = int(data["format"])
            if version not in (1, SNAPSHOT_FORMAT):
                log.info("recommender snapshot has another format: relearning")
                return None
            ids = [int(p) for p in data["product_ids"]]
            model = BasketModel(product_ids=ids, ease_lambda=float(data["ease_lambda"]),
                                ease_max_items=int(data["ease_max_items"]))
            model.counts = sparse.csr_matrix(
                (data["data"], data["indices"], data["indptr"]), shape=(len(ids), len(ids)))
            model.baskets = int(data["baskets"])
            learnt = {int(i) for i in data["learnt"]}
            if version == SNAPSHOT_FORMAT:
                items = np.asarray(data["ease_items"], dtype=np.int64)
                weights = np.asarray(data["ease_weights"], dtype=np.float32)
                if weights.shape != (len(items), len(items)) or (
                        len(items) and int(items.max()) >= len(ids)):
                    raise ValueError("EASE weights do not fit the products")
                model.ease_weights = EaseWeights(items=items, weights=weights,
                                                 baskets=int(data["ease_baskets"]))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("recommender snapshot %s is unreadable (%s): relearning", path, exc)
        return None
    return model, learnt
