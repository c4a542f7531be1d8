"""Reviews of what shoppers received, their moderation, and the ratings products show.

Writing, hiding or showing a review emits ``review.changed`` (delivered after commit):
the shop's mean, which every page of products needs for its scores, is kept until then
(``ShopMean``), and the recommender reads the scores again.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from commerce_core.errors import CommerceError, NotFound
from commerce_core.events import DomainEvent, emit, subscribe
from commerce_core.models import Customer, OrderStatus, Review
from commerce_core.order.service import owned_order
from commerce_core.review.repository import RatingStats, ReviewRepository
from commerce_core.review.schemas import (
    ProductReviewsOut,
    PublicReviewOut,
    RatingOut,
    ReviewableLineOut,
    ReviewIn,
    ReviewOut,
)

PRIOR_REVIEWS = 5
"""How many imaginary reviews at the shop's mean a product's score starts from."""
NEUTRAL_MEAN = Decimal("3.5")
"""The prior mean while the shop has no review at all."""
ONE_PLACE = Decimal("0.1")
TWO_PLACES = Decimal("0.01")
SHOP_MEAN_SECONDS = 60.0
"""Another process of the shop learns of a review through the database only: the shop's
mean it keeps is read again after this long."""


class NotDelivered(CommerceError):
    code = "not_delivered"
    http_status = 409


def _review_out(repo: ReviewRepository, review: Review) -> ReviewOut:
    number, line = repo.order_number_and_line(review.order_line_id)
    return ReviewOut(id=review.id, order_number=number, sku=review.sku,
                     product_id=review.product_id, product_name=line.name,
                     rating=review.rating, comment=review.comment,
                     created_at=review.created_at, updated_at=review.updated_at,
                     hidden=review.hidden_at is not None, hidden_reason=review.hidden_reason)


def write_review(*, session: Session, customer: Customer, number: str, body: ReviewIn
                 ) -> tuple[ReviewOut, bool]:
    """Rate a product of one of the customer's delivered orders, or change that rating;
    returns the review and whether it is new. Another shopper's order is not found."""
    order = owned_order(session=session, number=number, customer=customer)
    if order.status is not OrderStatus.DELIVERED:
        raise NotDelivered(f"Order {order.number} has not been delivered yet: its products "
                           "can be reviewed once they have arrived.",
                           details={"status": order.status.value})
    line = next((x for x in order.lines if x.sku.lower() == body.sku.lower()), None)
    if line is None:
        raise NotFound(f"Order {order.number} has no product {body.sku}.",
                       code="not_in_order", details={"skus": [x.sku for x in order.lines]})
    repo = ReviewRepository(session)
    review = repo.for_line(line.id)
    created = review is None
    if review is None:
        review = repo.add(Review(order_line_id=line.id, customer_id=customer.id,
                                 product_id=repo.product_of(line.variant_id), sku=line.sku,
                                 rating=body.rating, comment=body.comment))
    else:
        review.rating, review.comment = body.rating, body.comment
        session.flush()
    emit(session, "review.changed", product_id=review.product_id)
    return _review_out(repo, review), created


def reviewable(*, session: Session, customer: Customer, limit: int = 20
               ) -> list[ReviewableLineOut]:
    repo = ReviewRepository(session)
    return [ReviewableLineOut(order_number=number, sku=line.sku, name=line.name,
                              product_id=repo.product_of(line.variant_id),
                              review=_review_out(repo, review) if review else None)
            for line, number, review in repo.delivered_lines(customer.id, limit)]


def _get(repo: ReviewRepository, review_id: int) -> Review:
    review = repo.get(review_id)
    if review is None:
        raise NotFound(f"There is no review with id {review_id}.", code="review_not_found")
    return review


def hide(*, session: Session, review_id: int, reason: str, now: datetime) -> ReviewOut:
    """Take a review off the shop (it stays stored, with the merchant's reason)."""
    repo = ReviewRepository(session)
    review = _get(repo, review_id)
    review.hidden_at, review.hidden_reason = now, reason
    session.flush()
    emit(session, "review.changed", product_id=review.product_id)
    return _review_out(repo, review)


def show(*, session: Session, review_id: int) -> ReviewOut:
    repo = ReviewRepository(session)
    review = _get(repo, review_id)
    review.hidden_at, review.hidden_reason = None, None
    session.flush()
    emit(session, "review.changed", product_id=review.product_id)
    return _review_out(repo, review)


def listing(*, session: Session, hidden: bool | None, limit: int, offset: int
            ) -> list[ReviewOut]:
    repo = ReviewRepository(session)
    return [_review_out(repo, r) for r in repo.listing(hidden=hidden, limit=limit,
                                                        offset=offset)]


def bayesian_score(stats: RatingStats, shop: RatingStats) -> Decimal:
    score = (prior_mean(shop) * PRIOR_REVIEWS + stats.total) / (PRIOR_REVIEWS + stats.count)
    return score.quantize(TWO_PLACES, ROUND_HALF_UP)


def prior_mean(shop: RatingStats) -> Decimal:
    """What a product's score starts from: the shop's mean (``NEUTRAL_MEAN`` without
    reviews); also the score of a product nobody reviewed."""
    return (Decimal(shop.total) / shop.count) if shop.count else NEUTRAL_MEAN


class ShopMean:
    """The shop's visible stars (sum and count) per database, read once and kept until a
    review changes (``review.changed``) or ``SHOP_MEAN_SECONDS`` pass."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: weakref.WeakKeyDictionary[Engine, tuple[RatingStats, float]] = (
            weakref.WeakKeyDictionary())
        self._generation = 0
        """Counts the changes, so a read that overlapped one is not kept."""

    def get(self, session: Session) -> RatingStats:
        bind = session.get_bind()
        engine = bind.engine if isinstance(bind, Connection) else bind
        with self._lock:
            kept, generation = self._kept.get(engine), self._generation
        if kept is not None and time.monotonic() - kept[1] < SHOP_MEAN_SECONDS:
            return kept[0]
        stats = ReviewRepository(session).shop_stats()
        with self._lock:
            if generation == self._generation:
                self._kept[engine] = (stats, time.monotonic())
        return stats

    def forget(self, _: DomainEvent | None = None) -> None:
        with self._lock:
            self._generation += 1
            self._kept.clear()


shop_mean = ShopMean()
subscribe("review.changed", shop_mean.forget)


def ratings(*, session: Session, product_ids: Iterable[int]) -> dict[int, RatingOut]:
    """The rating of each product that has visible reviews (others are left out)."""
    stats = ReviewRepository(session).stats(product_ids)
    if not stats:
        return {}
    shop = shop_mean.get(session)
    return {pid: RatingOut(
        average=(Decimal(s.total) / s.count).quantize(ONE_PLACE, ROUND_HALF_UP),
        count=s.count, score=bayesian_score(s, shop)) for pid, s in stats.items()}


def product_scores(*, session: Session) -> tuple[dict[int, Decimal], Decimal]:
    """The score of every product with visible reviews, and the score of one without."""
    shop = shop_mean.get(session)
    return ({pid: bayesian_score(s, shop)
             for pid, s in ReviewRepository(session).stats().items()}, prior_mean(shop))


def product_reviews(*, session: Session, product_id: int, limit: int) -> ProductReviewsOut:
    repo = ReviewRepository(session)
    return ProductReviewsOut(
        rating=ratings(session=session, product_ids=[product_id]).get(product_id),
        reviews=[PublicReviewOut(rating=r.rating, comment=r.comment, created_at=r.created_at)
                 for r in repo.visible_for_product(product_id, limit)])
