"""All SQL of reviews."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commerce_core.models import Order, OrderLine, OrderStatus, Review, Variant


@dataclass(frozen=True)
class RatingStats:
    total: int
    count: int


class ReviewRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, review_id: int) -> Review | None:
        return self.session.get(Review, review_id)

    def for_line(self, line_id: int) -> Review | None:
        return self.session.scalar(select(Review).where(Review.order_line_id == line_id))

    def add(self, review: Review) -> Review:
        self.session.add(review)
        self.session.flush()
        return review

    def product_of(self, variant_id: int | None) -> int | None:
        if variant_id is None:
            return None
        return self.session.scalar(select(Variant.product_id).where(Variant.id == variant_id))

    def delivered_lines(self, customer_id: int, limit: int
                        ) -> Sequence[tuple[OrderLine, str, Review | None]]:
        """The lines of the customer's delivered orders, newest order first, with their
        review if written."""
        rows = self.session.execute(
            select(OrderLine, Order.number, Review)
            .join(Order, Order.id == OrderLine.order_id)
            .outerjoin(Review, Review.order_line_id == OrderLine.id)
            .where(Order.customer_id == customer_id, Order.status == OrderStatus.DELIVERED)
            .order_by(Order.id.desc(), OrderLine.id).limit(limit)).all()
        return [(line, number, review) for line, number, review in rows]

    def order_number_and_line(self, line_id: int) -> tuple[str, OrderLine]:
        line = self.session.get(OrderLine, line_id)
        assert line is not None  # a review's line is deleted with it
        number = self.session.scalar(select(Order.number).where(Order.id == line.order_id))
        return str(number), line

    def visible_for_product(self, product_id: int, limit: int) -> Sequence[Review]:
        return self.session.scalars(
            select(Review).where(Review.product_id == product_id, Review.hidden_at.is_(None))
            .order_by(Review.created_at.desc(), Review.id.desc()).limit(limit)).all()

    def listing(self, *, hidden: bool | None, limit: int, offset: int) -> Sequence[Review]:
        query = select(Review)
        if hidden is not None:
            query = query.where(Review.hidden_at.is_not(None) if hidden
                                else Review.hidden_at.is_(None))
        return self.session.scalars(query.order_by(Review.id.desc())
                                    .limit(limit).offset(offset)).all()

    def stats(self, product_ids: Iterable[int] | None = None) -> dict[int, RatingStats]:
        """Sum and count of the visible stars per product (of every reviewed product
        without ``product_ids``)."""
        query = (select(Review.product_id, func.sum(Review.rating), func.count(Review.id))
                 .where(Review.hidden_at.is_(None)).group_by(Review.product_id))
        if product_ids is None:
            query = query.where(Review.product_id.is_not(None))
        else:
            ids = list(set(product_ids))
            if not ids:
                return {}
            query = query.where(Review.product_id.in_(ids))
        return {int(pid): RatingStats(int(total), int(count))
                for pid, total, count in self.session.execute(query).all()}

    def shop_stats(self) -> RatingStats:
        total, count = self.session.execute(
            select(func.coalesce(func.sum(Review.rating), 0), func.count(Review.id))
            .where(Review.hidden_at.is_(None))).one()
        return RatingStats(int(total), int(count))
