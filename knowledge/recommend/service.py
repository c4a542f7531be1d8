"""The running recommender: learns from paid orders as they happen, serves the hybrid.

At start it loads the snapshot (``snapshot.py``, in the index directory): the
co-purchase counts, the orders they hold and the EASE weights computed from them, so a
restart does not invert the EASE matrix again (tens of seconds for 5,000 products). It then
learns the orders paid since; the saved weights serve while they are recomputed (at once
in a small shop, on a background thread in a large one, which writes the snapshot
again). An order the snapshot learnt that has since been cancelled or refunded makes it
relearn every order. Without a snapshot it learns every paid order from the database
and writes one. Each ``order.paid`` event (delivered after the payment's commit) adds
that order at once — the cosine and the popularity change with the next request — and
the EASE weights are recomputed right away in a small shop, or on a background thread
when they cover more than ``SYNC_EASE_MAX`` products. Content comes from the search's
product index, so a product imported a minute ago is recommendable, and stock from the
same snapshot of the catalog. The EASE weights depend on the orders only, so a change of
the catalog rebuilds the content and the stock, not them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.events import DomainEvent, subscribe
from commerce_core.review.service import product_scores
from knowledge.product_index import ProductDoc, ProductIndex
from knowledge.recommend.basket import BasketModel, Seed
from knowledge.recommend.content import ContentModel
from knowledge.recommend.hybrid import Hybrid, Scored, Signal, reason
from knowledge.recommend.ratings import NoRatings, RatingSource, rating_signal
from knowledge.recommend.repository import OrderHistoryRepository
from knowledge.recommend.shoppers import Histories
from knowledge.recommend.snapshot import SNAPSHOT_FILE, Snapshot, load_snapshot, save_snapshot

log = logging.getLogger(__name__)

SYNC_EASE_MAX = 1500
"""Up to this many bought products the EASE weights are recomputed inside the order's
event (a 1,500-product inverse takes about 0.1 s); beyond, on a background thread."""
HISTORY_WEIGHT = 0.5
"""A product bought in a past order counts half as much as one in the cart or viewed."""
HISTORY_PRODUCTS = 20
"""The most recently bought products that speak for a returning shopper (each one more
costs every request a little)."""


class UnknownProduct(LookupError):
    """A product named in the request is not in the catalog."""

    def __init__(self, ref: str) -> None:
        super().__init__(ref)
        self.ref = ref


@dataclass(frozen=True)
class Recommendation:
    doc: ProductDoc
    score: float
    reason: str
    signal: Signal
    sku: str
    price: Decimal


@dataclass(frozen=True)
class CatalogView:
    """What the recommender reads of one product index snapshot."""

    index: ProductIndex
    content: ContentModel
    hybrid: Hybrid
    in_stock: np.ndarray
    product_of_sku: dict[str, int]


class RecommendService:
    def __init__(self, *, index: Callable[[], ProductIndex],
                 session_factory: sessionmaker[Session], directory: Path,
                 ratings: RatingSource | None = None, follow_orders: bool = True) -> None:
        """``index`` returns the search's current product index (content and stock)."""
        self._index = index
        self.session_factory = session_factory
        self.directory = directory
        self.ratings = ratings or NoRatings()
        self._lock = threading.RLock()
        self._model: BasketModel | None = None
        self._learnt: set[int] = set()
        """Ids of the orders the model has learnt (orders are not paid in id order)."""
        self._view: CatalogView | None = None
        self._ease_stale = threading.Event()
        self._ease_thread: threading.Thread | None = None
        self._histories = Histories(self._read_history)
        self._unsubscribe: list[Callable[[], None]] = [
            subscribe("order.paid", self._on_order_paid),
            *(subscribe(kind, lambda _: self._histories.forget())
              for kind in ("order.cancelled", "order.refunded")),
            subscribe("review.changed", self._on_review_changed),
        ] if follow_orders else []
        self._reviews_seen = 0
        """Counts ``review.changed`` events: the ratings are read again after one."""
        self._rated: tuple[int, ProductIndex, np.ndarray | None] | None = None

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        thread = self._ease_thread
        if thread is not None:
            thread.join(timeout=120)

    # -- learning ------------------------------------------------------------------------

    @property
    def model(self) -> BasketModel:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._load()
        assert self._model is not None
        return self._model

    def _load(self) -> None:
        snapshot = load_snapshot(self.directory / SNAPSHOT_FILE)
        if snapshot is None:
            self.retrain(save=True)
            return
        model, learnt = snapshot
        with self.session_factory() as session:
            repository = OrderHistoryRepository(session)
            sold = repository.sold_order_ids()
            missing = sorted(sold - learnt)
            later = list(repository.baskets(order_ids=missing)) if missing else []
        if learnt - sold:
            log.info("recommender: %d orders of the snapshot were cancelled or refunded "
                     "since: relearning", len(learnt - sold))
            self.retrain(save=True)
            return
        for order_id, products in later:
            model.add_basket(products)
            learnt.add(order_id)
        if later:
            log.info("recommender: %d orders paid since the snapshot learnt", len(later))
        saved = model.ease_weights
        stale = saved.baskets != model.baskets
        background = (stale and len(saved.items) > 0
                      and len(model.product_ids) > SYNC_EASE_MAX)
        if stale and not background:
            model.refit_ease()
        self._model, self._learnt = model, learnt
        if background:  # the saved weights serve until the new ones are ready
            self._schedule_ease()
        elif stale:
            self.save()

    def retrain(self, *, save: bool = True, progress: Callable[[int], None] | None = None,
                on_total: Callable[[int], None] | None = None) -> BasketModel:
        """Learn every sold order from the database again (and write the snapshot)."""
        with self.session_factory() as session:
            repository = OrderHistoryRepository(session)
            if on_total is not None:
                on_total(repository.count())
            rows = list(repository.baskets())
        model = BasketModel()
        model.fit((products for _, products in rows), progress=progress)
        model.refit_ease()
        learnt = {order_id for order_id, _ in rows}
        if save:
            save_snapshot(self.directory / SNAPSHOT_FILE, model, learnt)
        with self._lock:
            self._model, self._learnt = model, learnt
            self._view = None
        log.info("recommender: learnt %d orders over %d products", model.baskets,
                 len(model.product_ids))
        return model

    def _on_order_paid(self, event: DomainEvent) -> None:
        """Learn a paid order at once (the next request already sees it)."""
        self._histories.forget()
        if self._model is None:
            return  # not loaded yet: loading reads every paid order, this one included
        order_id = int(event.data["order_id"])
        with self.session_factory() as session:
            rows = list(OrderHistoryRepository(session).baskets(order_ids=[order_id]))
        with self._lock:
            model = self.model
            if order_id in self._learnt:
                return  # the snapshot or a retrain saw it already
            for _, products in rows:
                model.add_basket(products)
            self._learnt.add(order_id)
            small = len(model.product_ids) <= SYNC_EASE_MAX
            if small:
                model.refit_ease()
        if not small:
            self._schedule_ease()

    def _schedule_ease(self) -> None:
        with self._lock:
            self._ease_stale.set()
            if self._ease_thread is None:
                self._ease_thread = threading.Thread(target=self._refit_while_stale,
                                                     name="ease-refit", daemon=True)
                self._ease_thread.start()

    def _refit_while_stale(self) -> None:
        while True:
            with self._lock:
                if not self._ease_stale.is_set():
                    self._ease_thread = None
                    return
                self._ease_stale.clear()
            model = self.model
            with self._lock:
                inputs = model.ease_inputs()
            weights = model.solve_ease(*inputs)  # requests go on with the old weights
            with self._lock:
                if weights.baskets >= model.ease_weights.baskets:
                    model.ease_weights = weights
                done = not self._ease_stale.is_set()
            if done:  # a restart starts from these weights instead of recomputing them
                self.save()

    def save(self) -> None:
        """Write the snapshot of what the model learnt so far (its EASE weights included)."""
        with self._lock:
            snapshot = Snapshot.of(self.model, self._learnt)
        snapshot.save(self.directory / SNAPSHOT_FILE)

    def _on_review_changed(self, _: DomainEvent) -> None:
        with self._lock:
            self._reviews_seen += 1

    def _rating(self, view: CatalogView) -> np.ndarray | None:
        """The rating signal of the view's products (None: no reviews), read from the
        reviews once and again after a review changes (not under the lock: it queries)."""
        seen, kept = self._reviews_seen, self._rated
        if kept is not None and kept[0] == seen and kept[1] is view.index:
            return kept[2]
        with self.session_factory() as session:
            scores, prior = product_scores(session=session)
        signal = rating_signal(scores, prior, view.content.product_ids)
        self._rated = (seen, view.index, signal)
        return signal

    # -- serving -------------------------------------------------------------------------

    def view(self) -> CatalogView:
        """Content, stock and SKUs of the current product index (rebuilt when it changes)."""
        index = self._index()
        current = self._view
        if current is not None and current.index is index:
            return current
        docs = list(index.docs.values())
        ids = np.asarray([d.id for d in docs], dtype=np.int64)
        vectors = index.vectors.vectors(ids) if len(ids) else None
        content = ContentModel.build(docs, vectors)
        view = CatalogView(
            index=index, content=content, hybrid=Hybrid(basket=self.model, content=content),
            in_stock=np.asarray([any(v.stock > 0 for v in d.variants) for d in docs],
                                dtype=bool),
            product_of_sku={v.sku.upper(): d.id for d in docs for v in d.variants})
        self._view = view
        return view

    def resolve(self, refs: Sequence[str]) -> list[int]:
        """Product ids for references that are product ids or SKUs; ``UnknownProduct``
        for one the catalog does not have."""
        view = self.view()
        out = []
        for ref in refs:
            product = int(ref) if ref.isdigit() else view.product_of_sku.get(ref.upper())
            if product is None or product not in view.index.docs:
                raise UnknownProduct(ref)
            out.append(product)
        return out

    def history_of(self, *, channel: str, external_id: str) -> list[int]:
        """What the shopper bought before (empty for a shopper the shop does not know)."""
        return self._histories.get(channel, external_id)

    def _read_history(self, channel: str, external_id: str) -> list[int]:
        with self.session_factory() as session:
            return OrderHistoryRepository(session).bought_by(
                channel=channel, external_id=external_id, limit=HISTORY_PRODUCTS)

    def recommend(self, *, cart: Sequence[int] = (), product: int | None = None,
                  bought: Sequence[int] = (), exclude: Sequence[int] = (),
                  limit: int = 10) -> list[Recommendation]:
        """Products for a shopper who views ``product``, has ``cart`` and bought
        ``bought`` before; never one in the cart, viewed, bought before, excluded or out of
        stock (a maker's piece is rarely bought twice: "picked for you" offers new ones)."""
        seeds = [Seed(p, 1.0, "cart") for p in dict.fromkeys(cart)]
        if product is not None:
            seeds.insert(0, Seed(product, 1.0, "viewed"))
        seen = {s.product_id for s in seeds}
        seeds += [Seed(p, HISTORY_WEIGHT, "bought") for p in bought if p not in seen]
        with self._lock:
            view = self.view()
        rating = self._rating(view)
        with self._lock:
            ranked = view.hybrid.rank(seeds, limit=limit, allowed=view.in_stock,
                                      rating=rating,
                                      exclude=[*cart, *exclude, *bought,
                                               *([product] if product is not None else [])])
        names = {s.product_id: view.index.docs[s.product_id].name for s in seeds
                 if s.product_id in view.index.docs}
        return [self._recommendation(view, item, names) for item in ranked]

    @staticmethod
    def _recommendation(view: CatalogView, item: Scored, names: dict[int, str]
                        ) -> Recommendation:
        doc = view.index.docs[item.product_id]
        stocked = [v for v in doc.variants if v.stock > 0] or list(doc.variants)
        cheapest = min(stocked, key=lambda v: v.price)
        return Recommendation(doc=doc, score=item.score, reason=reason(item, names),
                              signal=item.signal, sku=cheapest.sku, price=cheapest.price)
