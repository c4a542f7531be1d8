"""The paid orders the recommender learns from, read through the commerce core's tables."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commerce_core.models import ChannelIdentity, Order, OrderLine, Variant
from commerce_core.models.order import OrderStatus

SOLD = (OrderStatus.PAID, OrderStatus.IN_PRODUCTION, OrderStatus.SHIPPED,
        OrderStatus.DELIVERED)
"""Orders that were paid and not undone (a cancelled or refunded order teaches nothing)."""
CHUNK = 500
"""Order ids per query (databases limit the parameters of one statement)."""


class OrderHistoryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def baskets(self, *, order_ids: Collection[int] | None = None
                ) -> Iterator[tuple[int, list[int]]]:
        """(order id, product ids) of each sold order (of ``order_ids`` if given), oldest
        first. Lines whose variant was deleted since are left out."""
        if order_ids is not None:
            ids = sorted(order_ids)
            for start in range(0, len(ids), CHUNK):
                yield from self._baskets(ids[start:start + CHUNK])
            return
        yield from self._baskets(None)

    def _baskets(self, order_ids: list[int] | None) -> Iterator[tuple[int, list[int]]]:
        query = (select(Order.id, Variant.product_id)
                 .join(OrderLine, OrderLine.order_id == Order.id)
                 .join(Variant, Variant.id == OrderLine.variant_id)
                 .where(Order.status.in_(SOLD))
                 .order_by(Order.id, OrderLine.id))
        if order_ids is not None:
            query = query.where(Order.id.in_(order_ids))
        current: int | None = None
        products: list[int] = []
        for oid, product_id in self.session.execute(query):
            if oid != current:
                if current is not None:
                    yield current, products
                current, products = oid, []
            if product_id not in products:
                products.append(product_id)
        if current is not None:
            yield current, products

    def sold_order_ids(self) -> set[int]:
        return set(self.session.scalars(select(Order.id).where(Order.status.in_(SOLD))))

    def count(self) -> int:
        return self.session.scalar(select(func.count(Order.id))
                                   .where(Order.status.in_(SOLD))) or 0

    def bought_by(self, *, channel: str, external_id: str, limit: int = 50) -> list[int]:
        """The products the shopper behind a channel identity bought, most recent first
        (one query; empty for a shopper the shop does not know)."""
        rows = self.session.execute(
            select(Variant.product_id)
            .join(OrderLine, OrderLine.variant_id == Variant.id)
            .join(Order, Order.id == OrderLine.order_id)
            .join(ChannelIdentity, ChannelIdentity.customer_id == Order.customer_id)
            .where(ChannelIdentity.channel == channel,
                   ChannelIdentity.external_id == external_id, Order.status.in_(SOLD))
            .order_by(Order.id.desc(), OrderLine.id)
            .limit(limit * 4))
        return list(dict.fromkeys(r[0] for r in rows))[:limit]
